"""`--method` names that cannot run: one line, exit code 2, what to use instead; nothing is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistool.methods import METHODS, NOT_IN_THIS_VERSION

VIDEO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "valid" / "videos" / "demo_0.mp4"


@pytest.mark.parametrize("command", ["track", "train"])
def test_unknown_method_is_one_line_listing_the_available_methods(command, run_cli, tmp_path):
    args = (["track", VIDEO, "-o", tmp_path / "out.json"] if command == "track"
            else ["train", "--data", "synth:standard", "--out", tmp_path / "run"])
    run = run_cli(*args, "-m", "foo")
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown method 'foo'" in lines[0], run.stderr
    assert all(name in lines[0] for name in METHODS) and "bundled weights" not in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("method", sorted(NOT_IN_THIS_VERSION))
@pytest.mark.parametrize("command", ["track", "train"])
def test_method_not_in_this_version_says_so_and_what_to_use(command, method, run_cli, tmp_path):
    args = (["track", VIDEO, "-o", tmp_path / "out.json"] if command == "track"
            else ["train", "--data", "synth:standard", "--out", tmp_path / "run"])
    run = run_cli(*args, "--method", method)
    assert run.code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"method '{method}' is not available in this version" in lines[0] and "rgnnvis" in lines[0]


def test_planned_methods_are_not_runnable_choices():
    assert not set(NOT_IN_THIS_VERSION) & set(METHODS)
