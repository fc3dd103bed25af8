"""Is ``--half`` faster? fp32 vs 16-bit autocast (bf16 on CPU, fp16 on CUDA), interleaved runs.

For each bundled method it loads the bundled weights, renders synthetic
`standard` frames at the inference size and runs the streaming engine
(``run_video``) over them, alternating fp32 and half passes ``--rounds`` times
after one warm-up pass of each, so that load from other processes hits both
alike. It prints frames/s per mode (median over rounds) and the median of the
per-round ratios half/fp32 (> 1: half is faster).

    python benchmarks/bench_half.py                  # CPU, 2 threads, bf16
    python benchmarks/bench_half.py --device cuda    # fp16
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_infer_speed import source, video_frames  # noqa: E402
from vistool.engine.infer import InferOptions, run_video  # noqa: E402
from vistool.engine.precision import HALF_DTYPES  # noqa: E402
from vistool.methods.build import load_model  # noqa: E402


def one_pass(model, frames, half: bool, device: str) -> float:
    """Frames/s of one streaming pass."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    began = time.perf_counter()
    run_video(model, source(frames), InferOptions(half=half))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(frames) / (time.perf_counter() - began)


def compare(method: str, frames, device: str, rounds: int) -> tuple[float, float, float]:
    """(fp32 frames/s, half frames/s, median half/fp32 ratio) of interleaved passes."""
    model, _ = load_model(method, None, device)
    one_pass(model, frames[:4], False, device)
    one_pass(model, frames[:4], True, device)
    full, half, ratios = [], [], []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)        # alternate who goes first
        speed = {mode: one_pass(model, frames, mode, device) for mode in order}
        full.append(speed[False])
        half.append(speed[True])
        ratios.append(speed[True] / speed[False])
    return statistics.median(full), statistics.median(half), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", default="rgnnvis,efficientvis")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = video_frames((384, 216), args.frames)
    dtype = str(HALF_DTYPES[torch.device(args.device).type]).replace("torch.", "")
    print(f"device {args.device}, {args.threads} threads, {args.frames} frames 384x216, {args.rounds} interleaved "
          f"rounds, half = {dtype} autocast")
    print(f"| method | fp32 frames/s | {dtype} frames/s | {dtype}/fp32 (median of rounds) |")
    print("|---|---:|---:|---:|")
    for method in args.methods.split(","):
        full, half, ratio = compare(method, frames, args.device, args.rounds)
        print(f"| {method} | {full:.2f} | {half:.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
