"""One truth for labels (issue 20, item 6): the overlay of a file shows what its results file holds.

The stub session below labels every frame "blob 0.90" but gives each track the
final class "disc" with score 0.50, as a method whose video-level decision
differs from its per-frame one. ``--overlay`` must draw the final labels, the
same texts as ``vistool render`` of the saved results; a live source keeps
per-frame labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.video import array_source, moving_squares, write_squares_video
from tests.helpers.stub_model import StubSession
from vistool.structures import TrackSummary


class FinalLabelSession(StubSession):
    def finish(self):
        return {t: TrackSummary(label=1, score=0.5) for t in range(1, self.next_id)}


@pytest.fixture
def final_label_model(stub_model, monkeypatch):
    stub_model.categories = ["blob", "disc"]
    monkeypatch.setattr(stub_model, "new_session", lambda info: FinalLabelSession(1, 40.0))
    return stub_model


@pytest.fixture
def drawn(monkeypatch):
    """Every frame drawn by the overlay code: the list of label texts on it."""
    import vistool.viz.overlay as overlay

    frames: list[list[str]] = []
    real = overlay.draw_items

    def record(frame, items, style=overlay.OverlayStyle()):
        frames.append([item.text for item in items])
        return real(frame, items, style)

    monkeypatch.setattr(overlay, "draw_items", record)
    return frames


def _decoded(path) -> list[np.ndarray]:
    from vistool.io.video import open_video

    with open_video(str(path)) as reader:
        return [frame for _, frame in reader]


def test_track_overlay_and_render_draw_the_final_labels_of_the_results(tmp_path, run_cli, final_label_model,
                                                                       drawn):
    write_squares_video(tmp_path / "clip.mp4", num_frames=6)
    run = run_cli("track", tmp_path / "clip.mp4", "-o", tmp_path / "out", "--overlay", tmp_path / "ov")
    assert run.code == 0, run.stderr
    overlay_texts = list(drawn)
    drawn.clear()
    render = run_cli("render", tmp_path / "out" / "clip.json", "-o", tmp_path / "render.mp4")
    assert render.code == 0, render.stderr
    assert overlay_texts == drawn
    assert overlay_texts[0] == ["#1 disc 0.50", "#2 disc 0.50"]  # the results' class and score, not "blob 0.90"
    overlay_frames, render_frames = _decoded(tmp_path / "ov" / "clip.mp4"), _decoded(tmp_path / "render.mp4")
    assert len(overlay_frames) == 6 and all(np.array_equal(a, b) for a, b in zip(overlay_frames, render_frames))


def test_single_file_overlay_shows_the_class_and_score_of_the_results_list(tmp_path, run_cli, final_label_model,
                                                                           drawn):
    import json

    write_squares_video(tmp_path / "clip.mp4", num_frames=4)
    run = run_cli("track", tmp_path / "clip.mp4", "-o", tmp_path / "one.json", "--overlay", tmp_path / "ov.mp4")
    assert run.code == 0, run.stderr
    records = json.loads((tmp_path / "one.json").read_text())
    shown = {text.split(" ", 1)[1] for texts in drawn for text in texts}
    held = {f"{['blob', 'disc'][r['category_id'] - 1]} {r['score']:.2f}" for r in records}
    assert shown == held == {"disc 0.50"}


def test_live_overlay_draws_per_frame_labels(tmp_path, final_label_model, drawn):
    from vistool.engine.infer import run_video

    source = array_source(moving_squares(3))
    source.live = True
    result, _ = run_video(final_label_model, source, overlay=tmp_path / "live.mp4")
    assert drawn[0] == ["#1 blob 0.90", "#2 blob 0.90"]  # per-frame labels: the final ones are not known yet
    assert [t.label for t in result.tracks] == [1, 1]
