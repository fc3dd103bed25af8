"""VisSTG: the window rule of the graph, propagation, tracking by edges and the occlusion memory."""

from __future__ import annotations

import torch

from tests.helpers.evis import CATEGORIES, batch_of, crafted_video
from vistool.methods.visstg import Model, tiny_config
from vistool.methods.visstg.graph import SpatialTemporalGraph, window_pairs
from vistool.methods.visstg.model import FrameOutput
from vistool.methods.visstg.propagation import FilterPropagation
from vistool.methods.visstg.tracker import RefInstance, carry_memory, match_by_edges
from vistool.models.heads.centernet import CenterDetections
from vistool.models.heads.condinst import Controller, MaskBranch, dynamic_masks
from vistool.structures import Clip


def test_window_pairs_stay_inside_w_by_w_around_each_centre():
    inst, pix = window_pairs(torch.tensor([[5.5, 4.2], [0.0, 0.0]]), (10, 12), 3)
    ys, xs = pix // 12, pix % 12
    first = inst == 0
    assert first.sum() == 9 and (xs[first] - 5).abs().max() == 1 and (ys[first] - 4).abs().max() == 1
    assert (inst == 1).sum() == 4  # a corner keeps its in-bounds cells only


def test_no_edge_and_no_change_outside_the_window_even_with_trained_weights():
    torch.manual_seed(0)
    graph = SpatialTemporalGraph(8, iterations=3, window=3)
    for layer in graph.to_pixel:
        torch.nn.init.normal_(layer.weight)  # as after training: messages change the pixels they reach
    feat = torch.randn(1, 8, 10, 12)
    out = graph(torch.randn(1, 8), torch.tensor([[44.0, 36.0]]), feat, stride=8)  # centre cell (5, 4)
    changed = (out.fused != feat)[0].any(0)  # (h, w)
    assert changed[3:6, 4:7].all()
    changed[3:6, 4:7] = False
    assert not changed.any()
    assert len(out.logits) == 9 and set(out.pix.tolist()) == {y * 12 + x for y in range(3, 6) for x in range(4, 7)}


def test_propagation_starts_as_the_new_filters_and_warps_by_offsets():
    prop = FilterPropagation(4, 6)
    ref, new = torch.randn(1, 6, 5, 5), torch.randn(1, 6, 5, 5)
    f_ref, f_new = torch.randn(1, 4, 5, 5), torch.randn(1, 4, 5, 5)
    out = prop(ref, new, f_ref, f_new)
    assert torch.allclose(out, new, atol=0.05 * new.abs().max())  # attention starts near 0
    torch.nn.init.constant_(prop.attention.bias, 20.0)
    torch.nn.init.zeros_(prop.attention.weight)
    assert torch.allclose(prop(ref, new, f_ref, f_new), ref, atol=1e-5)  # zero offsets: the identity warp


def test_each_target_keeps_its_best_edge_of_its_class_and_weak_edges_start_tracks():
    scores = torch.tensor([[0.9, 0.2, 0.8], [0.6, 0.7, -float("inf")]])
    refs, labels = torch.tensor([0, 1]), torch.tensor([0, 1, 0])
    assert match_by_edges(scores, refs, labels, 0.5).tolist() == [0, 1, -1]  # target 2 loses ref 0 to target 0
    assert match_by_edges(scores, refs, torch.tensor([1, 1, 1]), 0.5).tolist() == [-1, 1, -1]  # 0.7 beats 0.6
    assert match_by_edges(scores, refs, labels, 0.95).tolist() == [-1, -1, -1]


def _hidden(frames_hidden):
    """An instance seen in frame 0, hidden for ``frames_hidden`` frames, then back: the id it gets."""
    ref = RefInstance(7, 0, torch.zeros(3, 4), torch.zeros(0), torch.zeros(2), torch.zeros(4))
    refs = [ref]
    for _ in range(frames_hidden):  # no target instance: every reference is unmatched
        refs = carry_memory(refs, set(), memory_frames=7)
    if not refs:
        return None
    match = match_by_edges(torch.tensor([[0.9]]), torch.tensor([r.label for r in refs]), torch.tensor([0]), 0.5)
    return refs[int(match[0])].track_id if match[0] >= 0 else None


def test_an_instance_hidden_for_5_frames_returns_with_its_id_and_after_8_gets_a_new_one():
    assert _hidden(5) == 7
    assert _hidden(7) == 7
    assert _hidden(8) is None


def test_session_remembers_unmatched_instances_and_tracks():
    torch.manual_seed(0)
    model = Model(tiny_config(), CATEGORIES).eval()
    session = model.new_session(None)
    images = crafted_video(4).images.permute(0, 2, 3, 1).contiguous()
    out = session.step(Clip(images=images, frame_indices=list(range(4))))
    assert len(out) == 4 and all(len(set(f.track_ids.tolist())) == len(f.track_ids) for f in out)
    assert all(r.age <= model.config.tracking.memory_frames for r in session.refs)


def test_loss_has_every_term_and_the_edge_loss_reaches_the_graph():
    model = Model(tiny_config(), CATEGORIES)
    losses = model.loss(batch_of(crafted_video(2)))
    assert set(losses) == {"heat", "size", "offset", "mask", "edge"}
    assert all(torch.isfinite(v) for v in losses.values())
    losses["edge"].backward()
    assert model.graph.classifier[2].weight.grad is not None and model.graph.classifier[2].weight.grad.abs().sum() > 0


def test_tensor_shapes_on_the_tiny_config():
    torch.manual_seed(0)
    model = Model(tiny_config(), CATEGORIES).eval()
    images = model.transform.prepare_batch(crafted_video(1).images)
    assert images.shape == (1, 3, 64, 64)  # 48 x 64 padded to the largest stride's multiple
    levels = model.backbone(images)
    out = model.frame_output(levels)
    for name, stride, head, filters in zip(model.levels, model.strides, out.heads, out.filters):
        h, w = 64 // stride, 64 // stride
        assert levels[name].shape == (1, 16, h, w)
        assert head.heat.shape == (1, 2, h, w) and head.size.shape == head.offset.shape == (1, 2, h, w)
        assert filters.shape == (1, 169, h, w)
    assert out.mask_feats.shape == (1, 8, 8, 8)
    boxes = torch.tensor([[4.0, 8.0, 18.0, 22.0], [40.0, 24.0, 56.0, 40.0]])
    nodes = model.instance_nodes(levels, boxes)
    assert nodes.shape == (2, 3, 16)
    fused, graphs = model.fuse(levels, nodes, (boxes[:, :2] + boxes[:, 2:]) / 2)
    assert all(fused[n].shape == levels[n].shape for n in model.levels)
    assert all(g.inst.shape == g.pix.shape == g.logits.shape for g in graphs)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    masks = model.masks_at(out, 0, torch.tensor([0, 0]), torch.tensor([1, 4]), torch.tensor([1, 6]), centres)
    assert masks.shape == (2, 16, 16)


def _session_ids(frames_hidden: int) -> tuple[int, int]:
    """Ids of one object seen in frame 0, missed by the detector for ``frames_hidden`` frames, then seen again at
    the same place: the real graph, memory and matching (edge classifier set to say "same" on every edge)."""
    from unittest import mock

    torch.manual_seed(0)
    model = Model(tiny_config(), CATEGORIES).eval()
    torch.nn.init.zeros_(model.graph.classifier[2].weight)
    torch.nn.init.constant_(model.graph.classifier[2].bias, 10.0)
    seen = [True] + [False] * frames_hidden + [True]

    def detections(*args, **kwargs):
        n = int(seen.pop(0))
        return CenterDetections(torch.tensor([[16.0, 16.0, 32.0, 32.0]])[:n], torch.full((n,), 0.9),
                                torch.zeros(n, dtype=torch.int64), torch.tensor([[0.9, 0.1]])[:n],
                                torch.zeros(n, dtype=torch.int64), torch.full((n,), 3), torch.full((n,), 3))

    session = model.new_session(None)
    images = crafted_video(frames_hidden + 2).images.permute(0, 2, 3, 1).contiguous()
    with mock.patch("vistool.methods.visstg.session.decode", detections):
        out = session.step(Clip(images=images, frame_indices=list(range(frames_hidden + 2))))
    assert all(len(f.track_ids) == 0 for f in out[1:-1])
    return int(out[0].track_ids[0]), int(out[-1].track_ids[0])


def test_the_session_gives_an_object_hidden_for_5_frames_its_old_id_and_after_8_a_new_one():
    first, back = _session_ids(5)
    assert back == first
    first, back = _session_ids(8)
    assert back != first


def test_remembered_filters_replace_the_reference_filter_map_at_their_last_cell():
    model = Model(tiny_config(), CATEGORIES).eval()
    session = model.new_session(None)
    maps = [torch.zeros(1, 169, 6, 8), torch.zeros(1, 169, 3, 4), torch.zeros(1, 169, 2, 2)]
    previous = FrameOutput({}, [], maps, torch.zeros(1, 8, 6, 8))
    kept = RefInstance(3, 0, torch.zeros(3, 16), torch.ones(169), torch.zeros(2), torch.zeros(4), age=2, level=1,
                       cell=(2, 1))
    fresh = RefInstance(4, 0, torch.zeros(3, 16), torch.full((169,), 5.0), torch.zeros(2), torch.zeros(4), level=0)
    session.refs = [fresh, kept]
    filters = session.with_memory(previous).filters
    assert (filters[1][0, :, 2, 1] == 1).all() and filters[1].sum() == 169  # only the remembered one, only there
    assert filters[0].sum() == 0 and maps[1].sum() == 0  # an instance of the previous frame is already in the map


def test_fresh_condinst_masks_start_unsaturated_on_fpn_scale_features():
    """The controller reads a GroupNorm tower: on raw FPN features (std ~5) three dynamic layers gave logits in
    the tens, where the dice loss has no gradient and the masks never trained."""
    torch.manual_seed(0)
    feats = 5 * torch.randn(1, 64, 12, 16)
    params = Controller(64, 64, 2)(feats)[0, :, 6, 8][None]
    logits = dynamic_masks(params, MaskBranch(64, 32)(feats)[0], torch.tensor([[64.0, 48.0]]), 8, 64.0)
    assert logits.shape == (1, 24, 32) and logits.abs().max() < 2.0
