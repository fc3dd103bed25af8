"""Box helpers not in torchvision.ops: delta decoding and normalised-box conversion."""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.ops import box_convert

# Clamp of log-size deltas (as in torchvision's BoxCoder): exp(4.135) ~ 62x growth at most.
_MAX_LOG_SCALE = math.log(1000.0 / 16)


def apply_deltas(deltas: Tensor, boxes: Tensor, weights: tuple[float, float, float, float] = (2.0, 2.0, 1.0, 1.0)
                 ) -> Tensor:
    """Refine xyxy ``boxes`` by R-CNN deltas (dx, dy, dw, dh) divided by ``weights``.

    Args:
        deltas: (..., 4).
        boxes: (..., 4) xyxy pixels.

    Returns:
        (..., 4) xyxy pixels.
    """
    cxcywh = box_convert(boxes, "xyxy", "cxcywh")
    wx, wy, ww, wh = weights
    dx, dy = deltas[..., 0] / wx, deltas[..., 1] / wy
    dw = (deltas[..., 2] / ww).clamp(max=_MAX_LOG_SCALE)
    dh = (deltas[..., 3] / wh).clamp(max=_MAX_LOG_SCALE)
    w, h = cxcywh[..., 2], cxcywh[..., 3]
    out = torch.stack([cxcywh[..., 0] + dx * w, cxcywh[..., 1] + dy * h, w * dw.exp(), h * dh.exp()], -1)
    return box_convert(out, "cxcywh", "xyxy")


def normalized_to_pixels(boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
    """(..., 4) cxcywh in [0, 1] -> xyxy pixels for an (H, W) image."""
    h, w = image_size
    return box_convert(boxes, "cxcywh", "xyxy") * boxes.new_tensor([w, h, w, h])


def scale_boxes(boxes: Tensor, scale: tuple[float, float]) -> Tensor:
    """Multiply xyxy boxes by (sy, sx)."""
    sy, sx = scale
    return boxes * boxes.new_tensor([sx, sy, sx, sy])
