"""The single-image instance segmenter of RGNNVIS: backbone + FPN + YOLACT-style head.

The paper uses YOLACT (ResNet-50/101, FPN, prototype masks and coefficients).
Here the backbone and FPN are the shared ones of :mod:`vistool.models.backbone`
(held by the model as ``backbone``) and the head is
:class:`vistool.models.heads.yolact.YolactHead` (prototype x coefficient masks
with an anchor-free FCOS-style box/class head, see there). The backbone also
returns the two stages read by the appearance network (conv4_x, conv5_x =
``c4``, ``c5``; for small backbones their last two stages).
"""

from __future__ import annotations

from torch import Tensor, nn

from vistool.errors import ConfigError
from vistool.models.backbone import BackboneWithFPN
from vistool.models.detections import Detections
from vistool.models.heads.yolact import HeadOutput, YolactConfig, YolactHead
from vistool.models.heads.yolact_loss import yolact_loss
from vistool.models.targets import ImageTargets


class YolactDetector(nn.Module):
    """YOLACT head on the FPN levels of the shared backbone + FPN (held by the caller).

    Args:
        backbone: the built backbone + FPN (for the levels' channels and strides).
        head_cfg: head settings.
        num_classes: C object categories.
    """

    def __init__(self, backbone: BackboneWithFPN, head_cfg: YolactConfig, num_classes: int):
        super().__init__()
        levels = list(backbone.strides)
        missing = [lv for lv in head_cfg.levels if lv not in levels]
        if missing:
            raise ConfigError(f"detector.levels: {missing} are not FPN outputs {levels}; "
                              "change detector.levels or backbone.in_features/extra_levels")
        self.head = YolactHead(head_cfg, backbone.out_channels, backbone.strides, num_classes)

    def forward(self, feats: dict[str, Tensor]) -> HeadOutput:
        """FPN levels (name -> (B, C, h, w)) -> raw head predictions."""
        return self.head(feats)

    def detect(self, out: HeadOutput, image_sizes: list[tuple[int, int]]) -> Detections:
        """Post-processed detections (score >= threshold, NMS, top ``max_detections``)."""
        return self.head.detect(out, image_sizes)

    def loss(self, out: HeadOutput, targets: list[ImageTargets]) -> dict[str, Tensor]:
        """Weighted detector loss terms of a batch of frames."""
        return yolact_loss(out, targets, self.head.cfg)
