"""Inference speed (frames/s) of the methods, end to end through the streaming engine.

For each (config, frame size) row it builds the model from the config (random
weights: speed does not depend on their values; ``--weights`` measures a
checkpoint instead), renders a synthetic `standard` video at that size and runs
``vistool.engine.infer.run_video`` on it (frames from memory, so no decoding:
preprocessing, model, masks to RLE), after a warm-up clip. Prints a table; on a
machine with CUDA add ``--device cuda``. ``--profile`` runs the timed pass under
``torch.profiler`` and prints, per row, how much of the wall time the GPU spent in
kernels (the rest is host-side work and waiting) and the operators with the most
host time.

    python benchmarks/bench_infer_speed.py                       # bundled configs, 384x216, CPU
    python benchmarks/bench_infer_speed.py --paper --device cuda # paper configs at 640x360
    python benchmarks/bench_infer_speed.py --paper --device cuda --profile
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistool.data.synth import CATEGORIES, render_video  # noqa: E402
from vistool.engine.infer import FrameSource, InferOptions, run_video  # noqa: E402
from vistool.engine.train_setup import load_run_file  # noqa: E402
from vistool.structures import VideoInfo  # noqa: E402
from vistool.methods.build import build_model, load_checkpoint_model  # noqa: E402

BUNDLED = [("configs/efficientvis_mnv3s_synth.yaml", (384, 216)), ("configs/rgnnvis_mnv3s_synth.yaml", (384, 216))]
PAPER = [("configs/efficientvis_r50_ytvis.yaml", (640, 360)), ("configs/rgnnvis_r50_ytvis.yaml", (640, 360))]


def video_frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` frames of synthetic `standard` videos at ``size`` (width, height)."""
    frames: list[np.ndarray] = []
    index = 0
    while len(frames) < count:
        frames.extend(f.image for f in render_video("standard", 99, index, size).frames())
        index += 1
    return frames[:count]


def source(frames: list[np.ndarray]) -> FrameSource:
    h, w = frames[0].shape[:2]
    info = VideoInfo(name="bench", source="bench", width=w, height=h, fps=30.0, num_frames=len(frames))
    return FrameSource(info=info, open=lambda options: enumerate(frames))


def measure(model, frames: list[np.ndarray], device: str, profile: bool = False) -> float:
    """Frames/s of one streaming pass (after a warm-up pass on a few frames)."""
    cuda = device.startswith("cuda")
    run_video(model, source(frames[: max(2, model.clip_len)]), InferOptions())
    if cuda:
        torch.cuda.synchronize()
    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
    with torch.profiler.profile(activities=activities) if profile else nullcontext() as prof:
        began = time.perf_counter()
        run_video(model, source(frames), InferOptions())
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - began
    if profile:
        print_profile(prof, seconds, len(frames))
    return len(frames) / seconds


def print_profile(prof, seconds: float, frames: int) -> None:
    """GPU kernel time against wall time per frame, and the operators with the most host time."""
    events = prof.key_averages()
    kernel_us = sum(getattr(e, "self_device_time_total", 0) for e in events)
    line = f"under the profiler: {1000 * seconds / frames:.1f} ms per frame wall"
    if kernel_us:
        line += (f", GPU kernels {kernel_us / 1000 / frames:.1f} ms per frame "
                 f"({100 * kernel_us / 1e6 / seconds:.0f}% busy)")
    print(line)
    print(events.table(sort_by="self_cpu_time_total", row_limit=10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", action="store_true", help="the papers' configs at 640x360")
    parser.add_argument("--weights", action="append", default=[], help="measure these checkpoints at 384x216")
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--profile", action="store_true", help="profile the timed pass (slower; see above)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    jobs = [(w, (384, 216)) for w in args.weights] or (PAPER if args.paper else BUNDLED)
    for spec, size in jobs:
        if spec.endswith(".pt"):
            model, data = load_checkpoint_model(spec, None, args.device)
        else:
            run = load_run_file(ROOT / spec)
            model = build_model(run.method, run.model, CATEGORIES, pretrained=False).to(args.device).eval()
        fps = measure(model, video_frames(size, args.frames), args.device, args.profile)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        rows.append((Path(spec).name, f"{size[0]}x{size[1]}", params, fps))
    print(f"device: {args.device}, torch threads: {torch.get_num_threads()}, frames per run: {args.frames}")
    print(f"{'model':<34} {'size':>9} {'params M':>9} {'frames/s':>9}")
    for name, size, params, fps in rows:
        print(f"{name:<34} {size:>9} {params:>9.2f} {fps:>9.2f}")


if __name__ == "__main__":
    main()
