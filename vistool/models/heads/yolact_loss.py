"""Training targets and losses of :class:`~vistool.models.heads.yolact.YolactHead`.

Targets are FCOS's: a location is positive for an object when it lies in the
object's centre region (``center_radius`` strides around the box centre,
clipped to the box) and the largest distance to the box sides falls in its
level's size range; ambiguous locations take the smallest object.

Losses (normalised as FCOS / YOLACT):
- class: sigmoid focal loss summed over locations / number of positives;
- box: GIoU loss of positives weighted by their centre-ness target / the sum
  of those weights;
- centre-ness: binary cross-entropy of positives / number of positives;
- mask: per positive (at most ``max_masks`` per image, a random subset),
  binary cross-entropy of the assembled mask against the object's mask at the
  prototype resolution, summed inside the object's box and divided by the box
  area (YOLACT's normalisation); the mean over masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.models.heads.yolact import HeadOutput, YolactConfig, assemble_masks, box_masks
from vistool.models.losses import generalized_box_iou_loss, sigmoid_focal


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


def assign_locations(out: HeadOutput, boxes: Tensor, cfg: YolactConfig) -> Tensor:
    """FCOS assignment of every location of one image.

    Args:
        out: head output (its points, strides and levels are used).
        boxes: (K, 4) xyxy.

    Returns:
        (P,) int64 index of the object each location regresses, -1 for negatives.
    """
    p = out.points.shape[0]
    if boxes.shape[0] == 0:
        return torch.full((p,), -1, dtype=torch.int64, device=boxes.device)
    x, y = out.points[:, 0:1], out.points[:, 1:2]  # (P, 1)
    ltrb = torch.stack([x - boxes[:, 0], y - boxes[:, 1], boxes[:, 2] - x, boxes[:, 3] - y], -1)  # (P, K, 4)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    r = cfg.center_radius * out.strides[:, None]
    in_center = ((x > torch.maximum(boxes[:, 0], cx - r)) & (x < torch.minimum(boxes[:, 2], cx + r))
                 & (y > torch.maximum(boxes[:, 1], cy - r)) & (y < torch.minimum(boxes[:, 3], cy + r)))
    lows = torch.tensor((0.0,) + tuple(cfg.size_bounds), device=boxes.device)[out.level]
    highs = torch.tensor(tuple(cfg.size_bounds) + (float("inf"),), device=boxes.device)[out.level]
    reach = ltrb.max(-1).values
    in_range = (reach >= lows[:, None]) & (reach <= highs[:, None])
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(p, -1)
    area = torch.where(in_center & in_range & (ltrb.min(-1).values > 0), area, torch.full_like(area, float("inf")))
    best_area, idx = area.min(1)
    return torch.where(torch.isfinite(best_area), idx, torch.full_like(idx, -1))


def centerness(ltrb: Tensor) -> Tensor:
    """(Q, 4) positive distances -> (Q,) FCOS centre-ness target in [0, 1]."""
    lr, tb = ltrb[:, [0, 2]], ltrb[:, [1, 3]]
    ratio_lr = lr.min(1).values / lr.max(1).values.clamp(min=1e-6)
    ratio_tb = tb.min(1).values / tb.max(1).values.clamp(min=1e-6)
    return (ratio_lr * ratio_tb).clamp(min=0).sqrt()


def downsample_masks(masks: Tensor, size: tuple[int, int], stride: int) -> Tensor:
    """(K, H, W) bool masks -> (K, h, w) float {0, 1}: cells at least half covered."""
    h, w = size
    padded = F.pad(masks.float(), (0, w * stride - masks.shape[-1], 0, h * stride - masks.shape[-2]))
    return (F.avg_pool2d(padded[None], stride)[0] >= 0.5).float()


def yolact_loss(out: HeadOutput, targets: list[ImageTargets], cfg: YolactConfig,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Weighted loss terms (class, box, ctr, mask) of a batch."""
    num_classes = out.cls_logits.shape[-1]
    cls_t = torch.zeros_like(out.cls_logits)
    num_pos, losses_mask = 0, []
    boxes_pred = out.boxes_xyxy()
    pred_pos, target_pos, ctr_logit_pos, ltrb_pos = [], [], [], []
    for b, tgt in enumerate(targets):
        assign = assign_locations(out, tgt.boxes.to(out.points.dtype), cfg)
        pos = (assign >= 0).nonzero().flatten()
        gt = assign[pos]
        cls_t[b, pos, tgt.labels[gt].clamp(0, num_classes - 1)] = 1.0
        pts = out.points[pos]
        ltrb = torch.cat([pts - tgt.boxes[gt, :2], tgt.boxes[gt, 2:] - pts], 1)
        pred_pos.append(boxes_pred[b, pos])
        target_pos.append(tgt.boxes[gt].to(boxes_pred.dtype))
        ctr_logit_pos.append(out.ctr_logits[b, pos])
        ltrb_pos.append(ltrb)
        num_pos += len(pos)
        losses_mask.append(_mask_losses(out, b, pos, gt, tgt, cfg, generator))
    num_pos = max(num_pos, 1)
    focal = sigmoid_focal(out.cls_logits, cls_t, cfg.focal_alpha, cfg.focal_gamma) / num_pos
    ctr_t = centerness(torch.cat(ltrb_pos))
    preds, tgts = torch.cat(pred_pos), torch.cat(target_pos)
    if len(preds):
        giou = generalized_box_iou_loss(preds.float(), tgts.float(), reduction="none")
        box = (giou * ctr_t).sum() / ctr_t.sum().clamp(min=1e-6)
        ctr = F.binary_cross_entropy_with_logits(torch.cat(ctr_logit_pos), ctr_t, reduction="sum") / num_pos
    else:
        box = ctr = out.box.sum() * 0.0 + out.ctr_logits.sum() * 0.0
    masks = torch.cat(losses_mask)
    mask = masks.mean() if masks.numel() else out.coefs.sum() * 0.0 + out.protos.sum() * 0.0
    w = cfg.weights
    return {"cls": w[0] * focal, "box": w[1] * box, "ctr": w[2] * ctr, "mask": w[3] * mask}


def _mask_losses(out: HeadOutput, b: int, pos: Tensor, gt: Tensor, tgt: ImageTargets, cfg: YolactConfig,
                 generator: torch.Generator | None) -> Tensor:
    """(Q,) per-mask losses of up to ``max_masks`` positives of image ``b``."""
    if len(pos) == 0:
        return out.protos.new_zeros(0)
    if len(pos) > cfg.max_masks:
        pick = torch.randperm(len(pos), generator=generator)[: cfg.max_masks].to(pos.device)
        pos, gt = pos[pick], gt[pick]
    protos = out.protos[b]
    size = tuple(protos.shape[-2:])
    logits = assemble_masks(out.coefs[b, pos], protos)  # (Q, Hm, Wm)
    small = downsample_masks(tgt.masks, size, out.proto_stride)[gt]  # (Q, Hm, Wm)
    crop = box_masks(tgt.boxes[gt].to(logits.dtype), size, out.proto_stride)
    bce = F.binary_cross_entropy_with_logits(logits, small, reduction="none") * crop
    return bce.flatten(1).sum(1) / crop.flatten(1).sum(1).clamp(min=1.0)
