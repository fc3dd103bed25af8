"""Synthetic frames for engine tests: white squares moving on black."""

from __future__ import annotations

import numpy as np

from vistool.engine.infer import FrameSource, InferOptions
from vistool.structures import VideoInfo


def moving_squares(num_frames: int, size: tuple[int, int] = (64, 48), squares: int = 2) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames with ``squares`` 8x8 white squares moving right by 1 px per frame."""
    w, h = size
    frames = []
    for t in range(num_frames):
        frame = np.zeros((h, w, 3), dtype=np.uint8)
        for k in range(squares):
            x, y = 4 + t % (w - 16), 6 + 20 * k
            frame[y:y + 8, x:x + 8] = 255
        frames.append(frame)
    return frames


def array_source(frames: list[np.ndarray], name: str = "clip", fps: float = 10.0) -> FrameSource:
    """A FrameSource over in-memory frames honouring start/stride/max_frames."""
    h, w = frames[0].shape[:2]
    info = VideoInfo(name=name, source=name, width=w, height=h, fps=fps, num_frames=len(frames))

    def open_frames(options: InferOptions):
        indices = range(options.start, len(frames), options.stride)
        if options.max_frames is not None:
            indices = indices[: options.max_frames]
        return ((i, frames[i]) for i in indices)

    return FrameSource(info=info, open=open_frames)
