"""The fast evaluator against a slow, plain-loop reference written from notes/ytvis-metric.md.

The reference decodes every mask to a numpy array and follows the spec one
(video, category), one threshold, one prediction and one ground truth at a
time. Random inputs (hypothesis, and larger numpy-seeded ones) must give the
same stats to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vistool.eval.ytvis import evaluate
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo

THRESHOLDS = list(np.linspace(0.5, 0.95, 10))  # the spec's values (the 9th is 0.8999999999999999)
RECALL_POINTS = list(np.linspace(0, 1, 101))
AREAS = {"all": (0, 1e10), "small": (0, 128 ** 2), "medium": (128 ** 2, 256 ** 2), "large": (256 ** 2, 1e10)}
OCCLUSIONS = {"all": (0, 1), "light": (0, 0.25), "medium": (0.25, 0.5), "heavy": (0.5, 1)}
OCC_SCORE = {"no_occlusion": 0.0, "slight_occlusion": 0.25, "severe_occlusion": 0.75}
EPS = np.spacing(1)
STAT_SPECS = {
    "AP": ("ap", None, "all", "all", 100), "AP50": ("ap", 0.5, "all", "all", 100),
    "AP75": ("ap", 0.75, "all", "all", 100), "APs": ("ap", None, "small", "all", 100),
    "APm": ("ap", None, "medium", "all", 100), "APl": ("ap", None, "large", "all", 100),
    "AR1": ("ar", None, "all", "all", 1), "AR10": ("ar", None, "all", "all", 10),
    "AR100": ("ar", None, "all", "all", 100), "ARs": ("ar", None, "small", "all", 100),
    "ARm": ("ar", None, "medium", "all", 100), "ARl": ("ar", None, "large", "all", 100),
}
OVIS_SPECS = {
    "AP_light": ("ap", None, "all", "light", 100), "AP_medium": ("ap", None, "all", "medium", 100),
    "AP_heavy": ("ap", None, "all", "heavy", 100), "AR_light": ("ar", None, "all", "light", 100),
    "AR_medium": ("ar", None, "all", "medium", 100), "AR_heavy": ("ar", None, "all", "heavy", 100),
}


# ---------------------------------------------------------------- the reference


def ref_video_iou(dt_masks: list, gt_masks: list) -> float:
    """Spec: zip the frame lists; both present -> I += |d&g|, U += |d|g|; one present -> U += its area."""
    inter = union = 0
    for d, g in zip(dt_masks, gt_masks):
        if d is not None and g is not None:
            inter += int(np.logical_and(d, g).sum())
            union += int(np.logical_or(d, g).sum())
        elif d is not None:
            union += int(d.sum())
        elif g is not None:
            union += int(g.sum())
    return inter / union if union > 0 else 0.0


def ref_mean(values: list) -> float:
    """Mean of the entries that are neither None nor 0; 0 when there are none."""
    kept = [v for v in values if v is not None and v != 0]
    return sum(kept) / len(kept) if kept else 0.0


def ref_occlusion(labels: list) -> float:
    scores = sorted(OCC_SCORE[x] for x in labels if x is not None)
    top = scores[len(scores) - math.ceil(len(scores) / 2):]
    return sum(top) / len(top)


def in_range(value: float, bounds: tuple) -> bool:
    return bounds[0] <= value <= bounds[1]


def ref_match(dts: list, gts: list, ious: dict, threshold: float, area: tuple, occ: tuple) -> list:
    """One (video, category), one threshold: per prediction 'tp', 'fp' or 'ignore', in score order."""
    taken = set()
    outcome = []
    for d in dts:
        best = None
        for group in ("regular", "ignored"):            # an ignored GT only when no regular one qualifies
            for g in gts:
                ignored = g["crowd"] or not in_range(g["area"], area) or not in_range(g["occ"], occ)
                if (group == "ignored") != ignored:
                    continue
                if g["index"] in taken and not g["crowd"]:
                    continue
                iou = ious[d["index"], g["index"]]
                if iou >= threshold and (best is None or iou >= best[1]):   # ">=": later GT wins ties
                    best = (g, iou, ignored)
            if best is not None:
                break
        if best is None:
            outcome.append("ignore" if not in_range(d["area"], area) else "fp")
            continue
        g, _, ignored = best
        taken.add(g["index"])
        if ignored:
            outcome.append("ignore")
        elif g["id"] == 0:  # the official code records a match by GT id: id 0 reads as "no match"
            outcome.append("ignore" if not in_range(d["area"], area) else "fp")
        else:
            outcome.append("tp")
    return outcome


def ref_curve(entries: list, num_gt: int) -> tuple[list, float]:
    """Sampled precision (101) and final recall from score-sorted 'tp'/'fp'/'ignore' entries."""
    tp = fp = 0
    recalls, precisions = [], []
    for kind in entries:
        tp += kind == "tp"
        fp += kind == "fp"
        recalls.append(tp / num_gt)
        precisions.append(tp / (tp + fp + EPS))
    for i in range(len(precisions) - 2, -1, -1):
        precisions[i] = max(precisions[i], precisions[i + 1])
    sampled = []
    for r in RECALL_POINTS:
        first = next((i for i, rc in enumerate(recalls) if rc >= r), None)
        sampled.append(0.0 if first is None else precisions[first])
    return sampled, (recalls[-1] if recalls else 0.0)


def reference_evaluate(gt: YtvisDataset, results: list[ResultTrack]) -> dict[str, float]:
    """The 12 (or 18 for OVIS) stats, computed slowly and plainly."""
    occlusion = any(a.occlusion is not None for a in gt.annotations)
    video_ids = sorted(v.id for v in gt.videos)
    cat_ids = sorted(c.id for c in gt.categories)
    cells = {}  # (video, category) -> (gts, dts sorted and cut, ious)
    for vid in video_ids:
        for cat in cat_ids:
            gts = [a for a in gt.annotations if a.video_id == vid and a.category_id == cat]
            dts = [r for r in results if r.video_id == vid and r.category_id == cat]
            dts = sorted(dts, key=lambda r: -r.score)[:100]    # sorted() is stable
            if not gts and not dts:
                continue
            gt_masks = [[None if s is None else rle.decode(s) for s in a.segmentations] for a in gts]
            dt_masks = [[None if s is None else rle.decode(s) for s in r.segmentations] for r in dts]
            g_rows = [{"index": j, "id": a.id, "crowd": bool(a.iscrowd), "area": ref_mean(a.areas),
                       "occ": ref_occlusion(a.occlusion) if occlusion else 0.0} for j, a in enumerate(gts)]
            d_rows = [{"index": i, "score": r.score,
                       "area": ref_mean([None if m is None else int(m.sum()) for m in dt_masks[i]])}
                      for i, r in enumerate(dts)]
            ious = {(i, j): ref_video_iou(dt_masks[i], gt_masks[j])
                    for i in range(len(dts)) for j in range(len(gts))}
            cells[vid, cat] = (g_rows, d_rows, ious)
    specs = {**STAT_SPECS, **(OVIS_SPECS if occlusion else {})}
    stats = {}
    for key, (kind, iou_thr, area_name, occ_name, max_det) in specs.items():
        area, occ = AREAS[area_name], OCCLUSIONS[occ_name]
        thresholds = [t for t in THRESHOLDS if iou_thr is None or t == iou_thr]
        values = []
        for t in thresholds:
            for cat in cat_ids:
                value = ref_category(cells, video_ids, cat, t, area, occ, max_det, kind)
                if value is not None:
                    values.extend(value)
        stats[key] = sum(values) / len(values) if values else -1.0
    return stats


def ref_category(cells, video_ids, cat, t, area, occ, max_det, kind):
    """The 101 precisions (AP) or the final recall (AR) of one category at one threshold; None without GT."""
    entries, num_gt = [], 0
    for vid in video_ids:
        if (vid, cat) not in cells:
            continue
        gts, dts, ious = cells[vid, cat]
        num_gt += sum(1 for g in gts if not (g["crowd"] or not in_range(g["area"], area)
                                             or not in_range(g["occ"], occ)))
        outcome = ref_match(dts, gts, ious, t, area, occ)
        entries.extend((d["score"], o) for d, o in zip(dts[:max_det], outcome[:max_det]))
    if num_gt == 0:
        return None
    entries = sorted(entries, key=lambda e: -e[0])   # stable: video order, then score order in a video
    sampled, final = ref_curve([o for _, o in entries], num_gt)
    return sampled if kind == "ap" else [final]


# ---------------------------------------------------------------- random inputs

# (rows, cols, cell size in pixels): 64 px cells reach the 128² and 256² bounds; 1x2 pixels allow only
# 2 frames per pycocotools call in the fast evaluator (see vistool.eval.video_iou)
SIZES = [(1, 2, 1), (2, 3, 1), (4, 5, 1), (4, 5, 64)]
OCC_LABELS = [None, "no_occlusion", "slight_occlusion", "severe_occlusion"]


def cell_mask(shape: tuple, box: tuple | None) -> dict:
    """RLE of a rectangle of grid cells ``(r0, r1, c0, c1)`` (None: an empty mask)."""
    rows, cols, cell = shape
    mask = np.zeros((rows * cell, cols * cell), dtype=bool)
    if box is not None:
        r0, r1, c0, c1 = box
        mask[r0 * cell:r1 * cell, c0 * cell:c1 * cell] = True
    return rle.encode(mask)


@st.composite
def boxes(draw, shape):
    rows, cols, _ = shape
    r0 = draw(st.integers(0, rows - 1))
    c0 = draw(st.integers(0, cols - 1))
    return (r0, draw(st.integers(r0 + 1, rows)), c0, draw(st.integers(c0 + 1, cols)))


@st.composite
def frame_mask(draw, shape):
    kind = draw(st.sampled_from(["none", "empty", "box", "box", "box"]))
    if kind == "none":
        return None
    return cell_mask(shape, None if kind == "empty" else draw(boxes(shape)))


@st.composite
def scenarios(draw, max_videos=3, max_gt=4, max_dt=7, allow_crowd=True):
    """A random (dataset, results) pair exercising every rule of the metric."""
    occlusion = draw(st.booleans())
    shape = draw(st.sampled_from(SIZES))
    rows, cols, cell = shape
    categories = [YtvisCategory(id=c, name=f"c{c}") for c in range(1, draw(st.integers(1, 3)) + 1)]
    videos, annotations, results = [], [], []
    for vid in range(1, draw(st.integers(1, max_videos)) + 1):
        length = draw(st.integers(1, 4))
        videos.append(YtvisVideo(id=vid, width=cols * cell, height=rows * cell, length=length))
        gts = []
        for _ in range(draw(st.integers(0, max_gt))):
            segs = [draw(frame_mask(shape)) for _ in range(length)]
            ann = YtvisAnnotation.from_segmentations(
                id=len(annotations) + 1, video_id=vid, category_id=draw(st.sampled_from(categories)).id,
                segmentations=segs, iscrowd=int(allow_crowd and draw(st.integers(0, 3)) == 0))
            if draw(st.booleans()):  # areas field that is not the masks' areas, with values on the bounds
                ann.areas = [draw(st.sampled_from([None, 0, 100, 16384, 16384.5, 20000, 65536, 70000]))
                             for _ in range(length)]
            if occlusion:
                ann.occlusion = [draw(st.sampled_from(OCC_LABELS)) for _ in range(length - 1)] + [
                    draw(st.sampled_from(OCC_LABELS[1:]))]
            annotations.append(ann)
            gts.append(ann)
        mine: list[ResultTrack] = []
        for _ in range(draw(st.integers(0, max_dt))):
            mine.append(draw(predictions(vid, length, shape, gts, categories, mine)))
        results.extend(mine)
    draw(st.randoms()).shuffle(results)
    return YtvisDataset(videos=videos, categories=categories, annotations=annotations), results


@st.composite
def predictions(draw, vid, length, shape, gts, categories, earlier):
    """A result track made of ground-truth masks, unions of two of them (exact IoU ties), copies of an
    earlier prediction or random masks; sometimes one frame too short or too long."""
    source = draw(st.sampled_from(gts)) if gts and draw(st.integers(0, 3)) > 0 else None
    if earlier and draw(st.integers(0, 4)) == 0:
        segs = list(draw(st.sampled_from(earlier)).segmentations)        # a duplicate track
    else:
        segs = [draw(_predicted_frame(f, shape, source, gts)) for f in range(length)]
    change = draw(st.sampled_from([0, 0, 0, 0, -1, 1]))  # zip truncation (the API accepts any length)
    segs = segs[:max(0, length - 1)] if change < 0 else segs + [draw(frame_mask(shape))] * change
    cat_ids = [c.id for c in categories] * 3 + [99]      # 99: unknown, dropped
    keep_category = source is not None and draw(st.integers(0, 3)) > 0
    cat = source.category_id if keep_category else draw(st.sampled_from(cat_ids))
    score = draw(st.sampled_from([0.1, 0.3, 0.5, 0.5, 0.9, 1.0]))
    return ResultTrack(video_id=vid, category_id=cat, score=score, segmentations=segs)


@st.composite
def _predicted_frame(draw, f, shape, source, gts):
    kind = draw(st.sampled_from(["copy", "copy", "copy", "union", "random"])) if source else "random"
    if kind == "random":
        return draw(frame_mask(shape))
    mine = source.segmentations[f]
    other = draw(st.sampled_from(gts)).segmentations[f]
    if kind == "copy" or mine is None or other is None:
        return mine
    return rle.encode(rle.decode(mine) | rle.decode(other))


@st.composite
def tie_scenarios(draw):
    """Tiny single-category videos whose predictions are unions of ground truths: many exact IoU ties."""
    shape = draw(st.sampled_from([(1, 2, 1), (1, 3, 1), (2, 2, 1)]))
    rows, cols, _ = shape
    categories = [YtvisCategory(1, "a")]
    videos, annotations, results = [], [], []
    for vid in range(1, draw(st.integers(1, 2)) + 1):
        length = draw(st.integers(1, 2))
        videos.append(YtvisVideo(id=vid, width=cols, height=rows, length=length))
        gts = [YtvisAnnotation.from_segmentations(len(annotations) + k + 1, vid, 1,
                                                  [draw(frame_mask(shape)) for _ in range(length)],
                                                  iscrowd=int(draw(st.integers(0, 5)) == 0))
               for k in range(draw(st.integers(1, 4)))]
        annotations.extend(gts)
        for _ in range(draw(st.integers(1, 5))):
            segs = []
            for f in range(length):
                chosen = [g.segmentations[f] for g in gts if draw(st.booleans()) and g.segmentations[f]]
                union = np.zeros((rows, cols), dtype=bool)
                for seg in chosen:
                    union |= rle.decode(seg)
                segs.append(rle.encode(union) if chosen else draw(frame_mask(shape)))
            results.append(ResultTrack(vid, 1, draw(st.sampled_from([0.5, 0.5, 0.7])), segs))
    return YtvisDataset(videos=videos, categories=categories, annotations=annotations), results


def assert_same_stats(fast: dict, ref: dict) -> None:
    assert list(fast) == list(ref)
    for key in ref:
        assert fast[key] == pytest.approx(ref[key], abs=1e-9), key


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_fast_evaluator_equals_reference_on_random_inputs(scenario):
    dataset, results = scenario
    assert_same_stats(evaluate(dataset, results).stats, reference_evaluate(dataset, results))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tie_scenarios())
def test_fast_evaluator_equals_reference_on_exact_iou_ties(scenario):
    dataset, results = scenario
    assert_same_stats(evaluate(dataset, results).stats, reference_evaluate(dataset, results))


def _seeded_scenario(seed: int):
    """Bigger inputs: >100 predictions in one (video, category) and many ties, from a numpy seed."""
    rng = np.random.default_rng(seed)
    shape = (6, 6, 1)
    categories = [YtvisCategory(1, "a"), YtvisCategory(2, "b")]
    videos, annotations, results = [], [], []
    for vid in (3, 1, 2):
        videos.append(YtvisVideo(id=vid, width=6, height=6, length=3))
        for _ in range(rng.integers(1, 6)):
            segs = [cell_mask(shape, _random_box(rng)) if rng.random() < 0.85 else None for _ in range(3)]
            annotations.append(YtvisAnnotation.from_segmentations(
                len(annotations) + 1, vid, int(rng.integers(1, 3)), segs, iscrowd=int(rng.random() < 0.1)))
        count = 130 if vid == 1 else int(rng.integers(0, 30))
        for i in range(count):
            segs = [cell_mask(shape, _random_box(rng)) if rng.random() < 0.9 else None for _ in range(3)]
            cat = 1 if vid == 1 and i < 110 else int(rng.integers(1, 3))     # 110 in one (video, category)
            results.append(ResultTrack(vid, cat, float(rng.choice([0.2, 0.4, 0.6, 0.8])), segs))
    return YtvisDataset(videos=videos, categories=categories, annotations=annotations), results


def _random_box(rng) -> tuple:
    r0, c0 = rng.integers(0, 5, size=2)
    return int(r0), int(rng.integers(r0 + 1, 7)), int(c0), int(rng.integers(c0 + 1, 7))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_evaluator_equals_reference_with_more_than_100_predictions(seed):
    dataset, results = _seeded_scenario(seed)
    assert_same_stats(evaluate(dataset, results).stats, reference_evaluate(dataset, results))
