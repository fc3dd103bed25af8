"""Mask refinement: crops and paste-back, the untrained identity, learning a sharp boundary."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vistool.errors import ConfigError
from vistool.models.mask_refine import MaskRefiner, RefineConfig, crop, crop_boxes, paste


def test_crop_boxes_grow_around_the_pixels_and_stay_in_the_frame():
    probs = torch.zeros(3, 40, 60)
    probs[0, 10:20, 20:40] = 0.9  # 20 x 10 px
    probs[1, 0:8, 50:60] = 0.8  # at the corner
    boxes, has = crop_boxes(probs, context=0.5)
    assert has.tolist() == [True, True, False]
    assert boxes[0].tolist() == pytest.approx([20 - 12, 10 - 7, 40 + 12, 20 + 7])  # + side / 2 + 2 px
    assert boxes[1].tolist() == pytest.approx([50 - 7, 0, 60, 8 + 6])


def test_paste_puts_a_crop_back_where_it_was_taken():
    ramp = torch.arange(60, dtype=torch.float32).expand(40, 60) + torch.arange(40, dtype=torch.float32)[:, None]
    boxes = torch.tensor([[10.0, 5.0, 34.0, 29.0], [0.0, 0.0, 60.0, 40.0]])
    crops = crop(ramp.expand(2, 1, 40, 60).contiguous(), boxes, 24, shared=False)[:, 0]  # one cell per pixel
    base = torch.full((2, 40, 60), -7.0)
    out = paste(crops, boxes, base)
    assert torch.allclose(out[0, 5:29, 10:34], ramp[5:29, 10:34], atol=1e-4)
    assert torch.all(out[0, :5] == -7) and torch.all(out[0, :, 34:] == -7)  # outside the box: untouched
    assert torch.allclose(out[1, 2:-2, 2:-2], ramp[2:-2, 2:-2], atol=0.6)  # a whole-frame crop, resampled


def test_untrained_refiner_keeps_the_coarse_boundary():
    torch.manual_seed(0)
    refiner = MaskRefiner(RefineConfig(size=32, channels=8))
    logits = torch.full((2, 48, 64), -5.0)
    logits[0, 10:30, 12:40] = 5.0
    logits[1, 20:44, 30:60] = 3.0
    image = torch.randn(3, 48, 64)
    out = refiner(image, logits)
    assert out.shape == logits.shape
    assert torch.equal(out > 0, logits > 0)


def _sharp_example(shift: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A bright square on a dark frame; the coarse mask is the square blurred at stride 8 (corners cut)."""
    target = torch.zeros(1, 64, 64)
    target[0, 16 + shift:44 + shift, 14:42] = 1
    image = (target.expand(3, -1, -1) * 2 - 1) + 0.1 * torch.randn(3, 64, 64)
    coarse = F.interpolate(F.avg_pool2d(target[None], 8), size=(64, 64), mode="bilinear", align_corners=False)[0]
    logits = (coarse - 0.5) * 10 + 1.0  # boundary offset from the true one
    return image, logits, target


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_refiner_learns_the_boundary_from_the_image():
    torch.manual_seed(0)
    refiner = MaskRefiner(RefineConfig(size=32, channels=16, dilations=(1, 2, 1)))
    opt = torch.optim.Adam(refiner.parameters(), lr=3e-3)
    losses = []
    for step in range(120):
        image, logits, target = _sharp_example(step % 5)
        loss, count = refiner.loss(image, logits, target, jitter=0.1)
        assert count == 1
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    image, logits, target = _sharp_example(2)
    with torch.no_grad():
        refined = refiner(image, logits)
    before, after = _iou(logits[0] > 0, target[0] > 0), _iou(refined[0] > 0, target[0] > 0)
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10])
    assert after > before + 0.05 and after > 0.9


def test_refine_config_errors():
    assert not RefineConfig().enabled and RefineConfig(size=8).enabled
    with pytest.raises(ConfigError, match="refine"):
        RefineConfig(size=-1)
