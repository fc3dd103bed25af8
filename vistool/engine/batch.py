"""Run a method over many videos.

Where every video writes is decided first (:mod:`vistool.engine.outputs`: two
videos never share an output). Into an output folder each video's result is
written as soon as it is done, after claiming the video
(:mod:`vistool.engine.shard`), so concurrent or sharded runs process each video
once; finished videos are skipped on a rerun unless ``overwrite`` is set. Into
one results file every video's tracks are written together at the end. A failure
in one video (a corrupt file, say) is recorded and the batch goes on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vistool import __version__
from vistool.engine.infer import FrameCollector, FrameSource, InferOptions, run_video
from vistool.engine.outputs import PlannedVideo, plan_outputs
from vistool.engine.shard import ClaimBoard, Shard, env_device
from vistool.engine.sources import expand_sources, open_source
from vistool.errors import InputError, VistoolError
from vistool.io import video_result
from vistool.io.atomic import write_json
from vistool.structures import VideoResult

log = logging.getLogger(__name__)


class Reporter(Protocol):
    """Progress display of a batch (the CLI passes a rich one)."""

    def start_video(self, name: str, total_frames: int | None) -> None: ...
    def advance(self, frames: int) -> None: ...
    def end_video(self, name: str, ok: bool, message: str = "") -> None: ...


class SilentReporter:
    """A reporter that shows nothing (library use, tests)."""

    def start_video(self, name: str, total_frames: int | None) -> None:
        pass

    def advance(self, frames: int) -> None:
        pass

    def end_video(self, name: str, ok: bool, message: str = "") -> None:
        pass


@dataclass
class BatchJob:
    """What ``vistool track``/``segment`` was asked to do.

    Attributes:
        inputs: CLI inputs (files, folders, globs, split folders, webcam, URLs).
        method, weights, device: which model to run, and where (method None: the
            checkpoint's own method).
        output: a results .json (single_file) or an output folder.
        overlay: overlay MP4 (single file) or folder of overlays, or None.
        options: frame selection and thresholds.
        single_file: True when ``output`` is one results file.
        overwrite: re-run videos whose result exists.
        settings: ``KEY=VALUE`` changes of the model's config.
        shard: the part of the expanded videos this run processes (all by default).
    """

    inputs: list[str]
    method: str | None
    weights: str | None
    output: Path
    overlay: Path | None
    device: str
    options: InferOptions
    single_file: bool
    overwrite: bool = False
    settings: tuple[str, ...] = ()
    shard: Shard = Shard()


@dataclass
class BatchSummary:
    """Outcome of a batch: counts and the failures with their errors."""

    total: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)  # held by another run on the same output folder
    failed: list[tuple[str, VistoolError]] = field(default_factory=list)


def build_model(method: str | None, weights: str | None, device: str, settings: tuple[str, ...] = ()):
    """Build a method's model with its weights (the bundled ones when ``weights`` is None) and ``KEY=VALUE``
    settings applied to its config; return it and its :class:`~vistool.methods.build.Provenance`.
    torchvision is imported without torch._dynamo and the heap is frozen afterwards
    (:mod:`vistool.engine.fast_import`)."""
    from vistool.engine.fast_import import frozen_heap, import_torchvision

    import_torchvision()
    with frozen_heap():
        from vistool.methods.build import load_model

        return load_model(method, weights, device, settings)


def resolve_device(name: str) -> str:
    """``auto`` becomes ``cuda`` when available, else ``cpu``; under a launcher that sets LOCAL_RANK,
    ``auto`` and ``cuda`` become ``cuda:LOCAL_RANK``; others are checked."""
    import torch

    name = env_device(name)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise InputError(f"--device {name}: expected cpu, cuda, cuda:N, mps or auto")
    return name


def run_batch(job: BatchJob, reporter: Reporter | None = None, model=None, provenance=None) -> BatchSummary:
    """Run ``job``; return what was done, skipped and what failed.

    ``model`` (with its ``provenance``, for the ``.meta.json``) is built from the job when not given.

    Outputs are planned (and collisions refused) before the model is built; with
    an output folder each video is claimed first, so concurrent runs share the work.
    """
    reporter = reporter or SilentReporter()
    items = expand_sources(job.inputs)
    if not items:
        raise InputError(f"no videos found in: {' '.join(job.inputs)}")
    if job.single_file and job.shard.count > 1:
        raise InputError(f"--output {job.output}: a sharded run ({job.shard}) needs an output folder; "
                         "merge the shards with 'vistool export-json DIR'")
    planned = plan_outputs(items, job.output, job.overlay, job.single_file, job.options.track)
    mine = job.shard.select(planned)
    summary = BatchSummary(total=len(mine))
    if not mine:
        log.warning("shard %s of %d videos holds no video", job.shard, len(planned))
        return summary
    if model is None:
        model, provenance = build_model(job.method, job.weights, resolve_device(job.device), job.settings)
    if job.single_file:
        _run_into_file(job, (model, provenance), mine, reporter, summary)
    else:
        board = ClaimBoard(job.output)
        for video in mine:
            _run_claimed(job, (model, provenance), video, board, reporter, summary)
    return summary


def _failed(summary: BatchSummary, reporter: Reporter, name: str, exc: VistoolError) -> None:
    log.error("%s", exc)
    reporter.end_video(name, ok=False, message=str(exc))
    summary.failed.append((name, exc))


def _run_claimed(job: BatchJob, loaded: tuple, video: PlannedVideo, board: ClaimBoard, reporter: Reporter,
                 summary: BatchSummary) -> None:
    """Process one video into the output folder unless it is finished or claimed by another run."""
    if video.target.exists() and not job.overwrite:
        summary.skipped.append(video.name)
        return
    claim = board.claim(video.name)
    if claim is None:
        summary.claimed.append(video.name)
        return
    try:
        if video.target.exists() and not job.overwrite:  # finished by another run since the check above
            summary.skipped.append(video.name)
            return
        result = _run_one(job, loaded, open_source(video.item), video.overlay, reporter)
        _write(job, video.target, result)
        summary.done.append(video.name)
    except VistoolError as exc:
        if summary.total == 1:
            raise
        _failed(summary, reporter, video.name, exc)
    finally:
        claim.release()


def _run_into_file(job: BatchJob, loaded: tuple, videos: list[PlannedVideo], reporter: Reporter,
                   summary: BatchSummary) -> None:
    """Process every video into one results file, written once at the end (also when some failed)."""
    finished: list[tuple[PlannedVideo, tuple]] = []
    for video in videos:
        try:
            finished.append((video, _run_one(job, loaded, open_source(video.item), video.overlay, reporter)))
            summary.done.append(video.name)
        except VistoolError as exc:
            if len(videos) == 1:
                raise
            _failed(summary, reporter, video.name, exc)
    if len(videos) == 1:
        _write(job, videos[0].target, finished[0][1], video_id=videos[0].video_id)
    elif finished:
        _write_combined(job.output, [(video.video_id, result[0]) for video, result in finished])


def _run_one(job: BatchJob, loaded: tuple, source: FrameSource, overlay: Path | None, reporter: Reporter
             ) -> tuple[VideoResult, FrameCollector | None]:
    """Run one video with ``loaded`` = (model, provenance); return its result (meta filled in) and, for
    ``segment``, its per-frame records."""
    model, provenance = loaded
    name = source.info.name
    total = source.info.num_frames
    if total is not None:
        remaining = max(0, total - job.options.start)
        total = -(-remaining // job.options.stride)
        if job.options.max_frames is not None:
            total = min(total, job.options.max_frames)
    reporter.start_video(name, total)
    began = time.perf_counter()
    result, frames = run_video(model, source, job.options, overlay=overlay, on_frames=reporter.advance)
    if result.num_frames == 0:
        raise InputError(f"{source.info.source}: no frames to process (check --start/--max-frames)")
    result.meta = _meta(job, model, provenance, result, time.perf_counter() - began)
    found = f"{len(frames.records)} instances" if frames is not None else f"{len(result.tracks)} tracks"
    message = f"{found}, {result.num_frames} frames"
    reporter.end_video(name, ok=True, message=message)
    return result, frames


def _write(job: BatchJob, target: Path, outcome: tuple[VideoResult, FrameCollector | None],
           video_id: int | None = None) -> None:
    """Write one video's outputs: per-frame records, a results file, or a per-video result file."""
    result, frames = outcome
    if not job.options.track:
        _write_frames(target, result, frames)
    elif job.single_file:
        _write_results_file(target, result, video_id)
    else:
        video_result.write(target, result)


def _meta(job: BatchJob, model, provenance, result: VideoResult, seconds: float) -> dict:
    """The ``.meta.json`` of one result: method, weights and their provenance, options, speed."""
    return {
        "vistool_version": __version__,
        "method": getattr(model, "method", None) or job.method,
        "weights": provenance.path if provenance is not None else job.weights,
        "weights_sha256": provenance.sha256 if provenance is not None else None,
        "config": provenance.config if provenance is not None else None,
        "settings": provenance.settings if provenance is not None else [],
        "options": {"stride": job.options.stride, "start": job.options.start,
                    "max_frames": job.options.max_frames, "score_threshold": job.options.score_threshold,
                    "half": job.options.half},
        "frames": result.num_frames,
        "seconds": round(seconds, 3),
        "fps": round(result.num_frames / seconds, 2) if seconds > 0 else None,
    }


def _write_results_file(target: Path, result: VideoResult, video_id: int | None = None) -> None:
    from vistool.io.ytvis import video_result_to_records

    write_json(target, video_result_to_records(result, video_id=video_id or result.dataset_id or 1))
    write_json(target.with_suffix(".meta.json"), {"video": result.info.name, **result.meta})


def _write_combined(target: Path, results: list[tuple[int, VideoResult]]) -> None:
    """One YouTube-VIS results list for several videos (``video_id`` each), and its meta file."""
    from vistool.io.ytvis import video_result_to_records

    records = [record for video_id, result in results for record in video_result_to_records(result, video_id)]
    write_json(target, records)
    write_json(target.with_suffix(".meta.json"),
               {"videos": [{"video": result.info.name, "video_id": video_id, **result.meta}
                           for video_id, result in results]})


def _write_frames(target: Path, result: VideoResult, frames: FrameCollector) -> None:
    from vistool.io.ytvis import frame_records_to_json

    write_json(target, frame_records_to_json(frames.records, result, frames.frame_indices))
