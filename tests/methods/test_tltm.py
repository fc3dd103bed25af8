"""TLTM: ResFuser, object encoder and GNN shapes, the association on crafted inputs, the IoU baseline."""

from __future__ import annotations

import torch

from tests.helpers.evis import CATEGORIES, batch_of, crafted_video
from vistool.methods.tltm import AssociationConfig, Model, tiny_config
from vistool.methods.tltm.association import gnn_assign, greedy_links, masktrack_scores
from vistool.methods.tltm.relation import ObjectEncoder, ObjectGraph, transition_loss
from vistool.methods.tltm.resfuser import ResFuser
from vistool.methods.tltm.session import TLTMSession
from vistool.structures import Clip
from vistool.tracking.iou_tracker import iou_assign

# Two look-alike objects (same class, same confidence) that cross: A moves right, B moves left.
TRACK_BOXES = torch.tensor([[0.0, 0.0, 10.0, 10.0], [8.0, 0.0, 18.0, 10.0]])  # A, B in frame t
DET_BOXES = torch.tensor([[1.0, 0.0, 11.0, 10.0], [7.0, 0.0, 17.0, 10.0]])  # frame t+1: B (left), A (right)
SAME = torch.tensor([2, 2])
SCORES = torch.tensor([0.9, 0.9])
EDGES = torch.tensor([[0.03, 0.95], [0.93, 0.04]])  # A -> det 1, B -> det 0


def test_resfuser_starts_as_the_identity_and_reads_both_frames():
    fuser = ResFuser(("p3",), 8)
    prev, cur = {"p3": torch.randn(1, 8, 5, 6)}, {"p3": torch.randn(1, 8, 5, 6)}
    assert torch.equal(fuser(prev, cur)["p3"], cur["p3"])
    torch.nn.init.normal_(fuser.fusers["p3"].body[2].weight)
    other = {"p3": torch.randn(1, 8, 5, 6)}
    assert not torch.allclose(fuser(prev, cur)["p3"], fuser(other, cur)["p3"])


def test_encoder_and_graph_shapes():
    enc, graph = ObjectEncoder(16, 8, 7, 12, 20), ObjectGraph(12, 20)
    z_t, z_n = enc(torch.randn(3, 16, 7, 7)), enc(torch.randn(5, 16, 7, 7))
    assert z_t.shape == (3, 12) and z_n.shape == (5, 12)
    logits, dz = graph(z_t, z_n)
    assert logits.shape == (3, 5) and dz.shape == (3, 12)


def test_message_passing_sends_no_message_from_a_node_to_itself():
    graph = ObjectGraph(4, 8)
    z = torch.randn(1, 4)
    _, dz_alone = graph.message_pass(z)
    expected = graph.node(torch.cat([z, torch.zeros(1, 8)], -1))  # the only node receives nothing
    assert torch.allclose(dz_alone, expected)


def test_transition_loss_is_lower_when_the_transition_reaches_the_next_latent():
    z_t, z_n = torch.zeros(2, 3), torch.tensor([[1.0, 0, 0], [0, 5.0, 0]])
    pairs = torch.tensor([[0, 0], [1, 1]])
    exact = transition_loss(z_t, z_n - z_t, z_n, pairs)
    wrong = transition_loss(z_t, z_n.flip(0) - z_t, z_n, pairs)
    assert exact < wrong and float(transition_loss(z_t, z_n - z_t, z_n, pairs[:0])) == 0.0


def test_edge_scores_keep_ids_when_look_alikes_cross_and_the_iou_baseline_swaps_them():
    cfg = AssociationConfig()
    gnn = gnn_assign(EDGES, SCORES, DET_BOXES, SAME, TRACK_BOXES, SAME, cfg)
    assert gnn.tolist() == [1, 0]  # det 0 continues B, det 1 continues A
    assert iou_assign(TRACK_BOXES, DET_BOXES, 0.3).tolist() == [0, 1]  # by overlap alone: swapped


def test_a_detection_unlike_every_track_starts_a_new_track():
    cfg = AssociationConfig()
    far = torch.tensor([[40.0, 0.0, 50.0, 10.0]])  # overlaps no track: the edge score alone decides
    edges = torch.tensor([[0.2], [0.1]])
    assert gnn_assign(edges, SCORES[:1], far, SAME[:1], TRACK_BOXES, SAME, cfg).tolist() == [-1]
    edges = torch.tensor([[0.9], [0.1]])
    assert gnn_assign(edges, SCORES[:1], far, SAME[:1], TRACK_BOXES, SAME, cfg).tolist() == [0]
    # overlap adds to a weak edge (b IoU): MaskTrack R-CNN's score
    assert gnn_assign(torch.tensor([[0.2], [0.1]]), SCORES[:1], DET_BOXES[:1], SAME[:1], TRACK_BOXES, SAME,
                      cfg).tolist() == [0]


def test_each_track_takes_at_most_one_detection_and_low_edges_never_link():
    link, new = masktrack_scores(torch.tensor([[0.9, 0.8]]), SCORES, torch.zeros(1, 2), torch.ones(1, 2, dtype=bool),
                                 AssociationConfig())
    assert greedy_links(link, new).tolist() == [0, -1]
    link, new = masktrack_scores(torch.tensor([[0.01, 0.01]]), SCORES, torch.ones(1, 2), torch.ones(1, 2, dtype=bool),
                                 AssociationConfig(min_edge=0.05))
    assert greedy_links(link, new).tolist() == [-1, -1]


def test_iou_baseline_starts_tracks_below_its_threshold():
    far = torch.tensor([[50.0, 50.0, 60.0, 60.0]])
    assert iou_assign(TRACK_BOXES, far, 0.3).tolist() == [-1]
    assert iou_assign(torch.zeros(0, 4), far, 0.3).tolist() == [-1]


def _session_run(model, frames, association):
    from dataclasses import replace

    model.config = replace(model.config, association=replace(model.config.association, method=association))
    session = model.new_session(None)
    images = crafted_video(frames).images.permute(0, 2, 3, 1).contiguous()
    return session, session.step(Clip(images=images, frame_indices=list(range(frames))))


def test_session_gives_every_detection_an_id_and_both_associations_run():
    torch.manual_seed(0)
    model = Model(tiny_config(), CATEGORIES).eval()
    for association in ("gnn", "iou"):
        session, out = _session_run(model, 3, association)
        assert isinstance(session, TLTMSession) and len(out) == 3
        for inst in out:
            assert inst.track_ids is not None and len(inst.track_ids) == len(inst.scores)
            assert len(set(inst.track_ids.tolist())) == len(inst.track_ids)  # one detection per track
        assert set(session.finish()) == {t for inst in out for t in inst.track_ids.tolist()}


def test_loss_terms_are_finite_on_a_crafted_pair():
    model = Model(tiny_config(), CATEGORIES)
    video = crafted_video(2)
    losses = model.loss(batch_of(video))
    assert set(losses) == {"cls", "box", "ctr", "mask", "edge", "transition"}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert model.graph.predictor[0].weight.grad is not None  # the edge loss reaches the GNN
