"""The per-video result file that ``vistool track`` writes into its output folder.

One JSON object per video (``<OUT_DIR>/<video name>.json``)::

    {"format": "vistool-video-result", "version": 1,
     "video": {"name", "source", "width", "height", "fps", "num_frames",
               "dataset_id", "file_names"},
     "categories": ["name", ...],            # label i is categories[i]
     "meta": {...},                          # method, config, weights sha256, version
     "tracks": [{"track_id", "label", "score",
                 "class_scores": [score per category] (optional),
                 "segmentations": [RLE | null per frame]}]}

Labels here are 0-based like in memory; ``vistool export-json`` turns the files
into YouTube-VIS submissions (1-based category ids) and annotation-tool files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vistool.errors import FormatError
from vistool.io.atomic import write_json
from vistool.io.ytvis_schema import Checker, quoted_name
from vistool.structures import TrackResult, VideoInfo, VideoResult

FORMAT = "vistool-video-result"
VERSION = 1


def to_json(result: VideoResult) -> dict[str, Any]:
    """The JSON object of one video's result."""
    info = result.info
    return {
        "format": FORMAT,
        "version": VERSION,
        "video": {
            "name": info.name, "source": info.source, "width": info.width, "height": info.height,
            "fps": info.fps, "num_frames": result.num_frames,
            "dataset_id": result.dataset_id, "file_names": result.file_names,
        },
        "categories": list(result.categories),
        "meta": result.meta,
        "tracks": [_track_json(t) for t in result.tracks],
    }


def _track_json(track: TrackResult) -> dict[str, Any]:
    out: dict[str, Any] = {"track_id": track.track_id, "label": track.label, "score": track.score}
    if track.class_scores is not None:
        out["class_scores"] = track.class_scores
    out["segmentations"] = track.segmentations
    return out


def _class_scores(track: dict, num_categories: int, path: str, where: str) -> list[float] | None:
    """The optional per-category scores of a track, checked."""
    scores = track.get("class_scores")
    if scores is None:
        return None
    if (not isinstance(scores, list) or len(scores) != num_categories
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores)):
        raise FormatError(path, f"{where}.class_scores", f"must be a list of {num_categories} numbers")
    return [float(v) for v in scores]


def write(path: str | Path, result: VideoResult) -> None:
    """Write one video's result atomically."""
    write_json(path, to_json(result))


def _require(obj: dict, key: str, path: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FormatError(path, where, f"missing key '{key}'")
    return obj[key]


def _video_name(video: dict, path: str) -> str:
    """``$.video.name``: one plain folder name (it names the video's folder in exports)."""
    name = Checker(path).file_name(_require(video, "name", path, "$.video"), "$.video.name")
    if "/" in name:
        raise FormatError(path, "$.video.name",
                          f"unsafe video name {quoted_name(name)}: a video name is one folder name, without '/'")
    return name


def _file_names(video: dict, path: str) -> list[str] | None:
    """``$.video.file_names``: null or one safe relative file name per frame."""
    names = video.get("file_names")
    if names is None:
        return None
    check = Checker(path)
    return [check.file_name(n, f"$.video.file_names[{k}]")
            for k, n in enumerate(check.array(names, "$.video.file_names"))]


def read(path: str | Path) -> VideoResult:
    """Read a per-video result file written by :func:`write`.

    The video name and the file names follow the file-name rule of
    :func:`vistool.io.ytvis_schema.file_name_problem`: they decide where exports write.

    Raises:
        FormatError: when the file is not valid JSON or not a vistool per-video result, or
            when its video name or a file name is not a safe relative name.
    """
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise FormatError(path, "$", "file not found") from None
    except json.JSONDecodeError as exc:
        raise FormatError(path, "$", f"invalid JSON at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FormatError(path, "$.format", f"not a {FORMAT} file")
    video = _require(data, "video", path, "$")
    num_frames = int(_require(video, "num_frames", path, "$.video"))
    info = VideoInfo(
        name=_video_name(video, path),
        source=str(video.get("source", "")),
        width=int(_require(video, "width", path, "$.video")),
        height=int(_require(video, "height", path, "$.video")),
        fps=video.get("fps"),
        num_frames=num_frames,
    )
    categories = list(_require(data, "categories", path, "$"))
    tracks = []
    for i, t in enumerate(_require(data, "tracks", path, "$")):
        where = f"$.tracks[{i}]"
        segs = _require(t, "segmentations", path, where)
        if len(segs) != num_frames:
            raise FormatError(path, f"{where}.segmentations", f"has {len(segs)} entries, expected {num_frames}")
        tracks.append(TrackResult(track_id=int(_require(t, "track_id", path, where)),
                                  label=int(_require(t, "label", path, where)),
                                  score=float(_require(t, "score", path, where)), segmentations=segs,
                                  class_scores=_class_scores(t, len(categories), path, where)))
    return VideoResult(info=info, tracks=tracks, num_frames=num_frames, categories=categories,
                       dataset_id=video.get("dataset_id"), file_names=_file_names(video, path),
                       meta=data.get("meta", {}))
