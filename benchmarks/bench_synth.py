"""Frames per second of the synthetic benchmark generator, on one core.

For each preset, one process (OpenCV and BLAS limited to one thread):
- render: draw frames with their ground truth (image, id map, visible masks);
- write: what ``vistool synth --format frames --workers 1`` does per frame:
  render, JPEG-encode, RLE-encode every visible mask and write the files
  (dataset JSON included).

Each is given as frames per second of wall time and per CPU second of the
process (user + system), which is the per-core rate even on a busy machine.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_synth.py [--videos 8] [--size 384x216]

Target (issue: synthetic benchmark): ``standard`` >= 300 frames/s per core at 384x216.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from vistool.data.synth import PRESETS, render_video  # noqa: E402
from vistool.data.synth.video import parse_size  # noqa: E402
from vistool.data.synth.writer import SplitSpec, write_split  # noqa: E402


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def bench_render(preset: str, videos: int, size: tuple[int, int], seed: int) -> tuple[int, float, float]:
    """(frames, wall s, CPU s) to render ``videos`` videos, plan and background included."""
    frames = 0
    wall, cpu = _clocks()
    for index in range(videos):
        for _ in render_video(preset, seed, index, size).frames():
            frames += 1
    return frames, time.perf_counter() - wall, time.process_time() - cpu


def bench_write(preset: str, videos: int, size: tuple[int, int], seed: int) -> tuple[int, float, float]:
    """(frames, wall s, CPU s) to write a split of ``videos`` videos as JPEG frames + JSON."""
    frames = 0

    def count(n: int) -> None:
        nonlocal frames
        frames += n

    with tempfile.TemporaryDirectory() as tmp:
        spec = SplitSpec(out=Path(tmp), split="bench", videos=videos, seed=seed, preset=preset, size=size)
        wall, cpu = _clocks()
        write_split(spec, workers=1, progress=count)
        return frames, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8, help="videos per preset (long: a quarter, at least 1)")
    parser.add_argument("--size", default="384x216")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    size = parse_size(args.size)
    render_video("standard", args.seed, 0, size).frame(0)  # warm up imports and caches
    print(f"frames/s at {size[0]}x{size[1]}, one process; per wall second and per CPU second (= per core)")
    print(f"{'preset':<10} {'frames':>7} {'render/wall':>12} {'render/cpu':>11} {'write/wall':>11} {'write/cpu':>10}")
    for preset in args.presets:
        videos = max(1, args.videos // 4) if preset == "long" else args.videos
        n_r, w_r, c_r = bench_render(preset, videos, size, args.seed)
        n_w, w_w, c_w = bench_write(preset, videos, size, args.seed)
        assert n_r == n_w
        print(f"{preset:<10} {n_r:>7} {n_r / w_r:>12.0f} {n_r / c_r:>11.0f} {n_w / w_w:>11.0f} {n_w / c_w:>10.0f}")


if __name__ == "__main__":
    main()
