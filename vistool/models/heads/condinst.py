"""CondInst dynamic mask head (Tian et al., ECCV 2020): per-instance filters applied to shared mask features.

A controller (a 3x3 conv on every FPN level) predicts, at every location, the
parameters of three dynamic 1x1 convolutions: (8 + 2) -> 8 -> 8 -> 1 channels
with biases, 169 numbers. The mask branch turns the finest FPN level into 8
mask-feature channels (stride 8); each instance reads them plus 2 channels of
coordinates relative to its centre (divided by ``rel_scale`` pixels), through
its own filters (ReLU between), giving mask logits that are upsampled 2x
(stride 4). Loss: dice (CondInst's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.models.heads.fcos import tower
from vistool.models.losses import dice_loss

MASK_CHANNELS = 8
LAYER_SHAPES = ((MASK_CHANNELS + 2, 8), (8, 8), (8, 1))
NUM_PARAMS = sum(cin * cout + cout for cin, cout in LAYER_SHAPES)  # 169


class MaskBranch(nn.Module):
    """(B, C, h, w) finest FPN level -> (B, 8, h, w) mask features."""

    def __init__(self, in_channels: int, channels: int, convs: int = 2):
        super().__init__()
        self.tower = tower(in_channels, channels, convs)
        self.out = nn.Conv2d(channels if convs else in_channels, MASK_CHANNELS, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.tower(x))


class Controller(nn.Module):
    """(B, C, h, w) -> (B, 169, h, w) dynamic filter parameters at every location.

    As CondInst, the parameters come from a GroupNorm conv tower (there the detector's box tower), so their
    scale does not follow the FPN's: three dynamic layers multiply it, and raw FPN features (std ~5) give
    mask logits in the tens at initialisation, where the dice loss has no gradient left.
    """

    def __init__(self, in_channels: int, channels: int = 64, convs: int = 2):
        super().__init__()
        self.tower = tower(in_channels, channels, convs)
        self.conv = nn.Conv2d(channels if convs else in_channels, NUM_PARAMS, 3, padding=1)
        nn.init.normal_(self.conv.weight, std=0.01)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.tower(x))


def relative_coords(centres: Tensor, size: tuple[int, int], stride: int, scale: float) -> Tensor:
    """(K, 2, h, w): (x, y) of every cell centre minus each instance's centre (pixels), divided by ``scale``."""
    h, w = size
    ys = (torch.arange(h, device=centres.device, dtype=centres.dtype) + 0.5) * stride
    xs = (torch.arange(w, device=centres.device, dtype=centres.dtype) + 0.5) * stride
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))  # (2, h, w)
    return (grid[None] - centres[:, :, None, None]) / scale


def dynamic_masks(params: Tensor, mask_feats: Tensor, centres: Tensor, stride: int, scale: float) -> Tensor:
    """Mask logits of K instances of one image at twice the mask-feature resolution.

    Args:
        params: (K, 169) filters; mask_feats: (8, h, w); centres: (K, 2) (x, y) input pixels.

    Returns:
        (K, 2h, 2w) logits (stride ``stride / 2``).
    """
    k = params.shape[0]
    h, w = mask_feats.shape[-2:]
    if k == 0:
        return mask_feats.new_zeros((0, 2 * h, 2 * w))
    x = torch.cat([mask_feats[None].expand(k, -1, -1, -1), relative_coords(centres, (h, w), stride, scale)], 1)
    x = x.reshape(1, -1, h, w)  # instances as groups of one grouped 1x1 conv
    start = 0
    for i, (cin, cout) in enumerate(LAYER_SHAPES):
        weight = params[:, start:start + cin * cout].reshape(k * cout, cin, 1, 1)
        start += cin * cout
        bias = params[:, start:start + cout].reshape(k * cout)
        start += cout
        x = F.conv2d(x, weight, bias, groups=k)
        if i < len(LAYER_SHAPES) - 1:
            x = F.relu(x)
    return F.interpolate(x.reshape(k, 1, h, w), scale_factor=2.0, mode="bilinear", align_corners=False)[:, 0]


def condinst_loss(logits: Tensor, masks: Tensor) -> Tensor:
    """Mean dice loss of (K, h, w) logits against (K, H, W) bool masks sampled to (h, w)."""
    if len(logits) == 0:
        return logits.sum() * 0.0
    target = F.interpolate(masks[:, None].float(), size=logits.shape[-2:], mode="area")[:, 0]
    return dice_loss(logits, target, reduction="mean")
