"""Backbone pretraining by dense (per-pixel) category segmentation, for machines without ImageNet weights.

The papers start from ImageNet/COCO backbones. Where those cannot be
downloaded, ``vistool pretrain`` teaches a torchvision backbone the categories
of the training data directly: every pixel is labelled with the category of
the instance covering it (0 = background) and a light FPN-style head predicts
it. Dense labels give a classification signal at every pixel of every frame,
far more than the few matched queries/anchors a VIS loss gives, so features
learn shape and texture cues much sooner. The result is a plain torchvision
state dict that ``vistool train --backbone-weights PATH`` (and the config key
``model.backbone.weights``) accept.

Choices: the loss is cross-entropy averaged separately over foreground and
background pixels and summed (objects cover a few per cent of a frame, so a
plain pixel average learns "background everywhere" first); frames are single
frames drawn from the same clip loader as ``vistool train``, with its
augmentation; AdamW with linear warm-up and a cosine decay to zero.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.data.loader import build_clip_loader, dataset_categories
from vistool.engine.train_setup import rng_state, seed_everything, set_rng_state
from vistool.errors import InputError
from vistool.io.atomic import atomic_path, write_json
from vistool.models.backbone import Backbone
from vistool.models.transform import IMAGENET_MEAN, IMAGENET_STD
from vistool.structures import ClipBatch

log = logging.getLogger(__name__)

LAST = "last.pt"
BACKBONE = "backbone.pt"


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of a dense pretraining run.

    Attributes:
        backbone: torchvision backbone name (see ``models.backbone.BACKBONES``).
        norm: ``gn`` or ``bn``; must match the config that will load the result.
        size: (width, height) of training frames.
        batch_size: frames per step.
        steps: optimisation steps.
        lr: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up length.
        head_channels: channels of the segmentation head.
        seed: seed of data order, augmentation and initialisation.
        workers: DataLoader worker processes.
        checkpoint_every: steps between resumable checkpoints.
        log_every: steps between progress records.
    """

    backbone: str = "mobilenet_v3_small"
    norm: str = "gn"
    size: tuple[int, int] = (320, 180)
    batch_size: int = 8
    steps: int = 3000
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    head_channels: int = 64
    seed: int = 0
    workers: int = 0
    checkpoint_every: int = 250
    log_every: int = 20


class DenseCategoryNet(nn.Module):
    """Backbone (c3, c4, c5) + summed 1x1 laterals at stride 8 + a 3x3 conv head.

    Args:
        num_classes: categories + 1 (index 0 is background).
    """

    def __init__(self, backbone: str, norm: str, num_classes: int, channels: int = 64):
        super().__init__()
        self.backbone = Backbone(backbone, ("c3", "c4", "c5"), norm=norm)
        self.laterals = nn.ModuleDict({k: nn.Conv2d(c, channels, 1) for k, c in self.backbone.channels.items()})
        self.head = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(8, channels),
                                  nn.ReLU(inplace=True), nn.Conv2d(channels, num_classes, 1))

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, num_classes, H, W) logits."""
        feats = self.backbone(images)
        fused = self.laterals["c3"](feats["c3"])
        for name in ("c4", "c5"):
            fused = fused + F.interpolate(self.laterals[name](feats[name]), size=fused.shape[-2:], mode="bilinear",
                                          align_corners=False)
        return F.interpolate(self.head(fused), size=images.shape[-2:], mode="bilinear", align_corners=False)

    def torchvision_state_dict(self) -> dict[str, Tensor]:
        """The backbone's weights under the torchvision model's own key names."""
        return {k: v.detach().cpu().clone() for k, v in self.backbone.body.state_dict().items()}


def semantic_targets(batch: ClipBatch) -> Tensor:
    """Per-pixel category map of each clip's first frame: (B, H, W) int64, 0 = background, label + 1 otherwise.

    Where instance masks overlap (they should not), the later instance wins.
    """
    b, _, _, h, w = batch.images.shape
    target = torch.zeros(b, h, w, dtype=torch.int64)
    for i, sample in enumerate(batch.samples):
        for k in range(int(sample.labels.numel())):
            target[i][sample.masks[k, 0].bool()] = int(sample.labels[k]) + 1
    return target


def balanced_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean CE over foreground pixels + mean CE over background pixels.

    Args:
        logits: (B, K, H, W). target: (B, H, W) int64, 0 = background.
    """
    pixel = F.cross_entropy(logits, target, reduction="none")  # (B, H, W)
    fg = (target > 0).float()
    bg = 1.0 - fg
    return (pixel * fg).sum() / fg.sum().clamp(min=1.0) + (pixel * bg).sum() / bg.sum().clamp(min=1.0)


def normalise(images: Tensor) -> Tensor:
    """(B, 3, H, W) uint8 RGB -> ImageNet-normalised float."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() - mean) / std


def _lr_factor(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


@dataclass
class PretrainResult:
    """Where the backbone went and how the last steps scored."""

    backbone_path: Path
    steps: int
    loss: float
    foreground_accuracy: float


def _save_last(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int, cfg: PretrainConfig,
               categories: list[str], data: str) -> None:
    payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
               "config": asdict(cfg), "categories": categories, "data": data, "rng": rng_state()}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _resume(out: Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg: PretrainConfig) -> int:
    from vistool.weights import load_state_file

    ck = load_state_file(out / LAST)
    if ck["config"]["backbone"] != cfg.backbone or ck["config"]["norm"] != cfg.norm:
        raise InputError(f"{out / LAST}: was trained with backbone {ck['config']['backbone']}/{ck['config']['norm']}, "
                         f"not {cfg.backbone}/{cfg.norm}; use another --out")
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    set_rng_state(ck["rng"])
    return int(ck["step"])


def pretrain(data: str, out_dir: str | Path, cfg: PretrainConfig, *, resume: bool = False,
             reporter: Any = None) -> PretrainResult:
    """Run dense category pretraining and write ``backbone.pt`` (torchvision state dict) into ``out_dir``.

    Args:
        data: anything ``vistool train --data`` takes (a YouTube-VIS split or ``synth:PRESET``).
        reporter: optional TrainReporter (``start_stage``, ``update``); progress is logged otherwise.
    """
    out = Path(out_dir)
    if resume and not (out / LAST).is_file():
        raise InputError(f"{out / LAST}: nothing to resume; run without --resume first")
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.seed)
    categories = dataset_categories(data)
    model = DenseCategoryNet(cfg.backbone, cfg.norm, len(categories) + 1, cfg.head_channels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = _resume(out, model, optimizer, cfg) if resume else 0
    loader = build_clip_loader(data, 1, cfg.batch_size, cfg.size, seed=cfg.seed + start, workers=cfg.workers)
    if reporter is not None:
        reporter.start_stage("pretrain", cfg.steps, start)
    model.train()
    step, tick = start, time.time()
    window: list[tuple[float, float]] = []  # (loss, foreground accuracy) since the last record
    loss_avg = acc_avg = float("nan")
    batches = iter(loader)
    while step < cfg.steps:
        batch = next(batches)
        target = semantic_targets(batch)
        logits = model(normalise(batch.images[:, 0]))
        loss = balanced_cross_entropy(logits, target)
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * _lr_factor(step, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        fg = target > 0
        acc = float((logits.argmax(1)[fg] == target[fg]).float().mean()) if fg.any() else 0.0
        window.append((float(loss.detach()), acc))
        if step % cfg.log_every == 0 or step == cfg.steps:
            loss_avg, acc_avg = (sum(v) / len(window) for v in zip(*window))
            window.clear()
            rate = cfg.log_every / max(time.time() - tick, 1e-9)
            tick = time.time()
            record = {"stage": "pretrain", "step": step, "total_steps": cfg.steps, "lr": optimizer.param_groups[0]["lr"],
                      "it_s": rate, "eta_s": (cfg.steps - step) / max(rate, 1e-9), "loss": loss_avg,
                      "fg_acc": acc_avg}
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            if reporter is not None:
                reporter.update(record)
            else:
                log.info("pretrain step %d loss %.4f fg_acc %.3f", step, loss_avg, acc_avg)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            _save_last(out / LAST, model, optimizer, step, cfg, categories, data)
    backbone_path = out / BACKBONE
    with atomic_path(backbone_path) as tmp:
        torch.save(model.torchvision_state_dict(), tmp)
    write_json(out / "summary.json", {"data": data, "config": asdict(cfg), "steps": step, "loss": loss_avg,
                                      "foreground_accuracy": acc_avg, "categories": categories}, indent=2)
    return PretrainResult(backbone_path, step, loss_avg, acc_avg)
