"""``vistool render`` end to end on a tiny generated video and hand-made results."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vistool.io import rle, video_result
from vistool.io.video import open_video, probe, write_video
from vistool.structures import TrackResult, VideoInfo, VideoResult
from vistool.viz import color_for_id

W, H, N = 64, 48, 6
GREY = 90


def square(t: int, y: int) -> np.ndarray:
    """(H, W) mask of a 14x14 square moving right by 2 px per frame."""
    mask = np.zeros((H, W), dtype=bool)
    mask[y:y + 14, 4 + 2 * t:18 + 2 * t] = True
    return mask


def tracks_json(video_id: int, y: int, category_id: int, score: float, present: range = range(N)) -> dict:
    segs = [rle.encode(square(t, y)) if t in present else None for t in range(N)]
    return {"video_id": video_id, "category_id": category_id, "score": score, "segmentations": segs}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    write_video(path, [np.full((H, W, 3), GREY, np.uint8) for _ in range(N)], fps=8.0)
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "results.json"
    entries = [tracks_json(1, 4, 2, 0.9), tracks_json(1, 28, 1, 0.3, present=range(2, N)),
               tracks_json(2, 10, 1, 0.8)]
    path.write_text(json.dumps(entries))
    return path


def mean_in(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # away from outlines
    return frame[inner].mean(axis=0)


def drawn_id(colour: np.ndarray) -> int:
    """Which track colour (ids 1..20, blended over GREY) a decoded mean colour is nearest to; 0 for GREY.

    H.264 yuv420p at 64x48 shifts saturated colours by up to ~25 levels, so the
    test asks which colour it is nearest to rather than for exact values.
    """
    weight = round(0.45 * 256)
    candidates = {0: np.full(3, GREY, float)}
    for key in range(1, 21):
        candidates[key] = (GREY * (256 - weight) + np.asarray(color_for_id(key), float) * weight) / 256
    return min(candidates, key=lambda k: float(np.linalg.norm(candidates[k] - colour)))


def test_render_draws_the_chosen_video(run_cli, clip: Path, results: Path, tmp_path: Path) -> None:
    out = tmp_path / "overlay.mp4"
    res = run_cli("render", results, "--video", clip, "--video-id", 1, "-o", out)
    assert res.code == 0, res.stderr
    assert "wrote" in res.stdout and "2 tracks" in res.stdout
    info = probe(str(out))
    assert (info.width, info.height, info.num_frames) == (W, H, N) and info.fps == pytest.approx(8.0)
    frames = [f for _, f in open_video(str(out))]
    for t, frame in enumerate(frames):
        assert drawn_id(mean_in(frame, square(t, 4))) == 1
        lower = mean_in(frame, square(t, 28))
        if t < 2:  # second track absent in the first two frames
            np.testing.assert_allclose(lower, GREY, atol=4)
        else:
            assert drawn_id(lower) == 2
        assert abs(float(frame[H - 3:, W - 6:].mean()) - GREY) < 4  # corner untouched


def test_render_needs_video_id_when_results_cover_several(run_cli, clip: Path, results: Path,
                                                          tmp_path: Path) -> None:
    res = run_cli("render", results, "--video", clip, "-o", tmp_path / "o.mp4")
    assert res.code == 2
    assert "results cover 2 videos" in res.stderr and "available ids: 1, 2" in res.stderr
    res = run_cli("render", results, "--video", clip, "--video-id", 5, "-o", tmp_path / "o.mp4")
    assert res.code == 2 and "no results for --video-id 5" in res.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_score_threshold_and_category_names(run_cli, clip: Path, results: Path, tmp_path: Path) -> None:
    from vistool.viz.render import load_job

    gt = tmp_path / "instances.json"
    gt.write_text(json.dumps({"videos": [{"id": 1, "width": W, "height": H, "length": N,
                                          "file_names": [f"v1/{t:05d}.jpg" for t in range(N)]}],
                              "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "zebra"}],
                              "annotations": []}))
    job = load_job(str(results), 1, str(gt), threshold=0.5)
    assert [t.text for t in job.tracks] == ["#1 zebra 0.90"]
    job = load_job(str(results), 1, None, threshold=0.0)
    assert [t.text for t in job.tracks] == ["#1 cat2 0.90", "#2 cat1 0.30"]
    # the dataset's frames under JPEGImages/ beside the JSON stand in for --video
    (tmp_path / "JPEGImages" / "v1").mkdir(parents=True)
    for t in range(N):
        cv2.imwrite(str(tmp_path / "JPEGImages" / "v1" / f"{t:05d}.jpg"), np.full((H, W, 3), GREY, np.uint8))
    out = tmp_path / "v1.mp4"
    res = run_cli("render", results, "--video-id", 1, "--categories", gt, "-o", out, "--score-threshold", 0.5)
    assert res.code == 0, res.stderr
    info = probe(str(out))
    assert (info.num_frames, info.fps) == (N, 30.0)  # frame folders carry no fps: 30
    frame = next(iter(open_video(str(out))))[1]
    np.testing.assert_allclose(mean_in(frame, square(0, 28)), GREY, atol=4)  # below threshold: not drawn


def test_render_vistool_result_file_uses_recorded_source(run_cli, clip: Path, tmp_path: Path) -> None:
    segs = [rle.encode(square(t, 10)) for t in range(0, N, 2)]
    result = VideoResult(info=VideoInfo("clip", str(clip), W, H, 8.0, N), num_frames=3,
                         tracks=[TrackResult(track_id=4, label=0, score=0.7, segmentations=segs)],
                         categories=["ball"], meta={"options": {"stride": 2, "start": 0}})
    video_result.write(tmp_path / "clip.json", result)
    out = tmp_path / "clip_overlay.mp4"
    res = run_cli("render", tmp_path / "clip.json", "-o", out)
    assert res.code == 0, res.stderr
    info = probe(str(out))
    assert info.num_frames == 3 and info.fps == pytest.approx(4.0)
    frames = [f for _, f in open_video(str(out))]
    assert [drawn_id(mean_in(frame, square(2 * k, 10))) for k, frame in enumerate(frames)] == [4, 4, 4]


def test_render_rejects_masks_of_another_size(run_cli, tmp_path: Path, results: Path) -> None:
    small = tmp_path / "small.mp4"
    write_video(small, [np.zeros((24, 32, 3), np.uint8)] * 3, fps=5.0)
    res = run_cli("render", results, "--video", small, "--video-id", 2, "-o", tmp_path / "x.mp4")
    assert res.code == 2 and "masks are 64x48 but the video" in res.stderr
    assert not (tmp_path / "x.mp4").exists()
