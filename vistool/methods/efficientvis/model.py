"""The EfficientVIS model: backbone + FPN, learned tracklet queries/proposals, M iterations.

Choices where the paper is silent (see also Config):

- Base feature: an FPN on the backbone; RoIs are pooled from P2-P5 by box
  size (torchvision MultiScaleRoIAlign), as in Sparse R-CNN / QueryInst.
- Classification: softmax over K classes + background (DETR / VisTR), so
  -p(class) in Eq. 4 is defined for absent frames too; background weight 0.1.
- Masks are predicted at 2R x 2R inside each iteration's input proposal
  (Mask R-CNN style); targets are the ground truth cropped to that box.
- Deep supervision: every iteration is matched and supervised on its own;
  proposals are detached between iterations (Sparse R-CNN).
- Correspondence learning: a training sample is ``train_clips`` x T frames
  split into consecutive T-frame clips (the paper: a pair), presented in
  forward or, with probability 1/2, reversed order (the paper randomises the
  pair's order); clip k+1 starts from clip k's final queries averaged over
  time (gradients flow through every hand-off, back to clip 1), all later
  clips reuse clip 1's final assignment for all their iterations (a slot
  keeps its object), and the clip losses are averaged. Every instance of the
  sample is a matching target in clip 1, also when absent from all its
  frames (its query is then trained to be background there and to pick the
  instance up later, which is what new objects need at inference).
- Training stages: with ``image_stage`` a stage ``image`` on single frames
  (T = 1, no hand-off: the query head trained as an image detector, as the
  paper starts from an image detector) precedes the clip stage ``main``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vistool.errors import ConfigError
from vistool.methods.base import VisModel
from vistool.models.backbone import build_backbone
from vistool.models.box_ops import normalized_to_pixels
from vistool.models.layers import MultiLevelRoIAlign
from vistool.models.targets import ClipTargets
from vistool.models.transform import FrameTransform, ImageMeta
from vistool.structures import ClipBatch, VideoInfo

from .config import Config
from .criterion import Criterion
from .network import EfficientVisStage, StageOutput
from .session import EfficientVisSession

ROI_LEVELS = ("p2", "p3", "p4", "p5")
IMAGE, CLIPS = "image", "main"


class Model(VisModel):
    """EfficientVIS (Wu et al., CVPR 2022)."""

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        cfg = config
        self.backbone = build_backbone(cfg.backbone)
        self.transform = FrameTransform(cfg.transform)
        dim = self.backbone.out_channels
        levels = [n for n in self.backbone.channels if n in ROI_LEVELS]
        if not levels:
            raise ConfigError(f"backbone.in_features: EfficientVIS pools RoIs from {ROI_LEVELS}; "
                              f"the FPN gives {list(self.backbone.channels)}")
        pooler = MultiLevelRoIAlign(levels, cfg.roi_size, sampling_ratio=cfg.roi_sampling)
        self.init_queries = nn.Embedding(cfg.num_queries, dim)  # q*, one embedding per slot
        self.init_boxes = nn.Parameter(torch.tensor([[0.5, 0.5, 1.0, 1.0]]).repeat(cfg.num_queries, 1))
        self.stages = nn.ModuleList(EfficientVisStage(dim, len(categories), cfg, pooler)
                                    for _ in range(cfg.num_stages))
        self.criterion = Criterion(len(categories), cfg.loss)
        if cfg.train_clips < 1:
            raise ConfigError(f"train_clips must be >= 1, got {cfg.train_clips}")
        self.stage = CLIPS

    @property
    def clip_len(self) -> int:
        return self.config.clip_len

    def training_stages(self) -> list[str]:
        """``image`` (single frames) then ``main`` (consecutive clips) with ``image_stage``, else ``main``."""
        return [IMAGE, CLIPS] if self.config.image_stage else [CLIPS]

    def set_training_stage(self, name: str) -> None:
        super().set_training_stage(name)
        self.stage = name

    def stage_clip_len(self, name: str) -> int:
        """1 frame in stage ``image``; ``train_clips`` x T with correspondence learning, else T."""
        if name == IMAGE:
            return 1
        cfg = self.config
        return cfg.train_clips * cfg.clip_len if cfg.correspondence else cfg.clip_len

    # ------------------------------------------------------------------ forward

    def features(self, images: Tensor) -> dict[str, Tensor]:
        """(B, L, 3, H, W) normalised frames -> FPN level -> (B, L, C, h, w), frame by frame."""
        b, length = images.shape[:2]
        feats = self.backbone(images.flatten(0, 1))
        return {k: v.reshape(b, length, *v.shape[1:]) for k, v in feats.items()}

    def decode(self, feats: dict[str, Tensor], image_size: tuple[int, int], padded_size: tuple[int, int],
               queries: Tensor | None = None) -> list[StageOutput]:
        """Run the M iterations on one clip.

        Args:
            feats: FPN level -> (B, T, C, h, w).
            image_size: (h, w) of the frame content; initial proposals cover it.
            padded_size: (Hp, Wp) of the network input.
            queries: (B, N, C) initial queries (hand-off), or None for the learned q*.

        Returns:
            One StageOutput per iteration.
        """
        first = next(iter(feats.values()))
        b, t = first.shape[:2]
        if queries is None:
            queries = self.init_queries.weight[None].expand(b, -1, -1)
        q = queries[:, :, None].expand(-1, -1, t, -1)  # repeat each q* T times
        boxes = normalized_to_pixels(self.init_boxes, image_size)[None, :, None].expand(b, -1, t, -1)
        flat = {k: v.flatten(0, 1) for k, v in feats.items() if k in ROI_LEVELS}
        outs = []
        for stage in self.stages:
            out = stage(q, boxes, flat, padded_size)
            outs.append(out)
            q, boxes = out.queries, out.boxes.detach()
        return outs

    @staticmethod
    def hand_off(queries: Tensor, frames: int | None = None) -> Tensor:
        """Initial queries of the next clip: (B, N, T, C) output queries averaged over the first ``frames``."""
        return queries[:, :, :frames].mean(2)

    def initial_queries(self) -> Tensor:
        """(N, C) the learned queries q*, detached (a session's fresh or recycled slots)."""
        return self.init_queries.weight.detach()

    @torch.no_grad()
    def run_clip(self, images: Tensor, queries: Tensor | None) -> tuple[StageOutput, ImageMeta, Tensor]:
        """Inference on one clip of at most T frames.

        A shorter (last) clip is padded to T by repeating its last frame; the hand-off averages
        over its real frames only.

        Args:
            images: (T', H, W, 3) uint8 frames, T' <= T.
            queries: (N, C) queries handed from the previous clip, or None for the first.

        Returns:
            the final iteration's StageOutput (T frames), the resize metadata, and the (N, C)
            queries for the next clip.
        """
        real = images.shape[0]
        if real < self.clip_len:
            pad = images[-1:].expand(self.clip_len - real, -1, -1, -1)
            images = torch.cat([images, pad])
        device = next(self.parameters()).device
        x, meta = self.transform.preprocess(images.to(device))
        initial = None if queries is None else queries[None]
        out = self.decode(self.features(x[None]), meta.image_size, meta.padded_size, initial)[-1]
        return out, meta, self.hand_off(out.queries, real)[0].detach().clone()

    # ------------------------------------------------------------------ training

    def clip_slices(self, length: int) -> list[slice]:
        """Consecutive T-frame clips of a ``length``-frame sample, in training order (maybe reversed)."""
        t = min(length, self.config.clip_len)
        if self.stage == IMAGE or not self.config.correspondence or length < 2 * t:
            return [slice(0, t)]
        clips = [slice(k * t, (k + 1) * t) for k in range(min(length // t, self.config.train_clips))]
        if torch.rand(()) < 0.5:  # the order of the clips is randomised (forward or backward in time)
            clips.reverse()
        return clips

    def clip_losses(self, batch: ClipBatch) -> list[dict[str, Tensor]]:
        """Loss terms of each clip of the sample, in order; clip k+1 starts from clip k's queries."""
        images = self.transform.prepare_batch(batch.images)
        size = tuple(batch.images.shape[-2:])
        padded = tuple(images.shape[-2:])
        feats = self.features(images)
        out_terms, queries, assignment = [], None, None
        for frames in self.clip_slices(images.shape[1]):
            clip_feats = {k: v[:, frames] for k, v in feats.items()}
            outs = self.decode(clip_feats, size, padded, queries)
            targets = [ClipTargets.from_sample(s, frames) for s in batch.samples]
            terms, assignment = self.criterion(outs, targets, size, assignment)
            out_terms.append(terms)
            queries = self.hand_off(outs[-1].queries)
        return out_terms

    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """Clip loss (Eq. 5) with deep supervision, averaged over the sample's consecutive clips."""
        per_clip = self.clip_losses(batch)
        return {k: sum(t[k] for t in per_clip) / len(per_clip) for k in per_clip[0]}

    # ------------------------------------------------------------------ inference

    def new_session(self, info: VideoInfo) -> EfficientVisSession:
        """Clip-by-clip inference state for one video."""
        return EfficientVisSession(self, info)
