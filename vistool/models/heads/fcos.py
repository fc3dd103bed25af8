"""Anchor-free FCOS parts (Tian et al., ICCV 2019): towers, per-level scales, location grids,
location-to-object assignment and the centre-ness target.

A location is positive for an object when it lies in the object's centre
region (``center_radius`` strides around the box centre, clipped to the box)
and its largest distance to the box sides falls in its level's size range;
ambiguous locations take the smallest object.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def conv_gn_relu(cin: int, cout: int) -> list[nn.Module]:
    """3x3 conv + GroupNorm (largest of 32..1 groups dividing ``cout``) + ReLU."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if cout % g == 0)
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(groups, cout), nn.ReLU(inplace=True)]


def tower(in_channels: int, channels: int, convs: int) -> nn.Sequential:
    """``convs`` x :func:`conv_gn_relu`, the first from ``in_channels``."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += conv_gn_relu(in_channels if i == 0 else channels, channels)
    return nn.Sequential(*layers)


class Scale(nn.Module):
    """A learned scalar multiplier (one per FPN level, as FCOS)."""

    def __init__(self, init: float = 1.0):
        super().__init__()
        self.value = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.value


def location_points(h: int, w: int, stride: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(h * w, 2) centres (x, y) in input pixels of the cells of an ``h x w`` level, row-major."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1).to(dtype) * stride + stride // 2


def assign_locations(points: Tensor, strides: Tensor, level: Tensor, boxes: Tensor, center_radius: float,
                     size_bounds: tuple[float, ...]) -> Tensor:
    """FCOS assignment of every location of one image.

    Args:
        points: (P, 2) location centres (x, y); strides: (P,); level: (P,) int64 level index.
        boxes: (K, 4) xyxy objects.
        center_radius: centre sampling radius in strides.
        size_bounds: object-size bounds between consecutive levels (levels - 1 values).

    Returns:
        (P,) int64 index of the object each location regresses, -1 for negatives.
    """
    p = points.shape[0]
    if boxes.shape[0] == 0:
        return torch.full((p,), -1, dtype=torch.int64, device=boxes.device)
    x, y = points[:, 0:1], points[:, 1:2]  # (P, 1)
    ltrb = torch.stack([x - boxes[:, 0], y - boxes[:, 1], boxes[:, 2] - x, boxes[:, 3] - y], -1)  # (P, K, 4)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    r = center_radius * strides[:, None]
    in_center = ((x > torch.maximum(boxes[:, 0], cx - r)) & (x < torch.minimum(boxes[:, 2], cx + r))
                 & (y > torch.maximum(boxes[:, 1], cy - r)) & (y < torch.minimum(boxes[:, 3], cy + r)))
    lows = torch.tensor((0.0,) + tuple(size_bounds), device=boxes.device)[level]
    highs = torch.tensor(tuple(size_bounds) + (float("inf"),), device=boxes.device)[level]
    reach = ltrb.max(-1).values
    in_range = (reach >= lows[:, None]) & (reach <= highs[:, None])
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(p, -1)
    area = torch.where(in_center & in_range & (ltrb.min(-1).values > 0), area, torch.full_like(area, float("inf")))
    best_area, idx = area.min(1)
    return torch.where(torch.isfinite(best_area), idx, torch.full_like(idx, -1))


def centerness(ltrb: Tensor) -> Tensor:
    """(Q, 4) positive distances -> (Q,) FCOS centre-ness target in [0, 1]."""
    lr, tb = ltrb[:, [0, 2]], ltrb[:, [1, 3]]
    ratio_lr = lr.min(1).values / lr.max(1).values.clamp(min=1e-6)
    ratio_tb = tb.min(1).values / tb.max(1).values.clamp(min=1e-6)
    return (ratio_lr * ratio_tb).clamp(min=0).sqrt()
