"""InstFlow settings; the defaults are the paper's (ResNet-50 Panoptic-DeepLab, YouTube-VIS) with
Panoptic-DeepLab's values where the paper gives none (digest section 2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistool.errors import ConfigError
from vistool.models.backbone import BackboneConfig
from vistool.models.heads.panoptic import DecoderConfig
from vistool.models.transform import TransformConfig

STRIDE = 4  # input pixels per output cell of every dense prediction


@dataclass(frozen=True)
class LossConfig:
    """Eq. 1 weights (the paper: centre 100, offsets and shape 0.01, semantic 1), the centre Gaussian's
    sigma in input pixels (Panoptic-DeepLab: 8), and the weight of small instances (area < ``small_area``
    pixels, COCO's 32^2) in the centre and offset terms (the paper: 3)."""

    semantic: float = 1.0
    center: float = 100.0
    intra: float = 0.01
    inter: float = 0.01
    shape: float = 0.01
    center_sigma: float = 8.0
    small_area: float = 1024.0
    small_weight: float = 3.0


@dataclass(frozen=True)
class AssemblyConfig:
    """Inference: centre peaks and instance-flow matching.

    Attributes:
        center_threshold, nms_kernel, top_k: centre peaks (the paper: 0.15 and a 41-pixel window at full
            resolution; ``nms_kernel`` is in output cells, stride 4).
        min_pixels: instances with fewer output cells are dropped.
        num_previous: previous frames used as references (the paper: 3); use_first: the video's first
            frame is a reference too (the paper: yes).
        max_distance: epsilon, in input pixels: a warped centre farther than this from every reference
            centre starts a new identity (the paper does not give it).
        flow_samples: pixels per instance averaged for its flow (uniformly spaced; the paper samples).
    """

    center_threshold: float = 0.15
    nms_kernel: int = 11
    top_k: int = 32
    min_pixels: int = 4
    num_previous: int = 3
    use_first: bool = True
    max_distance: float = 48.0
    flow_samples: int = 64


@dataclass(frozen=True)
class Config:
    """InstFlow settings.

    Attributes:
        backbone: encoder (stages c2, c3 feed the skips, c5 the ASPPs; ``dilate_last`` gives stride 16).
        semantic, instance: the two ASPP + decoder branches (the inter-frame decoder copies ``instance``).
        head_channels: hidden width of the prediction heads.
        tcf_dim: width of Temporal Context Fusion's queries and keys.
        loss, assembly, transform: as named; presence_power: video score x presence ** power.
    """

    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(
        name="resnet50", norm="frozen_bn", weights="imagenet", in_features=("c2", "c3", "c5"), fpn_channels=0,
        dilate_last=True))
    semantic: DecoderConfig = field(default_factory=DecoderConfig)
    instance: DecoderConfig = field(default_factory=lambda: DecoderConfig(channels=128, skip_channels=(32, 16)))
    head_channels: int = 32
    tcf_dim: int = 64
    loss: LossConfig = field(default_factory=LossConfig)
    assembly: AssemblyConfig = field(default_factory=AssemblyConfig)
    transform: TransformConfig = field(default_factory=lambda: TransformConfig(min_size=360, max_size=640))
    presence_power: float = 0.0

    def __post_init__(self) -> None:
        if tuple(self.backbone.in_features) != ("c2", "c3", "c5"):
            raise ConfigError("instflow backbone.in_features: must be [c2, c3, c5] (skips at strides 4 and 8, "
                              "the ASPPs on the last stage)")


def tiny_config() -> Config:
    """A model small enough for the contract test to train on CPU in seconds (48 x 64 frames)."""
    small = DecoderConfig(aspp_channels=8, rates=(1, 2, 3), skip_channels=(4, 4), channels=8)
    return Config(backbone=BackboneConfig(name="mobilenet_v3_small", norm="gn", weights="none", in_features=("c2", "c3", "c5"),
                                          fpn_channels=0, dilate_last=True),
                  semantic=small, instance=small, head_channels=8, tcf_dim=8,
                  assembly=AssemblyConfig(center_threshold=0.0, nms_kernel=3, top_k=4, min_pixels=1),
                  transform=TransformConfig(min_size=48, max_size=64))
