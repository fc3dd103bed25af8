"""Streaming inference plumbing with the stub model (no video files)."""

import numpy as np
import pytest

from tests.helpers.video import array_source, moving_squares
from tests.helpers.stub_model import StubModel
from vistool.engine.infer import InferOptions, iter_clips, run_video
from vistool.io import rle


def test_iter_clips_groups_frames_and_marks_last():
    frames = [(i, np.zeros((4, 5, 3), np.uint8)) for i in range(7)]
    clips = list(iter_clips(frames, 3))
    assert [c.frame_indices for c in clips] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [c.is_last for c in clips] == [False, False, True]
    assert tuple(clips[0].images.shape) == (3, 4, 5, 3)


def test_iter_clips_exact_multiple_marks_last_full_clip():
    frames = [(i, np.zeros((2, 2, 3), np.uint8)) for i in range(4)]
    clips = list(iter_clips(frames, 2))
    assert [c.is_last for c in clips] == [False, True]


@pytest.mark.parametrize("clip_len", [1, 4])
def test_run_video_tracks_squares_with_stable_ids(clip_len):
    frames = moving_squares(10)
    result, _ = run_video(StubModel(clip_len=clip_len), array_source(frames))
    assert result.num_frames == 10
    assert [t.track_id for t in result.tracks] == [1, 2]
    for track, row in zip(result.tracks, (6, 26)):
        assert len(track.segmentations) == 10
        for t, seg in enumerate(track.segmentations):
            mask = rle.decode(seg)
            expected = np.zeros((48, 64), bool)
            expected[row:row + 8, 4 + t:12 + t] = True
            assert np.array_equal(mask, expected)


def test_run_video_absent_frames_are_none():
    frames = moving_squares(6, squares=1)
    frames[2][:] = 0  # the square disappears in frame 2 and comes back
    result, _ = run_video(StubModel(), array_source(frames))
    (track,) = result.tracks
    assert track.segmentations[2] is None
    assert all(s is not None for i, s in enumerate(track.segmentations) if i != 2)


def test_run_video_stride_and_max_frames_select_frames():
    frames = moving_squares(20, squares=1)
    seen = []
    result, _ = run_video(StubModel(), array_source(frames), InferOptions(stride=3, start=2, max_frames=4),
                          on_frames=seen.append)
    assert result.num_frames == 4 and sum(seen) == 4
    first = rle.decode(result.tracks[0].segmentations[0])
    assert first[6, 4 + 2] and not first[6, 4 + 1]  # frame 2 is the first processed


def test_score_threshold_drops_low_tracks():
    frames = moving_squares(3)
    result, _ = run_video(StubModel(), array_source(frames), InferOptions(score_threshold=0.95))
    assert result.tracks == []


def test_segment_mode_collects_per_frame_records():
    frames = moving_squares(3)
    result, per_frame = run_video(StubModel(), array_source(frames), InferOptions(track=False))
    assert result.tracks == [] and result.num_frames == 3
    assert len(per_frame.records) == 6
    rec = per_frame.records[0]
    assert rec["bbox"] == [4.0, 6.0, 8.0, 8.0] and rle.area(rec["segmentation"]) == 64
