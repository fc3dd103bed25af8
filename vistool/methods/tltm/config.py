"""TLTM settings; the defaults are the paper's (ResNet-50 CenterMask, YouTube-VIS) with the values of the
authors' public configuration where the paper gives none (digest section 3.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vistool.errors import ConfigError
from vistool.models.backbone import BackboneConfig
from vistool.models.heads.fcos_head import FcosConfig
from vistool.models.transform import TransformConfig

ASSOCIATIONS = ("gnn", "iou")


@dataclass(frozen=True)
class MaskConfig:
    """SAG-Mask head: RoIAlign ``roi_size`` (masks at twice it), ``convs`` 3x3 convs of ``channels``;
    ``max_rois`` proposals per frame trained on; ``weight`` of its loss."""

    roi_size: int = 14
    channels: int = 256
    convs: int = 4
    max_rois: int = 64
    weight: float = 1.0


@dataclass(frozen=True)
class RelationConfig:
    """Object encoder and object-level GNN (the authors' configuration: 512-d latents, 128-d GNN).

    Attributes:
        latent_dim: object latent z; encoder_channels: channels of the encoder's two convs.
        hidden_dim: width of the GNN's edge, node and edge-predictor MLPs.
        proposal_iou: a proposal of frame t+1 belongs to an object when their box IoU is >= this.
        max_proposals: proposals of frame t+1 per pair in training.
        edge_weight, transition_weight: weights of the edge BCE and the transition term.
    """

    latent_dim: int = 512
    encoder_channels: int = 256
    hidden_dim: int = 128
    proposal_iou: float = 0.5
    max_proposals: int = 32
    edge_weight: float = 1.0
    transition_weight: float = 1.0


@dataclass(frozen=True)
class AssociationConfig:
    """Online association (MaskTrack R-CNN's score with GNN edge scores, or the IoU baseline).

    Attributes:
        method: ``gnn`` (the paper) or ``iou`` (SORT without its Kalman filter: Hungarian on box IoU).
        coefficients: (a, b, c) of ``log(edge) + a log(det score) + b IoU + c [same class]``.
        new_object_score: the score of the "new object" option (a detection whose best track scores
            below it starts a new track); MaskTrack R-CNN's new-object probability is
            ``sigmoid(0) = 0.5`` in its softmax, i.e. ``log 0.5`` here.
        min_edge: an edge score below this never links (and scores as 0 for the IoU baseline).
        iou_threshold: the IoU baseline's least IoU to link.
        max_age: frames a track unseen stays in the memory (0 = for ever, MaskTrack R-CNN).
    """

    method: str = "gnn"
    coefficients: tuple[float, float, float] = (1.0, 2.0, 10.0)
    new_object_score: float = -0.6931
    min_edge: float = 0.05
    iou_threshold: float = 0.3
    max_age: int = 0


@dataclass(frozen=True)
class Config:
    """TLTM settings.

    Attributes:
        backbone: backbone + FPN; detector: FCOS head; mask: SAG-Mask head.
        resfuser: the feature-level temporal module on every FPN level (off: CenterMask alone).
        relation: object encoder + GNN; association: online association.
        transform: inference resize / normalisation.
        detection_threshold: detections kept for tracking and output (CenterMask's 0.05 in the repo).
        mask_threshold: mask probability threshold when pasting.
        presence_power: video score x (frames with pixels / video frames) ** presence_power.
    """

    backbone: BackboneConfig = field(default_factory=lambda: BackboneConfig(
        name="resnet50", norm="frozen_bn", weights="imagenet", in_features=("c3", "c4", "c5"), fpn_channels=256,
        extra_levels="p6p7"))
    detector: FcosConfig = field(default_factory=FcosConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    resfuser: bool = True
    relation: RelationConfig = field(default_factory=RelationConfig)
    association: AssociationConfig = field(default_factory=AssociationConfig)
    transform: TransformConfig = field(default_factory=lambda: TransformConfig(min_size=360, max_size=640))
    detection_threshold: float = 0.05
    mask_threshold: float = 0.5
    presence_power: float = 0.0

    def __post_init__(self) -> None:
        if self.association.method not in ASSOCIATIONS:
            raise ConfigError(f"association.method: unknown '{self.association.method}'; "
                              f"choose one of {list(ASSOCIATIONS)}")


def tiny_config() -> Config:
    """A model small enough for the contract test to train on CPU in seconds (48 x 64 frames)."""
    return Config(backbone=BackboneConfig(name="resnet18", norm="gn", weights="none", in_features=("c3", "c4", "c5"),
                                          fpn_channels=16, extra_levels="none"),
                  detector=FcosConfig(levels=("p3", "p4", "p5"), channels=16, tower_convs=1, size_bounds=(16.0, 32.0),
                                      max_detections=4, score_threshold=0.0),
                  mask=MaskConfig(roi_size=7, channels=16, convs=1, max_rois=8),
                  relation=RelationConfig(latent_dim=16, encoder_channels=8, hidden_dim=16, max_proposals=6),
                  transform=TransformConfig(min_size=48, max_size=64), detection_threshold=0.0)
