"""The one per-frame detection type: what every detection head emits and every tracker consumes.

Detections of a batch of B frames are padded to N per frame; ``valid`` marks
the real ones. Boxes are xyxy in network-input pixels; masks are logits on a
grid of ``mask_stride``-pixel cells covering the padded input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Detections:
    """Post-processed detections of a batch, padded to N per image.

    Attributes:
        boxes: (B, N, 4) xyxy input pixels; scores: (B, N) confidence;
        class_probs: (B, N, C) per-class confidence; labels: (B, N) top class;
        mask_logits: (B, N, Hm, Wm) uncropped mask logits at ``mask_stride``;
        valid: (B, N) bool, False on padding;
        mask_stride: input pixels per mask cell;
        embeddings: (B, N, E) per-detection embeddings (e.g. appearance) when the head gives them.
    """

    boxes: Tensor
    scores: Tensor
    class_probs: Tensor
    labels: Tensor
    mask_logits: Tensor
    valid: Tensor
    mask_stride: int
    embeddings: Tensor | None = None

    def take(self, index: Tensor) -> "Detections":
        """The detections of the images ``index`` (a (B',) int64 tensor) of this batch."""
        return Detections(self.boxes[index], self.scores[index], self.class_probs[index], self.labels[index],
                          self.mask_logits[index], self.valid[index], self.mask_stride,
                          None if self.embeddings is None else self.embeddings[index])

    def box_masks(self) -> Tensor:
        """(B, N, Hm, Wm) float: 1 at mask pixels whose centre lies in the box."""
        return box_masks(self.boxes, self.mask_logits.shape[-2:], self.mask_stride)

    def soft_masks(self) -> Tensor:
        """(B, N, Hm, Wm) mask probabilities cropped to the boxes (0 on padding rows)."""
        m = torch.sigmoid(self.mask_logits) * self.box_masks()
        return m * self.valid[..., None, None].to(m.dtype)


def box_masks(boxes: Tensor, size: tuple[int, int], stride: int) -> Tensor:
    """Boxes drawn as masks on a grid of ``stride``-pixel cells.

    Args:
        boxes: (..., 4) xyxy pixels.
        size: (h, w) of the grid.

    Returns:
        (..., h, w) float {0, 1}: cells whose centre is inside the box.
    """
    h, w = size
    ys = (torch.arange(h, device=boxes.device, dtype=boxes.dtype) + 0.5) * stride
    xs = (torch.arange(w, device=boxes.device, dtype=boxes.dtype) + 0.5) * stride
    b = boxes[..., None, None, :]
    inside_y = (ys[:, None] >= b[..., 1]) & (ys[:, None] < b[..., 3])
    inside_x = (xs[None, :] >= b[..., 0]) & (xs[None, :] < b[..., 2])
    return (inside_y & inside_x).to(boxes.dtype)
