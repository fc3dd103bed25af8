"""Precision/recall curves of one category from its per-video match results (COCO style).

Per setting and IoU threshold: the category's predictions of all videos (each
video cut to ``max_det`` best) are sorted by score (stable, video order then
score order within a video); cumulative true/false positives give
``recall = tp / n_gt`` and ``precision = tp / (tp + fp + eps)`` with
``eps = np.spacing(1)``; precision is made monotone from the right and read at
the recall points with ``searchsorted(..., side='left')`` (0 past the last
recall reached). Settings without non-ignored ground truth stay -1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EPS = np.spacing(1)


@dataclass
class CategoryMatches:
    """What one category's videos contribute, appended in ascending video id order.

    Attributes:
        scores: per video, (D,) prediction scores in per-video score order.
        tp, fp: per video, (S, T, D) bool true/false positives.
        num_gt: (S,) non-ignored ground truths over all videos.
    """

    scores: list[np.ndarray] = field(default_factory=list)
    tp: list[np.ndarray] = field(default_factory=list)
    fp: list[np.ndarray] = field(default_factory=list)
    num_gt: np.ndarray | None = None

    def add(self, scores: np.ndarray, tp: np.ndarray, fp: np.ndarray, num_gt: np.ndarray) -> None:
        """Append one video."""
        self.scores.append(scores)
        self.tp.append(tp)
        self.fp.append(fp)
        self.num_gt = num_gt.copy() if self.num_gt is None else self.num_gt + num_gt


def category_curves(matches: CategoryMatches, max_dets: tuple[int, ...], recall_points: np.ndarray,
                    num_settings: int, num_thresholds: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of one category.

    Returns:
        precision: (S, T, R, M), -1 where a setting has no ground truth.
        recall: (S, T, M), -1 likewise.
    """
    shape = (num_settings, num_thresholds)
    precision = -np.ones(shape + (len(recall_points), len(max_dets)))
    recall = -np.ones(shape + (len(max_dets),))
    num_gt = matches.num_gt
    if num_gt is None or not (num_gt > 0).any():
        return precision, recall
    valid = np.flatnonzero(num_gt > 0)
    scores = np.concatenate(matches.scores)                                     # (N,)
    rank = np.concatenate([np.arange(s.shape[0]) for s in matches.scores])      # (N,) rank in its video
    tp = np.concatenate(matches.tp, axis=2)[valid]                              # (V, T, N)
    fp = np.concatenate(matches.fp, axis=2)[valid]
    order = np.argsort(-scores, kind="mergesort")
    for m, max_det in enumerate(max_dets):
        keep = order[rank[order] < max_det]
        p, r = _curves(tp[:, :, keep], fp[:, :, keep], num_gt[valid], recall_points)
        precision[valid, :, :, m] = p
        recall[valid, :, m] = r
    return precision, recall


def _curves(tp: np.ndarray, fp: np.ndarray, num_gt: np.ndarray,
            recall_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, T, R) sampled precision and (V, T) final recall from (V, T, N) sorted tp/fp flags."""
    tp_sum = np.cumsum(tp, axis=2).astype(np.float64)
    fp_sum = np.cumsum(fp, axis=2).astype(np.float64)
    num = tp.shape[2]
    rc = tp_sum / num_gt[:, None, None]
    pr = tp_sum / (fp_sum + tp_sum + EPS)
    final_recall = rc[:, :, -1] if num else np.zeros(tp.shape[:2])
    pr = np.maximum.accumulate(pr[:, :, ::-1], axis=2)[:, :, ::-1]               # monotone from the right
    sampled = np.zeros(tp.shape[:2] + (len(recall_points),))
    for v, t in np.ndindex(*tp.shape[:2]):
        index = np.searchsorted(rc[v, t], recall_points, side="left")
        inside = index < num
        sampled[v, t, inside] = pr[v, t, index[inside]]
    return sampled, final_recall
