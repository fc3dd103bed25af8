"""An unknown `--method` name: one line, exit code 2, the available methods; nothing is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from vistool.methods import METHODS

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
