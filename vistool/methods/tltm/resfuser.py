"""ResFuser (Eq. 1): the previous frame's FPN level adds a learned residual to the current one.

``p_t <- f_i(p_{t-1}, p_t) + p_t`` on every FPN level i, each f_i a two-layer
CNN. The paper gives neither kernels nor how the two inputs meet; here they are
concatenated (2C channels), then a 3x3 conv + ReLU and a 3x3 conv back to C
(the authors' configuration keeps the FPN width, 256). The last conv starts at
zero, so an untrained ResFuser leaves the detector it was added to unchanged.
The first frame of a video is fused with itself.
"""

from __future__ import annotations

from torch import Tensor, nn
import torch


class LevelFuser(nn.Module):
    """f_i of one level: (B, C, h, w) previous and current -> (B, C, h, w) residual."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2 * channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        nn.init.zeros_(self.body[2].weight)
        nn.init.zeros_(self.body[2].bias)

    def forward(self, previous: Tensor, current: Tensor) -> Tensor:
        return self.body(torch.cat([previous, current], 1))


class ResFuser(nn.Module):
    """One :class:`LevelFuser` per FPN level."""

    def __init__(self, levels: tuple[str, ...], channels: int):
        super().__init__()
        self.levels = tuple(levels)
        self.fusers = nn.ModuleDict({name: LevelFuser(channels) for name in self.levels})

    def forward(self, previous: dict[str, Tensor], current: dict[str, Tensor]) -> dict[str, Tensor]:
        """Level name -> fused (B, C, h, w); levels not fused pass through."""
        out = dict(current)
        for name in self.levels:
            out[name] = current[name] + self.fusers[name](previous[name], current[name])
        return out
