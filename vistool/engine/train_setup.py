"""Training set-up shared by the loop in :mod:`vistool.engine.train`: the run-config schema,
distributed/seed/RNG helpers, sharded data loading, optimizer and LR schedule."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, IterableDataset, Sampler

from vistool.config import apply_overrides, from_dict, load_yaml, parse_overrides
from vistool.errors import ConfigError


@dataclass(frozen=True)
class StageConfig:
    """Per-stage overrides of :class:`TrainConfig` (None = inherit)."""

    name: str
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    lr_drops: tuple[float, ...] | None = None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of one training run.

    Attributes:
        size: (width, height) training frame size given to the data loader.
        steps / epochs: run length per stage (steps wins; epochs need a finite dataset).
        lr_drops: steps (or epochs, when ``epochs`` is set) at which the LR is multiplied by ``lr_drop_factor``.
        backbone_lr_mult: LR multiplier of parameters whose name starts with ``backbone``.
        grad_clip: max total gradient norm (0 = off).
        accumulate: batches whose gradients are summed (each loss / accumulate) before one optimiser
            step; the effective batch is ``batch_size * accumulate`` (x the DDP world size). A step
            counts optimiser steps, so ``steps``, ``lr_drops`` and checkpoints keep their meaning.
        amp: mixed precision (fp16 autocast + GradScaler) on CUDA devices.
        valid_data: split folder to validate on (YouTube-VIS layout), or None.
        valid_every: validate every this many steps (0 = only at the end of each stage).
        ddp_find_unused: DDP ``find_unused_parameters`` (for models whose loss skips parameters).
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
    accumulate: int = 1
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
    ddp_find_unused: bool = False
    stages: tuple[StageConfig, ...] = ()


@dataclass(frozen=True)
class RunFile:
    """A parsed run-config file."""

    method: str | None = None
    model: dict = field(default_factory=dict)
    train: TrainConfig = TrainConfig()


def load_run_file(path: str | Path, overrides: Iterable[str] = ()) -> RunFile:
    """Read a run-config YAML (``method``, ``model``, ``train``); unknown keys are errors.

    ``overrides`` are ``KEY=VALUE`` settings applied on top (``vistool train --set``).
    """
    data = apply_overrides(load_yaml(path), parse_overrides(overrides))
    unknown = set(data) - {"method", "model", "train"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: method, model, train")
    train = from_dict(TrainConfig, data.get("train") or {}, where=f"{path}:train")
    if train.accumulate < 1:
        raise ConfigError(f"{path}: train.accumulate must be >= 1, got {train.accumulate}")
    model = data.get("model") or {}
    if not isinstance(model, dict):
        raise ConfigError(f"{path}: 'model' must be a mapping")
    return RunFile(method=data.get("method"), model=model, train=train)


# ------------------------------------------------------------------ distributed, seeds


def sync_unless(runner: nn.Module, skip_sync: bool) -> Any:
    """DDP's ``no_sync`` for the batches before the last one of an accumulated step (else a null context)."""
    if skip_sync and isinstance(runner, nn.parallel.DistributedDataParallel):
        return runner.no_sync()
    return contextlib.nullcontext()


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


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_unit: int,
                    lr_drops: tuple[float, ...] | None = None) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then x``lr_drop_factor`` at each of ``lr_drops``.

    ``lr_drops`` (default ``cfg.lr_drops``; a stage may set its own) count epochs when ``cfg.epochs``
    is set (``steps_per_unit`` steps each), else steps.
    """
    drops = sorted(int(round(d * steps_per_unit)) for d in (cfg.lr_drops if lr_drops is None else lr_drops))
    warm = max(cfg.warmup_steps, 0)

    def factor(step: int) -> float:
        w = min(1.0, (step + 1) / warm) if warm else 1.0
        return w * cfg.lr_drop_factor ** sum(step >= d for d in drops)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
