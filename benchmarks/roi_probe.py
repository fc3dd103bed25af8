"""Linear probe of the category from RoI features at ground-truth boxes, one feature level at a time.

Answers "does the feature map an RoI head pools from carry the category at all?" for a checkpoint of a
method that pools RoIs from an FPN (EfficientVIS). For every ground-truth object in every probed frame of
a split, the box (its mask's box, scaled to the network input) is pooled with RoIAlign from each backbone
stage (``c2``..``c5``) and each FPN level (``p2``..``p5``) of the checkpoint, averaged to a ``--grid`` x
``--grid`` grid and flattened; a multinomial logistic regression (full-batch L-BFGS, L2 ``--l2``, features
standardised on the fit part; one fit per ``--l2`` value) is fitted per level on the objects of a part of
the videos and scored on the objects of the others (split by video, so one object never lands on both
sides). The table gives, per level, its stride, the features' size, and per penalty the accuracy on the
fitted part / held out, beside chance (the most frequent category of the fitted part).

Also printed:

- which level torchvision's ``MultiScaleRoIAlign`` mapping (canonical box side 224 px on level 4,
  clamped to the model's FPN levels) gives each ground-truth box at the inference size, and the box
  sides (square root of the box area, network pixels);
- the model's own classification where it finds the object (EfficientVIS only: clips of T frames with
  the query hand-off between clips, as at inference): per ground-truth box, the final-iteration query
  whose box overlaps it most; where that box IoU is >= 0.5, whether the argmax over the object
  categories of that query's frame logits is the true category, and how often background outscores
  every category (a miss at the inference threshold).

    vistool synth data/synth_probe --split train --videos 40 --seed 2024 --preset standard
    python benchmarks/roi_probe.py data/synth_probe/train/instances.json -w weights/efficientvis_mnv3s_synth.pt

With ``--no-model`` only the probed frames go through the backbone, so many more videos fit in the same time
(the probe needs many distinct objects: each object is seen in many frames, and a probe fitted on few
objects learns those objects, e.g. their colours, rather than their categories).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.ops import box_iou, roi_align
from torchvision.ops.poolers import LevelMapper

from vistool.io.ytvis import YtvisDataset, load_dataset
from vistool.methods.build import load_checkpoint_model


@dataclass
class Samples:
    """Probe inputs: per level a list of (n, D) feature blocks, and per object its category and video."""

    features: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    labels: list[int] = field(default_factory=list)
    videos: list[int] = field(default_factory=list)
    sides: list[float] = field(default_factory=list)
    mapped: Counter = field(default_factory=Counter)
    model_matched: int = 0
    model_correct: int = 0
    model_background: int = 0
    model_total: int = 0


def read_frames(root: Path, names: list[str]) -> torch.Tensor:
    """(L, H, W, 3) uint8 RGB frames of one video."""
    return torch.from_numpy(np.stack([np.asarray(Image.open(root / n).convert("RGB")) for n in names]))


def ground_truth_boxes(dataset: YtvisDataset, video_id: int, frame: int, min_area: float
                       ) -> tuple[torch.Tensor, list[int]]:
    """(n, 4) xyxy boxes in original pixels of the objects present in ``frame``, and their category ids."""
    boxes, categories = [], []
    for ann in dataset.annotations:
        if ann.video_id != video_id or ann.iscrowd:
            continue
        box, area = ann.bboxes[frame], ann.areas[frame]
        if box is None or not area or area < min_area:
            continue
        x, y, w, h = box
        boxes.append([x, y, x + w, y + h])
        categories.append(ann.category_id)
    return torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), categories


def pool(feature: torch.Tensor, boxes: torch.Tensor, stride: int, roi_size: int, grid: int) -> torch.Tensor:
    """RoIAlign of ``boxes`` (n, 4, network pixels) on one frame's (C, h, w) map -> (n, C * grid**2)."""
    roi = roi_align(feature[None], [boxes], roi_size, spatial_scale=1.0 / stride, sampling_ratio=2)
    return F.adaptive_avg_pool2d(roi, grid).flatten(1)


def level_mapper(fpn_strides: dict[str, int]) -> tuple[LevelMapper, list[str]]:
    """torchvision's box-size -> level rule over the model's FPN levels (as MultiScaleRoIAlign builds it)."""
    names = sorted(fpn_strides, key=fpn_strides.get)
    levels = [int(round(math.log2(fpn_strides[n]))) for n in names]
    return LevelMapper(levels[0], levels[-1]), names


def collect(model, dataset: YtvisDataset, root: Path, videos: int, every: int, roi_size: int, grid: int,
            min_area: float, max_frames: int | None = None, with_model: bool = True) -> Samples:
    """Pool every probed ground-truth box from every level; score the model's own classification
    (``with_model``; else only the probed frames go through the backbone)."""
    body, fpn = model.backbone.backbone, model.backbone.fpn
    strides = {**body.strides, **fpn.strides}
    mapper, fpn_names = level_mapper(fpn.strides)
    label_of = {c.id: i for i, c in enumerate(dataset.categories)}
    model_label = {i: model.categories.index(c.name) if c.name in model.categories else -1
                   for i, c in enumerate(dataset.categories)}
    clip_len = int(getattr(model, "clip_len", 1))
    has_decoder = with_model and hasattr(model, "decode") and hasattr(model, "hand_off")
    out = Samples()
    for vi, video in enumerate(dataset.videos[:videos]):
        names = video.file_names[:max_frames]
        indices = list(range(0, len(names), 1 if has_decoder else every))
        frames = read_frames(root, [names[i] for i in indices])
        queries = None
        for start in range(0, len(frames), clip_len):
            clip = frames[start:start + clip_len]
            real = len(clip)
            if real < clip_len:  # pad the last clip with its last frame, as the inference session does
                clip = torch.cat([clip, clip[-1:].expand(clip_len - real, -1, -1, -1)])
            with torch.no_grad():
                x, meta = model.transform.preprocess(clip)
                stages = body(x)
                levels = fpn(stages)
                final = None
                if has_decoder:
                    outs = model.decode({k: v[None] for k, v in levels.items()}, meta.image_size,
                                        meta.padded_size, queries)
                    final = outs[-1]
                    queries = model.hand_off(final.queries, real)
            sy, sx = meta.scale
            for t in range(real):
                frame = indices[start + t]
                boxes, categories = ground_truth_boxes(dataset, video.id, frame, min_area)
                if not categories:
                    continue
                boxes = boxes * torch.tensor([sx, sy, sx, sy])
                labels = [label_of[c] for c in categories]
                if final is not None:
                    ious = box_iou(boxes, final.boxes[0, :, t].float())
                    best, slot = ious.max(1)
                    logits = final.logits[0, slot, t].float()
                    for j, label in enumerate(labels):
                        out.model_total += 1
                        if best[j] >= 0.5:
                            out.model_matched += 1
                            out.model_correct += int(logits[j, :-1].argmax()) == model_label[label]
                            out.model_background += int(logits[j].argmax()) == logits.shape[1] - 1
                if frame % every:
                    continue
                side = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp(min=0).sqrt()
                out.sides += side.tolist()
                mapped = mapper([boxes]).flatten().long().tolist()
                out.mapped.update(fpn_names[k] for k in mapped)
                for name, maps in {**stages, **levels}.items():
                    out.features.setdefault(name, []).append(pool(maps[t], boxes, strides[name], roi_size, grid))
                out.labels += labels
                out.videos += [vi] * len(labels)
    return out


def fit_probe(x: torch.Tensor, y: torch.Tensor, classes: int, l2: float, iterations: int = 200
              ) -> torch.nn.Linear:
    """Multinomial logistic regression on standardised features (full batch, L-BFGS)."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(x), y) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return linear


def probe(features: torch.Tensor, labels: torch.Tensor, fit_mask: torch.Tensor, classes: int, l2: float
          ) -> tuple[float, float]:
    """(accuracy on the fitted part, held-out accuracy) of a linear probe."""
    x_fit, x_out = features[fit_mask], features[~fit_mask]
    mean, std = x_fit.mean(0), x_fit.std(0).clamp(min=1e-6)
    x_fit, x_out = (x_fit - mean) / std, (x_out - mean) / std
    with torch.enable_grad():
        linear = fit_probe(x_fit, labels[fit_mask], classes, l2)
    with torch.no_grad():
        fit_acc = (linear(x_fit).argmax(1) == labels[fit_mask]).float().mean().item()
        out_acc = (linear(x_out).argmax(1) == labels[~fit_mask]).float().mean().item()
    return fit_acc, out_acc


def held_out_videos(videos: int, fraction: float, seed: int) -> set[int]:
    """Indices of the videos whose objects are held out."""
    order = torch.randperm(videos, generator=torch.Generator().manual_seed(seed)).tolist()
    return set(order[:max(1, round(videos * fraction))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gt", type=Path, help="dataset JSON; frames are read from JPEGImages/ beside it")
    parser.add_argument("-w", "--weights", type=Path, required=True, help="checkpoint (EfficientVIS or any "
                        "model with backbone.backbone / backbone.fpn and transform)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a setting of the checkpoint's config (e.g. clip_len=12)")
    parser.add_argument("--videos", type=int, default=40, help="probe the first N videos of the split")
    parser.add_argument("--every", type=int, default=2, help="probe every N-th frame (the model's own "
                        "classification is scored on every frame)")
    parser.add_argument("--max-frames", type=int, help="only the first N frames of each video")
    parser.add_argument("--roi-size", type=int, default=14, help="RoIAlign output size")
    parser.add_argument("--grid", type=int, default=2, help="the RoI is averaged to grid x grid before the probe")
    parser.add_argument("--min-area", type=float, default=64.0,
                        help="skip ground-truth masks smaller than this (original pixels)")
    parser.add_argument("--holdout", type=float, default=0.25, help="share of the videos held out")
    parser.add_argument("--l2", type=float, nargs="+", default=[1e-3, 1e-2, 1e-1],
                        help="L2 penalties of the probe: one pair of columns each")
    parser.add_argument("--no-model", action="store_true",
                        help="skip the model's own classification (only the probed frames are read)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out video draw")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    model, _ = load_checkpoint_model(args.weights, device="cpu", settings=args.set)
    model.float()
    dataset = load_dataset(args.gt)
    videos = min(args.videos, len(dataset.videos))
    samples = collect(model, dataset, args.gt.parent / "JPEGImages", videos, args.every, args.roi_size, args.grid,
                      args.min_area, args.max_frames, not args.no_model)
    if not samples.labels:
        raise SystemExit("no ground-truth object to probe")
    labels = torch.tensor(samples.labels)
    held = held_out_videos(videos, args.holdout, args.seed)
    fit_mask = torch.tensor([v not in held for v in samples.videos])
    if fit_mask.all() or not fit_mask.any():
        raise SystemExit("the held-out draw left one side empty: use more videos")
    classes = len(dataset.categories)
    chance_label = Counter(labels[fit_mask].tolist()).most_common(1)[0][0]
    chance = (labels[~fit_mask] == chance_label).float().mean().item()
    n_fit, n_out = int(fit_mask.sum()), int((~fit_mask).sum())
    body, fpn = model.backbone.backbone, model.backbone.fpn
    strides = {**body.strides, **fpn.strides}
    print(f"{args.weights}: {len(samples.labels)} objects ({n_fit} fitted from {videos - len(held)} videos, "
          f"{n_out} held out from {len(held)}), {classes} categories, every {args.every}. frame, RoI "
          f"{args.roi_size} averaged to {args.grid}x{args.grid}; accuracy on the fitted part / held out\n")
    penalties = " | ".join(f"L2 {l2:g}" for l2 in args.l2)
    print(f"| level | stride | features | {penalties} |")
    print("|---|---|---|" + "---|" * len(args.l2))
    names = sorted(samples.features, key=lambda n: (n[0] != "c", strides[n]))
    fpn_names = [n for n in names if n in fpn.strides]
    blocks = {n: torch.cat(samples.features[n]) for n in names}
    blocks["+".join(fpn_names)] = torch.cat([blocks[n] for n in fpn_names], 1)
    for name, feats in blocks.items():
        cells = " | ".join("{:.3f} / {:.3f}".format(*probe(feats, labels, fit_mask, classes, l2)) for l2 in args.l2)
        print(f"| {name} | {strides.get(name, '-')} | {feats.shape[1]} | {cells} |")
    print(f"| chance (most frequent category of the fitted part) | - | - |{f' {chance:.3f} |' * len(args.l2)}")
    sides = np.array(samples.sides)
    print(f"\nbox side sqrt(w*h) at the inference size: min {sides.min():.1f}, 5% {np.percentile(sides, 5):.1f}, "
          f"median {np.median(sides):.1f}, 95% {np.percentile(sides, 95):.1f}, max {sides.max():.1f} px")
    total = sum(samples.mapped.values())
    shares = ", ".join(f"{n} {samples.mapped.get(n, 0)} ({samples.mapped.get(n, 0) / total:.1%})"
                       for n in sorted(fpn.strides, key=fpn.strides.get))
    print(f"torchvision MultiScaleRoIAlign level of these boxes: {shares}")
    if samples.model_total:
        m = samples.model_matched
        print(f"\nmodel's own classification (final iteration, clips of {model.clip_len} with hand-off), "
              f"{samples.model_total} ground-truth boxes on every frame: a query box at IoU >= 0.5 for {m} "
              f"({m / samples.model_total:.1%}); of those, category right {samples.model_correct / max(m, 1):.3f}, "
              f"background the argmax {samples.model_background / max(m, 1):.3f}")
    print(f"\n{time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
