"""What the RGNNVIS++ model computes and hands to its session and its loss."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from vistool.methods.rgnnvis.track_manager import TrackState
from vistool.methods.rgnnvis.tracker import FrameOutput
from vistool.models.detections import Detections
from vistool.models.transform import ImageMeta


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


@dataclass
class ClipRun:
    """The tracker run over B training clips of L frames.

    Attributes:
        dets: L detections of the B clips' frame t, each (B, N, ...).
        outs: L tracker outputs, in frame order.
    """

    dets: list[Detections]
    outs: list[FrameOutput]


@dataclass
class FrameStep:
    """One inference frame through the model (B = 1).

    Attributes:
        before: the memory the frame started from; after: the memory after it (new tracks
            have track id 0 until the session gives them ids).
        out: the tracker's output; perc: detections and appearance; meta: the frame's resize metadata.
    """

    before: TrackState
    after: TrackState
    out: FrameOutput
    perc: Perception
    meta: ImageMeta
