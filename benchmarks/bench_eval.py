"""Speed of ``vistool evaluate`` (YouTube-VIS metric) on a generated, YouTube-VIS-sized problem.

Generates (deterministically, numpy seed) a ground-truth dataset of moving
ellipses and rectangles and a results file of perturbed copies plus false
positives, writes both as JSON, then times ``evaluate_files`` (load +
compute) and, on a subset of videos, the plain-loop reference of
tests/test_eval_reference.py (same numbers required).

With ``--official DIR`` (a folder holding the official evaluator's ``ytvos.py``
and ``ytvoseval.py``, see ``benchmarks/official_ytvis.py``) it also times whole
processes, as a user runs them, in turn: ``vistool evaluate GT RESULTS`` and the
official evaluator on the same files (``--process-runs`` each), prints the
medians and their ratio, and the largest difference between the 12 numbers.

    python benchmarks/bench_eval.py                       # 300 videos x 72 frames, 720x1280
    python benchmarks/bench_eval.py --official /tmp/ytvis-cocoapi/PythonAPI/pycocotools
    python benchmarks/bench_eval.py --videos 50 --reference-videos 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistool.eval.ytvis import evaluate, evaluate_files  # noqa: E402
from vistool.io import rle  # noqa: E402
from vistool.io.ytvis import (ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo,  # noqa: E402
                              write_dataset, write_results)

NUM_CATEGORIES = 40


def shape_polygon(kind: str, cx: float, cy: float, rx: float, ry: float) -> list[float]:
    """An ellipse (24-gon) or a rectangle as a flat polygon [x1, y1, ...]."""
    if kind == "rect":
        xs, ys = [cx - rx, cx + rx, cx + rx, cx - rx], [cy - ry, cy - ry, cy + ry, cy + ry]
    else:
        angle = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        xs, ys = cx + rx * np.cos(angle), cy + ry * np.sin(angle)
    return [float(v) for xy in zip(xs, ys) for v in xy]


def track_masks(rng: np.random.Generator, frames: int, h: int, w: int, start: tuple | None = None,
                jitter: float = 0.0) -> tuple[list, tuple]:
    """One moving shape: per-frame RLE (None outside its visible span) and its motion parameters."""
    if start is None:
        kind = "rect" if rng.random() < 0.4 else "ellipse"
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        rx, ry = rng.uniform(0.01, 0.08) * w, rng.uniform(0.015, 0.12) * h
        vx, vy = rng.normal(0, 4, size=2)
        first, last = sorted(rng.integers(0, frames, size=2)) if rng.random() < 0.3 else (0, frames - 1)
        start = (kind, cx, cy, rx, ry, vx, vy, first, last)
    kind, cx, cy, rx, ry, vx, vy, first, last = start
    segs = []
    for t in range(frames):
        if not first <= t <= last:
            segs.append(None)
            continue
        dx, dy, scale = rng.normal(0, jitter * rx), rng.normal(0, jitter * ry), 1 + rng.normal(0, jitter)
        poly = shape_polygon(kind, cx + vx * t + dx, cy + vy * t + dy, rx * scale, ry * scale)
        segs.append(rle.from_polygons([poly], h, w))
    return segs, start


def generate(videos: int, frames: int, h: int, w: int, seed: int) -> tuple[YtvisDataset, list[ResultTrack]]:
    """A dataset of 1-3 tracks per video; 1-2 perturbed copies of each plus 1-6 false positives."""
    rng = np.random.default_rng(seed)
    categories = [YtvisCategory(c, f"class{c}") for c in range(1, NUM_CATEGORIES + 1)]
    dataset = YtvisDataset(videos=[], categories=categories)
    results: list[ResultTrack] = []
    for vid in range(1, videos + 1):
        dataset.videos.append(YtvisVideo(vid, w, h, frames, [f"{vid:05d}/{t:05d}.jpg" for t in range(frames)]))
        for _ in range(rng.integers(1, 4)):
            cat = int(rng.integers(1, NUM_CATEGORIES + 1))
            segs, motion = track_masks(rng, frames, h, w)
            dataset.annotations.append(YtvisAnnotation.from_segmentations(
                len(dataset.annotations) + 1, vid, cat, segs, iscrowd=int(rng.random() < 0.03)))
            for _ in range(rng.integers(1, 3)):        # perturbed copies, sometimes the wrong class
                pred_cat = cat if rng.random() < 0.8 else int(rng.integers(1, NUM_CATEGORIES + 1))
                pred, _ = track_masks(rng, frames, h, w, start=motion, jitter=float(rng.uniform(0.02, 0.3)))
                results.append(ResultTrack(vid, pred_cat, float(rng.uniform(0.05, 1.0)), pred))
        for _ in range(rng.integers(1, 7)):            # false positives (methods output a top-k per video)
            pred, _ = track_masks(rng, frames, h, w)
            results.append(ResultTrack(vid, int(rng.integers(1, NUM_CATEGORIES + 1)), float(rng.uniform(0, 0.6)),
                                       pred))
    return dataset, results


def subset(dataset: YtvisDataset, results: list[ResultTrack], count: int) -> tuple[YtvisDataset, list]:
    keep = {v.id for v in dataset.videos[:count]}
    return (YtvisDataset(videos=[v for v in dataset.videos if v.id in keep], categories=dataset.categories,
                         annotations=[a for a in dataset.annotations if a.video_id in keep]),
            [r for r in results if r.video_id in keep])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=300)
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of vistool's evaluate (best is shown)")
    parser.add_argument("--reference-videos", type=int, default=20, help="videos timed with the slow reference")
    parser.add_argument("--official", type=Path, default=None,
                        help="folder with the official ytvos.py and ytvoseval.py: compare whole processes")
    parser.add_argument("--process-runs", type=int, default=3, help="whole-process runs of each, in turn")
    args = parser.parse_args()

    began = time.perf_counter()
    dataset, results = generate(args.videos, args.frames, args.height, args.width, args.seed)
    generated = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as tmp:
        gt_path, res_path = Path(tmp) / "gt.json", Path(tmp) / "results.json"
        write_dataset(gt_path, dataset)
        write_results(res_path, results)
        sizes = gt_path.stat().st_size / 2 ** 20, res_path.stat().st_size / 2 ** 20
        runs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            result = evaluate_files(gt_path, res_path)
            runs.append((time.perf_counter() - t0, result.timings["load"], result.timings["evaluate"]))
        official = (official_rows(gt_path, res_path, args.official, args.process_runs, result.stats)
                    if args.official else [])
    total, load, compute = min(runs)

    rows = [("videos", f"{len(dataset.videos)}"), ("frames per video", f"{args.frames}"),
            ("frame size", f"{args.height}x{args.width}"),
            ("GT tracks", f"{len(dataset.annotations)}"), ("predicted tracks", f"{len(results)}"),
            ("GT / results JSON", f"{sizes[0]:.1f} MiB / {sizes[1]:.1f} MiB"),
            ("generation (not timed below)", f"{generated:.1f} s"),
            ("vistool evaluate_files: load", f"{load:.3f} s"), ("vistool evaluate_files: compute", f"{compute:.3f} s"),
            ("vistool evaluate_files: total", f"{total:.3f} s (best of {args.repeats})"),
            ("AP / AP50 / AR10", "{AP:.4f} / {AP50:.4f} / {AR10:.4f}".format(**result.stats))]
    loop_seconds = pair_loop_iou_seconds(dataset, results)
    rows.append(("per-pair per-frame IoU loop, all videos", f"{loop_seconds:.3f} s (the official evaluator's IoU "
                                                            "method; a lower bound of its run time)"))
    if args.reference_videos > 0:
        rows += reference_rows(dataset, results, args.reference_videos)
    rows += official
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def pair_loop_iou_seconds(dataset: YtvisDataset, results: list[ResultTrack]) -> float:
    """Seconds to compute every same-category video IoU one (pair, frame) at a time, as the official
    evaluator does (it makes 4 pycocotools calls per frame pair; this makes 1, so it is a lower bound)."""
    gts: dict[tuple[int, int], list] = {}
    for ann in dataset.annotations:
        gts.setdefault((ann.video_id, ann.category_id), []).append(ann.segmentations)
    began = time.perf_counter()
    for track in results:
        for g_segs in gts.get((track.video_id, track.category_id), []):
            inter = union = 0.0
            for d, g in zip(track.segmentations, g_segs):
                if d is not None and g is not None:
                    i, u = rle.intersection_and_union([d], [g])
                    inter, union = inter + i[0, 0], union + u[0, 0]
                elif d is not None or g is not None:
                    union += rle.area(d if d is not None else g)
            _ = inter / union if union > 0 else 0.0
    return time.perf_counter() - began


def official_rows(gt_path: Path, res_path: Path, folder: Path, runs: int, stats: dict) -> list[tuple[str, str]]:
    """Whole-process seconds of ``vistool evaluate`` and of the official evaluator, run in turn; their ratio."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    vistool = [sys.executable, "-m", "vistool", "evaluate", str(gt_path), str(res_path)]
    official = [sys.executable, str(ROOT / "benchmarks" / "official_ytvis.py"), "--official", str(folder),
                str(gt_path), str(res_path)]
    seconds: dict[str, list[float]] = {"vistool": [], "official": []}
    printed = ""
    for _ in range(runs):
        for name, command in (("vistool", vistool), ("official", official)):
            t0 = time.perf_counter()
            proc = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
            seconds[name].append(time.perf_counter() - t0)
            printed = proc.stdout if name == "official" else printed
    theirs = [float(v) for v in printed.split("STATS ", 1)[1].split()]
    diff = max(abs(a - b) for a, b in zip(stats.values(), theirs))
    med = {name: statistics.median(values) for name, values in seconds.items()}
    return [("whole process: vistool evaluate", f"{med['vistool']:.2f} s (median of {runs}: "
                                                + " ".join(f"{v:.2f}" for v in seconds["vistool"]) + ")"),
            ("whole process: official evaluator", f"{med['official']:.2f} s (median of {runs}: "
                                                  + " ".join(f"{v:.2f}" for v in seconds["official"]) + ")"),
            ("official / vistool", f"{med['official'] / med['vistool']:.1f}x"),
            ("max |vistool - official| over the 12 stats", f"{diff:.1e}")]


def reference_rows(dataset: YtvisDataset, results: list, count: int) -> list[tuple[str, str]]:
    """Time the slow reference and vistool's evaluate on the first ``count`` videos; check equality."""
    from tests.eval.test_eval_reference import reference_evaluate

    small_gt, small_res = subset(dataset, results, count)
    t0 = time.perf_counter()
    fast = evaluate(small_gt, small_res).stats
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_evaluate(small_gt, small_res)
    t_ref = time.perf_counter() - t0
    diff = max(abs(fast[k] - ref[k]) for k in ref)
    return [(f"subset of {count} videos: vistool evaluate", f"{t_fast:.3f} s"),
            (f"subset of {count} videos: plain-loop reference", f"{t_ref:.3f} s ({t_ref / t_fast:.0f}x slower)"),
            ("subset: max |vistool - reference| over stats", f"{diff:.1e}")]


if __name__ == "__main__":
    main()
