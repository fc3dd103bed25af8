"""Heap trimming during long videos."""

from __future__ import annotations

import sys

import pytest

from vistool.engine import heap


def test_trimmer_releases_once_per_block_of_frames(monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(True) or True)
    trimmer = heap.HeapTrimmer(every=4)
    for frames in (1, 1, 1):  # 3 frames: not yet
        trimmer.add(frames)
    assert calls == []
    trimmer.add(1)  # 4
    trimmer.add(6)  # 10: crosses 8 once
    trimmer.add(1)  # 11
    assert len(calls) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is a glibc function")
def test_release_free_memory_calls_the_c_library():
    assert heap.release_free_memory() is True
