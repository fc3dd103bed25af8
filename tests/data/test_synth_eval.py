"""A generated split's ground truth, turned into results, scores AP 1.0 against itself on every preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vistool.data.synth import PRESETS


def _self_results(gt_path: Path) -> list[dict]:
    data = json.loads(gt_path.read_text())
    return [{"video_id": a["video_id"], "category_id": a["category_id"], "score": 1.0,
             "segmentations": a["segmentations"]} for a in data["annotations"]]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_ground_truth_as_results_scores_ap_one(preset: str, tmp_path: Path, run_cli) -> None:
    videos = "1" if preset == "long" else "3"
    made = run_cli("synth", tmp_path, "--split", "valid", "--videos", videos, "--seed", "21", "--preset", preset,
                   "--size", "64x36")
    assert made.code == 0, made.stderr
    gt = tmp_path / "valid" / "instances.json"
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_self_results(gt)))
    stats_path = tmp_path / "stats.json"
    scored = run_cli("evaluate", gt, results, "--json", stats_path)
    assert scored.code == 0, scored.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["AP"] == pytest.approx(1.0, abs=1e-12)
    assert stats["AP50"] == pytest.approx(1.0, abs=1e-12) and stats["AR100"] == pytest.approx(1.0, abs=1e-12)
    # OVIS occlusion axis: every occlusion range with ground truth is perfect too.
    occ = [stats[k] for k in ("AP_light", "AP_medium", "AP_heavy")]
    assert any(v != -1 for v in occ) and all(v == -1 or v == pytest.approx(1.0, abs=1e-12) for v in occ)
    # A wrong class on every track must not score: the test can fail.
    wrong = [dict(r, category_id=r["category_id"] % len(json.loads(gt.read_text())["categories"]) + 1)
             for r in _self_results(gt)]
    results.write_text(json.dumps(wrong))
    assert run_cli("evaluate", gt, results, "--json", stats_path).code == 0
    assert json.loads(stats_path.read_text())["AP"] < 1.0
