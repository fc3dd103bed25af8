"""Simulated motion on still-image clips (vistool.data.motion)."""

from dataclasses import replace

import torch

from tests.helpers.evis import crafted_video
from vistool.data.motion import StillMotion, TrainAugment, is_still, line_kernel, motion_blur
from vistool.data.transforms import ClipAugment


def _still(frames=3):
    video = crafted_video(frames)
    first = video.images[:1].expand(frames, -1, -1, -1).clone()
    return replace(video, frame_indices=[0] * frames, images=first, masks=video.masks[:, :1].expand(-1, frames, -1, -1)
                   .clone(), boxes=video.boxes[:, :1].expand(-1, frames, -1).clone(),
                   present=video.present[:, :1].expand(-1, frames).clone())


def test_a_still_clip_gets_moved_frames_with_masks_moved_alike():
    sample = _still()
    assert is_still(sample) and not is_still(crafted_video(3))
    out = StillMotion(blur_prob=0.0)(sample, torch.Generator().manual_seed(3))
    assert torch.equal(out.images[0], sample.images[0])
    assert not torch.equal(out.images[1], out.images[0])  # the next frame moved
    moved = (out.boxes[:, 1] - out.boxes[:, 0]).abs().sum()
    assert moved > 0 and out.present[:, 0].all()


def test_a_video_clip_is_left_alone_and_the_train_transform_still_augments():
    video = crafted_video(3)
    assert StillMotion()(video) is video
    out = TrainAugment(ClipAugment((48, 40)))(video, torch.Generator().manual_seed(0))
    assert out.images.shape[-1] <= 48 and out.images.shape[-2] <= 40


def test_motion_blur_spreads_a_point_along_a_line():
    kernel = line_kernel(7, 0.0)
    assert torch.isclose(kernel.sum(), torch.tensor(1.0)) and kernel[3].sum() == 1.0
    image = torch.zeros(3, 15, 15, dtype=torch.uint8)
    image[:, 7, 7] = 255
    blurred = motion_blur(image, 7, 0.0)
    assert blurred[0, 7].gt(0).sum() == 7 and blurred[0, 6].sum() == 0
