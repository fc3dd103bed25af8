"""YOLACT-style head (vistool.models.heads.yolact): shapes, post-processing, targets, training."""

from __future__ import annotations

import math

import torch

from vistool.models.detections import box_masks
from vistool.models.heads.fcos import assign_locations, centerness
from vistool.models.heads.yolact import HeadOutput, YolactConfig, YolactHead, assemble_masks
from vistool.models.heads.yolact_loss import yolact_loss
from vistool.models.targets import ImageTargets

STRIDES = {"p3": 8, "p4": 16, "p5": 32}


def _cfg(**kw) -> YolactConfig:
    base = dict(levels=("p3", "p4", "p5"), num_prototypes=4, channels=16, tower_convs=1, size_bounds=(16.0, 32.0),
                max_detections=3)
    base.update(kw)
    return YolactConfig(**base)


def _feats(b=2, h=64, w=96, c=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(b, c, h // s, w // s, generator=g) for n, s in STRIDES.items()}


def test_head_shapes():
    head = YolactHead(_cfg(), 8, STRIDES, num_classes=5)
    out = head(_feats())
    p = 8 * 12 + 4 * 6 + 2 * 3
    assert out.cls_logits.shape == (2, p, 5) and out.box.shape == (2, p, 4) and out.ctr_logits.shape == (2, p)
    assert out.coefs.shape == (2, p, 4) and out.coefs.abs().max() <= 1
    assert out.protos.shape == (2, 4, 16, 24) and out.proto_stride == 4 and torch.all(out.protos >= 0)
    assert out.points.shape == (p, 2) and torch.all(out.box > 0)
    assert out.points[0].tolist() == [4.0, 4.0] and out.points[8 * 12].tolist() == [8.0, 8.0]


def _hand_output() -> HeadOutput:
    """Four locations of one image, two classes, two 2x2 prototypes."""
    points = torch.tensor([[10.0, 10.0], [11.0, 10.0], [40.0, 40.0], [60.0, 10.0]])
    box = torch.full((1, 4, 4), 5.0)  # 10x10 boxes around the points
    big = 10.0
    cls = torch.tensor([[[big, -big], [big, -big], [-big, big], [-big, -big]]])
    ctr = torch.full((1, 4), big)
    coefs = torch.tensor([[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0]]])
    protos = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]]])
    return HeadOutput(cls, box, ctr, coefs, protos, points, torch.full((4,), 8.0), torch.zeros(4, dtype=torch.long),
                      proto_stride=32)


def test_detect_thresholds_nms_and_limits():
    head = YolactHead(_cfg(max_detections=16), 8, STRIDES, num_classes=2)
    det = head.detect(_hand_output(), [(64, 64)])
    # Location 1 duplicates location 0 (IoU 0.82 > 0.7) with the same score; location 3 scores
    # sqrt(sigmoid(-10) * sigmoid(10)) = 0.0067 < 0.03.
    assert det.valid[0].sum() == 2 and det.valid.shape == (1, 16)
    kept = det.boxes[0, :2].tolist()
    assert sorted(kept) == sorted([[5.0, 5.0, 15.0, 15.0], [35.0, 35.0, 45.0, 45.0]])
    i = kept.index([35.0, 35.0, 45.0, 45.0])
    assert det.labels[0, i] == 1 and det.class_probs[0, i, 1] > 0.99
    assert torch.allclose(det.mask_logits[0, i], torch.tensor([[0.0, 0.0], [0.0, 2.0]]))
    looser = YolactHead(_cfg(nms_iou=0.9, max_detections=16), 8, STRIDES, num_classes=2).detect(
        _hand_output(), [(64, 64)])
    assert looser.valid[0].sum() == 3
    capped = YolactHead(_cfg(nms_iou=0.9, max_detections=1), 8, STRIDES, num_classes=2).detect(
        _hand_output(), [(64, 64)])
    assert capped.valid.shape == (1, 1) and capped.valid.all()


def test_box_masks_and_mask_assembly():
    m = box_masks(torch.tensor([[4.0, 0.0, 12.0, 8.0]]), (3, 4), stride=4)
    assert m[0].tolist() == [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    coefs, protos = torch.randn(3, 5), torch.randn(5, 6, 7)
    assert torch.allclose(assemble_masks(coefs, protos), torch.einsum("pk,khw->phw", coefs, protos), atol=1e-6)


def test_fcos_assignment_levels_centre_and_ambiguity():
    head = YolactHead(_cfg(center_radius=1.5), 8, STRIDES, num_classes=2)
    out = head(_feats(b=1))
    small = torch.tensor([[8.0, 8.0, 24.0, 24.0]])  # reach <= 16 at its centre: level p3
    assign = assign_locations(out.points, out.strides, out.level, small, head.cfg.center_radius, head.cfg.size_bounds)
    pos = (assign == 0).nonzero().flatten()
    assert len(pos) > 0 and torch.all(out.level[pos] == 0)
    assert torch.all((out.points[pos] > 8) & (out.points[pos] < 24))
    both = torch.tensor([[12.0, 12.0, 44.0, 44.0], [20.0, 20.0, 40.0, 40.0]])  # both fit p3 at (28, 28)
    assign = assign_locations(out.points, out.strides, out.level, both, head.cfg.center_radius, head.cfg.size_bounds)
    at = ((out.points - torch.tensor([28.0, 28.0])).abs().sum(1) == 0) & (out.level == 0)
    assert assign[at].tolist() == [1]  # the smaller object wins at a shared location
    ctr = centerness(torch.tensor([[2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 3.0, 1.0]]))
    assert torch.allclose(ctr, torch.tensor([1.0, math.sqrt(1 / 3)]))


def test_overfitting_one_image_learns_box_class_and_mask():
    torch.manual_seed(0)
    head = YolactHead(_cfg(), 8, STRIDES, num_classes=3)
    feats = _feats(b=1)
    masks = torch.zeros(1, 64, 96, dtype=torch.bool)
    masks[0, 16:40, 24:56] = True
    target = ImageTargets(torch.tensor([[24.0, 16.0, 56.0, 40.0]]), torch.tensor([2]), masks)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        terms = yolact_loss(head(feats), [target], head.cfg)
        loss = sum(terms.values())
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    det = head.detect(head(feats), [(64, 96)])
    assert det.labels[0, 0] == 2
    from torchvision.ops import box_iou

    assert box_iou(det.boxes[0, :1], target.boxes)[0, 0] > 0.5
    mask = (det.soft_masks()[0, 0] > 0.5)
    small = masks[0, 2::4, 2::4]
    assert (mask & small).sum() / (mask | small).sum() > 0.5
