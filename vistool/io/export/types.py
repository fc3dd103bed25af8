"""The export plan: which videos an export writes, with their ids and categories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vistool.structures import VideoResult


@dataclass
class ExportVideo:
    """One video ready to be written.

    Attributes:
        path: its per-video result file.
        result: the result, with tracks below the score threshold removed.
        video_id: id in the output.
        file_names: one image name per frame (``<video>/<frame>.jpg`` layout).
        category_ids: per 0-based label, the output category id (None: not in the dataset).
    """

    path: Path
    result: VideoResult
    video_id: int
    file_names: list[str]
    category_ids: list[int | None]

    @property
    def name(self) -> str:
        return self.result.info.name


@dataclass
class ExportPlan:
    """All videos in name order and the output categories ``(id, name)`` sorted by id."""

    videos: list[ExportVideo]
    categories: list[tuple[int, str]]
