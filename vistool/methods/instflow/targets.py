"""Dense training targets of InstFlow on the stride-4 output grid.

For one frame: the semantic map (0 background, label + 1 on an instance's
cells), the class-agnostic centre heat map (a Gaussian of ``sigma`` pixels at
every instance's centre of mass, overlaps keep the maximum), the intra-frame
offsets (centre minus cell centre, in input pixels) and a per-cell loss weight
(0 on background: the paper supervises centres and offsets only on objects;
``small_weight`` on instances smaller than ``small_area`` pixels). For a
(reference, target) pair: the inter-frame offsets (the same instance's centre
in the reference minus the cell centre) where the instance is in both frames.
Masks are sampled at the cell centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vistool.methods.instflow.config import LossConfig
from vistool.models.heads.centers import gaussian_heatmap
from vistool.models.heads.panoptic_grouping import cell_centres


@dataclass
class FrameMaps:
    """Targets of one frame on an (h, w) grid.

    Attributes:
        semantic: (h, w) int64; center: (h, w); offsets: (2, h, w); weight: (h, w) (0 on background);
        owner: (h, w) int64 index of the instance of every cell (-1 background); centres: (K, 2) (x, y) pixels.
    """

    semantic: Tensor
    center: Tensor
    offsets: Tensor
    weight: Tensor
    owner: Tensor
    centres: Tensor


def cell_masks(masks: Tensor, size: tuple[int, int], stride: int) -> Tensor:
    """(K, H, W) bool masks sampled at the centres of an (h, w) grid of ``stride``-pixel cells."""
    h, w = size
    ys = (torch.arange(h, device=masks.device) * stride + stride // 2).clamp(max=masks.shape[-2] - 1)
    xs = (torch.arange(w, device=masks.device) * stride + stride // 2).clamp(max=masks.shape[-1] - 1)
    return masks[:, ys][:, :, xs]


def centres_of_mass(masks: Tensor) -> Tensor:
    """(K, H, W) bool -> (K, 2) (x, y) mean pixel centre (+0.5) of each mask (0 for an empty one)."""
    k, h, w = masks.shape
    m = masks.float()
    area = m.flatten(1).sum(1).clamp(min=1)
    xs = (torch.arange(w, device=masks.device, dtype=torch.float32) + 0.5)
    ys = (torch.arange(h, device=masks.device, dtype=torch.float32) + 0.5)
    return torch.stack([(m.sum(1) * xs).sum(1) / area, (m.sum(2) * ys).sum(1) / area], 1)


def frame_maps(masks: Tensor, labels: Tensor, size: tuple[int, int], stride: int, cfg: LossConfig) -> FrameMaps:
    """Targets of one frame from its K present instances ((K, H, W) bool masks, (K,) labels)."""
    h, w = size
    if len(masks) == 0:
        zeros = torch.zeros(size, device=masks.device)
        return FrameMaps(zeros.long(), zeros, zeros.new_zeros((2, h, w)), zeros,
                         torch.full(size, -1, dtype=torch.int64, device=masks.device), zeros.new_zeros((0, 2)))
    cells = cell_masks(masks, size, stride)  # (K, h, w)
    centres = centres_of_mass(masks)
    owner = torch.full((h, w), -1, dtype=torch.int64, device=masks.device)
    for k in range(len(cells)):
        owner[cells[k]] = k
    fg = owner >= 0
    semantic = torch.where(fg, labels.to(owner.device)[owner.clamp(min=0)] + 1, torch.zeros_like(owner))
    sigma = torch.full((len(centres),), cfg.center_sigma / stride, device=masks.device)
    center = gaussian_heatmap(centres / stride, sigma, size)[0] if len(centres) else masks.new_zeros(
        size, dtype=torch.float32)
    grid = cell_centres(h, w, stride, masks.device)
    offsets = torch.where(fg[None], centres[owner.clamp(min=0)].permute(2, 0, 1) - grid, torch.zeros_like(grid))
    small = masks.flatten(1).sum(1).float() < cfg.small_area
    weight = torch.where(fg, torch.where(small[owner.clamp(min=0)], cfg.small_weight, 1.0), torch.zeros(()))
    return FrameMaps(semantic, center, offsets, weight.float(), owner, centres)


def inter_offsets(target: FrameMaps, reference: FrameMaps, target_ids: Tensor, reference_ids: Tensor,
                  stride: int) -> tuple[Tensor, Tensor]:
    """(2, h, w) offsets from target cells to their instance's centre in the reference, and (h, w) bool valid.

    Args:
        target_ids, reference_ids: (K_t,), (K_r,) instance identities of the two frames' instances.
    """
    h, w = target.owner.shape
    if len(target_ids) == 0 or len(reference_ids) == 0:
        return target.offsets.new_zeros((2, h, w)), torch.zeros((h, w), dtype=torch.bool, device=target.owner.device)
    match = target_ids[:, None] == reference_ids[None, :]  # (K_t, K_r)
    has = match.any(1)
    ref_index = match.float().argmax(1)
    owner = target.owner.clamp(min=0)
    valid = (target.owner >= 0) & has[owner]
    grid = cell_centres(h, w, stride, target.owner.device)
    offsets = reference.centres[ref_index][owner].permute(2, 0, 1) - grid
    return torch.where(valid[None], offsets, torch.zeros_like(offsets)), valid
