"""One focused test per rule of notes/ytvis-metric.md, with hand-computed expectations."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from vistool.errors import InputError
from vistool.eval.video_iou import TrackMasks, intersections, same_size_shapes, video_ious
from vistool.eval.ytvis import evaluate, occlusion_score
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo

EPS = np.spacing(1)
ONE = 1 / (1 + EPS)          # precision of a lone true positive: tp / (tp + fp + eps)


def mask(h: int, w: int, *boxes: tuple[int, int, int, int]) -> dict:
    """RLE of the union of boxes (y0, y1, x0, x1) in an h x w frame (no box: an empty mask)."""
    m = np.zeros((h, w), dtype=bool)
    for y0, y1, x0, x1 in boxes:
        m[y0:y1, x0:x1] = True
    return rle.encode(m)


def dataset(h: int, w: int, length: int, anns: list[tuple], videos=(1,), cats=(1, 2)) -> YtvisDataset:
    """anns: (id, video_id, category_id, segmentations, iscrowd=0, areas=None, occlusion=None)."""
    annotations = []
    for ann_id, vid, cat, segs, *rest in anns:
        crowd, areas, occlusion = list(rest) + [0, None, None][len(rest):]
        a = YtvisAnnotation.from_segmentations(ann_id, vid, cat, segs, iscrowd=crowd, occlusion=occlusion)
        if areas is not None:
            a.areas = areas
        annotations.append(a)
    return YtvisDataset(videos=[YtvisVideo(v, w, h, length) for v in videos],
                        categories=[YtvisCategory(c, f"c{c}") for c in cats], annotations=annotations)


def ious_of(dts: list[list], gts: list[list], h: int, w: int) -> np.ndarray:
    return video_ious(TrackMasks.build(dts, (h, w), "dt"), TrackMasks.build(gts, (h, w), "gt"))


# ------------------------------------------------------------------ video IoU


def test_null_and_empty_mask_frames_give_the_same_iou_and_all_empty_gives_zero():
    a = mask(4, 4, (0, 2, 0, 2))
    empty = mask(4, 4)
    gt = [a, None]
    # f0: I=4, U=4; f1: GT absent, prediction absent (null) or present with area 0 -> U += 0
    assert ious_of([[a, None], [a, empty]], [gt], 4, 4).tolist() == [[1.0], [1.0]]
    # f1 with a GT mask: U += |g| whether the prediction is null or an empty (present) mask
    assert ious_of([[a, None], [a, empty]], [[a, a]], 4, 4).tolist() == [[0.5], [0.5]]
    # U == 0 (only empty masks): IoU is 0, not NaN
    assert ious_of([[empty, empty]], [[empty, None]], 4, 4).tolist() == [[0.0]]


def test_prediction_of_only_empty_masks_has_area_zero_and_is_a_small_false_positive():
    a = mask(4, 4, (0, 2, 0, 2))
    gt = dataset(4, 4, 2, [(1, 1, 1, [a, a])])
    tp = ResultTrack(1, 1, 0.8, [a, a])
    empty = ResultTrack(1, 1, 0.9, [mask(4, 4), None])   # area 0: inside [0, 128^2], not ignored
    stats = evaluate(gt, [empty, tp]).stats
    assert stats["APs"] == pytest.approx(1 / (2 + EPS), abs=1e-12)
    assert evaluate(gt, [tp]).stats["APs"] == pytest.approx(ONE, abs=1e-12)


def test_zip_truncates_to_the_shorter_frame_list():
    a, b = mask(4, 4, (0, 2, 0, 2)), mask(4, 4, (2, 4, 2, 4))
    gt = [[a, a, a, a]]
    # 2 frames given: frames 2 and 3 of the GT never enter the union
    assert ious_of([[a, a]], gt, 4, 4).tolist() == [[1.0]]
    # 6 frames given: the 2 extra ones are ignored
    assert ious_of([[a, a, a, a, b, b]], gt, 4, 4).tolist() == [[1.0]]
    # 4 frames with 2 absent: the GT's frames count in the union
    assert ious_of([[a, a, None, None]], gt, 4, 4).tolist() == [[0.5]]
    ds = dataset(4, 4, 4, [(1, 1, 1, gt[0])])
    assert evaluate(ds, [ResultTrack(1, 1, 0.9, [a, a])]).stats["AP"] == pytest.approx(ONE, abs=1e-12)


def _random_track(rng, h: int, w: int, frames: int) -> list:
    return [None if rng.random() < 0.2 else mask(h, w, (*sorted(rng.integers(0, h + 1, 2)),
                                                        *sorted(rng.integers(0, w + 1, 2))))
            for _ in range(frames)]


def test_many_frames_per_pycocotools_call_give_exact_intersections():
    rng = np.random.default_rng(3)
    h, w, frames = 6, 5, 20                       # 30 px: 8 (h, w) shapes, so 3 calls at most 8 frames each
    dts = [_random_track(rng, h, w, frames) for _ in range(4)]
    gts = [_random_track(rng, h, w, frames) for _ in range(3)]
    dt, gt = TrackMasks.build(dts, (h, w), "dt"), TrackMasks.build(gts, (h, w), "gt")
    expected = np.array([[sum(int((rle.decode(a) & rle.decode(b)).sum()) for a, b in zip(d, g)
                              if a is not None and b is not None) for g in gts] for d in dts])
    assert len(same_size_shapes(h, w)) == 8 and all(a * b == h * w for a, b in same_size_shapes(h, w))
    assert np.array_equal(intersections(dt, gt), expected)
    assert np.array_equal(intersections(dt, gt, max_pairs=1), expected)     # one frame per call


# ------------------------------------------------------------------ size ranges


@pytest.mark.parametrize("areas, expected", [
    ([16384, None, 0, 16384], {"APs": ONE, "APm": ONE, "APl": -1.0}),   # mean skips null and 0: on 128^2
    ([16000.0, 16768.0], {"APs": ONE, "APm": ONE, "APl": -1.0}),
    ([65536], {"APs": -1.0, "APm": ONE, "APl": ONE}),                  # on 256^2
    ([70000], {"APs": -1.0, "APm": -1.0, "APl": ONE}),
])
def test_ground_truth_size_comes_from_areas_field_with_inclusive_bounds(areas, expected):
    a = mask(4, 4, (0, 2, 0, 2))                                          # the mask itself is 4 px
    ds = dataset(4, 4, len(areas), [(1, 1, 1, [a] * len(areas), 0, areas)])
    stats = evaluate(ds, [ResultTrack(1, 1, 0.9, [a] * len(areas))]).stats
    assert {k: stats[k] for k in expected} == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("cut_pixel, expected_apm", [(False, 1 / (2 + EPS)), (True, ONE)])
def test_prediction_area_on_the_bound_counts_in_the_range(cut_pixel, expected_apm):
    small = mask(128, 128, (0, 2, 0, 2))
    ds = dataset(128, 128, 1, [(1, 1, 1, [small], 0, [20000.0])])         # medium only
    full = np.ones((128, 128), dtype=bool)
    full[127, 127] = not cut_pixel                                        # 16384 px (on 128^2) or 16383
    big = ResultTrack(1, 1, 0.95, [rle.encode(full)])                     # IoU 4/16384: unmatched
    stats = evaluate(ds, [big, ResultTrack(1, 1, 0.9, [small])]).stats
    assert stats["APm"] == pytest.approx(expected_apm, abs=1e-12)        # in medium -> false positive first
    assert stats["APs"] == -1.0


# ------------------------------------------------------------------ crowd


def test_crowd_absorbs_several_predictions_which_are_ignored():
    g, c = mask(2, 4, (0, 2, 0, 1)), mask(2, 4, (0, 2, 2, 4))
    preds = [ResultTrack(1, 1, 0.95, [c]), ResultTrack(1, 1, 0.9, [c]), ResultTrack(1, 1, 0.8, [g])]
    crowd = dataset(2, 4, 1, [(1, 1, 1, [g]), (2, 1, 1, [c], 1)])
    assert evaluate(crowd, preds).stats["AP50"] == pytest.approx(ONE, abs=1e-12)
    # the same region without iscrowd: TP, FP, TP over 2 GTs -> 51 points at 1, 50 at 2/3
    plain = dataset(2, 4, 1, [(1, 1, 1, [g]), (2, 1, 1, [c], 0)])
    expected = (51 * ONE + 50 * 2 / (3 + EPS)) / 101
    assert evaluate(plain, preds).stats["AP50"] == pytest.approx(expected, abs=1e-12)


def test_crowd_iou_is_the_plain_video_iou():
    g, c = mask(2, 4, (0, 2, 0, 1)), mask(2, 4, (0, 2, 2, 4))
    inside = mask(2, 4, (0, 1, 2, 3))            # 1 of the crowd's 4 px: IoU 1/4 (COCO crowd IoU would be 1)
    ds = dataset(2, 4, 1, [(1, 1, 1, [g]), (2, 1, 1, [c], 1)])
    stats = evaluate(ds, [ResultTrack(1, 1, 0.95, [inside]), ResultTrack(1, 1, 0.9, [g])]).stats
    assert stats["AP50"] == pytest.approx(1 / (2 + EPS), abs=1e-12)     # a false positive, not absorbed


# ------------------------------------------------------------------ ordering and cuts


def test_score_ties_keep_file_order_within_a_video():
    g, other = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g])])
    tp, fp = ResultTrack(1, 1, 0.5, [g]), ResultTrack(1, 1, 0.5, [other])
    assert evaluate(ds, [tp, fp]).stats["AP50"] == pytest.approx(ONE, abs=1e-12)
    assert evaluate(ds, [fp, tp]).stats["AP50"] == pytest.approx(1 / (2 + EPS), abs=1e-12)


def test_score_ties_across_videos_follow_video_id_order():
    g, other = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 2, 1, [g])], videos=(1, 2))
    # the TP (video 2) comes first in the file, but video 1's FP is ranked first
    results = [ResultTrack(2, 1, 0.5, [g]), ResultTrack(1, 1, 0.5, [other])]
    assert evaluate(ds, results).stats["AP50"] == pytest.approx(1 / (2 + EPS), abs=1e-12)


@pytest.mark.parametrize("false_positives, recall", [(100, 0.0), (99, 1.0)])
def test_predictions_are_cut_to_100_per_video_and_category(false_positives, recall):
    g, other = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g])])
    results = [ResultTrack(1, 1, 0.9, [other]) for _ in range(false_positives)]
    results.append(ResultTrack(1, 1, 0.5, [g]))                      # ranked 101st or 100th
    results += [ResultTrack(1, 2, 0.99, [other]) for _ in range(100)]  # another category does not count
    assert evaluate(ds, results).stats["AR100"] == recall


def test_cut_to_100_keeps_file_order_on_equal_scores():
    g, other = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g])])
    fps = [ResultTrack(1, 1, 0.5, [other]) for _ in range(100)]
    assert evaluate(ds, fps + [ResultTrack(1, 1, 0.5, [g])]).stats["AR100"] == 0.0
    assert evaluate(ds, [ResultTrack(1, 1, 0.5, [g])] + fps).stats["AR1"] == 1.0


def test_max_dets_apply_per_video_and_per_category():
    a, b = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [a]), (2, 1, 2, [b]), (3, 2, 1, [a]), (4, 2, 2, [b])], videos=(1, 2))
    tps = [ResultTrack(1, 1, 0.9, [a]), ResultTrack(1, 2, 0.8, [b]), ResultTrack(2, 1, 0.7, [a]),
           ResultTrack(2, 2, 0.6, [b])]
    stats = evaluate(ds, tps).stats
    assert stats["AR1"] == 1.0      # top-1 per video per category: every GT is found
    stats = evaluate(ds, tps + [ResultTrack(1, 1, 0.95, [b])]).stats   # an FP above video 1's category-1 TP
    assert stats["AR1"] == 0.75 and stats["AR10"] == 1.0


# ------------------------------------------------------------------ matching


@pytest.mark.parametrize("gt_px, dt_px, ap, ap50, ap75", [
    (2, 4, 0.1, 1.0, 0.0),          # IoU 0.5 exactly: matches at .50 only
    (3, 4, 0.6, 1.0, 1.0),          # IoU 0.75 exactly: .50 ... .75
    (9, 10, 0.9, 1.0, 1.0),         # IoU 0.9 >= 0.8999999999999999 (the 9th threshold), < .95
    (19, 20, 1.0, 1.0, 1.0),        # IoU 0.95 exactly: every threshold
])
def test_iou_exactly_at_a_threshold_matches(gt_px, dt_px, ap, ap50, ap75):
    ds = dataset(1, 20, 1, [(1, 1, 1, [mask(1, 20, (0, 1, 0, gt_px))])])
    stats = evaluate(ds, [ResultTrack(1, 1, 0.9, [mask(1, 20, (0, 1, 0, dt_px))])]).stats
    assert stats["AP"] == pytest.approx(ap * ONE, abs=1e-12)
    assert (stats["AP50"], stats["AP75"]) == pytest.approx((ap50 * ONE, ap75 * ONE), abs=1e-12)


@pytest.mark.parametrize("gt_order, expected", [("g1 g2", ONE), ("g2 g1", 51 / 101 * ONE)])
def test_exact_iou_tie_goes_to_the_later_ground_truth(gt_order, expected):
    g1, g2 = mask(2, 4, (0, 2, 0, 1)), mask(2, 4, (0, 2, 1, 2))
    both = mask(2, 4, (0, 2, 0, 2))                  # IoU 0.5 with g1 and with g2
    segs = {"g1": [g1], "g2": [g2]}
    ds = dataset(2, 4, 1, [(k + 1, 1, 1, segs[name]) for k, name in enumerate(gt_order.split())])
    preds = [ResultTrack(1, 1, 0.9, [both]), ResultTrack(1, 1, 0.8, [g1])]
    # later GT wins: 'both' takes the later one; g1's copy then finds g1 free only if g1 came first
    assert evaluate(ds, preds).stats["AP50"] == pytest.approx(expected, abs=1e-12)


def test_match_to_an_annotation_with_id_0_counts_as_a_miss_as_in_the_official_code():
    g = mask(2, 4, (0, 2, 0, 2))
    pred = [ResultTrack(1, 1, 0.9, [g])]
    assert evaluate(dataset(2, 4, 1, [(1, 1, 1, [g])]), pred).stats["AP"] == pytest.approx(ONE, abs=1e-12)
    stats = evaluate(dataset(2, 4, 1, [(0, 1, 1, [g])]), pred).stats
    assert stats["AP"] == 0.0 and stats["AR100"] == 0.0


# ------------------------------------------------------------------ precision and averages


def test_precision_uses_the_spacing_of_one_and_no_nan_before_the_first_positive():
    g, c = mask(2, 4, (0, 2, 0, 1)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g]), (2, 1, 1, [c], 1)])
    result = evaluate(ds, [ResultTrack(1, 1, 0.9, [g])])
    # precision (T, R, K, A, O, M) of category 1, all sizes, maxDets 100: tp / (tp + fp + eps) everywhere
    assert set(result.precision[:, :, 0, 0, 0, 2].ravel().tolist()) == {1 / (1 + np.spacing(1))}
    assert result.stats["AP"] < 1.0
    # an ignored (crowd-absorbed) prediction first: tp = fp = 0 there, precision 0 / eps = 0, not NaN
    result = evaluate(ds, [ResultTrack(1, 1, 0.95, [c]), ResultTrack(1, 1, 0.9, [g])])
    assert set(result.precision[:, :, 0, 0, 0, 2].ravel().tolist()) == {ONE}


def test_category_without_ground_truth_is_minus_one_and_left_out_of_averages():
    g, other = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g])], cats=(1, 2, 3))
    result = evaluate(ds, [ResultTrack(1, 1, 0.9, [g]), ResultTrack(1, 2, 0.99, [other])])
    per_cat = {c.category_id: c.stats for c in result.per_category}
    assert per_cat[2]["AP"] == -1.0 and per_cat[3]["AR100"] == -1.0
    assert result.stats["AP"] == per_cat[1]["AP"] == pytest.approx(ONE, abs=1e-12)
    assert set(evaluate(dataset(2, 4, 1, []), []).stats.values()) == {-1.0}


def test_empty_results_give_zero_where_there_is_ground_truth():
    ds = dataset(2, 4, 1, [(1, 1, 1, [mask(2, 4, (0, 2, 0, 2))])])
    stats = evaluate(ds, []).stats
    assert stats["AP"] == 0.0 and stats["AR100"] == 0.0 and stats["APm"] == -1.0


def test_results_with_an_unknown_category_are_dropped(caplog):
    g = mask(2, 4, (0, 2, 0, 2))
    ds = dataset(2, 4, 1, [(1, 1, 1, [g])])
    base = evaluate(ds, [ResultTrack(1, 1, 0.5, [g])]).stats
    with caplog.at_level(logging.WARNING):
        stats = evaluate(ds, [ResultTrack(1, 7, 0.9, [mask(2, 4, (0, 2, 2, 4))]), ResultTrack(1, 1, 0.5, [g])]).stats
    assert stats == base
    assert "dropped 1 result track" in caplog.text


def test_unknown_video_id_is_an_error():
    g = mask(2, 4, (0, 2, 0, 2))
    with pytest.raises(InputError, match="results do not correspond to the ground truth: video_id 5"):
        evaluate(dataset(2, 4, 1, [(1, 1, 1, [g])]), [ResultTrack(5, 1, 0.5, [g])])


def test_mask_of_the_wrong_size_is_an_error():
    g = mask(2, 4, (0, 2, 0, 2))
    with pytest.raises(InputError, match=r"RLE size \[3, 4\] does not match the video size \[2, 4\]"):
        evaluate(dataset(2, 4, 1, [(1, 1, 1, [g])]), [ResultTrack(1, 1, 0.5, [mask(3, 4)])])


# ------------------------------------------------------------------ OVIS


@pytest.mark.parametrize("labels, score", [
    (["no_occlusion", "slight_occlusion", "severe_occlusion", None], 0.5),     # top 2 of 3: .25, .75
    (["no_occlusion", "no_occlusion"], 0.0),
    (["slight_occlusion", "no_occlusion", "no_occlusion", "no_occlusion"], 0.125),   # top 2 of 4
    (["severe_occlusion"], 0.75),
])
def test_occlusion_score_is_the_mean_of_the_top_half(labels, score):
    assert occlusion_score(labels) == score


def test_ovis_occlusion_ranges_are_inclusive():
    a, b = mask(2, 4, (0, 2, 0, 2)), mask(2, 4, (0, 2, 2, 4))
    ds = dataset(2, 4, 3, [
        (1, 1, 1, [a, a, a], 0, None, ["slight_occlusion", "severe_occlusion", "no_occlusion"]),  # 0.5
        (2, 1, 2, [b, b, b], 0, None, ["slight_occlusion", None, None]),                          # 0.25
    ])
    result = evaluate(ds, [ResultTrack(1, 1, 0.9, [a, a, a])])                  # only the first is found
    stats = result.stats
    assert list(stats)[12:] == ["AP_light", "AP_medium", "AP_heavy", "AR_light", "AR_medium", "AR_heavy"]
    assert stats["AR_light"] == 0.0            # category 2 only
    assert stats["AR_medium"] == 0.5           # category 1 found, category 2 not
    assert stats["AR_heavy"] == 1.0            # category 1 only
    assert stats["AP_heavy"] == pytest.approx(ONE, abs=1e-12) and stats["AP_light"] == 0.0
    assert stats["AP"] == pytest.approx(ONE / 2, abs=1e-12)
    assert "AP_light" not in evaluate(dataset(2, 4, 2, [(1, 1, 1, [a, a])]), []).stats
