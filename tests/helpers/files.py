"""Helpers of the path-safety tests: what a run left on disk and its one-line error."""

from __future__ import annotations

import os
from pathlib import Path


def snapshot(root: Path) -> set[str]:
    """Every file, folder and link under ``root`` (links not followed), relative to it."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


def one_line_error(run) -> str:
    """The single ``error: ...`` line of a failed run."""
    assert run.code != 0, run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]
