"""CenterNet detection head on FPN levels: per-category centre heat maps, box sizes and centre offsets.

One head (shared weights) on every level, as FCOS shares its towers; an object
is assigned to the level whose size range holds its longer box side
(``size_bounds``) and supervised there only: a Gaussian of CenterNet's radius
at its centre cell (focal loss), its box size (w, h, in input pixels, L1) and
the sub-cell offset of its centre (L1), both at the centre cell. Decoding takes
the heat-map peaks of every level (max-pool NMS), the best ``max_detections``
over the levels, then a class-agnostic NMS across levels (an object near a
size bound may peak on two levels).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import batched_nms

from vistool.models.heads.centers import center_focal_loss, extract_peaks, gaussian_heatmap, gaussian_radius
from vistool.models.heads.fcos import tower


@dataclass(frozen=True)
class CenterNetConfig:
    """Head and decoding settings.

    Attributes:
        levels: FPN levels; size_bounds: longer-side bounds between consecutive levels (pixels).
        channels, tower_convs: the shared tower; score_threshold, max_detections, nms_iou: decoding.
        weights: (heat map, size, offset) loss weights (CenterNet: 1, 0.1, 1).
    """

    levels: tuple[str, ...] = ("p3", "p4", "p5", "p6", "p7")
    size_bounds: tuple[float, ...] = (64.0, 128.0, 256.0, 512.0)
    channels: int = 256
    tower_convs: int = 2
    score_threshold: float = 0.1
    max_detections: int = 100
    nms_iou: float = 0.6
    weights: tuple[float, float, float] = (1.0, 0.1, 1.0)


@dataclass
class LevelOutput:
    """Raw predictions of one level: heat (B, C, h, w) logits, size (B, 2, h, w) pixels, offset (B, 2, h, w) cells."""

    heat: Tensor
    size: Tensor
    offset: Tensor


@dataclass
class CenterDetections:
    """Decoded detections of one image, best first.

    Attributes:
        boxes: (N, 4) xyxy input pixels; scores: (N,); labels: (N,) int64; class_probs: (N, C);
        levels: (N,) int64 level index; ys, xs: (N,) int64 peak cells on that level.
    """

    boxes: Tensor
    scores: Tensor
    labels: Tensor
    class_probs: Tensor
    levels: Tensor
    ys: Tensor
    xs: Tensor

    def __len__(self) -> int:
        return int(self.scores.shape[0])


class CenterNetHead(nn.Module):
    """Shared tower + heat-map / size / offset convs (heat-map bias -2.19: prior 0.1, as CenterNet)."""

    def __init__(self, cfg: CenterNetConfig, in_channels: int, num_classes: int):
        super().__init__()
        self.cfg = cfg
        self.tower = tower(in_channels, cfg.channels, cfg.tower_convs)
        cin = cfg.channels if cfg.tower_convs else in_channels
        self.heat = nn.Conv2d(cin, num_classes, 3, padding=1)
        self.size = nn.Conv2d(cin, 2, 3, padding=1)
        self.offset = nn.Conv2d(cin, 2, 3, padding=1)
        nn.init.constant_(self.heat.bias, -2.19)

    def forward(self, feats: dict[str, Tensor]) -> list[LevelOutput]:
        out = []
        for name in self.cfg.levels:
            x = self.tower(feats[name])
            out.append(LevelOutput(self.heat(x), F.softplus(self.size(x)) * 16.0, self.offset(x)))
        return out


def level_of(boxes: Tensor, size_bounds: tuple[float, ...]) -> Tensor:
    """(K,) level index of every (K, 4) box by its longer side."""
    side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return torch.bucketize(side, torch.tensor(size_bounds, device=boxes.device, dtype=side.dtype))


def centernet_loss(outs: list[LevelOutput], strides: list[int], boxes: list[Tensor], labels: list[Tensor],
                   cfg: CenterNetConfig) -> dict[str, Tensor]:
    """Focal heat-map, size and offset losses of B images (``boxes``/``labels`` per image), normalised by objects."""
    heat_loss, size_loss, offset_loss = outs[0].heat.sum() * 0.0, outs[0].size.sum() * 0.0, outs[0].offset.sum() * 0.0
    count = 0
    for b, (bx, lb) in enumerate(zip(boxes, labels)):
        level = level_of(bx, cfg.size_bounds)
        for i, (out, stride) in enumerate(zip(outs, strides)):
            pick = level == i
            h, w = out.heat.shape[-2:]
            centres = (bx[pick, :2] + bx[pick, 2:]) / 2 / stride
            wh = bx[pick, 2:] - bx[pick, :2]
            radius = gaussian_radius(wh[:, 1] / stride, wh[:, 0] / stride).clamp(min=0)
            target = gaussian_heatmap(centres, (2 * radius.floor() + 1) / 6, (h, w), lb[pick], out.heat.shape[1])
            heat_loss = heat_loss + center_focal_loss(out.heat[b], target) * max(int(pick.sum()), 1)
            if pick.any():
                cy, cx = centres[:, 1].long().clamp(0, h - 1), centres[:, 0].long().clamp(0, w - 1)
                size_loss = size_loss + (out.size[b, :, cy, cx].T - wh).abs().sum()
                offset_loss = offset_loss + (out.offset[b, :, cy, cx].T - (centres - centres.floor())).abs().sum()
        count += len(bx)
    n = max(count, 1)
    w = cfg.weights
    return {"heat": w[0] * heat_loss / n, "size": w[1] * size_loss / n, "offset": w[2] * offset_loss / n}


@torch.no_grad()
def decode(outs: list[LevelOutput], strides: list[int], cfg: CenterNetConfig, image_size: tuple[int, int],
           b: int = 0) -> CenterDetections:
    """Detections of image ``b``: peaks of every level, the best ``max_detections``, class-agnostic NMS."""
    parts = []
    for i, (out, stride) in enumerate(zip(outs, strides)):
        probs = torch.sigmoid(out.heat[b])
        peaks = extract_peaks(probs, cfg.score_threshold, cfg.max_detections)
        ys, xs = peaks.ys, peaks.xs
        centre = torch.stack([xs + out.offset[b, 0, ys, xs], ys + out.offset[b, 1, ys, xs]], 1) * stride
        half = out.size[b, :, ys, xs].T / 2
        boxes = torch.cat([centre - half, centre + half], 1)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, image_size[1])
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, image_size[0])
        parts.append((boxes, peaks.scores, peaks.channels, probs[:, ys, xs].T, torch.full_like(ys, i), ys, xs))
    boxes, scores, labels, probs, levels, ys, xs = (torch.cat(p) for p in zip(*parts))
    order = scores.argsort(descending=True)[: cfg.max_detections]
    keep = order[batched_nms(boxes[order], scores[order], torch.zeros_like(order), cfg.nms_iou)]
    return CenterDetections(boxes[keep], scores[keep], labels[keep], probs[keep], levels[keep], ys[keep], xs[keep])
