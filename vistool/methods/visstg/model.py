"""VisSTG (Wang et al., ICCV 2021): detection, segmentation and tracking as one spatial-temporal graph.

Per FPN level a graph joins the reference frame's instances to the target
frame's pixels (:mod:`.graph`); the updated pixel nodes are the fused features
that a CenterNet head (:mod:`vistool.models.heads.centernet`) and a CondInst
dynamic mask head (:mod:`vistool.models.heads.condinst`) read; the graph's
edge classifier tracks (:mod:`.tracker`); the reference frame's CondInst
filters are warped into the target frame and blended with the new ones
(:mod:`.propagation`).

Training (one stage, frame pairs ``(k, t)`` with ``t - k`` drawn up to
``train.gap``, which the paper keeps under 5): reference nodes from the
ground-truth instances of frame k; loss = CenterNet + CondInst on both frames
(frame k detection-only, as a video's first frame) + the edge BCE over the
pruned edges of frame t (edges to ground-truth foreground cells of the
reference instance's class; positive when the cell is the same instance's).
Inference: online over consecutive frames, the first frame detection-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align

from vistool.methods.base import Session, VisModel
from vistool.methods.visstg.config import Config
from vistool.methods.visstg.graph import GraphOutput, SpatialTemporalGraph
from vistool.methods.visstg.propagation import FilterPropagation
from vistool.models.backbone import build_backbone
from vistool.models.heads.centernet import CenterNetHead, LevelOutput, centernet_loss, level_of
from vistool.models.heads.condinst import NUM_PARAMS, Controller, MaskBranch, condinst_loss, dynamic_masks
from vistool.models.transform import FrameTransform
from vistool.structures import ClipBatch, ClipSample, VideoInfo

NODE_POOL = 7  # RoIAlign side of the reference-instance features


@dataclass
class FrameOutput:
    """One frame's fused levels, head outputs, filter maps and mask features (batch of 1 or B)."""

    levels: dict[str, Tensor]
    heads: list[LevelOutput]
    filters: list[Tensor]
    mask_feats: Tensor


class Model(VisModel):
    """VisSTG: backbone + FPN, per-level spatial-temporal graph, CenterNet + CondInst heads, propagation."""

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        self.transform = FrameTransform(config.transform)
        self.backbone = build_backbone(config.backbone)
        dim = self.backbone.out_channels
        self.levels = tuple(config.detector.levels)
        self.strides = [int(self.backbone.strides[n]) for n in self.levels]
        self.head = CenterNetHead(config.detector, dim, len(self.categories))
        self.controller = Controller(dim, config.detector.channels, config.detector.tower_convs)
        self.mask_branch = MaskBranch(dim, config.mask_channels)
        self.node = torch.nn.Linear(dim, dim)
        self.graph = SpatialTemporalGraph(dim, config.graph.iterations, config.graph.window)
        self.propagation = FilterPropagation(dim, NUM_PARAMS) if config.propagation else None

    train_clip_len = 2  # frame pairs (reference, target)

    # ------------------------------------------------------------ shared computation
    def instance_nodes(self, levels: dict[str, Tensor], boxes: Tensor) -> Tensor:
        """(K, 4) boxes of one frame -> (K, L, D) node vectors, one per level (RoIAlign, mean, linear)."""
        out = []
        for name, stride in zip(self.levels, self.strides):
            pooled = roi_align(levels[name], [boxes.float()], NODE_POOL, 1.0 / stride, 2, aligned=True)
            out.append(self.node(pooled.mean((2, 3))))
        return torch.stack(out, 1)

    def fuse(self, levels: dict[str, Tensor], nodes: Tensor, centres: Tensor) -> tuple[dict[str, Tensor],
                                                                                       list[GraphOutput]]:
        """The graph of every level between reference nodes (M, L, D) at centres (M, 2) and one target frame."""
        fused, graphs = dict(levels), []
        for i, (name, stride) in enumerate(zip(self.levels, self.strides)):
            g = self.graph(nodes[:, i], centres, levels[name], stride)
            fused[name] = g.fused
            graphs.append(g)
        return fused, graphs

    def frame_output(self, levels: dict[str, Tensor], previous: FrameOutput | None = None,
                     previous_raw: dict[str, Tensor] | None = None) -> FrameOutput:
        """Heads, filters (propagated from ``previous`` when given) and mask features of (fused) levels."""
        heads = self.head(levels)
        filters = [self.controller(levels[n]) for n in self.levels]
        if previous is not None and self.propagation is not None:
            filters = [self.propagation(prev, new, previous_raw[n], levels[n])
                       for prev, new, n in zip(previous.filters, filters, self.levels)]
        return FrameOutput(levels, heads, filters, self.mask_branch(levels[self.levels[0]]))

    def masks_at(self, out: FrameOutput, b: int, level: Tensor, ys: Tensor, xs: Tensor, centres: Tensor) -> Tensor:
        """(K, h4, w4) mask logits of K instances of image ``b`` whose filters sit at cells (ys, xs) of ``level``."""
        params = torch.zeros((len(level), NUM_PARAMS), device=centres.device, dtype=centres.dtype)
        for i in level.unique().tolist():
            pick = level == i
            params[pick] = out.filters[i][b, :, ys[pick], xs[pick]].T
        return dynamic_masks(params, out.mask_feats[b], centres, self.strides[0], self.config.rel_scale)

    # ------------------------------------------------------------ training
    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """CenterNet + CondInst on both frames of every pair and the edge BCE of the graphs."""
        bsz = batch.images.shape[0]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))
        raw = {k: v.unflatten(0, (bsz, 2)) for k, v in self.backbone(images).items()}
        terms: dict[str, Tensor] = {}
        for b, sample in enumerate(batch.samples):
            ref_levels = {k: v[b:b + 1, 0] for k, v in raw.items()}
            tgt_levels = {k: v[b:b + 1, 1] for k, v in raw.items()}
            ref_out = self.frame_output(ref_levels)
            here = sample.present[:, 0].nonzero().flatten()
            boxes = sample.boxes[here, 0].float()
            nodes = self.instance_nodes(ref_levels, boxes)
            fused, graphs = self.fuse(tgt_levels, nodes, (boxes[:, :2] + boxes[:, 2:]) / 2)
            tgt_out = self.frame_output(fused, ref_out, ref_levels)
            for key, value in self._frame_losses(ref_out, sample, 0).items():
                terms[key] = terms.get(key, 0.0) + value / (2 * bsz)
            for key, value in self._frame_losses(tgt_out, sample, 1).items():
                terms[key] = terms.get(key, 0.0) + value / (2 * bsz)
            edge = self._edge_loss(graphs, sample, here, tuple(images.shape[-2:]))
            terms["edge"] = terms.get("edge", 0.0) + self.config.graph.edge_weight * edge / bsz
        return terms

    def _frame_losses(self, out: FrameOutput, sample: ClipSample, t: int) -> dict[str, Tensor]:
        present = sample.present[:, t]
        boxes, labels, masks = sample.boxes[present, t].float(), sample.labels[present], sample.masks[present, t]
        terms = centernet_loss(out.heads, self.strides, [boxes], [labels], self.config.detector)
        boxes, masks = boxes[: self.config.max_masks], masks[: self.config.max_masks]
        level = level_of(boxes, self.config.detector.size_bounds)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        stride = torch.tensor(self.strides, device=boxes.device, dtype=boxes.dtype)[level]
        ys, xs = (centres[:, 1] / stride).long(), (centres[:, 0] / stride).long()
        for i, name in enumerate(self.levels):  # keep the cells inside their level's map
            h, w = out.levels[name].shape[-2:]
            ys = torch.where(level == i, ys.clamp(max=h - 1), ys)
            xs = torch.where(level == i, xs.clamp(max=w - 1), xs)
        terms["mask"] = condinst_loss(self.masks_at(out, 0, level, ys, xs, centres), masks)
        if len(boxes) == 0:  # a frame without objects: zero, with the mask parameters in the graph (DDP)
            terms["mask"] = terms["mask"] + (sum(f.sum() for f in out.filters) + out.mask_feats.sum()) * 0.0
        return terms

    def _edge_loss(self, graphs: list[GraphOutput], sample: ClipSample, here: Tensor, padded: tuple[int, int]
                   ) -> Tensor:
        nxt = sample.present[:, 1].nonzero().flatten()
        losses = []
        for g, stride in zip(graphs, self.strides):
            if len(g.inst) == 0 or len(nxt) == 0:
                continue
            h, w = g.fused.shape[-2:]
            owner = _cell_owner(sample.masks[nxt, 1], (h, w), stride)  # (h*w,) index into nxt, -1 background
            cell_owner = owner[g.pix]
            fg = cell_owner >= 0
            same_class = fg & (sample.labels[nxt][cell_owner.clamp(min=0)] == sample.labels[here][g.inst])
            if not same_class.any():
                continue
            target = (nxt[cell_owner.clamp(min=0)] == here[g.inst]) & same_class
            losses.append(F.binary_cross_entropy_with_logits(g.logits[same_class], target[same_class].float()))
        if losses:
            return torch.stack(losses).mean()
        return sum(p.sum() for m in (self.graph, self.node) for p in m.parameters()) * 0.0  # every one in (DDP)

    # ------------------------------------------------------------ inference
    def new_session(self, info: VideoInfo) -> Session:
        """Online tracking over consecutive frames."""
        from vistool.methods.visstg.session import VisSTGSession

        return VisSTGSession(self, track=True)

    def new_frame_session(self, info: VideoInfo) -> Session:
        """``vistool segment``: per-frame detections of the graph-fused features, no ids."""
        from vistool.methods.visstg.session import VisSTGSession

        return VisSTGSession(self, track=False)


def _cell_owner(masks: Tensor, size: tuple[int, int], stride: int) -> Tensor:
    """(h*w,) index of the mask covering each cell centre (the last one where masks overlap), -1 for none."""
    h, w = size
    ys = (torch.arange(h, device=masks.device) * stride + stride // 2).clamp(max=masks.shape[-2] - 1)
    xs = (torch.arange(w, device=masks.device) * stride + stride // 2).clamp(max=masks.shape[-1] - 1)
    cells = masks[:, ys][:, :, xs].flatten(1)  # (K, h*w)
    index = torch.arange(1, len(cells) + 1, device=masks.device)[:, None]
    return (cells * index).amax(0) - 1 if len(cells) else torch.full((h * w,), -1, device=masks.device)
