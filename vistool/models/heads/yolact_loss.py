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
from vistool.models.heads.fcos_head import fcos_assignments, fcos_loss
from vistool.models.heads.yolact import HeadOutput, YolactConfig, assemble_masks
from vistool.models.targets import ImageTargets, downsample_masks


def yolact_loss(out: HeadOutput, targets: list[ImageTargets], cfg: YolactConfig,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Weighted loss terms (class, box, ctr: :func:`~vistool.models.heads.fcos_head.fcos_loss`; mask) of a batch."""
    assignments = fcos_assignments(out, targets, cfg.center_radius, cfg.size_bounds)
    terms = fcos_loss(out, targets, cfg.fcos(), assignments)
    masks = torch.cat([_mask_losses(out, b, pos, gt, tgt, cfg, generator)
                       for b, (tgt, (pos, gt)) in enumerate(zip(targets, assignments))])
    mask = masks.mean() if masks.numel() else out.coefs.sum() * 0.0 + out.protos.sum() * 0.0
    return {**terms, "mask": cfg.weights[3] * mask}


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
