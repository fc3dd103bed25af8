"""RGNNVIS++ (Johnander et al., IJCV 2022 extension): the model, its Config and its training stages.

A frozen one-stage instance segmenter gives detections in every frame; a
recurrent graph neural network over the track memory and the detections
associates, initialises, scores and segments tracks (see the modules of this
package). Training has two stages (Appendix A): ``detector`` on single frames
(clip length 1) and ``tracker`` on clips of ``clip_len`` contiguous frames with
the backbone and detector frozen (batch statistics included).

Choices where the paper is silent or where this implementation differs (each
is detailed in the module named):
- Detector: prototype x coefficient masks as YOLACT, but an anchor-free
  FCOS-style box/class head with sigmoid class scores and class-agnostic NMS
  (``models/heads/yolact.py``); confidence ``sqrt(class * centre-ness)``.
- Detection embedding: normalised xyxy box, C class confidences and
  ``1 - max`` as the background entry (``tracker.py``).
- Empty track: learned initial embedding, recurrent, own weights in every GNN
  block, e_0n = [0, log-likelihood under the scene model] (``graph.py``).
- Appearance: per-dimension mean log-likelihood clamped to [-50, 50]; sigmoid
  rates, softplus variances, initial sigma^2 = 1 (``appearance.py``).
- Tracks are never deleted; inactive tracks keep their box and appearance and
  are resumed by a later match (``track_manager.py``).
- Identity assignment: greedy in decreasing IoU (``identity.py``).
- Video-level output: most frequent class; score = mean probability of that
  class over the frames where the track had pixels (``session.py``). The
  per-frame class probabilities come from the track score head (the paper)
  or, with ``track_class: detections``, from the class confidences of the
  track's detection in that frame (the mechanism of Yang et al. 2019 that
  the paper compares its score head against), or with ``track_class:
  detections_fg`` from those confidences times the score head's foreground
  probability: the detector names the class, the track manager says whether
  the track is an object at all (the paper's reason for its background class).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vistool.errors import MethodError
from vistool.methods.base import Session, VisModel
from vistool.methods.rgnnvis.appearance import AppearanceNet
from vistool.methods.rgnnvis.config import Config
from vistool.methods.rgnnvis.detector import YolactDetector
from vistool.methods.rgnnvis.losses import tracker_loss
from vistool.methods.rgnnvis.outputs import ClipRun, FrameStep, Perception
from vistool.methods.rgnnvis.session import DetectorSession, RGNNVISSession
from vistool.methods.rgnnvis.track_manager import TrackState
from vistool.methods.rgnnvis.tracker import RecurrentTracker
from vistool.models.backbone import build_backbone
from vistool.models.detections import Detections
from vistool.models.targets import frame_targets, padding_mask
from vistool.models.transform import FrameTransform, ImageMeta
from vistool.structures import ClipBatch, VideoInfo

STAGES = ("detector", "tracker")


class Model(VisModel):
    """RGNNVIS++ model: backbone, YOLACT-style detector, appearance network, recurrent GNN tracker."""

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        if len(config.appearance_features) != 2:
            raise MethodError("rgnnvis appearance_features: give exactly two backbone stages, e.g. [c4, c5]")
        num_classes = len(self.categories)
        self.transform = FrameTransform(config.transform)
        self.backbone = build_backbone(config.backbone, extra_features=tuple(config.appearance_features))
        self.detector = YolactDetector(self.backbone, config.detector, num_classes)
        c4, c5 = config.appearance_features
        self.appearance = AppearanceNet((self.backbone.stage_channels[c4], self.backbone.stage_channels[c5]),
                                        config.tracker.appearance_dim, config.tracker.positional)
        self.tracker = RecurrentTracker(config.tracker, num_classes, self.appearance.out_dim)
        self.feature_dropout = nn.Dropout2d(config.feature_dropout)
        self._fixed = {n for n, p in self.named_parameters() if not p.requires_grad}  # frozen by the config
        self.stage = "detector"

    # ------------------------------------------------------------ training stages
    def training_stages(self) -> list[str]:
        return list(STAGES)

    def stage_clip_len(self, name: str) -> int:
        """1 for the detector (single frames), ``clip_len`` for the tracker."""
        if name not in STAGES:
            raise MethodError(f"unknown training stage '{name}'; stages: {list(STAGES)}")
        return 1 if name == "detector" else self.config.clip_len

    def set_training_stage(self, name: str) -> None:
        """``detector``: train backbone + detector; ``tracker``: freeze them (BN statistics too)."""
        super().set_training_stage(name)
        self.stage = name
        perception = {"backbone", "detector"}
        for pname, param in self.named_parameters():
            in_perception = pname.split(".")[0] in perception
            trainable = in_perception if name == "detector" else not in_perception
            param.requires_grad_(trainable and pname not in self._fixed)
        self.train(self.training)

    def train(self, mode: bool = True) -> "Model":
        """As nn.Module.train, but the backbone and detector stay in eval mode in the tracker stage."""
        super().train(mode)
        if self.stage == "tracker":
            self.backbone.eval()
            self.detector.eval()
        return self

    # ------------------------------------------------------------ shared forward
    def perceive(self, images: Tensor, image_size: tuple[int, int], dropout: bool = False) -> Perception:
        """Detections and appearance of F frames.

        Args:
            images: (F, 3, Hp, Wp) normalised, padded frames.
            image_size: (h, w) of the unpadded frames.
            dropout: channel dropout on the backbone features (tracker training).
        """
        frozen = self.stage == "tracker" or not torch.is_grad_enabled()
        with torch.set_grad_enabled(not frozen and torch.is_grad_enabled()):
            feats = self.backbone.stages(images)
        if dropout:
            feats = {k: self.feature_dropout(v) for k, v in feats.items()}
        with torch.no_grad():
            levels = self.backbone.pyramid(feats)
            dets = self.detector.detect(self.detector(levels), [tuple(image_size)] * images.shape[0])
        padded = (int(images.shape[-2]), int(images.shape[-1]))
        pad = padding_mask(images.shape[0], tuple(image_size), padded, dets.mask_stride, images.device)
        c4, c5 = self.config.appearance_features
        x, scene = self.appearance((feats[c4], feats[c5]), dets.soft_masks(), pad)
        return Perception(dets, x, scene, padded)

    # ------------------------------------------------------------ training
    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """Detector loss (stage ``detector``) or the clip loss of Eq. 8 (stage ``tracker``)."""
        if self.stage == "detector":
            return self._detector_loss(batch)
        return tracker_loss(self.run_clip(batch), batch, self.config.loss, self.tracker.num_classes)

    def run_clip(self, batch: ClipBatch) -> ClipRun:
        """The tracker over B clips of L frames, exactly as at inference but with the training
        initialisation threshold; per frame the detections and the tracker's output."""
        bsz, length = batch.images.shape[:2]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))
        perc = self.perceive(images, tuple(batch.images.shape[-2:]), dropout=self.training)
        frames = torch.arange(bsz * length, device=images.device).reshape(bsz, length)
        dim = perc.x.shape[-1]
        x = perc.x.reshape(bsz, length, -1, dim)
        scene = perc.scene.reshape(bsz, length, dim)
        state = self.tracker.initial_state(bsz, scene[:, 0])
        dets, outs = [], []
        for t in range(length):
            dets.append(perc.dets.take(frames[:, t]))
            state, out = self.tracker.step(state, dets[-1], x[:, t], scene[:, t], perc.input_size,
                                           self.config.tracker.train_init_threshold)
            outs.append(out)
        return ClipRun(dets, outs)

    def _detector_loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        b, t = batch.images.shape[:2]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))
        out = self.detector(self.backbone(images))
        targets = [frame_targets(s, i).image_targets() for s in batch.samples for i in range(t)]
        return self.detector.loss(out, targets)

    # ------------------------------------------------------------ inference
    @torch.no_grad()
    def track_frame(self, state: TrackState | None, frame: Tensor) -> FrameStep:
        """One (1, H, W, 3) uint8 frame through the detector and one step of the track manager.

        Args:
            state: the memory after the previous frame, None before the first.
        """
        perc, meta = self.perceive_clip(frame)
        return self.step_tracker(state, perc, meta)

    @torch.no_grad()
    def perceive_clip(self, frames: Tensor) -> tuple[Perception, ImageMeta]:
        """Backbone, detector and appearance of a (T, H, W, 3) uint8 clip in one batched forward.

        Every frame is computed independently of the others (no temporal mixing), so the method stays
        causal: the tracker then steps through the frames one at a time with :meth:`step_tracker`.
        """
        images, meta = self.transform.preprocess(frames)
        return self.perceive(images, meta.image_size), meta

    @torch.no_grad()
    def step_tracker(self, state: TrackState | None, perc: Perception, meta: ImageMeta) -> FrameStep:
        """One step of the track manager on the perception of one frame (B = 1)."""
        if state is None:
            state = self.tracker.initial_state(1, perc.scene)
        after, out = self.tracker.step(state, perc.dets, perc.x, perc.scene, perc.input_size,
                                       self.config.tracker.init_threshold)
        return FrameStep(state, after, out, perc, meta)

    @torch.no_grad()
    def detect_frame(self, frame: Tensor) -> tuple[Detections, ImageMeta]:
        """The detector's post-processed detections of one (1, H, W, 3) uint8 frame."""
        images, meta = self.transform.preprocess(frame)
        return self.detector.detect(self.detector(self.backbone(images)), [meta.image_size]), meta

    def new_session(self, info: VideoInfo) -> Session:
        """Per-video state for online, frame-by-frame tracking (clip_len 1)."""
        return RGNNVISSession(self, info)

    def new_frame_session(self, info: VideoInfo) -> Session:
        """``vistool segment``: the detector's instances of every frame, before the track manager."""
        return DetectorSession(self)
