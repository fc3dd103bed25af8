"""Train config variants with the same budget and compare them with the YouTube-VIS metric.

Each variant is the base config with dotted overrides. Every variant is trained
with ``vistool train`` for the same number of steps (resumed if interrupted,
skipped if finished), then measured with ``vistool track`` + ``export-json`` +
``evaluate`` on the same validation split. A markdown table is printed and,
with ``--record``, written to a file.

Examples (the papers' ablations on synthetic data)::

    # EfficientVIS, Table 1(e): correspondence learning on/off; --base reuses the bundled run (same
    # config, backbone initialisation, steps and seed) instead of training it again
    python benchmarks/ablation.py --method efficientvis --config configs/efficientvis_mnv3s_synth.yaml \
        --data synth:standard --steps 5000 --backbone-weights runs/pretrain_mnv3s_gn/backbone.pt \
        --base runs/evis_pt/model.pt --valid data/synth_std/valid --out runs/ablation_cl \
        --variant "without CL=model.correspondence=false" --classes-per-track 3 \
        --record benchmarks/results/efficientvis_cl.md

    # RGNNVIS, Table 3: 1 GNN block vs 2, tracker stage on one trained detector (the detector stage's
    # checkpoint, whose tracker is still at its initialisation); --base reuses the bundled run's tracker
    # stage, trained by the same command (config, init, steps, seed), instead of training it again
    python benchmarks/ablation.py --method rgnnvis --config configs/rgnnvis_mnv3s_synth.yaml \
        --data synth:standard --stage tracker --init runs/rgnn_det/model.pt --steps 6000 \
        --base runs/rgnn_t6k/model.pt --set track_class=detections --classes-per-track 3 \
        --valid data/synth_std/valid --out runs/ablation_gnn6k \
        --variant "1 GNN block=model.tracker.num_blocks=1" --record benchmarks/results/rgnnvis_gnn_blocks.md
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

from vistool.config import apply_overrides, parse_overrides

from common import KEYS, measure_split, save_with_settings, vistool


def parse_variant(text: str) -> tuple[str, dict[str, object]]:
    """``NAME=a.b=value,c.d=value`` -> (NAME, {"a.b": value, ...}) with YAML-typed values."""
    name, _, rest = text.partition("=")
    return name.strip(), parse_overrides(filter(None, rest.split(",")))


def train_variant(args: argparse.Namespace, folder: Path, config: dict) -> Path:
    """Train (or resume, or skip) one variant; return its final checkpoint."""
    final = folder / "model.pt"
    if final.exists():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "variant.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = ["train", "--method", args.method, "--data", args.data, "--config", str(config_path),
               "--out", str(folder / "run"), "--steps", str(args.steps)]
    if args.stage:
        command += ["--stage", args.stage]
    if args.init:
        command += ["--weights", args.init]
    if args.backbone_weights:
        command += ["--backbone-weights", args.backbone_weights]
    if (folder / "run" / "last.pt").exists():
        command.append("--resume")
    vistool(*command)
    (folder / "run" / "model.pt").replace(final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", required=True)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", required=True, type=int, help="the same budget for every variant")
    parser.add_argument("--stage", default=None)
    parser.add_argument("--init", default=None, help="checkpoint every variant starts from")
    parser.add_argument("--backbone-weights", default=None, help="backbone initialisation of every variant")
    parser.add_argument("--base", type=Path, default=None,
                        help="checkpoint of the base config trained with the same command: evaluated, not retrained")
    parser.add_argument("--valid", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--variant", action="append", default=[], help="NAME=dotted.key=value[,...]")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        help="inference setting applied to every variant before measuring, e.g. track_class=detections")
    parser.add_argument("--classes-per-track", type=int, default=1, metavar="K",
                        help="export-json --classes-per-track of the measurement")
    parser.add_argument("--record", type=Path, default=None, help="also write the markdown table here")
    args = parser.parse_args()

    base = yaml.safe_load(args.config.read_text())
    variants = [("full (base config)", {})] + [parse_variant(v) for v in args.variant]
    rows = []
    for index, (name, overrides) in enumerate(variants):
        folder = args.out / f"v{index}"
        if index == 0 and args.base is not None and not (folder / "model.pt").exists():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args.base, folder / "model.pt")
        weights = train_variant(args, folder, apply_overrides(base, overrides))
        if args.settings:
            save_with_settings(weights, folder / "measured.pt", args.settings)
            weights = folder / "measured.pt"
        rows.append((name, overrides, measure_split(weights, args.valid, folder, args.classes_per_track)[0]))
    settings = f", inference settings {', '.join(args.settings)}" if args.settings else ""
    if args.classes_per_track != 1:
        settings += f", exported with --classes-per-track {args.classes_per_track}"
    lines = [f"{args.method}: {args.steps} steps per variant{f' (stage {args.stage})' if args.stage else ''}, "
             f"data {args.data}, validation {args.valid}{settings}", "",
             "| variant | overrides | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS)]
    for name, overrides, metrics in rows:
        shown = ", ".join(f"`{k}={yaml.safe_dump(v).splitlines()[0]}`" for k, v in overrides.items()) or "-"
        lines.append(f"| {name} | {shown} | " + " | ".join(f"{metrics[k]:.3f}" for k in KEYS) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(table)


if __name__ == "__main__":
    main()
