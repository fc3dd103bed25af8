"""Losses shared by the methods (torchvision ops where they exist).

All functions return the *sum* over their elements unless ``reduction`` says
otherwise, so callers normalise by their own count (instances, entries, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

__all__ = [
    "sigmoid_focal", "dice_loss", "dice_cost", "mask_iou_cost", "box_l1_giou", "bce_with_logits",
    "cross_entropy_with_background",
    "sigmoid_focal_loss", "generalized_box_iou_loss",
]


def sigmoid_focal(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0,
                  reduction: str = "sum") -> Tensor:
    """Sigmoid focal loss (torchvision.ops.sigmoid_focal_loss) of (..., C) logits and {0,1} targets."""
    return sigmoid_focal_loss(logits, targets.to(logits.dtype), alpha=alpha, gamma=gamma, reduction=reduction)


def dice_loss(logits: Tensor, targets: Tensor, eps: float = 1.0, reduction: str = "sum") -> Tensor:
    """Dice loss 1 - (2|p.g| + eps) / (|p| + |g| + eps) per mask.

    Args:
        logits: (K, ...) mask logits.
        targets: (K, ...) in [0, 1], same shape.

    Returns:
        (K,) with reduction "none", else their sum or mean.
    """
    p = logits.sigmoid().flatten(1)
    g = targets.to(p.dtype).flatten(1)
    loss = 1 - (2 * (p * g).sum(1) + eps) / (p.sum(1) + g.sum(1) + eps)
    return _reduce(loss, reduction)


def bce_with_logits(logits: Tensor, targets: Tensor, reduction: str = "sum") -> Tensor:
    """Binary cross-entropy of (K, ...) mask logits, averaged per mask over its pixels.

    Returns:
        (K,) with reduction "none", else their sum or mean.
    """
    loss = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction="none")
    return _reduce(loss.flatten(1).mean(1), reduction)


def box_l1_giou(pred: Tensor, target: Tensor, image_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """L1 on boxes normalised by the image size, and GIoU loss (torchvision), both summed.

    Args:
        pred, target: (K, 4) xyxy pixels.
        image_size: (H, W) used to normalise the L1 term.

    Returns:
        (l1, giou) scalar sums over the K boxes.
    """
    h, w = image_size
    scale = pred.new_tensor([w, h, w, h])
    l1 = F.l1_loss(pred / scale, target / scale, reduction="sum")
    giou = generalized_box_iou_loss(pred.float(), target.float(), reduction="sum") if len(pred) else pred.sum() * 0
    return l1, giou


def dice_cost(logits: Tensor, targets: Tensor, eps: float = 1.0) -> Tensor:
    """Pairwise dice loss between every prediction and every target.

    Args:
        logits: (P, D) flattened mask logits.
        targets: (G, D) flattened masks in [0, 1].

    Returns:
        (P, G).
    """
    p = logits.sigmoid()
    g = targets.to(p.dtype)
    inter = p @ g.t()
    return 1 - (2 * inter + eps) / (p.sum(1)[:, None] + g.sum(1)[None] + eps)


def mask_iou_cost(logits: Tensor, targets: Tensor, eps: float = 1.0) -> Tensor:
    """Pairwise soft mask IoU (sum p.g / sum p + g - p.g): (P, D), (G, D) -> (P, G)."""
    p = logits.sigmoid()
    g = targets.to(p.dtype)
    inter = p @ g.t()
    union = p.sum(1)[:, None] + g.sum(1)[None] - inter
    return (inter + eps) / (union + eps)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.numel() else loss.sum()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"unknown reduction '{reduction}'")


def cross_entropy_with_background(logits: Tensor, targets: Tensor, background_weight: float) -> Tensor:
    """Softmax cross-entropy whose last class (background) is down-weighted (DETR's ``eos_coef``).

    Args:
        logits: (E, C + 1).
        targets: (E,) int64 in [0, C]; C is background.

    Returns:
        Weighted mean over the E entries (scalar).
    """
    weight = torch.ones(logits.shape[-1], device=logits.device, dtype=logits.dtype)
    weight[-1] = background_weight
    return F.cross_entropy(logits, targets, weight=weight)
