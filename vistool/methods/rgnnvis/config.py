"""RGNNVIS++ settings: the model's Config and the tracker-stage LossConfig (defaults are the paper's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistool.errors import ConfigError
from vistool.methods.rgnnvis.tracker import TrackerConfig
from vistool.models.backbone import BackboneConfig
from vistool.models.heads.yolact import YolactConfig
from vistool.models.transform import TransformConfig

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


def tiny_config() -> Config:
    """A model small enough for the contract test to train on CPU in seconds (48 x 64 frames)."""
    return Config(backbone=BackboneConfig(name="resnet18", norm="gn", weights="none", in_features=("c3", "c4", "c5"),
                                          fpn_channels=16, extra_levels="none"),
                  detector=YolactConfig(levels=("p3", "p4", "p5"), channels=16, tower_convs=1, num_prototypes=4,
                                        size_bounds=(16.0, 32.0), max_detections=4),
                  tracker=TrackerConfig(embed_dim=16, appearance_dim=8, max_tracks=6),
                  transform=TransformConfig(min_size=48, max_size=64), clip_len=3)
