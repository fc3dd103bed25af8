"""What a video source string names, and how inputs expand into video sources.

A *source* is one of: a video file, a folder of frames (the YouTube-VIS
``JPEGImages/<video>/`` layout), a glob of images (``"frames/*.png"``), a single
image, a webcam index (``"0"``) or a stream URL (``rtsp://``, ``http://``...).
"""

from __future__ import annotations

import enum
import glob
import os
import re
from pathlib import Path
from typing import Iterable

from vistool.errors import InputError

VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".gif", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".asf", ".flv", ".3gp", ".ogv", ".y4m", ".mxf", ".vob",
})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
_GLOB_CHARS = re.compile(r"[*?\[]")
_DIGITS = re.compile(r"(\d+)")


class SourceKind(enum.Enum):
    """How a source is decoded."""

    FILE = "file"  # decoded by the bundled ffmpeg
    FOLDER = "folder"  # a folder of image frames
    GLOB = "glob"  # a glob pattern matching image frames
    IMAGE = "image"  # one image file: a 1-frame video
    CAPTURE = "capture"  # webcam index or stream URL, via cv2.VideoCapture


def is_video_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` has a video file extension (case-insensitive); the file need not exist."""
    return os.path.splitext(str(path))[1].lower() in VIDEO_EXTENSIONS


def is_image_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` has an image extension (jpg, jpeg, png, bmp, webp, tif, tiff)."""
    return os.path.splitext(str(path))[1].lower() in IMAGE_EXTENSIONS


def natural_key(name: str) -> tuple:
    """Sort key ordering embedded numbers by value: ``2.jpg`` < ``10.jpg``."""
    parts = _DIGITS.split(name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def list_frame_files(folder: str | os.PathLike) -> list[str]:
    """Image files directly inside ``folder``, naturally sorted (hidden files skipped).

    One ``os.scandir`` pass and no per-file ``stat``, so a YouTube-VIS
    ``JPEGImages/`` tree with thousands of folders lists quickly.
    """
    folder = os.fspath(folder)
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not is_image_file(entry.name):
                continue
            if entry.is_file():
                names.append(entry.name)
    names.sort(key=natural_key)
    return [os.path.join(folder, name) for name in names]


def glob_frame_files(pattern: str) -> list[str]:
    """Image files matching a glob pattern, naturally sorted by their full path."""
    matches = [p for p in glob.glob(os.path.expanduser(pattern), recursive=True)
               if is_image_file(p) and os.path.isfile(p)]
    return sorted(matches, key=natural_key)


def is_capture_source(source: str) -> bool:
    """A webcam index (``"0"``) or a stream URL (anything with ``://`` except ``file://``)."""
    text = source.strip()
    return text.isdigit() or ("://" in text and not text.lower().startswith("file://"))


def strip_file_url(source: str) -> str:
    """``file:///a/b.mp4`` -> ``/a/b.mp4``; other strings unchanged."""
    return source[len("file://"):] if source.lower().startswith("file://") else source


def source_kind(source: str) -> SourceKind:
    """Classify a source string; existing paths win over glob characters.

    Raises:
        InputError: the path does not exist.
    """
    if is_capture_source(source):
        return SourceKind.CAPTURE
    path = strip_file_url(source)
    if os.path.isdir(path):
        return SourceKind.FOLDER
    if os.path.exists(path):
        return SourceKind.IMAGE if is_image_file(path) else SourceKind.FILE
    if _GLOB_CHARS.search(path):
        return SourceKind.GLOB
    raise InputError(f"{source}: no such file or folder (give a video file, a folder of frames, "
                     "a glob like 'frames/*.jpg', a webcam index or a stream URL)")


def source_name(source: str) -> str:
    """Short name for outputs: file stem, folder name, glob folder, ``webcam<i>`` or URL stem."""
    text = source.strip()
    if text.isdigit():
        return f"webcam{text}"
    if "://" in text and not text.lower().startswith("file://"):
        tail = text.split("://", 1)[1].rstrip("/").split("?")[0]
        return Path(tail).stem or tail.split("/")[0] or "stream"
    path = Path(strip_file_url(text))
    if _GLOB_CHARS.search(path.name) and not path.exists():
        parent = path.parent
        while _GLOB_CHARS.search(str(parent.name)):
            parent = parent.parent
        return parent.name or "frames"
    return path.name if path.is_dir() else path.stem


def _folder_sources(folder: str, depth: int) -> list[str]:
    """A folder with images is one video; otherwise its videos and frame sub-folders."""
    videos, subdirs, has_images = [], [], False
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                subdirs.append(entry.path)
            elif is_image_file(entry.name):
                has_images = True
            elif is_video_file(entry.name):
                videos.append(entry.path)
    if has_images:
        return [folder]
    found = sorted(videos, key=natural_key)
    if depth > 0:
        for sub in sorted(subdirs, key=natural_key):
            found.extend(_folder_sources(sub, depth - 1))
    return found


def _expand_one(item: str, max_depth: int) -> list[str]:
    if is_capture_source(item):
        return [item]
    path = strip_file_url(item)
    if os.path.isdir(path):
        found = _folder_sources(path, max_depth)
        if not found:
            raise InputError(f"{item}: folder contains no videos and no images "
                             f"(video types: {', '.join(sorted(VIDEO_EXTENSIONS))})")
        return found
    if os.path.exists(path):
        return [path]
    if not _GLOB_CHARS.search(path):
        raise InputError(f"{item}: no such file or folder")
    matches = sorted(glob.glob(os.path.expanduser(path), recursive=True), key=natural_key)
    if any(is_image_file(m) and os.path.isfile(m) for m in matches):
        return [item]  # a glob of frames is one video
    found: list[str] = []
    for match in matches:
        if os.path.isdir(match):
            found.extend(_folder_sources(match, max_depth))
        elif is_video_file(match):
            found.append(match)
    if not found:
        raise InputError(f"{item}: the pattern matches no videos and no images")
    return found


def expand_inputs(inputs: Iterable[str], max_depth: int = 3) -> list[str]:
    """Expand files, globs and folders into video sources (duplicates removed, order kept).

    - a video file (or any existing file), webcam index or URL is one source;
    - a folder containing images is ONE video (its frames);
    - a folder without images gives its video files and, recursively up to
      ``max_depth`` levels, its sub-folders (e.g. ``JPEGImages/`` -> one video per folder);
    - a glob matching images is one video; a glob matching videos/folders gives each.

    Raises:
        InputError: an input does not exist or yields no video.
    """
    seen: dict[str, None] = {}
    for item in inputs:
        for source in _expand_one(str(item), max_depth):
            seen.setdefault(source, None)
    return list(seen)


def selected_indices(num_frames: int, start: int, stride: int, max_frames: int | None) -> range:
    """Frame indices ``start, start + stride, ...`` below ``num_frames``, at most ``max_frames``."""
    indices = range(start, num_frames, stride)
    return indices if max_frames is None else indices[:max_frames]


def check_options(stride: int, max_frames: int | None, start: int) -> None:
    """Raise InputError for a stride < 1, max_frames < 1 or start < 0."""
    if stride < 1:
        raise InputError(f"stride must be >= 1, got {stride}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be >= 1, got {max_frames}")
    if start < 0:
        raise InputError(f"start must be >= 0, got {start}")


def parse_start(start: int | str, fps: float | None, source: str) -> int:
    """A start frame index from an int, ``"12"`` or a time such as ``"1.5s"`` (needs the fps).

    Raises:
        InputError: the value cannot be parsed, or is a time for a source without fps.
    """
    if isinstance(start, int):
        return start
    text = str(start).strip().lower()
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*s", text)
    if match is None:
        raise InputError(f"start '{start}': give a frame index (e.g. 30) or seconds (e.g. 1.5s)")
    if not fps:
        raise InputError(f"start '{start}': {source} has no frame rate; give a frame index instead")
    return int(round(float(match.group(1)) * fps))

