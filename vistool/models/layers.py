"""Small building blocks shared by the methods: sine positional encodings and FPN RoI pooling."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torchvision.ops import MultiScaleRoIAlign


def sine_encoding_1d(positions: Tensor, dim: int, temperature: float = 10000.0) -> Tensor:
    """Transformer sine/cosine encoding of scalar positions.

    Args:
        positions: (...,) float positions (e.g. frame offsets).
        dim: even encoding size.

    Returns:
        (..., dim): sin on the first half of the frequencies, cos on the second.
    """
    if dim % 2:
        raise ValueError(f"sine encoding needs an even dim, got {dim}")
    freqs = temperature ** (torch.arange(dim // 2, device=positions.device, dtype=torch.float32) * 2 / dim)
    angles = positions.float().unsqueeze(-1) / freqs  # (..., dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def sine_encoding_2d(mask: Tensor, dim: int, temperature: float = 10000.0, normalize: bool = True) -> Tensor:
    """DETR-style 2-D sine encoding of pixel positions (half the channels for y, half for x).

    Args:
        mask: (B, H, W) bool, True on padding (padding is excluded from the cumulative positions).
        dim: total channels, divisible by 4.
        normalize: scale positions to [0, 2*pi] over the valid region.

    Returns:
        (B, dim, H, W) float.
    """
    if dim % 4:
        raise ValueError(f"2-D sine encoding needs dim divisible by 4, got {dim}")
    valid = (~mask).float()
    y = valid.cumsum(1)
    x = valid.cumsum(2)
    if normalize:
        eps = 1e-6
        y = y / (y[:, -1:, :] + eps) * 2 * math.pi
        x = x / (x[:, :, -1:] + eps) * 2 * math.pi
    pos = torch.cat([sine_encoding_1d(y, dim // 2, temperature), sine_encoding_1d(x, dim // 2, temperature)], -1)
    return pos.permute(0, 3, 1, 2).contiguous()


class MultiLevelRoIAlign(nn.Module):
    """FPN RoIAlign: each box is pooled from the level its size maps to (torchvision MultiScaleRoIAlign).

    Args:
        featmap_names: FPN level names to pool from, e.g. ``["p2", "p3", "p4", "p5"]``.
        output_size: RoI output size.
        sampling_ratio: RoIAlign samples per bin.
    """

    def __init__(self, featmap_names: list[str], output_size: int | tuple[int, int], sampling_ratio: int = 2):
        super().__init__()
        self.pool = MultiScaleRoIAlign(list(featmap_names), output_size, sampling_ratio)

    def forward(self, feats: dict[str, Tensor], boxes: list[Tensor], image_size: tuple[int, int]) -> Tensor:
        """Pool ``boxes`` (B lists of (K_b, 4) xyxy pixels) -> (sum K_b, C, out, out).

        ``image_size`` is the padded (H, W) of the input batch; torchvision
        infers each level's scale from it and the feature sizes.
        """
        dtype = next(iter(feats.values())).dtype
        return self.pool(feats, [b.to(dtype) for b in boxes], [tuple(image_size)] * len(boxes))

