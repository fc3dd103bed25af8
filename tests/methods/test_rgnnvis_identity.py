"""Identity assignment of RGNNVIS (Section 3.5): detections claim objects, tracks inherit them."""

from __future__ import annotations

import torch

from vistool.methods.rgnnvis.identity import (batch_detection_identities, detection_identities, init_targets,
                                              match_targets, new_track_identities)


def _boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_detection_claims_need_half_overlap_and_only_the_best_wins():
    gt = _boxes([0, 0, 10, 10], [20, 0, 30, 10])
    dets = _boxes([0, 0, 10, 10],      # exact on object 0
                  [1, 0, 11, 10],      # IoU 0.82 with object 0: not the best
                  [20, 0, 26, 10],     # IoU 0.6 with object 1
                  [40, 40, 50, 50])    # nowhere
    ids = detection_identities(dets, torch.ones(4, dtype=torch.bool), gt, torch.ones(2, dtype=torch.bool))
    assert ids.tolist() == [0, -1, 1, -1]
    low = _boxes([20, 0, 24, 10])  # IoU 0.4 < 0.5
    assert detection_identities(low, torch.ones(1, dtype=torch.bool), gt, torch.ones(2, dtype=torch.bool)).tolist() \
        == [-1]
    absent = torch.tensor([True, False])
    assert detection_identities(dets, torch.ones(4, dtype=torch.bool), gt, absent).tolist() == [0, -1, -1, -1]
    invalid = torch.tensor([False, True, True, True])
    assert detection_identities(dets, invalid, gt, torch.ones(2, dtype=torch.bool)).tolist() == [-1, 0, 1, -1]


def test_two_object_crossing():
    """A moves right and B left; they overlap at t = 2; the detector lists them in swapped order afterwards."""
    a = torch.tensor([[0, 0, 10, 10], [6, 0, 16, 10], [10, 0, 20, 10], [14, 0, 24, 10], [20, 0, 30, 10.0]])
    b = torch.tensor([[20, 0, 30, 10], [14, 0, 24, 10], [12, 0, 22, 10], [6, 0, 16, 10], [0, 0, 10, 10.0]])
    dets = [torch.tensor([[0.5, 0, 10.5, 10], [20, 0, 30, 10]]),
            torch.tensor([[6, 0, 16, 10], [14, 0, 24, 10], [7, 0, 17, 10]]),   # a duplicate on A
            torch.tensor([[10, 0, 20, 10], [10.5, 0, 20.5, 10]]),              # both nearer A than B
            torch.tensor([[6, 0, 16, 10], [14, 0, 24, 10]]),                   # swapped order
            torch.tensor([[0, 0, 10, 10], [20, 0, 30, 10]])]
    present = torch.ones(2, dtype=torch.bool)
    claims = [detection_identities(d, torch.ones(len(d), dtype=torch.bool), torch.stack([a[t], b[t]]), present)
              for t, d in enumerate(dets)]
    # t=1: the duplicate overlaps A by 0.82 but the exact detection is better, so it is background.
    # t=2: the second detection overlaps A by 0.90 and B by 0.74; A is taken by the exact one, so it claims B.
    assert [c.tolist() for c in claims] == [[0, 1], [0, 1, -1], [0, 1], [1, 0], [1, 0]]
    # Tracks start from the frame-0 detections (slot 0: A, slot 1: B) and keep those identities:
    ident = new_track_identities(torch.full((1, 3), -1), torch.zeros(1, 3, dtype=torch.bool),
                                 torch.tensor([[0, 1]]), claims[0][None])
    assert ident.tolist() == [[0, 1, -1]]
    targets = [match_targets(ident, c[None])[0, :2].tolist() for c in claims[1:]]
    assert targets == [[[1, 0, 0], [0, 1, 0]], [[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, 1], [1, 0]]]


def test_tracks_inherit_initialising_detection_and_earliest_wins():
    # Frame 0: detection 0 (object 0) starts slot 0; detection 1 (background) starts slot 1.
    ident = torch.full((1, 4), -1)
    alive = torch.zeros(1, 4, dtype=torch.bool)
    det_id = torch.tensor([[0, -1]])
    assert init_targets(det_id, ident, alive).tolist() == [[1.0, 0.0]]
    ident = new_track_identities(ident, alive, torch.tensor([[0, 1]]), det_id)
    alive = torch.tensor([[True, True, False, False]])
    assert ident.tolist() == [[0, -1, -1, -1]]
    # Frame 1: object 0's detection starts a duplicate track (slot 2); object 1 appears and starts slot 3.
    det_id = torch.tensor([[0, 1]])
    assert init_targets(det_id, ident, alive).tolist() == [[0.0, 1.0]]  # object 0 is already held
    ident = new_track_identities(ident, alive, torch.tensor([[2, 3]]), det_id)
    assert ident.tolist() == [[0, -1, -1, 1]]  # the duplicate is background: the earlier track keeps object 0
    # Match targets: tracks with an annotated identity match the detection of the same identity.
    assert match_targets(ident, torch.tensor([[1, 0, -1]])).tolist() == [[[0, 1, 0], [0, 0, 0], [0, 0, 0],
                                                                           [1, 0, 0]]]


def test_same_frame_duplicates_lower_slot_wins_and_batches_are_independent():
    ident = torch.full((2, 3), -1)
    alive = torch.zeros(2, 3, dtype=torch.bool)
    # Cannot come from detection_identities (one detection per object), but the rule still holds.
    det_id = torch.tensor([[4, 4], [-1, 2]])
    slot_of = torch.tensor([[1, 0], [0, -1]])
    out = new_track_identities(ident, alive, slot_of, det_id)
    assert out.tolist() == [[4, -1, -1], [-1, -1, -1]]
    boxes = torch.tensor([[[0, 0, 10, 10.0]], [[50, 50, 60, 60.0]]])
    ids = batch_detection_identities(boxes, torch.ones(2, 1, dtype=torch.bool), [boxes[0], boxes[0]],
                                     [torch.ones(1, dtype=torch.bool)] * 2)
    assert ids.tolist() == [[0], [-1]]
