"""Identity errors a reviewer of pre-labels fixes by hand: switches, fragmentations, split tracks.

Matching (CLEAR-MOT, Bernardin & Stiefelhagen 2008, as TrackEval's CLEAR does
it): in every frame, ground-truth and predicted masks present there are matched
one-to-one by the Hungarian algorithm among the pairs with mask IoU >= 0.5,
keeping first every pair that was matched in the previous frame, then
maximising the summed IoU. Class-aware counts match each category's tracks
separately and add them up; class-agnostic counts match all tracks together.

Per ground-truth track, over the frames where it is annotated:

- **ID switch**: the track is matched to a predicted track other than the one
  it was last matched to (in any earlier frame). A track that goes A, B, A has
  two switches.
- **Fragmentation**: the track is matched again after one or more frames where
  it was annotated but unmatched, having been matched before. Frames where it
  is not annotated do not interrupt it.
- **Split track**: the track was matched to two or more distinct predicted tracks.
- **Merged prediction** (per predicted track): matched to two or more distinct
  ground-truth tracks.

Example::

    report = identity_report(load_dataset("gt.json"), load_results("res.json"))
    print(report.class_agnostic.switches, [v.name for v in report.worst()])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from vistool.eval.frames import FrameTable, frame_tables
from vistool.io.ytvis import ResultTrack, YtvisDataset

IOU_THRESHOLD = 0.5
_EPS = np.finfo(float).eps


@dataclass
class IdentityCounts:
    """Identity errors of one video (or a sum over videos); see the module docstring."""

    switches: int = 0
    fragmentations: int = 0
    split_tracks: int = 0
    merged_predictions: int = 0
    gt_tracks: int = 0
    matched_frames: int = 0
    missed_frames: int = 0

    @property
    def fixes(self) -> int:
        """Switches + fragmentations: the places a reviewer must re-link a track."""
        return self.switches + self.fragmentations

    def __add__(self, other: "IdentityCounts") -> "IdentityCounts":
        return IdentityCounts(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


@dataclass
class VideoIdentity:
    """Counts of one video, class-aware and class-agnostic."""

    video_id: int
    name: str
    class_aware: IdentityCounts
    class_agnostic: IdentityCounts


@dataclass
class IdentityReport:
    """Result of :func:`identity_report`: per video (by id) and the totals over videos."""

    videos: list[VideoIdentity]
    class_aware: IdentityCounts
    class_agnostic: IdentityCounts

    def worst(self, n: int = 5) -> list[VideoIdentity]:
        """Up to ``n`` videos with identity errors, most class-agnostic fixes first (then splits, then id)."""
        bad = [v for v in self.videos if v.class_agnostic.fixes or v.class_agnostic.split_tracks]
        return sorted(bad, key=lambda v: (-v.class_agnostic.fixes, -v.class_agnostic.split_tracks, v.video_id))[:n]

    def to_json(self, worst: int = 5) -> dict[str, Any]:
        return {"class_aware": asdict(self.class_aware), "class_agnostic": asdict(self.class_agnostic),
                "worst_videos": [v.video_id for v in self.worst(worst)],
                "per_video": {str(v.video_id): {"name": v.name, "class_aware": asdict(v.class_aware),
                                                "class_agnostic": asdict(v.class_agnostic)} for v in self.videos}}


def identity_report(gt: YtvisDataset, results: Sequence[ResultTrack],
                    tables: Sequence[FrameTable] | None = None) -> IdentityReport:
    """Class-aware and class-agnostic identity counts of every ground-truth video."""
    tables = frame_tables(gt, results) if tables is None else tables
    videos = []
    for table in tables:
        aware = sum((identity_counts(table.only(int(c))) for c in np.unique(table.gt_categories)), IdentityCounts())
        videos.append(VideoIdentity(table.video_id, table.name, aware, identity_counts(table)))
    return IdentityReport(videos, class_aware=sum((v.class_aware for v in videos), IdentityCounts()),
                          class_agnostic=sum((v.class_agnostic for v in videos), IdentityCounts()))


def identity_counts(table: FrameTable) -> IdentityCounts:
    """Counts of one table (all its tracks matched together)."""
    last = np.full(table.num_gt, -1)               # predicted track each GT was last matched to
    lost = np.zeros(table.num_gt, dtype=bool)      # annotated but unmatched since its last match
    previous = np.full(table.num_gt, -1)           # match in the previous frame (-1: none)
    pairs: set[tuple[int, int]] = set()
    counts = IdentityCounts(gt_tracks=len(np.unique(np.concatenate([np.zeros(0, int), *table.gt_present]))))
    for g, p, iou in zip(table.gt_present, table.pred_present, table.ious):
        matched = frame_matches(g, p, iou, previous)               # (len(g),) predicted index or -1
        hit = matched >= 0
        counts.matched_frames += int(hit.sum())
        counts.missed_frames += int((~hit).sum())
        gi, pj = g[hit], matched[hit]
        counts.switches += int(((last[gi] >= 0) & (last[gi] != pj)).sum())
        counts.fragmentations += int(lost[gi].sum())
        last[gi], lost[gi] = pj, False
        missed = g[~hit]
        lost[missed] |= last[missed] >= 0
        previous[:] = -1
        previous[gi] = pj
        pairs.update(zip(gi.tolist(), pj.tolist()))
    counts.split_tracks = _at_least_two([gt for gt, _ in pairs])
    counts.merged_predictions = _at_least_two([pred for _, pred in pairs])
    return counts


def frame_matches(g: np.ndarray, p: np.ndarray, iou: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """(len(g),) the predicted track matched to each present GT track in one frame, -1 for none."""
    out = np.full(len(g), -1)
    if len(g) == 0 or len(p) == 0:
        return out
    score = 1000.0 * (previous[g][:, None] == p[None, :]) + iou
    score[iou < IOU_THRESHOLD - _EPS] = 0
    from scipy.optimize import linear_sum_assignment  # here: `vistool evaluate` without --metrics identity skips scipy

    rows, cols = linear_sum_assignment(-score)
    keep = score[rows, cols] > _EPS
    out[rows[keep]] = p[cols[keep]]
    return out


def _at_least_two(keys: list[int]) -> int:
    values, counts = np.unique(np.asarray(keys, dtype=np.int64), return_counts=True)
    return int((counts >= 2).sum())
