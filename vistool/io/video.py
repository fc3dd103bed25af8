"""Streaming video input and H.264 output.

Sources: any file ffmpeg decodes (mp4, avi, mkv, mov, webm, gif, ...), a folder
of frames (YouTube-VIS ``JPEGImages/<video>/``, natural order), a glob of images,
a single image, a webcam index (``"0"``) or a stream URL. Frames are streamed:
memory does not grow with the video's length.

Example::

    info = probe("clip.mp4")
    with open_video("clip.mp4", stride=2) as reader:
        for index, frame in reader:      # frame: (H, W, 3) uint8 RGB
            ...
"""

from __future__ import annotations

import os
from collections import OrderedDict
from types import TracebackType
from typing import Iterator

import numpy as np

from vistool.errors import InputError
from vistool.io.video_capture import capture_frames, probe_capture
from vistool.io.video_ffmpeg import ffmpeg_frames, probe_file
from vistool.io.video_images import image_frames, probe_images
from vistool.io.video_sources import (
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    SourceKind,
    check_options,
    expand_inputs,
    glob_frame_files,
    is_image_file,
    is_video_file,
    list_frame_files,
    natural_key,
    parse_start,
    selected_indices,
    source_kind,
    source_name,
    strip_file_url,
)
from vistool.io.video_writer import VideoWriter, write_video
from vistool.structures import VideoInfo

__all__ = [
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "VideoReader", "VideoWriter", "expand_inputs", "is_image_file",
    "is_video_file", "list_frame_files", "natural_key", "open_video", "probe", "write_video",
]

def _frame_files(source: str, kind: SourceKind) -> list[str]:
    path = strip_file_url(source)
    if kind is SourceKind.FOLDER:
        return list_frame_files(path)
    if kind is SourceKind.GLOB:
        return glob_frame_files(path)
    return [path]


_PROBE_CACHE: OrderedDict[tuple, VideoInfo] = OrderedDict()
_PROBE_CACHE_SIZE = 64


def _probe_file_cached(path: str, name: str) -> VideoInfo:
    """probe_file, remembered per (path, size, mtime): probe() then open_video() probes once."""
    try:
        stat = os.stat(path)
        key = (os.path.abspath(path), name, stat.st_size, stat.st_mtime_ns)
    except OSError:
        return probe_file(path, name)  # raises the one-line error
    if key in _PROBE_CACHE:
        _PROBE_CACHE.move_to_end(key)
        return _PROBE_CACHE[key]
    info = probe_file(path, name)
    _PROBE_CACHE[key] = info
    if len(_PROBE_CACHE) > _PROBE_CACHE_SIZE:
        _PROBE_CACHE.popitem(last=False)
    return info


def _probe(source: str) -> tuple[VideoInfo, SourceKind, list[str] | None]:
    source = str(source)
    kind = source_kind(source)
    name = source_name(source)
    if kind is SourceKind.CAPTURE:
        return probe_capture(source, name), kind, None
    if kind is SourceKind.FILE:
        return _probe_file_cached(strip_file_url(source), name), kind, None
    files = _frame_files(source, kind)
    if kind is SourceKind.FOLDER and not files:
        videos = [f for f in os.listdir(strip_file_url(source)) if is_video_file(f)]
        hint = f"; it holds {len(videos)} video file(s): pass those instead" if videos else ""
        raise InputError(f"{source}: folder contains no images (jpg, jpeg, png, bmp, webp, tif){hint}")
    return probe_images(files, source, name), kind, files


def probe(source: str) -> VideoInfo:
    """What is known about a source before decoding it (size after rotation metadata).

    ``fps`` is None for image sequences; ``num_frames`` is None for streams and
    webcams (for files it is the container's count: exact for mp4/mov/avi, an
    estimate from the duration for mkv/webm).

    Raises:
        InputError: the source does not exist, or a folder/glob has no images.
        VideoReadError: the source exists but cannot be decoded (names the file).
    """
    return _probe(source)[0]


class VideoReader:
    """Iterable of ``(frame_index, frame)`` over a source; frame is (H, W, 3) uint8 RGB.

    ``frame_index`` is the 0-based index in the source. Frames ``start,
    start + stride, ...`` are yielded, at most ``max_frames`` of them. Each
    iteration decodes the source again from ``start``; leaving the ``with``
    block (or :meth:`close`) stops a decoder that is still running.

    Attributes:
        info: the source's :class:`VideoInfo`.
        start, stride, max_frames: the frame selection.
        frames_read: frames yielded by the current (or last) iteration.
        last_frame_index: index of the last frame yielded, or None.
    """

    def __init__(self, source: str, stride: int = 1, max_frames: int | None = None, start: int | str = 0) -> None:
        self.source = str(source)
        self.info, self._kind, self._files = _probe(self.source)
        self.start = parse_start(start, self.info.fps, self.source)
        check_options(stride, max_frames, self.start)
        self.stride, self.max_frames = stride, max_frames
        if self.info.num_frames is not None and self._files is not None and self.start >= self.info.num_frames:
            raise InputError(f"{self.source}: start frame {self.start} is past the last frame "
                             f"({self.info.num_frames} frames)")
        self.frames_read = 0
        self.last_frame_index: int | None = None
        self._active: Iterator[tuple[int, np.ndarray]] | None = None

    @property
    def expected_frames(self) -> int | None:
        """How many frames an iteration should yield, when the frame count is known."""
        if self.info.num_frames is None:
            return None
        return len(selected_indices(self.info.num_frames, self.start, self.stride, self.max_frames))

    def _frames(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._kind is SourceKind.CAPTURE:
            return capture_frames(self.source, self.start, self.stride, self.max_frames)
        if self._kind is SourceKind.FILE:
            return ffmpeg_frames(strip_file_url(self.source), self.info.width, self.info.height,
                                 self.start, self.stride, self.max_frames)
        indices = selected_indices(len(self._files), self.start, self.stride, self.max_frames)
        return image_frames(self._files, indices, (self.info.width, self.info.height))

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        self._stop()
        self.frames_read, self.last_frame_index = 0, None
        frames = self._frames()
        self._active = frames
        try:
            for index, frame in frames:
                self.frames_read += 1
                self.last_frame_index = index
                yield index, frame
        finally:
            self._stop()

    def _stop(self) -> None:
        active, self._active = self._active, None
        if active is not None and hasattr(active, "close"):
            active.close()

    def close(self) -> None:
        """Stop decoding (kills a running ffmpeg process, releases a camera)."""
        self._stop()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({self.source!r}, {self.info.width}x{self.info.height}, fps={self.info.fps}, "
                f"start={self.start}, stride={self.stride}, max_frames={self.max_frames})")


def open_video(source: str, stride: int = 1, max_frames: int | None = None, start: int | str = 0) -> VideoReader:
    """Open a source for streaming; see :class:`VideoReader`.

    Args:
        source: video file, frame folder, image glob, image, webcam index or stream URL.
        stride: yield every ``stride``-th frame (>= 1).
        max_frames: yield at most this many frames (None: all).
        start: first frame index, or a time such as ``"1.5s"`` (sources with an fps).

    Raises:
        InputError: bad options, missing source, folder/glob without images.
        VideoReadError: the source cannot be decoded.
    """
    return VideoReader(source, stride=stride, max_frames=max_frames, start=start)
