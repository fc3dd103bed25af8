"""TLTM (Two-Level Temporal Relation Model): the model, its training loss and its per-frame computation.

Feature level: a ResFuser adds to every FPN level of frame t+1 a residual of
frame t's and t+1's features (:mod:`.resfuser`). Object level: RoI features of
the objects of two frames are encoded to latents and related by a fully
connected GNN whose edge scores drive the association (:mod:`.relation`,
:mod:`.association`). Base detector: CenterMask (:mod:`.centermask`).

Training (one stage, frame pairs ``(t, t+1)`` of the training videos with the
engine's ``train.gap``): loss = FCOS (class, box, centre-ness; both frames) +
SAG-Mask (both frames) + edge BCE + transition term. Frame t is fused with
itself (as the first frame of a video is at inference), frame t+1 with frame t.
Graph nodes: the ground-truth objects of frame t (RoIs at their boxes) and, in
frame t+1, the detector's proposals plus the ground-truth boxes (so every object
seen in both frames has a positive edge even while the detector is weak); a
proposal belongs to the object it overlaps most with box IoU >= 0.5. Choices
where the paper is silent are documented in each module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import box_iou

from vistool.methods.base import Session, VisModel
from vistool.methods.tltm.centermask import CenterMask, mask_training_rois
from vistool.methods.tltm.config import Config
from vistool.methods.tltm.relation import ObjectEncoder, ObjectGraph, transition_loss
from vistool.methods.tltm.resfuser import ResFuser
from vistool.models.backbone import build_backbone
from vistool.methods.tltm.outputs import FramePerception
from vistool.models.heads.fcos_head import BoxDetections, fcos_loss
from vistool.models.heads.sag_mask import sag_mask_loss
from vistool.models.targets import ImageTargets, frame_targets
from vistool.models.transform import FrameTransform
from vistool.structures import ClipBatch, ClipSample, VideoInfo


class Model(VisModel):
    """TLTM: backbone + FPN, ResFuser, CenterMask, object encoder and GNN."""

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        num_classes = len(self.categories)
        self.transform = FrameTransform(config.transform)
        self.backbone = build_backbone(config.backbone)
        width = self.backbone.out_channels
        self.fuser = ResFuser(config.detector.levels, width) if config.resfuser else None
        m, rel = config.mask, config.relation
        self.detector = CenterMask(self.backbone, config.detector, m.roi_size, m.channels, m.convs, num_classes)
        self.encoder = ObjectEncoder(width, rel.encoder_channels, m.roi_size, rel.latent_dim, rel.hidden_dim)
        self.graph = ObjectGraph(rel.latent_dim, rel.hidden_dim)

    train_clip_len = 2  # frame pairs (reference, target)

    # ------------------------------------------------------------ shared computation
    def fuse(self, previous: dict[str, Tensor], current: dict[str, Tensor]) -> dict[str, Tensor]:
        """Eq. 1 on every detector level (identity without a ResFuser)."""
        return current if self.fuser is None else self.fuser(previous, current)

    def perceive(self, fused: dict[str, Tensor], image_sizes: list[tuple[int, int]], padded: tuple[int, int]
                 ) -> list[FramePerception]:
        """Detections, masks and latents of B frames from their fused FPN levels."""
        dets = self.detector.head.detect(self.detector.head(fused), image_sizes)
        dets = [_above(d, self.config.detection_threshold) for d in dets]
        pooled = self.detector.pool(fused, [d.boxes for d in dets], padded)
        labels = torch.cat([d.labels for d in dets]) if dets else torch.zeros(0, dtype=torch.int64)
        masks = self.detector.mask_probs(pooled, labels)
        latents = self.encoder(pooled) if len(pooled) else pooled.new_zeros((0, self.config.relation.latent_dim))
        out, start = [], 0
        for d in dets:
            end = start + len(d)
            out.append(FramePerception(d, masks[start:end], latents[start:end]))
            start = end
        return out

    def edge_probs(self, track_latents: Tensor, latents: Tensor) -> Tensor:
        """(T, D) track latents and (N, D) detection latents -> (T, N) edge scores."""
        if len(track_latents) == 0 or len(latents) == 0:
            return latents.new_zeros((len(track_latents), len(latents)))
        return torch.sigmoid(self.graph(track_latents, latents)[0])

    # ------------------------------------------------------------ training
    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """FCOS + SAG-Mask on both frames of every pair, edge BCE and transition term."""
        bsz, length = batch.images.shape[:2]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))
        padded = (int(images.shape[-2]), int(images.shape[-1]))
        raw = {k: v.unflatten(0, (bsz, length)) for k, v in self.backbone(images).items()}
        first = {k: v[:, 0] for k, v in raw.items()}
        second = {k: v[:, 1] for k, v in raw.items()}
        fused = [self.fuse(first, first), self.fuse(first, second)]
        both = {k: torch.cat([fused[0][k], fused[1][k]]) for k in fused[0]}  # frame 0 of all clips, then frame 1
        out = self.detector.head(both)
        targets = [frame_targets(s, t).image_targets() for t in range(2) for s in batch.samples]
        losses = fcos_loss(out, targets, self.config.detector)
        size = tuple(batch.images.shape[-2:])
        with torch.no_grad():
            dets = self.detector.head.detect(out, [size] * len(targets))
        losses["mask"] = self.config.mask.weight * self._mask_loss(both, dets, targets, padded)
        edge, transition = self._relation_loss(fused, dets[bsz:], batch.samples, padded)
        losses["edge"] = self.config.relation.edge_weight * edge
        losses["transition"] = self.config.relation.transition_weight * transition
        return losses

    def _mask_loss(self, feats: dict[str, Tensor], dets: list[BoxDetections], targets: list[ImageTargets],
                   padded: tuple[int, int]) -> Tensor:
        rois = [mask_training_rois(d, t, self.config.mask.max_rois) for d, t in zip(dets, targets)]
        pooled = self.detector.pool(feats, [r.boxes for r in rois], padded)
        logits = self.detector.mask_head(pooled)
        return sag_mask_loss(logits, torch.cat([r.labels for r in rois]), _cat_masks([r.masks for r in rois]),
                             torch.cat([r.boxes for r in rois]))

    def _relation_loss(self, fused: list[dict[str, Tensor]], proposals: list[BoxDetections],
                       samples: list[ClipSample], padded: tuple[int, int]) -> tuple[Tensor, Tensor]:
        rel = self.config.relation
        edges, transitions = [], []
        for b, sample in enumerate(samples):
            here = sample.present[:, 0].nonzero().flatten()
            nxt = sample.present[:, 1].nonzero().flatten()
            if len(here) == 0 or len(nxt) == 0:
                continue
            gt_next = sample.boxes[nxt, 1].float()
            boxes_next = torch.cat([gt_next, proposals[b].boxes[: rel.max_proposals].detach()])
            owner = _owners(boxes_next, gt_next, nxt, rel.proposal_iou)  # (N,) instance index or -1
            level = {k: v[b:b + 1] for k, v in fused[0].items()}
            level_next = {k: v[b:b + 1] for k, v in fused[1].items()}
            z_t = self.encoder(self.detector.pool(level, [sample.boxes[here, 0].float()], padded))
            z_n = self.encoder(self.detector.pool(level_next, [boxes_next], padded))
            logits, dz = self.graph(z_t, z_n)
            target = (here[:, None] == owner[None, :]).to(logits.dtype)
            edges.append(F.binary_cross_entropy_with_logits(logits, target))
            pairs = (here[:, None] == nxt[None, :]).nonzero()  # (i in frame t, j among the gt nodes of t+1)
            transitions.append(transition_loss(z_t, dz, z_n, pairs))
        if not edges:
            # a pair without objects in both frames: zero, with every relation parameter in the graph (DDP)
            zero = sum(p.sum() for m in (self.encoder, self.graph) for p in m.parameters()) * 0.0
            return zero, zero
        return torch.stack(edges).mean(), torch.stack(transitions).mean()

    # ------------------------------------------------------------ inference
    def new_session(self, info: VideoInfo) -> Session:
        """Online tracking, frame pairs, with the configured association."""
        from vistool.methods.tltm.session import TLTMSession

        return TLTMSession(self, track=True)

    def new_frame_session(self, info: VideoInfo) -> Session:
        """``vistool segment``: CenterMask's instances of every frame (ResFuser features), no ids."""
        from vistool.methods.tltm.session import TLTMSession

        return TLTMSession(self, track=False)


def _above(dets: BoxDetections, threshold: float) -> BoxDetections:
    keep = dets.scores >= threshold
    return BoxDetections(dets.boxes[keep], dets.scores[keep], dets.class_probs[keep], dets.labels[keep])


def _owners(boxes: Tensor, gt_boxes: Tensor, gt_index: Tensor, threshold: float) -> Tensor:
    """(N,) the instance (an entry of ``gt_index``) each box overlaps most with IoU >= threshold, else -1."""
    overlap, best = box_iou(boxes, gt_boxes).max(1)
    return torch.where(overlap >= threshold, gt_index[best], torch.full_like(best, -1))


def _cat_masks(masks: list[Tensor]) -> Tensor:
    """Concatenate per-image (K_i, H, W) masks of one padded batch size."""
    return torch.cat(masks) if masks else torch.zeros(0, 1, 1, dtype=torch.bool)
