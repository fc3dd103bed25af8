"""Online inference of TLTM: frames in order, the previous frame's FPN levels and the track memory carried.

A clip of frames goes through the backbone in one batched forward (every frame
on its own, so the method stays causal); the ResFuser then fuses each frame with
the one before it (the video's first frame with itself), CenterMask detects and
segments, the encoder gives latents, and the association
(:mod:`vistool.methods.tltm.association`, or the IoU baseline of
:mod:`vistool.tracking.iou_tracker`) steps frame by frame.

Video-level decision (the paper gives none; MaskTrack R-CNN's convention, the
shared :func:`vistool.tracking.summaries.majority_vote`): the category most
often predicted for the track's detections, scored by the mean of its
detections' confidences of that category, times ``(frames with the track /
video frames) ** presence_power``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import torch
from torch import Tensor

from vistool.methods.tltm.association import gnn_assign
from vistool.methods.base import VisModel
from vistool.methods.tltm.outputs import FramePerception
from vistool.models.transform import ImageMeta
from vistool.structures import Clip, FrameInstances, TrackSummary
from vistool.tracking.ids import TrackIds
from vistool.tracking.iou_tracker import iou_assign
from vistool.tracking.summaries import majority_vote


@dataclass
class TrackMemory:
    """The tracks seen so far: id, latent, box (network pixels), class and last frame of each.

    Attributes:
        ids: (T,) int64; latents: (T, D); boxes: (T, 4); labels: (T,) int64; last_seen: (T,) int64.
    """

    ids: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))
    latents: Tensor = field(default_factory=lambda: torch.zeros(0, 0))
    boxes: Tensor = field(default_factory=lambda: torch.zeros(0, 4))
    labels: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))
    last_seen: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.int64))

    def update(self, perc: FramePerception, track_of: Tensor, ids: TrackIds, frame: int, max_age: int) -> Tensor:
        """Take the frame's detections: matched tracks move to them, the others start tracks.

        Returns:
            (N,) int64 track id of every detection.
        """
        det_ids = torch.empty(len(track_of), dtype=torch.int64)
        latents = perc.latents.detach().cpu()
        if self.latents.numel() == 0:
            self.latents = latents.new_zeros((0, latents.shape[1]))
        for n, track in enumerate(track_of.tolist()):
            if track < 0:
                det_ids[n] = ids.new()
                self._append(det_ids[n], latents[n], perc.dets.boxes[n].cpu(), perc.dets.labels[n].cpu(), frame)
                continue
            det_ids[n] = self.ids[track]
            self.latents[track], self.boxes[track] = latents[n], perc.dets.boxes[n].cpu()
            self.labels[track], self.last_seen[track] = perc.dets.labels[n].cpu(), frame
        if max_age > 0:
            self._keep(frame - self.last_seen <= max_age)
        return det_ids

    def _append(self, tid: Tensor, latent: Tensor, box: Tensor, label: Tensor, frame: int) -> None:
        self.ids = torch.cat([self.ids, tid.view(1)])
        self.latents = torch.cat([self.latents, latent[None]])
        self.boxes = torch.cat([self.boxes, box.float()[None]])
        self.labels = torch.cat([self.labels, label.view(1)])
        self.last_seen = torch.cat([self.last_seen, torch.tensor([frame])])

    def _keep(self, keep: Tensor) -> None:
        self.ids, self.latents, self.boxes = self.ids[keep], self.latents[keep], self.boxes[keep]
        self.labels, self.last_seen = self.labels[keep], self.last_seen[keep]


class TLTMSession:
    """Per-video state: the previous frame's FPN levels, the track memory and per-track class history.

    Args:
        model: the TLTM model; track: False gives per-frame instances without ids (``vistool segment``).
    """

    clip_len = 8  # frames through the backbone in one batched forward

    def __init__(self, model: VisModel, track: bool = True):
        self.model, self.track = model, track
        self.ids = TrackIds()
        self.memory = TrackMemory()
        self.previous: dict[str, Tensor] | None = None
        self.frames = 0
        self.history: dict[int, list[Tensor]] = defaultdict(list)

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """Every frame of ``clip`` in order; one FrameInstances each."""
        model = self.model
        images, meta = model.transform.preprocess(clip.images)
        raw = model.backbone(images)
        before = self.previous if self.previous is not None else {k: v[:1] for k, v in raw.items()}
        previous = {k: torch.cat([before[k], v[:-1]]) for k, v in raw.items()}
        self.previous = {k: v[-1:] for k, v in raw.items()}
        fused = model.fuse(previous, raw)
        padded = (int(images.shape[-2]), int(images.shape[-1]))
        perceptions = model.perceive(fused, [meta.image_size] * len(clip), padded)
        out = []
        for t, perc in enumerate(perceptions):
            self.frames += 1
            det_ids = self._associate(perc) if self.track else None
            out.append(self._instances(perc, det_ids, meta, clip.frame_indices[t]))
        return out

    def _associate(self, perc: FramePerception) -> Tensor:
        cfg = self.model.config.association
        mem, dets = self.memory, perc.dets
        if cfg.method == "iou":
            track_of = iou_assign(mem.boxes, dets.boxes.cpu(), cfg.iou_threshold)
        else:
            device = perc.latents.device
            edge = self.model.edge_probs(mem.latents.to(device), perc.latents) if len(mem.ids) else None
            track_of = gnn_assign(edge.cpu() if edge is not None else torch.zeros(0, len(dets)), dets.scores.cpu(),
                                  dets.boxes.cpu(), dets.labels.cpu(), mem.boxes, mem.labels, cfg)
        return mem.update(perc, track_of, self.ids, self.frames, cfg.max_age)

    def _instances(self, perc: FramePerception, det_ids: Tensor | None, meta: ImageMeta, index: int
                   ) -> FrameInstances:
        transform, dets = self.model.transform, perc.dets
        masks = transform.roi_masks_to_original(perc.masks, dets.boxes, meta, self.model.config.mask_threshold)
        boxes = transform.boxes_to_original(dets.boxes, meta)
        if det_ids is not None:
            for tid, probs in zip(det_ids.tolist(), dets.class_probs.cpu()):
                self.history[tid].append(probs)
        return FrameInstances(index, meta.original_size, boxes.cpu(), masks.cpu(), dets.scores.cpu(),
                              dets.labels.cpu(), det_ids, dets.class_probs.cpu())

    def finish(self) -> dict[int, TrackSummary]:
        """Every track: its most frequent category and mean confidence (x presence)."""
        power = self.model.config.presence_power
        return {tid: majority_vote(torch.stack(rows), self.frames, power) for tid, rows in self.history.items()}
