"""Turn command-line inputs into :class:`~vistool.engine.infer.FrameSource` objects.

Inputs are video files, image folders, globs, webcam indices, stream URLs, or
YouTube-VIS split folders (``JPEGImages/`` beside a dataset JSON such as
``instances.json`` or ``valid.json``), whose videos keep their dataset ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from vistool.engine.infer import FrameSource, InferOptions
from vistool.errors import InputError, VideoReadError
from vistool.io.safe_path import safe_join
from vistool.structures import VideoInfo

DATASET_JSON_NAMES = ("instances.json", "valid.json", "test.json", "train.json", "annotations.json")


def find_dataset_json(split_dir: str | Path) -> Path | None:
    """The dataset JSON of a YouTube-VIS split folder, or None if it is not one."""
    split_dir = Path(split_dir)
    if not (split_dir / "JPEGImages").is_dir():
        return None
    for name in DATASET_JSON_NAMES:
        if (split_dir / name).is_file():
            return split_dir / name
    candidates = sorted(split_dir.glob("*.json"))
    return candidates[0] if len(candidates) == 1 else None


def video_source(source: str) -> FrameSource:
    """A video file, image folder, glob, webcam index or stream URL."""
    from vistool.io.video import open_video, probe
    from vistool.io.video_sources import is_capture_source

    info = probe(source)

    def frames(options: InferOptions) -> Iterator[tuple[int, np.ndarray]]:
        with open_video(source, stride=options.stride, max_frames=options.max_frames, start=options.start) as reader:
            yield from reader

    return FrameSource(info=info, open=frames, live=is_capture_source(source))


def _read_rgb(path: Path, index: int) -> np.ndarray:
    from vistool.io.video_images import read_image_rgb

    image = read_image_rgb(str(path))
    if image is None:
        raise VideoReadError(str(path), "cannot read this image", last_good_frame=index - 1 if index else None)
    return image


def _dataset_video_source(images_root: Path, video: dict) -> FrameSource:
    """One dataset video whose frames are ``images_root/<file name>``.

    Every frame path goes through :func:`vistool.io.safe_path.safe_join`: the first
    at once (a video folder linking outside ``images_root`` stops the run before any
    work), the others as they are read.
    """
    file_names = list(video["file_names"])
    first = safe_join(images_root, file_names[0])
    name = Path(file_names[0]).parent.name or first.stem
    info = VideoInfo(name=name, source=str(first.parent), width=int(video["width"]),
                     height=int(video["height"]), fps=None, num_frames=len(file_names))

    def frames(options: InferOptions) -> Iterator[tuple[int, np.ndarray]]:
        indices = range(options.start, len(file_names), options.stride)
        if options.max_frames is not None:
            indices = indices[: options.max_frames]
        for index in indices:
            path = safe_join(images_root, file_names[index])
            image = _read_rgb(path, index)
            if image.shape[:2] != (info.height, info.width):
                raise VideoReadError(str(path), f"image is {image.shape[1]}x{image.shape[0]}, the dataset says "
                                     f"{info.width}x{info.height}", last_good_frame=index - 1 if index else None)
            yield index, image

    return FrameSource(info=info, open=frames, dataset_id=int(video["id"]), file_names=file_names)


def split_sources(split_dir: str | Path) -> list[FrameSource]:
    """One source per video of a YouTube-VIS split folder, in dataset order."""
    from vistool.io.ytvis import load_dataset

    split_dir = Path(split_dir)
    json_path = find_dataset_json(split_dir)
    if json_path is None:
        raise InputError(f"{split_dir}: not a YouTube-VIS split folder (needs JPEGImages/ and one dataset JSON)")
    dataset = load_dataset(json_path)
    return [_dataset_video_source(split_dir / "JPEGImages", _video_dict(v)) for v in dataset.videos]


def _video_dict(video) -> dict:
    if isinstance(video, dict):
        return video
    return {"id": video.id, "width": video.width, "height": video.height, "file_names": video.file_names}


def expand_sources(inputs: list[str]) -> list[FrameSource | str]:
    """Expand CLI inputs into sources; plain video inputs stay strings (opened lazily).

    Split folders expand at once (their videos come from the dataset JSON); other
    inputs go through :func:`vistool.io.video.expand_inputs`.
    """
    from vistool.io.video import expand_inputs

    expanded: list[FrameSource | str] = []
    for item in inputs:
        if Path(item).is_dir() and find_dataset_json(item) is not None:
            expanded.extend(split_sources(item))
        else:
            expanded.extend(expand_inputs([item]))
    return expanded


def open_source(item: FrameSource | str) -> FrameSource:
    """A FrameSource for an expanded input (probing a video only now)."""
    return item if isinstance(item, FrameSource) else video_source(item)


def source_name(item: FrameSource | str) -> str:
    """Output name of an expanded input without opening it."""
    if isinstance(item, FrameSource):
        return item.info.name
    path = Path(item)
    return path.name if path.is_dir() else (path.stem or str(item))
