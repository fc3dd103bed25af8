"""EfficientVIS hyper-parameters (defaults = the paper's R-50 YouTube-VIS setting)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistool.models.backbone import BackboneConfig
from vistool.models.transform import TransformConfig


@dataclass(frozen=True)
class LossWeights:
    """Weights of the clip loss (Eq. 5) and of the same terms in the matching cost (Eq. 4).

    The paper defers the weights to DETR / VisTR / Sparse R-CNN / QueryInst;
    these are Sparse R-CNN's (class 2, L1 5, GIoU 2) with QueryInst-like
    mask weights (BCE 5, dice 5) and DETR's background weight 0.1.
    """

    cls: float = 2.0
    l1: float = 5.0
    giou: float = 2.0
    mask_bce: float = 5.0
    dice: float = 5.0
    mask_iou: float = 5.0  # matching cost only
    background: float = 0.1


@dataclass(frozen=True)
class Config:
    """EfficientVIS configuration.

    Attributes:
        backbone: backbone + FPN; ``fpn_channels`` is the query size C.
        transform: inference resize/normalisation.
        clip_len: T, frames per clip (training pairs load 2T frames).
        num_queries: N tracklet queries (slots).
        num_stages: M query-video interaction iterations.
        num_heads: heads of the temporal and spatial MSA.
        ffn_dim: hidden size of the query feed-forward network.
        dynamic_dim: hidden size of the two dynamic 1x1 layers of the TDC.
        roi_size: RoI size H_r = W_r of the TDC; masks are predicted at 2 * roi_size.
        roi_sampling: RoIAlign sampling points per bin side (1 is much faster on CPU).
        fc_pool: the tracklet feature is pooled to fc_pool x fc_pool before the FC heads.
        temporal_window: frames on each side used by the TDC (paper: 1, i.e. t-1, t, t+1).
        mask_convs, mask_dim: 3x3 convs and channels of the mask head.
        reg_layers, cls_layers: hidden FC layers of the box and class heads.
        dropout: dropout in attention and FFN residuals.
        correspondence: train on consecutive clips with query hand-off (Sec. 3.3).
        train_clips: consecutive T-frame clips per training sample with correspondence (the paper: 2,
            a clip pair); the carried queries of clip k start clip k+1 and every clip is in the loss,
            so inference's repeated hand-offs are seen in training.
        image_stage: train first a stage ``image`` on single frames (the query detector as an image
            detector, the paper's image-level initialisation), then the clip stage ``main``.
        loss: loss and matching-cost weights.
        frame_threshold: per-frame foreground probability needed to emit an instance.
        mask_threshold: probability threshold of the pasted masks.
        reinit_after: a slot classified as background for this many consecutive
            clips is re-initialised with its learned query and gets a new id.
    """

    backbone: BackboneConfig = BackboneConfig(name="resnet50", weights="imagenet", fpn_channels=256)
    transform: TransformConfig = TransformConfig()
    clip_len: int = 36
    num_queries: int = 10
    num_stages: int = 6
    num_heads: int = 8
    ffn_dim: int = 2048
    dynamic_dim: int = 64
    roi_size: int = 14
    roi_sampling: int = 2
    fc_pool: int = 7
    temporal_window: int = 1
    mask_convs: int = 4
    mask_dim: int = 256
    reg_layers: int = 3
    cls_layers: int = 1
    dropout: float = 0.0
    correspondence: bool = True
    train_clips: int = 2
    image_stage: bool = False
    loss: LossWeights = field(default_factory=LossWeights)
    frame_threshold: float = 0.5
    mask_threshold: float = 0.5
    reinit_after: int = 3


def tiny_config() -> Config:
    """A model small enough for the contract test to train on CPU in seconds (48 x 64 frames)."""
    return Config(backbone=BackboneConfig(name="resnet18", norm="gn", weights="none", in_features=("c2", "c3"),
                                          fpn_channels=32, freeze_at=0),
                  transform=TransformConfig(min_size=48, max_size=64), clip_len=3, num_queries=4, num_stages=2,
                  num_heads=4, ffn_dim=64, dynamic_dim=8, roi_size=7, roi_sampling=1, fc_pool=3, mask_convs=1,
                  mask_dim=16, reg_layers=1)
