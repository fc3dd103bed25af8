"""YOLACT-style one-stage instance segmentation head on FPN levels.

Masks are linear combinations of ``k`` image-wide *prototypes* (a small FCN on
the finest FPN level, upsampled to stride 4) with per-detection coefficients
(tanh), cropped to the detection box (Bolya et al., ICCV 2019).

Box and class prediction are anchor-free, FCOS-style (Tian et al., 2019; the
parts are in :mod:`vistool.models.heads.fcos`), instead of YOLACT's anchors:
every location of every level predicts class logits (sigmoid), distances to
the four box sides, a centre-ness logit and the mask coefficients. This trains faster from scratch on CPU and needs no anchor
tuning; the prototype x coefficient masks are YOLACT's.

Post-processing (RGNNVIS settings by default): confidence
``sqrt(sigmoid(cls) * sigmoid(ctr))``; keep locations whose best class
confidence is >= ``score_threshold``; NMS at ``nms_iou``
(torchvision ``batched_nms``, class-agnostic by default so that every object
gives one detection carrying its whole class vector); keep the
``max_detections`` most confident. The output is the shared
:class:`vistool.models.detections.Detections`; training targets and losses
are in :mod:`vistool.models.heads.yolact_loss`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.models.detections import Detections
from vistool.models.heads.fcos_head import FcosConfig, FcosHead


@dataclass(frozen=True)
class YolactConfig:
    """Head, target and post-processing settings.

    Attributes:
        levels: FPN levels predicted on, finest first (the finest feeds the prototypes).
        num_prototypes: ``k`` prototype masks.
        channels: width of the prediction towers and the protonet.
        tower_convs: 3x3 conv + GroupNorm + ReLU layers per tower (class, box).
        size_bounds: FCOS object-size bounds between consecutive levels
            (largest box side distance; len(levels) - 1 values).
        center_radius: centre sampling radius in strides.
        score_threshold, nms_iou, max_detections: post-processing.
        pre_nms_topk: candidates per image before NMS.
        class_agnostic_nms: one NMS over all classes (else per top class).
        max_masks: positive locations per image used by the mask loss.
        focal_alpha, focal_gamma: focal loss of the class logits.
        weights: loss weights of (class, box, centre-ness, mask).
    """

    levels: tuple[str, ...] = ("p3", "p4", "p5", "p6", "p7")
    num_prototypes: int = 32
    channels: int = 256
    tower_convs: int = 4
    size_bounds: tuple[float, ...] = (64.0, 128.0, 256.0, 512.0)
    center_radius: float = 1.5
    score_threshold: float = 0.03
    nms_iou: float = 0.7
    max_detections: int = 16
    pre_nms_topk: int = 1000
    class_agnostic_nms: bool = True
    max_masks: int = 100
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)

    def fcos(self) -> FcosConfig:
        """The box/class part of these settings (the FCOS head this head is built on)."""
        return FcosConfig(levels=self.levels, channels=self.channels, tower_convs=self.tower_convs,
                          size_bounds=self.size_bounds, center_radius=self.center_radius,
                          score_threshold=self.score_threshold, nms_iou=self.nms_iou,
                          max_detections=self.max_detections, pre_nms_topk=self.pre_nms_topk,
                          class_agnostic_nms=self.class_agnostic_nms, focal_alpha=self.focal_alpha,
                          focal_gamma=self.focal_gamma, weights=self.weights[:3])


class ProtoNet(nn.Module):
    """Prototype masks: 3 convs, 2x upsampling, a conv, a 1x1 to ``k`` maps, ReLU."""

    def __init__(self, in_channels: int, channels: int, num_prototypes: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        self.pre = nn.Sequential(*layers)
        self.post = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, num_prototypes, 1), nn.ReLU(inplace=True))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, h, w) finest FPN level -> (B, k, 2h, 2w)."""
        x = F.interpolate(self.pre(x), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.post(x)


@dataclass
class HeadOutput:
    """Raw predictions, flattened over levels and locations (P locations in all).

    Attributes:
        cls_logits: (B, P, C); box: (B, P, 4) predicted (l, t, r, b) distances in pixels;
        ctr_logits: (B, P); coefs: (B, P, k) in [-1, 1];
        protos: (B, k, Hm, Wm) prototypes at ``proto_stride``;
        points: (P, 2) location centres (x, y) in input pixels; strides: (P,);
        level: (P,) int64 level index of every location.
    """

    cls_logits: Tensor
    box: Tensor
    ctr_logits: Tensor
    coefs: Tensor
    protos: Tensor
    points: Tensor
    strides: Tensor
    level: Tensor
    proto_stride: int

    def boxes_xyxy(self) -> Tensor:
        """(B, P, 4) decoded boxes."""
        p = self.points[None]
        return torch.cat([p - self.box[..., :2], p + self.box[..., 2:]], dim=-1)


class YolactHead(FcosHead):
    """Protonet + the FCOS towers of :class:`vistool.models.heads.fcos_head.FcosHead` with a coefficient conv.

    Args:
        cfg: head settings.
        in_channels: channels of the FPN levels (all equal).
        strides: FPN level name -> stride.
        num_classes: C object classes (no background entry; sigmoid scores).
    """

    def __init__(self, cfg: YolactConfig, in_channels: int, strides: dict[str, int], num_classes: int):
        super().__init__(cfg.fcos(), in_channels, strides, num_classes)
        self.cfg = cfg
        cin = cfg.channels if cfg.tower_convs else in_channels
        self.coef_out = nn.Conv2d(cin, cfg.num_prototypes, 3, padding=1)
        self.protonet = ProtoNet(in_channels, cfg.channels, cfg.num_prototypes)

    @property
    def proto_stride(self) -> int:
        return self.level_strides[0] // 2

    def forward(self, feats: dict[str, Tensor]) -> HeadOutput:
        """FPN features (name -> (B, C, h, w)) -> flattened raw predictions."""
        cls, box, ctr, coef, points, strides, level = [], [], [], [], [], [], []
        for i, name in enumerate(self.cfg.levels):
            x = feats[name]
            c, b, t, bt = self.level(i, x)
            cls.append(c)
            box.append(b)
            ctr.append(t)
            coef.append(torch.tanh(self.coef_out(bt)).flatten(2).transpose(1, 2))
            p, s, lv = self.locations(i, x)
            points.append(p)
            strides.append(s)
            level.append(lv)
        protos = self.protonet(feats[self.cfg.levels[0]])
        return HeadOutput(torch.cat(cls, 1), torch.cat(box, 1), torch.cat(ctr, 1), torch.cat(coef, 1), protos,
                          torch.cat(points), torch.cat(strides), torch.cat(level), self.proto_stride)

    @torch.no_grad()
    def detect(self, out: HeadOutput, image_sizes: list[tuple[int, int]]) -> Detections:
        """Post-process raw predictions into at most ``max_detections`` per image (padded :class:`Detections`).

        Args:
            out: head output of B images.
            image_sizes: B unpadded (h, w); boxes are clipped to them.
        """
        n_max = self.cfg.max_detections
        bsz = out.cls_logits.shape[0]
        conf = torch.sqrt(torch.sigmoid(out.cls_logits) * torch.sigmoid(out.ctr_logits)[..., None])  # (B, P, C)
        boxes_all = out.boxes_xyxy()
        hm, wm = out.protos.shape[-2:]
        det = Detections(out.box.new_zeros(bsz, n_max, 4), out.box.new_zeros(bsz, n_max),
                         out.box.new_zeros(bsz, n_max, self.num_classes),
                         torch.zeros(bsz, n_max, dtype=torch.int64, device=out.box.device),
                         out.box.new_zeros(bsz, n_max, hm, wm),
                         torch.zeros(bsz, n_max, dtype=torch.bool, device=out.box.device), out.proto_stride)
        for b in range(bsz):
            best, label = conf[b].max(dim=1)
            cand, boxes = self.candidates(best, label, boxes_all[b], image_sizes[b])
            n = len(cand)
            det.boxes[b, :n], det.scores[b, :n] = boxes, best[cand]
            det.class_probs[b, :n], det.labels[b, :n] = conf[b, cand], label[cand]
            det.mask_logits[b, :n] = assemble_masks(out.coefs[b, cand], out.protos[b])
            det.valid[b, :n] = True
        return det


def assemble_masks(coefs: Tensor, protos: Tensor) -> Tensor:
    """Mask logits of one image: (P, k) coefficients x (k, Hm, Wm) prototypes -> (P, Hm, Wm)."""
    k, hm, wm = protos.shape
    return (coefs @ protos.reshape(k, -1)).reshape(-1, hm, wm)
