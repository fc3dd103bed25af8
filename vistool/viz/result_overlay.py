"""Overlays drawn from a finished video result: what the results file holds, frame by frame.

``vistool track --overlay`` on a file draws each track with its final
video-level class and score (the ones written to the results), from the stored
per-frame masks, after ``session.finish``; ``vistool render`` of the saved
results draws the same texts the same way. Live cameras and streams cannot be
read twice, so their overlays show per-frame labels instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from vistool.structures import VideoResult
from vistool.viz.overlay import OverlayStyle, draw_rles, instance_text

DEFAULT_FOLDER_FPS = 30.0  # frame folders carry no frame rate
# libx264 settings of ``--overlay`` videos: ultrafast with one thread costs about a third of veryfast's
# CPU (files about 2.5x larger at the same crf), so the encoder does not compete with the model for the cores
OVERLAY_ENCODER = {"preset": "ultrafast", "threads": 1}


def overlay_fps(fps: float | None, stride: int = 1) -> float:
    """Frame rate of an overlay: the source's over the stride, or ``DEFAULT_FOLDER_FPS`` when unknown."""
    return fps / stride if fps else DEFAULT_FOLDER_FPS


def track_texts(result: VideoResult, score_threshold: float = 0.0) -> dict[int, str]:
    """``track_id -> "#id class score"`` with each track's video-level class and score."""
    return {t.track_id: instance_text(t.label, t.score, result.categories, t.track_id)
            for t in result.tracks if t.score >= score_threshold}


def draw_result_frame(frame: np.ndarray, result: VideoResult, position: int, texts: dict[int, str],
                      style: OverlayStyle = OverlayStyle()) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3) uint8 RGB with the tracks present at processed frame ``position``."""
    present = [t for t in result.tracks if t.track_id in texts and position < len(t.segmentations)
               and t.segmentations[position] is not None]
    return draw_rles(frame, [t.segmentations[position] for t in present], [t.track_id for t in present],
                     [texts[t.track_id] for t in present], style)


def write_result_overlay(result: VideoResult, frames: Iterable[tuple[int, np.ndarray]], path: str | Path,
                         fps: float, style: OverlayStyle = OverlayStyle()) -> int:
    """Draw ``result`` onto its processed frames and write an H.264 MP4; return the frames written.

    Args:
        result: the finished video result (tracks with their final labels and scores).
        frames: ``(index, (H, W, 3) uint8 RGB)`` of the processed frames, in order.
        path: output .mp4 (written atomically).
        fps: output frame rate (see :func:`overlay_fps`).
        style: drawing options.
    """
    from vistool.io.video_writer import ThreadedVideoWriter

    texts = track_texts(result)
    written = 0
    # decode + draw here while a writer thread feeds ffmpeg; a fast preset with one encoder thread keeps
    # the overlay within ~10 % of the run's time (OVERLAY_ENCODER)
    with ThreadedVideoWriter(str(path), fps=fps, size=(result.info.width, result.info.height),
                             **OVERLAY_ENCODER) as writer:
        for position, (_, frame) in enumerate(frames):
            if position >= result.num_frames:
                break
            writer.write(draw_result_frame(frame, result, position, texts, style))
            written += 1
    return written
