"""Predict a whole YouTube-VIS split in memory (training-time validation, scripts)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from vistool.engine.infer import InferOptions, run_video
from vistool.engine.sources import split_sources


def predict_split(model, split_dir: str | Path, *, device: str = "cpu", max_videos: int | None = None,
                  on_video: Callable[[str], None] | None = None,
                  options: InferOptions = InferOptions()) -> list[dict]:
    """YouTube-VIS results records for the videos of a split folder.

    Args:
        model: a VisModel (moved to ``device`` and put in eval mode here).
        split_dir: folder with JPEGImages/ and a dataset JSON.
        device: where the model runs.
        max_videos: only the first N videos of the dataset.
        on_video: called with each video's name when it is done.
        options: inference options (e.g. ``InferOptions(half=True)``).

    Returns:
        The results list (``video_id`` from the dataset, 1-based ``category_id``).
    """
    from vistool.io.ytvis import video_result_to_records

    was_training = getattr(model, "training", False)
    if hasattr(model, "to"):
        model.to(device).eval()
    records: list[dict] = []
    try:
        for source in split_sources(split_dir)[:max_videos]:
            result, _ = run_video(model, source, options)
            records.extend(video_result_to_records(result, video_id=int(source.dataset_id)))
            if on_video is not None:
                on_video(source.info.name)
    finally:
        if was_training:
            model.train()
    return records
