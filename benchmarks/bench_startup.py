"""Fixed cost of ``vistool track``: whole-process seconds minus the frame loop, per method.

Runs ``python -m vistool track VIDEO -m METHOD -o OUT.json`` as a user would,
``--runs`` times per method, and reads the frame loop's seconds from the
results' ``.meta.json``; the rest of the wall time (imports, model build, exit)
is the fixed cost. ``--baseline DIR`` also runs another checkout of vistool
(e.g. ``git worktree add /tmp/base <commit>``), interleaved run by run, and
prints the ratio of the medians.

    python benchmarks/bench_startup.py                       # demo_0.mp4 (8 frames), both bundled methods, 5 runs
    python benchmarks/bench_startup.py --baseline /tmp/base --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples/demo/valid/videos/demo_0.mp4"


def one_run(checkout: Path, video: Path, method: str, out: Path, frames: int) -> tuple[float, float]:
    """(wall seconds, frame-loop seconds) of one ``vistool track`` process run from ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vistool", "track", str(video), "-m", method, "-o", str(out),
                    "--device", "cpu", "--max-frames", str(frames)], check=True, cwd=checkout, env=env,
                   capture_output=True)
    wall = time.perf_counter() - began
    return wall, float(json.loads(out.with_suffix(".meta.json").read_text())["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DEMO)
    parser.add_argument("--methods", nargs="+", default=["rgnnvis", "efficientvis"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-frames", type=int, default=8, help="frames processed (the fixed cost does not "
                                                                  "depend on them)")
    parser.add_argument("--baseline", type=Path, default=None, help="another vistool checkout to compare")
    args = parser.parse_args()
    checkouts = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    video = args.video.resolve()
    rows: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for method in args.methods:
                for name, checkout in checkouts.items():
                    run = one_run(checkout, video, method, Path(tmp) / f"{method}_{name}.json", args.max_frames)
                    rows.setdefault((method, name), []).append(run)
                    print(f"{method} {name}: wall {run[0]:.2f} s, frame loop {run[1]:.2f} s", flush=True)
    print(f"video {video.name}; medians of {args.runs} interleaved runs, seconds")
    print(f"{'method':<14}{'checkout':<10}{'wall':>8}{'frame loop':>12}{'fixed':>8}{'fixed, runs':>34}")
    for (method, name), runs in rows.items():
        fixed = [wall - loop for wall, loop in runs]
        print(f"{method:<14}{name:<10}{statistics.median(w for w, _ in runs):>8.2f}"
              f"{statistics.median(l for _, l in runs):>12.2f}{statistics.median(fixed):>8.2f}"
              f"{' '.join(f'{v:.2f}' for v in fixed):>34}")
    if args.baseline:
        for method in args.methods:
            this = statistics.median(w - l for w, l in rows[(method, "this")])
            base = statistics.median(w - l for w, l in rows[(method, "baseline")])
            print(f"{method}: fixed cost {this:.2f} s against the baseline's {base:.2f} s ({base / this:.1f}x less)")


if __name__ == "__main__":
    main()
