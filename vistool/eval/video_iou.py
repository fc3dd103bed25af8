"""Video IoU between predicted and ground-truth tracks (YouTube-VIS definition).

For a prediction d and a ground truth g the two frame lists are zipped (so the
shorter list decides how many frames count). Per frame: both present -> add
|d∩g| to I and |d∪g| to U; only one present -> add its area to U. IoU = I / U,
0 when U == 0. "Present" means not None: an RLE of an empty mask is present
with area 0.

Intersections come from pycocotools RLE operations (via :mod:`vistool.io.rle`);
unions come from per-frame areas with cumulative sums, so no pair is visited
in Python. To intersect many frames in one pycocotools call, each frame's
masks are relabelled with their own (h, w) shape of the same pixel count
(h * w = H * W): a compressed RLE is a run-length list over the H*W pixels in
column-major order, so the intersection of two masks labelled alike is exact,
while pycocotools skips every pair of masks with different shapes, i.e. from
different frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from vistool.errors import InputError
from vistool.io import rle as rle_io


@dataclass
class TrackMasks:
    """The per-frame masks of N tracks of one video.

    Attributes:
        frames: per track, per frame a compressed RLE dict or None.
        lengths: (N,) number of frame entries of each track.
        present: (N, F) bool, F = the longest track; False beyond a track's end.
        areas: (N, F) float pixel counts, 0 where absent.
        size: (H, W) of every mask.
    """

    frames: list[list[dict | None]]
    lengths: np.ndarray
    present: np.ndarray
    areas: np.ndarray
    size: tuple[int, int]

    @classmethod
    def build(cls, segmentations: Sequence[Sequence[dict | None]], size: tuple[int, int], what: str,
              checked: bool = False) -> "TrackMasks":
        """Check N tracks' segmentation lists and measure their masks; every mask must have ``size`` (H, W).

        ``checked``: the caller knows every mask is a compressed RLE (str counts) of ``size``, as
        :func:`vistool.io.ytvis.load_dataset` and ``load_results`` (given the dataset) make them.

        Raises:
            InputError: a mask does not have the video's size (``what`` names the tracks).
        """
        size_list = [int(size[0]), int(size[1])]
        frames = [list(t) if checked else _checked_track(t, size_list, what) for t in segmentations]
        lengths = np.asarray([len(t) for t in frames], dtype=np.int64)
        width = int(lengths.max(initial=0))
        present = np.zeros((len(frames), width), dtype=bool)
        masks = []
        for n, track in enumerate(frames):
            flags = [s is not None for s in track]
            present[n, : len(track)] = flags
            masks.extend(s for s in track if s is not None)      # row-major order, as np.nonzero gives
        areas = np.zeros(present.shape, dtype=np.float64)
        areas[present] = rle_io.compressed_areas(masks)          # one pycocotools call for the video
        return cls(frames=frames, lengths=lengths, present=present, areas=areas, size=(size_list[0], size_list[1]))

    def __len__(self) -> int:
        return len(self.frames)

    def subset(self, indices: np.ndarray) -> "TrackMasks":
        """The tracks at ``indices`` (N',)."""
        return TrackMasks(frames=[self.frames[i] for i in indices.tolist()], lengths=self.lengths[indices],
                          present=self.present[indices], areas=self.areas[indices], size=self.size)

    def mean_areas(self) -> np.ndarray:
        """(N,) mean area over present frames with a non-zero area; 0 for a track with none."""
        counts = (self.areas > 0).sum(axis=1)
        means = np.zeros(len(self), dtype=np.float64)
        np.divide(self.areas.sum(axis=1), counts, out=means, where=counts > 0)   # integer sums: exact
        return means


def _checked_track(track: Sequence[dict | None], size: list[int], what: str) -> list[dict | None]:
    """One track's per-frame list after :func:`_checked`; compressed RLEs of ``size`` pass as they are."""
    out = list(track)
    for f, segmentation in enumerate(out):
        if segmentation is None or (type(segmentation) is dict and type(segmentation.get("counts")) is str
                                    and segmentation.get("size") == size):
            continue
        out[f] = _checked(segmentation, size, what)
    return out


def _checked(segmentation: dict, size: list[int], what: str) -> dict:
    """``segmentation`` after checking it is an RLE of ``size`` (H, W); list counts are compressed."""
    try:
        counts, mask_size = segmentation["counts"], list(segmentation["size"])
    except (TypeError, KeyError):
        raise InputError(f"{what}: a segmentation is neither an RLE dict nor None") from None
    if mask_size != size:
        raise InputError(f"{what}: RLE size {mask_size} does not match the video size {size} (height, width)")
    return rle_io.normalize(segmentation) if isinstance(counts, list) else segmentation


def intersections(dt: TrackMasks, gt: TrackMasks, max_pairs: int = 1 << 20) -> np.ndarray:
    """(D, G) summed per-frame intersection areas over frames where both are present.

    Args:
        dt, gt: the tracks of one video (same frame size).
        max_pairs: bound on the (mask, mask) pairs of one pycocotools call.
    """
    inter = np.zeros((len(dt), len(gt)), dtype=np.float64)
    frames = min(dt.present.shape[1], gt.present.shape[1])
    dt_frame, dt_track = np.nonzero(dt.present[:, :frames].T)      # present (frame, track), sorted by frame
    gt_frame, gt_track = np.nonzero(gt.present[:, :frames].T)
    dt_bounds = np.searchsorted(dt_frame, np.arange(frames + 1))
    gt_bounds = np.searchsorted(gt_frame, np.arange(frames + 1))
    shapes = same_size_shapes(*dt.size)
    for first, last in _frame_chunks(np.diff(dt_bounds), np.diff(gt_bounds), len(shapes), max_pairs):
        d = slice(dt_bounds[first], dt_bounds[last])
        g = slice(gt_bounds[first], gt_bounds[last])
        a = [_relabel(dt.frames[t][f], shapes[f - first]) for t, f in zip(dt_track[d].tolist(), dt_frame[d].tolist())]
        b = [_relabel(gt.frames[t][f], shapes[f - first]) for t, f in zip(gt_track[g].tolist(), gt_frame[g].tolist())]
        pair_inter = rle_io.compressed_intersections(a, b, dt.areas[dt_track[d], dt_frame[d]])   # (Na, Nb)
        rows, cols = np.nonzero(dt_frame[d][:, None] == gt_frame[g][None, :])              # same-frame pairs
        flat = dt_track[d][rows] * len(gt) + gt_track[g][cols]
        inter += np.bincount(flat, weights=pair_inter[rows, cols], minlength=inter.size).reshape(inter.shape)
    return inter


def _relabel(segmentation: dict, shape: tuple[int, int]) -> dict:
    """The same run-length counts labelled with another (h, w) of the same pixel count."""
    return {"size": shape, "counts": segmentation["counts"]}     # str counts: pycocotools encodes them itself


def _frame_chunks(num_dt: np.ndarray, num_gt: np.ndarray, max_frames: int, max_pairs: int) -> list[tuple[int, int]]:
    """[first, last) frame ranges with masks on both sides: at most ``max_frames`` frames and about
    ``max_pairs`` pairs each (a single frame may exceed it)."""
    chunks, first, last, dts, gts = [], None, 0, 0, 0
    for f in np.flatnonzero((num_dt > 0) & (num_gt > 0)).tolist():
        if first is not None and (f - first >= max_frames or (dts + num_dt[f]) * (gts + num_gt[f]) > max_pairs):
            chunks.append((first, last))
            first = None
        if first is None:
            first, dts, gts = f, 0, 0
        dts, gts, last = dts + int(num_dt[f]), gts + int(num_gt[f]), f + 1
    if first is not None:
        chunks.append((first, last))
    return chunks


@lru_cache(maxsize=64)
def same_size_shapes(height: int, width: int) -> tuple[tuple[int, int], ...]:
    """Every (h, w) with h * w == height * width: labels that tell the frames of one call apart."""
    pixels = height * width
    small = [h for h in range(1, math.isqrt(pixels) + 1) if pixels % h == 0]
    heights = sorted(set(small) | {pixels // h for h in small})
    return tuple((h, pixels // h) for h in heights)


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
