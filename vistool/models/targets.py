"""Training targets: per-image, per-frame and per-clip annotations, and grid/padding helpers.

Shapes: K annotated instances of a clip, T frames, (H, W) input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.structures import ClipSample


@dataclass
class ImageTargets:
    """Annotated objects of one image.

    Attributes:
        boxes: (K, 4) xyxy input pixels; labels: (K,) int64 0-based;
        masks: (K, H, W) bool at input resolution (H, W at most the padded size).
    """

    boxes: Tensor
    labels: Tensor
    masks: Tensor


@dataclass
class FrameTargets:
    """Annotations of one frame of a training clip, with the clip's instance indices.

    Attributes:
        boxes: (K, 4); labels: (K,); masks: (K, H, W) bool; present: (K,) bool.
    """

    boxes: Tensor
    labels: Tensor
    masks: Tensor
    present: Tensor

    def image_targets(self) -> ImageTargets:
        """Only the objects present in the frame."""
        p = self.present
        return ImageTargets(self.boxes[p], self.labels[p], self.masks[p])


def frame_targets(sample: ClipSample, t: int) -> FrameTargets:
    """The annotations of frame ``t`` of ``sample``."""
    return FrameTargets(sample.boxes[:, t].float(), sample.labels, sample.masks[:, t], sample.present[:, t])


@dataclass
class ClipTargets:
    """Ground-truth tracklets of one clip (G instances, T frames).

    Attributes:
        labels: (G,) 0-based categories.
        boxes: (G, T, 4) xyxy pixels (zeros where absent).
        masks: (G, T, H, W) bool.
        present: (G, T) bool; False frames have class background.
    """

    labels: Tensor
    boxes: Tensor
    masks: Tensor
    present: Tensor

    @classmethod
    def from_sample(cls, sample: ClipSample, frames: slice) -> "ClipTargets":
        """Targets of frames ``frames`` of a sample; every instance of the sample is kept (possibly all absent)."""
        return cls(sample.labels, sample.boxes[:, frames], sample.masks[:, frames], sample.present[:, frames])

    def classes(self, background: int) -> Tensor:
        """(G, T) per-frame class, ``background`` where absent."""
        return torch.where(self.present, self.labels[:, None].expand_as(self.present),
                           torch.full_like(self.present, background, dtype=torch.int64))


def downsample_masks(masks: Tensor, size: tuple[int, int], stride: int) -> Tensor:
    """(K, H, W) bool masks -> (K, h, w) float {0, 1}: cells at least half covered."""
    h, w = size
    padded = F.pad(masks.float(), (0, w * stride - masks.shape[-1], 0, h * stride - masks.shape[-2]))
    return (F.avg_pool2d(padded[None], stride)[0] >= 0.5).float()


@torch.no_grad()
def padding_mask(batch: int, image_size: tuple[int, int], padded_size: tuple[int, int], stride: int,
                 device: torch.device) -> Tensor:
    """(B, Hp / stride, Wp / stride) bool, True on cells outside the unpadded image."""
    h, w = image_size
    hs, ws = padded_size[0] // stride, padded_size[1] // stride
    ys = (torch.arange(hs, device=device) + 0.5) * stride
    xs = (torch.arange(ws, device=device) + 0.5) * stride
    pad = (ys[:, None] >= h) | (xs[None, :] >= w)
    return pad[None].expand(batch, hs, ws)
