"""Where a results file loses AP: classification, or segmentation and tracking.

Prints one table for a ground-truth dataset and a results file:

- AP / AP50 as ``vistool evaluate`` measures them;
- the same with *oracle classes*: every predicted track takes the category of the
  ground-truth track it overlaps most (video IoU, any category), so the gap to
  the first row is what classification costs;
- class-agnostic coverage: ground-truth tracks that some prediction overlaps
  with video IoU >= 0.5, and the class accuracy of predictions that overlap a
  ground-truth track that well;
- per-frame coverage: ground-truth masks that some predicted mask of the same
  frame overlaps with IoU >= 0.5, ignoring identities (a method that segments
  every frame but breaks its tracks keeps this and loses the previous one).

    python benchmarks/error_analysis.py data/synth_std/valid/instances.json results.json
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vistool.eval.video_iou import TrackMasks, video_ious
from vistool.io import rle
from vistool.eval.ytvis import evaluate
from vistool.io.ytvis import ResultTrack, YtvisDataset, load_dataset, load_results

GOOD_IOU = 0.5


def by_video(gt: YtvisDataset, results: list[ResultTrack]) -> tuple[dict[int, list], dict[int, list[ResultTrack]]]:
    """Ground-truth tracks and predicted tracks grouped by video id (file order kept)."""
    gts: dict[int, list] = defaultdict(list)
    for ann in gt.annotations:
        gts[ann.video_id].append(ann)
    dts: dict[int, list[ResultTrack]] = defaultdict(list)
    for track in results:
        dts[track.video_id].append(track)
    return gts, dts


def class_agnostic_ious(gt: YtvisDataset, results: list[ResultTrack]) -> dict[int, tuple[list[int], np.ndarray]]:
    """video id -> (category ids of its ground-truth tracks, (D, G) video IoUs of its predictions in file order)."""
    gts, predicted = by_video(gt, results)
    out = {}
    for video in gt.videos:
        anns, dts = gts[video.id], predicted[video.id]
        size = (video.height, video.width)
        if anns and dts:
            ious = video_ious(TrackMasks.build([t.segmentations for t in dts], size, "results"),
                              TrackMasks.build([a.segmentations for a in anns], size, "ground truth"))
        else:
            ious = np.zeros((len(dts), len(anns)))
        out[video.id] = ([a.category_id for a in anns], ious)
    return out


@dataclass(frozen=True)
class Analysis:
    """AP with predicted and with oracle classes; coverage and class accuracy at video IoU >= GOOD_IOU."""

    stats: dict[str, float]
    oracle_stats: dict[str, float]
    predicted: int
    ground_truth: int
    covered: int
    covering: int
    covering_correct: int
    frame_masks: int
    frame_masks_covered: int


def frame_coverage(gt: YtvisDataset, results: list[ResultTrack]) -> tuple[int, int]:
    """(ground-truth masks, those overlapped by a predicted mask of the same frame with IoU >= GOOD_IOU)."""
    anns, predicted = by_video(gt, results)
    total = covered = 0
    for video_id, video_anns in anns.items():
        for f in range(len(video_anns[0].segmentations)):
            truth = [a.segmentations[f] for a in video_anns if a.segmentations[f] is not None]
            pred = [t.segmentations[f] for t in predicted[video_id]
                    if f < len(t.segmentations) and t.segmentations[f] is not None]
            total += len(truth)
            if truth and pred:
                covered += int((rle.ious(truth, pred).max(axis=1) >= GOOD_IOU).sum())
    return total, covered


def analyse(gt: YtvisDataset, results: list[ResultTrack]) -> Analysis:
    """Evaluate ``results`` as they are and with every track relabelled by its best-overlapping ground truth."""
    ious = class_agnostic_ious(gt, results)
    order: dict[int, int] = defaultdict(int)
    oracle, covering, correct = [], 0, 0
    for track in results:
        categories, table = ious[track.video_id]
        row = table[order[track.video_id]]
        order[track.video_id] += 1
        best = int(row.argmax()) if row.size and row.max() > 0 else None
        oracle.append(track if best is None else replace(track, category_id=categories[best]))
        if best is not None and row[best] >= GOOD_IOU:
            covering += 1
            correct += track.category_id == categories[best]
    covered = sum(int((table.max(axis=0) >= GOOD_IOU).sum()) for _, table in ious.values() if table.size)
    masks, masks_covered = frame_coverage(gt, results)
    return Analysis(stats=evaluate(gt, results).stats, oracle_stats=evaluate(gt, oracle).stats,
                    predicted=len(results), ground_truth=len(gt.annotations), covered=covered,
                    covering=covering, covering_correct=correct, frame_masks=masks, frame_masks_covered=masks_covered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ground_truth", type=Path)
    parser.add_argument("results", type=Path)
    args = parser.parse_args()

    gt = load_dataset(args.ground_truth)
    a = analyse(gt, load_results(args.results, dataset=gt))
    print(f"{args.results} against {args.ground_truth}: {a.predicted} predicted, {a.ground_truth} ground-truth tracks")
    print("| measure | value |\n|---|---|")
    print(f"| AP / AP50 | {a.stats['AP']:.3f} / {a.stats['AP50']:.3f} |")
    print(f"| AP / AP50 with oracle classes | {a.oracle_stats['AP']:.3f} / {a.oracle_stats['AP50']:.3f} |")
    print(f"| ground-truth tracks covered (video IoU >= {GOOD_IOU}, any class) | {a.covered} / {a.ground_truth} |")
    print(f"| class accuracy of predictions that cover a ground-truth track | "
          f"{a.covering_correct} / {a.covering} = {a.covering_correct / max(a.covering, 1):.3f} |")
    print(f"| ground-truth masks covered frame by frame (IoU >= {GOOD_IOU}, any class or id) | "
          f"{a.frame_masks_covered} / {a.frame_masks} = {a.frame_masks_covered / max(a.frame_masks, 1):.3f} |")


if __name__ == "__main__":
    main()
