"""Where each video of a batch writes, decided before any work starts.

No output of a run may be overwritten by another input of the same run. Every
way two inputs could land on one output is checked here, before a model is
built, and stops the run with a one-line :class:`~vistool.errors.InputError`:

- an output folder gets ``<name>.json`` (and ``<name>.mp4`` overlays) per video:
  two videos with one name (``a/x.mp4`` and ``b/x.mp4``, ``x.mp4`` and a frame
  folder ``x/``, names that differ only in case, a video of a split folder and a
  file of the same name) are refused;
- one results file (``-o FILE.json``) holds every video as one YouTube-VIS
  results list; each video needs its own id: the dataset ids of split-folder
  inputs, else 1..N in input order; mixing the two, or one dataset id twice, is
  refused; so are several videos with one overlay file, and ``segment`` (whose
  per-frame files are per video) with several videos.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vistool.engine.infer import FrameSource
from vistool.engine.sources import source_name
from vistool.errors import InputError
from vistool.io.safe_path import safe_join


@dataclass(frozen=True)
class PlannedVideo:
    """One video of a batch and where it goes.

    Attributes:
        item: the expanded input (a FrameSource, or a path/URL opened lazily).
        name: its output name (file stem, folder name, dataset video name).
        target: its per-video result file (folder output) or the shared results file.
        overlay: its overlay MP4, or None.
        video_id: its id in a shared results file (None for folder output).
    """

    item: FrameSource | str
    name: str
    target: Path
    overlay: Path | None
    video_id: int | None


def _label(item: FrameSource | str) -> str:
    """How an input is named in messages."""
    if isinstance(item, FrameSource):
        return f"{item.info.source} (dataset id {item.dataset_id})" if item.dataset_id is not None else item.info.source
    return str(item)


def _same_files_once(items: list[FrameSource | str]) -> list[FrameSource | str]:
    """Drop repeated inputs that are one file written two ways (``a.mp4`` and ``./a.mp4``)."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = os.path.realpath(item) if isinstance(item, str) and os.path.exists(item) else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        out.append(item)
    return out


def _check_unique_names(items: list[FrameSource | str], names: list[str], folder: Path, suffix: str) -> None:
    """Refuse two videos that would write the same file of an output folder (case-insensitively)."""
    first: dict[str, FrameSource | str] = {}
    for item, name in zip(items, names):
        key = name.casefold()
        if key in first:
            raise InputError(f"{_label(first[key])} and {_label(item)} would both write {folder / name}{suffix}; "
                             "rename one of them or run them into different output folders")
        first[key] = item


def _video_ids(items: list[FrameSource | str]) -> list[int]:
    """Ids of the videos in one shared results file: dataset ids, else 1..N in input order."""
    ids = [item.dataset_id if isinstance(item, FrameSource) else None for item in items]
    if all(i is None for i in ids):
        return list(range(1, len(items) + 1))
    if any(i is None for i in ids):
        plain = _label(items[ids.index(None)])
        raise InputError(f"{plain} has no dataset id while other inputs come from a dataset, so one results "
                         "file cannot number them; use an output folder (-o DIR) and 'vistool export-json'")
    first: dict[int, FrameSource | str] = {}
    for item, video_id in zip(items, ids):
        if video_id in first:
            raise InputError(f"{_label(first[video_id])} and {_label(item)} both have dataset id {video_id}; "
                             "give each split folder once")
        first[video_id] = item
    return [int(i) for i in ids]


def plan_outputs(items: list[FrameSource | str], output: Path, overlay: Path | None, single_file: bool,
                 track: bool = True) -> list[PlannedVideo]:
    """Decide every video's outputs; raise before any work if two would collide.

    Args:
        items: expanded inputs (see :func:`vistool.engine.sources.expand_sources`).
        output: the results file (``single_file``) or the output folder.
        overlay: the overlay file (one video) or folder, or None.
        single_file: True when ``output`` is one ``.json`` file.
        track: False for ``segment`` (per-frame files, one per video).

    Raises:
        InputError: two videos would share an output, or ids cannot be assigned.
    """
    items = _same_files_once(items)
    names = [source_name(item) for item in items]
    several = len(items) > 1
    if single_file and several and not track:
        raise InputError(f"--output {output}: segment writes one file per video; give an output folder "
                         f"for these {len(items)} videos")
    if single_file and several and overlay is not None and overlay.suffix:
        raise InputError(f"--overlay {overlay}: {len(items)} videos need an overlay folder, not one file")
    if not single_file:
        _check_unique_names(items, names, output, ".json")
    elif overlay is not None and several:
        _check_unique_names(items, names, overlay, ".mp4")
    ids = _video_ids(items) if single_file else [None] * len(items)
    planned = []
    for item, name, video_id in zip(items, names, ids):
        target = output if single_file else safe_join(output, f"{name}.json")
        if overlay is None:
            video_overlay = None
        else:
            video_overlay = overlay if single_file and not several else safe_join(overlay, f"{name}.mp4")
        planned.append(PlannedVideo(item, name, target, video_overlay, video_id))
    return planned
