"""Greedy matching of predictions to ground truth, for all settings at once.

A *setting* is one (size range, occlusion range) pair; it decides which ground
truths are ignored. A *lane* is one (setting, IoU threshold) pair. Predictions
are visited in score order (a sequential dependency), but every lane is
processed at once with numpy.

The rule, per lane: a prediction may take a ground truth that is not taken yet
(a crowd one may be taken many times) with IoU >= threshold. Non-ignored ground
truths are preferred; among the candidates the highest IoU wins and on an exact
tie the later ground truth (in annotation-file order) wins. Only when no
non-ignored ground truth qualifies may an ignored one be taken.
"""

from __future__ import annotations

import numpy as np


def greedy_match(ious: np.ndarray, gt_ignore: np.ndarray, crowd: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Match D score-sorted predictions to G ground truths in every lane.

    Args:
        ious: (D, G) video IoUs, predictions sorted by score (stable).
        gt_ignore: (S, G) bool, ground truths ignored in each setting.
        crowd: (G,) bool, crowd ground truths (never used up).
        thresholds: (T,) IoU thresholds.

    Returns:
        (S, T, D) int: index of the matched ground truth, -1 where unmatched.
    """
    num_dt, num_gt = ious.shape
    num_settings, num_thr = gt_ignore.shape[0], thresholds.shape[0]
    lanes = num_settings * num_thr
    matches = np.full((lanes, num_dt), -1, dtype=np.int64)
    if num_dt == 0 or num_gt == 0:
        return matches.reshape(num_settings, num_thr, num_dt)
    threshold = np.tile(thresholds, num_settings)[:, None]      # (L, 1), lane = setting * T + t
    ignore = np.repeat(gt_ignore, num_thr, axis=0)             # (L, G)
    taken = np.zeros((lanes, num_gt), dtype=bool)              # (L, G)
    lane_index = np.arange(lanes)
    for d in range(num_dt):
        row = ious[d]                                          # (G,)
        allowed = (~taken | crowd) & (row >= threshold)        # (L, G)
        regular = allowed & ~ignore
        candidates = np.where(regular.any(axis=1, keepdims=True), regular, allowed & ignore)
        best = _last_argmax(np.where(candidates, row, -1.0))   # (L,)
        hit = candidates[lane_index, best]
        matches[hit, d] = best[hit]
        taken[lane_index[hit], best[hit]] = True
    return matches.reshape(num_settings, num_thr, num_dt)


def _last_argmax(values: np.ndarray) -> np.ndarray:
    """(L,) index of the last maximum of each row of (L, G) ``values``."""
    return values.shape[1] - 1 - np.argmax(values[:, ::-1], axis=1)


def detection_flags(matches: np.ndarray, gt_ignore: np.ndarray, gt_ids: np.ndarray,
                    dt_outside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives of each prediction in each lane.

    A prediction matched to an ignored ground truth is ignored; an unmatched
    prediction outside the setting's size range is ignored. As in the official
    evaluator a match is recorded by the ground truth's id, so a match to a
    ground truth whose id is 0 counts as no match.

    Args:
        matches: (S, T, D) from :func:`greedy_match`.
        gt_ignore: (S, G) bool.
        gt_ids: (G,) annotation ids.
        dt_outside: (S, D) bool, prediction's mean area outside the setting's size range.

    Returns:
        tp, fp: (S, T, D) bool each.
    """
    matched = matches >= 0
    if gt_ids.size:
        safe = np.where(matched, matches, 0)
        on_ignored = matched & gt_ignore[np.arange(gt_ignore.shape[0])[:, None, None], safe]
        recorded = matched & (gt_ids[safe] != 0)
    else:
        on_ignored = recorded = np.zeros(matches.shape, dtype=bool)
    ignored = on_ignored | (~recorded & dt_outside[:, None, :])
    return recorded & ~ignored, ~recorded & ~ignored
