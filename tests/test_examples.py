"""The Python-API examples in examples/ run and print what they promise."""

import json
import runpy
import sys
from pathlib import Path

from tests.helpers.video import write_squares_split, write_squares_video
from tests.helpers.stub_model import StubModel
from vistool.engine.predict import predict_split

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_track_video_example(tmp_path, monkeypatch, capsys, stub_model):
    write_squares_video(tmp_path / "v.mp4", num_frames=5)
    monkeypatch.setattr(sys, "argv", ["track_video.py", str(tmp_path / "v.mp4")])
    runpy.run_path(str(EXAMPLES / "track_video.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "v: 5 frames, 2 tracks" in out and "blob" in out


def test_evaluate_results_example(tmp_path, monkeypatch, capsys):
    gt = write_squares_split(tmp_path / "valid")
    (tmp_path / "r.json").write_text(json.dumps(predict_split(StubModel(), tmp_path / "valid")))
    monkeypatch.setattr(sys, "argv", ["evaluate_results.py", str(gt), str(tmp_path / "r.json")])
    runpy.run_path(str(EXAMPLES / "evaluate_results.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.startswith("AP 1.000 AP50 1.000") and "blob" in out
