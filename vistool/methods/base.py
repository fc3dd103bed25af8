"""The whole method contract: the model, its per-video session, and the rules between them.

A method is a package ``vistool/methods/<name>/`` whose ``__init__`` exports

- ``Config``: a frozen dataclass of its hyper-parameters (loaded from YAML);
- ``Model``: a :class:`VisModel` built by ``Model(config, categories)``;

and whose ``Model.new_session`` returns a :class:`Session`. Rules:

1. The name is given once, as the key of ``vistool.methods.METHODS``;
   :attr:`VisModel.method` is looked up there from the model's module.
2. ``Model.transform`` (a :class:`~vistool.models.transform.FrameTransform`) owns
   pre- and post-processing; ``Model.backbone`` holds the backbone and every
   backbone parameter is named ``backbone.…`` (``vistool pretrain`` and
   :func:`vistool.weights.backbone_state_of` find it there).
3. Models compute, sessions hold state: the model exposes its per-frame or
   per-clip computation; a session keeps only per-video state (memory, ids,
   per-track statistics) and calls the model. Losses take the model's outputs.
4. A method imports shared parts (``vistool.models``, ``vistool.tracking``,
   this module) and never another method's package.
5. Track ids are >= 1, restart for every video and come from one
   :class:`~vistool.tracking.ids.TrackIds` per session; ``finish`` summarises
   every id that a frame carried, with a rule of :mod:`vistool.tracking.summaries`
   or one documented in the method.
6. Building from a name and config and loading a checkpoint live in
   :mod:`vistool.methods.build`; a method is covered by the contract test
   (``tests/methods/test_contract.py``) by being registered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from vistool.errors import MethodError
from vistool.structures import Clip, ClipBatch, FrameInstances, TrackSummary, VideoInfo
from vistool.tracking.ids import TrackIds


@runtime_checkable
class Session(Protocol):
    """Per-video inference state of one method.

    ``clip_len`` frames are given to :meth:`step` at a time (1 for online
    methods); the last clip of a video may be shorter.
    """

    clip_len: int

    def step(self, clip: Clip) -> list[FrameInstances]:
        """Process one clip; return one FrameInstances per frame, with track ids."""
        ...

    def finish(self) -> dict[int, TrackSummary]:
        """Give every track id its video-level category and score."""
        ...


class OnlineSession(ABC):
    """A session that processes one frame per step and owns the video's track-id counter.

    Subclasses implement :meth:`frame` ((1, H, W, 3) uint8 -> FrameInstances) and :meth:`finish`.
    """

    clip_len = 1

    def __init__(self) -> None:
        self.ids = TrackIds()
        self.frames = 0

    @torch.no_grad()
    def step(self, clip: Clip) -> list[FrameInstances]:
        """Every frame of ``clip`` in order; one FrameInstances each."""
        out = []
        for i in range(len(clip)):
            self.frames += 1
            out.append(self.frame(clip.images[i:i + 1], clip.frame_indices[i]))
        return out

    @abstractmethod
    def frame(self, image: Tensor, index: int) -> FrameInstances:
        """Instances of one (1, H, W, 3) uint8 frame with video frame index ``index``."""

    @abstractmethod
    def finish(self) -> dict[int, TrackSummary]:
        """Video-level label and score of every track."""


def method_name(module: str) -> str:
    """The ``METHODS`` key whose package holds ``module`` ("" when none does)."""
    from vistool.methods import METHODS

    return next((name for name, spec in METHODS.items()
                 if module == spec.module or module.startswith(spec.module + ".")), "")


class VisModel(nn.Module, ABC):
    """Base class of every method's model.

    Attributes:
        config: the method's Config dataclass instance.
        categories: category names; label ``i`` is ``categories[i]``.
        transform: a FrameTransform (resize / normalise / pad and back); set by the subclass.
        backbone: the backbone (+ FPN) module; set by the subclass.
    """

    transform: Any
    backbone: nn.Module

    def __init__(self, config: Any, categories: list[str]):
        super().__init__()
        self.config = config
        self.categories = list(categories)

    @property
    def method(self) -> str:
        """The method name, the ``METHODS`` key of the package this model's class lives in."""
        return method_name(type(self).__module__)

    @property
    def clip_len(self) -> int:
        """Frames per inference step (1 for online methods)."""
        return 1

    def training_stages(self) -> list[str]:
        """Names of the training stages, run in this order by ``vistool train``."""
        return ["main"]

    def set_training_stage(self, name: str) -> None:
        """Prepare training stage ``name`` (e.g. freeze parts trained earlier).

        The default has one stage and nothing to freeze.
        """
        if name not in self.training_stages():
            raise MethodError(f"unknown training stage '{name}'; stages: {self.training_stages()}")

    train_clip_len: int | None = None
    """Frames per training sample of a one-stage method (e.g. 2 for frame pairs); None: ``clip_len``."""

    def stage_clip_len(self, name: str) -> int:
        """Frames per training clip in stage ``name`` (what the data loader yields)."""
        if name not in self.training_stages():
            raise MethodError(f"unknown training stage '{name}'; stages: {self.training_stages()}")
        return self.clip_len if self.train_clip_len is None else self.train_clip_len

    @abstractmethod
    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """Weighted loss terms of one training batch; their sum is optimised."""

    @abstractmethod
    def new_session(self, info: VideoInfo) -> Session:
        """Fresh per-video inference state."""

    def new_frame_session(self, info: VideoInfo) -> Session:
        """Per-video state for ``vistool segment`` (per-frame instances, ids not needed).

        The default is the tracking session; a tracking-by-detection method returns
        its detector's own per-frame output instead.
        """
        return self.new_session(info)
