"""Panoptic-DeepLab's bottom-up grouping: centre peaks, then every foreground pixel to its nearest centre.

Maps are on a grid of ``stride``-pixel cells; offsets are in input pixels and
point from a pixel to its instance centre (pixel + offset = centre). Centres
are peaks of the centre heat map inside the foreground (max-pool NMS,
threshold, top k; :func:`vistool.models.heads.centers.extract_peaks`); a
foreground pixel takes the id of the centre nearest to where its offset points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vistool.models.heads.centers import extract_peaks


@dataclass
class Grouping:
    """Instances of one frame.

    Attributes:
        ids: (h, w) int64, 0 background, m = 1..M the instance of centre m - 1.
        centers: (M, 2) float (x, y) input pixels; peaks: (M,) centre heat-map values.
    """

    ids: Tensor
    centers: Tensor
    peaks: Tensor

    def __len__(self) -> int:
        return int(self.peaks.shape[0])


def cell_centres(height: int, width: int, stride: int, device: torch.device) -> Tensor:
    """(2, h, w) the (x, y) input-pixel centre of every cell."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * stride
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"))


def group_pixels(foreground: Tensor, center: Tensor, offsets: Tensor, stride: int, threshold: float,
                 kernel: int, top_k: int) -> Grouping:
    """Group the pixels of one frame.

    Args:
        foreground: (h, w) bool; center: (h, w) heat map; offsets: (2, h, w) (dx, dy) input pixels.
        stride: input pixels per cell; threshold, kernel, top_k: centre peak extraction.
    """
    h, w = center.shape
    peaks = extract_peaks((center * foreground)[None], threshold, top_k, kernel)
    centers = torch.stack([(peaks.xs.float() + 0.5) * stride, (peaks.ys.float() + 0.5) * stride], 1)
    ids = torch.zeros((h, w), dtype=torch.int64, device=center.device)
    if len(peaks) == 0:
        return Grouping(ids, centers, peaks.scores)
    pointed = (cell_centres(h, w, stride, center.device) + offsets).flatten(1).T  # (h*w, 2)
    nearest = torch.cdist(pointed, centers).argmin(1).reshape(h, w) + 1
    ids = torch.where(foreground, nearest, ids)
    return Grouping(ids, centers, peaks.scores)
