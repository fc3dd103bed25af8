"""The spatial-temporal graph of one FPN level between a reference frame and a target frame.

Nodes: the reference frame's instances (RoIAlign features of their boxes
averaged and projected to one D-vector) and the target frame's pixels (its
FPN features, D = FPN width). Edges join an instance only to the target pixels
inside a w x w window around the instance's centre cell (none inside a frame).
An edge starts as ``|h_i - h_j|``; each of the L rounds updates every edge from
``[edge, h_i, h_j]`` (the shared :class:`vistool.models.gnn.BipartiteBlock`
edge update, one edge per row) and then the nodes from the sum of messages over
their edges: for a target pixel a linear message added to it (residual; these
messages start at zero, so an untrained graph leaves the features as they
are), for an instance the block's node update of ``[h_i, sum of edges]``. The
updated target nodes, reshaped, are the fused map the heads read; pixels
outside every window keep their features. A binary classifier on each final
edge and its updated instance node scores "same instance". Weights are shared
by the levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vistool.models.gnn import BipartiteBlock


@dataclass
class GraphOutput:
    """Fused target level (1, C, h, w); per edge the instance (E,), the flat target cell (E,), the logit (E,)."""

    fused: Tensor
    inst: Tensor
    pix: Tensor
    logits: Tensor


def window_pairs(centres: Tensor, size: tuple[int, int], window: int) -> tuple[Tensor, Tensor]:
    """(instance, flat cell) of every edge: cells within ``window // 2`` of each (x, y) centre cell, in bounds.

    Args:
        centres: (M, 2) centres in cells (floats; the cell is the floor).
    """
    h, w = size
    r = window // 2
    steps = torch.arange(-r, r + 1, device=centres.device)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    cx = centres[:, 0].floor().long()[:, None] + dx.flatten()[None]  # (M, w*w)
    cy = centres[:, 1].floor().long()[:, None] + dy.flatten()[None]
    ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
    inst = torch.arange(len(centres), device=centres.device)[:, None].expand_as(cx)
    return inst[ok], (cy * w + cx)[ok]


class SpatialTemporalGraph(nn.Module):
    """L rounds of edge and node updates on windowed instance-pixel edges (see the module docstring)."""

    def __init__(self, dim: int, iterations: int, window: int):
        super().__init__()
        self.window = window
        self.blocks = nn.ModuleList([BipartiteBlock(dim, dim, dim, dim, gated=False, update_dst=False)
                                     for _ in range(iterations)])
        self.to_pixel = nn.ModuleList([nn.Linear(dim, dim) for _ in range(iterations)])
        for layer in self.to_pixel:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.classifier = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, 1))

    def forward(self, nodes: Tensor, centres: Tensor, feat: Tensor, stride: int) -> GraphOutput:
        """Reference instances (M, D) with centres (M, 2) in input pixels; target level (1, D, h, w)."""
        _, dim, h, w = feat.shape
        pixels = feat[0].flatten(1).T  # (h*w, D)
        inst, pix = window_pairs(centres / stride, (h, w), self.window)
        edges = (nodes[inst] - pixels[pix]).abs()
        ones = torch.ones(len(inst), 1, 1, dtype=torch.bool, device=feat.device)
        for block, to_pixel in zip(self.blocks, self.to_pixel):
            edges = block.update_edges(edges[:, None, None], nodes[inst][:, None], pixels[pix][:, None], ones)[:, 0, 0]
            pixels = pixels.index_add(0, pix, to_pixel(edges))
            messages = nodes.new_zeros(nodes.shape).index_add(0, inst, edges)
            nodes = block.update_src(nodes[None], messages[None])[0]
        fused = pixels.T.reshape(1, dim, h, w)
        return GraphOutput(fused, inst, pix, self.classifier(torch.cat([edges, nodes[inst]], 1))[:, 0])
