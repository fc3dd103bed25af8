"""Cost (affinity) matrices between tracks and detections: box IoU, soft mask IoU, cosine similarity."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import box_iou


def batched_box_iou(a: Tensor, b: Tensor) -> Tensor:
    """(B, M, 4), (B, N, 4) xyxy -> (B, M, N) IoU (torchvision ``box_iou`` per batch entry)."""
    if a.shape[1] == 0 or b.shape[1] == 0:
        return a.new_zeros(a.shape[0], a.shape[1], b.shape[1])
    return torch.stack([box_iou(x, y) for x, y in zip(a, b)])


def soft_mask_iou(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """Soft IoU of every prediction with each of G targets, ``(inter + s) / (union + s)``.

    Args:
        pred: (..., D) mask probabilities, flattened.
        target: (..., G, D) target masks in [0, 1], flattened.

    Returns:
        (..., G).
    """
    inter = torch.einsum("...d,...gd->...g", pred, target)
    return (inter + smooth) / (pred.sum(-1)[..., None] + target.sum(-1) - inter + smooth)


def cosine_similarity_matrix(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """(..., M, D), (..., N, D) embeddings -> (..., M, N) cosine similarity."""
    return F.normalize(a, dim=-1, eps=eps) @ F.normalize(b, dim=-1, eps=eps).transpose(-1, -2)
