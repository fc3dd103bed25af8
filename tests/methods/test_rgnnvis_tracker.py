"""RGNNVIS track manager: memory slots, association, initialisation, inactive tracks, segmentation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vistool.tracking.slots import allocate, associate, gather_rows, keep_best_claimant, scatter_new
from vistool.methods.rgnnvis.tracker import RecurrentTracker, TrackerConfig, label_map
from vistool.models.detections import Detections


def test_associate_best_detection_above_threshold_with_masked_pairs():
    prob = torch.tensor([[[0.9, 0.95, 0.2], [0.1, 0.2, 0.3], [0.8, 0.1, 0.1]]])
    valid = torch.ones(1, 3, 3, dtype=torch.bool)
    valid[0, :, 1] = False  # detection 1 is padding
    best, matched = associate(prob, valid, 0.31)
    assert best.tolist() == [[0, -1, 0]] and matched.tolist() == [[True, False, True]]  # det 0 to two tracks
    valid[0, 2] = False  # slot 2 is empty
    best, matched = associate(prob, valid, 0.31)
    assert best.tolist() == [[0, -1, -1]]


def test_allocate_fills_free_slots_in_probability_order_until_full():
    prob = torch.tensor([[0.5, 0.9, 0.2, 0.7], [0.9, 0.9, 0.9, 0.9]])
    valid = torch.tensor([[True, True, True, True], [True, True, True, False]])
    alive = torch.tensor([[False, True, False, False], [True, True, False, True]])
    slot_of = allocate(prob, valid, alive, threshold=0.31)
    # Image 0: free slots 0, 2, 3 go to detections 1 (0.9), 3 (0.7), 0 (0.5); 0.2 is below threshold.
    assert slot_of[0].tolist() == [3, 0, -1, 2]
    # Image 1: one free slot, the first of the equally likely valid detections takes it.
    assert (slot_of[1] >= 0).sum() == 1 and slot_of[1, 3] == -1
    assert scatter_new(slot_of, 4)[0].tolist() == [1, -1, 3, 0]
    vals = torch.arange(8.0).reshape(1, 4, 2)
    assert gather_rows(vals, torch.tensor([[2, -1]])).tolist() == [[[4.0, 5.0], [0.0, 0.0]]]


def test_exclusive_matches_keep_the_most_probable_track_of_each_detection():
    prob = torch.tensor([[[0.5, 0.1, 0.0], [0.9, 0.2, 0.0], [0.1, 0.1, 0.05], [0.3, 0.6, 0.0]]])
    best, matched = associate(prob, torch.ones(1, 4, 3, dtype=torch.bool), 0.2)
    assert best.tolist() == [[0, 0, -1, 1]]  # tracks 0 and 1 both take detection 0
    best, matched = keep_best_claimant(prob, best, matched)
    assert best.tolist() == [[-1, 0, -1, 1]] and matched.tolist() == [[False, True, False, True]]
    assert (scatter_new(best, 3) >= 0).tolist() == [[True, True, False]]  # detections some track holds


class _Fixed(nn.Module):
    """Replaces a logistic head: returns preset logits whatever the edges."""

    def __init__(self):
        super().__init__()
        self.logits = None

    def forward(self, edges):
        return self.logits[..., None]


def _dets(boxes, n_max=3, num_classes=2, size=8):
    b = torch.zeros(1, n_max, 4)
    b[0, : len(boxes)] = torch.tensor(boxes)
    valid = torch.zeros(1, n_max, dtype=torch.bool)
    valid[0, : len(boxes)] = True
    probs = torch.full((1, n_max, num_classes), 0.5)
    logits = torch.full((1, n_max, size, size), 2.0)
    return Detections(b, valid.float(), probs, torch.zeros(1, n_max, dtype=torch.long), logits, valid, 4)


def _tracker(max_tracks=3, **cfg):
    torch.manual_seed(0)
    t = RecurrentTracker(TrackerConfig(embed_dim=16, max_tracks=max_tracks, **cfg), num_classes=2, appearance_dim=6)
    t.match_head, t.init_head = _Fixed(), _Fixed()
    return t


def test_inactive_tracks_are_kept_and_resumed():
    tr = _tracker()
    x = torch.randn(1, 3, 6)
    scene = torch.randn(1, 6)
    state = tr.initial_state(1, scene)
    dets = _dets([[0, 0, 10, 10], [20, 20, 30, 30]])
    tr.match_head.logits = torch.full((1, 3, 3), -9.0)
    tr.init_head.logits = torch.tensor([[5.0, 5.0, 5.0]])  # the padded third detection must not start a track
    state, out = tr.step(state, dets, x, scene, (32, 32), 0.31)
    assert out.alive.tolist() == [[True, True, False]] and state.active.tolist() == [[True, True, False]]
    assert torch.all(state.embed[0, 2] == 0) and torch.all(state.var[0, :2] > 0)
    assert torch.allclose(state.mean[0, :2], x[0, :2])
    box1, mean1 = state.box[0, 1].clone(), state.mean[0, 1].clone()
    # Frame 1: track 0 matches detection 0; track 1 matches nothing and becomes inactive.
    tr.init_head.logits = torch.full((1, 3), -9.0)
    tr.match_head.logits = torch.tensor([[[3.0, -9, -9], [-9, -9, -9], [-9, -9, -9]]])
    x1 = torch.randn(1, 3, 6)
    dets1 = _dets([[1, 1, 11, 11], [50, 50, 60, 60]])
    state, out = tr.step(state, dets1, x1, scene, (32, 32), 0.31)
    assert state.alive.tolist() == [[True, True, False]] and state.active.tolist() == [[True, False, False]]
    assert torch.equal(state.box[0, 1], box1) and torch.equal(state.mean[0, 1], mean1)
    assert state.box[0, 0].tolist() == [1, 1, 11, 11]
    assert out.det_of_track.tolist() == [[0, -1, -1]]
    assert out.seg_logits[0, 1].max() <= -1e3  # no detection, no pixels
    # Frame 2: track 1 is resumed by detection 1; its appearance model is updated by Eq. 4.
    tr.match_head.logits = torch.tensor([[[-9.0, -9, -9], [-9, 3.0, -9], [-9, -9, -9]]])
    state, out = tr.step(state, dets1, x1, scene, (32, 32), 0.31)
    assert state.active.tolist() == [[False, True, False]] and state.box[0, 1].tolist() == [50, 50, 60, 60]
    assert not torch.allclose(state.mean[0, 1], mean1)
    assert out.class_logits.shape == (1, 3, 3)


@pytest.mark.parametrize("exclusive", [False, True])
def test_exclusive_detections_start_no_track_on_a_held_detection(exclusive):
    """Two tracks want detection 0, which also wants to start a track. Exclusive: one track holds it, no new
    track starts on it. Paper rule: both tracks hold it and a third track starts on it."""
    tr = _tracker(max_tracks=4, exclusive_detections=exclusive)
    x, scene = torch.randn(1, 3, 6), torch.randn(1, 6)
    state = tr.initial_state(1, scene)
    dets = _dets([[0, 0, 10, 10], [20, 20, 30, 30]])
    tr.match_head.logits = torch.full((1, 4, 3), -9.0)
    tr.init_head.logits = torch.tensor([[5.0, 5.0, -9.0]])
    state, _ = tr.step(state, dets, x, scene, (32, 32), 0.31)  # tracks in slots 0 and 1
    tr.match_head.logits = torch.tensor([[[1.0, -9, -9], [2.0, -9, -9], [-9, -9, -9], [-9, -9, -9]]])
    tr.init_head.logits = torch.tensor([[5.0, -9.0, -9.0]])
    state, out = tr.step(state, dets, x, scene, (32, 32), 0.31)
    if exclusive:
        assert out.det_of_track.tolist() == [[-1, 0, -1, -1]] and out.slot_of.tolist() == [[-1, -1, -1]]
    else:
        assert out.det_of_track.tolist() == [[0, 0, 0, -1]] and out.slot_of.tolist() == [[2, -1, -1]]


def test_memory_is_capped_and_empty_slots_stay_empty():
    tr = _tracker(max_tracks=2)
    x, scene = torch.randn(1, 3, 6), torch.randn(1, 6)
    state = tr.initial_state(1, scene)
    tr.match_head.logits = torch.full((1, 2, 3), -9.0)
    tr.init_head.logits = torch.tensor([[1.0, 3.0, 2.0]])
    state, out = tr.step(state, _dets([[0, 0, 4, 4], [5, 5, 9, 9], [10, 10, 14, 14]]), x, scene, (32, 32), 0.31)
    assert out.slot_of.tolist() == [[-1, 0, 1]] and state.alive.all()
    state, out = tr.step(state, _dets([[0, 0, 4, 4]]), x, scene, (32, 32), 0.31)
    assert out.slot_of.tolist() == [[-1, -1, -1]] and state.alive.sum() == 2


def test_segmentation_argmax_is_non_overlapping_with_background():
    seg = torch.tensor([[[[2.0, -1.0], [0.5, -3.0]], [[1.0, 3.0], [-1e4, -2.0]]]])  # (1, M=2, 2, 2)
    assert label_map(seg)[0].tolist() == [[1, 2], [1, 0]]
    tr = _tracker()
    probs = tr.segmentation_probs(seg)
    assert probs.shape == (1, 3, 2, 2) and torch.allclose(probs.sum(1), torch.ones(1, 2, 2))


def test_padding_detections_leave_the_memory_finite():
    """Frames with fewer detections than slots pad with zero boxes; a zero box against an empty slot's zero
    box has no IoU (0 / 0). Those pairs are masked and must not turn the memory into NaN."""
    torch.manual_seed(0)
    tr = RecurrentTracker(TrackerConfig(embed_dim=16, max_tracks=3), num_classes=2, appearance_dim=6)
    dets = _dets([[1.0, 1.0, 10.0, 10.0]], n_max=4)  # one detection, three padding rows
    scene = torch.randn(1, 6)
    state = tr.initial_state(1, scene)
    for _ in range(2):
        state, out = tr.step(state, dets, torch.randn(1, 4, 6), scene, (32, 32), init_threshold=0.0)
        for name in ("embed", "cell", "mean", "var", "empty_embed", "empty_cell", "empty_mean", "empty_var"):
            assert torch.isfinite(getattr(state, name)).all(), name
        assert torch.isfinite(out.init_logits[out.det_valid]).all()
        assert torch.isfinite(out.match_logits[out.pair_valid]).all()
        assert (out.slot_of[~out.det_valid] == -1).all()  # padding starts no track
    assert state.alive[0, 0]  # the real detection started one
