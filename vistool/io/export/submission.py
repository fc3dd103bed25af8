"""YouTube-VIS results JSON: what the evaluation server and ``vistool evaluate`` read.

A list of ``{"video_id", "category_id", "score", "segmentations"}``, one entry
per track (or, with ``--classes-per-track K``, up to K per track: the same masks
under its next-best categories, as query-based VIS methods submit their top
(query, class) pairs), with 1-based (or dataset) category ids and one RLE or
``null`` per frame. ``--zip`` writes it as ``results.json`` at the root of a zip, which is
what the YouTube-VIS / OVIS CodaLab servers expect.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from vistool.io.atomic import atomic_path
from vistool.io.export import ExportOptions, ExportPlan, frame_rle
from vistool.io.ytvis import ResultTrack, results_to_json, write_results
from vistool.structures import TrackResult

ZIP_MEMBER = "results.json"


def track_categories(track: TrackResult, category_ids: list[int | None], limit: int, score_threshold: float
                     ) -> list[tuple[int, float]]:
    """``(category id, score)`` of up to ``limit`` entries for a track: its label, then runner-up categories.

    Runner-ups come from ``track.class_scores`` in decreasing score; a category that is not in the
    output (id None), scores zero or is below ``score_threshold`` is skipped.
    """
    entries = [(int(category_ids[track.label]), float(track.score))]
    if limit > 1 and track.class_scores is not None:
        ranked = sorted(range(len(track.class_scores)), key=lambda c: -track.class_scores[c])
        for label in ranked:
            score = float(track.class_scores[label])
            if len(entries) == limit or score <= 0.0 or score < score_threshold:
                break
            if label != track.label and category_ids[label] is not None:
                entries.append((int(category_ids[label]), score))
    return entries


def build(plan: ExportPlan, classes_per_track: int = 1, score_threshold: float = 0.0) -> list[ResultTrack]:
    """Results entries of every track of every video, in video then track order (RLE sizes checked);
    a track gives up to ``classes_per_track`` entries with the same masks (see :func:`track_categories`)."""
    out = []
    for video in plan.videos:
        for track in video.result.tracks:
            segmentations = [frame_rle(video, track, i) for i in range(video.result.num_frames)]
            for category_id, score in track_categories(track, video.category_ids, classes_per_track,
                                                       score_threshold):
                out.append(ResultTrack(video_id=video.video_id, category_id=category_id, score=score,
                                       segmentations=segmentations))
    return out


def write_zip(path: str | Path, tracks: list[ResultTrack]) -> None:
    """Write ``tracks`` as ``results.json`` inside the zip ``path``, atomically."""
    with atomic_path(path, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open(ZIP_MEMBER, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
                json.dump(results_to_json(tracks), handle, separators=(",", ":"))


def write(plan: ExportPlan, output: Path, options: ExportOptions) -> None:
    """Write the submission JSON (or zip with ``options.zip``) to ``output``."""
    tracks = build(plan, options.classes_per_track, options.score_threshold)
    if options.zip:
        write_zip(output, tracks)
    else:
        write_results(output, tracks)
