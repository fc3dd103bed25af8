"""`vistool evaluate --metrics ap,hota,identity`: tables, --json, errors, and no torch import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers.eval_cases import crafted
from vistool.eval.hota import hota
from vistool.eval.ytvis import evaluate
from vistool.io.ytvis import write_dataset, write_results


@pytest.fixture
def files(tmp_path):
    gt, results = crafted()
    write_dataset(tmp_path / "gt.json", gt)
    write_results(tmp_path / "res.json", results)
    return tmp_path


def test_all_metrics_print_tables_and_write_json(files, run_cli):
    run = run_cli("evaluate", files / "gt.json", files / "res.json", "--metrics", "ap,hota,identity",
                  "--json", files / "m.json")
    assert run.code == 0, run.stderr
    for text in ("AP75", "HOTA", "class-agnostic", "IDsw", "total, class-aware", "5 worst videos", "1 clip1"):
        assert text in run.stdout
    assert "3 clip3" not in run.stdout                                 # no identity error there
    out = json.loads((files / "m.json").read_text())
    gt, results = crafted()
    assert out["AP"] == evaluate(gt, results).stats["AP"]               # AP unchanged, still flat
    assert out["hota"]["class_agnostic"]["HOTA"] == pytest.approx(hota(gt, results).class_agnostic.HOTA, abs=1e-12)
    assert set(out["hota"]["per_video"]) == {"1", "2", "3"}
    ident = out["identity"]
    assert ident["class_agnostic"]["switches"] == 4 and ident["class_aware"]["switches"] == 3
    assert ident["class_agnostic"]["fragmentations"] == 2 and ident["worst_videos"] == [1, 2]
    assert ident["per_video"]["1"]["class_aware"]["split_tracks"] == 2


def test_identity_alone_skips_ap_and_per_video_lists_every_video(files, run_cli):
    run = run_cli("evaluate", files / "gt.json", files / "res.json", "--metrics", "identity", "--per-video",
                  "--json", files / "m.json")
    assert run.code == 0, run.stderr
    assert "AP75" not in run.stdout and "3 clip3" in run.stdout
    assert list(json.loads((files / "m.json").read_text())) == ["identity"]


def test_unknown_metric_is_a_one_line_error(files, run_cli):
    run = run_cli("evaluate", files / "gt.json", files / "res.json", "--metrics", "ap,mota")
    assert run.code == 2
    assert run.stderr.strip().count("\n") == 0 and "'mota'" in run.stderr and "ap, hota, identity" in run.stderr


def test_evaluate_with_all_metrics_imports_no_torch(files):
    code = ("import sys; from vistool.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch imported'")
    run = subprocess.run([sys.executable, "-c", code, "evaluate", str(files / "gt.json"), str(files / "res.json"),
                          "--metrics", "ap,hota,identity"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
