"""Instance Flow Assembly (InstFlow): a bottom-up, box-free online VIS model.

Intra-frame module (Panoptic-DeepLab, :mod:`vistool.models.heads.panoptic`):
the encoder (stride 16, dilated last stage) feeds a semantic branch (ASPP +
decoder, multi-scale semantic logits: a head on the stride-4 output plus an
upsampled head on the stride-8 stage) and an instance branch (ASPP + decoder,
class-agnostic centre heat map and offsets to the instance centre). Inter-frame
module: a separate decoder, initialised as a copy of the instance decoder,
whose two skip connections pass Temporal Context Fusion with a reference
frame (:mod:`.tcf`), and an offset head (initialised as the intra offset head)
predicting, for each target pixel, the offset to its instance's centre in the
reference frame. The encoder's features of past frames are kept by the session
(the external memory) and never recomputed.

Training: frame pairs (reference = the first frame, target = the second,
``train.gap`` apart, up to it at random); Eq. 1 with the losses of
:meth:`Model.loss`; targets in :mod:`.targets`. Offsets are in input pixels.
The centre loss is the paper's MSE on the foreground only (no loss on the
background for centres and offsets), averaged with the small-instance weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from vistool.methods.base import Session, VisModel
from vistool.methods.instflow.config import STRIDE, Config
from vistool.methods.instflow.targets import FrameMaps, frame_maps, inter_offsets
from vistool.methods.instflow.tcf import TemporalContextFusion
from vistool.models.backbone import Backbone
from vistool.models.heads.panoptic import Decoder, PredictionHead
from vistool.models.transform import FrameTransform
from vistool.structures import ClipBatch, VideoInfo


@dataclass
class IntraOutput:
    """Intra-frame predictions of B frames at stride 4.

    Attributes:
        semantic: (B, C + 1, h, w) logits (channel 0 background); center: (B, h, w) heat map;
        offsets: (B, 2, h, w) (dx, dy) to the instance centre, input pixels.
    """

    semantic: Tensor
    center: Tensor
    offsets: Tensor


class Model(VisModel):
    """InstFlow: encoder, semantic and instance branches, inter-frame decoder with TCF."""

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        b = config.backbone
        self.transform = FrameTransform(config.transform)
        self.backbone = Backbone(b.name, ("c2", "c3", "c5"), b.norm, b.weights, b.freeze_at, b.dilate_last)
        ch = self.backbone.channels
        deep, skips = ch["c5"], (ch["c3"], ch["c2"])
        self.semantic_decoder = Decoder(config.semantic, deep, skips)
        self.instance_decoder = Decoder(config.instance, deep, skips)
        sem_w, ins_w, hid = config.semantic.channels, config.instance.channels, config.head_channels
        num_classes = len(self.categories) + 1
        self.semantic_head = PredictionHead(sem_w, hid, num_classes)
        self.semantic_head8 = PredictionHead(sem_w, hid, num_classes)
        self.center_head = PredictionHead(ins_w, hid, 1, bias=-2.0)
        self.offset_head = PredictionHead(ins_w, hid, 2)
        self.inter_decoder = copy.deepcopy(self.instance_decoder)
        self.inter_offset_head = copy.deepcopy(self.offset_head)
        self.tcf = torch.nn.ModuleList([TemporalContextFusion(p, config.tcf_dim, key)
                                        for p, key in zip(config.instance.skip_channels, (2, 4))])

    train_clip_len = 2  # frame pairs (reference, target)

    # ------------------------------------------------------------ computation
    def encode(self, images: Tensor) -> dict[str, Tensor]:
        """(B, 3, H, W) normalised -> the encoder stages c2, c3, c5 (what the memory keeps)."""
        return self.backbone(images)

    def intra(self, feats: dict[str, Tensor]) -> IntraOutput:
        """Semantic, centre and offset predictions of the frames of ``feats``."""
        s8, s4 = self.semantic_decoder.decode_levels(feats["c5"], self.semantic_decoder.skips(feats["c3"], feats["c2"]))
        semantic = self.semantic_head(s4) + F.interpolate(self.semantic_head8(s8), size=s4.shape[-2:],
                                                          mode="bilinear", align_corners=False)
        x = self.instance_decoder(feats["c5"], feats["c3"], feats["c2"])
        return IntraOutput(semantic, torch.sigmoid(self.center_head(x))[:, 0], self.offset_head(x))

    def inter(self, target: dict[str, Tensor], reference: dict[str, Tensor]) -> Tensor:
        """(B, 2, h, w) offsets from target pixels to their instance's centre in the reference frame."""
        t8, t4 = self.inter_decoder.skips(target["c3"], target["c2"])
        r8, r4 = self.inter_decoder.skips(reference["c3"], reference["c2"])
        fused = (self.tcf[0](t8, r8), self.tcf[1](t4, r4))
        return self.inter_offset_head(self.inter_decoder.decode(target["c5"], fused))

    # ------------------------------------------------------------ training
    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """Eq. 1 on frame pairs: semantic, centre and intra offsets on both frames, inter offsets and
        shape consistency on the target."""
        bsz = batch.images.shape[0]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))  # (B*2, 3, H, W): ref, target, ...
        feats = self.encode(images)
        out = self.intra(feats)
        size = tuple(out.center.shape[-2:])
        maps = [self._maps(s, t, size) for s in batch.samples for t in range(2)]
        terms = self._intra_losses(out, maps)
        pair = lambda k: {n: v.unflatten(0, (bsz, 2))[:, k] for n, v in feats.items()}  # noqa: E731
        inter = self.inter(pair(1), pair(0))  # (B, 2, h, w)
        inter_terms = self._inter_losses(inter, out.offsets.unflatten(0, (bsz, 2))[:, 1], batch, maps)
        w = self.config.loss
        return {"semantic": w.semantic * terms[0], "center": w.center * terms[1], "intra": w.intra * terms[2],
                "inter": w.inter * inter_terms[0], "shape": w.shape * inter_terms[1]}

    def _maps(self, sample, t: int, size: tuple[int, int]) -> FrameMaps:
        present = sample.present[:, t]
        return frame_maps(sample.masks[present, t], sample.labels[present], size, STRIDE, self.config.loss)

    @staticmethod
    def _intra_losses(out: IntraOutput, maps: list[FrameMaps]) -> tuple[Tensor, Tensor, Tensor]:
        semantic = torch.stack([m.semantic for m in maps])
        weight = torch.stack([m.weight for m in maps])
        norm = weight.sum().clamp(min=1.0)
        sem = F.cross_entropy(out.semantic, semantic)
        center = ((out.center - torch.stack([m.center for m in maps])) ** 2 * weight).sum() / norm
        intra = ((out.offsets - torch.stack([m.offsets for m in maps])).abs().sum(1) * weight).sum() / norm
        return sem, center, intra

    @staticmethod
    def _inter_losses(inter: Tensor, intra_target_pred: Tensor, batch: ClipBatch, maps: list[FrameMaps]
                      ) -> tuple[Tensor, Tensor]:
        l1, shape, norm = inter.sum() * 0.0, inter.sum() * 0.0, 0.0
        for b, sample in enumerate(batch.samples):
            ref, tgt = maps[2 * b], maps[2 * b + 1]
            ids_r, ids_t = sample.instance_ids[sample.present[:, 0]], sample.instance_ids[sample.present[:, 1]]
            target, valid = inter_offsets(tgt, ref, ids_t, ids_r, STRIDE)
            weight = tgt.weight * valid
            l1 = l1 + ((inter[b] - target).abs().sum(0) * weight).sum()
            true_flow, pred_flow = target - tgt.offsets, inter[b] - intra_target_pred[b]
            shape = shape + ((true_flow - pred_flow) ** 2).sum(0).mul(weight).sum()
            norm += float(weight.sum())
        return l1 / max(norm, 1.0), shape / max(norm, 1.0)

    # ------------------------------------------------------------ inference
    def new_session(self, info: VideoInfo) -> Session:
        """Online assembly over the first frame and the previous ones."""
        from vistool.methods.instflow.session import InstFlowSession

        return InstFlowSession(self, track=True)

    def new_frame_session(self, info: VideoInfo) -> Session:
        """``vistool segment``: the intra-frame instances of every frame, no ids."""
        from vistool.methods.instflow.session import InstFlowSession

        return InstFlowSession(self, track=False)
