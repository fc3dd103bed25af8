"""What TLTM's network hands to the session for one frame."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from vistool.models.heads.fcos_head import BoxDetections


@dataclass
class FramePerception:
    """What the network sees in one frame: detections, their mask probabilities and latents.

    Attributes:
        dets: the frame's detections (N); masks: (N, M, M) probabilities inside the boxes;
        latents: (N, D) object latents.
    """

    dets: BoxDetections
    masks: Tensor
    latents: Tensor
