"""Dense category pretraining: targets, loss, and the CLI run whose output a backbone loads."""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F

from vistool.engine.pretrain import balanced_cross_entropy, semantic_targets
from vistool.models.backbone import Backbone
from vistool.structures import ClipBatch, ClipSample


def _sample(h: int = 6, w: int = 8) -> ClipSample:
    masks = torch.zeros(2, 1, h, w, dtype=torch.bool)
    masks[0, 0, :2, :3] = True
    masks[1, 0, 4:, 5:] = True
    return ClipSample(video_id=0, frame_indices=[0], images=torch.zeros(1, 3, h, w, dtype=torch.uint8),
                      instance_ids=torch.tensor([5, 9]), labels=torch.tensor([3, 0]),
                      boxes=torch.zeros(2, 1, 4), masks=masks, present=torch.ones(2, 1, dtype=torch.bool))


def test_semantic_targets_label_each_instance_pixel_with_its_category_plus_one():
    sample = _sample()
    target = semantic_targets(ClipBatch(images=sample.images[None], samples=[sample]))
    assert target.shape == (1, 6, 8)
    assert (target[0, :2, :3] == 4).all() and (target[0, 4:, 5:] == 1).all()
    assert int((target > 0).sum()) == 6 + 6


def test_balanced_loss_is_foreground_mean_plus_background_mean():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 4, 4)
    target = torch.zeros(1, 4, 4, dtype=torch.int64)
    target[0, 0, 0] = 2
    pixel = F.cross_entropy(logits, target, reduction="none")[0]
    expected = pixel[0, 0] + pixel.flatten()[1:].mean()
    assert torch.isclose(balanced_cross_entropy(logits, target), expected)


def test_cli_pretrain_writes_a_backbone_that_loads_and_resumes(run_cli, tmp_path):
    out = tmp_path / "pre"
    common = ["pretrain", "--data", "synth:standard", "--backbone", "mobilenet_v3_small", "--norm", "gn",
              "--batch-size", "1", "--size", "64", "48", "--out", out]
    first = run_cli(*common, "--steps", "2")
    assert first.code == 0, first.stderr
    saved = torch.load(out / "backbone.pt", weights_only=True)
    backbone = Backbone("mobilenet_v3_small", ("c3", "c4", "c5"), norm="gn", weights=str(out / "backbone.pt"))
    for key, value in backbone.body.state_dict().items():
        assert torch.equal(value, saved[key]), key
    resumed = run_cli(*common, "--steps", "3", "--resume")
    assert resumed.code == 0, resumed.stderr
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 3 and json.loads((out / "summary.json").read_text())["steps"] == 3


def test_cli_pretrain_refuses_to_resume_another_backbone(run_cli, tmp_path):
    out = tmp_path / "pre"
    args = ["pretrain", "--data", "synth:standard", "--batch-size", "1", "--size", "64", "48", "--out", out]
    assert run_cli(*args, "--steps", "1").code == 0
    bad = run_cli(*args, "--steps", "2", "--resume", "--norm", "bn")
    assert bad.code != 0
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    nothing = run_cli(*args[:-1], tmp_path / "empty", "--steps", "1", "--resume")
    assert nothing.code != 0 and "nothing to resume" in nothing.stderr
    assert not (tmp_path / "empty").exists()
