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
import os
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, IterableDataset, Sampler

from vistool.config import from_dict, load_yaml, to_dict
from vistool.errors import ConfigError, InputError, VistoolError
from vistool.io.atomic import atomic_open, write_json

log = logging.getLogger(__name__)

LAST = "last.pt"
FINAL = "model.pt"


@dataclass(frozen=True)
class StageConfig:
    """Per-stage overrides of :class:`TrainConfig` (None = inherit)."""

    name: str
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of one training run.

    Attributes:
        size: (width, height) training frame size given to the data loader.
        steps / epochs: run length per stage (steps wins; epochs need a finite dataset).
        lr_drops: steps (or epochs, when ``epochs`` is set) at which the LR is multiplied by ``lr_drop_factor``.
        backbone_lr_mult: LR multiplier of parameters whose name starts with ``backbone``.
        grad_clip: max total gradient norm (0 = off).
        amp: mixed precision (fp16 autocast + GradScaler) on CUDA devices.
        valid_data: split folder to validate on (YouTube-VIS layout), or None.
        valid_every: validate every this many steps (0 = only at the end of each stage).
        stages: per-stage overrides, by stage name.
    """

    size: tuple[int, int] = (640, 360)
    batch_size: int = 1
    steps: int | None = None
    epochs: float | None = None
    optimizer: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    backbone_lr_mult: float = 1.0
    warmup_steps: int = 0
    lr_drops: tuple[float, ...] = ()
    lr_drop_factor: float = 0.1
    grad_clip: float = 0.0
    amp: bool = True
    seed: int = 0
    workers: int = 0
    augment: bool = True
    gap: int = 1
    log_every: int = 10
    checkpoint_every: int = 500
    valid_data: str | None = None
    valid_every: int = 0
    valid_max_videos: int | None = None
    stages: tuple[StageConfig, ...] = ()


@dataclass(frozen=True)
class RunFile:
    """A parsed run-config file."""

    method: str | None = None
    model: dict = field(default_factory=dict)
    train: TrainConfig = TrainConfig()


def load_run_file(path: str | Path) -> RunFile:
    """Read a run-config YAML (``method``, ``model``, ``train``); unknown keys are errors."""
    data = load_yaml(path)
    unknown = set(data) - {"method", "model", "train"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: method, model, train")
    train = from_dict(TrainConfig, data.get("train") or {}, where=f"{path}:train")
    model = data.get("model") or {}
    if not isinstance(model, dict):
        raise ConfigError(f"{path}: 'model' must be a mapping")
    return RunFile(method=data.get("method"), model=model, train=train)


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


# ------------------------------------------------------------------ distributed, seeds


@dataclass(frozen=True)
class Dist:
    """Process-group facts: rank, world size, device."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str | None) -> Dist:
    """Init the process group under torchrun (WORLD_SIZE > 1) and pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if world <= 1:
        return Dist(0, 1, dev)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), dev)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """RNG states as tensors and plain lists (loadable with weights_only=True)."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
             "python_gauss": random.getstate()[2], "numpy": torch.from_numpy(np_state[1].astype(np.int64)),
             "numpy_pos": int(np_state[2])}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _ShardSampler(Sampler):
    """Every ``world``-th key of a base sampler (from ``rank``), skipping the first ``skip`` keys once."""

    def __init__(self, base: Sampler, rank: int, world: int, skip: int = 0):
        self.base, self.rank, self.world, self.skip = base, rank, world, skip

    def __len__(self) -> int:
        return len(range(self.rank, len(self.base), self.world))

    def __iter__(self) -> Iterator:
        keys = list(iter(self.base))[self.rank::self.world]
        skip, self.skip = self.skip, 0
        return iter(keys[skip:])


def _is_endless(loader: Any) -> bool:
    """True for loaders without a length (iterable datasets such as the synthetic stream)."""
    return isinstance(getattr(loader, "dataset", None), IterableDataset) or not hasattr(loader, "__len__")


def _loader(data: str, clip_len: int, cfg: TrainConfig, batch_size: int, dd: Dist, epoch: int, skip: int,
            seed: int) -> DataLoader:
    """The stage's loader; finite datasets are sharded over ranks and positioned at (epoch, skip)."""
    from vistool.data.dataset import mix_seed
    from vistool.data.loader import build_clip_loader

    iterable = data.startswith("synth:")
    loader_seed = mix_seed(seed, dd.rank, epoch) if iterable else seed
    loader = build_clip_loader(data, clip_len, batch_size, tuple(cfg.size), seed=loader_seed,
                               workers=cfg.workers, augment=cfg.augment, gap=cfg.gap, split="train")
    if not isinstance(loader, DataLoader) or _is_endless(loader):
        return loader
    base = loader.sampler
    if hasattr(base, "epoch"):
        base.epoch = epoch
    shard = _ShardSampler(base, dd.rank, dd.world, skip * batch_size)
    return DataLoader(loader.dataset, batch_size=batch_size, sampler=shard, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, worker_init_fn=loader.worker_init_fn)


# ------------------------------------------------------------------ optimisation


def build_optimizer(model: nn.Module, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """AdamW or SGD over trainable parameters; ``backbone*`` parameters get ``lr * backbone_lr_mult``."""
    groups: dict[bool, list[Tensor]] = {True: [], False: []}
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups[name.startswith("backbone")].append(param)
    params = [{"params": groups[False], "lr": lr},
              {"params": groups[True], "lr": lr * cfg.backbone_lr_mult}]
    params = [g for g in params if g["params"]]
    if not params:
        raise ConfigError("no trainable parameters in this training stage")
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ConfigError(f"train.optimizer: unknown '{cfg.optimizer}'; choose adamw or sgd")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_unit: int
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then x``lr_drop_factor`` at each of ``lr_drops``.

    ``lr_drops`` count epochs when ``cfg.epochs`` is set (``steps_per_unit`` steps each), else steps.
    """
    drops = sorted(int(round(d * steps_per_unit)) for d in cfg.lr_drops)
    warm = max(cfg.warmup_steps, 0)

    def factor(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if warm else 1.0
        return w * cfg.lr_drop_factor ** sum(step >= d for d in drops)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class _LossModule(nn.Module):
    """Makes ``model.loss`` the forward of a module, so DDP hooks see it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> dict[str, Tensor]:
        return self.model.loss(batch)


@dataclass
class _StagePlan:
    """What one stage runs: its name, clip length, batch size, LR and length in steps."""

    name: str
    clip_len: int
    batch_size: int
    lr: float
    steps: int
    steps_per_unit: int


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
        per_unit = max(1, per_unit // world)
        steps = steps or int(math.ceil(cfg.epochs * per_unit))
    if not steps:
        raise ConfigError("the run length is not set: give train.steps (or train.epochs) or --steps")
    return _StagePlan(name, clip_len, batch, over.lr or cfg.lr, int(steps), per_unit)


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
        sched = build_scheduler(opt, cfg, plan.steps_per_unit)
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
            runner = nn.parallel.DistributedDataParallel(runner, find_unused_parameters=True)
        batches = self._batches(plan, start)
        self.reporter.start_stage(plan.name, plan.steps, start)
        params = [p for p in model.parameters() if p.requires_grad]
        window: dict[str, list[float]] = {}
        tic, tic_step = time.perf_counter(), start
        for step in range(start, plan.steps):
            terms = self._step(runner, next(batches), opt, scaler, params, amp)
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

    def _step(self, runner: nn.Module, batch: Any, opt, scaler, params: list[Tensor], amp: bool) -> dict[str, float]:
        """One optimisation step; returns the loss terms as floats (non-finite steps are skipped)."""
        batch = batch.to(self.dd.device)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            terms = runner(batch)
        total = sum(terms.values())
        values = {k: float(v.detach()) for k, v in terms.items()}
        values["loss"] = float(total.detach())
        if not math.isfinite(values["loss"]):
            self.reporter.message(f"non-finite loss at step {self.global_step + 1}: {values}; step skipped")
            opt.zero_grad(set_to_none=True)
            return values
        if scaler is not None:
            scaler.scale(total).backward()
            scaler.unscale_(opt)
        else:
            total.backward()
        if self.cfg.grad_clip > 0:
            values["grad_norm"] = float(nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
        return values

    def _batches(self, plan: _StagePlan, start: int) -> Iterator[Any]:
        """Endless batches: finite loaders restart as the next epoch (resumed at ``start``'s position)."""
        per_epoch = None
        epoch, skip = 0, 0
        probe = _loader(self.data, plan.clip_len, self.cfg, plan.batch_size, self.dd, 0, 0, self.cfg.seed + start)
        if not _is_endless(probe):
            per_epoch = max(1, len(probe))
            epoch, skip = divmod(start, per_epoch)
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
                           self.reporter)
        self.model.train()
        if metrics is None:
            return
        self.metrics = metrics
        self.reporter.update({"stage": "valid", "step": step, "global_step": self.global_step,
                              "loss": self.losses.get("loss", float("nan")), "metrics": metrics})
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"valid_step": self.global_step, **metrics}) + "\n")


def validate(model: nn.Module, split_dir: str, device: torch.device, max_videos: int | None,
             reporter: TrainReporter | None = None) -> dict[str, float] | None:
    """YouTube-VIS metrics of ``model`` on a split folder, or None (with a warning) when unavailable.

    Uses ``vistool.engine.infer.predict_split`` and ``vistool.eval.ytvis``
    lazily, so training works before (or without) those parts.
    """
    warn = reporter.message if reporter is not None else log.warning
    try:
        from vistool.engine.infer import predict_split
        from vistool.eval import ytvis
    except ImportError as exc:
        warn(f"validation skipped: {exc}")
        return None
    from vistool.data.loader import resolve_dataset

    gt_path, _ = resolve_dataset(split_dir, "valid")
    model.eval()
    with torch.no_grad():
        results = predict_split(model, split_dir, device=str(device), max_videos=max_videos)
    stats = ytvis.evaluate(str(gt_path), results) if hasattr(ytvis, "evaluate") else None
    if stats is None:
        warn("validation skipped: vistool.eval.ytvis has no evaluate()")
        return None
    return _as_metrics(stats)


def _as_metrics(stats: Any) -> dict[str, float]:
    """The evaluator's result (a mapping, a dataclass or the 12 COCO-style numbers) as a flat dict."""
    names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    if hasattr(stats, "as_dict"):
        stats = stats.as_dict()
    elif hasattr(stats, "__dataclass_fields__"):
        stats = to_dict(stats)
    if isinstance(stats, dict):
        return {str(k): float(v) for k, v in stats.items() if isinstance(v, (int, float))}
    return dict(zip(names, (float(v) for v in stats)))


def _prepare_model(method: str, data: str, run: RunFile, resume_ck: dict | None, weights: str | None,
                   backbone_weights: str | None) -> nn.Module:
    """The model to train: from the resume checkpoint, an init checkpoint, or built fresh."""
    from vistool.data.loader import dataset_categories
    from vistool.weights import build_model, load_checkpoint_model, load_state

    if resume_ck is not None:
        model = build_model(method, resume_ck["config"], resume_ck["categories"], pretrained=False)
        load_state(model, resume_ck["state_dict"], where="resume checkpoint")
        return model
    categories = dataset_categories(data)
    if weights is not None:
        model, ck = load_checkpoint_model(weights, method)
        if list(ck["categories"]) != categories:
            raise InputError(f"{weights}: its categories {ck['categories']} differ from the data's {categories}")
        return model
    return build_model(method, run.model, categories, backbone_weights=backbone_weights)


def train(method: str, data: str, run: RunFile | None, out_dir: str | Path, *, resume: bool = False,
          device: str | None = None, steps: int | None = None, stage: str | None = None,
          weights: str | None = None, backbone_weights: str | None = None,
          reporter: TrainReporter | None = None, command: str = "") -> TrainResult:
    """Train ``method`` on ``data`` (folder, JSON or ``synth:PRESET``) into ``out_dir``.

    Args:
        run: the parsed run-config file; None with ``resume`` reuses ``out_dir/run.yaml``.
        resume: continue from ``out_dir/last.pt`` (model, optimizer, scheduler, step, RNG).
        steps: override the number of steps of each stage.
        stage: run only this stage (default: all, in order).
        weights: initialise from this checkpoint instead of building a fresh model.
        backbone_weights: imagenet|PATH|none, overriding the config.
        command: the command line, stored in the checkpoint's training summary.

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
    return TrainResult(out, out / FINAL, trainer.global_step, trainer.losses, trainer.metrics)
