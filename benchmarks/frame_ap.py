"""Per-frame instance segmentation AP: the COCO metric over every frame of a split, no identities.

Evaluates what ``vistool segment`` writes (for RGNNVIS++ that is its detector's own output, before the
track manager), so a low video AP can be traced to the per-frame instances or to the tracking. Prints
mask and box AP, with categories and class-agnostic (all categories merged into one).

    vistool segment data/synth_tune/valid -m rgnnvis -w weights/rgnnvis_mnv3s_synth.pt -o runs/seg
    python benchmarks/frame_ap.py data/synth_tune/valid/instances.json runs/seg

With ``--coverage-by-clip T`` it also prints, per clip of T frames (the first three clips, then every later
frame together), the share of the ground-truth masks that some instance of their frame overlaps at mask
IoU >= 0.5: for a clip-by-clip method (EfficientVIS) a fall from clip to clip shows objects lost at the
query hand-off between clips.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from vistool.io import rle
from vistool.io.ytvis import YtvisDataset, load_dataset

STATS = {"AP": 0, "AP50": 1, "AP75": 2, "APs": 3, "APm": 4, "AR100": 8}


def ground_truth(gt: YtvisDataset) -> tuple[dict, dict[str, int]]:
    """COCO images/annotations of every frame; frame file name -> image id."""
    images, annotations, image_of = [], [], {}
    for video in gt.videos:
        for name in video.file_names:
            image_of[name] = len(images) + 1
            images.append({"id": image_of[name], "width": video.width, "height": video.height, "file_name": name})
    names = {video.id: video.file_names for video in gt.videos}
    for track in gt.annotations:
        for frame, mask in enumerate(track.segmentations):
            area = rle.area(mask) if mask is not None else 0
            if area == 0:
                continue
            annotations.append({"id": len(annotations) + 1, "image_id": image_of[names[track.video_id][frame]],
                                "category_id": track.category_id, "segmentation": rle.normalize(mask),
                                "area": float(area), "bbox": rle.to_bbox(mask), "iscrowd": 0})
    categories = [{"id": c.id, "name": c.name} for c in gt.categories]
    return {"images": images, "annotations": annotations, "categories": categories}, image_of


def detections(path: Path, image_of: dict[str, int]) -> list[dict]:
    """The instances of ``vistool segment`` output files (a file or a folder of them) on ground-truth images."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    out = []
    for file in files:
        data = json.loads(file.read_text())
        frame_image = {im["id"]: image_of.get(im["file_name"]) for im in data["images"]}
        for inst in data["annotations"]:
            image = frame_image[inst["image_id"]]
            if image is None:
                raise SystemExit(f"{file}: frame {inst['image_id']} is not a frame of the ground truth")
            out.append({"image_id": image, "category_id": inst["category_id"], "score": inst["score"],
                        "segmentation": inst["segmentation"], "bbox": inst["bbox"]})
    return out


def coco_stats(gt: dict, dts: list[dict], iou_type: str, agnostic: bool) -> dict[str, float]:
    """COCO AP/AR of ``dts`` (``segm`` or ``bbox``); ``agnostic`` merges every category into one."""
    if agnostic:
        gt = dict(gt, annotations=[dict(a, category_id=1) for a in gt["annotations"]], categories=[{"id": 1}])
        dts = [dict(d, category_id=1) for d in dts]
    coco = COCO()
    coco.dataset = gt
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        keep = ("image_id", "category_id", "score", "segmentation" if iou_type == "segm" else "bbox")
        result = coco.loadRes([{k: d[k] for k in keep} for d in dts]) if dts else COCO()
        evaluator = COCOeval(coco, result, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(evaluator.stats[i]) for name, i in STATS.items()}


def coverage_by_clip(gt: dict, dts: list[dict], frame_of: dict[int, int], clip_len: int, clips: int = 3
                     ) -> list[tuple[str, int, float]]:
    """(frames, ground-truth masks, share covered at mask IoU >= 0.5 by an instance of the same frame) for the
    first ``clips`` clips of ``clip_len`` frames and for all later frames together."""
    by_image: dict[int, list[dict]] = {}
    for d in dts:
        by_image.setdefault(d["image_id"], []).append(d["segmentation"])
    total, covered = [0] * (clips + 1), [0] * (clips + 1)
    for ann in gt["annotations"]:
        group = min(frame_of[ann["image_id"]] // clip_len, clips)
        total[group] += 1
        masks = by_image.get(ann["image_id"], [])
        covered[group] += bool(masks) and float(rle.ious([ann["segmentation"]], masks).max()) >= 0.5
    names = [f"{k * clip_len}-{(k + 1) * clip_len - 1}" for k in range(clips)] + [f"{clips * clip_len}+"]
    return [(n, t, c / t if t else float("nan")) for n, t, c in zip(names, total, covered)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gt", type=Path, help="ground-truth dataset JSON")
    parser.add_argument("segments", type=Path, help="vistool segment output: a file or a folder of files")
    parser.add_argument("--coverage-by-clip", type=int, metavar="T",
                        help="also print the share of ground-truth masks covered, per clip of T frames")
    args = parser.parse_args()
    dataset = load_dataset(args.gt)
    gt, image_of = ground_truth(dataset)
    dts = detections(args.segments, image_of)
    print(f"{len(gt['annotations'])} ground-truth masks in {len(gt['images'])} frames, {len(dts)} instances\n")
    print("| masks / boxes | categories | " + " | ".join(STATS) + " |")
    print("|---|---|" + "---|" * len(STATS))
    for iou_type, label in (("segm", "masks"), ("bbox", "boxes")):
        for agnostic in (False, True):
            stats = coco_stats(gt, dts, iou_type, agnostic)
            row = " | ".join(f"{stats[k]:.3f}" for k in STATS)
            print(f"| {label} | {'merged' if agnostic else 'per category'} | {row} |")
    if args.coverage_by_clip:
        frame_of = {image_of[name]: f for video in dataset.videos for f, name in enumerate(video.file_names)}
        print("\n| frames | ground-truth masks | covered (mask IoU >= 0.5) |\n|---|---|---|")
        for frames, count, share in coverage_by_clip(gt, dts, frame_of, args.coverage_by_clip):
            print(f"| {frames} | {count} | {share:.3f} |")


if __name__ == "__main__":
    main()
