"""Mask R-CNN-style RoI mask head and the matching ground-truth crops (He et al., ICCV 2017).

Masks are predicted at 2R x 2R inside a box from R x R RoI features; targets
are the ground-truth masks cropped to the same boxes with RoIAlign.
Pasting the predictions back into a frame is
:meth:`vistool.models.transform.FrameTransform.roi_masks_to_original`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align


class MaskHead(nn.Module):
    """``convs`` 3x3 convs + ReLU, a 2x deconvolution, a 1x1 logit conv.

    Args:
        in_dim: channels of the RoI features.
        dim: channels of the convs.
        convs: number of 3x3 convs (0: the deconvolution reads the RoI features).
    """

    def __init__(self, in_dim: int, dim: int, convs: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [nn.Conv2d(in_dim if i == 0 else dim, dim, 3, padding=1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        self.up = nn.ConvTranspose2d(dim if convs else in_dim, dim, 2, stride=2)
        self.logit = nn.Conv2d(dim, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(X, C, R, R) -> (X, 2R, 2R) logits."""
        return self.logit(F.relu(self.up(self.convs(x))))[:, 0]


def crop_masks(masks: Tensor, boxes: Tensor, size: int) -> Tensor:
    """Ground-truth masks cropped to every predicted RoI, frame by frame (memory stays per frame).

    Args:
        masks: (G, T, H, W) bool.
        boxes: (N, T, 4) xyxy pixels.
        size: output side M.

    Returns:
        (N, T, G, M, M) float in [0, 1].
    """
    g, t = masks.shape[:2]
    n = boxes.shape[0]
    if g == 0:
        return boxes.new_zeros((n, t, 0, size, size))
    crops = [roi_align(masks[:, i][None].float(), [boxes[:, i].float()], size, 1.0, 2, aligned=True)
             for i in range(t)]  # T x (N, G, M, M)
    return torch.stack(crops, 1)
