"""FCOS box detector head: shared towers over FPN levels, its losses and post-processing.

Every location of every level predicts C class logits (sigmoid), distances to
the four box sides and a centre-ness logit (Tian et al., ICCV 2019). Parameter
names are those of the box/class part of
:class:`vistool.models.heads.yolact.YolactHead` (``cls_tower``, ``box_tower``,
``cls_out``, ``box_out``, ``ctr_out``, ``scales``), so a head trained there
initialises this one by name (``vistool train --weights``).

Losses as FCOS: sigmoid focal loss / positives, GIoU weighted by the
centre-ness target, centre-ness BCE / positives. Detection confidence is
``sqrt(sigmoid(cls) * sigmoid(ctr))`` (CenterMask's); then threshold, NMS and
the top ``max_detections``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import batched_nms, clip_boxes_to_image, remove_small_boxes

from vistool.models.heads.fcos import Scale, assign_locations, centerness, location_points, tower
from vistool.models.losses import generalized_box_iou_loss, sigmoid_focal
from vistool.models.targets import ImageTargets


@dataclass(frozen=True)
class FcosConfig:
    """Head, target and post-processing settings.

    Attributes:
        levels: FPN levels predicted on.
        channels: tower width; tower_convs: 3x3 conv + GN + ReLU layers per tower.
        size_bounds: object-size bounds between consecutive levels (len(levels) - 1 values).
        center_radius: centre sampling radius in strides.
        score_threshold, nms_iou, max_detections, pre_nms_topk, class_agnostic_nms: post-processing.
        focal_alpha, focal_gamma: class focal loss; weights: (class, box, centre-ness) loss weights.
    """

    levels: tuple[str, ...] = ("p3", "p4", "p5", "p6", "p7")
    channels: int = 256
    tower_convs: int = 4
    size_bounds: tuple[float, ...] = (64.0, 128.0, 256.0, 512.0)
    center_radius: float = 1.5
    score_threshold: float = 0.05
    nms_iou: float = 0.6
    max_detections: int = 100
    pre_nms_topk: int = 1000
    class_agnostic_nms: bool = False
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass
class FcosOutput:
    """Raw predictions flattened over levels and locations (P in all).

    Attributes:
        cls_logits: (B, P, C); box: (B, P, 4) (l, t, r, b) distances in pixels; ctr_logits: (B, P);
        points: (P, 2) location centres (x, y); strides: (P,); level: (P,) int64 level index.
    """

    cls_logits: Tensor
    box: Tensor
    ctr_logits: Tensor
    points: Tensor
    strides: Tensor
    level: Tensor

    def boxes_xyxy(self) -> Tensor:
        """(B, P, 4) decoded boxes."""
        p = self.points[None]
        return torch.cat([p - self.box[..., :2], p + self.box[..., 2:]], dim=-1)


@dataclass
class BoxDetections:
    """Post-processed boxes of one image, most confident first.

    Attributes:
        boxes: (N, 4) xyxy input pixels; scores: (N,); class_probs: (N, C); labels: (N,) int64.
    """

    boxes: Tensor
    scores: Tensor
    class_probs: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return int(self.scores.shape[0])


class FcosHead(nn.Module):
    """Shared class and box towers over the FPN levels.

    Args:
        cfg: head settings; in_channels: FPN width; strides: level name -> stride; num_classes: C.
    """

    def __init__(self, cfg: FcosConfig, in_channels: int, strides: dict[str, int], num_classes: int):
        super().__init__()
        self.cfg, self.num_classes = cfg, num_classes
        self.level_strides = [int(strides[n]) for n in cfg.levels]
        c = cfg.channels
        self.cls_tower, self.box_tower = tower(in_channels, c, cfg.tower_convs), tower(in_channels, c, cfg.tower_convs)
        cin = c if cfg.tower_convs else in_channels
        self.cls_out = nn.Conv2d(cin, num_classes, 3, padding=1)
        self.box_out = nn.Conv2d(cin, 4, 3, padding=1)
        self.ctr_out = nn.Conv2d(cin, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale() for _ in cfg.levels])
        nn.init.constant_(self.cls_out.bias, -math.log((1 - 0.01) / 0.01))  # prior 0.01 (RetinaNet)

    def level(self, i: int, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Level ``i``'s (B, C, h, w) features -> flattened class logits (B, hw, C), box distances (B, hw, 4),
        centre-ness logits (B, hw) and the box tower's features (B, c, h, w) (which other heads read)."""
        stride = self.level_strides[i]
        ct, bt = self.cls_tower(x), self.box_tower(x)
        reg = self.scales[i](self.box_out(bt)).clamp(max=8.0)
        return (self.cls_out(ct).flatten(2).transpose(1, 2), (reg.exp() * stride).flatten(2).transpose(1, 2),
                self.ctr_out(bt).flatten(2)[:, 0], bt)

    def locations(self, i: int, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Level ``i``'s location centres (hw, 2), strides (hw,) and level index (hw,)."""
        stride, (h, w) = self.level_strides[i], x.shape[-2:]
        return (location_points(h, w, stride, x.device, x.dtype), torch.full((h * w,), float(stride), device=x.device),
                torch.full((h * w,), i, dtype=torch.int64, device=x.device))

    def forward(self, feats: dict[str, Tensor]) -> FcosOutput:
        """FPN features (name -> (B, C, h, w)) -> flattened raw predictions."""
        per_level = [self.level(i, feats[name]) + self.locations(i, feats[name]) for i, name in enumerate(self.cfg.levels)]
        cls, box, ctr, _, points, strides, level = zip(*per_level)
        return FcosOutput(torch.cat(cls, 1), torch.cat(box, 1), torch.cat(ctr, 1), torch.cat(points),
                          torch.cat(strides), torch.cat(level))

    def candidates(self, best: Tensor, label: Tensor, boxes: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        """One image's kept locations (best first) and their clipped boxes: confidence >= threshold, the top
        ``pre_nms_topk``, NMS (per class or class-agnostic), at most ``max_detections``.

        Args:
            best: (P,) best class confidence; label: (P,) its class; boxes: (P, 4) decoded boxes.
        """
        cfg = self.cfg
        cand = (best >= cfg.score_threshold).nonzero().flatten()
        cand = cand[torch.argsort(best[cand], descending=True)[: cfg.pre_nms_topk]]
        kept = clip_boxes_to_image(boxes[cand], size)
        ok = remove_small_boxes(kept, 1.0)
        cand, kept = cand[ok], kept[ok]
        groups = torch.zeros_like(cand) if cfg.class_agnostic_nms else label[cand]
        keep = batched_nms(kept, best[cand], groups, cfg.nms_iou)[: cfg.max_detections]
        return cand[keep], kept[keep]

    @torch.no_grad()
    def detect(self, out: FcosOutput, image_sizes: list[tuple[int, int]]) -> list[BoxDetections]:
        """Per image: confidence ``sqrt(cls * ctr)``, then :meth:`candidates`."""
        conf = torch.sqrt(torch.sigmoid(out.cls_logits) * torch.sigmoid(out.ctr_logits)[..., None])  # (B, P, C)
        boxes_all = out.boxes_xyxy()
        result = []
        for b, size in enumerate(image_sizes):
            best, label = conf[b].max(dim=1)
            cand, boxes = self.candidates(best, label, boxes_all[b], size)
            result.append(BoxDetections(boxes, best[cand], conf[b, cand], label[cand]))
        return result


def fcos_assignments(out: FcosOutput, targets: list[ImageTargets], center_radius: float,
                     size_bounds: tuple[float, ...]) -> list[tuple[Tensor, Tensor]]:
    """Per image, the positive locations (Q,) and the object each regresses (Q,) (FCOS assignment)."""
    result = []
    for tgt in targets:
        assign = assign_locations(out.points, out.strides, out.level, tgt.boxes.to(out.points.dtype),
                                  center_radius, size_bounds)
        pos = (assign >= 0).nonzero().flatten()
        result.append((pos, assign[pos]))
    return result


def fcos_loss(out: FcosOutput, targets: list[ImageTargets], cfg: FcosConfig,
              assignments: list[tuple[Tensor, Tensor]] | None = None) -> dict[str, Tensor]:
    """Weighted FCOS loss terms (``cls``, ``box``, ``ctr``) of a batch of images.

    ``assignments``: :func:`fcos_assignments` when the caller has them already (heads built on FCOS).
    """
    if assignments is None:
        assignments = fcos_assignments(out, targets, cfg.center_radius, cfg.size_bounds)
    num_classes = out.cls_logits.shape[-1]
    cls_t = torch.zeros_like(out.cls_logits)
    boxes_pred = out.boxes_xyxy()
    pred_pos, target_pos, ctr_logit_pos, ltrb_pos = [], [], [], []
    for b, (tgt, (pos, gt)) in enumerate(zip(targets, assignments)):
        cls_t[b, pos, tgt.labels[gt].clamp(0, num_classes - 1)] = 1.0
        pts = out.points[pos]
        ltrb_pos.append(torch.cat([pts - tgt.boxes[gt, :2], tgt.boxes[gt, 2:] - pts], 1))
        pred_pos.append(boxes_pred[b, pos])
        target_pos.append(tgt.boxes[gt].to(boxes_pred.dtype))
        ctr_logit_pos.append(out.ctr_logits[b, pos])
    preds = torch.cat(pred_pos)
    num_pos = max(len(preds), 1)
    focal = sigmoid_focal(out.cls_logits, cls_t, cfg.focal_alpha, cfg.focal_gamma) / num_pos
    if len(preds):
        ctr_t = centerness(torch.cat(ltrb_pos))
        giou = generalized_box_iou_loss(preds.float(), torch.cat(target_pos).float(), reduction="none")
        box = (giou * ctr_t).sum() / ctr_t.sum().clamp(min=1e-6)
        ctr = F.binary_cross_entropy_with_logits(torch.cat(ctr_logit_pos), ctr_t, reduction="sum") / num_pos
    else:
        box = ctr = out.box.sum() * 0.0 + out.ctr_logits.sum() * 0.0
    w = cfg.weights
    return {"cls": w[0] * focal, "box": w[1] * box, "ctr": w[2] * ctr}
