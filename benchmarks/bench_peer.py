"""Frames/s of ``vistool track`` against the peer (ultralytics YOLOv8n-seg + ByteTrack), interleaved, same file.

The peer is ``shared/tools/peer_yolo.py`` beside this repository (``--peer``);
it needs its own virtual environment (``--peer-python``), made once with::

    python -m venv /work/venv-peer
    /work/venv-peer/bin/pip install torch==2.14.1 torchvision==0.29.1 ultralytics lap

Each run starts one ``vistool track VIDEO -m METHOD`` process per method and one
peer process, in turn (vistool, peer, vistool, peer, ...), on the same H.264 file.
vistool's figure is its frame loop's frames/s (decode, model, masks to RLE), as
written in the results' ``.meta.json``; the peer's is its own timed loop after a
warm-up pass (its model build and warm-up excluded). Prints each run and the
medians, and the ratio vistool / peer. The video is a synthetic ``standard``
sequence (``--frames`` frames at ``--size``) unless ``--video`` is given.

    python benchmarks/bench_peer.py                                 # 150 frames, 384x216, 3 runs
    python benchmarks/bench_peer.py --methods rgnnvis --runs 5
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEER_SCRIPT = Path("../shared/tools/peer_yolo.py")          # relative to the repository root
PEER_FPS = re.compile(r"=\s*([0-9.]+)\s*FPS")


def make_video(path: Path, frames: int, size: tuple[int, int]) -> None:
    """An H.264 mp4 of ``frames`` synthetic `standard` frames of ``size`` (width, height), 24 fps."""
    from vistool.data.synth import render_video
    from vistool.io.video_writer import write_video

    images, index = [], 0
    while len(images) < frames:
        images.extend(f.image for f in render_video("standard", 99, index, size).frames())
        index += 1
    write_video(path, images[:frames], fps=24.0)


def vistool_fps(video: Path, method: str, work: Path) -> float:
    """Frame-loop frames/s of one ``vistool track`` process (from its .meta.json)."""
    out = work / f"{method}.json"
    subprocess.run([sys.executable, "-m", "vistool", "track", str(video), "-m", method, "-o", str(out),
                    "--device", "cpu"], check=True, cwd=ROOT, capture_output=True)
    return float(json.loads(out.with_suffix(".meta.json").read_text())["fps"])


def peer_fps(python: str, script: Path, video: Path, imgsz: int) -> float:
    """Frames/s printed by one peer process."""
    proc = subprocess.run([python, str(script), "yolov8n-seg.yaml", str(video), str(imgsz)], check=True,
                          cwd=ROOT, capture_output=True, text=True)
    match = PEER_FPS.search(proc.stdout)
    if match is None:
        raise RuntimeError(f"the peer printed no '= N FPS' line: {proc.stdout[-300:]!r}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["rgnnvis", "efficientvis"])
    parser.add_argument("--video", type=Path, default=None, help="the file both run on (default: synthetic)")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", default="384x216", help="WIDTHxHEIGHT of the synthetic video")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer", type=Path, default=PEER_SCRIPT, help="peer_yolo.py (relative to the repo root)")
    parser.add_argument("--peer-python", default="/work/venv-peer/bin/python", help="python of the peer's venv")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    peer = args.peer if args.peer.is_absolute() else ROOT / args.peer
    if not peer.is_file() or not Path(args.peer_python).exists():
        sys.exit(f"the peer is not set up: {peer} and {args.peer_python} must exist (see this script's docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = args.video.resolve() if args.video else work / "peer_bench.mp4"
        if args.video is None:
            make_video(video, args.frames, (width, height))
        runs: dict[str, list[float]] = {m: [] for m in [*args.methods, "peer"]}
        for run in range(args.runs):
            for method in args.methods:
                runs[method].append(vistool_fps(video, method, work))
                runs["peer"].append(peer_fps(args.peer_python, peer, video, max(width, height)))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in runs.items()), flush=True)
    print(f"\nvideo: {video.name if args.video else f'synthetic, {args.frames} frames'} {width}x{height}; "
          f"frames/s, median of {args.runs} runs (peer: one run beside each vistool run)")
    peer_median = statistics.median(runs["peer"])
    print(f"{'':<14}{'frames/s':>10}{'runs':>28}{'ratio to peer':>16}")
    for name, values in runs.items():
        ratio = "" if name == "peer" else f"{statistics.median(values) / peer_median:.2f}x"
        spread = " ".join(f"{v:.1f}" for v in values)
        print(f"{name:<14}{statistics.median(values):>10.1f}{spread:>28}{ratio:>16}")


if __name__ == "__main__":
    main()
