"""Image sequences as videos: a folder of frames, a glob of images, or one image.

Frames are decoded one at a time with OpenCV (grayscale and RGBA become RGB,
EXIF orientation is applied, 16-bit images become 8-bit) and must all have the
size of the first frame.
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import numpy as np

from vistool.errors import InputError, VideoReadError
from vistool.structures import VideoInfo


def read_image_rgb(path: str) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of an image file, or None when it cannot be decoded."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # BGR, gray/alpha/16-bit converted
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def probe_images(files: Sequence[str], source: str, name: str) -> VideoInfo:
    """VideoInfo of an image sequence: the first image's size, no fps.

    Raises:
        InputError: no image files.
        VideoReadError: the first image cannot be read.
    """
    if not files:
        what = "folder contains" if os.path.isdir(source) else "pattern matches"
        raise InputError(f"{source}: {what} no images (jpg, jpeg, png, bmp, webp, tif)")
    first = read_image_rgb(files[0])
    if first is None:
        raise VideoReadError(files[0], "cannot read this image (corrupt or not an image)")
    height, width = first.shape[:2]
    return VideoInfo(name=name, source=source, width=width, height=height, fps=None, num_frames=len(files))


def image_frames(files: Sequence[str], indices: Sequence[int], size: tuple[int, int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, (H, W, 3) uint8 RGB)`` for the selected files.

    Args:
        files: all frame files of the video, in order.
        indices: frame indices to read.
        size: expected (width, height), the first frame's.

    Raises:
        VideoReadError: a frame cannot be read or has another size (names the file and
            the last good frame).
    """
    width, height = size
    last_good: int | None = None
    for index in indices:
        frame = read_image_rgb(files[index])
        if frame is None:
            raise VideoReadError(files[index], f"cannot read frame {index} (corrupt or not an image)", last_good)
        if frame.shape[:2] != (height, width):
            raise VideoReadError(files[index], f"frame {index} is {frame.shape[1]}x{frame.shape[0]} but the first "
                                 f"frame is {width}x{height}; all frames of a video must have one size", last_good)
        yield index, frame
        last_good = index
