"""Tracklet-level Hungarian matching (Eq. 4) and the clip loss (Eq. 5) with deep supervision."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.models.heads.roi_mask import crop_masks
from vistool.models.losses import bce_with_logits, box_l1_giou, dice_loss
from vistool.models.matching import box_cost, hungarian
from vistool.models.targets import ClipTargets
from vistool.tracking.costs import soft_mask_iou

from .config import LossWeights
from .network import StageOutput

Assignment = tuple[Tensor, Tensor]  # (query indices, target indices)


class Criterion:
    """Matches predicted tracklets to ground-truth tracklets and computes the weighted clip loss."""

    def __init__(self, num_classes: int, weights: LossWeights):
        self.k = num_classes
        self.w = weights

    @torch.no_grad()
    def cost(self, out: StageOutput, b: int, tgt: ClipTargets, crops: Tensor, image_size: tuple[int, int]) -> Tensor:
        """Eq. 4 for sample ``b``: sum over frames of -p(class) + [present] (box cost - mask IoU); (N, G)."""
        w = self.w
        probs = out.logits[b].float().softmax(-1)  # (N, T, K+1)
        cls_t = self.classes_t(tgt)  # (T, G)
        n = probs.shape[0]
        cost_cls = -probs.gather(2, cls_t[None].expand(n, -1, -1)).sum(1)  # (N, G)
        present = tgt.present.t().float()  # (T, G)
        gt_boxes = torch.where(tgt.present[..., None], tgt.boxes, tgt.boxes.new_tensor([0.0, 0.0, 1.0, 1.0]))
        pred = out.boxes[b].float()
        per_t = torch.stack([box_cost(pred[:, t], gt_boxes[:, t].float(), image_size, w.l1, w.giou)
                             for t in range(pred.shape[1])])  # (T, N, G)
        cost_box = (per_t * present[:, None]).sum(0)
        p = out.mask_logits[b].float().sigmoid().flatten(2)  # (N, T, MM)
        g = crops.flatten(3)  # (N, T, G, MM)
        iou = soft_mask_iou(p, g)  # (N, T, G)
        cost_mask = (iou * present[None]).sum(1)  # (N, G)
        return w.cls * cost_cls + cost_box - w.mask_iou * cost_mask

    def classes_t(self, tgt: ClipTargets) -> Tensor:
        return tgt.classes(self.k).t()

    def stage_loss(self, out: StageOutput, targets: list[ClipTargets], image_size: tuple[int, int],
                   assignments: list[Assignment] | None) -> tuple[dict[str, Tensor], list[Assignment]]:
        """Weighted loss terms of one iteration over the batch; matches when ``assignments`` is None."""
        m = out.mask_logits.shape[-1]
        cls_targets = torch.full(out.logits.shape[:3], self.k, dtype=torch.int64, device=out.logits.device)
        # zero terms that still depend on the box and mask heads: a clip without matches (no instances)
        # then gives them zero gradients instead of none, as DDP needs on every rank
        no_boxes, no_masks = out.boxes.sum() * 0.0, out.mask_logits.sum() * 0.0
        sums = {"l1": no_boxes, "giou": no_boxes, "mask_bce": no_masks, "dice": no_masks}
        n_present, n_entries, used = 0, 0, []
        for b, tgt in enumerate(targets):
            crops = crop_masks(tgt.masks, out.mask_boxes[b].detach(), m)
            if assignments is None:
                no_targets = tgt.labels.numel() == 0
                rows, cols = hungarian(crops.new_zeros((0, 0)) if no_targets else
                                       self.cost(out, b, tgt, crops, image_size))
            else:
                rows, cols = assignments[b]
            used.append((rows, cols))
            if len(rows) == 0:
                continue
            cls_targets[b, rows] = tgt.classes(self.k)[cols]
            present = tgt.present[cols]  # (G', T)
            l1, giou = box_l1_giou(out.boxes[b, rows][present], tgt.boxes[cols][present].to(out.boxes.dtype),
                                   image_size)
            sums["l1"], sums["giou"] = sums["l1"] + l1, sums["giou"] + giou
            logits = out.mask_logits[b, rows]  # (G', T, M, M)
            target = crops[rows, :, cols]  # (G', T, M, M)
            sums["mask_bce"] = sums["mask_bce"] + bce_with_logits(logits.flatten(0, 1), target.flatten(0, 1))
            sums["dice"] = sums["dice"] + dice_loss(logits[present], target[present])
            n_present += int(present.sum())
            n_entries += present.numel()
        weight = torch.ones(self.k + 1, device=out.logits.device)
        weight[-1] = self.w.background
        cls = F.cross_entropy(out.logits.flatten(0, 2).float(), cls_targets.flatten(), weight=weight)
        w = self.w
        terms = {"cls": w.cls * cls, "l1": w.l1 * sums["l1"] / max(n_present, 1),
                 "giou": w.giou * sums["giou"] / max(n_present, 1),
                 "mask_bce": w.mask_bce * sums["mask_bce"] / max(n_entries, 1),
                 "dice": w.dice * sums["dice"] / max(n_present, 1)}
        return terms, used

    def __call__(self, outs: list[StageOutput], targets: list[ClipTargets], image_size: tuple[int, int],
                 assignments: list[Assignment] | None = None) -> tuple[dict[str, Tensor], list[Assignment]]:
        """Loss summed over the iterations (deep supervision).

        With ``assignments`` None each iteration is matched on its own
        predictions (as Sparse R-CNN); the last iteration's assignment is
        returned for the correspondence clip. Given ``assignments`` are used
        for every iteration (no matching).
        """
        total: dict[str, Tensor] = {}
        final = assignments
        for out in outs:
            terms, used = self.stage_loss(out, targets, image_size, assignments)
            final = used
            for k, v in terms.items():
                total[k] = total.get(k, 0) + v
        return total, final
