"""Small VIS cases (ground truth + results) for the frame-level metric tests: random and crafted."""

from __future__ import annotations

import numpy as np

from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo

H, W = 12, 16


def box_mask(y: int, x: int, h: int, w: int) -> dict:
    m = np.zeros((H, W), dtype=bool)
    m[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
    return rle.encode(m)


def _track(rng: np.random.Generator, length: int, gaps: float) -> list[tuple[int, int, int, int] | None]:
    y, x = int(rng.integers(0, H - 4)), int(rng.integers(0, W - 4))
    h, w = int(rng.integers(3, 6)), int(rng.integers(3, 7))
    start, stop = sorted(rng.integers(0, length + 1, size=2).tolist())
    boxes: list = []
    for t in range(length):
        y, x = y + int(rng.integers(-1, 2)), x + int(rng.integers(-1, 2))
        boxes.append((y, x, h, w) if start <= t <= max(stop, start + 1) and rng.random() > gaps else None)
    return boxes


def random_case(seed: int, videos: int = 3, length: int = 8, categories: int = 2,
                gaps: float = 0.15) -> tuple[YtvisDataset, list[ResultTrack]]:
    """Ground-truth tracks with gaps; predictions that jitter, split, change class, miss and add false tracks."""
    rng = np.random.default_rng(seed)
    anns, results, ann_id = [], [], 1
    for vid in range(1, videos + 1):
        for _ in range(int(rng.integers(1, 5))):
            boxes = _track(rng, length, gaps)
            cat = int(rng.integers(1, categories + 1))
            anns.append(YtvisAnnotation.from_segmentations(
                ann_id, vid, cat, [None if b is None else box_mask(*b) for b in boxes]))
            ann_id += 1
            results.extend(_predictions(rng, vid, cat, boxes, categories))
        for _ in range(int(rng.integers(0, 3))):             # false tracks
            boxes = _track(rng, length, gaps)
            results.append(ResultTrack(vid, int(rng.integers(1, categories + 1)), float(rng.random()),
                                       [None if b is None else box_mask(*b) for b in boxes]))
    cats = [YtvisCategory(c, f"class{c}") for c in range(1, categories + 1)]
    vids = [YtvisVideo(v, W, H, length, [f"video{v:02d}/{t:05d}.jpg" for t in range(length)])
            for v in range(1, videos + 1)]
    return YtvisDataset(videos=vids, categories=cats, annotations=anns), results


def _predictions(rng: np.random.Generator, vid: int, cat: int, boxes: list, categories: int) -> list[ResultTrack]:
    """Predictions of one ground-truth track: jittered, sometimes missed, split into 1-3 tracks."""
    cuts = sorted(rng.integers(1, len(boxes), size=int(rng.integers(0, 3))).tolist())
    pieces = np.split(np.arange(len(boxes)), cuts)
    out = []
    for piece in pieces:
        segs: list = [None] * len(boxes)
        for t in piece:
            b = boxes[t]
            if b is None or rng.random() < 0.15:
                continue
            y, x, h, w = b
            dy, dx = int(rng.integers(-1, 2)), int(rng.integers(-2, 3))
            segs[t] = box_mask(y + dy, x + dx, h, w) if rng.random() > 0.05 else rle.encode(np.zeros((H, W), bool))
        label = cat if rng.random() > 0.2 else int(rng.integers(1, categories + 1))
        if any(s is not None for s in segs):
            out.append(ResultTrack(vid, label, float(rng.random()), segs))
    return out


A, B, C, D = (0, 0, 4, 4), (0, 8, 4, 4), (7, 0, 4, 4), (7, 8, 4, 4)     # four far-apart places, 12 x 16 frames


def track(*spans: tuple[tuple[int, int, int, int] | None, range], length: int = 10) -> list:
    segs: list = [None] * length
    for place, frames in spans:
        for t in frames:
            segs[t] = box_mask(*place)
    return segs


def crafted() -> tuple[YtvisDataset, list[ResultTrack]]:
    """Video 1 (all 10 frames unless said):
    GT1 (cat 1) at A: P1 frames 0-4, P3 frames 5-9                 -> 1 switch, split
    GT2 (cat 1) at B: P2 frames 0-4, P1 frames 5-9                 -> 1 switch, split; P1 merges GT1 and GT2
    GT3 (cat 2) at C, not annotated in 4-5: P4 in 0-3, 6-7, 9      -> 1 fragment (frame 8), the 4-5 gap is none
    GT4 (cat 1) at D: P5 (cat 1) in 0-2 and 5-6, P6 (cat 2) in 7-9 -> 1 fragment, and 1 switch + split only
                                                                      class-agnostic (P6 has another class)
    Video 2: GT at A for 3 frames; Q1 exact in 0, shifted (IoU 2/3) in 1; Q2 exact in 1-2
                                                                   -> Q1 kept in frame 1, 1 switch in frame 2
    Video 3: one GT tracked perfectly.
    """
    g = [YtvisAnnotation.from_segmentations(1, 1, 1, track((A, range(10)))),
         YtvisAnnotation.from_segmentations(2, 1, 1, track((B, range(10)))),
         YtvisAnnotation.from_segmentations(3, 1, 2, track((C, range(4)), (C, range(6, 10)))),
         YtvisAnnotation.from_segmentations(4, 1, 1, track((D, range(10)))),
         YtvisAnnotation.from_segmentations(5, 2, 1, track((A, range(3)), length=3)),
         YtvisAnnotation.from_segmentations(6, 3, 1, track((D, range(10))))]
    shifted = (0, 1, 4, 4)
    results = [ResultTrack(1, 1, 0.9, track((A, range(5)), (B, range(5, 10)))),
               ResultTrack(1, 1, 0.8, track((B, range(5)))),
               ResultTrack(1, 1, 0.7, track((A, range(5, 10)))),
               ResultTrack(1, 2, 0.6, track((C, [0, 1, 2, 3, 6, 7, 9]))),
               ResultTrack(1, 1, 0.5, track((D, [0, 1, 2, 5, 6]))),
               ResultTrack(1, 2, 0.4, track((D, range(7, 10)))),
               ResultTrack(2, 1, 0.9, track((A, [0]), (shifted, [1]), length=3)),
               ResultTrack(2, 1, 0.8, track((A, [1, 2]), length=3)),
               ResultTrack(3, 1, 0.9, track((D, range(10))))]
    videos = [YtvisVideo(v, 16, 12, n, [f"clip{v}/{t:05d}.jpg" for t in range(n)]) for v, n in ((1, 10), (2, 3), (3, 10))]
    return YtvisDataset(videos, [YtvisCategory(1, "car"), YtvisCategory(2, "dog")], g), results
