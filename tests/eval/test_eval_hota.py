"""HOTA: vistool's figures equal TrackEval's own run (its Evaluator on its YouTube-VIS dataset files)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import trackeval  # a test dependency: the [test] extra installs it

from tests.helpers.eval_cases import box_mask, random_case
from vistool.eval.hota import HotaScores, hota
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo, \
    dataset_to_json, results_to_json


FIELDS = list(HotaScores.__dataclass_fields__)


def uncompressed(segmentation: dict) -> dict:
    """The uncompressed RLE (list counts) that YouTube-VIS ground-truth files use and TrackEval reads."""
    flat = rle.decode(segmentation).flatten(order="F").astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], edges])).tolist()
    return {"size": segmentation["size"], "counts": counts}


def _write_trackeval_input(root: Path, gt: YtvisDataset, results: list[ResultTrack], agnostic: bool) -> None:
    """TrackEval's YouTube-VIS layout: gt/youtube_vis_valid/gt.json, trackers/youtube_vis_valid/T/data/r.json."""
    data = dataset_to_json(gt)
    for ann in data["annotations"]:                       # TrackEval reads the frame size from each annotation
        ann["height"], ann["width"] = gt.videos[0].height, gt.videos[0].width
        ann["segmentations"] = [s and uncompressed(s) for s in ann["segmentations"]]
    tracks = results_to_json(results)
    if agnostic:                                          # one category for everything
        data["categories"] = [{"id": 1, "name": "object", "supercategory": ""}]
        for record in data["annotations"] + tracks:
            record["category_id"] = 1
    (root / "gt" / "youtube_vis_valid").mkdir(parents=True)
    (root / "gt" / "youtube_vis_valid" / "gt.json").write_text(json.dumps(data))
    (root / "trackers" / "youtube_vis_valid" / "T" / "data").mkdir(parents=True)
    (root / "trackers" / "youtube_vis_valid" / "T" / "data" / "r.json").write_text(json.dumps(tracks))


def trackeval_run(root: Path, gt: YtvisDataset, results: list[ResultTrack], agnostic: bool = False) -> dict:
    """TrackEval's Evaluator on the files: {sequence or class key: HOTA result dict}."""
    _write_trackeval_input(root, gt, results, agnostic)
    eval_config = {"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
                   "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "LOG_ON_ERROR": None,
                   "BREAK_ON_ERROR": True}
    data_config = {"GT_FOLDER": f"{root}/gt/", "TRACKERS_FOLDER": f"{root}/trackers/", "SPLIT_TO_EVAL": "valid",
                   "OUTPUT_FOLDER": f"{root}/out", "PRINT_CONFIG": False}
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.YouTubeVIS(data_config)
        out, msg = evaluator.evaluate([dataset], [trackeval.metrics.HOTA()])
    assert msg["YouTubeVIS"]["T"] == "Success"
    return out["YouTubeVIS"]["T"]


def assert_equal(ours: HotaScores, theirs: dict) -> None:
    for name in FIELDS:
        assert getattr(ours, name) == pytest.approx(float(np.mean(theirs[name])), abs=1e-6), name


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_class_aware_hota_equals_trackevals_run(seed, tmp_path):
    gt, results = random_case(seed)
    ours = hota(gt, results)
    theirs = trackeval_run(tmp_path, gt, results)["COMBINED_SEQ"]
    for cat in gt.categories:
        assert_equal(ours.per_category[cat.id], theirs[cat.name]["HOTA"])
    assert_equal(ours.detection_averaged, theirs["cls_comb_det_av"]["HOTA"])
    if all(any(a.category_id == c.id for a in gt.annotations) for c in gt.categories):
        assert_equal(ours.class_averaged, theirs["cls_comb_cls_av"]["HOTA"])
    assert 0 < ours.class_averaged.HOTA < 1


@pytest.mark.parametrize("seed", [0, 4])
def test_class_agnostic_hota_equals_trackevals_run_with_one_class(seed, tmp_path):
    gt, results = random_case(seed)
    ours = hota(gt, results)
    theirs = trackeval_run(tmp_path, gt, results, agnostic=True)
    assert_equal(ours.class_agnostic, theirs["COMBINED_SEQ"]["object"]["HOTA"])
    for video in gt.videos:
        assert_equal(ours.per_video[video.id], theirs[f"video{video.id:02d}"]["object"]["HOTA"])


def test_perfect_tracks_score_one_and_a_swap_halves_association():
    video = YtvisVideo(1, 16, 12, 4, [f"v/{t}.jpg" for t in range(4)])
    a = [box_mask(0, 0, 4, 4)] * 4
    b = [box_mask(6, 8, 4, 4)] * 4
    gt = YtvisDataset(videos=[video], categories=[YtvisCategory(1, "c")],
                      annotations=[YtvisAnnotation.from_segmentations(1, 1, 1, a),
                                   YtvisAnnotation.from_segmentations(2, 1, 1, b)])
    perfect = hota(gt, [ResultTrack(1, 1, 0.9, a), ResultTrack(1, 1, 0.8, b)])
    assert perfect.class_averaged.HOTA == pytest.approx(1.0) and perfect.class_agnostic.LocA == pytest.approx(1.0)
    swapped = hota(gt, [ResultTrack(1, 1, 0.9, a[:2] + b[2:]), ResultTrack(1, 1, 0.8, b[:2] + a[2:])])
    assert swapped.class_agnostic.DetA == pytest.approx(1.0)
    # every match has a 2-frame pair in a 4 + 4 - 2 union: AssA = 2/6
    assert swapped.class_agnostic.AssA == pytest.approx(1 / 3)
    assert swapped.class_agnostic.HOTA == pytest.approx(np.sqrt(1 / 3))


def test_without_trackeval_hota_is_a_one_line_error_naming_the_install(monkeypatch):
    import sys

    from vistool.errors import InputError

    monkeypatch.setitem(sys.modules, "trackeval", None)
    monkeypatch.setitem(sys.modules, "trackeval.metrics", None)
    gt, results = random_case(0)
    with pytest.raises(InputError, match=r"vistool\[metrics\]"):
        hota(gt, results)
