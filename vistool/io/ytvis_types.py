"""Data classes of YouTube-VIS / OVIS dataset and results files (see :mod:`vistool.io.ytvis`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from vistool.io import rle as rle_io

Rle = dict


@dataclass
class YtvisVideo:
    """One video of a dataset: ``length`` frames of ``height`` x ``width`` pixels."""

    id: int
    width: int
    height: int
    length: int
    file_names: list[str] = field(default_factory=list)


@dataclass
class YtvisCategory:
    """One category; ``id`` is the 1-based ``category_id`` of the files."""

    id: int
    name: str
    supercategory: str = ""


@dataclass
class YtvisAnnotation:
    """One ground-truth track; every per-frame list has one entry per video frame.

    Attributes:
        segmentations: compressed RLE (str counts) or None where absent.
        areas: the file's per-frame areas (the metric's size ranges use these).
        bboxes: ``[x, y, w, h]`` or None per frame.
        iscrowd: 1 for a crowd region (ignored by the metric, may absorb predictions).
        occlusion: OVIS per-frame labels (``no_occlusion``, ``slight_occlusion``,
            ``severe_occlusion`` or None), or None for YouTube-VIS.
    """

    id: int
    video_id: int
    category_id: int
    segmentations: list[Rle | None]
    areas: list[float | None]
    bboxes: list[list[float] | None]
    iscrowd: int = 0
    occlusion: list[str | None] | None = None

    @classmethod
    def from_segmentations(cls, id: int, video_id: int, category_id: int, segmentations: Sequence[Rle | None],
                           iscrowd: int = 0, occlusion: Sequence[str | None] | None = None) -> "YtvisAnnotation":
        """An annotation whose areas and boxes are computed from its masks."""
        segs = [None if s is None else rle_io.normalize(s) for s in segmentations]
        present = [s for s in segs if s is not None]
        areas_iter = iter(rle_io.areas(present).tolist())
        areas = [None if s is None else float(next(areas_iter)) for s in segs]
        boxes = [None if s is None else rle_io.to_bbox(s) for s in segs]
        return cls(id=id, video_id=video_id, category_id=category_id, segmentations=segs, areas=areas,
                   bboxes=boxes, iscrowd=int(iscrowd), occlusion=None if occlusion is None else list(occlusion))


@dataclass
class YtvisDataset:
    """A YouTube-VIS / OVIS dataset (videos, categories, ground-truth tracks)."""

    videos: list[YtvisVideo]
    categories: list[YtvisCategory]
    annotations: list[YtvisAnnotation] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    licenses: list = field(default_factory=list)

    @property
    def has_occlusion(self) -> bool:
        """True for OVIS-style ground truth (per-frame occlusion labels)."""
        return any(a.occlusion is not None for a in self.annotations)

    @property
    def category_names(self) -> list[str]:
        """Category names; label ``i`` is ``category_names[i]``."""
        return [c.name for c in self.categories]

    def videos_by_id(self) -> dict[int, YtvisVideo]:
        """video id -> video."""
        return {v.id: v for v in self.videos}

    def categories_by_id(self) -> dict[int, YtvisCategory]:
        """category id -> category."""
        return {c.id: c for c in self.categories}


@dataclass
class ResultTrack:
    """One predicted track of a results file: one category and one score.

    Attributes:
        segmentations: compressed RLE (str counts) or None per frame.
    """

    video_id: int
    category_id: int
    score: float
    segmentations: list[Rle | None]
