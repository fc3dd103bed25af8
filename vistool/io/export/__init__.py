"""Assemble the per-video result files of ``vistool track`` into one export file.

``vistool track INPUTS -o OUT_DIR`` writes one :mod:`vistool.io.video_result`
file per video. :func:`export` reads them all and writes one of ``FORMATS``:

- ``submission``: a YouTube-VIS results JSON (``--zip``: ``results.json`` in a zip),
  see :mod:`vistool.io.export.submission`;
- ``prelabel``: a YouTube-VIS dataset (annotation) JSON, see :mod:`.prelabel`;
- ``cvat-mots``: a CVAT-importable MOTS PNG zip, see :mod:`.mots`;
- ``coco``: COCO per-frame instances JSON with track ids, see :mod:`.coco`.

The decisions shared by all formats live here: which files are results
(:func:`load_results`), which id each video gets and which category id each
label gets (:func:`make_plan`), the per-frame image names, and frame decoding
for ``--with-images``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from vistool.errors import FormatError, InputError
from vistool.io import rle, video_result
from vistool.io.export.types import ExportPlan, ExportVideo
from vistool.io.ytvis import YtvisDataset, YtvisVideo, load_dataset
from vistool.structures import TrackResult, VideoResult

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    "submission": "vistool.io.export.submission",
    "prelabel": "vistool.io.export.prelabel",
    "cvat-mots": "vistool.io.export.mots",
    "coco": "vistool.io.export.coco",
}
_FORMAT_MARK = re.compile(r'"format"\s*:\s*"' + re.escape(video_result.FORMAT) + '"')


@dataclass(frozen=True)
class ExportOptions:
    """What :func:`export` writes.

    Attributes:
        format: one of ``FORMATS``.
        dataset: optional YouTube-VIS dataset JSON whose video and category ids to use.
        zip: submission only: write ``results.json`` inside a zip named like the output.
        score_threshold: drop tracks whose video-level score is below it.
        with_images: prelabel / cvat-mots / coco: also write the decoded frames as JPEG.
        classes_per_track: submission only: list each track under up to this many categories,
            its label first, then its next-best categories by video-level score (tracks
            without per-category scores are listed once; entries below ``score_threshold``
            are left out).
        classes: category names whose tracks are kept (by each track's label); empty keeps all.
            The output's category list stays whole, so ids do not depend on the choice.
    """

    format: str = "submission"
    dataset: str | Path | None = None
    zip: bool = False
    score_threshold: float = 0.0
    with_images: bool = False
    classes_per_track: int = 1
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroundTruth:
    """A YouTube-VIS dataset JSON whose ids an export takes.

    Attributes:
        path: the dataset file.
        dataset: its videos and categories (validated by :func:`vistool.io.ytvis.load_dataset`).
        by_name: video name (folder of its first frame) -> video.
    """

    path: Path
    dataset: YtvisDataset
    by_name: dict[str, YtvisVideo]

    @property
    def categories(self) -> list[tuple[int, str]]:
        """``(id, name)`` in file order."""
        return [(c.id, c.name) for c in self.dataset.categories]


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export` wrote."""

    output: Path
    format: str
    videos: int
    tracks: int


# ----------------------------------------------------------------- reading


def _is_result_file(path: Path) -> bool:
    """True for a vistool per-video result; False for other JSON; FormatError for broken JSON."""
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8", errors="replace")
    if _FORMAT_MARK.search(head):
        return True
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(str(path), "$", f"not valid JSON ({exc}); remove the file or rerun 'vistool track'") from None
    return isinstance(data, dict) and data.get("format") == video_result.FORMAT


def load_results(out_dir: str | Path) -> list[tuple[Path, VideoResult]]:
    """Read every per-video result file of ``out_dir``, sorted by video name.

    ``*.meta.json`` files and JSON files of other formats are skipped.

    Raises:
        InputError: the folder does not exist or holds no result files, or two files share a video name.
        FormatError: a result file is corrupt.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"{out_dir}: no such folder; give the OUT_DIR of 'vistool track -o OUT_DIR'")
    candidates = sorted(p for p in out_dir.glob("*.json") if p.is_file() and not p.name.endswith(".meta.json"))
    results = [(p, video_result.read(p)) for p in candidates if _is_result_file(p)]
    if not results:
        raise InputError(f"{out_dir}: no per-video result files ({video_result.FORMAT} *.json); "
                         f"run 'vistool track INPUTS -o {out_dir}' first")
    seen: dict[str, Path] = {}
    for path, result in results:
        if result.info.name in seen:
            raise InputError(f"{path} and {seen[result.info.name]} both hold video '{result.info.name}'; "
                             "keep one of them")
        seen[result.info.name] = path
    results.sort(key=lambda item: item[1].info.name)
    log.info("read %d result files from %s", len(results), out_dir)
    return results


def video_name(file_names: list[str]) -> str:
    """Name of a dataset video: the folder of its first frame."""
    return Path(file_names[0]).parent.name


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read and validate a YouTube-VIS dataset JSON (``--dataset``).

    Raises:
        InputError: the file does not exist.
        FormatError: it is not a valid YouTube-VIS dataset JSON.
    """
    dataset = load_dataset(path)
    by_name: dict[str, YtvisVideo] = {}
    for video in dataset.videos:
        if video.file_names:
            by_name.setdefault(video_name(video.file_names), video)
    return GroundTruth(path=Path(path), dataset=dataset, by_name=by_name)


# ----------------------------------------------------------------- planning


def _filtered(path: Path, result: VideoResult, score_threshold: float, classes: tuple[str, ...] = ()) -> VideoResult:
    """The result without tracks below ``score_threshold`` or (when ``classes`` is given) of other
    categories; checks labels and track ids."""
    seen: set[int] = set()
    for i, track in enumerate(result.tracks):
        if not 0 <= track.label < len(result.categories):
            raise FormatError(str(path), f"$.tracks[{i}].label",
                              f"label {track.label} is outside the {len(result.categories)} categories")
        if track.track_id in seen:
            raise FormatError(str(path), f"$.tracks[{i}].track_id", f"track id {track.track_id} appears twice")
        seen.add(track.track_id)
    kept = [t for t in result.tracks if t.score >= score_threshold
            and (not classes or result.categories[t.label] in classes)]
    return dataclasses.replace(result, tracks=kept)


def _check_classes(results: list[tuple[Path, VideoResult]], classes: tuple[str, ...]) -> None:
    """Every name of ``--classes`` must be a category of the results (a typo would silently drop all)."""
    known = {name for _, result in results for name in result.categories}
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise InputError(f"--classes {','.join(unknown)}: not a category of the results; "
                         f"categories: {', '.join(sorted(known))}")


def _match_dataset(path: Path, result: VideoResult, gt: GroundTruth) -> YtvisVideo:
    """The dataset video of a result: by its dataset id when it has one, else by name."""
    if result.dataset_id is not None:
        for video in gt.dataset.videos:
            if video.id == int(result.dataset_id):
                return video
        raise InputError(f"video '{result.info.name}' ({path}) has dataset id {result.dataset_id}, "
                         f"which is not in {gt.path}; check that both belong to the same split")
    video = gt.by_name.get(result.info.name)
    if video is None:
        raise InputError(f"video '{result.info.name}' ({path}) is not in {gt.path}; "
                         "check that the results and the dataset belong to the same split")
    return video


def _video_ids(results: list[tuple[Path, VideoResult]], gt: GroundTruth | None,
               warn_sequential: bool) -> list[tuple[int, list[str] | None]]:
    """Per result: its output video id and the dataset's file names (when a dataset is given)."""
    if gt is not None:
        out = []
        for path, result in results:
            video = _match_dataset(path, result, gt)
            if video.length != result.num_frames:
                raise InputError(f"video '{result.info.name}' has {result.num_frames} frames in {path} but "
                                 f"{video.length} in {gt.path}; rerun 'vistool track' on every frame of this video")
            out.append((video.id, list(video.file_names) or None))
        done = {vid for vid, _ in out}
        missing = [video_name(v.file_names) if v.file_names else f"id {v.id}"
                   for v in gt.dataset.videos if v.id not in done]
        if missing:
            shown = ", ".join(sorted(missing)[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            log.warning("%d of %d videos of %s have no result: %s", len(missing), len(gt.dataset.videos),
                        gt.path, shown)
        return out
    known = [r.dataset_id is not None for _, r in results]
    if all(known):
        return [(int(r.dataset_id), None) for _, r in results]
    if any(known):
        path = results[known.index(False)][0]
        raise InputError(f"{path} has no dataset id while other result files have one; "
                         "pass --dataset GT.json to match videos by name")
    (log.warning if warn_sequential else log.info)(
        "the result files carry no dataset ids: numbering the %d videos 1..%d in name order "
        "(pass --dataset GT.json to use a dataset's ids)", len(results), len(results))
    return [(i + 1, None) for i in range(len(results))]


def _categories(results: list[tuple[Path, VideoResult]], gt: GroundTruth | None
                ) -> tuple[list[tuple[int, str]], list[list[int | None]]]:
    """Output categories and, per result, the category id of each label."""
    if gt is not None:
        by_name = {name: cid for cid, name in gt.categories}
        per_video = [[by_name.get(name) for name in r.categories] for _, r in results]
        return sorted(gt.categories), per_video
    first_path, first = results[0]
    for path, result in results[1:]:
        if list(result.categories) != list(first.categories):
            raise InputError(f"{path} and {first_path} have different category lists; "
                             "pass --dataset GT.json to map categories by name")
    ids = [i + 1 for i in range(len(first.categories))]
    return list(zip(ids, first.categories)), [list(ids) for _ in results]


def frame_names(result: VideoResult, dataset_names: list[str] | None, path: Path) -> list[str]:
    """Per-frame image names: the result's, else the dataset's, else ``<video>/<frame:05d>.jpg``."""
    names = result.file_names if result.file_names is not None else dataset_names
    if names is None:
        return [f"{result.info.name}/{i:05d}.jpg" for i in range(result.num_frames)]
    if len(names) != result.num_frames:
        raise FormatError(str(path), "$.video.file_names", f"has {len(names)} names for {result.num_frames} frames")
    return list(names)


def make_plan(results: list[tuple[Path, VideoResult]], gt: GroundTruth | None = None,
              score_threshold: float = 0.0, warn_sequential: bool = False,
              classes: tuple[str, ...] = ()) -> ExportPlan:
    """Decide video ids, category ids and frame names for ``results`` (sorted by name), keeping the
    tracks that reach ``score_threshold`` and, when ``classes`` is given, whose category it names.

    Raises:
        InputError: a video or a used category is not in ``gt``, frame counts differ, a name of
            ``classes`` is no category of the results, or (without ``gt``) the files disagree on
            categories or only some have dataset ids.
    """
    _check_classes(results, classes)
    filtered = [(p, _filtered(p, r, score_threshold, classes)) for p, r in results]
    ids = _video_ids(filtered, gt, warn_sequential)
    categories, per_video = _categories(filtered, gt)
    videos = []
    for (path, result), (video_id, gt_names), cat_ids in zip(filtered, ids, per_video):
        for track in result.tracks:
            if cat_ids[track.label] is None:
                raise InputError(f"{path}: category '{result.categories[track.label]}' is not in "
                                 f"{gt.path if gt else 'the dataset'}; use a dataset with this category")
        videos.append(ExportVideo(path, result, video_id, frame_names(result, gt_names, path), cat_ids))
    seen: dict[int, str] = {}
    for video in videos:
        if video.video_id in seen:
            hint = "remove one of them" if gt is not None else "pass --dataset GT.json to assign ids by name"
            raise InputError(f"videos '{seen[video.video_id]}' and '{video.name}' both have id {video.video_id}; "
                             f"{hint}")
        seen[video.video_id] = video.name
    return ExportPlan(videos=videos, categories=categories)


def frame_rle(video: ExportVideo, track: TrackResult, index: int) -> dict | None:
    """The track's mask at frame ``index`` as compressed RLE (str counts); None when absent.

    Raises:
        FormatError: the RLE's size is not the video's (H, W).
    """
    seg = track.segmentations[index]
    if seg is None:
        return None
    info = video.result.info
    try:
        seg = rle.normalize(seg)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(str(video.path), f"$.tracks[track_id={track.track_id}].segmentations[{index}]",
                          f"not an RLE ({exc})") from None
    if list(seg["size"]) != [info.height, info.width]:
        raise FormatError(str(video.path), f"$.tracks[track_id={track.track_id}].segmentations[{index}]",
                          f"RLE size {seg['size']} is not the video's [{info.height}, {info.width}]")
    return seg


# frames: moved to vistool.io.export.frames, re-exported here (public import path unchanged)
from vistool.io.export.frames import encode_jpeg, frame_targets, iter_frames, write_frames  # noqa: E402,F401


# ----------------------------------------------------------------- entry point


def _check_options(output: Path, options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise InputError(f"--format {options.format}: unknown format; choose one of {', '.join(FORMATS)}")
    if output.is_dir():
        raise InputError(f"-o {output}: is a folder; give a file path")
    if options.zip and options.format != "submission":
        raise InputError("--zip applies to --format submission only (cvat-mots is always a zip)")
    if options.with_images and options.format == "submission":
        raise InputError("--with-images applies to --format prelabel, cvat-mots and coco, not submission")
    if not 0.0 <= options.score_threshold <= 1.0:
        raise InputError(f"--score-threshold {options.score_threshold}: must be within [0, 1]")
    if options.classes_per_track < 1:
        raise InputError(f"--classes-per-track {options.classes_per_track}: must be >= 1")
    if options.classes_per_track > 1 and options.format != "submission":
        raise InputError(f"--classes-per-track applies to --format submission only, not {options.format}")


def export(out_dir: str | Path, output: str | Path, options: ExportOptions = ExportOptions()) -> ExportSummary:
    """Read the per-video results of ``out_dir`` and write ``output`` in ``options.format``.

    Every file is written atomically: an interrupted export leaves no partial output.

    Raises:
        InputError: bad options, no results, or results that do not fit the dataset.
        FormatError: a corrupt result or dataset file.
    """
    output = Path(output)
    _check_options(output, options)
    results = load_results(out_dir)
    gt = read_ground_truth(options.dataset) if options.dataset is not None else None
    plan = make_plan(results, gt, options.score_threshold, warn_sequential=options.format == "submission",
                     classes=options.classes)
    writer = importlib.import_module(FORMATS[options.format])
    writer.write(plan, output, options)
    tracks = sum(len(v.result.tracks) for v in plan.videos)
    log.info("wrote %s (%s): %d videos, %d tracks", output, options.format, len(plan.videos), tracks)
    return ExportSummary(output=output, format=options.format, videos=len(plan.videos), tracks=tracks)


__all__ = ["FORMATS", "ExportOptions", "ExportPlan", "ExportSummary", "ExportVideo", "GroundTruth", "export",
           "frame_names", "frame_rle", "frame_targets", "iter_frames", "load_results", "make_plan",
           "read_ground_truth", "write_frames"]
