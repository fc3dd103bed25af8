"""Video IoU between predicted and ground-truth tracks (YouTube-VIS definition).

For a prediction d and a ground truth g the two frame lists are zipped (so the
shorter list decides how many frames count). Per frame: both present -> add
|d∩g| to I and |d∪g| to U; only one present -> add its area to U. IoU = I / U,
0 when U == 0. "Present" means not None: an RLE of an empty mask is present
with area 0.

Intersections come from pycocotools RLE operations (via :mod:`vistool.io.rle`),
one call per frame for all tracks present in it; unions come from per-frame
areas with cumulative sums, so no pair is visited in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vistool.errors import InputError
from vistool.io import rle as rle_io


@dataclass
class TrackMasks:
    """The per-frame masks of N tracks of one video.

    Attributes:
        frames: per track, per frame a COCO RLE dict (bytes counts) or None.
        lengths: (N,) number of frame entries of each track.
        present: (N, F) bool, F = the longest track; False beyond a track's end.
        areas: (N, F) float pixel counts, 0 where absent.
    """

    frames: list[list[dict | None]]
    lengths: np.ndarray
    present: np.ndarray
    areas: np.ndarray

    @classmethod
    def build(cls, segmentations: Sequence[Sequence[dict | None]], size: tuple[int, int], what: str) -> "TrackMasks":
        """Convert N tracks' segmentation lists; every mask must have ``size`` (H, W).

        Raises:
            InputError: a mask does not have the video's size (``what`` names the tracks).
        """
        frames = [[_as_coco(s, size, what) for s in track] for track in segmentations]
        lengths = np.asarray([len(t) for t in frames], dtype=np.int64)
        width = int(lengths.max(initial=0))
        present = np.zeros((len(frames), width), dtype=bool)
        for n, track in enumerate(frames):
            present[n, : len(track)] = [s is not None for s in track]
        areas = np.zeros(present.shape, dtype=np.float64)
        rows, cols = np.nonzero(present)
        areas[rows, cols] = rle_io.areas([frames[r][c] for r, c in zip(rows.tolist(), cols.tolist())])
        return cls(frames=frames, lengths=lengths, present=present, areas=areas)

    def __len__(self) -> int:
        return len(self.frames)

    def mean_areas(self) -> np.ndarray:
        """(N,) mean area over present frames with a non-zero area; 0 for a track with none."""
        nonzero = self.areas > 0
        counts = nonzero.sum(axis=1)
        means = np.zeros(len(self), dtype=np.float64)
        for n in np.flatnonzero(counts):
            means[n] = self.areas[n][nonzero[n]].mean()
        return means


def _as_coco(segmentation: dict | None, size: tuple[int, int], what: str) -> dict | None:
    """A mask as pycocotools wants it (bytes counts), after checking its size."""
    if segmentation is None:
        return None
    if not isinstance(segmentation, dict) or "counts" not in segmentation or "size" not in segmentation:
        raise InputError(f"{what}: a segmentation is neither an RLE dict nor None")
    if tuple(segmentation["size"]) != tuple(size):
        raise InputError(f"{what}: RLE size {list(segmentation['size'])} does not match the video size "
                         f"{list(size)} (height, width)")
    counts = segmentation["counts"]
    if isinstance(counts, list):
        counts = rle_io.normalize(segmentation)["counts"]
    if isinstance(counts, str):
        counts = counts.encode("utf-8")
    return {"size": list(size), "counts": counts}


def intersections(dt: TrackMasks, gt: TrackMasks) -> np.ndarray:
    """(D, G) summed per-frame intersection areas over frames where both are present."""
    inter = np.zeros((len(dt), len(gt)), dtype=np.float64)
    frames = min(dt.present.shape[1], gt.present.shape[1])
    for f in range(frames):
        di = np.flatnonzero(dt.present[:, f])
        gi = np.flatnonzero(gt.present[:, f])
        if di.size == 0 or gi.size == 0:
            continue
        inter_f, _ = rle_io.intersection_and_union([dt.frames[d][f] for d in di.tolist()],
                                                   [gt.frames[g][f] for g in gi.tolist()])
        inter[np.ix_(di, gi)] += inter_f
    return inter


def video_ious(dt: TrackMasks, gt: TrackMasks) -> np.ndarray:
    """(D, G) video IoU of every prediction with every ground truth."""
    inter = intersections(dt, gt)
    if inter.size == 0:
        return inter
    # Sum of both tracks' areas over the zipped frames: cumulative areas up to min(len_d, len_g).
    zipped = np.minimum(dt.lengths[:, None], gt.lengths[None, :])                 # (D, G)
    cum_dt = np.concatenate([np.zeros((len(dt), 1)), np.cumsum(dt.areas, axis=1)], axis=1)  # (D, F+1)
    cum_gt = np.concatenate([np.zeros((len(gt), 1)), np.cumsum(gt.areas, axis=1)], axis=1)  # (G, F+1)
    union = (cum_dt[np.arange(len(dt))[:, None], zipped] + cum_gt[np.arange(len(gt))[None, :], zipped]
             - inter)
    ious = np.zeros_like(inter)
    np.divide(inter, union, out=ious, where=union > 0)
    return ious
