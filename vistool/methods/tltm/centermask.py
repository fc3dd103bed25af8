"""CenterMask, the base detector of TLTM: an FCOS head and a SAG-Mask RoI head on the (fused) FPN levels.

The FCOS part is the shared :class:`vistool.models.heads.fcos_head.FcosHead`
(held as ``head``, so its tensors have the names of the RGNNVIS++ detector's
box/class part and can start from it); RoIs of the predicted boxes are pooled
14x14 from the FPN level their size maps to (torchvision's FPN rule) and read
by :class:`vistool.models.heads.sag_mask.SagMaskHead`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchvision.ops import box_iou

from vistool.errors import ConfigError
from vistool.models.backbone import BackboneWithFPN
from vistool.models.heads.fcos_head import BoxDetections, FcosConfig, FcosHead
from vistool.models.heads.sag_mask import SagMaskHead, class_masks
from vistool.models.layers import MultiLevelRoIAlign
from vistool.models.targets import ImageTargets


@dataclass
class MaskRois:
    """RoIs of one image that the mask loss trains on: (K, 4) boxes, (K,) labels, (K, H, W) target masks."""

    boxes: Tensor
    labels: Tensor
    masks: Tensor


class CenterMask(nn.Module):
    """FCOS + SAG-Mask over the FPN levels of the shared backbone (held by the caller)."""

    def __init__(self, backbone: BackboneWithFPN, det_cfg: FcosConfig, roi_size: int, mask_channels: int,
                 mask_convs: int, num_classes: int):
        super().__init__()
        missing = [lv for lv in det_cfg.levels if lv not in backbone.strides]
        if missing:
            raise ConfigError(f"detector.levels: {missing} are not FPN outputs {list(backbone.strides)}")
        self.head = FcosHead(det_cfg, backbone.out_channels, backbone.strides, num_classes)
        self.pooler = MultiLevelRoIAlign(list(det_cfg.levels), roi_size, sampling_ratio=2)
        self.mask_head = SagMaskHead(backbone.out_channels, mask_channels, mask_convs, num_classes)

    def pool(self, feats: dict[str, Tensor], boxes: list[Tensor], padded_size: tuple[int, int]) -> Tensor:
        """B lists of (K_b, 4) boxes -> (sum K_b, C, R, R) RoI features."""
        return self.pooler(feats, boxes, padded_size)

    def mask_probs(self, pooled: Tensor, labels: Tensor) -> Tensor:
        """(K, C, R, R) RoI features and (K,) classes -> (K, 2R, 2R) mask probabilities of those classes."""
        if len(labels) == 0:
            side = 2 * pooled.shape[-1]
            return pooled.new_zeros((0, side, side))
        return torch.sigmoid(class_masks(self.mask_head(pooled), labels))


def mask_training_rois(dets: BoxDetections, tgt: ImageTargets, max_rois: int, iou: float = 0.5) -> MaskRois:
    """The ground-truth boxes plus the detections overlapping a ground truth by >= ``iou`` (its label and
    mask), at most ``max_rois`` (ground truths first): CenterMask trains its mask head on proposals."""
    boxes, labels, masks = [tgt.boxes], [tgt.labels], [tgt.masks]
    if len(dets) and len(tgt.boxes):
        overlap, gt = box_iou(dets.boxes, tgt.boxes.to(dets.boxes.dtype)).max(1)
        keep = overlap >= iou
        boxes.append(dets.boxes[keep])
        labels.append(tgt.labels[gt[keep]])
        masks.append(tgt.masks[gt[keep]])
    return MaskRois(torch.cat(boxes)[:max_rois].detach(), torch.cat(labels)[:max_rois], torch.cat(masks)[:max_rois])
