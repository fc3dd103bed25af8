"""Bipartite matching (scipy's Hungarian) and pairwise costs between box sets."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torchvision.ops import box_iou, generalized_box_iou


def hungarian(cost: Tensor) -> tuple[Tensor, Tensor]:
    """Minimum-cost one-to-one assignment of a (P, G) cost matrix.

    Non-finite costs are replaced by a large finite value so scipy never
    fails; rectangular matrices match min(P, G) pairs.

    Returns:
        (rows, cols): int64 tensors of equal length, on the cost's device,
        sorted by row.
    """
    from scipy.optimize import linear_sum_assignment  # here: scipy.optimize takes a second to import

    if cost.numel() == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=cost.device)
        return empty, empty.clone()
    c = cost.detach().float().cpu().numpy()
    finite = np.isfinite(c)
    if not finite.all():
        big = np.abs(c[finite]).max() * 10 + 1e6 if finite.any() else 1e6
        c = np.where(finite, c, big)
    rows, cols = linear_sum_assignment(c)
    return (torch.as_tensor(rows, dtype=torch.int64, device=cost.device),
            torch.as_tensor(cols, dtype=torch.int64, device=cost.device))


def greedy_match(score: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """Greedy one-to-one matching of a (P, G) score matrix: highest scores first, above ``threshold``.

    Returns:
        (rows, cols) int64 tensors of the accepted pairs.
    """
    s = score.detach().float().cpu().clone()
    rows, cols = [], []
    while s.numel() and s.max() > threshold:
        flat = int(s.argmax())
        r, c = divmod(flat, s.shape[1])
        rows.append(r)
        cols.append(c)
        s[r, :] = -float("inf")
        s[:, c] = -float("inf")
    return (torch.tensor(rows, dtype=torch.int64, device=score.device),
            torch.tensor(cols, dtype=torch.int64, device=score.device))


def box_cost(pred: Tensor, target: Tensor, image_size: tuple[int, int], l1_weight: float = 5.0,
             giou_weight: float = 2.0) -> Tensor:
    """DETR box cost: weighted L1 of image-normalised xyxy boxes minus weighted GIoU.

    Args:
        pred: (P, 4) xyxy pixels.
        target: (G, 4) xyxy pixels.

    Returns:
        (P, G).
    """
    h, w = image_size
    scale = pred.new_tensor([w, h, w, h])
    l1 = torch.cdist(pred / scale, target / scale, p=1)
    return l1_weight * l1 - giou_weight * generalized_box_iou(pred, target)


__all__ = ["hungarian", "greedy_match", "box_cost", "box_iou", "generalized_box_iou"]
