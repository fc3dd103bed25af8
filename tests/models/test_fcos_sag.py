"""The shared FCOS head (names compatible with YolactHead's box/class part) and the SAG-Mask head."""

import torch

from vistool.models.heads.fcos_head import FcosConfig, FcosHead, fcos_loss
from vistool.models.heads.sag_mask import SagMaskHead, roi_mask_targets, sag_mask_loss
from vistool.models.heads.yolact import YolactConfig, YolactHead
from vistool.models.targets import ImageTargets

STRIDES = {"p3": 8, "p4": 16}


def _feats():
    torch.manual_seed(0)
    return {"p3": torch.randn(1, 8, 8, 8), "p4": torch.randn(1, 8, 4, 4)}


def test_a_yolact_heads_box_and_class_part_loads_into_the_fcos_head_and_predicts_the_same():
    yolact = YolactHead(YolactConfig(levels=("p3", "p4"), channels=8, tower_convs=1, size_bounds=(32.0,)), 8,
                        STRIDES, 3)
    fcos = FcosHead(FcosConfig(levels=("p3", "p4"), channels=8, tower_convs=1, size_bounds=(32.0,)), 8, STRIDES, 3)
    own = fcos.state_dict()
    fcos.load_state_dict({k: v for k, v in yolact.state_dict().items() if k in own}, strict=True)
    a, b = yolact(_feats()), fcos(_feats())
    assert torch.equal(a.cls_logits, b.cls_logits) and torch.equal(a.box, b.box)
    assert torch.equal(a.ctr_logits, b.ctr_logits)


def test_fcos_detect_and_loss():
    head = FcosHead(FcosConfig(levels=("p3", "p4"), channels=8, tower_convs=1, size_bounds=(32.0,),
                               score_threshold=0.0, max_detections=5), 8, STRIDES, 3)
    out = head(_feats())
    dets = head.detect(out, [(64, 64)])
    assert len(dets) == 1 and len(dets[0]) == 5 and dets[0].class_probs.shape == (5, 3)
    assert torch.all(dets[0].scores[:-1] >= dets[0].scores[1:])
    target = ImageTargets(torch.tensor([[8.0, 8.0, 40.0, 40.0]]), torch.tensor([1]), torch.ones(1, 64, 64, dtype=bool))
    losses = fcos_loss(out, [target], head.cfg)
    assert set(losses) == {"cls", "box", "ctr"} and all(torch.isfinite(v) for v in losses.values())


def test_sag_mask_shapes_and_loss_prefers_the_true_mask():
    head = SagMaskHead(8, 8, 2, num_classes=3)
    assert head(torch.randn(4, 8, 7, 7)).shape == (4, 3, 14, 14)
    masks = torch.zeros(1, 32, 32, dtype=bool)
    masks[0, 8:24, 8:16] = True  # left half of the box
    boxes = torch.tensor([[8.0, 8.0, 24.0, 24.0]])
    target = roi_mask_targets(masks, boxes, 14)
    assert target[0, :, :6].mean() > 0.9 and target[0, :, 8:].mean() < 0.1
    good = torch.full((1, 3, 14, 14), -5.0)
    good[0, 1] = torch.where(target[0] > 0.5, 5.0, -5.0)
    bad = -good
    labels = torch.tensor([1])
    assert sag_mask_loss(good, labels, masks, boxes) < sag_mask_loss(bad, labels, masks, boxes)
