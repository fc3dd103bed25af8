"""The contract every method implements.

A method is a module in :mod:`vistool.methods` that defines

- ``Config``: a frozen dataclass of its hyper-parameters (loaded from YAML);
- ``Model``: a :class:`VisModel` built by ``Model(config, categories)``;
- a :class:`vistool.structures.Session` returned by ``Model.new_session``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from vistool.errors import MethodError
from vistool.structures import ClipBatch, Session, VideoInfo


class VisModel(nn.Module):
    """Base class of the five methods' models.

    Attributes:
        method: the method name, a key of ``vistool.methods.METHODS``.
        config: the method's Config dataclass instance.
        categories: category names; label ``i`` is ``categories[i]``.
    """

    method: ClassVar[str] = ""

    def __init__(self, config: Any, categories: list[str]):
        super().__init__()
        self.config = config
        self.categories = list(categories)

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

    def stage_clip_len(self, name: str) -> int:
        """Frames per training clip in stage ``name`` (what the data loader yields)."""
        return self.clip_len

    def loss(self, batch: ClipBatch) -> dict[str, Tensor]:
        """Weighted loss terms of one training batch; their sum is optimised."""
        raise NotImplementedError

    def new_session(self, info: VideoInfo) -> Session:
        """Fresh per-video inference state."""
        raise NotImplementedError

    def new_frame_session(self, info: VideoInfo) -> Session:
        """Per-video state for ``vistool segment`` (per-frame instances, ids not needed).

        The default is the tracking session; a tracking-by-detection method returns
        its detector's own per-frame output instead.
        """
        return self.new_session(info)
