"""Video files through imageio-ffmpeg's bundled ffmpeg binary.

Frames are streamed from an ``ffmpeg ... -f rawvideo -pix_fmt rgb24 -`` pipe, so
memory does not grow with the video's length. ffmpeg applies rotation metadata
(autorotate), converts grayscale/alpha/high-bit-depth formats to RGB, keeps
every decoded frame (``-fps_mode passthrough``: no duplicated or dropped frames,
so frame indices are the source's), and stops at the first decoding error
(``-xerror``), which becomes a :class:`~vistool.errors.VideoReadError` naming the
last good frame. The header (size after rotation, fps, frame count) is read with
OpenCV, which links the same libav libraries.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import threading
from collections import deque
from functools import lru_cache
from typing import IO, Iterator

import numpy as np

from vistool.errors import VideoReadError
from vistool.structures import VideoInfo

log = logging.getLogger(__name__)

_BRACKETS = re.compile(r"^(\s*\[[^\]]*\])+\s*")
_GENERIC = ("error opening input file", "task finished with error", "terminating thread",
            "error opening output file", "conversion failed", "nothing was written", "error while filtering")
_NO_STREAM = ("matches no streams", "does not contain any stream", "output file is empty")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary bundled with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_reason(lines: list[str]) -> str:
    """The most telling ffmpeg error line, without its ``[component @ 0x..]`` prefixes."""
    cleaned = [_BRACKETS.sub("", line).strip().rstrip(".") for line in lines]
    cleaned = [line for line in cleaned if line]
    if any(marker in line.lower() for line in cleaned for marker in _NO_STREAM):
        return "has no video stream"
    specific = [line for line in cleaned if not any(g in line.lower() for g in _GENERIC)]
    chosen = (specific or cleaned or ["unknown ffmpeg error"])[0]
    if chosen.lower().startswith("error opening input: "):
        chosen = chosen[len("error opening input: "):]
    return f"ffmpeg: {chosen}"


def _drain(stream: IO[bytes], sink: deque) -> None:
    """Keep the last lines of ffmpeg's stderr (it must be read or ffmpeg may block)."""
    with contextlib.suppress(ValueError, OSError):
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode("utf-8", "replace").rstrip())


@lru_cache(maxsize=1)
def _passthrough() -> list[str]:
    """Keep every decoded frame: ``-fps_mode passthrough`` (ffmpeg >= 5.1), else ``-vsync passthrough``."""
    import imageio_ffmpeg

    match = re.match(r"n?(\d+)\.(\d+)", imageio_ffmpeg.get_ffmpeg_version())
    if match and (int(match.group(1)), int(match.group(2))) < (5, 1):
        return ["-vsync", "passthrough"]
    return ["-fps_mode", "passthrough"]  # also for git builds ("N-...")


def _base_cmd(path: str, strict: bool) -> list[str]:
    """ffmpeg arguments up to the output options; ``strict`` stops at the first error."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+error",
            *(["-xerror"] if strict else []),
            "-i", path, "-map", "0:v:0", "-an", "-sn", "-dn", *_passthrough()]


def check_decodable(path: str) -> None:
    """Decode the first frame of ``path`` (to a 2x2 gray image) or raise a one-line error.

    Not strict: ffmpeg reads ahead, so an error far into a truncated file must
    not fail this check (the reader reports it at the frame where it happens).

    Raises:
        VideoReadError: not a video, no video stream, corrupt header, or no frame at all.
    """
    cmd = _base_cmd(path, strict=False) + ["-frames:v", "1", "-vf", "scale=2:2", "-f", "rawvideo",
                                           "-pix_fmt", "gray", "pipe:1"]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if result.stdout:
        return  # one frame decoded (ffmpeg may still exit non-zero for errors it read ahead)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").splitlines()
        reason = ffmpeg_reason(lines)
        if reason.startswith("ffmpeg:"):
            reason = f"cannot be decoded as a video ({reason[8:]}); check that the file plays, or re-encode it"
        raise VideoReadError(path, reason)
    raise VideoReadError(path, "contains no video frames")


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    import cv2

    logging_api = cv2.utils.logging
    old = logging_api.getLogLevel()
    logging_api.setLogLevel(logging_api.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        logging_api.setLogLevel(old)


def _header_cv2(path: str) -> tuple[int, int, float | None, int | None] | None:
    """(width, height, fps, frame count) as OpenCV reads them (after rotation), or None."""
    import cv2

    with _quiet_opencv():
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened():
                return None
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps, count = float(cap.get(cv2.CAP_PROP_FPS)), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
    if width <= 0 or height <= 0:
        return None
    return width, height, (fps if 0 < fps < 10_000 else None), (count if count > 0 else None)


def _header_ffmpeg(path: str) -> tuple[int, int, float | None, int | None]:
    """(width, height, fps, None) from the header ffmpeg prints (imageio-ffmpeg's parser)."""
    import imageio_ffmpeg

    frames = imageio_ffmpeg.read_frames(path)
    try:
        meta = next(frames)
    except (OSError, RuntimeError, StopIteration) as exc:
        raise VideoReadError(path, f"cannot read the video header ({' '.join(str(exc).split())[:200]})") from None
    finally:
        frames.close()
    width, height = meta["size"]
    fps = float(meta.get("fps") or 0.0)
    return int(width), int(height), (fps if fps > 0 else None), None


def probe_file(path: str, name: str) -> VideoInfo:
    """VideoInfo of a video file (size after rotation metadata).

    ``num_frames`` is the container's count: exact where the container indexes
    its frames (mp4, mov, avi), an estimate from duration x fps for others (mkv,
    webm); the reader always yields what actually decodes.

    Raises:
        VideoReadError: missing, empty, not a video, or no frames.
    """
    if not os.path.exists(path):
        raise VideoReadError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise VideoReadError(path, "file is empty (0 bytes)")
    check_decodable(path)
    header = _header_cv2(path) or _header_ffmpeg(path)
    width, height, fps, count = header
    return VideoInfo(name=name, source=path, width=width, height=height, fps=fps, num_frames=count)


def _select_filter(start: int, stride: int) -> list[str]:
    if start == 0 and stride == 1:
        return []
    expr = f"gte(n,{start})*not(mod(n-{start},{stride}))" if stride > 1 else f"gte(n,{start})"
    return ["-vf", f"select='{expr}'"]


def _read_frame(stream: IO[bytes], frame: np.ndarray) -> int:
    """Fill ``frame`` from the pipe; return the number of bytes read (short at end of stream)."""
    view = memoryview(frame).cast("B")
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def ffmpeg_frames(path: str, width: int, height: int, start: int = 0, stride: int = 1,
                  max_frames: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, (H, W, 3) uint8 RGB)`` for frames ``start, start + stride, ...``.

    A frame is yielded once the next one has decoded (or the stream ended
    cleanly): when decoding fails, the frame ffmpeg was working on (often
    half-decoded) is dropped and the error names the last frame yielded.

    Raises:
        VideoReadError: ffmpeg failed (corrupt or truncated file), or no frame decoded.
    """
    cmd = _base_cmd(path, strict=True) + _select_filter(start, stride)
    if max_frames is not None:
        cmd += ["-frames:v", str(max_frames)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    log.debug("running %s", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors: deque = deque(maxlen=40)
    drain = threading.Thread(target=_drain, args=(proc.stderr, errors), daemon=True)
    drain.start()
    frame_bytes = width * height * 3
    held: tuple[int, np.ndarray] | None = None
    last_yielded: int | None = None
    index, partial = start, False
    try:
        while True:
            frame = np.empty((height, width, 3), dtype=np.uint8)
            got = _read_frame(proc.stdout, frame)
            if got < frame_bytes:
                partial = got > 0
                break
            if held is not None:
                yield held
                last_yielded = held[0]
            held, index = (index, frame), index + stride
        returncode = proc.wait(timeout=60)
        drain.join(timeout=5)
        if returncode != 0 or partial:
            reason = ffmpeg_reason(list(errors)) if errors else f"ffmpeg exited with code {returncode}"
            raise VideoReadError(path, f"corrupt or truncated video, decoding stopped ({reason})", last_yielded)
        if held is None:
            where = "" if start == 0 else f" at or after frame {start}"
            raise VideoReadError(path, f"contains no video frames{where}")
        yield held
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
