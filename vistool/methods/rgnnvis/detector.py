"""The single-image instance segmenter of RGNNVIS: backbone + FPN + YOLACT-style head.

The paper uses YOLACT (ResNet-50/101, FPN, prototype masks and coefficients).
Here the backbone and FPN are the shared ones of :mod:`vistool.models.backbone`
and the head is :class:`vistool.models.heads.yolact.YolactHead` (prototype x
coefficient masks with an anchor-free FCOS-style box/class head, see there).
The backbone also returns the two stages read by the appearance network
(conv4_x, conv5_x = ``c4``, ``c5``; for small backbones their last two stages).
"""

from __future__ import annotations

from torch import Tensor, nn

from vistool.models.backbone import Backbone, BackboneConfig, FPN
from vistool.models.detections import Detections
from vistool.models.heads.yolact import HeadOutput, YolactConfig, YolactHead
from vistool.models.heads.yolact_loss import yolact_loss
from vistool.models.targets import ImageTargets


def build_backbone(cfg: BackboneConfig, appearance_features: tuple[str, ...]) -> Backbone:
    """The backbone returning both the FPN inputs and the appearance stages."""
    names = tuple(sorted(set(cfg.in_features) | set(appearance_features)))
    return Backbone(cfg.name, names, cfg.norm, cfg.weights, cfg.freeze_at)


class YolactDetector(nn.Module):
    """FPN + YOLACT head on top of a :class:`Backbone` (the backbone is held by the caller).

    Args:
        backbone_cfg: which stages feed the FPN, its width and extra levels.
        backbone: the built backbone (for channels and strides).
        head_cfg: head settings.
        num_classes: C object categories.
    """

    def __init__(self, backbone_cfg: BackboneConfig, backbone: Backbone, head_cfg: YolactConfig, num_classes: int):
        super().__init__()
        names = tuple(backbone_cfg.in_features)
        self.in_features = names
        self.fpn = FPN({n: backbone.channels[n] for n in names}, {n: backbone.strides[n] for n in names},
                       backbone_cfg.fpn_channels, backbone_cfg.extra_levels)
        missing = [lv for lv in head_cfg.levels if lv not in self.fpn.out_names]
        if missing:
            from vistool.errors import ConfigError

            raise ConfigError(f"detector.levels: {missing} are not FPN outputs {self.fpn.out_names}; "
                              "change detector.levels or backbone.in_features/extra_levels")
        self.head = YolactHead(head_cfg, backbone_cfg.fpn_channels, self.fpn.strides, num_classes)

    def forward(self, feats: dict[str, Tensor]) -> HeadOutput:
        """Backbone features (name -> (B, C, h, w)) -> raw head predictions."""
        return self.head(self.fpn({n: feats[n] for n in self.in_features}))

    def detect(self, out: HeadOutput, image_sizes: list[tuple[int, int]]) -> Detections:
        """Post-processed detections (score >= threshold, NMS, top ``max_detections``)."""
        return self.head.detect(out, image_sizes)

    def loss(self, out: HeadOutput, targets: list[ImageTargets]) -> dict[str, Tensor]:
        """Weighted detector loss terms of a batch of frames."""
        return yolact_loss(out, targets, self.head.cfg)
