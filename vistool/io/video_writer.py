"""H.264 MP4 writing through imageio-ffmpeg's ``write_frames`` (bundled ffmpeg, libx264).

Output plays in browsers: H.264, ``yuv420p``, ``+faststart``; odd frame sizes are
padded with one black row/column to even. The file is written atomically: to a
hidden temporary file beside the target, renamed on success, removed on failure.
"""

from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Generator, Iterable

import numpy as np

from vistool.errors import VideoWriteError

log = logging.getLogger(__name__)

_FASTSTART_SUFFIXES = {".mp4", ".m4v", ".mov"}


@lru_cache(maxsize=1)
def h264_encoder() -> str:
    """libx264 when the bundled ffmpeg has it, else another H.264 encoder it lists.

    Raises:
        VideoWriteError: the ffmpeg binary has no H.264 encoder.
    """
    import subprocess

    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60).stdout
    names = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 2}
    for preferred in ("libx264", "libopenh264"):
        if preferred in names:
            if preferred != "libx264":
                log.warning("libx264 is not available in %s; writing H.264 with %s", exe, preferred)
            return preferred
    raise VideoWriteError(exe, "this ffmpeg has neither libx264 nor libopenh264; reinstall imageio-ffmpeg "
                          "or set IMAGEIO_FFMPEG_EXE to an ffmpeg built with libx264")


class _ClosedOnExit:
    """Context manager of a writer: ``close()`` on success, ``abort()`` (no partial file) on an exception."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoWriter(_ClosedOnExit):
    """Write (H, W, 3) uint8 RGB frames to an H.264 MP4, atomically.

    Example::

        with VideoWriter("out.mp4", fps=30.0, size=(640, 360)) as writer:
            for frame in frames:
                writer.write(frame)

    Args:
        path: output file (``.mp4`` recommended; the suffix picks the container).
        fps: frames per second (> 0).
        size: (width, height) of the frames; taken from the first frame when None.
        crf: libx264 constant rate factor (lower = better quality, bigger file).
        preset: libx264 speed preset.
        threads: libx264 encoder threads (None: ffmpeg's default, one per core plus; an overlay written
            beside a model uses fewer so the encoder does not compete with it for the cores).
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int] | None = None,
                 crf: int = 20, preset: str = "veryfast", threads: int | None = None) -> None:
        if not fps or fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.path = Path(path)
        self.fps = float(fps)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.crf, self.preset, self.threads = crf, preset, threads
        self.frames_written = 0
        self._gen: Generator[None, Any, None] | None = None
        self._tmp: Path | None = None
        self._closed = False


    def _output_params(self, encoder: str) -> list[str]:
        width, height = self.size
        params: list[str] = []
        if encoder == "libx264":
            params += ["-crf", str(self.crf), "-preset", self.preset]
            if self.threads:
                params += ["-threads", str(self.threads)]
        if width % 2 or height % 2:
            params += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
        if self.path.suffix.lower() in _FASTSTART_SUFFIXES:
            params += ["-movflags", "+faststart"]
        return params

    def _start(self) -> None:
        import imageio_ffmpeg

        encoder = h264_encoder()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # ffmpeg creates the temporary file itself, so it gets the usual permissions (umask)
        token = secrets.token_hex(4)
        self._tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.{token}{self.path.suffix or '.mp4'}"
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), self.size, fps=self.fps, codec=encoder, pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            quality=None if encoder == "libx264" else 8, macro_block_size=1, ffmpeg_log_level="error",
            output_params=self._output_params(encoder))
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame.

        Raises:
            ValueError: wrong dtype or shape.
            VideoWriteError: ffmpeg stopped (the partial file is removed).
        """
        if self._closed:
            raise ValueError(f"{self.path}: the writer is closed")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        if self.size is None:
            self.size = (frame.shape[1], frame.shape[0])
        if frame.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the video is {self.size[0]}x{self.size[1]}")
        if self._gen is None:
            self._start()
        try:
            self._gen.send(np.ascontiguousarray(frame))
        except OSError as exc:
            self.abort()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VideoWriteError(str(self.path), f"ffmpeg stopped while writing ({first})") from None
        self.frames_written += 1

    def close(self) -> None:
        """Finish encoding and move the file into place.

        Raises:
            VideoWriteError: no frame was written, or ffmpeg produced no output.
        """
        if self._closed:
            return
        if self._gen is None:
            self._closed = True
            raise VideoWriteError(str(self.path), "no frames were written; nothing to save")
        try:
            self._gen.close()
            if not self._tmp.exists() or self._tmp.stat().st_size == 0:
                raise VideoWriteError(str(self.path), "ffmpeg produced an empty file (see its messages above)")
            os.replace(self._tmp, self.path)
        except BaseException:
            self._discard()
            raise
        finally:
            self._closed = True

    def abort(self) -> None:
        """Stop ffmpeg and remove the partial file; the target is left untouched."""
        if self._gen is not None:
            try:
                self._gen.close()
            except Exception:  # noqa: BLE001 - already failing; cleaning up
                log.debug("ffmpeg did not close cleanly while aborting %s", self.path)
        self._discard()
        self._closed = True

    def _discard(self) -> None:
        if self._tmp is not None and self._tmp.exists():
            self._tmp.unlink()
        self._tmp = None


class ThreadedVideoWriter(_ClosedOnExit):
    """A :class:`VideoWriter` fed from a background thread, so that the caller decodes and draws the next
    frames while the previous ones go down ffmpeg's pipe (a pipe write blocks while the encoder is busy).

    Same interface as :class:`VideoWriter` (``write``, ``close``, ``abort``, ``frames_written``); at most
    ``queue_size`` frames wait. An error of the writer is raised by the next ``write`` or by ``close``.
    """

    _STOP = object()

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int] | None = None,
                 queue_size: int = 8, **kwargs: Any) -> None:
        import queue
        import threading

        self._writer = VideoWriter(path, fps, size, **kwargs)
        self.path = self._writer.path
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="video-writer", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self._writer.frames_written

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is self._STOP:
                return
            if self._error is None:
                try:
                    self._writer.write(frame)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, frame: np.ndarray) -> None:
        """Queue one (H, W, 3) uint8 RGB frame (checked here, encoded in the writer thread)."""
        self._raise()
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {frame.dtype} {frame.shape}")
        self._queue.put(frame)

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._STOP)
            self._thread.join()

    def close(self) -> None:
        """Wait for the queued frames, finish encoding and move the file into place."""
        self._join()
        if self._error is not None:
            self._writer.abort()
            raise self._error
        self._writer.close()

    def abort(self) -> None:
        """Drop what is queued, stop ffmpeg and remove the partial file."""
        import queue

        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._join()
        self._writer.abort()



def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, **kwargs: Any) -> int:
    """Write (H, W, 3) uint8 RGB frames to an H.264 MP4; return the number written."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.frames_written
