"""Peak memory of the whole track path (decode -> model -> RLE -> JSON) vs video length.

Generates H.264 videos (white boxes moving on black, 640x360 by default) with
the bundled ffmpeg, runs the test stub model (tests/helpers/stub_model.py) -- or a real
checkpoint with ``--weights`` -- through ``vistool.engine.batch.run_batch`` in a
fresh subprocess per video, and prints the peak RSS and frames/s of each.
Memory must not grow with the video length.

    python benchmarks/bench_track_memory.py [--frames 200 20000] [--keep DIR]
    python benchmarks/bench_track_memory.py --weights weights/rgnnvis_mnv3s_synth.pt --frames 300 2000 --size 384x216
    python benchmarks/bench_track_memory.py --weights weights/rgnnvis_mnv3s_synth.pt --preset long --frames 300 2000 \
        --size 384x216

With ``--preset long`` the videos are videos of the synthetic ``long`` preset
(occluders, objects leaving and coming back): among the first 400 videos of
``--seed``, the one whose length is closest to each ``--frames`` value.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_video(path: Path, frames: int, size: str = "640x360", fps: int = 30) -> None:
    """Two white boxes moving across a black frame, H.264."""
    import imageio_ffmpeg

    w, h = (int(v) for v in size.split("x"))
    boxes = (f"drawbox=x='mod(t*90,{w - 80})':y={h // 4}:w=60:h=50:color=white:t=fill,"
             f"drawbox=x='{w - 120}-mod(t*60,{w - 160})':y={h // 2}:w=40:h=70:color=white:t=fill")
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
           "-i", f"color=black:s={size}:r={fps}", "-vf", boxes, "-frames:v", str(frames),
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True)


def pick_synth_video(preset: str, seed: int, frames: int, scan: int = 400) -> int:
    """Index of the video of ``preset`` (seed ``seed``) whose length is closest to ``frames``."""
    from vistool.data.synth import render_video

    lengths = {i: render_video(preset, seed, i, (64, 36)).num_frames for i in range(scan)}
    return min(lengths, key=lambda i: abs(lengths[i] - frames))


def write_synth_video(path: Path, preset: str, seed: int, index: int, size: str) -> None:
    """Render synthetic video ``index`` at ``size`` into an H.264 file."""
    from vistool.data.synth import render_video
    from vistool.io.video_writer import VideoWriter

    w, h = (int(v) for v in size.split("x"))
    video = render_video(preset, seed, index, (w, h))
    with VideoWriter(path, fps=30.0, size=(w, h)) as writer:
        for frame in video.frames():
            writer.write(frame.image)


def measure(video: Path, out_dir: Path, weights: str | None) -> dict:
    """Run the stub (or ``weights``) through the batch engine in this process; return peak RSS and speed."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.stub_model import StubModel
    from vistool.engine.batch import BatchJob, run_batch
    from vistool.engine.infer import InferOptions

    job = BatchJob(inputs=[str(video)], method=None if weights else "stub", weights=weights, output=out_dir / f"{video.stem}.json",
                   overlay=None, device="cpu", options=InferOptions(), single_file=True, overwrite=True)
    began = time.perf_counter()
    run_batch(job, model=None if weights else StubModel(max_jump=80.0))
    seconds = time.perf_counter() - began
    results = json.loads((out_dir / f"{video.stem}.json").read_text())
    frames = len(results[0]["segmentations"]) if results else 0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"frames": frames, "tracks": len(results), "seconds": seconds, "peak_rss_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[200, 20000])
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated videos here")
    parser.add_argument("--weights", default=None, help="a checkpoint to run instead of the stub model")
    parser.add_argument("--size", default="640x360", help="frame size WxH of the generated videos")
    parser.add_argument("--preset", default=None, help="use videos of this synthetic preset (e.g. long)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic videos (--preset)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.child.parent, args.weights)))
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="vistool-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.frames:
        if args.preset:
            index = pick_synth_video(args.preset, args.seed, n)
            video = work / f"{args.preset}_{args.seed}_{index}_{args.size}.mp4"
            if not video.exists():
                write_synth_video(video, args.preset, args.seed, index, args.size)
        else:
            video = work / f"boxes_{args.size}_{n}.mp4"
            if not video.exists():
                make_video(video, n, args.size)
        extra = ["--weights", args.weights] if args.weights else []
        out = subprocess.run([sys.executable, __file__, "--child", str(video), *extra], check=True,
                             capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    source = f"synthetic '{args.preset}' videos, seed {args.seed}" if args.preset else "moving boxes"
    print(f"model: {args.weights or 'stub (tests/helpers/stub_model.py)'}, {source}, size {args.size}")
    print(f"{'frames':>8} {'tracks':>6} {'seconds':>8} {'frames/s':>9} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['frames']:>8} {r['tracks']:>6} {r['seconds']:>8.1f} {r['frames'] / r['seconds']:>9.1f} "
              f"{r['peak_rss_mb']:>12.1f}")
    if len(rows) >= 2:
        print(f"peak RSS difference, longest vs shortest: {rows[-1]['peak_rss_mb'] - rows[0]['peak_rss_mb']:+.1f} MB")


if __name__ == "__main__":
    main()
