"""HOTA (Luiten et al., IJCV 2021) with mask IoU, computed by TrackEval's own HOTA metric.

HOTA splits tracking error into detection (DetA), association (AssA) and
localisation (LocA); HOTA = sqrt(DetA * AssA), each averaged over the IoU
thresholds alpha = 0.05, 0.10, ..., 0.95. vistool only prepares the data:
per (video, category) the frames' mask IoUs (:mod:`vistool.eval.frames`),
exactly as TrackEval's YouTube-VIS dataset does (every track evaluated, crowd
ground truth included, the MOTS-style mask similarity), and hands them to
``trackeval.metrics.HOTA`` for the per-video scores and their combination.

Class-aware scores are TrackEval's per-category results combined over
categories in its two ways: class-averaged (the mean of the categories' HOTA;
categories with neither ground truth nor predictions are left out, TrackEval's
``ignore_empty_classes``) and detection-averaged. Class-agnostic scores evaluate
all tracks as one category.

Example::

    scores = hota(load_dataset("gt.json"), load_results("res.json"))
    print(scores.class_averaged.HOTA, scores.class_agnostic.AssA)
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from vistool.errors import InputError
from vistool.eval.frames import FrameTable, frame_tables
from vistool.io.ytvis import ResultTrack, YtvisDataset


@dataclass
class HotaScores:
    """HOTA and its parts, each the mean over the 19 alpha thresholds (0..1)."""

    HOTA: float
    DetA: float
    AssA: float
    LocA: float
    DetRe: float
    DetPr: float
    AssRe: float
    AssPr: float

    @classmethod
    def from_trackeval(cls, res: dict) -> "HotaScores":
        return cls(**{name: float(np.mean(res[name])) for name in cls.__dataclass_fields__})


@dataclass
class HotaResult:
    """Result of :func:`hota`.

    Attributes:
        class_averaged / detection_averaged: class-aware scores combined over categories.
        class_agnostic: all tracks evaluated as one category.
        per_category: category id -> its scores over all videos.
        per_video: video id -> class-agnostic scores of that video.
    """

    class_averaged: HotaScores
    detection_averaged: HotaScores
    class_agnostic: HotaScores
    per_category: dict[int, HotaScores]
    per_video: dict[int, HotaScores]

    def to_json(self) -> dict[str, Any]:
        """Nested plain-JSON form (category and video ids become string keys)."""
        return {"class_averaged": asdict(self.class_averaged), "detection_averaged": asdict(self.detection_averaged),
                "class_agnostic": asdict(self.class_agnostic),
                "per_category": {str(k): asdict(v) for k, v in self.per_category.items()},
                "per_video": {str(k): asdict(v) for k, v in self.per_video.items()}}


def trackeval_hota() -> Any:
    """A ``trackeval.metrics.HOTA`` instance (TrackEval's import-time chatter is swallowed)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from trackeval.metrics import HOTA
    except ImportError as exc:
        raise InputError(f"HOTA needs the trackeval package ({exc}); install it with "
                         "pip install 'vistool[metrics]' (or pip install trackeval==1.3.0)") from None
    return HOTA()


def trackeval_data(table: FrameTable) -> dict[str, Any]:
    """A table's frames in the data dict TrackEval's metrics read (ids made contiguous, as TrackEval does)."""
    gt_seen = np.unique(np.concatenate([np.zeros(0, np.int64), *table.gt_present]))
    pred_seen = np.unique(np.concatenate([np.zeros(0, np.int64), *table.pred_present]))
    gt_map = np.full(max(table.num_gt, 1), -1, dtype=np.int64)
    pred_map = np.full(max(table.num_pred, 1), -1, dtype=np.int64)
    gt_map[gt_seen] = np.arange(len(gt_seen))
    pred_map[pred_seen] = np.arange(len(pred_seen))
    return {
        "num_timesteps": table.num_frames,
        "gt_ids": [gt_map[g] for g in table.gt_present],
        "tracker_ids": [pred_map[p] for p in table.pred_present],
        "similarity_scores": list(table.ious),
        "num_gt_ids": len(gt_seen), "num_tracker_ids": len(pred_seen),
        "num_gt_dets": int(sum(len(g) for g in table.gt_present)),
        "num_tracker_dets": int(sum(len(p) for p in table.pred_present)),
    }


def hota(gt: YtvisDataset, results: Sequence[ResultTrack],
         tables: Sequence[FrameTable] | None = None) -> HotaResult:
    """Class-aware and class-agnostic HOTA of ``results`` against ``gt``.

    Args:
        tables: the :func:`~vistool.eval.frames.frame_tables` of the pair, when already built.
    """
    metric = trackeval_hota()
    tables = frame_tables(gt, results) if tables is None else tables
    category_ids = sorted({c.id for c in gt.categories})
    per_video = {t.video_id: metric.eval_sequence(trackeval_data(t)) for t in tables}
    agnostic = metric.combine_sequences(per_video) if per_video else metric.combine_sequences({0: _empty(metric)})
    per_category = {}
    for cat in category_ids:
        # videos without a track of the category add nothing to TrackEval's sums: skip them
        by_video = {t.video_id: metric.eval_sequence(trackeval_data(t.only(cat))) for t in tables
                    if (t.gt_categories == cat).any() or (t.pred_categories == cat).any()}
        per_category[cat] = metric.combine_sequences(by_video) if by_video else _empty(metric)
    if not per_category:
        raise InputError("the ground truth has no categories: nothing to evaluate HOTA on")
    return HotaResult(
        class_averaged=HotaScores.from_trackeval(
            metric.combine_classes_class_averaged(per_category, ignore_empty_classes=_any_nonempty(per_category))),
        detection_averaged=HotaScores.from_trackeval(metric.combine_classes_det_averaged(per_category)),
        class_agnostic=HotaScores.from_trackeval(agnostic),
        per_category={cat: HotaScores.from_trackeval(res) for cat, res in per_category.items()},
        per_video={vid: HotaScores.from_trackeval(res) for vid, res in per_video.items()})


def _empty(metric: Any) -> dict:
    """TrackEval's result of a sequence with no detection on either side."""
    return metric.eval_sequence({"num_tracker_dets": 0, "num_gt_dets": 0})


def _any_nonempty(per_category: dict[int, dict]) -> bool:
    """Leave empty categories out of the class average unless every category is empty (then all count)."""
    return any((res["HOTA_TP"] + res["HOTA_FN"] + res["HOTA_FP"] > 0).any() for res in per_category.values())
