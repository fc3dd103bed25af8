"""Crafted videos and tiny EfficientVIS configs shared by the EfficientVIS and training tests."""

from __future__ import annotations

from dataclasses import replace

import torch

from vistool.methods import efficientvis
from vistool.methods.efficientvis import Config, Model
from vistool.structures import ClipBatch, ClipSample

H, W = 48, 64
CATEGORIES = ["square", "disc"]


def tiny_config(**over) -> Config:
    """A model small enough to train for a few dozen steps in seconds on one CPU core."""
    return replace(efficientvis.tiny_config(), **over)


def tiny_model(seed: int = 0, **over) -> Model:
    torch.manual_seed(seed)
    return Model(tiny_config(**over), CATEGORIES)


def crafted_video(length: int = 6, seed: int = 0) -> ClipSample:
    """Two objects on a grey background: a red square moving right, a blue disc moving left."""
    gen = torch.Generator().manual_seed(seed)
    images = (torch.full((length, 3, H, W), 110) + torch.randint(-8, 9, (length, 3, H, W), generator=gen))
    masks = torch.zeros(2, length, H, W, dtype=torch.bool)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    for t in range(length):
        x0 = 4 + 3 * t
        masks[0, t, 8:22, x0:x0 + 14] = True
        cx, cy = W - 12 - 3 * t, 32
        masks[1, t] = (xx - cx) ** 2 + (yy - cy) ** 2 <= 64
    colours = torch.tensor([[220, 30, 30], [30, 40, 220]])
    for k in range(2):
        images = torch.where(masks[k][:, None], colours[k].view(1, 3, 1, 1), images)
    boxes = torch.zeros(2, length, 4)
    for k in range(2):
        for t in range(length):
            ys, xs = masks[k, t].nonzero(as_tuple=True)
            boxes[k, t] = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)
    return ClipSample(video_id=1, frame_indices=list(range(length)), images=images.clamp(0, 255).to(torch.uint8),
                      instance_ids=torch.tensor([1, 2]), labels=torch.tensor([0, 1]), boxes=boxes, masks=masks,
                      present=masks.flatten(2).any(-1))


def batch_of(*samples: ClipSample) -> ClipBatch:
    return ClipBatch(images=torch.stack([s.images for s in samples]), samples=list(samples))
