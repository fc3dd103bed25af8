"""Write a synthetic split in the YouTube-VIS layout.

``OUT/<split>/JPEGImages/<video>/00000.jpg ...``, ``OUT/<split>/instances.json``
and, optionally, ``OUT/<split>/videos/<video>.mp4``. Videos are rendered in
parallel worker processes; each depends only on (seed, preset, index) and the
JSON is assembled in index order, so the files are byte-identical for any
number of workers. With ``fmt="mp4"`` no JPEGs are written but the JSON still
lists the frame names a frames export would have.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from vistool import __version__
from vistool.data.synth.presets import get_preset
from vistool.data.synth.shapes import CATEGORIES
from vistool.data.synth.video import (
    NO_OCCLUSION_MAX,
    OCCLUSION_NAMES,
    SLIGHT_OCCLUSION_MAX,
    SynthVideo,
    render_video,
)
from vistool.io import rle
from vistool.io.atomic import write_json

log = logging.getLogger(__name__)

FORMATS = ("frames", "mp4", "both")
MP4_OPTIONS = ["-crf", "20", "-preset", "medium", "-threads", "1", "-movflags", "+faststart",
               "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]


@dataclass(frozen=True)
class SplitSpec:
    """What to generate.

    Attributes:
        out: dataset root; the split goes to ``out / split``.
        split: split folder name (train, valid, ...).
        videos: number of videos (indices 0 .. videos - 1).
        seed: base seed.
        preset: preset name.
        size: (width, height) of the frames.
        fmt: "frames", "mp4" or "both".
        name_prefix: video names are ``<prefix><index>`` when set, else
            ``<preset>_s<seed>_<index:05d>``. Names never change content.
    """

    out: Path
    split: str
    videos: int
    seed: int
    preset: str
    size: tuple[int, int] = (384, 216)
    fmt: str = "frames"
    name_prefix: str | None = None

    @property
    def split_dir(self) -> Path:
        return Path(self.out) / self.split


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an (H, W, 3) uint8 RGB image (deterministic for a given OpenCV build)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """The (H, W, 3) RGB image as it reads back from its stored JPEG."""
    data = np.frombuffer(encode_jpeg(image, quality), dtype=np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class _Mp4:
    """H.264 yuv420p mp4 with single-threaded, bit-exact settings, so its bytes are reproducible.

    (:class:`vistool.io.video_writer.VideoWriter` lets x264 pick its thread
    count from the machine, which changes the bytes.) Written to a hidden file
    beside the target and renamed when complete.
    """

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import imageio_ffmpeg

        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.mp4")
        self._gen = imageio_ffmpeg.write_frames(
            str(self._tmp), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
            macro_block_size=2, ffmpeg_log_level="error", output_params=MP4_OPTIONS)
        self._gen.send(None)

    def write(self, frame: np.ndarray) -> None:
        self._gen.send(np.ascontiguousarray(frame))

    def close(self, ok: bool = True) -> None:
        self._gen.close()
        if ok:
            os.replace(self._tmp, self._path)
        else:
            self._tmp.unlink(missing_ok=True)


def video_name(spec: SplitSpec, index: int) -> str:
    """Folder / file stem of video ``index``."""
    if spec.name_prefix is not None:
        return f"{spec.name_prefix}{index}"
    return f"{get_preset(spec.preset).name}_s{spec.seed}_{index:05d}"


def _empty_track(label: int, frames: int) -> dict[str, Any]:
    return {"category_id": label + 1, "iscrowd": 0, "segmentations": [None] * frames,
            "areas": [None] * frames, "bboxes": [None] * frames, "occlusion": [None] * frames}


def _annotate(video: SynthVideo, sink: Callable[[int, np.ndarray], None]) -> list[dict[str, Any]]:
    """Render every frame, hand its image to ``sink`` and return per-track annotations."""
    tracks = {tid: _empty_track(label, video.num_frames) for tid, label in video.tracks}
    for frame in video.frames():
        sink(frame.index, frame.image)
        for obj in frame.objects:
            track = tracks[obj.track_id]
            track["occlusion"][frame.index] = OCCLUSION_NAMES[obj.occlusion]
            if obj.visible_mask is None:
                continue
            code = rle.encode(obj.visible_mask)
            track["segmentations"][frame.index] = code
            track["areas"][frame.index] = float(np.count_nonzero(obj.visible_mask))
            track["bboxes"][frame.index] = rle.to_bbox(code)
    # A track never seen has nothing to find: the dataset leaves it out.
    return [tracks[tid] for tid in sorted(tracks) if any(s is not None for s in tracks[tid]["segmentations"])]


def write_video(spec: SplitSpec, index: int) -> dict[str, Any]:
    """Render video ``index``, write its frames / mp4 and return its JSON parts (ids unset)."""
    video = render_video(spec.preset, spec.seed, index, spec.size)
    name = video_name(spec, index)
    frame_dir = spec.split_dir / "JPEGImages" / name
    mp4 = _Mp4(spec.split_dir / "videos" / f"{name}.mp4", video.fps, spec.size) if spec.fmt in ("mp4", "both") \
        else None
    if spec.fmt in ("frames", "both"):
        frame_dir.mkdir(parents=True, exist_ok=True)

    def sink(t: int, image: np.ndarray) -> None:
        if spec.fmt in ("frames", "both"):
            (frame_dir / f"{t:05d}.jpg").write_bytes(encode_jpeg(image, video.jpeg_quality))
        if mp4 is not None:
            mp4.write(image)

    try:
        annotations = _annotate(video, sink)
    except BaseException:
        if mp4 is not None:
            mp4.close(ok=False)
        raise
    if mp4 is not None:
        mp4.close()
    entry = {"width": video.width, "height": video.height, "length": video.num_frames,
             "file_names": [f"{name}/{t:05d}.jpg" for t in range(video.num_frames)]}
    return {"video": entry, "annotations": annotations, "frames": video.num_frames}


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _job(args: tuple[SplitSpec, int]) -> dict[str, Any]:
    return write_video(*args)


def dataset_json(spec: SplitSpec, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The YouTube-VIS dataset dict of a split from its per-video parts (ids from 1, in index order)."""
    videos, annotations = [], []
    for vid, part in enumerate(parts, start=1):
        videos.append({"id": vid, **part["video"]})
        for ann in part["annotations"]:
            annotations.append({"id": len(annotations) + 1, "video_id": vid, **ann})
    info = {
        "description": "vistool synthetic video instance segmentation benchmark",
        "version": __version__, "split": spec.split, "preset": get_preset(spec.preset).name, "seed": spec.seed,
        "size": list(spec.size),
        "occlusion": f"per frame, from the occluded fraction of the in-frame shape: no_occlusion "
                     f"(<= {NO_OCCLUSION_MAX}), slight_occlusion (<= {SLIGHT_OCCLUSION_MAX}), "
                     "severe_occlusion (above, or fully hidden); null outside the frame",
    }
    categories = [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(CATEGORIES)]
    return {"info": info, "licenses": [], "videos": videos, "categories": categories, "annotations": annotations}


def write_split(spec: SplitSpec, workers: int = 1, progress: Callable[[int], None] | None = None) -> Path:
    """Generate a whole split; returns the path of its ``instances.json``.

    Args:
        spec: what to generate.
        workers: worker processes (1: in this process). Output does not depend on it.
        progress: called with the frame count of each finished video.
    """
    if spec.fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got '{spec.fmt}'")
    jobs = [(spec, i) for i in range(spec.videos)]
    parts: list[dict[str, Any]] = []
    if workers <= 1 or len(jobs) <= 1:
        results = map(_job, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(min(workers, len(jobs)), initializer=_init_worker)
        results = pool.imap(_job, jobs)
    try:
        for part in results:
            parts.append(part)
            if progress is not None:
                progress(part["frames"])
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    target = spec.split_dir / "instances.json"
    write_json(target, dataset_json(spec, parts))
    log.info("wrote %d videos to %s", len(parts), spec.split_dir)
    return target
