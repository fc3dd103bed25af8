"""Online inference of RGNNVIS: one frame per step, the track memory carried between steps.

The session holds the per-video state (memory, ids, per-track class history);
the computation of a frame is :meth:`Model.track_frame`.

Per frame (Section 5.4 of the digest): detections, graph over the memory and
the empty track, GNN, association (>= 0.31), initialisation (>= 0.31),
appearance and LSTM updates, class scores, mask reweighting and per-pixel
argmax into non-overlapping masks, returned at the original resolution. The
paper does not say at which resolution the argmax runs; here it runs at the
frame's, on the tracks' reweighted logits resampled bilinearly from the mask
grid, so that track boundaries do not follow the grid.

Video-level decision (:meth:`RGNNVISSession.finish`, the shared rule
:func:`vistool.tracking.summaries.majority_vote`): the category is the one
most often predicted for the track (the paper's rule, after Yang et al.
2019) over the frames where the track had pixels; ties go to the larger summed
probability. The per-frame probabilities are the track score head's softmax
without background (the paper), with ``track_class: detections`` the class
confidences of the detection the track holds in that frame, and with
``detections_fg`` those confidences times the head's foreground probability
(1 - background), which ranks tracks the head takes for background lower. The paper does
not give the score; ours is the mean, over those frames, of the track's
probability of that category (so both a confident object and a consistent
class are needed for a high score), times ``(P / F) ** presence_power`` for a
track with pixels in P of the video's F frames: short tracks are more often
false positives or fragments of a longer one, and ranking them lower raised
AP on a tuning split (``presence_power`` 0 turns this off). The same product
for every category is the track's ``class_scores``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import torch
from torch import Tensor
from torchvision.ops import masks_to_boxes

from vistool.methods.base import OnlineSession, VisModel
from vistool.methods.rgnnvis.outputs import FrameStep, Perception
from vistool.methods.rgnnvis.track_manager import TrackState
from vistool.methods.rgnnvis.tracker import FrameOutput, label_map
from vistool.models.detections import Detections
from vistool.models.transform import ImageMeta
from vistool.structures import Clip, FrameInstances, TrackSummary, VideoInfo
from vistool.tracking.summaries import majority_vote


class RGNNVISSession(OnlineSession):
    """Per-video state: the track memory, id counter and per-track class history."""

    def __init__(self, model: VisModel, info: VideoInfo):
        super().__init__()
        self.model, self.info = model, info
        self.state: TrackState | None = None
        self.history: dict[int, list[Tensor]] = defaultdict(list)  # track id -> per-frame (C,) probabilities

    clip_len = 8  # frames perceived in one batched forward; the tracker still steps frame by frame

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """Every frame of ``clip`` in order: backbone + detector over the whole clip at once (each frame
        independently, so the method stays causal), then one tracker step per frame."""
        n = len(clip)
        if n == 1:
            return super().step(clip)
        perc, meta = self.model.perceive_clip(clip.images)
        out = []
        for t in range(n):
            self.frames += 1
            index = torch.tensor([t], device=perc.x.device)
            one = Perception(perc.dets.take(index), perc.x[t:t + 1], perc.scene[t:t + 1], perc.input_size)
            step = self._commit(self.model.step_tracker(self.state, one, meta))
            out.append(self._instances(step.out, step.perc.dets, self.state.track_id[0], step.meta,
                                       clip.frame_indices[t]))
        return out

    def frame(self, image: Tensor, index: int) -> FrameInstances:
        """Track one frame; its instances carry track ids."""
        step = self.advance(image)
        return self._instances(step.out, step.perc.dets, self.state.track_id[0], step.meta, index)

    def advance(self, image: Tensor) -> FrameStep:
        """Step the track memory with one (1, H, W, 3) uint8 frame; new tracks get ids."""
        return self._commit(self.model.track_frame(self.state, image))

    def _commit(self, step: FrameStep) -> FrameStep:
        """Take the memory after ``step``; its new tracks get ids."""
        new = (step.out.alive & ~step.out.alive_before)[0]
        ids = step.after.track_id.clone()
        for slot in new.nonzero().flatten().tolist():
            ids[0, slot] = self.ids.new()
        self.state = replace(step.after, track_id=ids)
        return step

    def _class_probs(self, out: FrameOutput, dets: Detections, slots: Tensor) -> Tensor:
        """(S,) slots with pixels -> (S, C) class probabilities from the configured source."""
        source = self.model.config.track_class
        if source == "head":
            return torch.softmax(out.class_logits[0, slots], dim=-1)[:, :-1]  # background dropped
        held = dets.class_probs[0, out.det_of_track[0, slots]]  # (S, C) of the detection each slot holds
        if source == "detections":
            return held
        background = torch.softmax(out.class_logits[0, slots], dim=-1)[:, -1:]  # (S, 1), background last
        return held * (1.0 - background)  # detections_fg

    def _instances(self, out: FrameOutput, dets: Detections, ids: Tensor, meta: ImageMeta, index: int
                   ) -> FrameInstances:
        """Non-overlapping track masks of one frame at the original resolution."""
        slots = (out.det_of_track[0] >= 0).nonzero().flatten()  # tracks holding a detection (others: no pixels)
        if len(slots) == 0:
            return FrameInstances.empty(index, meta.original_size)
        # per-pixel argmax at the output resolution: logits are resampled, not the binary masks
        logits = self.model.transform.full_maps_to_original(out.seg_logits[0, slots], meta)  # (S, H, W)
        owner = label_map(logits[None])[0]  # (H, W)
        masks = owner[None] == torch.arange(1, len(slots) + 1, device=owner.device)[:, None, None]  # disjoint
        keep = masks.flatten(1).any(1)
        slots, masks = slots[keep], masks[keep]
        probs = self._class_probs(out, dets, slots)  # (N, C)
        scores, labels = probs.max(dim=1) if probs.shape[1] else (probs.new_zeros(len(slots)),
                                                                    torch.zeros(len(slots), dtype=torch.int64))
        boxes = masks_to_boxes(masks).float() if len(masks) else torch.zeros((0, 4))
        boxes[:, 2:] += 1.0
        track_ids = ids[slots].cpu()
        for tid, p in zip(track_ids.tolist(), probs.cpu()):
            self.history[tid].append(p)
        return FrameInstances(index, meta.original_size, boxes.cpu(), masks.cpu(), scores.cpu(), labels.cpu(),
                              track_ids, probs.cpu())

    def finish(self) -> dict[int, TrackSummary]:
        """Every track that had pixels: its most frequent category and presence-weighted mean probability."""
        power = self.model.config.presence_power
        return {tid: majority_vote(torch.stack(rows), self.frames, power) for tid, rows in self.history.items()}


class DetectorSession(OnlineSession):
    """Per-frame instances of the detector alone (``vistool segment``): confidence >= the detector's
    threshold, NMS, at most ``max_detections`` per frame; masks cropped to their boxes, may overlap."""

    def __init__(self, model: VisModel):
        super().__init__()
        self.model = model

    def frame(self, image: Tensor, index: int) -> FrameInstances:
        """The detections of one frame, without track ids."""
        model = self.model
        dets, meta = model.detect_frame(image)
        n = int(dets.valid[0].sum())
        masks = model.transform.full_masks_to_original(dets.soft_masks()[0, :n], meta)  # (n, H, W)
        boxes = model.transform.boxes_to_original(dets.boxes[0, :n], meta)
        return FrameInstances(index, meta.original_size, boxes.cpu(), masks.cpu(), dets.scores[0, :n].cpu(),
                              dets.labels[0, :n].cpu(), None, dets.class_probs[0, :n].cpu())

    def finish(self) -> dict[int, TrackSummary]:
        """No tracks."""
        return {}
