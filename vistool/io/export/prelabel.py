"""Pre-labels: predictions written as a YouTube-VIS dataset (annotation) JSON.

The file can be corrected in annotation tools that read YouTube-VIS, and
trained on with vistool's own data pipeline. Its schema is the YouTube-VIS
one: ``videos`` (id, width, height, length, file_names), ``categories``
(id, name) and ``annotations`` (id, video_id, category_id, iscrowd 0, per-frame
``segmentations`` / ``areas`` / ``bboxes`` ``[x, y, w, h]``, ``null`` where the
instance is absent), built and serialised by :mod:`vistool.io.ytvis`. Each
annotation also keeps the prediction's ``score`` and ``track_id``.

Choices: an empty predicted mask becomes ``null`` (absent), like in YouTube-VIS
ground truth; a track left with no frame is dropped. With ``--with-images``
the decoded frames go to ``JPEGImages/<file name>`` beside the JSON, making a
complete YouTube-VIS split folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vistool import __version__
from vistool.io import rle
from vistool.io.atomic import write_json
from vistool.io.export import ExportOptions, ExportPlan, ExportVideo, frame_rle, write_frames
from vistool.io.ytvis import YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo, dataset_to_json
from vistool.structures import TrackResult

log = logging.getLogger(__name__)

IMAGES_DIR = "JPEGImages"


def _segmentations(video: ExportVideo, track: TrackResult) -> list[dict | None]:
    """Per-frame RLE of a track; empty masks become None (absent)."""
    segs: list[dict | None] = []
    for index in range(video.result.num_frames):
        seg = frame_rle(video, track, index)
        segs.append(seg if seg is not None and rle.area(seg) > 0 else None)
    return segs


def build(plan: ExportPlan) -> dict:
    """The YouTube-VIS dataset JSON object of the plan's predictions (with ``score`` and ``track_id``)."""
    annotations: list[YtvisAnnotation] = []
    extras: list[dict] = []
    dropped = 0
    for video in plan.videos:
        for track in video.result.tracks:
            segs = _segmentations(video, track)
            if all(s is None for s in segs):
                dropped += 1
                continue
            annotations.append(YtvisAnnotation.from_segmentations(
                len(annotations) + 1, video.video_id, int(video.category_ids[track.label]), segs))
            extras.append({"score": float(track.score), "track_id": int(track.track_id)})
    if dropped:
        log.info("dropped %d tracks whose masks are empty in every frame", dropped)
    methods = sorted({str(v.result.meta.get("method")) for v in plan.videos if v.result.meta.get("method")})
    dataset = YtvisDataset(
        videos=[YtvisVideo(id=v.video_id, width=v.result.info.width, height=v.result.info.height,
                           length=v.result.num_frames, file_names=list(v.file_names)) for v in plan.videos],
        categories=[YtvisCategory(id=cid, name=name, supercategory="object") for cid, name in plan.categories],
        annotations=annotations,
        info={"description": "pre-labels predicted by vistool", "vistool_version": __version__, "methods": methods},
    )
    data = dataset_to_json(dataset)
    for entry, extra in zip(data["annotations"], extras):
        entry.update(extra)
    return data


def write(plan: ExportPlan, output: Path, options: ExportOptions) -> None:
    """Write the pre-label JSON (and with ``options.with_images`` the frames) beside ``output``."""
    data = build(plan)
    if options.with_images:
        write_frames(plan, output.parent / IMAGES_DIR)
    write_json(output, data)
