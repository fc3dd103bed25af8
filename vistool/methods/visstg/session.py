"""Online inference of VisSTG: consecutive frame pairs, the first frame detection-only.

The backbone runs over a clip of frames in one batched forward (each frame on
its own); then frame by frame: the graphs between the reference instances (the
previous frame's plus the remembered ones) and the frame's pixels fuse the FPN
levels; CenterNet detects; CondInst segments with the filters propagated from
the previous frame; the edges give identities (:mod:`.tracker`). The memory
keeps an unmatched instance's identity, node vectors, last position and the
CondInst filters at its centre cell; as the paper says, a remembered instance
joins the next graph as a reference node and its filters replace those of the
reference frame's filter map at the cell where it was last seen, before the
map is warped into the new frame.

Video-level decision (the paper gives none; the shared rule of
:func:`vistool.tracking.summaries.majority_vote`, as MaskTrack R-CNN): the most
frequent per-frame category of the track's detections, scored by the mean
confidence of that category, times ``(frames with the track / video frames) ** presence_power``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import torch
from torch import Tensor

from vistool.methods.base import VisModel
from vistool.methods.visstg.tracker import RefInstance, carry_memory, match_by_edges
from vistool.models.heads.centernet import CenterDetections, decode
from vistool.models.transform import ImageMeta
from vistool.structures import Clip, FrameInstances, TrackSummary
from vistool.tracking.ids import TrackIds
from vistool.tracking.summaries import majority_vote


class VisSTGSession:
    """Per-video state: reference instances (with the memory), the previous frame's output, ids, history."""

    clip_len = 8  # frames through the backbone in one batched forward

    def __init__(self, model: VisModel, track: bool = True):
        self.model, self.track = model, track
        self.ids = TrackIds()
        self.refs: list[RefInstance] = []
        self.previous = None
        self.previous_raw: dict[str, Tensor] | None = None
        self.frames = 0
        self.history: dict[int, list[Tensor]] = defaultdict(list)

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """Every frame of ``clip`` in order; one FrameInstances each."""
        images, meta = self.model.transform.preprocess(clip.images)
        raw = self.model.backbone(images)
        out = []
        for t in range(len(clip)):
            self.frames += 1
            out.append(self._frame({k: v[t:t + 1] for k, v in raw.items()}, meta, clip.frame_indices[t]))
        return out

    def _frame(self, levels: dict[str, Tensor], meta: ImageMeta, index: int) -> FrameInstances:
        model, cfg = self.model, self.model.config
        graphs = None
        if self.refs:
            nodes = torch.stack([r.nodes for r in self.refs])
            centres = torch.stack([r.centre for r in self.refs])
            fused, graphs = model.fuse(levels, nodes, centres)
            output = model.frame_output(fused, self.with_memory(self.previous), self.previous_raw)
        else:
            output = model.frame_output(levels)
        dets = decode(output.heads, model.strides, cfg.detector, meta.image_size)
        centres = (dets.boxes[:, :2] + dets.boxes[:, 2:]) / 2
        logits = model.masks_at(output, 0, dets.levels, dets.ys, dets.xs, centres)
        ids = self._associate(dets, graphs, levels, output) if self.track else None
        if not self.track:
            self._remember_all(dets, levels, output)
        self.previous, self.previous_raw = output, levels
        return self._instances(dets, logits, ids, meta, index)

    def with_memory(self, previous):
        """The previous frame's ``FrameOutput`` with every remembered instance's filters at its last centre cell."""
        remembered = [r for r in self.refs if r.age > 0 and r.filters.numel()]
        if not remembered:
            return previous
        filters = [f.clone() for f in previous.filters]
        for r in remembered:
            filters[r.level][0, :, r.cell[0], r.cell[1]] = r.filters
        return replace(previous, filters=filters)

    def _edge_scores(self, dets: CenterDetections, graphs) -> Tensor:
        """(M, N) score of the edge from every reference instance to every detection's centre cell."""
        scores = torch.full((len(self.refs), len(dets)), -float("inf"))
        if graphs is None:
            return scores
        for i, g in enumerate(graphs):
            w = g.fused.shape[-1]
            for n in (dets.levels == i).nonzero().flatten().tolist():
                hit = g.pix == int(dets.ys[n]) * w + int(dets.xs[n])
                scores[g.inst[hit].cpu(), n] = torch.sigmoid(g.logits[hit]).cpu()
        return scores

    def _associate(self, dets: CenterDetections, graphs, levels: dict[str, Tensor], output) -> Tensor:
        tcfg = self.model.config.tracking
        ref_labels = torch.tensor([r.label for r in self.refs], dtype=torch.int64)
        match = match_by_edges(self._edge_scores(dets, graphs), ref_labels, dets.labels.cpu(), tcfg.edge_threshold)
        ids = torch.tensor([self.refs[m].track_id if m >= 0 else self.ids.new() for m in match.tolist()],
                           dtype=torch.int64)
        kept = carry_memory(self.refs, set(match[match >= 0].tolist()), tcfg.memory_frames)
        self.refs = self._new_refs(dets, ids, levels, output) + kept
        return ids

    def _remember_all(self, dets: CenterDetections, levels: dict[str, Tensor], output) -> None:
        """Without tracking the graph still reads the previous frame's detections."""
        self.refs = self._new_refs(dets, torch.zeros(len(dets), dtype=torch.int64), levels, output)

    def _new_refs(self, dets: CenterDetections, ids: Tensor, levels: dict[str, Tensor], output) -> list[RefInstance]:
        if len(dets) == 0:
            return []
        nodes = self.model.instance_nodes(levels, dets.boxes)
        centres = (dets.boxes[:, :2] + dets.boxes[:, 2:]) / 2
        refs = []
        for n in range(len(dets)):
            level, y, x = int(dets.levels[n]), int(dets.ys[n]), int(dets.xs[n])
            refs.append(RefInstance(int(ids[n]), int(dets.labels[n]), nodes[n], output.filters[level][0, :, y, x],
                                    centres[n], dets.boxes[n], level=level, cell=(y, x)))
        return refs

    def _instances(self, dets: CenterDetections, logits: Tensor, ids: Tensor | None, meta: ImageMeta,
                   index: int) -> FrameInstances:
        transform = self.model.transform
        masks = transform.full_masks_to_original(torch.sigmoid(logits), meta, self.model.config.mask_threshold)
        boxes = transform.boxes_to_original(dets.boxes, meta)
        if ids is not None:
            for tid, probs in zip(ids.tolist(), dets.class_probs.cpu()):
                self.history[tid].append(probs)
        return FrameInstances(index, meta.original_size, boxes.cpu(), masks.cpu(), dets.scores.cpu(),
                              dets.labels.cpu(), ids, dets.class_probs.cpu())

    def finish(self) -> dict[int, TrackSummary]:
        """Every track: its most frequent category and mean confidence (x presence)."""
        power = self.model.config.presence_power
        return {tid: majority_vote(torch.stack(rows), self.frames, power) for tid, rows in self.history.items()}
