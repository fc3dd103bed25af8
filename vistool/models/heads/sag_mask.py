"""CenterMask's spatial-attention-guided RoI mask head (SAG-Mask; Lee and Park, CVPR 2020).

RoI features (K, C, R, R) pass 3x3 convs; a spatial attention map (the
channel-wise mean and max, concatenated, a 3x3 conv and a sigmoid) multiplies
them; a 2x deconvolution and a 1x1 conv give class-specific mask logits at
2R x 2R. The loss is the binary cross-entropy of each RoI's mask of its
ground-truth class against the ground-truth mask cropped to the RoI (RoIAlign).
CenterMask's MaskIoU branch is not part of it (TLTM trains without it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align


class SpatialAttention(nn.Module):
    """(K, C, R, R) -> the features times sigmoid(conv3x3([mean_c, max_c]))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.conv(pooled))


class SagMaskHead(nn.Module):
    """``convs`` 3x3 conv + ReLU, spatial attention, 2x deconvolution + ReLU, 1x1 conv to C masks.

    Args:
        in_dim: RoI feature channels; dim: conv channels; convs: number of 3x3 convs; num_classes: C.
    """

    def __init__(self, in_dim: int, dim: int, convs: int, num_classes: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [nn.Conv2d(in_dim if i == 0 else dim, dim, 3, padding=1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        self.attention = SpatialAttention()
        self.up = nn.ConvTranspose2d(dim if convs else in_dim, dim, 2, stride=2)
        self.logits = nn.Conv2d(dim, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(K, C, R, R) RoI features -> (K, num_classes, 2R, 2R) mask logits."""
        return self.logits(F.relu(self.up(self.attention(self.convs(x)))))


def class_masks(logits: Tensor, labels: Tensor) -> Tensor:
    """(K, C, M, M) logits, (K,) labels -> (K, M, M) the logits of each RoI's class."""
    return logits[torch.arange(len(labels), device=logits.device), labels]


def roi_mask_targets(masks: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Ground-truth masks cropped to their RoIs: (K, H, W) bool, (K, 4) xyxy -> (K, size, size) in [0, 1]."""
    if len(boxes) == 0:
        return boxes.new_zeros((0, size, size))
    rois = torch.cat([torch.arange(len(boxes), device=boxes.device, dtype=boxes.dtype)[:, None], boxes], 1)
    return roi_align(masks[:, None].float(), rois.float(), size, 1.0, 2, aligned=True)[:, 0]


def sag_mask_loss(logits: Tensor, labels: Tensor, masks: Tensor, boxes: Tensor) -> Tensor:
    """Mean per-pixel BCE of the class masks of K RoIs (0 with a graph when K = 0).

    Args:
        logits: (K, C, M, M); labels: (K,) ground-truth classes; masks: (K, H, W) their ground-truth
        masks; boxes: (K, 4) xyxy the RoIs the logits were predicted in.
    """
    if len(labels) == 0:
        return logits.sum() * 0.0
    target = roi_mask_targets(masks, boxes, logits.shape[-1])
    return F.binary_cross_entropy_with_logits(class_masks(logits, labels), target)
