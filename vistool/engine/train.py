"""The generic training loop: any VisModel, any data source, one or several stages.

It calls ``model.loss(batch) -> dict[str, Tensor]`` and optimises the sum.
Around that: AdamW/SGD with warm-up and step drops from the config, AMP on
CUDA, gradient clipping, atomic periodic checkpoints with full resume state,
periodic validation with the YouTube-VIS metric, deterministic seeds, and
DDP when started by ``torchrun`` (WORLD_SIZE > 1; only rank 0 writes).

Run-config files (``configs/<method>_<backbone>_<data>.yaml``)::

    method: efficientvis     # optional; must match --method
    model: {...}             # the method's Config
    train: {...}             # TrainConfig below
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from vistool.config import to_dict
from vistool.engine.train_setup import (  # noqa: F401 - re-exported: the engine's public API
    Dist, RunFile, StageConfig, TrainConfig, _is_endless, _loader, build_optimizer,
    build_scheduler, load_run_file, rng_state, seed_everything, set_rng_state, setup_distributed, sync_unless)
from vistool.engine.validation import validate
from vistool.errors import ConfigError, InputError
from vistool.io.atomic import atomic_open, write_json

log = logging.getLogger(__name__)

LAST = "last.pt"
FINAL = "model.pt"


class TrainReporter(Protocol):
    """Receives progress; the CLI draws it, the default logs it."""

    def start_stage(self, stage: str, total_steps: int, start_step: int) -> None: ...
    def update(self, record: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...


class LogReporter:
    """TrainReporter that writes to the ``logging`` module."""

    def start_stage(self, stage: str, total_steps: int, start_step: int) -> None:
        log.info("stage %s: steps %d..%d", stage, start_step, total_steps)

    def update(self, record: dict[str, Any]) -> None:
        log.info("step %(step)d loss %(loss).4f", record)

    def message(self, text: str) -> None:
        log.warning(text)


class _LossModule(nn.Module):
    """Makes ``model.loss`` the forward of a module, so DDP hooks see it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> dict[str, Tensor]:
        return self.model.loss(batch)


@dataclass
class _StagePlan:
    """What one stage runs: its name, clip length, batch size, LR, length in steps and LR drops."""

    name: str
    clip_len: int
    batch_size: int
    lr: float
    steps: int
    steps_per_unit: int
    lr_drops: tuple[float, ...]


def _stage_plan(model: nn.Module, name: str, cfg: TrainConfig, data: str, steps_override: int | None) -> _StagePlan:
    over = next((s for s in cfg.stages if s.name == name), StageConfig(name))
    batch = over.batch_size or cfg.batch_size
    clip_len = model.stage_clip_len(name)
    steps = steps_override or over.steps or cfg.steps
    per_unit = 1
    if cfg.epochs is not None and not cfg.steps:
        if data.startswith("synth:"):
            raise ConfigError("train.epochs needs a finite dataset; synthetic data is endless: set train.steps")
        from vistool.data.loader import build_clip_loader

        per_unit = max(1, len(build_clip_loader(data, clip_len, batch, tuple(cfg.size), augment=False)))
        world = dist.get_world_size() if dist.is_initialized() else 1
        per_unit = max(1, per_unit // (world * cfg.accumulate))
        steps = steps or int(math.ceil(cfg.epochs * per_unit))
    if not steps:
        raise ConfigError("the run length is not set: give train.steps (or train.epochs) or --steps")
    drops = cfg.lr_drops if over.lr_drops is None else over.lr_drops
    return _StagePlan(name, clip_len, batch, over.lr or cfg.lr, int(steps), per_unit, tuple(drops))


# ------------------------------------------------------------------ the loop


@dataclass
class TrainResult:
    """Where a finished (or partial) run left its files and what it measured."""

    out_dir: Path
    checkpoint: Path
    steps: int
    losses: dict[str, float]
    metrics: dict[str, float] | None = None


class Trainer:
    """Runs the stages of one model on one data source into ``out_dir``."""

    def __init__(self, model: nn.Module, data: str, cfg: TrainConfig, out_dir: Path, dd: Dist,
                 reporter: TrainReporter, summary: dict[str, Any]):
        self.model, self.data, self.cfg, self.out, self.dd = model, data, cfg, out_dir, dd
        self.reporter, self.summary = reporter, summary
        self.losses: dict[str, float] = {}
        self.metrics: dict[str, float] | None = None
        self.global_step = int(summary.get("global_step", 0))

    # -- checkpoints
    def save(self, path: Path, train_state: dict | None) -> None:
        """Write a checkpoint on rank 0 (atomic); other ranks return at once."""
        if not self.dd.main:
            return
        from vistool.weights import save_checkpoint

        self.summary.update(global_step=self.global_step, losses=self.losses, metrics=self.metrics)
        save_checkpoint(path, self.model, training=self.summary, train_state=train_state)

    def _train_state(self, stage_index: int, plan: _StagePlan, step: int, opt, sched, scaler, done: bool) -> dict:
        return {"stage_index": stage_index, "stage": plan.name, "step": step, "stage_done": done,
                "global_step": self.global_step, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else {}, "rng": rng_state()}

    # -- one stage
    def run_stage(self, stage_index: int, plan: _StagePlan, resume: dict | None) -> None:
        """Train stage ``plan`` from step 0, or from the resume state's step."""
        model, cfg = self.model, self.cfg
        model.set_training_stage(plan.name)
        model.train()
        opt = build_optimizer(model, cfg, plan.lr)
        sched = build_scheduler(opt, cfg, plan.steps_per_unit, plan.lr_drops)
        amp = cfg.amp and self.dd.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda") if amp else None
        start = 0
        if resume is not None:
            opt.load_state_dict(resume["optimizer"])
            sched.load_state_dict(resume["scheduler"])
            if scaler is not None and resume.get("scaler"):
                scaler.load_state_dict(resume["scaler"])
            set_rng_state(resume["rng"])
            start = int(resume["step"])
        runner = _LossModule(model)
        if self.dd.world > 1:
            runner = nn.parallel.DistributedDataParallel(runner, find_unused_parameters=cfg.ddp_find_unused)
        batches = self._batches(plan, start)
        self.reporter.start_stage(plan.name, plan.steps, start)
        params = [p for p in model.parameters() if p.requires_grad]
        window: dict[str, list[float]] = {}
        tic, tic_step = time.perf_counter(), start
        for step in range(start, plan.steps):
            terms = self._step(runner, [next(batches) for _ in range(cfg.accumulate)], opt, scaler, params, amp)
            sched.step()
            self.global_step += 1
            for k, v in terms.items():
                window.setdefault(k, []).append(v)
            if (step + 1) % cfg.log_every == 0 or step + 1 == plan.steps:
                rate = (step + 1 - tic_step) / max(time.perf_counter() - tic, 1e-9)
                self._log(plan, step + 1, window, opt, rate)
                window, tic, tic_step = {}, time.perf_counter(), step + 1
            if cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and step + 1 < plan.steps:
                self.save(self.out / LAST, self._train_state(stage_index, plan, step + 1, opt, sched, scaler, False))
            if cfg.valid_every and (step + 1) % cfg.valid_every == 0 and step + 1 < plan.steps:
                self.validate(step + 1)
        self.validate(plan.steps)
        self.save(self.out / LAST, self._train_state(stage_index, plan, plan.steps, opt, sched, scaler, True))

    def _step(self, runner: nn.Module, batches: list[Any], opt, scaler, params: list[Tensor],
              amp: bool) -> dict[str, float]:
        """One optimisation step over ``train.accumulate`` batches (gradients summed, each loss divided by
        their number); returns the loss terms averaged over them (a non-finite loss skips the step)."""
        sums: dict[str, float] = {}
        for i, batch in enumerate(batches):
            last = i + 1 == len(batches)
            with sync_unless(runner, not last):
                values = self._backward(runner, batch, scaler, amp, len(batches))
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v / len(batches)
            if not math.isfinite(values["loss"]):
                self.reporter.message(f"non-finite loss at step {self.global_step + 1}: {values}; step skipped")
                opt.zero_grad(set_to_none=True)
                return sums
        if scaler is not None:
            scaler.unscale_(opt)
        if self.cfg.grad_clip > 0:
            sums["grad_norm"] = float(nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        return sums

    def _backward(self, runner: nn.Module, batch: Any, scaler, amp: bool, parts: int) -> dict[str, float]:
        """Loss terms of one batch as floats; backward of their sum / ``parts`` when it is finite."""
        batch = batch.to(self.dd.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            terms = runner(batch)
        total = sum(terms.values())
        values = {k: float(v.detach()) for k, v in terms.items()}
        values["loss"] = float(total.detach())
        if math.isfinite(values["loss"]):
            scaled = total / parts
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
        return values

    def _batches(self, plan: _StagePlan, start: int) -> Iterator[Any]:
        """Endless batches: finite loaders restart as the next epoch (resumed at ``start``'s position)."""
        per_epoch = None
        epoch, skip = 0, 0
        probe = _loader(self.data, plan.clip_len, self.cfg, plan.batch_size, self.dd, 0, 0, self.cfg.seed + start)
        if not _is_endless(probe):
            per_epoch = max(1, len(probe))
            epoch, skip = divmod(start * self.cfg.accumulate, per_epoch)
            probe = _loader(self.data, plan.clip_len, self.cfg, plan.batch_size, self.dd, epoch, skip, self.cfg.seed)
        loader = probe
        while True:
            got = False
            for batch in loader:
                got = True
                yield batch
            if not got:
                raise InputError(f"{self.data}: the data loader yielded no training clips")
            epoch += 1
            loader = _loader(self.data, plan.clip_len, self.cfg, plan.batch_size, self.dd, epoch, 0, self.cfg.seed)

    def _log(self, plan: _StagePlan, step: int, window: dict[str, list[float]], opt, rate: float) -> None:
        means = {k: float(np.mean(v)) for k, v in window.items()}
        self.losses = means
        record = {"stage": plan.name, "step": step, "total_steps": plan.steps, "global_step": self.global_step,
                  "lr": opt.param_groups[0]["lr"], "it_s": rate, "eta_s": (plan.steps - step) / max(rate, 1e-9),
                  **means}
        self.reporter.update(record)
        if self.dd.main:
            with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    # -- validation
    def validate(self, step: int) -> None:
        """Run the YouTube-VIS metric on ``cfg.valid_data`` (rank 0), if configured and available."""
        if not self.cfg.valid_data or not self.dd.main:
            return
        metrics = validate(self.model, self.cfg.valid_data, self.dd.device, self.cfg.valid_max_videos,
                           self.reporter.message)
        self.model.train()
        if metrics is None:
            return
        self.metrics = metrics
        self.reporter.update({"stage": "valid", "step": step, "global_step": self.global_step,
                              "loss": self.losses.get("loss", float("nan")), "metrics": metrics})
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"valid_step": self.global_step, **metrics}) + "\n")


def _prepare_model(method: str, data: str, run: RunFile, resume_ck: dict | None, weights: str | None,
                   backbone_weights: str | None) -> nn.Module:
    """The model to train: from the resume checkpoint, an init checkpoint, or built fresh."""
    from vistool.data.loader import dataset_categories
    from vistool.methods.build import build_model
    from vistool.weights import load_matching_state, load_state, read_checkpoint

    if resume_ck is not None:
        model = build_model(method, resume_ck["config"], resume_ck["categories"], pretrained=False)
        load_state(model, resume_ck["state_dict"], where="resume checkpoint")
        return model
    categories = dataset_categories(data)
    if weights is None:
        return build_model(method, run.model, categories, backbone_weights=backbone_weights)
    ck = read_checkpoint(weights)
    if ck["method"] != method:  # parts shared by name (backbone + FPN, an FCOS head) start trained
        log.warning("%s: a '%s' checkpoint: its tensors whose name and shape fit this '%s' model are copied",
                    weights, ck["method"], method)
    if list(ck["categories"]) != categories:
        raise InputError(f"{weights}: its categories {ck['categories']} differ from the data's {categories}")
    model = build_model(method, run.model, categories, pretrained=False)
    kept = load_matching_state(model, ck["state_dict"], where=str(weights))
    if kept:
        log.warning("%s: %d tensors of the model do not fit the checkpoint and keep their fresh initialisation: %s%s",
                    weights, len(kept), ", ".join(kept[:6]), ", ..." if len(kept) > 6 else "")
    return model


def _with_valid_data(run: RunFile, split_dir: str) -> RunFile:
    """``run`` validating on ``split_dir`` (``--valid``), checked before any training."""
    from vistool.engine.sources import find_dataset_json

    if find_dataset_json(Path(split_dir)) is None:
        raise InputError(f"--valid {split_dir}: not a YouTube-VIS split folder (JPEGImages/ and one dataset JSON)")
    return replace(run, train=replace(run.train, valid_data=str(split_dir)))


def train(method: str, data: str, run: RunFile | None, out_dir: str | Path, *, resume: bool = False,
          device: str | None = None, steps: int | None = None, stage: str | None = None,
          weights: str | None = None, backbone_weights: str | None = None,
          reporter: TrainReporter | None = None, command: str = "", valid_data: str | None = None) -> TrainResult:
    """Train ``method`` on ``data`` (folder, JSON or ``synth:PRESET``) into ``out_dir``.

    Args:
        run: the parsed run-config file; None with ``resume`` reuses ``out_dir/run.yaml``.
        resume: continue from ``out_dir/last.pt`` (model, optimizer, scheduler, step, RNG).
        steps: override the number of steps of each stage.
        stage: run only this stage (default: all, in order).
        weights: initialise from this checkpoint: the model is built from ``run``'s config and every
            tensor of the checkpoint that fits (name and shape) is loaded; the others stay fresh.
        backbone_weights: imagenet|PATH|none, overriding the config.
        command: the command line, stored in the checkpoint's training summary.
        valid_data: a YouTube-VIS split folder to validate on, replacing ``train.valid_data`` of the config.

    Returns:
        The final checkpoint path (``out_dir/model.pt``), steps and last losses.
    """
    from vistool.methods import get_spec
    from vistool.weights import read_checkpoint, save_checkpoint

    get_spec(method)
    out = Path(out_dir)
    dd = setup_distributed(device)
    reporter = reporter or LogReporter()
    resume_ck = None
    if resume:
        if not (out / LAST).is_file():
            raise InputError(f"{out}: nothing to resume (no {LAST}); run without --resume")
        resume_ck = read_checkpoint(out / LAST)
        if resume_ck["method"] != method:
            raise InputError(f"{out / LAST}: the run is for method '{resume_ck['method']}', not '{method}'")
        run = run or load_run_file(out / "run.yaml")
    elif (out / LAST).is_file():
        raise InputError(f"{out}: already holds a run ({LAST}); pass --resume to continue it or choose another --out")
    if run is None:
        raise ConfigError("no run config: pass --config YAML")
    if run.method not in (None, method):
        raise ConfigError(f"the config is for method '{run.method}', not '{method}'")
    if valid_data is not None:
        run = _with_valid_data(run, valid_data)
    seed_everything(run.train.seed + 1009 * dd.rank)
    model = _prepare_model(method, data, run, resume_ck, weights, backbone_weights).to(dd.device)
    stages = model.training_stages()
    if stage is not None and stage not in stages:
        raise InputError(f"--stage {stage}: method '{method}' has stages {stages}")
    if dd.main:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_open(out / "run.yaml", "w", encoding="utf-8") as handle:
            import yaml

            yaml.safe_dump({"method": method, "model": to_dict(model.config), "train": to_dict(run.train)},
                           handle, sort_keys=False)
    summary = dict(resume_ck["training"]) if resume_ck else {}
    summary.update(data=data, command=command or summary.get("command", ""), method=method)
    trainer = Trainer(model, data, run.train, out, dd, reporter, summary)
    state = resume_ck.get("train_state") if resume_ck else None
    for index, name in enumerate(stages):
        if stage is not None and name != stage:
            continue
        plan = _stage_plan(model, name, run.train, data, steps)
        if state is not None and (index < state["stage_index"] or (index == state["stage_index"]
                                                                   and state["stage_done"]
                                                                   and state["step"] >= plan.steps)):
            continue
        resume_here = state if state is not None and index == state["stage_index"] else None
        trainer.run_stage(index, plan, resume_here)
        state = None
    if dd.main:
        save_checkpoint(out / FINAL, model, training={**trainer.summary, "global_step": trainer.global_step,
                                                      "losses": trainer.losses, "metrics": trainer.metrics})
        write_json(out / "summary.json", {"global_step": trainer.global_step, "losses": trainer.losses,
                                          "metrics": trainer.metrics}, indent=2)
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return TrainResult(out, out / FINAL, trainer.global_step, trainer.losses, trainer.metrics)
