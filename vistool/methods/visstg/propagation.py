"""Mask-information propagation: the reference frame's CondInst filter map warped into the target frame.

Offsets (a 3x3 conv on ``F_k - F_t``, the reference minus the target level)
drive a 3x3 deformable convolution (``torchvision.ops.deform_conv2d``) over the
reference frame's 169-channel filter map; it is depthwise (each filter
parameter resampled from its own channel: the warp moves filters, it does not
mix them) and starts as the identity (zero offsets, centre tap 1). The paper
does not say how warped and new filters combine; here an attention mask
``a = sigmoid(conv3x3([F_t, F_k]))`` blends them per location,
``a * warped + (1 - a) * new``, its bias starting at -4 (new filters first).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.ops import deform_conv2d


class FilterPropagation(nn.Module):
    """(1, P, h, w) filter maps of two frames and their (1, C, h, w) features -> combined target filters."""

    def __init__(self, channels: int, params: int):
        super().__init__()
        self.offset = nn.Conv2d(channels, 2 * 9, 3, padding=1)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)
        weight = torch.zeros(params, 1, 3, 3)
        weight[:, 0, 1, 1] = 1.0
        self.weight = nn.Parameter(weight)
        self.attention = nn.Conv2d(2 * channels, 1, 3, padding=1)
        nn.init.normal_(self.attention.weight, std=0.01)
        nn.init.constant_(self.attention.bias, -4.0)

    def forward(self, ref_filters: Tensor, new_filters: Tensor, ref_feat: Tensor, feat: Tensor) -> Tensor:
        warped = deform_conv2d(ref_filters, self.offset(ref_feat - feat), self.weight, padding=(1, 1))
        a = torch.sigmoid(self.attention(torch.cat([feat, ref_feat], 1)))
        return a * warped + (1 - a) * new_filters
