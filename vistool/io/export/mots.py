"""CVAT-importable MOTS PNG zip (CVAT's "MOTS PNG 1.0" import, read by Datumaro).

Layout of the zip, one subset per video, named after the video (also for a
single video, so that a zip always says which video it holds; CVAT matches
frames by file name, not by subset)::

    <video>/instances/labels.txt      one category name per line
    <video>/instances/<frame>.png     16-bit single-channel, one per frame
    <video>/images/<frame>.jpg        with --with-images

Pixel value = ``class_id * 1000 + instance_id``; 0 is background. ``class_id``
is the 1-based line number of the category in ``labels.txt``: the importer
(Datumaro ``MotsPngExtractor``) maps class ``c`` to line ``c - 1`` (0-based) and
skips class 0, so ``labels.txt`` holds the categories only, with no
``background`` line (a ``background`` first line would shift every label by
one). Instance ids are 1..999 (Datumaro ``MAX_INSTANCES = 1000``): the track
ids when they all fit, else the tracks renumbered in track-id order. Where
masks overlap, the track with the higher score wins the pixel (equal scores:
the lower track id). ``<frame>`` is the stem of the frame's image name, so
the PNGs match a CVAT task made from the same frames (or, for a video task,
the frame number).
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vistool.errors import InputError
from vistool.io import rle
from vistool.io.atomic import atomic_path
from vistool.io.export import ExportOptions, ExportPlan, ExportVideo, encode_jpeg, frame_rle, iter_frames
from vistool.io.safe_path import zip_member
from vistool.structures import TrackResult

log = logging.getLogger(__name__)

MAX_INSTANCES = 1000
MAX_CLASSES = (np.iinfo(np.uint16).max - (MAX_INSTANCES - 1)) // MAX_INSTANCES  # 64: keeps values in uint16
LABELS_FILE = "labels.txt"


def mots_classes(plan: ExportPlan) -> tuple[list[str], dict[int, int]]:
    """``labels.txt`` lines and the MOTS class id (1-based line number) of each category id.

    All categories are listed; above 64 only the used ones (16-bit PNG limit).
    """
    categories = plan.categories
    if len(categories) > MAX_CLASSES:
        used = {v.category_ids[t.label] for v in plan.videos for t in v.result.tracks}
        categories = [(cid, name) for cid, name in categories if cid in used]
        log.info("%d categories exceed the %d that 16-bit MOTS PNGs hold: labels.txt lists the %d used ones",
                 len(plan.categories), MAX_CLASSES, len(categories))
        if len(categories) > MAX_CLASSES:
            raise InputError(f"the results use {len(categories)} categories; MOTS PNG holds at most "
                             f"{MAX_CLASSES}: export with --format coco or prelabel instead")
    return [name for _, name in categories], {cid: i + 1 for i, (cid, _) in enumerate(categories)}


def instance_ids(video: ExportVideo) -> dict[int, int]:
    """Track id -> MOTS instance id in 1..999."""
    ids = sorted(t.track_id for t in video.result.tracks)
    if len(ids) >= MAX_INSTANCES:
        raise InputError(f"video '{video.name}' has {len(ids)} tracks; MOTS PNG holds at most "
                         f"{MAX_INSTANCES - 1} per video: raise --score-threshold or use --format coco")
    if not ids or (ids[0] >= 1 and ids[-1] < MAX_INSTANCES):
        return {tid: tid for tid in ids}
    log.info("video '%s': track ids above %d, renumbering its tracks 1..%d", video.name, MAX_INSTANCES - 1, len(ids))
    return {tid: k + 1 for k, tid in enumerate(ids)}


def frame_stems(video: ExportVideo) -> list[str]:
    """Per frame, the item name: the stem of its image file name."""
    stems = [Path(name).stem for name in video.file_names]
    if len(set(stems)) != len(stems):
        raise InputError(f"{video.path}: frames of video '{video.name}' share file names; "
                         "MOTS needs one name per frame")
    return stems


def render_frame(video: ExportVideo, index: int, order: list[TrackResult], values: dict[int, int]) -> np.ndarray:
    """(H, W) uint16 MOTS mask of frame ``index``; ``order`` paints lowest priority first."""
    info = video.result.info
    canvas = np.zeros((info.height, info.width), dtype=np.uint16)
    for track in order:
        seg = frame_rle(video, track, index)
        if seg is not None:
            canvas[rle.decode(seg)] = values[track.track_id]
    return canvas


def encode_png(canvas: np.ndarray) -> bytes:
    """16-bit single-channel PNG bytes of an (H, W) uint16 array."""
    ok, data = cv2.imencode(".png", canvas)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return data.tobytes()


@dataclass(frozen=True)
class VideoMembers:
    """The zip entries of one video, checked by :func:`vistool.io.safe_path.zip_member`."""

    labels: str
    masks: list[str]
    images: list[str]


def video_members(video: ExportVideo) -> VideoMembers:
    """``<video>/instances/labels.txt``, then per frame its PNG and JPEG entry.

    Raises:
        UnsafePathError: the video name or a frame stem would make an unsafe entry.
        InputError: two frames share a stem.
    """
    subset = video.name
    stems = frame_stems(video)
    return VideoMembers(labels=zip_member(subset, "instances", LABELS_FILE),
                        masks=[zip_member(subset, "instances", f"{stem}.png") for stem in stems],
                        images=[zip_member(subset, "images", f"{stem}.jpg") for stem in stems])


def _write_video(archive: zipfile.ZipFile, video: ExportVideo, members: VideoMembers, labels: list[str],
                 classes: dict[int, int], with_images: bool) -> None:
    archive.writestr(members.labels, "\n".join(labels) + "\n")
    ids = instance_ids(video)
    tracks = video.result.tracks
    values = {t.track_id: classes[video.category_ids[t.label]] * MAX_INSTANCES + ids[t.track_id] for t in tracks}
    order = sorted(tracks, key=lambda t: (t.score, -t.track_id))  # higher score painted last wins
    frames = iter_frames(video) if with_images else None
    try:
        for index, (mask_member, image_member) in enumerate(zip(members.masks, members.images)):
            archive.writestr(mask_member, encode_png(render_frame(video, index, order, values)))
            if frames is not None:
                archive.writestr(image_member, encode_jpeg(next(frames)))
    finally:
        if frames is not None:
            frames.close()


def write(plan: ExportPlan, output: Path, options: ExportOptions) -> None:
    """Write the MOTS PNG zip of every video to ``output`` atomically.

    All entry names are checked before the zip is created: a refused name leaves no file behind.
    """
    labels, classes = mots_classes(plan)
    members = [video_members(video) for video in plan.videos]
    with atomic_path(output, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for video, names in zip(plan.videos, members):
                _write_video(archive, video, names, labels, classes, options.with_images)
