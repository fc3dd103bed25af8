"""COCO per-frame instances JSON with track ids (for CVAT / Datumaro and image tools).

- ``images``: one per frame: ``id``, ``file_name`` (``<video>/<frame>.jpg``),
  ``width``, ``height``, ``video_id``, ``video_name``, ``frame_index`` (0-based);
- ``categories``: ``id``, ``name``, ``supercategory``;
- ``annotations``: one per track per frame where its mask is not empty:
  ``segmentation`` (compressed RLE), ``area``, ``bbox`` ``[x, y, w, h]``,
  ``iscrowd`` 0, ``score``, ``track_id`` and ``attributes.track_id`` (the
  Datumaro way of carrying tracks);
- ``videos``: ``id``, ``name``, ``width``, ``height``, ``length`` (an extra list).

With ``--with-images`` the decoded frames go to ``images/<file name>`` beside the JSON.
"""

from __future__ import annotations

from pathlib import Path

from vistool import __version__
from vistool.io import rle
from vistool.io.atomic import write_json
from vistool.io.export import ExportOptions, ExportPlan, ExportVideo, frame_rle, write_frames

IMAGES_DIR = "images"


def _images(video: ExportVideo, first_id: int) -> list[dict]:
    info = video.result.info
    return [{"id": first_id + index, "file_name": name, "width": info.width, "height": info.height,
             "video_id": video.video_id, "video_name": video.name, "frame_index": index}
            for index, name in enumerate(video.file_names)]


def _annotations(video: ExportVideo, first_image_id: int, first_id: int) -> list[dict]:
    annotations = []
    for index in range(video.result.num_frames):
        for track in video.result.tracks:
            seg = frame_rle(video, track, index)
            area = rle.area(seg) if seg is not None else 0
            if area == 0:
                continue
            annotations.append({
                "id": first_id + len(annotations), "image_id": first_image_id + index,
                "category_id": video.category_ids[track.label], "segmentation": seg, "area": area,
                "bbox": rle.to_bbox(seg), "iscrowd": 0, "score": float(track.score),
                "track_id": int(track.track_id), "attributes": {"track_id": int(track.track_id)},
            })
    return annotations


def build(plan: ExportPlan) -> dict:
    """The COCO dict of the plan's predictions."""
    images: list[dict] = []
    annotations: list[dict] = []
    for video in plan.videos:
        first_image_id = len(images) + 1
        images.extend(_images(video, first_image_id))
        annotations.extend(_annotations(video, first_image_id, len(annotations) + 1))
    return {
        "info": {"description": "per-frame instances predicted by vistool", "vistool_version": __version__},
        "licenses": [],
        "videos": [{"id": v.video_id, "name": v.name, "width": v.result.info.width,
                    "height": v.result.info.height, "length": v.result.num_frames} for v in plan.videos],
        "images": images,
        "categories": [{"id": cid, "name": name, "supercategory": "object"} for cid, name in plan.categories],
        "annotations": annotations,
    }


def write(plan: ExportPlan, output: Path, options: ExportOptions) -> None:
    """Write the COCO JSON (and with ``options.with_images`` the frames) beside ``output``."""
    data = build(plan)
    if options.with_images:
        write_frames(plan, output.parent / IMAGES_DIR)
    write_json(output, data)
