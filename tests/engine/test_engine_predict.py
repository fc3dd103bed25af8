"""The whole chain on a YouTube-VIS split folder: sources -> stub -> results -> evaluator."""

import json

from tests.helpers.video import write_squares_split
from tests.helpers.stub_model import StubModel
from vistool.engine.predict import predict_split
from vistool.eval.ytvis import evaluate_files
from vistool.io import video_result


def test_predict_split_keeps_dataset_ids_and_scores_perfectly(tmp_path):
    gt = write_squares_split(tmp_path / "valid")
    records = predict_split(StubModel(), tmp_path / "valid")
    assert sorted({r["video_id"] for r in records}) == [10, 11]
    assert len(records) == 3
    (tmp_path / "res.json").write_text(json.dumps(records))
    stats = evaluate_files(gt, tmp_path / "res.json").stats
    assert stats["AP"] == 1.0 and stats["AR10"] == 1.0


def test_track_split_folder_then_export_and_evaluate(tmp_path, run_cli, stub_model):
    gt = write_squares_split(tmp_path / "valid", num_videos=3)
    out = tmp_path / "out"
    assert run_cli("track", tmp_path / "valid", "-o", out).code == 0
    assert video_result.read(out / "vid1.json").dataset_id == 11
    export = run_cli("export-json", out, "-o", tmp_path / "results.json")
    assert export.code == 0, export.stderr
    run = run_cli("evaluate", gt, tmp_path / "results.json", "--json", tmp_path / "m.json")
    assert run.code == 0, run.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["AP"] == 1.0 and metrics["AR10"] == 1.0


def test_evaluate_detects_a_swapped_identity(tmp_path):
    """A tracker that swaps ids mid-video must lose AP: the metric is video-level."""
    gt = write_squares_split(tmp_path / "valid", num_videos=2)
    records = predict_split(StubModel(), tmp_path / "valid")
    two = [r for r in records if r["video_id"] == 11]
    half = len(two[0]["segmentations"]) // 2
    two[0]["segmentations"][half:], two[1]["segmentations"][half:] = (
        two[1]["segmentations"][half:], two[0]["segmentations"][half:])
    (tmp_path / "res.json").write_text(json.dumps(records))
    assert evaluate_files(gt, tmp_path / "res.json").stats["AP"] < 1.0
