"""Random small VIS cases (ground truth + results) for the frame-level metric tests."""

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
