"""YouTube-VIS / OVIS video AP and AR, equal to the official evaluator's numbers.

Implements the metric of the YouTube-VIS evaluator (cocoapi youtubevos fork,
``ytvoseval.py``, with its Python 3 / NumPy faults mended) and, when the ground
truth has per-frame occlusion labels, the OVIS evaluator's occlusion axis. The
rules are listed in ``notes/ytvis-metric.md``; in short, per (video, category):
predictions sorted by score (stable) and cut to 100, video IoU with every
ground truth (:mod:`vistool.eval.video_iou`), greedy matching at 10 IoU
thresholds for every size/occlusion setting (:mod:`vistool.eval.matching`), and
per category COCO-style precision/recall over all videos
(:mod:`vistool.eval.accumulate`).

Like the official code, a match is recorded by the ground truth's annotation
id, so a match to an annotation with id 0 counts as a miss (the loader warns).

Example::

    from vistool.eval import evaluate_files
    print(evaluate_files("valid.json", "results.json").stats["AP"])
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from vistool.errors import InputError
from vistool.eval.accumulate import CategoryMatches, category_curves
from vistool.eval.matching import detection_flags, greedy_match
from vistool.eval.parallel import gc_paused, map_in_order, resolve_workers
from vistool.eval.video_iou import TrackMasks, video_ious
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisDataset, YtvisVideo, load_dataset, load_results

log = logging.getLogger(__name__)

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)         # the 9th is 0.8999999999999999
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETS = (1, 10, 100)
AREA_RANGES = {"all": (0, 1e5 ** 2), "small": (0, 128 ** 2), "medium": (128 ** 2, 256 ** 2),
               "large": (256 ** 2, 1e5 ** 2)}        # bounds inclusive: a value on a bound is in both
OCCLUSION_RANGES = {"all": (0.0, 1.0), "light": (0.0, 0.25), "medium": (0.25, 0.5), "heavy": (0.5, 1.0)}
OCCLUSION_SCORES = {"no_occlusion": 0.0, "slight_occlusion": 0.25, "severe_occlusion": 0.75}

# key -> (AP (True) or AR, IoU threshold or None for .50:.95, size range, occlusion range, maxDets)
STATS: dict[str, tuple[bool, float | None, str, str, int]] = {
    "AP": (True, None, "all", "all", 100), "AP50": (True, 0.5, "all", "all", 100),
    "AP75": (True, 0.75, "all", "all", 100), "APs": (True, None, "small", "all", 100),
    "APm": (True, None, "medium", "all", 100), "APl": (True, None, "large", "all", 100),
    "AR1": (False, None, "all", "all", 1), "AR10": (False, None, "all", "all", 10),
    "AR100": (False, None, "all", "all", 100), "ARs": (False, None, "small", "all", 100),
    "ARm": (False, None, "medium", "all", 100), "ARl": (False, None, "large", "all", 100),
}
# OVIS only: AP/AR over light/medium/heavy occlusion (papers: AP_SO, AP_MO, AP_HO).
OCCLUSION_STATS: dict[str, tuple[bool, float | None, str, str, int]] = {
    "AP_light": (True, None, "all", "light", 100), "AP_medium": (True, None, "all", "medium", 100),
    "AP_heavy": (True, None, "all", "heavy", 100), "AR_light": (False, None, "all", "light", 100),
    "AR_medium": (False, None, "all", "medium", 100), "AR_heavy": (False, None, "all", "heavy", 100),
}


@dataclass
class CategoryResult:
    """The stats of one category alone (-1 where it has no ground truth in a range)."""

    category_id: int
    name: str
    num_gt: int
    num_results: int
    stats: dict[str, float]


@dataclass
class EvalResult:
    """Result of :func:`evaluate`.

    Attributes:
        stats: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
            (plus AP/AR_light/medium/heavy for OVIS), -1 where nothing to average.
        per_category: one entry per ground-truth category, by ascending id.
        precision: (T, R, K, A, O, M) precision at IoU threshold x recall point x
            category x size range x occlusion range x maxDets; -1 without ground truth.
        recall: (T, K, A, O, M) final recall, -1 likewise.
        occlusion: whether the OVIS occlusion axis was evaluated.
        timings: seconds spent ("evaluate", and "load" from :func:`evaluate_files`).
    """

    stats: dict[str, float]
    per_category: list[CategoryResult]
    precision: np.ndarray
    recall: np.ndarray
    occlusion: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def to_flat_json(self) -> dict[str, float]:
        """One flat object keyed exactly like :attr:`stats`."""
        return {key: float(value) for key, value in self.stats.items()}


def evaluate_files(gt_path: str | Path, results_path: str | Path, workers: int | None = None) -> EvalResult:
    """Load a ground-truth dataset and a results file, then :func:`evaluate` them.

    Args:
        workers: processes for the per-video work (see :func:`evaluate`).

    Raises:
        InputError / FormatError: a file is missing or does not follow its schema,
            or the results name a video that is not in the ground truth.
    """
    with gc_paused():
        began = time.perf_counter()
        gt = load_dataset(gt_path)
        results = load_results(results_path, dataset=gt)
        loaded = time.perf_counter()
        result = evaluate(gt, results, workers=workers, masks_checked=True)
    result.timings["load"] = loaded - began
    return result


def evaluate(gt: YtvisDataset, results: Sequence[ResultTrack], workers: int | None = None,
             masks_checked: bool = False) -> EvalResult:
    """YouTube-VIS (or, with occlusion labels, OVIS) AP/AR of ``results`` against ``gt``.

    Results whose category is not a ground-truth category are dropped (logged);
    a result whose video is not in ``gt`` is an error.

    Args:
        workers: processes for the per-video work: None or 0 = every core when the
            problem is large (over 20,000 masks), else 1 (this process). The
            numbers do not depend on it.
        masks_checked: every mask is known to be a compressed RLE (str counts) of its
            video's size, as :func:`load_dataset` and :func:`load_results` (given the
            dataset) make them; skips checking them again.

    Raises:
        InputError: a result names an unknown video, or a mask has the wrong size.
    """
    began = time.perf_counter()
    occlusion = gt.has_occlusion
    occ_ranges = OCCLUSION_RANGES if occlusion else {"all": OCCLUSION_RANGES["all"]}
    videos = gt.videos_by_id()
    category_ids = sorted({c.id for c in gt.categories})
    gt_by_video, dt_by_video = _group_by_video(gt, results, videos, set(category_ids))
    jobs = [_VideoJob(videos[v], gt_by_video.get(v, []), dt_by_video.get(v, {}), occ_ranges, masks_checked)
            for v in sorted(videos) if gt_by_video.get(v) or dt_by_video.get(v)]
    masks = sum(videos[v].length * len(gts) for v, gts in gt_by_video.items()) + sum(
        len(t.segmentations) for t in results)
    matches = {cat: CategoryMatches() for cat in category_ids}
    for outcome in map_in_order(_evaluate_video, jobs, resolve_workers(workers, len(jobs), masks)):
        for cat, scores, tp, fp, num_gt in outcome:
            matches[cat].add(scores, tp, fp, num_gt)
    shape = (len(IOU_THRESHOLDS), len(category_ids), len(AREA_RANGES), len(occ_ranges), len(MAX_DETS))
    precision = -np.ones(shape[:1] + (len(RECALL_POINTS),) + shape[1:])
    recall = -np.ones(shape)
    for k, cat in enumerate(category_ids):
        p, r = category_curves(matches[cat], MAX_DETS, RECALL_POINTS, len(AREA_RANGES) * len(occ_ranges),
                               len(IOU_THRESHOLDS))                     # (S, T, R, M), (S, T, M)
        precision[:, :, k] = p.reshape(len(AREA_RANGES), len(occ_ranges), *p.shape[1:]).transpose(2, 3, 0, 1, 4)
        recall[:, k] = r.reshape(len(AREA_RANGES), len(occ_ranges), *r.shape[1:]).transpose(2, 0, 1, 3)
    definitions = {**STATS, **(OCCLUSION_STATS if occlusion else {})}
    labels = (list(AREA_RANGES), list(occ_ranges))
    stats = {key: summarize(precision, recall, spec, labels) for key, spec in definitions.items()}
    per_category = _per_category(gt, results, category_ids, precision, recall, definitions, labels)
    seconds = time.perf_counter() - began
    log.info("evaluated %d result tracks on %d videos in %.3f s", len(results), len(videos), seconds)
    return EvalResult(stats=stats, per_category=per_category, precision=precision, recall=recall,
                      occlusion=occlusion, timings={"evaluate": seconds})


def summarize(precision: np.ndarray, recall: np.ndarray, spec: tuple[bool, float | None, str, str, int],
              labels: tuple[list[str], list[str]], categories: slice | list[int] = slice(None)) -> float:
    """Mean of the valid (> -1) precision or recall entries of one stat; -1 if none.

    Args:
        precision: (T, R, K, A, O, M); recall: (T, K, A, O, M).
        spec: an entry of :data:`STATS` / :data:`OCCLUSION_STATS`.
        labels: size-range and occlusion-range labels of the A and O axes.
        categories: the K entries to average over.
    """
    is_ap, iou, area, occ, max_det = spec
    a, o, m = labels[0].index(area), labels[1].index(occ), MAX_DETS.index(max_det)
    values = precision if is_ap else recall
    if iou is not None:
        values = values[np.where(iou == IOU_THRESHOLDS)[0]]
    values = values[:, :, categories, a, o, m] if is_ap else values[:, categories, a, o, m]
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _group_by_video(gt: YtvisDataset, results: Sequence[ResultTrack], videos: dict[int, YtvisVideo],
                    category_ids: set[int]) -> tuple[dict, dict]:
    """Ground truth per video (file order) and results per video per category (file order)."""
    gt_by_video: dict[int, list[YtvisAnnotation]] = defaultdict(list)
    for ann in gt.annotations:
        if ann.video_id not in videos or ann.category_id not in category_ids:
            raise InputError(f"ground-truth annotation {ann.id} refers to an unknown video or category "
                             f"(video_id {ann.video_id}, category_id {ann.category_id})")
        gt_by_video[ann.video_id].append(ann)
    dt_by_video: dict[int, dict[int, list[ResultTrack]]] = defaultdict(lambda: defaultdict(list))
    dropped = 0
    for track in results:
        if track.video_id not in videos:
            raise InputError(f"results do not correspond to the ground truth: video_id {track.video_id} "
                             "is not a video of the ground-truth dataset")
        if track.category_id not in category_ids:
            dropped += 1
            continue
        dt_by_video[track.video_id][track.category_id].append(track)
    if dropped:
        log.warning("dropped %d result tracks whose category_id is not a ground-truth category", dropped)
    return gt_by_video, dt_by_video


@dataclass
class _VideoJob:
    """What one video's evaluation needs: its ground truth and its results per category."""

    video: YtvisVideo
    gts: list[YtvisAnnotation]
    dts: dict[int, list[ResultTrack]]
    occ_ranges: dict[str, tuple[float, float]]
    masks_checked: bool = False


def _evaluate_video(job: _VideoJob) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Match one video's predictions to its ground truth.

    Returns:
        per category, in ascending id: (category_id, scores (D,), tp (S, T, D), fp (S, T, D), num_gt (S,)).
    """
    video, gts, dts, occ_ranges = job.video, job.gts, job.dts, job.occ_ranges
    kept = _best_per_category(dts, MAX_DETS[-1])
    size, what = (video.height, video.width), f"video {video.id}"
    dt_masks = TrackMasks.build([t.segmentations for t in kept], size, f"results of {what}", job.masks_checked)
    gt_masks = TrackMasks.build([a.segmentations for a in gts], size, f"ground truth of {what}", job.masks_checked)
    dt_cat = np.asarray([t.category_id for t in kept], dtype=np.int64)
    gt_cat = np.asarray([a.category_id for a in gts], dtype=np.int64)
    ious = _same_category_ious(dt_masks, gt_masks, dt_cat, gt_cat)                    # (D, G)
    dt_score = np.asarray([t.score for t in kept], dtype=np.float64)
    dt_area = dt_masks.mean_areas()
    gt_ids = np.asarray([a.id for a in gts], dtype=np.int64)
    crowd = np.asarray([bool(a.iscrowd) for a in gts], dtype=bool)
    gt_area = np.asarray([gt_mean_area(a.areas) for a in gts], dtype=np.float64)
    gt_occ = np.asarray([occlusion_score(a.occlusion) if a.occlusion is not None else 0.0 for a in gts])
    bounds = _setting_bounds(occ_ranges)
    gt_ignore = _gt_ignore(crowd, gt_area, gt_occ, bounds)                            # (S, G)
    dt_outside = _dt_outside(dt_area, bounds)                                         # (S, D)
    outcome = []
    for cat in sorted(set(dt_cat.tolist()) | set(gt_cat.tolist())):
        di, gi = np.flatnonzero(dt_cat == cat), np.flatnonzero(gt_cat == cat)
        found = greedy_match(ious[np.ix_(di, gi)], gt_ignore[:, gi], crowd[gi], IOU_THRESHOLDS)
        tp, fp = detection_flags(found, gt_ignore[:, gi], gt_ids[gi], dt_outside[:, di])
        outcome.append((cat, dt_score[di], tp, fp, (~gt_ignore[:, gi]).sum(axis=1)))
    return outcome


def _same_category_ious(dt: TrackMasks, gt: TrackMasks, dt_cat: np.ndarray, gt_cat: np.ndarray) -> np.ndarray:
    """(D, G) video IoUs, computed only for tracks whose category is on both sides (others stay 0)."""
    ious = np.zeros((len(dt), len(gt)), dtype=np.float64)
    rows = np.flatnonzero(np.isin(dt_cat, gt_cat))
    cols = np.flatnonzero(np.isin(gt_cat, dt_cat))
    if rows.size and cols.size:
        ious[np.ix_(rows, cols)] = video_ious(dt.subset(rows), gt.subset(cols))
    return ious


def _best_per_category(dts: dict[int, list[ResultTrack]], max_det: int) -> list[ResultTrack]:
    """Each category's tracks sorted by score (stable: ties keep file order), cut to ``max_det``."""
    kept: list[ResultTrack] = []
    for cat in sorted(dts):
        tracks = dts[cat]
        order = np.argsort([-t.score for t in tracks], kind="mergesort")[:max_det]
        kept.extend(tracks[i] for i in order)
    return kept


def gt_mean_area(areas: Sequence[float | None]) -> float:
    """Mean of the non-null, non-zero per-frame areas of a ground truth; 0 when none."""
    nonzero = [a for a in areas if a]
    return float(np.array(nonzero, dtype=np.float64).mean()) if nonzero else 0.0


def occlusion_score(labels: Sequence[str | None]) -> float:
    """OVIS occlusion score: mean of the top half (rounded up) of the per-frame label scores."""
    scores = sorted(OCCLUSION_SCORES[label] for label in labels if label is not None)
    if not scores:
        raise InputError("an OVIS ground truth has no occlusion label in any frame")
    top = scores[-math.ceil(len(scores) / 2):]
    return sum(top) / len(top)


def _setting_bounds(occ_ranges: dict[str, tuple[float, float]]) -> np.ndarray:
    """(S, 4) [area_lo, area_hi, occ_lo, occ_hi] per setting, size range major."""
    return np.asarray([(*area, *occ) for area in AREA_RANGES.values() for occ in occ_ranges.values()],
                      dtype=np.float64)


def _gt_ignore(crowd: np.ndarray, area: np.ndarray, occ: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(S, G) ground truths ignored in each setting: crowd, or size/occlusion outside (bounds inclusive)."""
    lo, hi, occ_lo, occ_hi = (b[:, None] for b in bounds.T)
    return crowd[None, :] | (area < lo) | (area > hi) | (occ < occ_lo) | (occ > occ_hi)


def _dt_outside(area: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(S, D) predictions whose mean area is outside the setting's size range."""
    return (area < bounds[:, :1]) | (area > bounds[:, 1:2])


def _per_category(gt: YtvisDataset, results: Sequence[ResultTrack], category_ids: list[int],
                  precision: np.ndarray, recall: np.ndarray, definitions: dict, labels: tuple) -> list[CategoryResult]:
    names = {c.id: c.name for c in gt.categories}
    num_gt = defaultdict(int)
    for ann in gt.annotations:
        num_gt[ann.category_id] += 0 if ann.iscrowd else 1
    num_results = defaultdict(int)
    for track in results:
        num_results[track.category_id] += 1
    return [CategoryResult(category_id=cat, name=names[cat], num_gt=num_gt[cat], num_results=num_results[cat],
                           stats={key: summarize(precision, recall, spec, labels, [k])
                                  for key, spec in definitions.items()})
            for k, cat in enumerate(category_ids)]
