"""``vistool train``: train a method on a dataset or synthetic data (thin wrapper of engine.train)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click


def _terms(record: dict[str, Any]) -> str:
    skip = {"stage", "step", "total_steps", "global_step", "lr", "it_s", "eta_s"}
    return " ".join(f"{k} {v:.3f}" for k, v in record.items() if k not in skip and isinstance(v, float))


def _eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RichReporter:
    """Progress bar with the loss terms, it/s and ETA on a terminal; one line per log record otherwise
    (e.g. under nohup). Only rank 0 reports."""

    def __init__(self, console: Any, enabled: bool = True):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console
        self.enabled = enabled
        self.live = enabled and console.is_terminal
        self.progress = Progress(TextColumn("[bold]{task.fields[stage]}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[terms]}"), console=console, disable=not self.live)
        self.task = None

    def __enter__(self) -> "RichReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def start_stage(self, stage: str, total_steps: int, start_step: int) -> None:
        if self.enabled and start_step > 0:
            self.console.print(f"resuming stage '{stage}' from step {start_step} of {total_steps}", soft_wrap=True,
                               highlight=False)
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task("train", total=total_steps, completed=start_step, stage=stage,
                                           rate="", terms="")

    def update(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if "metrics" in record:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in list(record["metrics"].items())[:5])
            self.console.print(f"validation at step {record['global_step']}: {shown}", soft_wrap=True)
            return
        terms = f"lr {record['lr']:.2e} {_terms(record)}"
        if not self.live:
            self.console.print(f"{record['stage']} step {record['step']}/{record['total_steps']} "
                               f"{record['it_s']:.2f} it/s ETA {_eta(record['eta_s'])} {terms}",
                               soft_wrap=True, highlight=False)
            return
        self.progress.update(self.task, completed=record["step"], rate=f"{record['it_s']:.2f} it/s", terms=terms)

    def message(self, text: str) -> None:
        if self.enabled:
            self.console.print(f"[yellow]warning:[/] {text}", soft_wrap=True)


@click.command("train")
@click.option("--method", "-m", required=True, help="Method to train (see 'vistool models').")
@click.option("--data", required=True, help="YouTube-VIS split folder, dataset JSON, or synth:PRESET.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Run config YAML (method, model, train); optional with --resume.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: last.pt (resumable), model.pt, metrics.jsonl, run.yaml.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from last.pt (says from which step).")
@click.option("--valid", "valid_data", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="YouTube-VIS split folder to validate on (AP/AR at the end of each stage, and every "
                   "train.valid_every steps); same as --set train.valid_data=DIR.")
@click.option("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps per stage (overrides the config).")
@click.option("--stage", default=None, help="Run only this training stage.")
@click.option("--weights", default=None, type=click.Path(dir_okay=False),
              help="Initialise from this checkpoint (fine-tuning), also another method's: tensors whose name and "
                   "shape fit are copied, the others stay fresh.")
@click.option("--backbone-weights", default=None,
              help="Backbone initialisation: imagenet (download), a local PATH (a state dict, or a vistool "
                   "checkpoint whose backbone is taken), or none.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Change one setting of --config (repeatable); a number picks a list item, "
                   "e.g. --set train.stages.1.lr_drops=[1500] --set train.seed=1.")
def train(method: str, data: str, config_path: str | None, out_dir: str, resume: bool, valid_data: str | None,
          device: str | None, steps: int | None, stage: str | None, weights: str | None,
          backbone_weights: str | None, overrides: tuple[str, ...]) -> None:
    """Train a method; checkpoints land in --out and can be resumed.

    \b
    Examples:
      vistool train --method efficientvis --data synth:standard \\
          --config configs/efficientvis_mnv3s_synth.yaml --out runs/evis
      vistool train --method efficientvis --data synth:standard --out runs/evis --resume
      vistool train --method rgnnvis --data ytvis/train --valid ytvis/valid \
          --config configs/rgnnvis_r50_ytvis.yaml --out runs/rgnn
      vistool train --method rgnnvis --data synth:standard --stage tracker \\
          --config configs/rgnnvis_mnv3s_synth.yaml --weights runs/det/model.pt \\
          --steps 2000 --set train.stages.1.lr_drops=[1500] --out runs/tracker
      torchrun --nproc_per_node 4 -m vistool train --method efficientvis --data ytvis/train \\
          --config configs/efficientvis_r50_ytvis.yaml --out runs/r50
    """
    import os

    from vistool.cli import echo_console
    from vistool.engine.train import load_run_file
    from vistool.engine.train import train as run_training

    if overrides and not config_path:
        raise click.UsageError("--set changes settings of --config; give --config too")
    run = load_run_file(config_path, overrides) if config_path else None
    main_rank = int(os.environ.get("RANK", "0")) == 0
    command = "vistool " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    console = echo_console()
    with RichReporter(console, enabled=main_rank) as reporter:
        result = run_training(method, data, run, out_dir, resume=resume, device=device, steps=steps, stage=stage,
                              weights=weights, backbone_weights=backbone_weights, reporter=reporter,
                              command=command, valid_data=valid_data)
    if main_rank:
        terms = ", ".join(f"{k} {v:.4f}" for k, v in result.losses.items())
        console.print(f"trained {result.steps} steps; checkpoint: {result.checkpoint}", soft_wrap=True)
        if terms:
            console.print(f"last losses: {terms}", soft_wrap=True)
        if result.metrics:
            console.print("validation: " + ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items()),
                          soft_wrap=True)
