"""Online inference of InstFlow: intra-frame grouping, then instance-flow assembly frame by frame.

A clip's frames go through the encoder and the intra-frame module in one
batched forward (each frame on its own: the method stays causal). Per frame:
the foreground is where the semantic argmax is not background; centres and
pixel grouping follow Panoptic-DeepLab (:mod:`vistool.models.heads.panoptic_grouping`);
with tracking, the inter-frame decoder runs once per reference frame (batched)
on the encoder features kept in the memory, and :class:`~.assembly.Assembler`
gives identities. Masks are the grouped cells resampled to the frame (a
per-pixel argmax over background and instances, so masks never overlap).

Per frame an instance's class scores are its mean semantic probabilities times
its centre peak (Eq. 6: Score_sem x Score_center); the video-level rule is the
paper's soft majority vote (:func:`vistool.tracking.summaries.soft_vote`), the
score the mean of those per-frame scores of the chosen category.
"""

from __future__ import annotations

from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import masks_to_boxes

from vistool.methods.base import VisModel
from vistool.methods.instflow.assembly import Assembler, ReferenceFrame, instance_flows
from vistool.methods.instflow.config import STRIDE
from vistool.models.heads.panoptic_grouping import Grouping, group_pixels
from vistool.models.transform import ImageMeta
from vistool.structures import Clip, FrameInstances, TrackSummary
from vistool.tracking.ids import TrackIds
from vistool.tracking.summaries import soft_vote


class InstFlowSession:
    """Per-video state: the reference memory, the id counter and per-track class history."""

    clip_len = 8  # frames through the encoder and intra-frame module in one batched forward

    def __init__(self, model: VisModel, track: bool = True):
        a = model.config.assembly
        self.model, self.track = model, track
        self.ids = TrackIds()
        self.assembler = Assembler(a.num_previous, a.use_first, a.max_distance)
        self.frames = 0
        self.history: dict[int, list[Tensor]] = defaultdict(list)

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """Every frame of ``clip`` in order; one FrameInstances each."""
        images, meta = self.model.transform.preprocess(clip.images)
        feats = self.model.encode(images)
        intra = self.model.intra(feats)
        probs = torch.softmax(intra.semantic, dim=1)
        out = []
        for t in range(len(clip)):
            self.frames += 1
            group = self._group(probs[t], intra.center[t], intra.offsets[t], meta)
            frame_feats = {k: v[t:t + 1] for k, v in feats.items()}
            ids = self._assemble(group, intra.offsets[t], frame_feats, clip.frame_indices[t]) if self.track else None
            out.append(self._instances(group, probs[t], ids, meta, clip.frame_indices[t]))
        return out

    def _group(self, probs: Tensor, center: Tensor, offsets: Tensor, meta: ImageMeta) -> Grouping:
        a = self.model.config.assembly
        h, w = center.shape
        valid = torch.zeros((h, w), dtype=torch.bool, device=center.device)
        valid[: -(-meta.image_size[0] // STRIDE), : -(-meta.image_size[1] // STRIDE)] = True
        foreground = (probs.argmax(0) != 0) & valid
        group = group_pixels(foreground, center, offsets, STRIDE, a.center_threshold, a.nms_kernel, a.top_k)
        sizes = torch.bincount(group.ids.flatten(), minlength=len(group) + 1)[1:]
        keep = (sizes >= a.min_pixels).nonzero().flatten()
        relabel = torch.zeros(len(group) + 1, dtype=torch.int64, device=center.device)
        relabel[keep + 1] = torch.arange(1, len(keep) + 1, device=center.device)
        return Grouping(relabel[group.ids], group.centers[keep], group.peaks[keep])

    def _assemble(self, group: Grouping, intra: Tensor, feats: dict[str, Tensor], index: int) -> Tensor:
        refs = self.assembler.references()
        flows = []
        if refs and len(group):
            reference = {k: torch.cat([r.features[k] for r in refs]) for k in feats}
            target = {k: v.expand(len(refs), *v.shape[1:]) for k, v in feats.items()}
            inter = self.model.inter(target, reference)  # (R, 2, h, w)
            samples = self.model.config.assembly.flow_samples
            flows = [instance_flows(group.ids, intra, inter[r], len(group), samples) for r in range(len(refs))]
        ids = self.assembler.assign(group.centers.cpu(), [f.cpu() for f in flows], self.ids.new)
        self.assembler.push(ReferenceFrame(index, group.centers.cpu(), ids, feats))
        return ids

    def _instances(self, group: Grouping, probs: Tensor, ids: Tensor | None, meta: ImageMeta, index: int
                   ) -> FrameInstances:
        n = len(group)
        if n == 0:
            return FrameInstances.empty(index, meta.original_size)
        onehot = F.one_hot(group.ids, n + 1).permute(2, 0, 1).float()  # (n + 1, h, w), channel 0 background
        owner = self.model.transform.full_maps_to_original(onehot, meta).argmax(0)  # (H, W)
        masks = owner[None] == torch.arange(1, n + 1, device=owner.device)[:, None, None]
        cells = onehot[1:].flatten(1)  # (n, h*w)
        class_probs = (cells @ probs[1:].flatten(1).T) / cells.sum(1, keepdim=True).clamp(min=1)  # (n, C)
        class_scores = class_probs * group.peaks[:, None].clamp(max=1.0)
        scores, labels = class_scores.max(1)
        boxes = torch.zeros((n, 4))
        present = masks.flatten(1).any(1)
        if present.any():
            boxes[present] = masks_to_boxes(masks[present]).float().cpu()
            boxes[present, 2:] += 1.0
        if ids is not None:
            for tid, row in zip(ids.tolist(), class_scores.cpu()):
                self.history[tid].append(row)
        return FrameInstances(index, meta.original_size, boxes, masks.cpu(), scores.cpu(), labels.cpu(),
                              ids, class_scores.cpu())

    def finish(self) -> dict[int, TrackSummary]:
        """Every track: soft majority vote."""
        power = self.model.config.presence_power
        return {tid: soft_vote(torch.stack(rows), self.frames, power) for tid, rows in self.history.items()}
