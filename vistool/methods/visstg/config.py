"""VisSTG settings; the defaults are the paper's (ResNet-50 FPN, CenterNet + CondInst, YouTube-VIS)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistool.errors import ConfigError
from vistool.models.backbone import BackboneConfig
from vistool.models.heads.centernet import CenterNetConfig
from vistool.models.transform import TransformConfig


@dataclass(frozen=True)
class GraphConfig:
    """The spatial-temporal graph: ``window`` w (edges only inside w x w cells around an instance's centre),
    ``iterations`` L of edge and node updates, ``edge_weight`` of the edge BCE."""

    window: int = 7
    iterations: int = 3
    edge_weight: float = 1.0


@dataclass(frozen=True)
class TrackingConfig:
    """Tracking by edges: the least edge score that links; frames an unmatched instance is remembered (7)."""

    edge_threshold: float = 0.5
    memory_frames: int = 7


@dataclass(frozen=True)
class Config:
    """VisSTG settings.

    Attributes:
        backbone: backbone + FPN; detector: CenterNet head; mask_channels: CondInst mask-branch width;
        rel_scale: relative-coordinate scale of the dynamic mask head (pixels);
        graph, tracking: as named; propagation: mask-information propagation between frames;
        max_masks: instances per frame trained in the mask loss; mask_threshold: at inference;
        transform: inference resize; presence_power: video score x presence ** power.
    """

    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(
        name="resnet50", norm="frozen_bn", weights="imagenet", in_features=("c3", "c4", "c5"), fpn_channels=256,
        extra_levels="p6p7"))
    detector: CenterNetConfig = field(default_factory=CenterNetConfig)
    mask_channels: int = 128
    rel_scale: float = 64.0
    graph: GraphConfig = field(default_factory=GraphConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    propagation: bool = True
    max_masks: int = 32
    mask_threshold: float = 0.5
    transform: TransformConfig = field(default_factory=lambda: TransformConfig(min_size=360, max_size=640))
    presence_power: float = 0.0

    def __post_init__(self) -> None:
        if self.graph.window < 1 or self.graph.window % 2 == 0:
            raise ConfigError(f"graph.window: an odd number >= 1, got {self.graph.window}")


def tiny_config() -> Config:
    """A model small enough for the contract test to train on CPU in seconds (48 x 64 frames)."""
    return Config(backbone=BackboneConfig(name="resnet18", norm="gn", weights="none", in_features=("c3", "c4", "c5"),
                                          fpn_channels=16, extra_levels="none"),
                  detector=CenterNetConfig(levels=("p3", "p4", "p5"), size_bounds=(16.0, 32.0), channels=16,
                                           tower_convs=1, score_threshold=0.0, max_detections=4),
                  mask_channels=8, rel_scale=16.0, graph=GraphConfig(window=3, iterations=2), max_masks=4,
                  transform=TransformConfig(min_size=48, max_size=64))
