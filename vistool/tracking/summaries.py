"""Video-level decisions: from a track's per-frame class probabilities to one label and one score.

Each rule is a named function so that a method names the rule it uses and a
new method can reuse one. All return a :class:`~vistool.structures.TrackSummary`
whose ``class_scores`` hold the same score for every category.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vistool.structures import TrackSummary


def majority_vote(probs: Tensor, video_frames: int, presence_power: float = 0.0) -> TrackSummary:
    """Most frequent per-frame class; score = mean probability of it x presence (RGNNVIS++, Yang et al. 2019).

    Args:
        probs: (F, C) class probabilities of the F frames where the track had pixels.
        video_frames: frames of the whole video.
        presence_power: the scores are multiplied by ``(F / video_frames) ** presence_power``
            (0: no weighting), so short tracks rank lower.

    Returns:
        The label (ties go to the larger summed probability) and its score.
    """
    votes = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).float()
    best = votes == votes.max()
    summed = torch.where(best, probs.sum(0), torch.full_like(votes, -1.0))
    label = int(summed.argmax())
    scores = probs.mean(0) * (probs.shape[0] / max(video_frames, 1)) ** presence_power  # (C,)
    return TrackSummary(label=label, score=float(scores[label]), class_scores=tuple(scores.tolist()))


def mean_conditional_class(class_sum: Tensor, fg_sum: float, frames: int) -> TrackSummary:
    """Argmax of the mean class distribution given foreground, scored by it x the mean foreground (EfficientVIS).

    Args:
        class_sum: (C,) sum over the track's emitted frames of p(c) / (1 - p(background)).
        fg_sum: sum over the same frames of 1 - p(background).
        frames: number of those frames.
    """
    mean = class_sum / max(frames, 1)
    scores = mean * fg_sum / max(frames, 1)
    label = int(scores.argmax())
    return TrackSummary(label=label, score=float(scores[label]), class_scores=tuple(scores.tolist()))


def soft_vote(probs: Tensor, video_frames: int, presence_power: float = 0.0) -> TrackSummary:
    """Soft majority vote: the category with the largest summed per-frame probability; score = its mean
    per-frame probability x ``(F / video_frames) ** presence_power`` (InstFlow).

    Args:
        probs: (F, C) per-frame class scores of the F frames where the track had pixels.
    """
    scores = probs.mean(0) * (probs.shape[0] / max(video_frames, 1)) ** presence_power  # (C,)
    label = int(probs.sum(0).argmax())
    return TrackSummary(label=label, score=float(scores[label]), class_scores=tuple(scores.tolist()))
