"""Clip-by-clip EfficientVIS inference: queries handed from clip to clip, no data association.

The session holds the per-video state (carried queries, slot ids, idle counts,
track statistics); the computation of a clip is :meth:`Model.run_clip`.

Choices where the paper is silent:

- Hand-off: the next clip's initial queries are the last clip's output
  queries averaged over its (real) frames, as in correspondence training;
  the initial proposals are the learned ones for every clip (paper).
- Last partial clip: padded to T by repeating its last frame (the model only
  ever sees T-frame clips); outputs of padded frames are dropped and the
  hand-off averages over real frames only.
- Slot identities: a slot gets a new track id the first time it emits an
  instance; a slot with no emitted instance in ``reinit_after`` (default 3)
  consecutive clips is re-initialised with its learned query q*_i and its
  next instance starts a new track id.
- Per frame, an instance is emitted when its foreground probability
  1 - p(background) reaches ``frame_threshold`` (0.5). Its label is the
  frame's most likely object class, its score that class's probability.
- Video level (``finish``, the shared rule
  :func:`vistool.tracking.summaries.mean_conditional_class`): the class distribution of a track is the mean,
  over its emitted frames, of p(c) / (1 - p(background)); its label is the
  argmax and its score = that mean probability x the mean foreground
  probability over the same frames; the same product for every class is the
  track's ``class_scores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vistool.methods.base import VisModel
from vistool.structures import Clip, FrameInstances, TrackSummary, VideoInfo
from vistool.tracking.ids import TrackIds
from vistool.tracking.summaries import mean_conditional_class

from .network import StageOutput


@dataclass
class _TrackStats:
    """Running sums of one track's emitted frames."""

    class_sum: Tensor  # (K,) sum of conditional class distributions
    fg_sum: float = 0.0
    frames: int = 0


class EfficientVisSession:
    """Per-video state: carried queries, slot -> track id, idle counters, track statistics."""

    def __init__(self, model: VisModel, info: VideoInfo):
        self.model = model
        self.info = info
        self.clip_len = model.clip_len
        self.cfg = model.config
        n = self.cfg.num_queries
        self.queries: Tensor | None = None  # (N, C) carried queries
        self.slot_ids: list[int | None] = [None] * n
        self.idle = [0] * n
        self.ids = TrackIds()
        self.tracks: dict[int, _TrackStats] = {}

    def _recycle(self) -> None:
        """Re-initialise slots idle for ``reinit_after`` clips (new id at their next instance)."""
        if self.queries is None:
            return
        stale = [i for i, idle in enumerate(self.idle) if idle >= self.cfg.reinit_after]
        if not stale:
            return
        reset = torch.zeros(len(self.idle), dtype=torch.bool, device=self.queries.device)
        reset[stale] = True
        self.queries = torch.where(reset[:, None], self.model.initial_queries(), self.queries)
        for i in stale:
            self.slot_ids[i] = None
            self.idle[i] = 0

    def _update_slots(self, emitted: Tensor) -> None:
        """Give new ids to slots emitting for the first time; count idle clips. emitted: (N, T')."""
        for i, any_frame in enumerate(emitted.any(1).tolist()):
            if any_frame:
                if self.slot_ids[i] is None:
                    self.slot_ids[i] = self.ids.new()
                self.idle[i] = 0
            else:
                self.idle[i] += 1

    def _run(self, clip: Clip):
        """Model outputs of the final iteration for the clip; the queries handed on are kept."""
        self._recycle()
        out, meta, self.queries = self.model.run_clip(clip.images, self.queries)
        return out, meta

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """One FrameInstances per frame of ``clip`` at the original resolution, with track ids."""
        out, meta = self._run(clip)
        real = len(clip)
        probs = out.logits[0, :, :real].float().softmax(-1)  # (N, T', K+1)
        fg = 1 - probs[..., -1]
        emitted = fg >= self.cfg.frame_threshold
        self._update_slots(emitted)
        return [self._frame(out, meta, probs[:, t], fg[:, t], emitted[:, t], t, clip.frame_indices[t])
                for t in range(real)]

    def _frame(self, out: StageOutput, meta, probs: Tensor, fg: Tensor, keep: Tensor, t: int,
               frame_index: int) -> FrameInstances:
        """Instances of frame t. probs: (N, K+1), fg and keep: (N,)."""
        idx = keep.nonzero().flatten()
        if idx.numel() == 0:
            return FrameInstances.empty(frame_index, meta.original_size)
        transform = self.model.transform
        obj = probs[idx, :-1]
        scores, labels = obj.max(1)
        boxes = transform.boxes_to_original(out.boxes[0, idx, t], meta)
        masks = transform.roi_masks_to_original(out.mask_logits[0, idx, t].sigmoid(), out.mask_boxes[0, idx, t],
                                                meta, self.cfg.mask_threshold)
        ids = [self.slot_ids[i] for i in idx.tolist()]
        obj_host, fg_host = obj.cpu(), fg[idx].cpu()  # one copy each, not one per instance
        class_given_fg = obj_host / fg_host.clamp(min=1e-6)[:, None]  # (n, K)
        for j, tid in enumerate(ids):
            stats = self.tracks.setdefault(tid, _TrackStats(torch.zeros(obj.shape[1])))
            stats.class_sum += class_given_fg[j]
            stats.fg_sum += float(fg_host[j])
            stats.frames += 1
        return FrameInstances(frame_index=frame_index, image_size=meta.original_size, boxes=boxes.cpu(),
                              masks=masks.cpu(), scores=scores.cpu(), labels=labels.cpu(),
                              track_ids=torch.tensor(ids, dtype=torch.int64), class_probs=obj_host)

    def finish(self) -> dict[int, TrackSummary]:
        """Video-level label and score of every track (see the module docstring)."""
        return {tid: mean_conditional_class(stats.class_sum, stats.fg_sum, stats.frames)
                for tid, stats in self.tracks.items()}
