"""Centre heat maps: Gaussian targets, their focal loss and peak extraction.

Shared by the centre-based heads: CenterNet (per-category heat maps, VisSTG) and
Panoptic-DeepLab's class-agnostic instance centres (InstFlow). Coordinates are
in heat-map cells: ``(x, y)`` with ``x`` the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Peaks", "gaussian_radius", "gaussian_heatmap", "center_focal_loss", "extract_peaks"]


def gaussian_radius(heights: Tensor, widths: Tensor, min_overlap: float = 0.7) -> Tensor:
    """CenterNet's radius per box: the largest corner shift keeping IoU >= ``min_overlap``.

    Args:
        heights, widths: (N,) box sizes in heat-map cells.

    Returns:
        (N,) radii (float, >= 0); the smallest of the three cases of the CenterNet rule.
    """
    h, w, o = heights.float(), widths.float(), min_overlap
    r1 = _quadratic_root(1.0, h + w, w * h * (1 - o) / (1 + o))
    r2 = _quadratic_root(4.0, 2 * (h + w), (1 - o) * w * h)
    r3 = _quadratic_root(4 * o, -2 * o * (h + w), (o - 1) * w * h)
    return torch.stack([r1, r2, r3]).min(0).values.clamp(min=0)


def _quadratic_root(a: float, b: Tensor, c: Tensor) -> Tensor:
    """(b + sqrt(b^2 - 4ac)) / 2, the form each case of :func:`gaussian_radius` takes."""
    return (b + (b * b - 4 * a * c).clamp(min=0).sqrt()) / 2


def gaussian_heatmap(centers: Tensor, sigmas: Tensor, size: tuple[int, int], channels: Tensor | None = None,
                     num_channels: int = 1) -> Tensor:
    """Heat map with one unnormalised Gaussian (peak 1) per centre; overlaps keep the maximum.

    Args:
        centers: (N, 2) float ``(x, y)`` centres in cells (peaks sit on the rounded-down cell).
        sigmas: (N,) standard deviations in cells.
        size: ``(H, W)`` of the map.
        channels: (N,) long channel (category) of each centre; None puts all in channel 0.
        num_channels: C.

    Returns:
        (C, H, W) float in [0, 1].
    """
    height, width = size
    heat = centers.new_zeros(num_channels, height, width)
    if len(centers) == 0:
        return heat
    cells = centers.floor()
    ys = torch.arange(height, device=centers.device, dtype=centers.dtype)
    xs = torch.arange(width, device=centers.device, dtype=centers.dtype)
    dy2 = (ys[None, :] - cells[:, 1:2]) ** 2  # (N, H)
    dx2 = (xs[None, :] - cells[:, 0:1]) ** 2  # (N, W)
    two_var = 2 * sigmas.clamp(min=1e-3)[:, None, None] ** 2
    blobs = torch.exp(-(dy2[:, :, None] + dx2[:, None, :]) / two_var)  # (N, H, W)
    index = torch.zeros(len(centers), dtype=torch.long, device=centers.device) if channels is None else channels
    for c in index.unique().tolist():
        heat[c] = blobs[index == c].amax(0)
    return heat


def center_focal_loss(logits: Tensor, target: Tensor, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss, normalised by the number of peaks.

    Args:
        logits: (..., H, W) heat-map logits.
        target: same shape, Gaussian targets in [0, 1] with exact 1 at the peaks.

    Returns:
        scalar loss (sum over all cells / max(1, number of cells with target 1)).
    """
    prob = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    peaks = target.eq(1).to(prob.dtype)
    log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
    positive = (1 - prob) ** alpha * log_p * peaks
    negative = (1 - target) ** beta * prob ** alpha * log_not_p * (1 - peaks)
    return -(positive.sum() + negative.sum()) / peaks.sum().clamp(min=1)


@dataclass(frozen=True)
class Peaks:
    """Local maxima of a heat map.

    Attributes:
        scores: (K,) heat values; channels: (K,) long channel (category);
        ys, xs: (K,) long cell coordinates.
    """

    scores: Tensor
    channels: Tensor
    ys: Tensor
    xs: Tensor

    def __len__(self) -> int:
        return int(self.scores.numel())


def extract_peaks(heat: Tensor, threshold: float, top_k: int, kernel: int = 3) -> Peaks:
    """Peaks of a (C, H, W) heat map (probabilities): max-pool NMS, threshold, then the top k.

    A cell is a peak when it equals the maximum of its ``kernel`` x ``kernel`` window
    and exceeds ``threshold``; at most ``top_k`` peaks, best first.
    """
    num_channels, height, width = heat.shape
    pooled = F.max_pool2d(heat[None], kernel, stride=1, padding=kernel // 2)[0]
    kept = torch.where(heat.eq(pooled) & (heat > threshold), heat, torch.zeros_like(heat)).flatten()
    k = min(top_k, int((kept > 0).sum()))
    scores, flat = kept.topk(k) if k > 0 else (kept[:0], torch.zeros(0, dtype=torch.long, device=heat.device))
    cells = height * width
    return Peaks(scores=scores, channels=flat // cells, ys=(flat % cells) // width, xs=flat % width)
