"""Run-length encoding of binary masks (COCO compressed RLE).

This module is the only importer of ``pycocotools.mask``. RLEs are dicts
``{"size": [H, W], "counts": str}`` with utf-8 counts, as YouTube-VIS stores them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from pycocotools import mask as _coco_mask

Rle = dict


def encode(mask: np.ndarray) -> Rle:
    """Encode one (H, W) binary mask as compressed RLE with str counts."""
    fortran = np.asfortranarray(mask, dtype=np.uint8)
    rle = _coco_mask.encode(fortran)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("utf-8")}


def encode_many(masks: np.ndarray) -> list[Rle]:
    """Encode (N, H, W) binary masks; one RLE per mask."""
    if masks.shape[0] == 0:
        return []
    fortran = np.asfortranarray(masks.transpose(1, 2, 0), dtype=np.uint8)
    return [
        {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("utf-8")}
        for r in _coco_mask.encode(fortran)
    ]


def _as_coco(rle: Rle) -> dict:
    """Compressed RLE with bytes counts, converting uncompressed (list) counts."""
    counts = rle["counts"]
    h, w = rle["size"]
    if isinstance(counts, list):
        return _coco_mask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("utf-8")
    return {"size": [h, w], "counts": counts}


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> Rle:
    """Merge polygons ``[[x1, y1, x2, y2, ...], ...]`` into one compressed RLE."""
    parts = _coco_mask.frPyObjects([list(p) for p in polygons], height, width)
    merged = _coco_mask.merge(parts)
    return {"size": [height, width], "counts": merged["counts"].decode("utf-8")}


def normalize(rle: Rle) -> Rle:
    """Any RLE (compressed or uncompressed counts) as compressed with str counts."""
    coco = _as_coco(rle)
    counts = coco["counts"]
    return {"size": [int(coco["size"][0]), int(coco["size"][1])],
            "counts": counts.decode("utf-8") if isinstance(counts, bytes) else counts}


def decode(rle: Rle) -> np.ndarray:
    """Decode one RLE to an (H, W) bool mask."""
    return _coco_mask.decode(_as_coco(rle)).astype(bool)


def _area_of_many(coco_rles: list) -> np.ndarray:
    """(N,) areas of COCO RLEs; pycocotools 2.0.11's area() fails on lists longer than 255."""
    chunks = [_coco_mask.area(coco_rles[i:i + 255]) for i in range(0, len(coco_rles), 255)]
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0,), dtype=np.float64)


def _as_coco_many(rles: Sequence[Rle]) -> list:
    """RLEs as pycocotools reads them: compressed RLE dicts (str or bytes counts, [H, W] list or tuple size) pass
    unchanged, as pycocotools encodes str counts itself; others go through :func:`_as_coco`."""
    return [r if type(r["counts"]) is not list and type(r["size"]) in (list, tuple) else _as_coco(r) for r in rles]


def area(rle: Rle) -> int:
    """Number of foreground pixels of an RLE."""
    return int(_coco_mask.area(_as_coco(rle)))


def areas(rles: Sequence[Rle]) -> np.ndarray:
    """(N,) pixel counts of N RLEs."""
    if not rles:
        return np.zeros((0,), dtype=np.float64)
    return _area_of_many(_as_coco_many(rles))


def compressed_areas(rles: Sequence[Rle]) -> np.ndarray:
    """(N,) pixel counts of N compressed RLEs with str or bytes counts (no conversion: the caller knows)."""
    return _area_of_many(list(rles))


def compressed_intersections(a: Sequence[Rle], b: Sequence[Rle], area_a: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection areas of compressed RLEs (str or bytes counts), ``area_a`` (len(a),) known.

    One pycocotools call: its crowd IoU is |a∩b| / |a| for every pair of masks
    of the same (h, w) (0 for pairs of different sizes); multiplied back by |a|.
    """
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    crowd_iou = np.asarray(_coco_mask.iou(list(a), list(b), [1] * len(b)), dtype=np.float64).reshape(len(a), len(b))
    return np.rint(crowd_iou * np.asarray(area_a, dtype=np.float64)[:, None])


def to_bbox(rle: Rle) -> list[float]:
    """Tight ``[x, y, w, h]`` box of an RLE (zeros for an empty mask)."""
    return [float(v) for v in _coco_mask.toBbox(_as_coco(rle))]


def intersection_and_union(a: Sequence[Rle], b: Sequence[Rle], area_a: np.ndarray | None = None,
                           area_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise intersection and union areas of two RLE lists, shapes (len(a), len(b)).

    Uses pycocotools' merge (intersect) and area; union = |a| + |b| - intersection.
    ``area_a`` / ``area_b`` ((len(a),), (len(b),)) may be given when already known.
    """
    na, nb = len(a), len(b)
    inter = np.zeros((na, nb), dtype=np.float64)
    if na == 0 or nb == 0:
        return inter, inter.copy()
    ca = _as_coco_many(a)
    cb = _as_coco_many(b)
    area_a = _area_of_many(ca) if area_a is None else np.asarray(area_a, dtype=np.float64)
    area_b = _area_of_many(cb) if area_b is None else np.asarray(area_b, dtype=np.float64)
    # iou with iscrowd=1 gives |a∩b| / |a| for every pair; multiply back by |a|.
    crowd_iou = np.asarray(_coco_mask.iou(ca, cb, [1] * nb), dtype=np.float64).reshape(na, nb)
    inter = crowd_iou * area_a[:, None]
    inter = np.rint(inter)
    union = area_a[:, None] + area_b[None, :] - inter
    return inter, union


def ious(a: Sequence[Rle], b: Sequence[Rle]) -> np.ndarray:
    """(len(a), len(b)) pairwise mask IoU; 0 where both masks are empty."""
    inter, union = intersection_and_union(a, b)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
