"""Message passing on dense bipartite graphs (source nodes x destination nodes).

A graph of M source nodes (e.g. tracks), N destination nodes (e.g. detections)
and an edge embedding for every (m, n) pair is held in dense tensors with a
validity mask, so that batches of graphs of different sizes share one shape:

- ``edges``: (B, M, N, De)
- ``src``: (B, M, Ds)
- ``dst``: (B, N, Dd)
- ``mask``: (B, M, N) bool, True for edges between two existing nodes.

:class:`BipartiteBlock` is one message-passing step (edge update from
``[edge, src, dst]``, node updates from aggregated edge messages, optional
sigmoid gates on the messages and LayerNorm on the outputs), as used by
RGNNVIS (Eq. 1 and Eq. 9 of its paper); VisSTG-style ungated sums are the
``gated=False`` case. :class:`ResidualMLP` is a ResNet bottleneck with linear
layers and :class:`ElementwiseBlock` applies one to every graph element with
no exchange between elements (RGNNVIS Eq. 2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ResidualMLP(nn.Module):
    """ResNet bottleneck with linear layers: ``relu(x + L3(relu(L2(relu(L1(x))))))``.

    ``Residual(Din, Dbottleneck)`` in RGNNVIS Table 8: three linear layers,
    ``Din -> Db -> Db -> Din``; like the convolutional bottleneck, a ReLU
    follows the skip connection.
    """

    def __init__(self, dim: int, bottleneck: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(dim, bottleneck), nn.ReLU(inplace=True),
            nn.Linear(bottleneck, bottleneck), nn.ReLU(inplace=True),
            nn.Linear(bottleneck, dim),
        )

    def forward(self, x: Tensor) -> Tensor:  # (..., D) -> (..., D)
        return torch.relu(x + self.body(x))


def _gate(dim: int, hidden: int) -> nn.Sequential:
    """Linear(dim, hidden) + ReLU + Linear(hidden, dim) + Sigmoid."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim), nn.Sigmoid())


def _linear_relu(din: int, dout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(din, dout), nn.ReLU(inplace=True))


def broadcast_pairs(edges: Tensor, src: Tensor, dst: Tensor) -> Tensor:
    """``[edge, src_m, dst_n]`` for every pair.

    Args:
        edges: (B, M, N, De); src: (B, M, Ds); dst: (B, N, Dd).

    Returns:
        (B, M, N, De + Ds + Dd)
    """
    b, m, n, _ = edges.shape
    src_b = src[:, :, None, :].expand(b, m, n, src.shape[-1])
    dst_b = dst[:, None, :, :].expand(b, m, n, dst.shape[-1])
    return torch.cat([edges, src_b, dst_b], dim=-1)


class BipartiteBlock(nn.Module):
    """One message-passing step on a dense bipartite graph.

    ``e' = f_e([e, s_m, d_n])``; ``s' = f_s([s, sum_n g_s(e') * e'])``;
    ``d' = f_d([d, sum_m g_d(e') * e'])``. Each ``f`` is Linear + ReLU
    (optionally followed by a :class:`ResidualMLP` for the edges) and, with
    ``layernorm``, LayerNorm over the channels. Messages over masked edges
    are zero.

    The steps are also exposed one by one (:meth:`update_edges`,
    :meth:`src_messages`, :meth:`dst_messages`, :meth:`update_src`,
    :meth:`update_dst`) so that a caller can combine several blocks on one
    set of nodes (e.g. extra source nodes with their own weights).

    Args:
        edge_dim, src_dim, dst_dim: input sizes.
        out_dim: size of every output embedding.
        gated: multiply messages by a sigmoid gate computed from the message.
        layernorm: LayerNorm on each output (RGNNVIS++ Eq. 9).
        edge_bottleneck: add ``ResidualMLP(out_dim, edge_bottleneck)`` to ``f_e``.
        gate_hidden: hidden width of the gate MLPs.
        update_dst: False builds no destination update (its caller does it).
    """

    def __init__(self, edge_dim: int, src_dim: int, dst_dim: int, out_dim: int, *, gated: bool = True,
                 layernorm: bool = False, edge_bottleneck: int | None = None, gate_hidden: int = 32,
                 update_dst: bool = True):
        super().__init__()
        f_e: list[nn.Module] = [nn.Linear(edge_dim + src_dim + dst_dim, out_dim), nn.ReLU(inplace=True)]
        if edge_bottleneck is not None:
            f_e.append(ResidualMLP(out_dim, edge_bottleneck))
        self.f_edge = nn.Sequential(*f_e)
        self.f_src = _linear_relu(src_dim + out_dim, out_dim)
        self.f_dst = _linear_relu(dst_dim + out_dim, out_dim) if update_dst else None
        self.g_src = _gate(out_dim, gate_hidden) if gated else None
        self.g_dst = _gate(out_dim, gate_hidden) if gated else None
        self.norm_edge = nn.LayerNorm(out_dim) if layernorm else nn.Identity()
        self.norm_src = nn.LayerNorm(out_dim) if layernorm else nn.Identity()
        self.norm_dst = nn.LayerNorm(out_dim) if layernorm and update_dst else nn.Identity()

    def update_edges(self, edges: Tensor, src: Tensor, dst: Tensor, mask: Tensor) -> Tensor:
        """New edge embeddings (B, M, N, out_dim), zero on masked edges."""
        out = self.norm_edge(self.f_edge(broadcast_pairs(edges, src, dst)))
        return out * mask[..., None].to(out.dtype)

    @staticmethod
    def _messages(edges: Tensor, gate: nn.Module | None, mask: Tensor, dim: int) -> Tensor:
        msg = edges if gate is None else gate(edges) * edges
        return (msg * mask[..., None].to(msg.dtype)).sum(dim=dim)

    def src_messages(self, edges: Tensor, mask: Tensor) -> Tensor:
        """Sum over destinations of the gated edge messages: (B, M, out_dim)."""
        return self._messages(edges, self.g_src, mask, dim=2)

    def dst_messages(self, edges: Tensor, mask: Tensor) -> Tensor:
        """Sum over sources of the gated edge messages: (B, N, out_dim)."""
        return self._messages(edges, self.g_dst, mask, dim=1)

    def update_src(self, src: Tensor, messages: Tensor) -> Tensor:
        """(B, M, Ds), (B, M, out) -> (B, M, out)."""
        return self.norm_src(self.f_src(torch.cat([src, messages], dim=-1)))

    def update_dst(self, dst: Tensor, messages: Tensor) -> Tensor:
        """(B, N, Dd), (B, N, out) -> (B, N, out)."""
        if self.f_dst is None:
            raise RuntimeError("this BipartiteBlock was built with update_dst=False")
        return self.norm_dst(self.f_dst(torch.cat([dst, messages], dim=-1)))

    def forward(self, edges: Tensor, src: Tensor, dst: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One step on the whole graph; returns (edges, src, dst) with out_dim channels."""
        edges = self.update_edges(edges, src, dst, mask)
        src = self.update_src(src, self.src_messages(edges, mask))
        dst = self.update_dst(dst, self.dst_messages(edges, mask))
        return edges, src, dst


class ElementwiseBlock(nn.Module):
    """A :class:`ResidualMLP` on edges, source and destination nodes; no exchange.

    Args:
        dim: embedding size of all three element types.
        bottleneck: bottleneck width (RGNNVIS: ``dim // 4``).
        with_dst: False skips the destination nodes (returned unchanged).
    """

    def __init__(self, dim: int, bottleneck: int, with_dst: bool = True):
        super().__init__()
        self.f_edge = ResidualMLP(dim, bottleneck)
        self.f_src = ResidualMLP(dim, bottleneck)
        self.f_dst = ResidualMLP(dim, bottleneck) if with_dst else None

    def forward(self, edges: Tensor, src: Tensor, dst: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, M, N, D), (B, M, D), (B, N, D) -> same shapes; masked edges stay zero."""
        edges = self.f_edge(edges) * mask[..., None].to(edges.dtype)
        dst = self.f_dst(dst) if self.f_dst is not None else dst
        return edges, self.f_src(src), dst
