"""``vistool synth``: generate the synthetic VIS benchmark."""

from __future__ import annotations

import time
from pathlib import Path

import click

from vistool.errors import InputError

SPLIT_SEEDS = {"train": 0, "valid": 1, "test": 2}
PRESET_NAMES = ("standard", "crowded", "fast", "long")


def _size(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    from vistool.data.synth.video import parse_size

    try:
        w, h = parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if w < 8 or h < 8 or w % 2 or h % 2:
        raise click.BadParameter(f"width and height must be even and >= 8, got {value}")
    return w, h


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(list(SPLIT_SEEDS)), default="train", show_default=True,
              help="Split folder written under OUT.")
@click.option("--videos", type=click.IntRange(min=1), default=10, show_default=True, help="Number of videos.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Base seed [default: train 0, valid 1, test 2, so splits never share videos].")
@click.option("--preset", type=click.Choice(PRESET_NAMES), default="standard", show_default=True,
              help="standard: 1-5 objects, 20-48 frames; crowded: 5-15 objects, heavy occlusion; "
                   "fast: large displacements; long: 300-2000 frames.")
@click.option("--size", default="384x216", show_default=True, callback=_size, help="Frame size WIDTHxHEIGHT.")
@click.option("--format", "fmt", type=click.Choice(["frames", "mp4", "both"]), default="frames", show_default=True,
              help="JPEG frames, one H.264 mp4 per video, or both.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes; the files do not depend on it.")
@click.option("--name-prefix", default=None, help="Name videos <prefix><index> instead of <preset>_s<seed>_<index>.")
@click.option("--preview", "preview", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PNG contact sheet of frames with ground truth drawn.")
@click.option("--preview-videos", type=click.IntRange(min=1), default=3, show_default=True,
              help="Videos (rows) in the contact sheet.")
@click.option("--preview-frames", type=click.IntRange(min=1), default=6, show_default=True,
              help="Frames (columns) per video in the contact sheet.")
@click.option("--preview-only", is_flag=True, help="Write only the contact sheet, no dataset.")
def synth(out: Path, split: str, videos: int, seed: int | None, preset: str, size: tuple[int, int], fmt: str,
          workers: int, name_prefix: str | None, preview: Path | None, preview_videos: int, preview_frames: int,
          preview_only: bool) -> None:
    """Generate a synthetic split in the YouTube-VIS layout under OUT/SPLIT.

    \b
    Writes OUT/SPLIT/JPEGImages/<video>/00000.jpg ..., OUT/SPLIT/instances.json
    (per-frame RLE, areas, boxes, OVIS-style occlusion 0/1/2) and, with
    --format mp4|both, OUT/SPLIT/videos/<video>.mp4. The same arguments give
    byte-identical files; each video depends only on (seed, preset, index).

    \b
    Example:
      vistool synth data/synth --split valid --videos 50 --seed 7 --preset crowded --workers 2
    """
    from vistool.cli import echo_console

    if preview_only and preview is None:
        raise InputError("--preview-only needs --preview PNG: say where to write the contact sheet")
    seed = SPLIT_SEEDS[split] if seed is None else seed
    console = echo_console()
    if not preview_only:
        _generate(console, out, split, videos, seed, preset, size, fmt, workers, name_prefix)
    if preview is not None:
        from vistool.data.synth.preview import write_preview
        from vistool.data.synth.writer import SplitSpec, video_name

        count = max(min(preview_videos, videos) if not preview_only else preview_videos, 1)
        spec = SplitSpec(out=out, split=split, videos=count, seed=seed, preset=preset, name_prefix=name_prefix)
        write_preview(preview, preset, seed, list(range(count)), size, preview_frames,
                      names=[video_name(spec, i) for i in range(count)])
        console.print(f"contact sheet: {preview}")


def _generate(console, out: Path, split: str, videos: int, seed: int, preset: str, size: tuple[int, int],
              fmt: str, workers: int, name_prefix: str | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from vistool.data.synth.writer import SplitSpec, write_split

    spec = SplitSpec(out=out, split=split, videos=videos, seed=seed, preset=preset, size=size, fmt=fmt,
                     name_prefix=name_prefix)
    frames = 0
    start = time.perf_counter()
    columns = (TextColumn("[bold]synth {task.fields[preset]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("videos, {task.fields[frames]} frames"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("synth", total=videos, preset=preset, frames=0)

        def advance(n: int) -> None:
            nonlocal frames
            frames += n
            progress.update(task, advance=1, frames=frames)

        target = write_split(spec, workers=workers, progress=advance)
    elapsed = time.perf_counter() - start
    rate = frames / elapsed if elapsed > 0 else 0.0
    console.print(f"wrote {videos} videos, {frames} frames ({preset}, seed {seed}, {size[0]}x{size[1]}) "
                  f"to {target} in {elapsed:.1f} s ({rate:.0f} frames/s)")
