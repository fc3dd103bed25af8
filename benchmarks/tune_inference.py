"""Sweep one inference setting of a checkpoint on a tuning split and print the YouTube-VIS metrics.

Pick inference settings (e.g. EfficientVIS ``frame_threshold``) here, on a split
made with its own seed, then bundle with ``bundle_weights.py --set KEY=VALUE``:
the reported splits never choose a setting.

    vistool synth data/synth_tune --split valid --videos 16 --seed 1003 --preset standard
    python benchmarks/tune_inference.py runs/efficientvis_synth/model.pt --valid data/synth_tune/valid \
        --key frame_threshold --values 0.5 0.6 0.7 0.8 --classes-per-track 1 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import KEYS, evaluate_tracks, measure_split, save_with_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--valid", required=True, type=Path, help="tuning split (not a reported one)")
    parser.add_argument("--key", required=True, help="dotted model-config key, e.g. frame_threshold")
    parser.add_argument("--values", nargs="+", required=True)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting applied with every value (repeatable), e.g. for an ablation row")
    parser.add_argument("--classes-per-track", nargs="+", type=int, default=[1], metavar="K",
                        help="also sweep export-json --classes-per-track over these (tracks once per value)")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for value in args.values:
            folder = Path(tmp) / f"v{len(rows)}"
            folder.mkdir()
            save_with_settings(args.checkpoint, folder / "model.pt", [*args.settings, f"{args.key}={value}"])
            first, *others = args.classes_per_track
            rows.append((value, first, measure_split(folder / "model.pt", args.valid, folder, first)[0]))
            for k in others:
                rows.append((value, k, evaluate_tracks(folder / "tracks", args.valid, folder, k)[0]))
    print(f"{args.checkpoint} on {args.valid}" + "".join(f" with {s}" for s in args.settings))
    print(f"| {args.key} | classes per track | " + " | ".join(KEYS) + " |")
    print("|---|---|" + "---|" * len(KEYS))
    for value, k, metrics in rows:
        print(f"| {value} | {k} | " + " | ".join(f"{metrics[key]:.3f}" for key in KEYS) + " |")


if __name__ == "__main__":
    main()
