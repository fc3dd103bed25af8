"""Bipartite message passing (vistool.models.gnn) and the RGNNVIS graph network built from it."""

from __future__ import annotations

import torch
from torch import nn

from vistool.methods.rgnnvis.graph import TrackDetectionGNN, TrackLSTM
from vistool.models.gnn import BipartiteBlock, ElementwiseBlock, ResidualMLP


def _graph(b=2, m=4, n=3, de=2, ds=5, dd=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    edges = torch.randn(b, m, n, de, generator=g)
    src = torch.randn(b, m, ds, generator=g)
    dst = torch.randn(b, n, dd, generator=g)
    src_ok = torch.tensor([[True, True, False, False], [True, True, True, True]])
    dst_ok = torch.tensor([[True, False, True], [True, True, True]])
    mask = src_ok[:, :, None] & dst_ok[:, None, :]
    return edges, src, dst, mask, src_ok, dst_ok


def test_residual_mlp_is_a_bottleneck_with_skip():
    block = ResidualMLP(16, 4)
    widths = [(l.in_features, l.out_features) for l in block.modules() if isinstance(l, nn.Linear)]
    assert widths == [(16, 4), (4, 4), (4, 16)]
    x = torch.randn(3, 16)
    for layer in block.body:
        if isinstance(layer, nn.Linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
    assert torch.allclose(block(x), torch.relu(x))  # body silenced: only the skip (and final ReLU) remain


def test_bipartite_block_shapes_and_zero_masked_edges():
    edges, src, dst, mask, _, _ = _graph()
    block = BipartiteBlock(2, 5, 6, 8, gated=True, layernorm=True, edge_bottleneck=2)
    e, s, d = block(edges, src, dst, mask)
    assert e.shape == (2, 4, 3, 8) and s.shape == (2, 4, 8) and d.shape == (2, 3, 8)
    assert torch.all(e[~mask] == 0)
    assert torch.all(e[mask].abs().sum(-1) > 0)


def test_masked_nodes_do_not_influence_valid_nodes():
    edges, src, dst, mask, src_ok, dst_ok = _graph()
    block = BipartiteBlock(2, 5, 6, 8, gated=True, layernorm=True)
    e1, s1, d1 = block(edges, src, dst, mask)
    edges2, src2, dst2 = edges.clone(), src.clone(), dst.clone()
    src2[~src_ok] = 100.0  # garbage in empty slots
    dst2[~dst_ok] = -50.0
    edges2[~mask] = 7.0
    e2, s2, d2 = block(edges2, src2, dst2, mask)
    assert torch.allclose(e1[mask], e2[mask], atol=1e-5)
    assert torch.allclose(s1[src_ok], s2[src_ok], atol=1e-5)
    assert torch.allclose(d1[dst_ok], d2[dst_ok], atol=1e-5)


def test_ungated_block_sums_messages():
    edges, src, dst, mask, _, _ = _graph()
    block = BipartiteBlock(2, 5, 6, 8, gated=False)
    e = block.update_edges(edges, src, dst, mask)
    expected = (e * mask[..., None]).sum(2)
    assert torch.allclose(block.src_messages(e, mask), expected)
    assert torch.allclose(block.dst_messages(e, mask), (e * mask[..., None]).sum(1))


def test_gates_scale_messages():
    edges, src, dst, mask, _, _ = _graph()
    block = BipartiteBlock(2, 5, 6, 8, gated=True)
    last = block.g_src[2]
    nn.init.zeros_(last.weight)
    nn.init.constant_(last.bias, -30.0)  # gates closed
    e = block.update_edges(edges, src, dst, mask)
    assert torch.allclose(block.src_messages(e, mask), torch.zeros(2, 4, 8), atol=1e-6)


def test_elementwise_block_keeps_masked_edges_zero():
    edges, _, _, mask, _, _ = _graph(de=8, ds=8, dd=8)
    src, dst = torch.randn(2, 4, 8), torch.randn(2, 3, 8)
    e, s, d = ElementwiseBlock(8, 2)(edges * mask[..., None], src, dst, mask)
    assert torch.all(e[~mask] == 0) and s.shape == src.shape and d.shape == dst.shape


def test_rgnnvis_gnn_has_table8_layers_for_40_classes():
    gnn = TrackDetectionGNN(det_dim=45, edge_dim=2, dim=128, num_blocks=2)
    main = [gnn.steps[i].main for i in range(4)]
    assert main[0].f_edge[0].in_features == 175 and main[0].f_edge[0].out_features == 128
    assert isinstance(main[0].f_edge[2], ResidualMLP)
    assert main[0].f_src[0].in_features == 256 and main[0].f_dst[0].in_features == 173
    assert [l.out_features for l in main[0].g_src if isinstance(l, nn.Linear)] == [32, 128]
    assert isinstance(main[1], ElementwiseBlock) and isinstance(main[3], ElementwiseBlock)
    assert main[2].f_edge[0].in_features == 384 and main[2].f_dst[0].in_features == 256
    assert isinstance(main[0].norm_edge, nn.LayerNorm)


def test_rgnnvis_gnn_masked_slots_and_empty_track():
    b, m, n = 2, 5, 4
    gnn = TrackDetectionGNN(det_dim=7, dim=16, num_blocks=2)
    alive = torch.tensor([[True, True, False, False, False], [True, False, True, False, False]])
    valid = torch.tensor([[True, True, True, False], [True, False, False, False]])
    rows = torch.cat([torch.ones(b, 1, dtype=torch.bool), alive], 1)
    mask = rows[:, :, None] & valid[:, None, :]
    edges, tracks, dets = torch.randn(b, 1 + m, n, 2), torch.randn(b, 1 + m, 16), torch.randn(b, n, 7)
    e, t, d = gnn(edges, tracks, dets, mask)
    assert e.shape == (b, 1 + m, n, 16) and t.shape == (b, 1 + m, 16) and d.shape == (b, n, 16)
    assert torch.all(e[~mask] == 0)
    tracks2 = tracks.clone()
    tracks2[:, 1:][~alive] = 99.0
    e2, t2, d2 = gnn(edges, tracks2, dets, mask)
    assert torch.allclose(d[valid], d2[valid], atol=1e-5)
    assert torch.allclose(t[rows], t2[rows], atol=1e-5)


def test_track_lstm_follows_eq6():
    lstm = TrackLSTM(3)
    x, c_prev = torch.randn(4, 3), torch.randn(4, 3)
    f, i, o, g = lstm.gates(x).chunk(4, -1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    tau, cell = lstm(x, c_prev)
    assert torch.allclose(cell, c) and torch.allclose(tau, torch.sigmoid(o) * torch.tanh(c))
    assert tau.abs().max() < 1.0
