"""Benchmark helpers that compute figures for the docs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers.scripts import load_script
from tests.eval.test_eval_ytvis import dataset, mask

from vistool.io.ytvis import ResultTrack

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


_script = load_script


def test_error_analysis_separates_classification_from_segmentation():
    analysis = _script("error_analysis")
    left, right = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (4, 8, 4, 8))
    gt = dataset(8, 8, 2, [(1, 1, 1, [left, left]), (2, 1, 2, [right, right])])
    swapped = [ResultTrack(1, 2, 0.9, [left, left]),          # perfect mask, wrong class
               ResultTrack(1, 1, 0.8, [right, None]),         # wrong class, half the frames (video IoU 0.5)
               ResultTrack(1, 1, 0.1, [mask(8, 8, (0, 1, 7, 8))] * 2)]  # touches nothing
    a = analysis.analyse(gt, swapped)
    assert a.stats["AP"] == 0.0
    assert a.oracle_stats["AP50"] == pytest.approx(1.0, abs=1e-6)
    assert (a.predicted, a.ground_truth, a.covered, a.covering, a.covering_correct) == (3, 2, 2, 2, 0)
    assert (a.frame_masks, a.frame_masks_covered) == (4, 3)  # the right object is missed in frame 1


def test_frame_ap_scores_per_frame_instances_with_and_without_categories(tmp_path):
    import json

    frame_ap = _script("frame_ap")
    left, right = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (4, 8, 4, 8))
    gt = dataset(8, 8, 2, [(1, 1, 1, [left, left]), (2, 1, 2, [right, None])])
    gt.videos[0].file_names = ["v/0.jpg", "v/1.jpg"]
    coco_gt, image_of = frame_ap.ground_truth(gt)
    assert len(coco_gt["images"]) == 2 and len(coco_gt["annotations"]) == 3

    def instance(frame, category, m, score):
        return {"image_id": frame + 1, "category_id": category, "score": score, "segmentation": m,
                "bbox": frame_ap.rle.to_bbox(m)}
    segment = {"images": [{"id": 1, "file_name": "v/0.jpg"}, {"id": 2, "file_name": "v/1.jpg"}],
               "annotations": [instance(0, 1, left, 0.9), instance(0, 1, right, 0.8),  # right: wrong category
                               instance(1, 1, left, 0.9)]}
    (tmp_path / "v.json").write_text(json.dumps(segment))
    dts = frame_ap.detections(tmp_path, image_of)
    assert [d["image_id"] for d in dts] == [image_of["v/0.jpg"], image_of["v/0.jpg"], image_of["v/1.jpg"]]
    for iou_type in ("segm", "bbox"):
        assert frame_ap.coco_stats(coco_gt, dts, iou_type, agnostic=True)["AP"] == pytest.approx(1.0)
        per_category = frame_ap.coco_stats(coco_gt, dts, iou_type, agnostic=False)
        assert per_category["AP"] == pytest.approx(0.5)  # category 1 perfect, category 2 missed


def test_speed_benchmark_profile_reports_wall_time_and_top_operators(capsys):
    bench = _script("bench_infer_speed")
    from vistool.methods.build import load_checkpoint_model

    model, _ = load_checkpoint_model(str(BENCHMARKS.parent / "weights" / "rgnnvis_mnv3s_synth.pt"), None, "cpu")
    fps = bench.measure(model, bench.video_frames((96, 64), 3), "cpu", profile=True)
    out = capsys.readouterr().out
    assert fps > 0
    assert "ms per frame wall" in out and "GPU kernels" not in out  # no kernel line without CUDA
    assert "Self CPU" in out  # the operator table


def test_oracle_tracking_links_instances_by_ground_truth_identity(tmp_path):
    import json

    oracle = _script("oracle_tracking")
    left, right = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (4, 8, 4, 8))
    gt = dataset(8, 8, 2, [(1, 1, 1, [left, left]), (2, 1, 2, [right, right])])
    gt.videos[0].file_names = ["v/0.jpg", "v/1.jpg"]

    def instance(image, category, m, score):
        return {"image_id": image, "category_id": category, "score": score, "segmentation": m}
    segment = {"images": [{"id": 7, "frame_index": 0}, {"id": 9, "frame_index": 1}],
               "annotations": [instance(7, 1, left, 0.9), instance(7, 1, right, 0.8),  # right: wrong category
                               instance(9, 1, left, 0.7), instance(9, 2, left, 0.6),  # a duplicate claims nothing
                               instance(9, 1, mask(8, 8, (0, 1, 7, 8)), 0.5)]}  # overlaps nothing
    (tmp_path / "v.json").write_text(json.dumps(segment))
    detected, true, coverage = oracle.oracle_tracks(gt, oracle.read_segments(gt, tmp_path), 0.5)
    assert coverage == pytest.approx(3 / 4)  # the right object is missed in frame 1
    assert [(t.category_id, t.score) for t in detected] == [(1, pytest.approx(0.8)), (1, pytest.approx(0.8))]
    assert detected[0].segmentations == [left, left] and detected[1].segmentations == [right, None]
    assert [t.category_id for t in true] == [1, 2]
    assert oracle.evaluate(gt, true).stats["AP50"] == pytest.approx(1.0)
    assert oracle.evaluate(gt, detected).stats["AP50"] == pytest.approx(0.5)  # category 2 has no track


def _one_object_two_frames(folder, gt_mask, instances):
    """A 2-frame 8x8 video "v" with one object (category 1), and its ``vistool segment`` file in ``folder``
    with one instance per frame: ``instances`` = [(score, mask)] x 2."""
    import json

    gt = dataset(8, 8, 2, [(1, 1, 1, [gt_mask, gt_mask])])
    gt.videos[0].file_names = ["v/0.jpg", "v/1.jpg"]
    segment = {"images": [{"id": 1, "frame_index": 0}, {"id": 2, "frame_index": 1}],
               "annotations": [{"image_id": f + 1, "category_id": 1, "score": score, "segmentation": m}
                               for f, (score, m) in enumerate(instances)]}
    (folder / "v.json").write_text(json.dumps(segment))
    return gt


def test_oracle_tracking_breaks_ground_truth_masks_down_by_outcome(tmp_path):
    oracle = _script("oracle_tracking")
    outcomes = oracle._object_outcomes([-1, 0, 0, -1, 1, -1, 0], [True, True, True, True, True, False, True])
    assert outcomes == {"not covered, claimed, before any track": 1, "its main track": 3, "another track": 1,
                        "not covered, claimed, after its first covered frame": 1, "no instance claimed it": 1}
    left = mask(8, 8, (0, 4, 0, 4))
    gt = _one_object_two_frames(tmp_path, left, [(0.9, left), (0.2, left)])
    tracks = [ResultTrack(1, 1, 0.9, [None, left])]
    breakdown = oracle.failure_breakdown(gt, oracle.read_segments(gt, tmp_path), tracks, min_score=0.31)
    assert breakdown == {"not covered, claimed, before any track": 1, "its main track": 1}


def test_oracle_tracking_compares_the_mask_fit_of_tracks_and_instances(tmp_path):
    oracle = _script("oracle_tracking")
    full, left = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (0, 4, 0, 2))  # left: half of the object, IoU 0.5
    gt = _one_object_two_frames(tmp_path, full, [(0.9, full), (0.9, full)])
    track = ResultTrack(1, 1, 0.9, [full, left])
    quality = oracle.mask_quality(gt, oracle.read_segments(gt, tmp_path), [track], min_score=0.31)
    assert quality["mean IoU where both >= 0.5"] == (pytest.approx(0.75), pytest.approx(1.0))
    assert quality["share of masks covered at IoU >= 0.5"] == (pytest.approx(1.0), pytest.approx(1.0))
    assert quality["share of masks covered at IoU >= 0.9"] == (pytest.approx(0.5), pytest.approx(1.0))


def test_oracle_tracking_replaces_masks_by_the_ground_truth_they_overlap():
    oracle = _script("oracle_tracking")
    obj, rough = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (0, 4, 0, 3))  # IoU 0.75
    gt = dataset(8, 8, 2, [(1, 1, 1, [obj, obj])])
    far = mask(8, 8, (6, 8, 6, 8))
    tracks = [ResultTrack(1, 1, 0.9, [rough, rough]), ResultTrack(1, 1, 0.5, [far, None])]
    assert oracle.evaluate(gt, tracks).stats["AP"] == pytest.approx(0.6)  # video IoU 0.75: 6 of 10 thresholds
    assert oracle.with_truer_masks(gt, tracks, 0.75) == tracks  # 0.75 is not below 0.75
    truer = oracle.with_truer_masks(gt, tracks, 0.8)
    assert truer[0].segmentations == [obj, obj] and truer[0].score == 0.9
    assert truer[1] == tracks[1]  # covers nothing: kept
    assert oracle.evaluate(gt, truer).stats["AP"] == pytest.approx(1.0)


def test_oracle_tracking_scores_tracks_by_their_video_iou():
    oracle = _script("oracle_tracking")
    obj, rough = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (0, 4, 0, 3))  # IoU 0.75
    gt = dataset(8, 8, 2, [(1, 1, 1, [obj, obj])])
    tracks = [ResultTrack(1, 1, 0.2, [obj, obj]), ResultTrack(1, 1, 0.9, [rough, None]),  # video IoU 1, 0.375
              ResultTrack(1, 2, 0.8, [obj, obj])]  # no object of category 2
    rescored = oracle.with_truer_scores(gt, tracks)
    assert [t.score for t in rescored] == pytest.approx([1.0, 0.375, 0.0])
    assert rescored[0].segmentations == tracks[0].segmentations
    assert oracle.evaluate(gt, tracks).stats["AP"] < oracle.evaluate(gt, rescored).stats["AP"] == pytest.approx(1.0)


def test_oracle_tracking_merges_the_fragments_of_one_object():
    oracle = _script("oracle_tracking")
    obj, other = mask(8, 8, (0, 4, 0, 4)), mask(8, 8, (4, 8, 4, 8))
    gt = dataset(8, 8, 3, [(1, 1, 1, [obj, obj, obj]), (2, 1, 1, [other, other, other])])
    tracks = [ResultTrack(1, 1, 0.6, [obj, None, None]), ResultTrack(1, 1, 0.9, [None, obj, obj]),
              ResultTrack(1, 2, 0.5, [obj, None, None]),  # another category: not merged
              ResultTrack(1, 1, 0.4, [other, other, None])]  # another object: not merged
    merged = oracle.with_fragments_merged(gt, tracks)
    assert len(merged) == 3
    whole = next(t for t in merged if t.score == 0.9)
    assert whole.segmentations == [obj, obj, obj] and whole.category_id == 1
    assert oracle.evaluate(gt, merged).stats["AP"] > oracle.evaluate(gt, tracks).stats["AP"]


def test_oracle_tracking_fills_short_gaps_from_the_nearer_end():
    oracle = _script("oracle_tracking")
    a, b = mask(8, 8, (0, 2, 0, 2)), mask(8, 8, (6, 8, 6, 8))
    track = ResultTrack(1, 1, 0.9, [None, a, None, None, None, b, None, None, None, None, a])
    filled = oracle.with_gaps_filled([track], 3)[0]
    assert filled.segmentations == [None, a, a, a, b, b, None, None, None, None, a]  # a tie takes the earlier end; the 4-frame gap stays
    assert filled.score == 0.9 and track.segmentations[2] is None  # the input is not changed


def test_track_probe_prints_every_tracks_edges_to_every_detection(monkeypatch, capsys):
    probe = _script("track_probe")
    demo = Path(__file__).resolve().parents[1] / "examples/demo/valid/videos/demo_0.mp4"
    monkeypatch.setattr(sys, "argv", ["track_probe", str(demo), "--frames", "0", "1"])
    probe.main()
    frames = capsys.readouterr().out.split("frame ")[1:]
    assert [f.split(":")[0] for f in frames] == ["0", "1"]
    first, second = (f.splitlines() for f in frames)
    assert not any("slot" in line for line in first)  # no track before the first frame
    detections = int(second[0].split(": ")[1].split()[0])
    slots = [i for i, line in enumerate(second) if line.strip().startswith("slot")]
    assert detections > 0 and slots
    for i in slots:
        for row, name in zip(second[i + 1:i + 4], ("match", "iou", "loglik")):
            assert row.split()[0] == name and row.count(",") == detections - 1
