"""Inference speed (frames/s) of the methods, end to end through the streaming engine.

For each (config, frame size) row it builds the model from the config (random
weights: speed does not depend on their values; ``--weights`` measures a
checkpoint instead), renders a synthetic `standard` video at that size and runs
``vistool.engine.infer.run_video`` on it (decode, model, masks to RLE), after a
warm-up clip. Prints a table; on a machine with CUDA add ``--device cuda``.

    python benchmarks/bench_infer_speed.py                       # bundled configs, 384x216, CPU
    python benchmarks/bench_infer_speed.py --paper --device cuda # paper configs at 640x360
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistool.data.synth import CATEGORIES, render_video  # noqa: E402
from vistool.engine.infer import FrameSource, InferOptions, run_video  # noqa: E402
from vistool.engine.train_setup import load_run_file  # noqa: E402
from vistool.structures import VideoInfo  # noqa: E402
from vistool.weights import build_model, load_checkpoint_model  # noqa: E402

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


def measure(model, frames: list[np.ndarray], device: str) -> float:
    """Frames/s of one streaming pass (after a warm-up pass on a few frames)."""
    run_video(model, source(frames[: max(2, model.clip_len)]), InferOptions())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    began = time.perf_counter()
    run_video(model, source(frames), InferOptions())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(frames) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", action="store_true", help="the papers' configs at 640x360")
    parser.add_argument("--weights", action="append", default=[], help="measure these checkpoints at 384x216")
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
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
        fps = measure(model, video_frames(size, args.frames), args.device)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        rows.append((Path(spec).name, f"{size[0]}x{size[1]}", params, fps))
    print(f"device: {args.device}, torch threads: {torch.get_num_threads()}, frames per run: {args.frames}")
    print(f"{'model':<34} {'size':>9} {'params M':>9} {'frames/s':>9}")
    for name, size, params, fps in rows:
        print(f"{name:<34} {size:>9} {params:>9.2f} {fps:>9.2f}")


if __name__ == "__main__":
    main()
