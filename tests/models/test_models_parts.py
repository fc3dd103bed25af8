"""Shared layers, losses, matching and the frame transform."""

from __future__ import annotations

import math

import pytest
import torch

from vistool.models import box_ops, losses, matching
from vistool.models.layers import MultiLevelRoIAlign, sine_encoding_1d, sine_encoding_2d
from vistool.models.transform import FrameTransform, ImageMeta, TransformConfig


def test_sine_encodings_shapes_and_values():
    enc = sine_encoding_1d(torch.tensor([0.0, 1.0, 2.0]), 8)
    assert enc.shape == (3, 8)
    assert torch.allclose(enc[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    assert math.isclose(float(enc[1, 0]), math.sin(1.0), rel_tol=1e-6)
    mask = torch.zeros(2, 5, 7, dtype=torch.bool)
    mask[1, :, 5:] = True
    pos = sine_encoding_2d(mask, 16)
    assert pos.shape == (2, 16, 5, 7)
    assert torch.allclose(pos[0, :, :, :5], pos[0, :, :, :5]) and not torch.allclose(pos[0, 8:, :, 4], pos[1, 8:, :, 4])


def test_multi_level_roi_align_pools_every_box():
    feats = {"p2": torch.randn(2, 3, 16, 16), "p3": torch.randn(2, 3, 8, 8)}
    pooler = MultiLevelRoIAlign(["p2", "p3"], 4)
    boxes = [torch.tensor([[0.0, 0.0, 20.0, 20.0]]), torch.tensor([[4.0, 4.0, 60.0, 60.0], [1, 1, 9, 9.0]])]
    assert pooler(feats, boxes, (64, 64)).shape == (3, 3, 4, 4)


def test_dice_bce_and_box_losses():
    target = torch.zeros(2, 8, 8)
    target[:, :4] = 1
    perfect = torch.where(target > 0, 20.0, -20.0)
    assert float(losses.dice_loss(perfect, target)) < 1e-3
    assert float(losses.dice_loss(-perfect, target)) > 1.5
    assert float(losses.bce_with_logits(perfect, target)) < 1e-6
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    l1, giou = losses.box_l1_giou(boxes, boxes, (10, 10))
    assert float(l1) == 0 and abs(float(giou)) < 1e-6
    l1, giou = losses.box_l1_giou(boxes, boxes + 10, (10, 10))
    assert float(l1) == pytest.approx(4.0) and float(giou) > 1.0
    focal = losses.sigmoid_focal(torch.tensor([[10.0, -10.0]]), torch.tensor([[1.0, 0.0]]))
    assert float(focal) < 1e-4
    ce = losses.cross_entropy_with_background(torch.tensor([[0.0, 0.0, 5.0]]), torch.tensor([2]), 0.1)
    assert float(ce) < 0.02


def test_pairwise_mask_costs_prefer_the_matching_mask():
    a = torch.zeros(2, 16)
    a[0, :8], a[1, 8:] = 1, 1
    logits = (a * 2 - 1) * 10
    iou = losses.mask_iou_cost(logits, a)
    dice = losses.dice_cost(logits, a)
    assert iou.argmax(1).tolist() == [0, 1] and dice.argmin(1).tolist() == [0, 1]


def test_hungarian_and_greedy_matching():
    cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0]])
    rows, cols = matching.hungarian(cost)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    rows, cols = matching.hungarian(torch.tensor([[float("inf"), 1.0], [2.0, float("nan")]]))
    assert cols.tolist() == [1, 0]
    assert matching.hungarian(torch.zeros(3, 0))[0].numel() == 0
    rows, cols = matching.greedy_match(torch.tensor([[0.9, 0.8], [0.85, 0.1]]), 0.5)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0)]
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    assert matching.box_cost(boxes, boxes.flip(0), (40, 40)).argmin(1).tolist() == [1, 0]


def test_apply_deltas():
    boxes = torch.tensor([[10.0, 10.0, 30.0, 50.0]])
    assert torch.allclose(box_ops.apply_deltas(torch.zeros(1, 4), boxes), boxes)
    moved = box_ops.apply_deltas(torch.tensor([[2.0, 0.0, math.log(2), 0.0]]), boxes)
    assert torch.allclose(moved, torch.tensor([[20.0, 10.0, 60.0, 50.0]]))  # centre +w, width x2
    assert torch.allclose(box_ops.normalized_to_pixels(torch.tensor([[0.5, 0.5, 1.0, 1.0]]), (20, 40)),
                          torch.tensor([[0.0, 0.0, 40.0, 20.0]]))


def test_transform_round_trip_to_original_resolution():
    tf = FrameTransform(TransformConfig(min_size=60, max_size=100, size_divisibility=32))
    frames = torch.randint(0, 255, (2, 120, 240, 3), dtype=torch.uint8)
    x, meta = tf.preprocess(frames)
    assert meta == ImageMeta((120, 240), (50, 100), (64, 128)) and x.shape == (2, 3, 64, 128)
    assert x[..., 50:, :].abs().sum() == 0  # zero padding after normalisation
    boxes = tf.boxes_to_original(torch.tensor([[10.0, 5.0, 30.0, 25.0]]), meta)
    assert torch.allclose(boxes, torch.tensor([[24.0, 12.0, 72.0, 60.0]]))
    masks = tf.roi_masks_to_original(torch.ones(1, 14, 14), torch.tensor([[10.0, 5.0, 30.0, 25.0]]), meta)
    assert masks.shape == (1, 120, 240) and masks[0, 20:55, 30:70].all() and not masks[0, 70:, :].any()
    full = torch.zeros(1, 16, 32)
    full[0, :, :8] = 1  # left quarter of the padded input = left 32 px of 100 -> 32% of 240
    out = tf.full_masks_to_original(full, meta)
    assert out.shape == (1, 120, 240) and out[0, :, :70].all() and not out[0, :, 85:].any()


def test_roi_masks_outside_the_frame_are_empty_not_an_error():
    import torch

    from vistool.models.transform import FrameTransform, TransformConfig

    transform = FrameTransform(TransformConfig(min_size=48, max_size=64))
    _, meta = transform.preprocess(torch.zeros((1, 48, 64, 3), dtype=torch.uint8))
    probs = torch.ones((3, 8, 8))
    boxes = torch.tensor([[10.0, 10.0, 20.0, 20.0], [70.0, 5.0, 90.0, 20.0], [-30.0, -30.0, -5.0, -5.0]])
    masks = transform.roi_masks_to_original(probs, boxes, meta)
    assert masks.shape == (3, 48, 64)
    assert masks[0].sum() > 0 and not masks[1].any() and not masks[2].any()
