"""Helpers shared by the benchmark scripts: running vistool, models with settings, measuring a split."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

KEYS = ("AP", "AP50", "AP75", "AR1", "AR10")


def vistool(*args: str) -> None:
    """Run a vistool command as a user would; stop on failure."""
    subprocess.run([sys.executable, "-m", "vistool", *args], check=True)


def save_with_settings(checkpoint: Path, target: Path, settings: list[str], half: bool = False) -> str:
    """Write ``checkpoint``'s model with inference ``settings`` applied to ``target`` (fp16 with ``half``);
    return its sha256."""
    from vistool.methods.build import load_checkpoint_model
    from vistool.weights import save_checkpoint

    model, data = load_checkpoint_model(checkpoint, settings=settings)
    return save_checkpoint(target, model, training=data.get("training", {}), half=half)


def measure_split(weights: Path, split: Path, work: Path, classes_per_track: int = 1
                  ) -> tuple[dict, list[str], float]:
    """Metrics of ``weights`` on a split (track -> export-json -> evaluate), the commands, and the tracking time."""
    out = work / "tracks"
    command = ["track", str(split), "-w", str(weights), "-o", str(out), "--device", "cpu", "--overwrite"]
    began = time.perf_counter()
    vistool(*command)
    seconds = time.perf_counter() - began
    metrics, commands = evaluate_tracks(out, split, work, classes_per_track)
    return metrics, [" ".join(["vistool", *command])] + commands, seconds


def evaluate_tracks(out: Path, split: Path, work: Path, classes_per_track: int = 1) -> tuple[dict, list[str]]:
    """Metrics of the per-video results in ``out`` on a split (export-json -> evaluate) and the commands."""
    results, metrics = work / f"results_k{classes_per_track}.json", work / f"metrics_k{classes_per_track}.json"
    gt = next(p for p in (split / "instances.json", split / "valid.json") if p.exists())
    export = ["export-json", str(out), "-o", str(results), "--dataset", str(gt)]
    if classes_per_track != 1:
        export += ["--classes-per-track", str(classes_per_track)]
    commands = [export, ["evaluate", str(gt), str(results), "--json", str(metrics)]]
    for command in commands:
        vistool(*command)
    return json.loads(metrics.read_text()), [" ".join(["vistool", *c]) for c in commands]
