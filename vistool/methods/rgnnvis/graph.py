"""The recurrent graph neural network of RGNNVIS (Sections 3.1.3, 3.3, 3.6.2; Table 8).

Nodes are the M tracks (plus the empty track, index 0) and the N detections;
every (track, detection) pair has an edge. ``num_blocks`` gated GNN blocks
(Eq. 1, with LayerNorm as Eq. 9 when ``layernorm``) alternate with
element-wise residual blocks (Eq. 2). With the paper's two GNN blocks the
layers are exactly Table 8 (GNN block 1: f_e = Linear(2 + 128 + det_dim, 128)
+ ReLU + Residual(128, 32) ...; GNN block 3: f_e = Linear(384, 128) ...).

Choices where the paper is silent:
- The empty track and its edges e_0n are "processed with their own set of
  weights": every block has a second copy of the edge and track functions
  used for row 0; the detection update sums the gated messages from both
  (each gated by its own copy's gate).
- e_0n starts as ``[0, appearance log-likelihood under the scene model]``
  (the IoU slot is zero; with separate weights this equals a 1-d input).
- The empty-track embedding is recurrent like the others; its initial value
  is a learned vector.
- Eq. 9 prints e^i in the node updates; we use e^{i+1} as Eq. 1 does (a typo).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vistool.models.gnn import BipartiteBlock, ElementwiseBlock


class _GraphStep(nn.Module):
    """One GNN block (or residual block) with separate weights for the empty track."""

    def __init__(self, main: nn.Module, empty: nn.Module):
        super().__init__()
        self.main, self.empty = main, empty

    def forward(self, edges: Tensor, tracks: Tensor, dets: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """edges (B, 1+M, N, E), tracks (B, 1+M, T), dets (B, N, Dd), mask (B, 1+M, N)."""
        e0, e = edges[:, :1], edges[:, 1:]
        t0, t = tracks[:, :1], tracks[:, 1:]
        m0, m = mask[:, :1], mask[:, 1:]
        if isinstance(self.main, ElementwiseBlock):
            e, t, dets = self.main(e, t, dets, m)
            e0, t0, _ = self.empty(e0, t0, dets, m0)
            return torch.cat([e0, e], 1), torch.cat([t0, t], 1), dets
        e = self.main.update_edges(e, t, dets, m)
        e0 = self.empty.update_edges(e0, t0, dets, m0)
        t = self.main.update_src(t, self.main.src_messages(e, m))
        t0 = self.empty.update_src(t0, self.empty.src_messages(e0, m0))
        msg = self.main.dst_messages(e, m) + self.empty.dst_messages(e0, m0)
        dets = self.main.update_dst(dets, msg)
        return torch.cat([e0, e], 1), torch.cat([t0, t], 1), dets


class TrackDetectionGNN(nn.Module):
    """Bipartite GNN over tracks and detections (Table 8 layout).

    Args:
        det_dim: detection embedding size (4 box + C classes + background).
        edge_dim: initial edge size (2: IoU, appearance log-likelihood).
        dim: embedding size after the first block (paper: 128).
        num_blocks: gated GNN blocks (paper: 2).
        residual_blocks: interleave element-wise residual blocks (paper: True).
        layernorm: LayerNorm in the GNN blocks (RGNNVIS++).
    """

    def __init__(self, det_dim: int, edge_dim: int = 2, dim: int = 128, num_blocks: int = 2,
                 residual_blocks: bool = True, layernorm: bool = True):
        super().__init__()
        bottleneck, steps = dim // 4, []
        for i in range(num_blocks):
            e_in, d_in = (edge_dim, det_dim) if i == 0 else (dim, dim)
            extra = bottleneck if i == 0 else None

            def block(update_dst: bool, e_in: int = e_in, d_in: int = d_in, extra: int | None = extra) -> nn.Module:
                return BipartiteBlock(e_in, dim, d_in, dim, gated=True, layernorm=layernorm, edge_bottleneck=extra,
                                      gate_hidden=bottleneck, update_dst=update_dst)

            steps.append(_GraphStep(block(True), block(False)))
            if residual_blocks:
                steps.append(_GraphStep(ElementwiseBlock(dim, bottleneck), ElementwiseBlock(dim, bottleneck, False)))
        self.steps = nn.ModuleList(steps)
        self.dim = dim

    def forward(self, edges: Tensor, tracks: Tensor, dets: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Run all blocks.

        Args:
            edges: (B, 1+M, N, edge_dim); row 0 belongs to the empty track.
            tracks: (B, 1+M, dim); index 0 is the empty track.
            dets: (B, N, det_dim).
            mask: (B, 1+M, N) bool, edges between existing nodes.

        Returns:
            edges (B, 1+M, N, dim), tracks (B, 1+M, dim), dets (B, N, dim).
        """
        for step in self.steps:
            edges, tracks, dets = step(edges, tracks, dets, mask)
        return edges, tracks, dets


class TrackLSTM(nn.Module):
    """LSTM-like gating of the GNN's track output (Eq. 6).

    ``c_t = f * c_{t-1} + i * tanh(h_cell(x))``, ``tau_t = o * tanh(c_t)`` with
    ``f, i, o = sigmoid(h_forget(x)), sigmoid(h_input(x)), sigmoid(h_output(x))``
    and every ``h`` linear on the GNN output ``x`` only (the previous state
    already entered through the GNN).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.gates = nn.Linear(dim, 4 * dim)

    def forward(self, x: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
        """(..., D) GNN output and previous cell -> (new embedding, new cell)."""
        f, i, o, g = self.gates(x).chunk(4, dim=-1)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(cell), cell
