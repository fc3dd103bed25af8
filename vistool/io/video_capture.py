"""Webcams and network streams (rtsp://, http://, ...) through ``cv2.VideoCapture``."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from vistool.errors import VideoReadError
from vistool.structures import VideoInfo


def _open(source: str):
    import cv2

    target: int | str = int(source) if source.strip().isdigit() else source
    cap = cv2.VideoCapture(target)
    if not cap.isOpened():
        cap.release()
        what = "camera" if isinstance(target, int) else "stream"
        raise VideoReadError(source, f"cannot open this {what} (check the index/URL and that it is reachable)")
    return cap


def probe_capture(source: str, name: str) -> VideoInfo:
    """VideoInfo of a webcam or stream; ``num_frames`` only when the stream reports one.

    Raises:
        VideoReadError: the camera or stream cannot be opened.
    """
    import cv2

    cap = _open(source)
    try:
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps, count = float(cap.get(cv2.CAP_PROP_FPS)), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if width <= 0 or height <= 0:
            ok, frame = cap.read()
            if not ok:
                raise VideoReadError(source, "opened, but no frame could be read")
            height, width = frame.shape[:2]
    finally:
        cap.release()
    return VideoInfo(name=name, source=source, width=width, height=height,
                     fps=fps if 0 < fps < 10_000 else None, num_frames=count if count > 0 else None)


def capture_frames(source: str, start: int = 0, stride: int = 1,
                   max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, (H, W, 3) uint8 RGB)`` until the stream ends or ``max_frames``.

    Skipped frames are grabbed without being decoded to images.

    Raises:
        VideoReadError: the source cannot be opened or yields no frame.
    """
    import cv2

    cap = _open(source)
    yielded, index = 0, 0
    try:
        while max_frames is None or yielded < max_frames:
            wanted = index >= start and (index - start) % stride == 0
            if not wanted:
                if not cap.grab():
                    break
                index += 1
                continue
            ok, frame = cap.read()
            if not ok:
                break
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
            elif frame.shape[2] == 4:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
            else:
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            yield index, frame
            yielded += 1
            index += 1
    finally:
        cap.release()
    if yielded == 0:
        where = "" if start == 0 else f" at or after frame {start}"
        raise VideoReadError(source, f"no frame could be read{where}")
