"""Panoptic-DeepLab parts (Cheng et al., CVPR 2020): ASPP, the two-skip decoder, prediction heads.

The encoder output (stride 16) goes through ASPP; the decoder upsamples it to
stride 8 and 4, each time concatenating a projected backbone stage (the skip
connections) and fusing with convolutions. Normalisation is GroupNorm (small
CPU batches), where Panoptic-DeepLab uses BatchNorm; ASPP has the usual 1x1,
three dilated 3x3 and image-pooling branches. Pixel grouping of the instance
branch is :mod:`vistool.models.heads.panoptic_grouping`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _gn(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(next(g for g in (16, 8, 4, 2, 1) if channels % g == 0), channels)


def conv_gn_relu(cin: int, cout: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    """Conv (same padding) + GroupNorm + ReLU."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=dilation * (kernel // 2), dilation=dilation, bias=False),
                         _gn(cout), nn.ReLU(inplace=True))


@dataclass(frozen=True)
class DecoderConfig:
    """One ASPP + decoder branch.

    Attributes:
        aspp_channels: ASPP width; rates: dilations of its three 3x3 branches (in stride-16 cells).
        skip_channels: projections of the stride-8 and stride-4 skips; channels: decoder width.
    """

    aspp_channels: int = 256
    rates: tuple[int, int, int] = (6, 12, 18)
    skip_channels: tuple[int, int] = (64, 32)
    channels: int = 256


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: (B, C, h, w) -> (B, out, h, w)."""

    def __init__(self, in_channels: int, out_channels: int, rates: tuple[int, ...]):
        super().__init__()
        self.branches = nn.ModuleList([conv_gn_relu(in_channels, out_channels, 1)]
                                      + [conv_gn_relu(in_channels, out_channels, 3, r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True))
        self.project = conv_gn_relu(out_channels * (len(rates) + 2), out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.pool(x).expand(-1, -1, *x.shape[-2:])
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], 1))


class Decoder(nn.Module):
    """ASPP on the stride-16 features, then two upsampling steps with skips at strides 8 and 4.

    Args:
        in_channels: channels of the stride-16 features; skip_in: channels of the (stride 8, stride 4) skips.
    """

    def __init__(self, cfg: DecoderConfig, in_channels: int, skip_in: tuple[int, int]):
        super().__init__()
        self.aspp = ASPP(in_channels, cfg.aspp_channels, cfg.rates)
        self.project = nn.ModuleList([conv_gn_relu(c, p, 1) for c, p in zip(skip_in, cfg.skip_channels)])
        widths = (cfg.aspp_channels, cfg.channels)
        self.fuse = nn.ModuleList([conv_gn_relu(w + p, cfg.channels, 3) for w, p in zip(widths, cfg.skip_channels)])
        self.out_channels = cfg.channels

    def skips(self, skip8: Tensor, skip4: Tensor) -> tuple[Tensor, Tensor]:
        """The projected skip features (what Temporal Context Fusion may change before :meth:`decode`)."""
        return self.project[0](skip8), self.project[1](skip4)

    def decode_levels(self, deep: Tensor, skips: tuple[Tensor, Tensor]) -> list[Tensor]:
        """(B, C, h16, w16) encoder output and projected skips -> [(B, channels, h8, w8), (..., h4, w4)]."""
        x, levels = self.aspp(deep), []
        for skip, fuse in zip(skips, self.fuse):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = fuse(torch.cat([x, skip], 1))
            levels.append(x)
        return levels

    def decode(self, deep: Tensor, skips: tuple[Tensor, Tensor]) -> Tensor:
        """The stride-4 output of :meth:`decode_levels`."""
        return self.decode_levels(deep, skips)[-1]

    def forward(self, deep: Tensor, skip8: Tensor, skip4: Tensor) -> Tensor:
        return self.decode(deep, self.skips(skip8, skip4))


class PredictionHead(nn.Module):
    """A 3x3 conv + GN + ReLU and a 1x1 conv to ``out`` maps."""

    def __init__(self, in_channels: int, hidden: int, out: int, bias: float = 0.0):
        super().__init__()
        self.body = conv_gn_relu(in_channels, hidden, 3)
        self.out = nn.Conv2d(hidden, out, 1)
        nn.init.constant_(self.out.bias, bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.body(x))
