"""Pre- and post-processing of frames: resize, normalise, pad; boxes and masks back to the original frame.

One :class:`FrameTransform` per model owns both directions, so a method never
guesses the scale its outputs were predicted at.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection.roi_heads import paste_masks_in_image

from vistool.models.box_ops import scale_boxes

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class TransformConfig:
    """Inference resize and normalisation.

    Attributes:
        min_size: target length of the shorter frame side at inference.
        max_size: cap on the longer side at inference (aspect ratio kept).
        mean, std: per-channel RGB statistics in 0..255 units.
        size_divisibility: pad height and width up to a multiple of this.
    """

    min_size: int = 360
    max_size: int = 640
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    size_divisibility: int = 32


@dataclass(frozen=True)
class ImageMeta:
    """Geometry of one preprocessed clip.

    Attributes:
        original_size: (H, W) of the source frames.
        image_size: (h, w) after resizing, before padding.
        padded_size: (Hp, Wp) of the network input.
    """

    original_size: tuple[int, int]
    image_size: tuple[int, int]
    padded_size: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """(sy, sx) from original to resized pixels."""
        return self.image_size[0] / self.original_size[0], self.image_size[1] / self.original_size[1]


class FrameTransform(nn.Module):
    """Resize + normalise + pad frames, and map predictions back to the original frames."""

    def __init__(self, cfg: TransformConfig | None = None):
        super().__init__()
        self.cfg = cfg or TransformConfig()
        self.register_buffer("mean", torch.tensor(self.cfg.mean).view(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.cfg.std).view(3, 1, 1), persistent=False)

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) with the shorter side at ``min_size`` and the longer side at most ``max_size``."""
        scale = min(self.cfg.min_size / min(height, width), self.cfg.max_size / max(height, width))
        return max(1, round(height * scale)), max(1, round(width * scale))

    def normalize(self, images: Tensor) -> Tensor:
        """(..., 3, H, W) uint8 -> float, normalised with the configured mean and std."""
        return (images.float() - self.mean) / self.std

    def pad(self, images: Tensor) -> Tensor:
        """Zero-pad the last two dims at the bottom/right to a multiple of ``size_divisibility``."""
        d = self.cfg.size_divisibility
        h, w = images.shape[-2:]
        ph, pw = (-h) % d, (-w) % d
        return F.pad(images, (0, pw, 0, ph)) if ph or pw else images

    def prepare_batch(self, images: Tensor) -> Tensor:
        """Training path: (..., 3, H, W) uint8 already at training size -> normalised, padded float."""
        return self.pad(self.normalize(images))

    def preprocess(self, frames: Tensor) -> tuple[Tensor, ImageMeta]:
        """Inference path: resize, normalise and pad a clip.

        Args:
            frames: (T, H, W, 3) uint8 RGB at the original resolution.

        Returns:
            (T, 3, Hp, Wp) float on this module's device, and the clip's geometry.
        """
        t, h, w, _ = frames.shape
        size = self.resized_size(h, w)
        x = frames.to(self.mean.device).permute(0, 3, 1, 2).float()
        if size != (h, w):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        x = self.pad((x - self.mean) / self.std)
        return x, ImageMeta((h, w), size, (int(x.shape[-2]), int(x.shape[-1])))

    def boxes_to_original(self, boxes: Tensor, meta: ImageMeta) -> Tensor:
        """(N, 4) xyxy in network pixels -> original pixels, clipped to the frame."""
        sy, sx = meta.scale
        out = scale_boxes(boxes.float(), (1 / sy, 1 / sx))
        h, w = meta.original_size
        return torch.stack([out[:, 0].clamp(0, w), out[:, 1].clamp(0, h), out[:, 2].clamp(0, w),
                            out[:, 3].clamp(0, h)], 1)

    def roi_masks_to_original(self, probs: Tensor, boxes: Tensor, meta: ImageMeta, threshold: float = 0.5
                              ) -> Tensor:
        """Paste per-box mask probabilities into the original frame (torchvision's Mask R-CNN paste).

        Args:
            probs: (N, M, M) probabilities inside each box.
            boxes: (N, 4) xyxy in network pixels (the boxes the masks were predicted in).

        Returns:
            (N, H, W) bool at the original resolution.
        """
        h, w = meta.original_size
        if probs.shape[0] == 0:
            return torch.zeros((0, h, w), dtype=torch.bool, device=probs.device)
        sy, sx = meta.scale
        boxes = scale_boxes(boxes.float(), (1 / sy, 1 / sx))
        # a box entirely outside the frame has no pixels (torchvision's paste cannot slice it)
        inside = (boxes[:, 0] < w - 1) & (boxes[:, 1] < h - 1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        out = torch.zeros((probs.shape[0], h, w), dtype=torch.bool, device=probs.device)
        if inside.any():
            pasted = paste_masks_in_image(probs[inside][:, None].float(), boxes[inside], (h, w))
            out[inside] = pasted[:, 0] >= threshold
        return out

    def full_maps_to_original(self, maps: Tensor, meta: ImageMeta) -> Tensor:
        """Whole-frame per-pixel maps over the padded input (at any stride) -> original frame, bilinear.

        Args:
            maps: (N, h', w') values (probabilities or logits) covering the padded (Hp, Wp) input.

        Returns:
            (N, H, W) float at the original resolution.
        """
        h, w = meta.original_size
        if maps.shape[0] == 0:
            return maps.new_zeros((0, h, w), dtype=torch.float32)
        hp, wp = meta.padded_size
        up = F.interpolate(maps[None].float(), size=(hp, wp), mode="bilinear", align_corners=False)
        valid = up[..., : meta.image_size[0], : meta.image_size[1]]
        return F.interpolate(valid, size=(h, w), mode="bilinear", align_corners=False)[0]

    def full_masks_to_original(self, probs: Tensor, meta: ImageMeta, threshold: float = 0.5) -> Tensor:
        """Whole-frame mask probabilities over the padded input -> (N, H, W) bool at the original resolution."""
        return self.full_maps_to_original(probs, meta) >= threshold
