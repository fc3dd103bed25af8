"""Decode speed and peak memory of vistool.io.video vs video length.

Generates 640x360 H.264 videos (ffmpeg ``testsrc``, ``-preset ultrafast``) and
a folder of JPEG frames with the bundled ffmpeg, then decodes each in a fresh
subprocess with ``open_video`` and reports frames/s and the peak RSS of the
Python process and of its ffmpeg decoder (VmHWM, sampled every 50 frames;
0 for image folders, decoded in-process). A baseline
row decodes one frame only: streaming means the long video's peak stays at the
baseline, whatever its length.

    python benchmarks/bench_decode.py [--frames 200 20000] [--jpeg-frames 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = "640x360"


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_video(path: Path, frames: int, fps: int = 30) -> float:
    """A ``testsrc`` H.264 video; returns the seconds it took to encode."""
    began = time.perf_counter()
    subprocess.run([_ffmpeg(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate={fps}",
                    "-frames:v", str(frames), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return time.perf_counter() - began


def make_jpeg_folder(folder: Path, frames: int) -> None:
    """``frames`` JPEG files named 00000.jpg, 00001.jpg, ... (the YouTube-VIS layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([_ffmpeg(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate=30",
                    "-frames:v", str(frames), "-q:v", "3", "-start_number", "0", str(folder / "%05d.jpg")],
                   check=True)


def _vm_hwm_mb(pid: str = "self") -> float:
    """Peak resident set of a process in MiB (VmHWM of /proc/<pid>/status); 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children_hwm_mb() -> float:
    """Largest VmHWM among this process's running children (the ffmpeg decoder)."""
    peak = 0.0
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            peak = max(peak, _vm_hwm_mb(pid))
    return peak


def child(source: str, max_frames: int | None) -> dict:
    """Decode ``source`` (all frames, or ``max_frames``) in this process; measure it."""
    sys.path.insert(0, str(ROOT))
    from vistool.io.video import open_video

    frames, checksum, ffmpeg_mb = 0, 0, 0.0
    began = time.perf_counter()
    with open_video(source, max_frames=max_frames) as reader:
        for _, frame in reader:
            frames += 1
            checksum += int(frame[180, 320, 0])  # touch every frame
            if frames % 50 == 1:  # sample the decoder's peak while it runs
                ffmpeg_mb = max(ffmpeg_mb, _children_hwm_mb())
    seconds = time.perf_counter() - began
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds if seconds else 0.0,
            "python_peak_mb": _vm_hwm_mb(), "ffmpeg_peak_mb": ffmpeg_mb, "checksum": checksum}


def run_case(source: Path, max_frames: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(source)]
    if max_frames is not None:
        cmd += ["--child-max-frames", str(max_frames)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[200, 20000], help="video lengths to test")
    parser.add_argument("--jpeg-frames", type=int, default=200, help="frames in the JPEG folder (0: skip)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated videos here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-max-frames", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.child_max_frames)))
        return
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vistool-bench-decode-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sorted(args.frames):
        path = work / f"testsrc_{n}.mp4"
        if not path.exists():
            seconds = make_video(path, n)
            print(f"encoded {path.name} in {seconds:.1f} s", file=sys.stderr)
        if not rows:
            rows.append(("mp4, first frame only (baseline)", run_case(path, max_frames=1)))
        rows.append((f"mp4 {SIZE}, {n} frames", run_case(path)))
    if args.jpeg_frames:
        folder = work / f"jpeg_{args.jpeg_frames}"
        if not folder.exists():
            make_jpeg_folder(folder, args.jpeg_frames)
        rows.append((f"JPEG folder {SIZE}, {args.jpeg_frames} frames", run_case(folder)))
    header = f"{'case':<40} {'frames':>7} {'seconds':>8} {'frames/s':>9} {'python peak MiB':>16} {'ffmpeg peak MiB':>16}"
    print(header)
    print("-" * len(header))
    for name, r in rows:
        ffmpeg_mb = f"{r['ffmpeg_peak_mb']:.1f}" if r["ffmpeg_peak_mb"] else "-"
        print(f"{name:<40} {r['frames']:>7} {r['seconds']:>8.2f} {r['fps']:>9.0f} {r['python_peak_mb']:>16.1f} "
              f"{ffmpeg_mb:>16}")
    print("seconds include opening the source (probe); '-': no decoder process (in-process or already exited)")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
