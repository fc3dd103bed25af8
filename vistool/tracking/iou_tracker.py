"""The IoU tracker: SORT's association without its Kalman filter, a baseline for any detector.

Each detection is matched one-to-one (Hungarian on 1 - IoU) to the last box of
a live track; a pair below ``threshold`` IoU is no match and the detection
starts a new track. Classes are not looked at (as SORT).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou

from vistool.models.matching import hungarian


def iou_assign(track_boxes: Tensor, boxes: Tensor, threshold: float) -> Tensor:
    """(T, 4) last boxes of the tracks, (N, 4) detections (xyxy) -> (N,) int64 track index or -1 (new)."""
    out = torch.full((len(boxes),), -1, dtype=torch.int64, device=boxes.device)
    if len(track_boxes) == 0 or len(boxes) == 0:
        return out
    ious = box_iou(boxes.float(), track_boxes.float())  # (N, T)
    rows, cols = hungarian(1.0 - ious)
    keep = ious[rows, cols] >= threshold
    out[rows[keep]] = cols[keep]
    return out
