"""Shared tracker parts: id counter, video-level summaries, cost matrices."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from vistool.tracking.costs import batched_box_iou, cosine_similarity_matrix, soft_mask_iou
from vistool.tracking.ids import TrackIds
from vistool.tracking.summaries import majority_vote, mean_conditional_class


def test_track_ids_start_at_one_and_are_per_counter():
    a, b = TrackIds(), TrackIds()
    assert [a.new(), a.new(), a.new()] == [1, 2, 3] and b.new() == 1 and a.given == [1, 2, 3]


def test_majority_vote_takes_the_most_frequent_class_and_breaks_ties_by_summed_probability():
    probs = torch.tensor([[0.6, 0.4, 0.0], [0.1, 0.9, 0.0], [0.7, 0.3, 0.0], [0.2, 0.8, 0.0]])  # 2 votes each
    s = majority_vote(probs, video_frames=4)
    assert s.label == 1 and s.score == pytest.approx(0.6) and len(s.class_scores) == 3
    half = majority_vote(probs[:1], video_frames=4, presence_power=0.5)  # present in 1 of 4 frames
    assert half.label == 0 and half.score == pytest.approx(0.6 * 0.5)


def test_mean_conditional_class_scores_by_the_mean_foreground():
    s = mean_conditional_class(torch.tensor([0.5, 1.5]), fg_sum=1.6, frames=2)  # mean (0.25, 0.75), fg 0.8
    assert s.label == 1 and s.score == pytest.approx(0.75 * 0.8)
    assert s.class_scores == pytest.approx((0.25 * 0.8, 0.75 * 0.8))


def test_costs_agree_with_their_definitions():
    a, b = torch.tensor([[[0.0, 0, 10, 10], [5, 5, 15, 15]]]), torch.tensor([[[0.0, 0, 10, 10]]])
    assert torch.allclose(batched_box_iou(a, b)[0], box_iou(a[0], b[0]))
    assert batched_box_iou(a, b[:, :0]).shape == (1, 2, 0)
    pred = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    target = torch.tensor([[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]])
    iou = soft_mask_iou(pred, target)  # (1, 2)
    assert iou[0, 0] == pytest.approx(1.0) and iou[0, 1] == pytest.approx(1 / 5)
    x, y = torch.randn(3, 8), torch.randn(4, 8)
    expected = F.cosine_similarity(x[:, None], y[None], dim=-1)
    assert torch.allclose(cosine_similarity_matrix(x, y), expected, atol=1e-6)
