"""Validation during training: the YouTube-VIS metric of a model on the first videos of a split folder."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from vistool.errors import InputError

log = logging.getLogger(__name__)


def validate(model: nn.Module, split_dir: str, device: torch.device, max_videos: int | None,
             warn: Callable[[str], None] = log.warning) -> dict[str, float] | None:
    """YouTube-VIS metrics (AP, AP50, ..., AR10) of ``model`` on the first ``max_videos`` of a split folder.

    Uses ``vistool.engine.predict.predict_split`` and ``vistool.eval.ytvis``
    lazily; returns None with a ``warn`` message when they are unavailable. With
    ``max_videos`` the ground truth is restricted to the same videos.
    """
    try:
        from vistool.engine.predict import predict_split
        from vistool.engine.sources import find_dataset_json
        from vistool.eval.ytvis import evaluate
        from vistool.io.ytvis import load_dataset, parse_results
    except ImportError as exc:
        warn(f"validation skipped: {exc}")
        return None
    json_path = find_dataset_json(Path(split_dir))
    if json_path is None:
        raise InputError(f"train.valid_data {split_dir}: not a YouTube-VIS split folder (JPEGImages/ + dataset JSON)")
    gt = load_dataset(json_path)
    if max_videos is not None:
        keep = {v.id for v in gt.videos[:max_videos]}
        gt = replace(gt, videos=gt.videos[:max_videos], annotations=[a for a in gt.annotations if a.video_id in keep])
    records = predict_split(model, split_dir, device=str(device), max_videos=max_videos)
    return {k: float(v) for k, v in evaluate(gt, parse_results(records, dataset=gt)).stats.items()}
