"""Drawing an existing results file onto its video (the library side of ``vistool render``).

:func:`load_job` reads a YouTube-VIS results list or a vistool per-video result
into a :class:`RenderJob`; :func:`open_frames` yields the frames it covers;
:func:`render_video` draws them into an H.264 MP4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from vistool.errors import InputError

_MAX_LISTED_IDS = 20


@dataclass
class RenderTrack:
    """One track to draw: its colour key, its label text and one RLE (or None) per frame."""

    key: int  # colour key: track id (vistool results) or 1-based rank in the file (YouTube-VIS)
    text: str
    segmentations: list[dict | None]


@dataclass
class RenderJob:
    """What to draw: tracks, and which frames of which video they cover."""

    tracks: list[RenderTrack]
    num_frames: int | None  # segmentation entries per track (None: no tracks)
    start: int = 0
    stride: int = 1
    video: str | None = None  # default video source
    files: list[str] | None = None  # dataset frame files, in order
    name: str = "video"
    notes: list[str] = field(default_factory=list)


def _category_names(categories_path: str | None) -> tuple[dict[int, str], Any]:
    """category id -> name, and the dataset (or None)."""
    if categories_path is None:
        return {}, None
    from vistool.io.ytvis import load_dataset

    dataset = load_dataset(categories_path)
    return {c.id: c.name for c in dataset.categories}, dataset


def _pick_video_id(results_path: str, tracks: list, video_id: int | None) -> int | None:
    ids = sorted({t.video_id for t in tracks})
    listed = ", ".join(str(i) for i in ids[:_MAX_LISTED_IDS]) + (" ..." if len(ids) > _MAX_LISTED_IDS else "")
    if video_id is not None:
        if ids and video_id not in ids:
            raise InputError(f"{results_path}: no results for --video-id {video_id}; available ids: {listed}")
        return video_id
    if len(ids) > 1:
        raise InputError(f"{results_path}: results cover {len(ids)} videos; pick one with --video-id "
                         f"(available ids: {listed})")
    return ids[0] if ids else None


def _dataset_frames(dataset: Any, categories_path: str, video_id: int | None) -> tuple[list[str] | None, str | None]:
    """Frame files of a dataset video under JPEGImages/ beside the dataset JSON, if present."""
    if dataset is None or video_id is None:
        return None, None
    video = dataset.videos_by_id().get(video_id)
    if video is None or not video.file_names:
        return None, None
    from vistool.io.safe_path import safe_join

    root = Path(categories_path).parent / "JPEGImages"
    files = [str(safe_join(root, name)) for name in video.file_names]
    if not Path(files[0]).is_file():
        return None, None
    return files, Path(video.file_names[0]).parent.name or f"video{video_id}"


def _ytvis_job(results_path: str, data: list, video_id: int | None, categories_path: str | None,
               threshold: float) -> RenderJob:
    from vistool.io.ytvis import parse_results

    names, dataset = _category_names(categories_path)
    results = parse_results(data, source=results_path)
    chosen = _pick_video_id(results_path, results, video_id)
    mine = [t for t in results if t.video_id == chosen]
    tracks = [RenderTrack(key=rank, text=f"#{rank} {names.get(t.category_id, f'cat{t.category_id}')} {t.score:.2f}",
                     segmentations=t.segmentations)
              for rank, t in enumerate(mine, start=1) if t.score >= threshold]
    lengths = {len(t.segmentations) for t in mine}
    if len(lengths) > 1:
        raise InputError(f"{results_path}: tracks of video {chosen} have different numbers of frames "
                         f"({sorted(lengths)})")
    files, name = _dataset_frames(dataset, categories_path, chosen) if categories_path else (None, None)
    return RenderJob(tracks=tracks, num_frames=lengths.pop() if lengths else None, files=files,
                name=name or f"video{chosen}", notes=[] if mine else [f"no results for video {chosen}"])


def _vistool_job(results_path: str, threshold: float) -> RenderJob:
    from vistool.io import video_result

    result = video_result.read(results_path)
    meta = result.meta if isinstance(result.meta, dict) else {}
    options = meta.get("options") if isinstance(meta.get("options"), dict) else meta
    tracks = []
    for t in result.tracks:
        if t.score < threshold:
            continue
        name = result.categories[t.label] if 0 <= t.label < len(result.categories) else f"class{t.label}"
        tracks.append(RenderTrack(key=t.track_id, text=f"#{t.track_id} {name} {t.score:.2f}",
                             segmentations=t.segmentations))
    return RenderJob(tracks=tracks, num_frames=result.num_frames, start=int(options.get("start", 0) or 0),
                stride=int(options.get("stride", 1) or 1), video=result.info.source or None,
                name=result.info.name)


def load_job(results_path: str, video_id: int | None, categories_path: str | None, threshold: float) -> RenderJob:
    """Read a YouTube-VIS results list or a vistool per-video result file."""
    from vistool.io import video_result
    from vistool.io.ytvis_schema import read_json

    data = read_json(results_path, "results")
    if isinstance(data, dict) and data.get("format") == video_result.FORMAT:
        return _vistool_job(results_path, threshold)
    if isinstance(data, dict):
        raise InputError(f"{results_path}: expected a YouTube-VIS results list or a vistool per-video result "
                         "file, got another JSON object (a dataset file?)")
    return _ytvis_job(results_path, data, video_id, categories_path, threshold)


def open_frames(job: RenderJob, video: str | None) -> tuple[Any, Iterator[tuple[int, np.ndarray]]]:
    """VideoInfo and ``(index, frame)`` pairs of the frames the results cover."""
    from vistool.io.video import open_video
    from vistool.io.video_images import image_frames, probe_images

    if video is None and job.files is not None:
        info = probe_images(job.files, str(Path(job.files[0]).parent), job.name)
        count = len(job.files) if job.num_frames is None else min(job.num_frames, len(job.files))
        return info, image_frames(job.files, range(count), (info.width, info.height))
    source = video or job.video
    if source is None:
        raise InputError("--video is required for a YouTube-VIS results file (or give --categories "
                         "with the dataset JSON that sits beside JPEGImages/)")
    reader = open_video(source, stride=job.stride, max_frames=job.num_frames, start=job.start)
    return reader.info, iter(reader)


def check_size(job: RenderJob, info: Any, results_path: str) -> None:
    """A one-line error when the masks' size differs from the video's."""
    for track in job.tracks:
        rle = next((s for s in track.segmentations if s is not None), None)
        if rle is not None:
            height, width = rle["size"]
            if (height, width) != (info.height, info.width):
                raise InputError(f"{results_path}: masks are {width}x{height} but the video {info.source} is "
                                 f"{info.width}x{info.height}; is this the right video?")
            return


def draw_frame(frame: np.ndarray, job: RenderJob, position: int, style: Any) -> np.ndarray:
    """(H, W, 3) uint8 frame with the tracks present at ``position`` drawn."""
    from vistool.viz.overlay import draw_rles

    present = [t for t in job.tracks if position < len(t.segmentations) and t.segmentations[position] is not None]
    return draw_rles(frame, [t.segmentations[position] for t in present], [t.key for t in present],
                     [t.text for t in present], style)


def render_video(job: RenderJob, info: Any, frames: Iterator[tuple[int, np.ndarray]], output: str, fps: float,
                 style: Any, on_frame: Callable[[], None] | None = None) -> int:
    """Draw ``frames`` (from :func:`open_frames`) into an H.264 MP4 at ``output``; return the frames written."""
    from vistool.io.video_writer import ThreadedVideoWriter
    from vistool.viz.result_overlay import OVERLAY_ENCODER

    written = 0  # the encoder settings of ``track --overlay``, so both give the same video
    with ThreadedVideoWriter(output, fps=fps, size=(info.width, info.height), **OVERLAY_ENCODER) as writer:
        for position, (_, frame) in enumerate(frames):
            writer.write(draw_frame(frame, job, position, style))
            written += 1
            if on_frame is not None:
                on_frame()
    return written
