"""Temporal Context Fusion: target skip features attend to a reference frame's (dot-product attention).

Inserted into the two skip connections of the inter-frame decoder (strides 8
and 4). Queries are the target's projected skip features, keys and values the
reference's projected skip features average-pooled to stride 16 (the paper
gives neither sizes nor resolution; attention over every stride-4 reference
pixel would cost 5k x 5k per frame at 384x216), both with 2-D sine position
encodings so that where a feature was can be read; one head of ``dim``
channels; the attended values are projected back and added to the target's
features (zero-initialised, so an untrained TCF leaves the copied decoder as it was).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.models.layers import sine_encoding_2d


def _positions(x: Tensor, dim: int) -> Tensor:
    """(B, dim, h, w) sine encoding of the cells of ``x``, in normalised coordinates."""
    b, _, h, w = x.shape
    mask = torch.zeros(b, h, w, dtype=torch.bool, device=x.device)
    return sine_encoding_2d(mask, dim).to(x.dtype)


class TemporalContextFusion(nn.Module):
    """(B, C, h, w) target and reference features (same stride) -> target + attended reference context."""

    def __init__(self, channels: int, dim: int, key_stride: int):
        super().__init__()
        self.query, self.key = nn.Conv2d(channels, dim, 1), nn.Conv2d(channels, dim, 1)
        self.value, self.out = nn.Conv2d(channels, dim, 1), nn.Conv2d(dim, channels, 1)
        self.dim, self.key_stride = dim, key_stride
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, target: Tensor, reference: Tensor) -> Tensor:
        ref = F.avg_pool2d(reference, self.key_stride, ceil_mode=True) if self.key_stride > 1 else reference
        q = (self.query(target) + _positions(target, self.dim)).flatten(2).transpose(1, 2)  # (B, Nq, d)
        k = (self.key(ref) + _positions(ref, self.dim)).flatten(2)  # (B, d, Nk)
        v = self.value(ref).flatten(2).transpose(1, 2)  # (B, Nk, d)
        attn = torch.softmax(q @ k / self.dim ** 0.5, dim=-1)
        context = (attn @ v).transpose(1, 2).reshape(target.shape[0], self.dim, *target.shape[-2:])
        return target + self.out(context)
