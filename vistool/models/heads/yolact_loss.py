"""Training targets and losses of :class:`~vistool.models.heads.yolact.YolactHead`.

Targets are FCOS's (:func:`vistool.models.heads.fcos.assign_locations`).

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

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.models.detections import box_masks
from vistool.models.heads.fcos import assign_locations, centerness
from vistool.models.heads.yolact import HeadOutput, YolactConfig, assemble_masks
from vistool.models.losses import generalized_box_iou_loss, sigmoid_focal
from vistool.models.targets import ImageTargets, downsample_masks


def yolact_loss(out: HeadOutput, targets: list[ImageTargets], cfg: YolactConfig,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Weighted loss terms (class, box, ctr, mask) of a batch."""
    num_classes = out.cls_logits.shape[-1]
    cls_t = torch.zeros_like(out.cls_logits)
    num_pos, losses_mask = 0, []
    boxes_pred = out.boxes_xyxy()
    pred_pos, target_pos, ctr_logit_pos, ltrb_pos = [], [], [], []
    for b, tgt in enumerate(targets):
        assign = assign_locations(out.points, out.strides, out.level, tgt.boxes.to(out.points.dtype),
                                  cfg.center_radius, cfg.size_bounds)
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
