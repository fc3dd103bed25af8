"""``vistool track`` and ``vistool segment``."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from vistool.errors import InputError, VistoolError

log = logging.getLogger(__name__)

_COMMON_HELP = """
\b
INPUTS are video files (mp4, avi, mkv, mov, webm, gif, ...), folders of frames,
globs of images ("frames/*.jpg"), a webcam index ("0"), a stream URL, or
YouTube-VIS split folders (JPEGImages/ beside a dataset JSON).
"""


HALF_HELP = ("Half precision: fp16 autocast on CUDA, bf16 autocast on CPU. Same tracks up to mask-boundary "
             "pixels (demo AP within 0.01). On CPUs without native bf16 (no AVX512-BF16/AMX) it is NOT faster: "
             "on this project's AVX2 AMD EPYC CPU bf16 ran 3x to 50x slower than fp32 "
             "(benchmarks/bench_half.py); use it on GPUs.")


def _common_options(func):
    options = [
        click.argument("inputs", nargs=-1, required=True),
        click.option("--method", "-m", default=None,
                     help="Method to run (see 'vistool models'); default: the method of --weights, "
                          "else rgnnvis, whose bundled weights measure the highest AP."),
        click.option("--weights", "-w", type=click.Path(dir_okay=False), default=None,
                     help="Checkpoint to load instead of the method's bundled weights."),
        click.option("--output", "-o", type=click.Path(), required=True,
                     help="Results file (.json) for one input, or an output folder for several."),
        click.option("--overlay", type=click.Path(), default=None,
                     help="Also write an H.264 MP4 with the instances drawn (a folder for several inputs)."),
        click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto."),
        click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Process every N-th frame."),
        click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Stop after N processed frames."),
        click.option("--start", type=click.IntRange(min=0), default=0, show_default=True,
                     help="First frame index to process."),
        click.option("--score-threshold", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                     help="Drop tracks/instances scoring below this (keep 0 for AP evaluation)."),
        click.option("--overwrite", is_flag=True, help="Re-run videos whose result file already exists."),
        click.option("--shard", default=None, metavar="K/N",
                     help="Process part K of N (0-based) of the videos, for runs split over processes or "
                          "machines (needs -o DIR). Under torchrun (RANK/WORLD_SIZE) and Slurm arrays "
                          "(SLURM_ARRAY_TASK_ID/COUNT) the part comes from the environment."),
        click.option("--half", is_flag=True, help=HALF_HELP),
        click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
                     help="Change a setting of the model's config for this run (repeatable), e.g. "
                          "--set tracker.match_threshold=0.3 (rgnnvis) or --set frame_threshold=0.5 "
                          "(efficientvis); 'vistool models --config METHOD' lists the keys. Recorded "
                          "in the results' .meta.json."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(help="Detect, segment and track every instance in videos.\n" + _COMMON_HELP + """
\b
-o FILE.json: writes one YouTube-VIS results list holding every video (dataset
ids for split folders, else 1..N in input order) and FILE.meta.json.
-o DIR: writes DIR/<video>.json per video as soon as it is done; a rerun skips
finished videos, and runs sharing DIR (--shard, torchrun, Slurm arrays, or plain
concurrent runs) claim each video so none is processed twice.
'vistool export-json DIR' assembles them. Two videos that would write one file
stop the run before any work.

\b
Example:
  vistool track video.mp4 --method efficientvis -o out.json --overlay out.mp4
""")
@_common_options
def track(**kwargs) -> None:
    _run(track=True, **kwargs)


@click.command(help="Per-frame instance segmentation (no tracking).\n" + _COMMON_HELP + """
\b
Writes COCO-style per-frame results: a list of {video, frame_index, category_id,
category, score, bbox, segmentation} records.
""")
@_common_options
def segment(**kwargs) -> None:
    _run(track=False, **kwargs)


def _run(track: bool, inputs: tuple[str, ...], method: str | None, weights: str | None, output: str,
         overlay: str | None, device: str, stride: int, max_frames: int | None, start: int,
         score_threshold: float, overwrite: bool, settings: tuple[str, ...], shard: str | None,
         half: bool = False) -> None:
    from vistool.engine.batch import BatchJob, run_batch
    from vistool.engine.infer import InferOptions
    from vistool.engine.shard import resolve_shard
    from vistool.methods import DEFAULT_METHOD

    if method is None and weights is None:
        method = DEFAULT_METHOD
    options = InferOptions(stride=stride, max_frames=max_frames, start=start,
                           score_threshold=score_threshold, track=track, half=half)
    single_file = output.lower().endswith(".json")
    if Path(output).exists() and Path(output).is_dir() == single_file:
        kind = "folder" if single_file else "file"
        raise InputError(f"--output {output}: exists and is a {kind}")
    job = BatchJob(inputs=list(inputs), method=method, weights=weights, output=Path(output),
                   overlay=Path(overlay) if overlay else None, device=device, options=options,
                   single_file=single_file, overwrite=overwrite, settings=tuple(settings),
                   shard=resolve_shard(shard))
    from vistool.cli.progress import RichReporter

    with RichReporter() as reporter:
        summary = run_batch(job, reporter)
    if summary.skipped:
        log.warning("skipped %d finished videos (use --overwrite to redo them)", len(summary.skipped))
    if summary.claimed:
        log.warning("left %d videos to other runs working on %s: %s", len(summary.claimed), output,
                    ", ".join(summary.claimed[:5]) + (" ..." if len(summary.claimed) > 5 else ""))
    if summary.failed:
        names = ", ".join(name for name, _ in summary.failed[:3])
        more = "" if len(summary.failed) <= 3 else f" and {len(summary.failed) - 3} more"
        raise VistoolError(f"{len(summary.failed)} of {summary.total} videos failed ({names}{more}); "
                           f"the others were written to {output}")
