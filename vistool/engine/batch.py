"""Run a method over many videos, writing each video's result as soon as it is done.

A failure in one video (a corrupt file, say) is recorded and the batch goes on;
finished videos are skipped on a rerun unless ``overwrite`` is set.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vistool import __version__
from vistool.engine.infer import FrameCollector, FrameSource, InferOptions, run_video
from vistool.engine.sources import expand_sources, open_source, source_name
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


@dataclass
class BatchSummary:
    """Outcome of a batch: counts and the failures with their errors."""

    total: int = 0
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, VistoolError]] = field(default_factory=list)


def build_model(method: str | None, weights: str | None, device: str, settings: tuple[str, ...] = ()):
    """Build a method's model with its weights (the bundled ones when ``weights`` is None) and ``KEY=VALUE``
    settings applied to its config. torchvision is imported without torch._dynamo and the heap is frozen
    afterwards (:mod:`vistool.engine.fast_import`)."""
    from vistool.engine.fast_import import frozen_heap, import_torchvision

    import_torchvision()
    with frozen_heap():
        from vistool.weights import load_model

        return load_model(method, weights, device, settings)


def resolve_device(name: str) -> str:
    """``auto`` becomes ``cuda`` when available, else ``cpu``; others are checked."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise InputError(f"--device {name}: expected cpu, cuda, cuda:N, mps or auto")
    return name


def run_batch(job: BatchJob, reporter: Reporter | None = None, model=None) -> BatchSummary:
    """Run ``job``; return what was done, skipped and what failed."""
    reporter = reporter or SilentReporter()
    items = expand_sources(job.inputs)
    if not items:
        raise InputError(f"no videos found in: {' '.join(job.inputs)}")
    summary = BatchSummary(total=len(items))
    model = model if model is not None else build_model(job.method, job.weights, resolve_device(job.device),
                                                          job.settings)
    for item in items:
        name = source_name(item)
        target = job.output if job.single_file else job.output / f"{name}.json"
        if target.exists() and not job.overwrite and not job.single_file:
            summary.skipped.append(name)
            continue
        try:
            source = open_source(item)
            _run_one(job, model, source, target, reporter)
            summary.done.append(name)
        except VistoolError as exc:
            if job.single_file or len(items) == 1:
                raise
            log.error("%s", exc)
            reporter.end_video(name, ok=False, message=str(exc))
            summary.failed.append((name, exc))
    return summary


def _overlay_path(job: BatchJob, name: str) -> Path | None:
    if job.overlay is None:
        return None
    return job.overlay if job.single_file else job.overlay / f"{name}.mp4"


def _run_one(job: BatchJob, model, source: FrameSource, target: Path, reporter: Reporter) -> None:
    name = source.info.name
    total = source.info.num_frames
    if total is not None:
        remaining = max(0, total - job.options.start)
        total = -(-remaining // job.options.stride)
        if job.options.max_frames is not None:
            total = min(total, job.options.max_frames)
    reporter.start_video(name, total)
    began = time.perf_counter()
    result, frames = run_video(model, source, job.options, overlay=_overlay_path(job, name),
                               on_frames=reporter.advance)
    if result.num_frames == 0:
        raise InputError(f"{source.info.source}: no frames to process (check --start/--max-frames)")
    result.meta = _meta(job, model, result, time.perf_counter() - began)
    if not job.options.track:
        _write_frames(target, result, frames)
    elif job.single_file:
        _write_results_file(target, result)
    else:
        video_result.write(target, result)
    reporter.end_video(name, ok=True, message=f"{len(result.tracks)} tracks, {result.num_frames} frames")


def _meta(job: BatchJob, model, result: VideoResult, seconds: float) -> dict:
    info = getattr(model, "checkpoint_info", None) or {}
    return {
        "vistool_version": __version__,
        "method": getattr(model, "method", None) or job.method,
        "weights": info.get("path", job.weights),
        "weights_sha256": info.get("sha256"),
        "config": info.get("config"),
        "settings": info.get("settings", []),
        "options": {"stride": job.options.stride, "start": job.options.start,
                    "max_frames": job.options.max_frames, "score_threshold": job.options.score_threshold},
        "frames": result.num_frames,
        "seconds": round(seconds, 3),
        "fps": round(result.num_frames / seconds, 2) if seconds > 0 else None,
    }


def _write_results_file(target: Path, result: VideoResult) -> None:
    from vistool.io.ytvis import video_result_to_records

    write_json(target, video_result_to_records(result, video_id=result.dataset_id or 1))
    write_json(target.with_suffix(".meta.json"), {"video": result.info.name, **result.meta})


def _write_frames(target: Path, result: VideoResult, frames: FrameCollector) -> None:
    from vistool.io.ytvis import frame_records_to_json

    write_json(target, frame_records_to_json(frames.records, result, frames.frame_indices))
