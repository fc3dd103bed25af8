"""Simulated motion for still-image training data (TLTM's augmentation, digest section 3.3).

A still image given as a clip (a one-frame video repeated, so every frame is
the same picture) teaches a temporal model nothing about motion. Here each
frame after the first is the previous one moved by a random affine transform
(translation up to ``translate`` of the frame, rotation up to ``degrees``; the
authors' configuration: 20 % and 20 degrees), masks moved with it, and with
probability ``blur_prob`` the moved frame is blurred along a random direction
with a line kernel of 7 to 9 pixels (motion blur). Torchvision warps; the
line kernel is written here (torchvision has no motion blur).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as TF
from torch import Tensor
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from vistool.data.transforms import with_masks
from vistool.structures import ClipSample


def is_still(sample: ClipSample) -> bool:
    """True for a clip of two or more frames that all show the same frame of the source."""
    return len(sample.frame_indices) > 1 and len(set(sample.frame_indices)) == 1


def line_kernel(size: int, angle: float) -> Tensor:
    """(size, size) normalised kernel: a line through the centre at ``angle`` radians."""
    kernel = torch.zeros(size, size)
    centre = (size - 1) / 2
    for step in torch.linspace(-centre, centre, 4 * size).tolist():
        x, y = round(centre + step * math.cos(angle)), round(centre + step * math.sin(angle))
        kernel[y, x] = 1.0
    return kernel / kernel.sum()


def motion_blur(image: Tensor, size: int, angle: float) -> Tensor:
    """(3, H, W) uint8 blurred with :func:`line_kernel` (reflect padding)."""
    kernel = line_kernel(size, angle)[None, None].expand(3, 1, size, size)
    padded = TF.pad(image[None].float(), [size // 2] * 4, mode="reflect")
    return TF.conv2d(padded, kernel, groups=3)[0].round().clamp(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class StillMotion:
    """Moves every frame of a still clip after the first (see the module docstring)."""

    translate: float = 0.2
    degrees: float = 20.0
    blur_prob: float = 0.5
    blur_sizes: tuple[int, int] = (7, 9)

    def __call__(self, sample: ClipSample, generator: torch.Generator | None = None) -> ClipSample:
        if not is_still(sample):
            return sample
        _, _, h, w = sample.images.shape
        images, masks = [sample.images[0]], [sample.masks[:, 0]]
        for _ in range(1, len(sample.frame_indices)):
            shift = [round(self._uniform(generator, self.translate) * w), round(self._uniform(generator, self.translate) * h)]
            angle = self._uniform(generator, self.degrees)
            image = F.affine(images[-1], angle=angle, translate=shift, scale=1.0, shear=[0.0, 0.0],
                             interpolation=InterpolationMode.BILINEAR)
            mask = F.affine(masks[-1].to(torch.uint8), angle=angle, translate=shift, scale=1.0, shear=[0.0, 0.0],
                            interpolation=InterpolationMode.NEAREST).bool()
            if float(torch.rand((), generator=generator)) < self.blur_prob:
                low, high = self.blur_sizes
                size = int(torch.randint(low, high + 1, (), generator=generator)) | 1  # odd
                image = motion_blur(image, size, float(torch.rand((), generator=generator)) * math.pi)
            images.append(image)
            masks.append(mask)
        return with_masks(sample, torch.stack(images), torch.stack(masks, 1))

    @staticmethod
    def _uniform(generator: torch.Generator | None, bound: float) -> float:
        return (2 * float(torch.rand((), generator=generator)) - 1) * bound


@dataclass(frozen=True)
class TrainAugment:
    """The training transform: :class:`StillMotion` on still clips, then the clip augmentation ``augment``."""

    augment: object
    motion: StillMotion = StillMotion()

    def __call__(self, sample: ClipSample, generator: torch.Generator | None = None) -> ClipSample:
        return self.augment(self.motion(sample, generator), generator)
