"""InstFlow: targets, grouping, instance flows and the assembly on crafted inputs, TCF, the session."""

from __future__ import annotations

import torch

from tests.helpers.evis import CATEGORIES, crafted_video
from vistool.methods.instflow import Model, tiny_config
from vistool.methods.instflow.assembly import Assembler, ReferenceFrame, instance_flows
from vistool.methods.instflow.config import LossConfig
from vistool.methods.instflow.targets import frame_maps, inter_offsets
from vistool.methods.instflow.tcf import TemporalContextFusion
from vistool.models.heads.panoptic_grouping import cell_centres, group_pixels
from vistool.structures import Clip


def _box_masks(boxes, size=(32, 48)):
    masks = torch.zeros(len(boxes), *size, dtype=torch.bool)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        masks[k, y0:y1, x0:x1] = True
    return masks


def test_targets_point_every_object_cell_at_its_centre_and_skip_the_background():
    masks = _box_masks([(4, 4, 12, 12), (24, 8, 40, 24)])
    maps = frame_maps(masks, torch.tensor([0, 1]), (8, 12), 4, LossConfig())
    assert maps.semantic.unique().tolist() == [0, 1, 2]
    assert torch.allclose(maps.centres, torch.tensor([[8.0, 8.0], [32.0, 16.0]]))
    grid = cell_centres(8, 12, 4, masks.device)
    pointed = grid + maps.offsets
    assert torch.allclose(pointed[:, maps.owner == 1], torch.tensor([[32.0], [16.0]]))
    assert maps.weight[maps.owner < 0].sum() == 0 and maps.weight[maps.owner == 0].eq(3.0).all()  # small: x3
    assert maps.center.max() == 1.0


def test_inter_offsets_point_at_the_same_instance_in_the_reference():
    ref = frame_maps(_box_masks([(4, 4, 12, 12)]), torch.tensor([0]), (8, 12), 4, LossConfig())
    tgt = frame_maps(_box_masks([(8, 4, 16, 12), (28, 20, 36, 28)]), torch.tensor([0, 1]), (8, 12), 4, LossConfig())
    offsets, valid = inter_offsets(tgt, ref, torch.tensor([7, 9]), torch.tensor([7]), 4)
    grid = cell_centres(8, 12, 4, offsets.device)
    assert valid[tgt.owner == 0].all() and not valid[tgt.owner == 1].any()  # instance 9 is new
    assert torch.allclose((grid + offsets)[:, tgt.owner == 0], torch.tensor([[8.0], [8.0]]))


def test_grouping_assigns_pixels_to_the_centre_their_offsets_point_at():
    center = torch.zeros(8, 12)
    center[2, 2], center[4, 8] = 0.9, 0.8
    fg = torch.zeros(8, 12, dtype=torch.bool)
    fg[1:4, 1:4], fg[3:6, 7:10] = True, True
    grid = cell_centres(8, 12, 4, center.device)
    target = torch.where(torch.arange(12)[None, None] < 6, torch.tensor([10.0, 10.0])[:, None, None],
                         torch.tensor([34.0, 18.0])[:, None, None])
    group = group_pixels(fg, center, target - grid, 4, 0.5, 3, 10)
    assert len(group) == 2 and group.ids[fg].unique().tolist() == [1, 2] and group.ids[~fg].eq(0).all()
    assert group.ids[2, 2] == 1 and group.ids[4, 8] == 2


def _crossing_offsets(ids, centres_now, centres_ref):
    """Offsets as a perfect network would give: intra to the centre now, inter to the centre in the reference."""
    h, w = ids.shape
    grid = cell_centres(h, w, 4, ids.device)
    intra, inter = torch.zeros(2, h, w), torch.zeros(2, h, w)
    for m in range(len(centres_now)):
        cells = ids == m + 1
        intra[:, cells] = centres_now[m][:, None] - grid[:, cells]
        inter[:, cells] = centres_ref[m][:, None] - grid[:, cells]
    return intra, inter


def test_flow_keeps_the_ids_of_two_objects_that_cross():
    # reference: A at x=10, B at x=30; target: they have crossed (A at x=26, B at x=14), close to the other's place
    ids = torch.zeros(8, 12, dtype=torch.int64)
    ids[2:6, 6:8], ids[2:6, 3:5] = 1, 2  # instance 1 = A (now right), 2 = B (now left)
    now = torch.tensor([[26.0, 16.0], [14.0, 16.0]])
    before = torch.tensor([[10.0, 16.0], [30.0, 16.0]])
    intra, inter = _crossing_offsets(ids, now, before)
    flows = instance_flows(ids, intra, inter, 2, samples=5)
    assert torch.allclose(flows, before - now)
    asm = Assembler(num_previous=3, use_first=True, max_distance=8.0)
    asm.push(ReferenceFrame(0, before, torch.tensor([1, 2])))
    fresh = iter(range(100, 110))
    assert asm.assign(now, [flows], lambda: next(fresh)).tolist() == [1, 2]
    asm_no_flow = Assembler(num_previous=3, use_first=True, max_distance=8.0)
    asm_no_flow.push(ReferenceFrame(0, before, torch.tensor([1, 2])))
    assert asm_no_flow.assign(now, [torch.zeros(2, 2)], lambda: next(fresh)).tolist() == [2, 1]  # swapped


def _hidden_run(num_previous, use_first):
    """An object at rest, visible in frames 0-2, hidden in 3-4, back in 5; a second object always visible."""
    asm = Assembler(num_previous=num_previous, use_first=use_first, max_distance=8.0)
    fresh = iter(range(1, 100))
    a, b = torch.tensor([[10.0, 10.0]]), torch.tensor([[40.0, 30.0]])
    ids_per_frame = []
    for frame in range(6):
        centres = torch.cat([a, b]) if frame not in (3, 4) else b
        flows = [torch.zeros(len(centres), 2) for _ in asm.references()]
        ids = asm.assign(centres, flows, lambda: next(fresh))
        asm.push(ReferenceFrame(frame, centres, ids))
        ids_per_frame.append(ids.tolist())
    return ids_per_frame


def test_an_object_hidden_for_two_frames_keeps_its_id_through_the_previous_references():
    frames = _hidden_run(num_previous=3, use_first=False)
    assert frames[0] == [1, 2] and frames[3] == [2] and frames[5] == [1, 2]
    frames = _hidden_run(num_previous=1, use_first=False)  # one reference (the previous frame): a new id
    assert frames[5][0] not in (1, 2) and frames[5][1] == 2


def test_references_are_the_first_frame_and_the_previous_ones():
    asm = Assembler(num_previous=3, use_first=True, max_distance=8.0)
    for i in range(6):
        asm.push(ReferenceFrame(i, torch.zeros(0, 2), torch.zeros(0, dtype=torch.int64)))
    assert [r.index for r in asm.references()] == [0, 3, 4, 5]


def test_tcf_starts_neutral_and_reads_the_reference():
    tcf = TemporalContextFusion(8, 8, key_stride=2)
    target, ref = torch.randn(1, 8, 6, 8), torch.randn(1, 8, 6, 8)
    assert torch.equal(tcf(target, ref), target)
    torch.nn.init.normal_(tcf.out.weight)
    assert not torch.allclose(tcf(target, ref), tcf(target, torch.randn(1, 8, 6, 8)))


def test_inter_decoder_starts_as_the_intra_one_and_the_session_tracks():
    torch.manual_seed(0)
    model = Model(tiny_config(), CATEGORIES).eval()
    for (n1, p1), (n2, p2) in zip(model.instance_decoder.state_dict().items(), model.inter_decoder.state_dict().items()):
        assert n1 == n2 and torch.equal(p1, p2)
    session = model.new_session(None)
    images = crafted_video(4).images.permute(0, 2, 3, 1).contiguous()
    out = session.step(Clip(images=images, frame_indices=list(range(4))))
    assert len(out) == 4 and all(inst.track_ids is not None for inst in out)
    for inst in out:
        assert not (inst.masks.sum(0) > 1).any()  # masks never overlap
    shown = {t for inst in out for t in inst.track_ids.tolist()}
    assert set(session.finish()) == shown
