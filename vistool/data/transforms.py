"""Clip-consistent augmentation of training clips.

Every transform takes a :class:`~vistool.structures.ClipSample` and returns a
new one; random parameters are drawn once per clip (from the given
``torch.Generator``) and applied to all T frames, to images, masks and boxes
together. Boxes are recomputed from the masks after every geometric step, and
an instance whose mask becomes empty in a frame is absent there (zero box);
instances left with no present frame are dropped from the clip.

Warping, flipping and colour changes are torchvision's
(``torchvision.transforms.v2.functional``).

Box convention: ``x2 = last foreground column + 1`` (and likewise ``y2``), so
a one-pixel mask has a 1x1 box and boxes agree with YouTube-VIS ``bboxes``
(``[x, y, w, h]`` from pycocotools) converted to xyxy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import torch
from torch import Tensor
from torchvision.ops import masks_to_boxes
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from vistool.structures import ClipSample

ClipTransform = Callable[[ClipSample, "torch.Generator | None"], ClipSample]
"""A transform: ``transform(sample, generator) -> sample``."""


def boxes_from_masks(masks: Tensor) -> tuple[Tensor, Tensor]:
    """Tight xyxy boxes and presence of instance masks.

    Args:
        masks: (K, T, H, W) bool.

    Returns:
        boxes (K, T, 4) float32 (zeros where the mask is empty) and
        present (K, T) bool (mask not empty).
    """
    k, t = masks.shape[:2]
    flat = masks.reshape(k * t, *masks.shape[2:])  # (K*T, H, W)
    present = flat.flatten(1).any(dim=1) if flat.numel() else torch.zeros(k * t, dtype=torch.bool)
    boxes = torch.zeros((k * t, 4), dtype=torch.float32)
    if bool(present.any()):
        found = masks_to_boxes(flat[present]).to(torch.float32)  # (P, 4), inclusive max
        found[:, 2:] += 1.0
        boxes[present] = found
    return boxes.reshape(k, t, 4), present.reshape(k, t)


def with_masks(sample: ClipSample, images: Tensor, masks: Tensor) -> ClipSample:
    """A sample with new images and masks; boxes/presence recomputed, empty instances dropped.

    Args:
        sample: the source sample (ids, labels, frame indices are kept).
        images: (T, 3, H, W) uint8.
        masks: (K, T, H, W) bool, same K as ``sample``.
    """
    boxes, present = boxes_from_masks(masks)
    keep = present.any(dim=1)  # (K,)
    return replace(
        sample, images=images, instance_ids=sample.instance_ids[keep], labels=sample.labels[keep],
        boxes=boxes[keep], masks=masks[keep], present=present[keep],
    )


def fit_size(height: int, width: int, size: tuple[int, int], scale: float = 1.0) -> tuple[int, int]:
    """(H, W) after scaling a frame to fit inside ``size`` = (width, height), times ``scale``."""
    factor = min(size[0] / width, size[1] / height) * scale
    return max(1, round(height * factor)), max(1, round(width * factor))


def resize_clip(sample: ClipSample, hw: tuple[int, int]) -> ClipSample:
    """Resize all frames and masks of a clip to ``hw`` = (H, W) (bilinear images, nearest masks)."""
    t, _, h, w = sample.images.shape
    if (h, w) == tuple(hw):
        return sample
    images = F.resize(sample.images, list(hw), interpolation=InterpolationMode.BILINEAR, antialias=True)
    k = sample.masks.shape[0]
    if k == 0:
        masks = torch.zeros((0, t, *hw), dtype=torch.bool)
    else:
        flat = sample.masks.reshape(k * t, h, w).to(torch.uint8)
        masks = F.resize(flat, list(hw), interpolation=InterpolationMode.NEAREST_EXACT).bool()
        masks = masks.reshape(k, t, *hw)
    return with_masks(sample, images, masks)


def crop_clip(sample: ClipSample, top: int, left: int, height: int, width: int) -> ClipSample:
    """Crop the same window from every frame; instances that leave it become absent."""
    images = F.crop(sample.images, top, left, height, width)
    masks = sample.masks[..., top:top + height, left:left + width]
    return with_masks(sample, images, masks.contiguous())


def flip_clip(sample: ClipSample) -> ClipSample:
    """Mirror every frame and mask left-right."""
    return with_masks(sample, F.horizontal_flip(sample.images), F.horizontal_flip(sample.masks))


@dataclass(frozen=True)
class AugmentParams:
    """The random choices of one clip, shared by its T frames.

    Attributes:
        resized_hw: (H, W) after scale jitter.
        crop: (top, left, height, width) window in the resized frame.
        flip: mirror left-right.
        brightness, contrast, saturation: multiplicative factors (1 = unchanged).
        hue: hue shift in [-0.5, 0.5] (0 = unchanged).
    """

    resized_hw: tuple[int, int]
    crop: tuple[int, int, int, int]
    flip: bool
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0


def photometric(images: Tensor, params: AugmentParams) -> Tensor:
    """Brightness, contrast, saturation, then hue, on (T, 3, H, W) uint8 frames."""
    if params.brightness != 1.0:
        images = F.adjust_brightness(images, params.brightness)
    if params.contrast != 1.0:
        images = F.adjust_contrast(images, params.contrast)
    if params.saturation != 1.0:
        images = F.adjust_saturation(images, params.saturation)
    if params.hue != 0.0:
        images = F.adjust_hue(images, params.hue)
    return images


def _uniform(generator: torch.Generator | None, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator | None, low: int, high: int) -> int:
    """Uniform integer in [low, high] (both inclusive)."""
    return int(torch.randint(low, high + 1, (), generator=generator))


@dataclass(frozen=True)
class ClipAugment:
    """Training augmentation: scale jitter, random crop, flip, colour jitter.

    The clip is resized to fit inside ``size`` keeping its aspect ratio, times
    a scale drawn from ``scale_range``; where it is then larger than ``size``
    a random window of at most ``size`` is cropped. Output frames are never
    larger than ``size``; batches are padded by :func:`collate_clips`.

    Attributes:
        size: target (width, height).
        scale_range: scale jitter bounds around the fitted size.
        flip_prob: probability of a left-right flip.
        brightness, contrast, saturation: factors drawn from [1 - x, 1 + x].
        hue: shift drawn from [-hue, hue]; 0 (the default) skips it, because
            torchvision's hue shift (through HSV) costs about 27 ms per 640x360
            frame on one CPU core, five times the other colour changes together.
    """

    size: tuple[int, int]
    scale_range: tuple[float, float] = (0.75, 1.25)
    flip_prob: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25
    hue: float = 0.0

    def sample_params(self, height: int, width: int, generator: torch.Generator | None = None) -> AugmentParams:
        """Draw the parameters for a clip of (height, width) frames."""
        scale = _uniform(generator, *self.scale_range)
        rh, rw = fit_size(height, width, self.size, scale)
        ch, cw = min(rh, self.size[1]), min(rw, self.size[0])
        top, left = _randint(generator, 0, rh - ch), _randint(generator, 0, rw - cw)
        flip = float(torch.rand((), generator=generator)) < self.flip_prob
        return AugmentParams(
            resized_hw=(rh, rw), crop=(top, left, ch, cw), flip=flip,
            brightness=_uniform(generator, 1 - self.brightness, 1 + self.brightness),
            contrast=_uniform(generator, 1 - self.contrast, 1 + self.contrast),
            saturation=_uniform(generator, 1 - self.saturation, 1 + self.saturation),
            hue=_uniform(generator, -self.hue, self.hue),
        )

    def apply(self, sample: ClipSample, params: AugmentParams) -> ClipSample:
        """Apply given parameters to every frame of ``sample``."""
        out = resize_clip(sample, params.resized_hw)
        top, left, ch, cw = params.crop
        if (ch, cw) != params.resized_hw:
            out = crop_clip(out, top, left, ch, cw)
        if params.flip:
            out = flip_clip(out)
        return replace(out, images=photometric(out.images, params))

    def __call__(self, sample: ClipSample, generator: torch.Generator | None = None) -> ClipSample:
        _, _, h, w = sample.images.shape
        return self.apply(sample, self.sample_params(h, w, generator))


@dataclass(frozen=True)
class ClipResize:
    """Evaluation transform: resize to fit inside ``size`` = (width, height), keeping aspect."""

    size: tuple[int, int]

    def __call__(self, sample: ClipSample, generator: torch.Generator | None = None) -> ClipSample:
        _, _, h, w = sample.images.shape
        return resize_clip(sample, fit_size(h, w, self.size))
