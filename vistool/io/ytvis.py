"""YouTube-VIS (2019/2021) and OVIS dataset and results files.

Dataset JSON::

    {"videos": [{"id", "width", "height", "length", "file_names"}],
     "categories": [{"id", "name", "supercategory"}],
     "annotations": [{"id", "video_id", "category_id", "iscrowd",
                      "segmentations": [RLE | polygons | null per frame],
                      "areas": [number | null per frame], "bboxes": [[x, y, w, h] | null per frame],
                      "occlusion": [label | null per frame]   # OVIS only
                     }]}

Results JSON: a list of ``{"video_id", "category_id", "score", "segmentations":
[compressed RLE | null per frame]}``.

Labels are 0-based in memory (``label i`` is ``dataset.categories[i]``); they
become 1-based ``category_id`` only here (:func:`category_id_of`, :func:`label_of`).
Masks are compressed RLE dicts with str counts, ``None`` where a track is absent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from vistool.io import rle as rle_io
from vistool.io.atomic import write_json
from vistool.errors import FormatError
from vistool.io.ytvis_schema import Checker, CountsDeferred, InexactInteger, read_json

if TYPE_CHECKING:  # structures imports torch; keep this module light
    from vistool.structures import TrackResult, VideoResult

log = logging.getLogger(__name__)

from vistool.io.ytvis_types import (  # re-exported: public import path stays vistool.io.ytvis
    Rle, ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo,
)


# ------------------------------------------------------------------ labels


def category_id_of(label: int, categories: Sequence[YtvisCategory] | None = None) -> int:
    """1-based ``category_id`` of a 0-based label (``categories[label].id`` when given)."""
    if categories is not None:
        return categories[label].id
    return int(label) + 1


def label_of(category_id: int, categories: Sequence[YtvisCategory] | None = None) -> int:
    """0-based label of a ``category_id`` (its position in ``categories`` when given)."""
    if categories is not None:
        for index, category in enumerate(categories):
            if category.id == category_id:
                return index
        raise KeyError(f"category_id {category_id} is not among the dataset categories")
    return int(category_id) - 1


def result_track_from(video_id: int, track: "TrackResult",
                      categories: Sequence[YtvisCategory] | None = None) -> ResultTrack:
    """The results-file entry of an in-memory track (0-based label -> category_id)."""
    return ResultTrack(video_id=video_id, category_id=category_id_of(track.label, categories),
                       score=float(track.score), segmentations=list(track.segmentations))


def video_result_to_records(result: "VideoResult", video_id: int,
                            categories: Sequence[YtvisCategory] | None = None) -> list[dict]:
    """YouTube-VIS results entries (JSON-ready dicts) for one video's tracks."""
    return results_to_json([result_track_from(video_id, t, categories) for t in result.tracks])


def frame_records_to_json(records: Sequence[dict], result: "VideoResult", frame_indices: Sequence[int]) -> dict:
    """COCO-style per-frame instances (``vistool segment``) as one JSON object.

    Args:
        records: per instance ``frame`` (position among the processed frames),
            ``label``, ``score``, ``bbox`` ``[x, y, w, h]`` and ``segmentation`` (RLE).
        result: the video (size, name, categories, file names).
        frame_indices: source frame index of every processed frame; one image each,
            also for frames without instances.
    """
    info = result.info
    names = result.file_names or []
    images = [{"id": position + 1, "frame_index": int(index), "width": info.width, "height": info.height,
               "file_name": names[position] if position < len(names) else f"{info.name}/{int(index):05d}.jpg"}
              for position, index in enumerate(frame_indices)]
    annotations = [{"id": k + 1, "image_id": int(r["frame"]) + 1, "category_id": category_id_of(r["label"]),
                    "score": float(r["score"]), "bbox": [float(v) for v in r["bbox"]],
                    "area": rle_io.area(r["segmentation"]), "segmentation": rle_io.normalize(r["segmentation"]),
                    "iscrowd": 0} for k, r in enumerate(records)]
    categories = [{"id": category_id_of(i), "name": name} for i, name in enumerate(result.categories)]
    return {"info": {"video": info.name, "source": info.source}, "images": images,
            "annotations": annotations, "categories": categories}


# ------------------------------------------------------------------ reading


def load_dataset(path: str | Path) -> YtvisDataset:
    """Read and validate a YouTube-VIS 2019/2021 or OVIS dataset JSON.

    Raises:
        InputError: the file is missing or unreadable.
        FormatError: naming the JSON path of the first schema problem.
    """
    what = "ground-truth dataset"
    try:
        return parse_dataset(read_json(path, what), source=str(path), fast_json=True)
    except InexactInteger:  # an id beyond 64 bits: the standard parser keeps it exact
        return parse_dataset(read_json(path, what, fast=False), source=str(path))


def parse_dataset(data: Any, source: str = "<dataset>", fast_json: bool = False) -> YtvisDataset:
    """Validate an already-parsed dataset JSON object (see :func:`load_dataset`).

    RLE strings are checked once for the whole file; a file with any problem is
    checked again mask by mask, so the error names the first problem in file order.
    ``fast_json``: ``data`` came from orjson (see :class:`InexactInteger`).
    """
    try:
        return _parse_dataset(Checker(source, defer_counts=True, fast_json=fast_json), data)
    except (FormatError, CountsDeferred):
        return _parse_dataset(Checker(source, fast_json=fast_json), data)


def _parse_dataset(check: Checker, data: Any) -> YtvisDataset:
    """:func:`parse_dataset` with one checker."""
    source = check.source
    if isinstance(data, list):
        check.fail("$", "expected a dataset object with 'videos', 'categories' and 'annotations', got a list "
                        "(is this a results file?)")
    check.obj(data, "$")
    videos = _parse_videos(check, check.array(check.key(data, "videos", "$"), "$.videos"))
    categories = _parse_categories(check, check.array(check.key(data, "categories", "$"), "$.categories"))
    raw_annotations = data.get("annotations") or []
    check.array(raw_annotations, "$.annotations")
    by_video = {v.id: v for v in videos}
    cat_ids = {c.id for c in categories}
    seen: dict[int, str] = {}
    annotations = [_parse_annotation(check, raw, f"$.annotations[{i}]", by_video, cat_ids, seen)
                   for i, raw in enumerate(raw_annotations)]
    check.verify_deferred()
    _check_occlusion_everywhere(check, annotations)
    if any(a.id == 0 for a in annotations):
        log.warning("%s: an annotation has id 0; the official evaluator (and vistool, to give the same numbers) "
                    "counts a match to it as a miss: number annotation ids from 1", source)
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    licenses = data.get("licenses") if isinstance(data.get("licenses"), list) else []
    return YtvisDataset(videos=videos, categories=categories, annotations=annotations, info=info,
                        licenses=licenses)


def _parse_videos(check: Checker, raw_videos: list) -> list[YtvisVideo]:
    videos, seen = [], {}
    for i, raw in enumerate(raw_videos):
        where = f"$.videos[{i}]"
        check.obj(raw, where)
        video_id = check.integer(check.key(raw, "id", where), f"{where}.id")
        check.unique(seen, video_id, f"{where}.id", "video id")
        width = check.integer(check.key(raw, "width", where), f"{where}.width", minimum=1)
        height = check.integer(check.key(raw, "height", where), f"{where}.height", minimum=1)
        names = raw.get("file_names")
        names = [] if names is None else [check.file_name(n, f"{where}.file_names[{k}]")
                                          for k, n in enumerate(check.array(names, f"{where}.file_names"))]
        if "length" in raw:
            length = check.integer(raw["length"], f"{where}.length", minimum=0)
            if names and len(names) != length:
                check.fail(f"{where}.file_names", f"has {len(names)} names, 'length' says {length}")
        elif names:
            length = len(names)
        else:
            check.fail(where, "missing key 'length' (and no 'file_names' to count the frames)")
        videos.append(YtvisVideo(id=video_id, width=width, height=height, length=length, file_names=names))
    return videos


def _parse_categories(check: Checker, raw_categories: list) -> list[YtvisCategory]:
    categories, seen = [], {}
    for i, raw in enumerate(raw_categories):
        where = f"$.categories[{i}]"
        check.obj(raw, where)
        cat_id = check.integer(check.key(raw, "id", where), f"{where}.id")
        check.unique(seen, cat_id, f"{where}.id", "category id")
        name = check.text(check.key(raw, "name", where), f"{where}.name")
        sup = raw.get("supercategory") or ""
        categories.append(YtvisCategory(id=cat_id, name=name, supercategory=str(sup)))
    return sorted(categories, key=lambda c: c.id)  # label i = the i-th smallest category id, everywhere


def _parse_annotation(check: Checker, raw: Any, where: str, videos: dict[int, YtvisVideo],
                      category_ids: set[int], seen: dict[int, str]) -> YtvisAnnotation:
    check.obj(raw, where)
    ann_id = check.integer(check.key(raw, "id", where), f"{where}.id")
    check.unique(seen, ann_id, f"{where}.id", "annotation id")
    video_id = check.integer(check.key(raw, "video_id", where), f"{where}.video_id")
    if video_id not in videos:
        check.fail(f"{where}.video_id", f"unknown video_id {video_id} (not in $.videos)")
    cat_id = check.integer(check.key(raw, "category_id", where), f"{where}.category_id")
    if cat_id not in category_ids:
        check.fail(f"{where}.category_id", f"unknown category_id {cat_id} (not in $.categories)")
    iscrowd = raw.get("iscrowd", 0)
    if iscrowd not in (0, 1):
        check.fail(f"{where}.iscrowd", f"expected 0 or 1, got {iscrowd!r}")
    video = videos[video_id]
    n, h, w = video.length, video.height, video.width
    segs = check.segmentations(check.per_frame(raw, "segmentations", where, n), f"{where}.segmentations", h, w,
                               polygons=True)
    if "areas" in raw and raw["areas"] is not None:
        areas = check.areas(check.per_frame(raw, "areas", where, n), f"{where}.areas")
    else:  # not in the file: computed from the masks
        areas = [None if s is None else float(rle_io.area(s)) for s in segs]
    if "bboxes" in raw and raw["bboxes"] is not None:
        boxes = check.bboxes(check.per_frame(raw, "bboxes", where, n), f"{where}.bboxes")
    else:
        boxes = [None if s is None else rle_io.to_bbox(s) for s in segs]
    occlusion = None
    if raw.get("occlusion") is not None:
        occlusion = [check.occlusion(o, f"{where}.occlusion[{f}]")
                     for f, o in enumerate(check.per_frame(raw, "occlusion", where, n))]
        if all(o is None for o in occlusion):
            check.fail(f"{where}.occlusion", "no frame has an occlusion label; the OVIS metric needs at least one")
    return YtvisAnnotation(id=ann_id, video_id=video_id, category_id=cat_id, segmentations=segs, areas=areas,
                           bboxes=boxes, iscrowd=int(iscrowd), occlusion=occlusion)


def _check_occlusion_everywhere(check: Checker, annotations: list[YtvisAnnotation]) -> None:
    with_labels = [i for i, a in enumerate(annotations) if a.occlusion is not None]
    if with_labels and len(with_labels) != len(annotations):
        missing = next(i for i, a in enumerate(annotations) if a.occlusion is None)
        check.fail(f"$.annotations[{missing}]", f"missing key 'occlusion' ($.annotations[{with_labels[0]}] has "
                                                "OVIS occlusion labels: all annotations need them, or none)")


def load_results(path: str | Path, dataset: YtvisDataset | None = None) -> list[ResultTrack]:
    """Read and validate a YouTube-VIS / OVIS results JSON (a list of tracks).

    With ``dataset``, every ``video_id`` must be one of its videos, each track
    must give one segmentation per frame of that video with the video's size,
    and tracks whose ``category_id`` is not a dataset category are dropped (as
    the official evaluator does; a warning is logged).

    Raises:
        InputError: the file is missing or unreadable.
        FormatError: naming the JSON path of the first problem.
    """
    try:
        return parse_results(read_json(path, "results"), dataset=dataset, source=str(path), fast_json=True)
    except InexactInteger:  # an id beyond 64 bits: the standard parser keeps it exact
        return parse_results(read_json(path, "results", fast=False), dataset=dataset, source=str(path))


def parse_results(data: Any, dataset: YtvisDataset | None = None, source: str = "<results>",
                  fast_json: bool = False) -> list[ResultTrack]:
    """Validate an already-parsed results list (see :func:`load_results`).

    RLE strings are checked once for the whole file; a file with any problem is
    checked again mask by mask, so the error names the first problem in file order.
    ``fast_json``: ``data`` came from orjson (see :class:`InexactInteger`).
    """
    try:
        tracks = _parse_results(Checker(source, defer_counts=True, fast_json=fast_json), data, dataset)
    except (FormatError, CountsDeferred):
        tracks = _parse_results(Checker(source, fast_json=fast_json), data, dataset)
    dropped = len(data) - len(tracks)
    if dropped:
        log.warning("%s: dropped %d of %d result tracks whose category_id is not a ground-truth category",
                    source, dropped, len(data))
    return tracks


def _parse_results(check: Checker, data: Any, dataset: YtvisDataset | None) -> list[ResultTrack]:
    """:func:`parse_results` with one checker; leaves out the tracks of unknown categories."""
    if isinstance(data, dict):
        check.fail("$", "expected a list of result tracks, got an object (is this a dataset file?)")
    check.array(data, "$")
    videos = dataset.videos_by_id() if dataset is not None else None
    cat_ids = {c.id for c in dataset.categories} if dataset is not None else None
    tracks = []
    for i, raw in enumerate(data):
        track = _parse_result(check, raw, f"$[{i}]", videos)
        if cat_ids is None or track.category_id in cat_ids:
            tracks.append(track)
    check.verify_deferred()
    return tracks


def _parse_result(check: Checker, raw: Any, where: str, videos: dict[int, YtvisVideo] | None) -> ResultTrack:
    check.obj(raw, where)
    video_id = check.integer(check.key(raw, "video_id", where), f"{where}.video_id")
    cat_id = check.integer(check.key(raw, "category_id", where), f"{where}.category_id")
    score = check.number(check.key(raw, "score", where), f"{where}.score")
    raw_segs = check.array(check.key(raw, "segmentations", where), f"{where}.segmentations")
    if videos is not None:
        if video_id not in videos:
            check.fail(f"{where}.video_id", f"results do not correspond to the ground truth: video_id {video_id} "
                                            "is not a video of the ground-truth dataset")
        video = videos[video_id]
        check.per_frame(raw, "segmentations", where, video.length)
        height, width = video.height, video.width
    else:  # no dataset: every mask of the track must have the size of its first mask
        first = next((s for s in raw_segs if isinstance(s, dict)), None)
        size = first.get("size") if first is not None else None
        height, width = size if isinstance(size, list) and len(size) == 2 else (None, None)
    segs = check.segmentations(raw_segs, f"{where}.segmentations", height, width, polygons=False)
    return ResultTrack(video_id=video_id, category_id=cat_id, score=score, segmentations=segs)


# ------------------------------------------------------------------ writing


def results_to_json(tracks: Sequence[ResultTrack]) -> list[dict]:
    """JSON-ready results entries (compressed RLE with str counts, null where absent)."""
    return [{"video_id": int(t.video_id), "score": float(t.score), "category_id": int(t.category_id),
             "segmentations": [None if s is None else rle_io.normalize(s) for s in t.segmentations]}
            for t in tracks]


def write_results(path: str | Path, tracks: Sequence[ResultTrack]) -> None:
    """Write a YouTube-VIS results file atomically."""
    write_json(path, results_to_json(tracks))


def dataset_to_json(dataset: YtvisDataset) -> dict:
    """The JSON object of a dataset (per-frame compressed RLE, areas, boxes, OVIS occlusion)."""
    videos = {v.id: v for v in dataset.videos}
    annotations = []
    for a in dataset.annotations:
        video = videos[a.video_id]
        entry = {"id": int(a.id), "video_id": int(a.video_id), "category_id": int(a.category_id),
                 "iscrowd": int(a.iscrowd), "height": video.height, "width": video.width, "length": video.length,
                 "segmentations": [None if s is None else rle_io.normalize(s) for s in a.segmentations],
                 "areas": [None if v is None else float(v) for v in a.areas],
                 "bboxes": [None if b is None else [float(v) for v in b] for b in a.bboxes]}
        if a.occlusion is not None:
            entry["occlusion"] = list(a.occlusion)
        annotations.append(entry)
    return {
        "info": dict(dataset.info), "licenses": list(dataset.licenses),
        "videos": [{"id": int(v.id), "width": int(v.width), "height": int(v.height), "length": int(v.length),
                    "file_names": list(v.file_names)} for v in dataset.videos],
        "categories": [{"id": int(c.id), "name": c.name, "supercategory": c.supercategory}
                       for c in dataset.categories],
        "annotations": annotations,
    }


def write_dataset(path: str | Path, dataset: YtvisDataset) -> None:
    """Write a YouTube-VIS / OVIS dataset JSON atomically."""
    write_json(path, dataset_to_json(dataset))
