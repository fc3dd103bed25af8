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

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from vistool.errors import ConfigError, MethodError
from vistool.methods.base import VisModel
from vistool.methods.rgnnvis.appearance import AppearanceNet
from vistool.methods.rgnnvis.detector import YolactDetector, build_backbone, frame_targets, padding_mask
from vistool.methods.rgnnvis.tracker import RecurrentTracker, TrackerConfig
from vistool.models.backbone import BackboneConfig
from vistool.models.heads.yolact import Detections, YolactConfig
from vistool.models.transform import FrameTransform, TransformConfig
from vistool.structures import ClipBatch, Session, VideoInfo

STAGES = ("detector", "tracker")
TRACK_CLASS_SOURCES = ("head", "detections", "detections_fg")


@dataclass(frozen=True)
class LossConfig:
    """Tracker-stage loss (Eq. 8) and identity assignment.

    Attributes:
        score, seg, match, init: the weights lambda_1..4 (paper: 1, 1, 4, 1).
        frame_decay: score-loss weight of frame l is ``frame_decay ** (L - l)``, normalised.
        detection_iou: least box IoU for a detection to claim an annotated object.
    """

    score: float = 1.0
    seg: float = 1.0
    match: float = 4.0
    init: float = 1.0
    frame_decay: float = 0.8
    detection_iou: float = 0.5


@dataclass(frozen=True)
class Config:
    """RGNNVIS settings; the defaults are the paper's (ResNet-50, YouTube-VIS).

    Attributes:
        backbone: backbone + FPN (``in_features`` feed the FPN).
        detector: YOLACT-style head and its post-processing.
        tracker: the learned track manager.
        loss: tracker-stage loss weights.
        transform: inference resize / normalisation.
        appearance_features: the two backbone stages read by the appearance network.
        clip_len: frames per training clip of the tracker stage (L).
        feature_dropout: channel dropout on backbone features in the tracker stage.
        track_class: where a track's per-frame class probabilities come from at inference:
            ``head`` (the track score head, the paper), ``detections`` (the class
            confidences of the detection the track holds in that frame) or ``detections_fg``
            (those confidences times the score head's foreground probability, 1 - its background).
        presence_power: a track's video-level score is multiplied by (frames in which it
            has pixels / frames of the video) ** presence_power; 0 leaves the score as the
            mean class probability (see :mod:`vistool.methods.rgnnvis.session`).
    """

    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(
        name="resnet50", norm="frozen_bn", weights="imagenet", in_features=("c3", "c4", "c5"), fpn_channels=256,
        extra_levels="p6p7"))
    detector: YolactConfig = field(default_factory=YolactConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    transform: TransformConfig = field(default_factory=lambda: TransformConfig(min_size=480, max_size=864))
    appearance_features: tuple[str, ...] = ("c4", "c5")
    clip_len: int = 10
    feature_dropout: float = 0.1
    track_class: str = "head"
    presence_power: float = 0.0

    def __post_init__(self) -> None:
        if self.track_class not in TRACK_CLASS_SOURCES:
            raise ConfigError(f"track_class: unknown '{self.track_class}'; choose one of {list(TRACK_CLASS_SOURCES)}")
        if self.presence_power < 0:
            raise ConfigError(f"presence_power: must be >= 0, got {self.presence_power}")


@dataclass
class Perception:
    """Per-frame outputs of the frozen parts and the appearance network (F frames).

    Attributes:
        dets: detections (F, N, ...); x: (F, N, A) appearance; scene: (F, A);
        input_size: padded (H, W) of the network input.
    """

    dets: Detections
    x: Tensor
    scene: Tensor
    input_size: tuple[int, int]


class Model(VisModel):
    """RGNNVIS++ model: backbone, YOLACT-style detector, appearance network, recurrent GNN tracker."""

    method = "rgnnvis"

    def __init__(self, config: Config, categories: list[str]):
        super().__init__(config, categories)
        if len(config.appearance_features) != 2:
            raise MethodError("rgnnvis appearance_features: give exactly two backbone stages, e.g. [c4, c5]")
        num_classes = len(self.categories)
        self.transform = FrameTransform(config.transform)
        self.backbone = build_backbone(config.backbone, config.appearance_features)
        self.detector = YolactDetector(config.backbone, self.backbone, config.detector, num_classes)
        c4, c5 = config.appearance_features
        self.appearance = AppearanceNet((self.backbone.channels[c4], self.backbone.channels[c5]),
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
            feats = self.backbone(images)
        if dropout:
            feats = {k: self.feature_dropout(v) for k, v in feats.items()}
        with torch.no_grad():
            dets = self.detector.detect(self.detector(feats), [tuple(image_size)] * images.shape[0])
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
        from vistool.methods.rgnnvis.losses import tracker_loss

        return tracker_loss(self, batch)

    def _detector_loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        b, t = batch.images.shape[:2]
        images = self.transform.prepare_batch(batch.images.flatten(0, 1))
        out = self.detector(self.backbone(images))
        targets = [frame_targets(s, i).image_targets() for s in batch.samples for i in range(t)]
        return self.detector.loss(out, targets)

    # ------------------------------------------------------------ inference
    def new_session(self, info: VideoInfo) -> Session:
        """Per-video state for online, frame-by-frame tracking (clip_len 1)."""
        from vistool.methods.rgnnvis.session import RGNNVISSession

        return RGNNVISSession(self, info)

    def new_frame_session(self, info: VideoInfo) -> Session:
        """``vistool segment``: the detector's instances of every frame, before the track manager."""
        from vistool.methods.rgnnvis.session import DetectorSession

        return DetectorSession(self)
