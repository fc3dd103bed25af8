"""`vistool evaluate` end to end: tables, --json, --per-category, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from vistool.io import rle
from vistool.io.ytvis import (ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo,
                              dataset_to_json, write_dataset, write_results)

KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
OVIS_KEYS = ["AP_light", "AP_medium", "AP_heavy", "AR_light", "AR_medium", "AR_heavy"]


def seg(y0, y1, x0, x1, h=6, w=8) -> dict:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return rle.encode(m)


def make_gt(occlusion: bool = False) -> YtvisDataset:
    occ = ["no_occlusion", "severe_occlusion"] if occlusion else None
    return YtvisDataset(
        videos=[YtvisVideo(1, 8, 6, 2), YtvisVideo(2, 8, 6, 2)],
        categories=[YtvisCategory(1, "person"), YtvisCategory(2, "dog")],
        annotations=[YtvisAnnotation.from_segmentations(1, 1, 1, [seg(0, 2, 0, 2), seg(0, 2, 1, 3)], occlusion=occ),
                     YtvisAnnotation.from_segmentations(2, 2, 2, [seg(2, 5, 2, 6), None], occlusion=occ)])


RESULTS = [ResultTrack(1, 1, 0.9, [seg(0, 2, 0, 2), seg(0, 2, 1, 3)]),
           ResultTrack(2, 2, 0.6, [seg(2, 4, 2, 6), None]),
           ResultTrack(2, 1, 0.4, [seg(0, 1, 0, 1), seg(0, 1, 0, 1)])]


@pytest.fixture
def files(tmp_path):
    write_dataset(tmp_path / "gt.json", make_gt())
    write_results(tmp_path / "res.json", RESULTS)
    return tmp_path


def test_evaluate_prints_the_12_stats_and_writes_flat_json(files, run_cli):
    run = run_cli("evaluate", files / "gt.json", files / "res.json", "--json", files / "out" / "m.json")
    assert run.code == 0, run.stderr
    for key in KEYS:
        assert f" {key} " in run.stdout
    stats = json.loads((files / "out" / "m.json").read_text())
    assert list(stats) == KEYS
    assert stats["AP50"] == pytest.approx(1.0, abs=1e-9) and 0 < stats["AP"] < 1 and stats["APl"] == -1
    assert "person" not in run.stdout                                     # no per-category table by default


def test_eval_alias_and_per_category_table(files, run_cli):
    run = run_cli("eval", files / "gt.json", files / "res.json", "--per-category")
    assert run.code == 0, run.stderr
    assert "Per category" in run.stdout and "person" in run.stdout and "dog" in run.stdout


def test_ovis_ground_truth_adds_occlusion_rows_and_keys(tmp_path, run_cli):
    write_dataset(tmp_path / "gt.json", make_gt(occlusion=True))
    write_results(tmp_path / "res.json", RESULTS)
    run = run_cli("evaluate", tmp_path / "gt.json", tmp_path / "res.json", "--json", tmp_path / "m.json")
    assert run.code == 0, run.stderr
    assert "AP_heavy" in run.stdout
    assert list(json.loads((tmp_path / "m.json").read_text())) == KEYS + OVIS_KEYS


def test_empty_results_list_gives_zeros_and_minus_ones(files, run_cli):
    (files / "empty.json").write_text("[]")
    run = run_cli("evaluate", files / "gt.json", files / "empty.json", "--json", files / "m.json")
    assert run.code == 0, run.stderr
    stats = json.loads((files / "m.json").read_text())
    assert stats["AP"] == 0 and stats["AR100"] == 0 and stats["APl"] == -1


def test_unwritable_json_output_is_one_line(files, run_cli):
    (files / "taken").mkdir()
    run = run_cli("evaluate", files / "gt.json", files / "res.json", "--json", files / "taken")
    assert run.code == 2 and run.stderr.startswith("error: ") and "cannot write the --json file" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def _bad_gt_unknown_category(path):
    data = dataset_to_json(make_gt())
    data["annotations"][1]["category_id"] = 9
    path.write_text(json.dumps(data))


def _bad_results(path, entries):
    path.write_text(json.dumps(entries))


BAD_INPUTS = {
    "wrong schema (results given as GT)": ("res.json", "res.json", "expected a dataset object"),
    "wrong schema (GT given as results)": ("gt.json", "gt.json", "expected a list of result tracks"),
    "truncated JSON": ("gt.json", "truncated.json", "looks truncated"),
    "empty file": ("gt.json", "empty.json", "file is empty"),
    "missing file": ("gt.json", "missing.json", "no such file"),
    "results of another dataset": ("gt.json", "other.json", "results do not correspond to the ground truth"),
    "RLE size mismatch": ("gt.json", "size.json", "does not match the video size [6, 8]"),
    "unknown video id": ("gt.json", "video.json", "video_id 3"),
    "unknown category id in GT": ("badcat.json", "res.json", "unknown category_id 9"),
}


@pytest.fixture
def bad_files(files):
    text = (files / "res.json").read_text()
    (files / "truncated.json").write_text(text[: len(text) // 2])
    (files / "empty.json").write_text("")
    other = [{"video_id": v, "category_id": 1, "score": 0.5, "segmentations": [None, None]} for v in (101, 102)]
    _bad_results(files / "other.json", other)
    _bad_results(files / "size.json", [{"video_id": 1, "category_id": 1, "score": 0.5,
                                        "segmentations": [seg(0, 1, 0, 1, h=8, w=6), None]}])
    _bad_results(files / "video.json", [{"video_id": 1, "category_id": 1, "score": 0.5, "segmentations": [None, None]},
                                        {"video_id": 3, "category_id": 1, "score": 0.5, "segmentations": [None, None]}])
    _bad_gt_unknown_category(files / "badcat.json")
    return files


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_on_stderr_and_a_nonzero_exit(bad_files, run_cli, case):
    gt, results, message = BAD_INPUTS[case]
    run = run_cli("evaluate", bad_files / gt, bad_files / results)
    assert run.code != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_bad_input_through_the_real_console_entry_point(bad_files):
    """A subprocess shows what a user sees: one line on stderr, exit code 2, nothing else."""
    for gt, results in [("gt.json", "truncated.json"), ("gt.json", "video.json")]:
        proc = subprocess.run([sys.executable, "-m", "vistool", "evaluate", str(bad_files / gt),
                               str(bad_files / results)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad_files / results) in lines[0]
        assert proc.stdout == ""
