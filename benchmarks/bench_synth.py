"""Frames per second of the synthetic benchmark generator, on one core.

For each preset, one process (OpenCV and BLAS limited to one thread):
- render: draw frames with their ground truth (image, id map, visible masks);
- write: what ``vistool synth --format frames --workers 1`` does per frame:
  render, JPEG-encode, RLE-encode every visible mask and write the files
  (dataset JSON included).

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


def bench_render(preset: str, videos: int, size: tuple[int, int], seed: int) -> tuple[int, float]:
    """(frames, seconds) to render ``videos`` videos, plan and background included."""
    frames = 0
    start = time.perf_counter()
    for index in range(videos):
        for _ in render_video(preset, seed, index, size).frames():
            frames += 1
    return frames, time.perf_counter() - start


def bench_write(preset: str, videos: int, size: tuple[int, int], seed: int) -> tuple[int, float]:
    """(frames, seconds) to write a split of ``videos`` videos as JPEG frames + JSON."""
    frames = 0

    def count(n: int) -> None:
        nonlocal frames
        frames += n

    with tempfile.TemporaryDirectory() as tmp:
        spec = SplitSpec(out=Path(tmp), split="bench", videos=videos, seed=seed, preset=preset, size=size)
        start = time.perf_counter()
        write_split(spec, workers=1, progress=count)
        return frames, time.perf_counter() - start


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
    print(f"{'preset':<10} {'frames':>7} {'render f/s':>11} {'write f/s':>10}   ({size[0]}x{size[1]}, 1 core)")
    for preset in args.presets:
        videos = max(1, args.videos // 4) if preset == "long" else args.videos
        n_r, t_r = bench_render(preset, videos, size, args.seed)
        n_w, t_w = bench_write(preset, videos, size, args.seed)
        assert n_r == n_w
        print(f"{preset:<10} {n_r:>7} {n_r / t_r:>11.0f} {n_w / t_w:>10.0f}")


if __name__ == "__main__":
    main()
