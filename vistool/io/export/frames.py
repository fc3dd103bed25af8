"""Frames of an export: decoding a result's video, JPEG encoding, writing frame files (see :mod:`vistool.io.export`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from vistool.errors import VideoReadError
from vistool.io.safe_path import safe_join

if TYPE_CHECKING:
    from vistool.io.export.types import ExportPlan, ExportVideo
    from vistool.structures import VideoResult

log = logging.getLogger("vistool.io.export")


def _reader_options(result: VideoResult) -> dict:
    """start/stride the results were computed with (from their meta), and the frame count."""
    meta = result.meta if isinstance(result.meta, dict) else {}
    options = meta.get("options") if isinstance(meta.get("options"), dict) else meta
    start = options.get("start") or 0
    return {"start": start if isinstance(start, str) else int(start), "stride": int(options.get("stride") or 1),
            "max_frames": result.num_frames}


def iter_frames(video: ExportVideo) -> Iterator[np.ndarray]:
    """Decode the video's frames again: (H, W, 3) uint8 RGB, one per result frame.

    Raises:
        VideoReadError: the source cannot be decoded, yields another size, or has fewer frames.
    """
    from vistool.io.video import open_video

    info, expected = video.result.info, video.result.num_frames
    count = 0
    with open_video(info.source, **_reader_options(video.result)) as reader:
        for _, frame in reader:
            if count == expected:
                break
            if frame.shape[:2] != (info.height, info.width):
                raise VideoReadError(info.source, f"frame {count} is {frame.shape[1]}x{frame.shape[0]}, "
                                     f"the results are {info.width}x{info.height}", count - 1 if count else None)
            yield frame
            count += 1
    if count < expected:
        raise VideoReadError(info.source, f"decoded {count} frames, the results have {expected}; "
                             "--with-images needs the video the results came from", count - 1 if count else None)


def encode_jpeg(frame: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes of one (H, W, 3) uint8 RGB frame."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def frame_targets(plan: ExportPlan, root: Path) -> list[list[Path]]:
    """Per video, the files its frames go to: ``root/<file name>``, each checked by
    :func:`vistool.io.safe_path.safe_join`.

    Raises:
        UnsafePathError: a name is not a safe relative name or resolves outside ``root``.
    """
    return [[safe_join(root, name) for name in video.file_names] for video in plan.videos]


def write_frames(plan: ExportPlan, root: Path) -> int:
    """Write every video's frames as ``root/<file name>`` JPEGs (each atomically); return the count.

    Every target is checked before the first file is written: a refused name leaves nothing behind.

    Raises:
        UnsafePathError: see :func:`frame_targets`.
    """
    from vistool.io.atomic import atomic_open

    targets = frame_targets(plan, root)
    written = 0
    for video, files in zip(plan.videos, targets):
        for target, frame in zip(files, iter_frames(video)):
            with atomic_open(target, "wb") as handle:
                handle.write(encode_jpeg(frame))
            written += 1
    log.info("wrote %d frames under %s", written, root)
    return written
