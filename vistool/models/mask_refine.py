"""Boundary refinement of instance masks at the frame's resolution (a vistool addition, in no paper).

The methods predict masks on a coarse grid (stride 4 of the network input for
RGNNVIS++) and resample them bilinearly to the frame, so boundaries are smooth
where the objects' are sharp. :class:`MaskRefiner` crops each instance's box,
grown by ``context`` of its side, from the RGB frame and from the instance's
probability map ``p``, both by RoIAlign at ``size`` x ``size``; a small dilated
CNN reads the four channels and returns a correction of the logits for the
crop. Inside the grown box the new logits are ``skip * (2p - 1)`` at the frame's
resolution plus the correction pasted back (bilinear); elsewhere the instance
keeps its coarse logits. The last convolution starts at zero, so an untrained
refiner keeps every mask and every per-pixel argmax between instances (the
map from coarse to new logits is increasing and keeps their sign).

Training (see the method's ``refiner`` stage) pairs each instance with the
annotated mask it overlaps best and applies BCE + dice on the crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import masks_to_boxes, roi_align

from vistool.errors import ConfigError
from vistool.models.losses import bce_with_logits, dice_loss


@dataclass(frozen=True)
class RefineConfig:
    """Mask refinement settings.

    Attributes:
        size: side of the square crops in cells; 0 turns refinement off (no parameters).
        channels: width of the CNN.
        dilations: one 3x3 convolution per entry, with that dilation.
        context: each side of an instance's box grows by this fraction of the box's size.
        skip_init: initial weight of the coarse ``2p - 1`` in the output logits.
    """

    size: int = 0
    channels: int = 32
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    context: float = 0.25
    skip_init: float = 6.0

    def __post_init__(self) -> None:
        if self.size < 0 or self.channels < 1 or not self.dilations or self.context < 0:
            raise ConfigError("refine: size >= 0, channels >= 1, at least one dilation and context >= 0 needed, "
                              f"got size={self.size}, channels={self.channels}, dilations={list(self.dilations)}, "
                              f"context={self.context}")

    @property
    def enabled(self) -> bool:
        return self.size > 0


def crop_boxes(probs: Tensor, context: float) -> tuple[Tensor, Tensor]:
    """Grown boxes around the instances' pixels of probability >= 0.5.

    Args:
        probs: (S, H, W) probabilities at the frame's resolution.

    Returns:
        (S, 4) float xyxy in pixels, clipped to the frame, and (S,) bool: the instance has pixels.
    """
    s, h, w = probs.shape
    fg = probs >= 0.5
    has = fg.flatten(1).any(1)
    boxes = torch.zeros((s, 4), device=probs.device)
    if has.any():
        b = masks_to_boxes(fg[has]).float()
        b[:, 2:] += 1.0  # pixel edges, not centres
        grow = (b[:, 2:] - b[:, :2]) * context + 2.0  # (n, 2) px per side
        b = torch.cat([b[:, :2] - grow, b[:, 2:] + grow], 1)
        limit = torch.tensor([w, h, w, h], dtype=b.dtype, device=b.device)
        boxes[has] = torch.minimum(b.clamp(min=0), limit)
    return boxes, has


def crop(maps: Tensor, boxes: Tensor, size: int, shared: bool) -> Tensor:
    """RoIAlign crops of ``size`` x ``size`` cells.

    Args:
        maps: (1, C, H, W) one image for every box (``shared``), or (S, C, H, W) one per box.
        boxes: (S, 4) xyxy in pixels.

    Returns:
        (S, C, size, size).
    """
    index = torch.zeros(len(boxes), device=boxes.device) if shared else torch.arange(
        len(boxes), device=boxes.device, dtype=boxes.dtype)
    rois = torch.cat([index[:, None].to(boxes.dtype), boxes], 1)
    return roi_align(maps, rois, (size, size), spatial_scale=1.0, sampling_ratio=2, aligned=True)


def paste(crops: Tensor, boxes: Tensor, base: Tensor) -> Tensor:
    """Crops resampled into their boxes' pixels of ``base``; other pixels keep ``base``.

    Args:
        crops: (S, R, R) values over each box; boxes: (S, 4) xyxy in pixels; base: (S, H, W).

    Returns:
        (S, H, W) a new tensor.
    """
    out = base.clone()
    h, w = base.shape[-2:]
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        c0, r0 = max(int(x0), 0), max(int(y0), 0)
        c1, r1 = min(int(-(-x1 // 1)), w), min(int(-(-y1 // 1)), h)
        if c1 <= c0 or r1 <= r0:
            continue
        xs = (torch.arange(c0, c1, device=base.device, dtype=crops.dtype) + 0.5 - x0) / max(x1 - x0, 1e-6) * 2 - 1
        ys = (torch.arange(r0, r1, device=base.device, dtype=crops.dtype) + 0.5 - y0) / max(y1 - y0, 1e-6) * 2 - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)[None]  # (1, r1-r0, c1-c0, 2)
        out[i, r0:r1, c0:c1] = F.grid_sample(crops[i][None, None], grid, mode="bilinear", padding_mode="border",
                                             align_corners=False)[0, 0]
    return out


class MaskRefiner(nn.Module):
    """Dilated CNN over (RGB, coarse probability) crops -> refined mask logits (see the module doc)."""

    def __init__(self, cfg: RefineConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = 4
        for d in cfg.dilations:
            layers += [nn.Conv2d(cin, cfg.channels, 3, padding=d, dilation=d), nn.GroupNorm(4, cfg.channels),
                       nn.ReLU(inplace=True)]
            cin = cfg.channels
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.skip = nn.Parameter(torch.tensor(float(cfg.skip_init)))

    def residual(self, rgb: Tensor, probs: Tensor) -> Tensor:
        """(S, 3, R, R) normalised RGB + (S, 1, R, R) coarse probabilities -> (S, R, R) logit corrections."""
        return self.out(self.body(torch.cat([rgb, probs * 2 - 1], 1)))[:, 0]

    def forward(self, image: Tensor, logits: Tensor) -> Tensor:
        """Refine S instances of one frame.

        Args:
            image: (3, H, W) normalised RGB at the frame's resolution.
            logits: (S, H, W) coarse mask logits at the same resolution.

        Returns:
            (S, H, W) logits: inside each instance's grown box ``skip * (2p - 1)`` at the frame's resolution
            plus the CNN's correction pasted from the crop; the coarse logits elsewhere.
        """
        probs = logits.float().sigmoid()
        boxes, has = crop_boxes(probs, self.cfg.context)
        if not has.any():
            return logits
        size = self.cfg.size
        rgb = crop(image[None].float(), boxes[has], size, shared=True)
        correction = self.residual(rgb, crop(probs[has][:, None], boxes[has], size, shared=False))
        zeros = probs.new_zeros(probs[has].shape)
        inside = paste(torch.ones_like(correction), boxes[has], zeros) > 0
        refined = self.skip * (probs[has] * 2 - 1) + paste(correction, boxes[has], zeros)
        out = logits.float().clone()
        out[has] = torch.where(inside, refined, out[has])
        return out

    def loss(self, image: Tensor, logits: Tensor, targets: Tensor, jitter: float = 0.0) -> tuple[Tensor, int]:
        """Summed BCE + dice of the refined crops against the annotated masks.

        Args:
            image: (3, H, W) normalised RGB; logits: (S, H, W) coarse logits (no gradient needed);
            targets: (S, H, W) {0, 1} annotated mask of the object each instance stands for.
            jitter: boxes move and scale by up to this fraction of their size (training augmentation).

        Returns:
            the summed loss over instances with pixels, and how many there were.
        """
        probs = logits.detach().float().sigmoid()
        boxes, has = crop_boxes(probs, self.cfg.context)
        if not has.any():
            return image.new_zeros(()), 0
        boxes = boxes[has]
        if jitter > 0:
            side = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
            boxes = boxes + (torch.rand_like(boxes) * 2 - 1) * jitter * side
        size = self.cfg.size
        rgb = crop(image[None].float(), boxes, size, shared=True)
        coarse = crop(probs[has][:, None], boxes, size, shared=False)
        refined = self.residual(rgb, coarse) + self.skip * (coarse[:, 0] * 2 - 1)
        target = crop(targets[has][:, None].float(), boxes, size, shared=False)[:, 0]
        return bce_with_logits(refined, target) + dice_loss(refined, target), int(has.sum())
