"""Clip-consistent augmentation: same parameters for every frame, boxes follow masks."""

from __future__ import annotations

import torch

from vistool.data.transforms import AugmentParams, ClipAugment, ClipResize, boxes_from_masks
from vistool.structures import ClipSample

T, H, W = 3, 48, 64


def _sample(moving: bool = True, same_frames: bool = False) -> ClipSample:
    """Two instances: A moves right (x from 2 to 2+20t), B sits at the left edge."""
    gen = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, H, W), dtype=torch.uint8, generator=gen)
    images = image.expand(T, 3, H, W).clone() if same_frames else \
        torch.randint(0, 256, (T, 3, H, W), dtype=torch.uint8, generator=gen)
    masks = torch.zeros((2, T, H, W), dtype=torch.bool)
    for t in range(T):
        x = 2 + (20 * t if moving else 0)
        masks[0, t, 10:30, x:x + 12] = True
        masks[1, t, 5:15, 0:6] = True
    boxes, present = boxes_from_masks(masks)
    return ClipSample(video_id=1, frame_indices=list(range(T)), images=images,
                      instance_ids=torch.tensor([4, 8]), labels=torch.tensor([0, 2]),
                      boxes=boxes, masks=masks, present=present)


def _reference_boxes(masks: torch.Tensor) -> torch.Tensor:
    """xyxy (x2 = last column + 1) from nonzero(), zeros for empty masks."""
    out = torch.zeros(*masks.shape[:2], 4)
    for k in range(masks.shape[0]):
        for t in range(masks.shape[1]):
            ys, xs = torch.nonzero(masks[k, t], as_tuple=True)
            if len(xs):
                out[k, t] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
    return out


def test_boxes_from_masks_convention() -> None:
    s = _sample()
    assert s.boxes[0, 1].tolist() == [22, 10, 34, 30]
    assert torch.equal(s.boxes, _reference_boxes(s.masks)) and s.present.all()


def test_flip_is_applied_to_every_frame() -> None:
    s = _sample()
    aug = ClipAugment((W, H), brightness=0, contrast=0, saturation=0, hue=0)
    out = aug.apply(s, AugmentParams(resized_hw=(H, W), crop=(0, 0, H, W), flip=True))
    assert torch.equal(out.images, s.images.flip(-1)) and torch.equal(out.masks, s.masks.flip(-1))
    assert torch.equal(out.boxes[..., 0], W - s.boxes[..., 2])
    assert torch.equal(out.boxes[..., 2], W - s.boxes[..., 0])
    assert out.instance_ids.tolist() == [4, 8]


def test_random_augment_treats_identical_frames_identically() -> None:
    s = _sample(moving=False, same_frames=True)
    aug = ClipAugment((40, 30), scale_range=(0.8, 1.6), flip_prob=0.5)
    flips, crops = set(), set()
    for seed in range(12):
        gen = torch.Generator().manual_seed(seed)
        params = aug.sample_params(H, W, torch.Generator().manual_seed(seed))
        out = aug(s, gen)
        flips.add(params.flip)
        crops.add(params.crop[:2])
        for t in range(1, T):
            assert torch.equal(out.images[t], out.images[0])
            assert torch.equal(out.masks[:, t], out.masks[:, 0])
            assert torch.equal(out.boxes[:, t], out.boxes[:, 0])
    assert flips == {True, False} and len(crops) > 1


def test_boxes_match_masks_after_random_augment() -> None:
    s = _sample()
    aug = ClipAugment((40, 30), scale_range=(0.5, 2.0))
    for seed in range(10):
        out = aug(s, torch.Generator().manual_seed(seed))
        _, _, h, w = out.images.shape
        assert h <= 30 and w <= 40 and out.masks.shape[-2:] == (h, w)
        assert torch.equal(out.boxes, _reference_boxes(out.masks))
        assert torch.equal(out.present, out.masks.flatten(2).any(-1))
        assert out.present.any(dim=1).all()  # instances with no frame left are dropped


def test_cropped_out_instance_becomes_absent_or_dropped() -> None:
    s = _sample()
    aug = ClipAugment((W, H))
    # Window x in [30, 64): A (x 2..14 at t=0, 22..34 at t=1, 42..54 at t=2) leaves frame 0;
    # B (x 0..6) leaves every frame and is dropped.
    out = aug.apply(s, AugmentParams(resized_hw=(H, W), crop=(0, 30, H, 34), flip=False))
    assert out.instance_ids.tolist() == [4]
    assert out.present[0].tolist() == [False, True, True]
    assert out.boxes[0, 0].tolist() == [0, 0, 0, 0] and not out.masks[0, 0].any()
    assert out.boxes[0, 1].tolist() == [0, 10, 4, 30]
    assert out.boxes[0, 2].tolist() == [12, 10, 24, 30]


def test_augment_is_deterministic_given_a_generator() -> None:
    s = _sample()
    aug = ClipAugment((40, 30))
    a = aug(s, torch.Generator().manual_seed(3))
    b = aug(s, torch.Generator().manual_seed(3))
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    outs = [aug(s, torch.Generator().manual_seed(k)).images for k in range(4)]
    assert any(o.shape != outs[0].shape or not torch.equal(o, outs[0]) for o in outs[1:])


def test_photometric_jitter_is_shared_by_frames() -> None:
    s = _sample(same_frames=True)
    aug = ClipAugment((W, H))
    params = AugmentParams(resized_hw=(H, W), crop=(0, 0, H, W), flip=False,
                           brightness=1.3, contrast=0.7, saturation=1.4, hue=0.1)
    out = aug.apply(s, params)
    assert not torch.equal(out.images, s.images)
    assert all(torch.equal(out.images[t], out.images[0]) for t in range(T))


def test_eval_resize_keeps_aspect_and_only_resizes() -> None:
    s = _sample()
    out = ClipResize((32, 32))(s)
    assert out.images.shape == (T, 3, 24, 32) and out.masks.dtype == torch.bool
    assert torch.equal(out.boxes, _reference_boxes(out.masks))
    assert out.boxes[0, 0].tolist() == [1, 5, 7, 15]  # halved
    assert torch.equal(ClipResize((W, H))(s).images, s.images)
