"""RGNNVIS model: stages, overfitting one clip, online session, configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vistool.config import from_dict
from vistool.methods import load_module
from vistool.structures import Clip, ClipBatch, ClipSample, VideoInfo

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "backbone": {"name": "resnet18", "norm": "gn", "weights": "none", "in_features": ["c3", "c4", "c5"],
                 "fpn_channels": 16, "extra_levels": "none"},
    "detector": {"levels": ["p3", "p4", "p5"], "channels": 16, "tower_convs": 1, "num_prototypes": 4,
                 "size_bounds": [16, 32], "max_detections": 4},
    "tracker": {"embed_dim": 16, "appearance_dim": 8, "max_tracks": 6},
    "transform": {"min_size": 48, "max_size": 64},
    "clip_len": 3,
}


def _tiny_model(categories=("disc", "square", "ring")):
    module = load_module("rgnnvis")
    torch.manual_seed(0)
    return module.Model(from_dict(module.Config, TINY), list(categories))


def _clip(t_len=3, h=48, w=64, shift=0) -> ClipSample:
    """Two coloured squares moving towards each other; instance 0 (label 0) red, instance 1 (label 2) green."""
    masks = torch.zeros(2, t_len, h, w, dtype=torch.bool)
    for t in range(t_len):
        x0 = 4 + 5 * t + shift
        masks[0, t, 8:26, x0:x0 + 18] = True
        masks[1, t, 22:42, 42 - 5 * t:62 - 5 * t] = True
    images = torch.full((t_len, 3, h, w), 30, dtype=torch.uint8)
    for t in range(t_len):
        images[t, 0][masks[0, t]] = 230
        images[t, 1][masks[1, t]] = 230
    from torchvision.ops import masks_to_boxes

    boxes = torch.zeros(2, t_len, 4)
    for k in range(2):
        boxes[k] = masks_to_boxes(masks[k]) + torch.tensor([0.0, 0.0, 1.0, 1.0])
    return ClipSample(0, list(range(t_len)), images, torch.tensor([7, 9]), torch.tensor([0, 2]), boxes, masks,
                      torch.ones(2, t_len, dtype=torch.bool))


def _batch(t_len=3) -> ClipBatch:
    samples = [_clip(t_len), _clip(t_len, shift=2)]
    return ClipBatch(torch.stack([s.images for s in samples]), samples)


def _fit(model, stage: str, batch: ClipBatch, steps: int, lr: float) -> tuple[float, float]:
    model.set_training_stage(stage)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        terms = model.loss(batch)
        loss = sum(terms.values())
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return sum(losses[:3]) / 3, sum(losses[-3:]) / 3


@pytest.fixture(scope="module")
def trained():
    model = _tiny_model()
    det = _fit(model, "detector", _batch(1), steps=40, lr=3e-3)
    trk = _fit(model, "tracker", _batch(3), steps=30, lr=3e-3)
    return model, det, trk


def test_stages_and_clip_lengths():
    model = _tiny_model()
    assert model.method == "rgnnvis" and model.training_stages() == ["detector", "tracker"]
    assert model.stage_clip_len("detector") == 1 and model.stage_clip_len("tracker") == 3
    model.set_training_stage("tracker")
    model.train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not any(p.requires_grad for p in model.detector.parameters())
    assert all(p.requires_grad for p in model.tracker.parameters())
    assert all(p.requires_grad for p in model.appearance.parameters())
    assert not model.backbone.training and not model.detector.training and model.tracker.training
    model.set_training_stage("detector")
    assert all(p.requires_grad for p in model.detector.parameters())
    assert not any(p.requires_grad for p in model.tracker.parameters())


def test_loss_falls_when_overfitting_one_clip(trained):
    _, (det_first, det_last), (trk_first, trk_last) = trained
    assert det_last < 0.6 * det_first
    assert trk_last < 0.7 * trk_first


def test_tracker_loss_terms_and_frozen_detector(trained):
    model, _, _ = trained
    model.set_training_stage("tracker")
    model.train()
    model.zero_grad(set_to_none=True)
    terms = model.loss(_batch(3))
    assert set(terms) == {"score", "seg", "match", "init"}
    sum(terms.values()).backward()
    assert all(p.grad is None for p in model.detector.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.tracker.gnn.parameters())
    assert any(p.grad is not None for p in model.appearance.parameters())
    model.zero_grad()


class _BoxReweight(torch.nn.Module):
    """Stands in for a trained mask reweighting: +2 inside the track's detection box, -2 outside."""

    def forward(self, embed, mask_logits, box_mask, has):
        scores = 4.0 * box_mask - 2.0
        return torch.where(has[..., None, None], scores, torch.full_like(scores, -1e4))


def _force_tracks(model):
    """Every detection starts a track and every track matches (its best: the first detection)."""
    with torch.no_grad():
        for head in (model.tracker.init_head, model.tracker.match_head):
            head.weight.zero_()
            head.bias.fill_(10.0)
    model.tracker.reweight = _BoxReweight()


def test_session_returns_tracks_at_original_resolution():
    model = _tiny_model()
    model.eval()
    _force_tracks(model)
    clip = _clip(4, h=48, w=64)
    frames = torch.nn.functional.interpolate(clip.images.float(), size=(60, 80)).round().to(torch.uint8)
    frames = frames.permute(0, 2, 3, 1).contiguous()  # (T, 60, 80, 3)
    session = model.new_session(VideoInfo("v", "v", 80, 60))
    assert session.clip_len == 8  # the engine hands it clips; single frames (as here) work too
    seen: list[set[int]] = []
    for t in range(4):
        (inst,) = session.step(Clip(frames[t:t + 1], [t], is_last=t == 3))
        assert inst.frame_index == t and inst.image_size == (60, 80) and inst.masks.shape[1:] == (60, 80)
        assert len(inst) > 0 and torch.all(inst.track_ids >= 1)
        assert inst.masks.sum(0).max() <= 1  # non-overlapping
        assert torch.all(inst.masks.flatten(1).any(1))
        assert len(set(inst.track_ids.tolist())) == len(inst)
        assert inst.class_probs.shape == (len(inst), 3) and torch.all(inst.labels < 3)
        seen.append(set(inst.track_ids.tolist()))
    assert len(seen[0]) >= 2  # distinct detection boxes give distinct tracks
    assert all(1 in ids for ids in seen)  # slot 0 keeps matching: the same id in every frame
    summaries = session.finish()
    assert set(summaries) == set().union(*seen)
    for s in summaries.values():
        assert 0 <= s.label < 3 and 0.0 <= s.score <= 1.0
        assert len(s.class_scores) == 3 and s.class_scores[s.label] == pytest.approx(s.score)


def test_track_masks_split_where_the_resampled_logits_cross():
    """The per-pixel argmax runs at the output resolution, so a boundary between two tracks falls between
    mask cells: here where the two slots' logit ramps cross, 3.3 cells from the left."""
    from vistool.methods.rgnnvis.tracker import NO_PIXELS, FrameOutput
    from vistool.models.transform import ImageMeta

    model = _tiny_model()
    session = model.new_session(VideoInfo("v", "v", 64, 48))
    stride, m = 8, model.config.tracker.max_tracks
    cells = torch.arange(64 // stride, dtype=torch.float32).expand(48 // stride, -1)  # (6, 8) column index
    seg = torch.full((1, m, 48 // stride, 64 // stride), NO_PIXELS)
    seg[0, 0], seg[0, 1] = 3.3 - cells, cells - 3.3
    held = torch.full((1, m), -1)
    held[0, :2] = 0  # slots 0 and 1 hold a detection
    out = FrameOutput(*[None] * 7, det_of_track=held, class_logits=None, seg_logits=seg)
    session._class_probs = lambda out, dets, slots: torch.full((len(slots), 3), 1 / 3)
    inst = session._instances(out, None, torch.arange(1, m + 1), ImageMeta((48, 64), (48, 64), (48, 64)), 0)
    assert inst.track_ids.tolist() == [1, 2] and inst.masks.shape == (2, 48, 64)
    left = int((torch.arange(64) + 0.5 < (3.3 + 0.5) * stride).sum())  # columns left of the crossing: 30
    assert left == 30 and torch.all(inst.masks[0, :, :left]) and not inst.masks[0, :, left:].any()
    assert torch.equal(inst.masks[1], ~inst.masks[0])


def test_frame_session_gives_the_detections_without_ids():
    model = _tiny_model()
    model.eval()
    frames = _clip(2, h=48, w=64).images.permute(0, 2, 3, 1).contiguous()  # (T, 48, 64, 3)
    session = model.new_frame_session(VideoInfo("v", "v", 64, 48))
    outputs = session.step(Clip(frames, [0, 1], is_last=True))
    images, meta = model.transform.preprocess(frames[:1])
    with torch.no_grad():
        dets = model.detector.detect(model.detector(model.backbone(images)), [meta.image_size])
    first = outputs[0]
    assert 0 < len(first) == int(dets.valid[0].sum()) <= model.config.detector.max_detections
    assert first.track_ids is None and first.masks.shape[1:] == (48, 64)
    assert torch.allclose(first.scores, dets.scores[0, :len(first)])
    assert [o.frame_index for o in outputs] == [0, 1] and session.finish() == {}


def test_clip_batched_session_gives_the_instances_of_frame_by_frame():
    """Backbone + detector over a clip at once, tracker frame by frame: the same instances, track ids and
    video-level summaries as stepping one frame at a time (the method stays causal)."""
    model = _tiny_model()
    model.eval()
    _force_tracks(model)
    clip = _clip(6, h=48, w=64)
    frames = clip.images.permute(0, 2, 3, 1).contiguous()
    by_frame = model.new_session(VideoInfo("v", "v", 64, 48))
    single = [by_frame.step(Clip(frames[t:t + 1], [t], is_last=t == 5))[0] for t in range(6)]
    batched = model.new_session(VideoInfo("v", "v", 64, 48))
    clipped = batched.step(Clip(frames[:4], [0, 1, 2, 3], is_last=False))
    clipped += batched.step(Clip(frames[4:], [4, 5], is_last=True))
    assert len(clipped) == 6 and sum(len(i) for i in single) > 0
    for a, b in zip(single, clipped):
        assert a.frame_index == b.frame_index and len(a) == len(b)
        assert torch.equal(a.track_ids, b.track_ids) and torch.equal(a.masks, b.masks)
        assert torch.equal(a.labels, b.labels)
        assert torch.allclose(a.scores, b.scores, atol=1e-5) and torch.allclose(a.boxes, b.boxes)
        assert torch.allclose(a.class_probs, b.class_probs, atol=1e-5)
    s1, s2 = by_frame.finish(), batched.finish()
    assert set(s1) == set(s2) and by_frame.frames == batched.frames == 6
    for tid in s1:
        assert s1[tid].label == s2[tid].label and s1[tid].score == pytest.approx(s2[tid].score, abs=1e-5)


@pytest.mark.parametrize("source", ["head", "detections", "detections_fg"])
def test_track_class_source(source):
    """``track_class: detections`` takes each frame's class probabilities from the track's detection;
    ``detections_fg`` scales them by the score head's foreground probability."""
    from dataclasses import replace

    module = load_module("rgnnvis")
    torch.manual_seed(0)
    model = module.Model(from_dict(module.Config, {**TINY, "track_class": source}), ["disc", "square", "ring"])
    model.eval()
    _force_tracks(model)
    fixed = torch.tensor([0.1, 0.2, 0.9])
    perceive = model.perceive

    def perceive_with_fixed_classes(*args, **kwargs):
        perc = perceive(*args, **kwargs)
        probs = fixed.expand_as(perc.dets.class_probs).clone()
        return replace(perc, dets=replace(perc.dets, class_probs=probs))

    model.perceive = perceive_with_fixed_classes
    clip = _clip(3, h=48, w=64)
    session = model.new_session(VideoInfo("v", "v", 64, 48))
    frames = clip.images.permute(0, 2, 3, 1).contiguous()
    instances = [session.step(Clip(frames[t:t + 1], [t], is_last=t == 2))[0] for t in range(3)]
    assert all(len(inst) for inst in instances)
    from_detections = all(torch.allclose(inst.class_probs, fixed.expand_as(inst.class_probs)) for inst in instances)
    summaries = session.finish().values()
    if source == "detections":
        assert from_detections
        assert all(s.label == 2 and s.score == pytest.approx(0.9) for s in summaries)
    elif source == "detections_fg":
        for inst in instances:  # each row: the fixed confidences times one foreground probability in (0, 1)
            foreground = inst.class_probs[:, 2:] / 0.9
            assert torch.allclose(inst.class_probs, fixed * foreground, atol=1e-6)
            assert torch.all((foreground > 0) & (foreground < 1))
        assert all(s.label == 2 and 0 < s.score < 0.9 for s in summaries)
    else:  # the score head's softmax (background dropped) is no copy of the detector's confidences
        assert not from_detections
        assert all(float(inst.class_probs.sum(1).max()) < 1.0 for inst in instances)


def test_unknown_track_class_source_is_a_config_error():
    from vistool.errors import ConfigError

    module = load_module("rgnnvis")
    with pytest.raises(ConfigError, match="track_class"):
        from_dict(module.Config, {**TINY, "track_class": "votes"})


def test_configs_load_and_paper_config_matches_table8():
    from vistool.engine.train import load_run_file
    from vistool.methods.build import build_model

    module = load_module("rgnnvis")
    paper = load_run_file(ROOT / "configs" / "rgnnvis_r50_ytvis.yaml")
    cfg = from_dict(module.Config, paper.model)
    assert cfg.detector.score_threshold == 0.03 and cfg.detector.nms_iou == 0.7 and cfg.detector.max_detections == 16
    assert cfg.tracker.max_tracks == 24 and cfg.tracker.match_threshold == 0.31
    assert cfg.tracker.train_init_threshold == 0.13 and cfg.clip_len == 10
    assert (cfg.loss.score, cfg.loss.seg, cfg.loss.match, cfg.loss.init) == (1, 1, 4, 1)
    model = build_model("rgnnvis", paper.model, [f"c{i}" for i in range(40)], pretrained=False)
    assert model.appearance.proj[0].in_channels == 1024 and model.appearance.proj[1].in_channels == 2048
    assert model.tracker.gnn.steps[0].main.f_edge[0].in_features == 175
    synth = sorted((ROOT / "configs").glob("rgnnvis_*_synth.yaml"))
    assert synth
    run = load_run_file(synth[0])
    small = from_dict(module.Config, run.model)
    assert tuple(run.train.size)[0] <= 384 and tuple(run.train.size)[1] <= 216
    assert small.backbone.name != "resnet50"


def test_cli_train_runs_both_stages(tmp_path, run_cli):
    import yaml

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "method": "rgnnvis", "model": TINY,
        "train": {"size": [64, 48], "batch_size": 1, "steps": 2, "lr": 1e-3, "amp": False, "log_every": 1,
                  "checkpoint_every": 0, "stages": [{"name": "tracker", "batch_size": 1}]}}))
    out = tmp_path / "run"
    res = run_cli("train", "--method", "rgnnvis", "--data", "synth:standard", "--config", str(config),
                  "--out", str(out), "--device", "cpu")
    assert res.code == 0, res.stderr
    records = [l for l in (out / "metrics.jsonl").read_text().splitlines() if l.strip()]
    import json

    stages = [json.loads(l)["stage"] for l in records]
    assert stages.count("detector") == 2 and stages.count("tracker") == 2
    last = json.loads(records[-1])
    assert {"score", "seg", "match", "init"} <= set(last)
    from vistool.methods.build import load_checkpoint_model

    model, ck = load_checkpoint_model(out / "model.pt", "rgnnvis")
    assert ck["method"] == "rgnnvis" and model.config.clip_len == 3


def test_cli_train_tracker_stage_from_a_detector_checkpoint_under_an_ablation_config(tmp_path, run_cli):
    """--weights with another --config: fitting tensors (the frozen detector) load; the 1-block GNN is built anew."""
    import yaml

    from vistool.weights import read_checkpoint

    def config(name: str, tracker: dict) -> str:
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "method": "rgnnvis", "model": {**TINY, "tracker": {**TINY["tracker"], **tracker}},
            "train": {"size": [64, 48], "batch_size": 1, "steps": 1, "lr": 1e-3, "amp": False, "log_every": 1,
                      "checkpoint_every": 0, "stages": [{"name": "tracker", "batch_size": 1}]}}))
        return str(path)

    common = ["--method", "rgnnvis", "--data", "synth:standard", "--device", "cpu"]
    det = run_cli("train", *common, "--config", config("full", {}), "--stage", "detector", "--out", tmp_path / "det")
    assert det.code == 0, det.stderr
    abl = run_cli("train", *common, "--config", config("one_block", {"num_blocks": 1}), "--stage", "tracker",
                  "--weights", tmp_path / "det" / "model.pt", "--out", tmp_path / "abl")
    assert abl.code == 0, abl.stderr
    before = read_checkpoint(tmp_path / "det" / "model.pt")
    after = read_checkpoint(tmp_path / "abl" / "model.pt")
    assert after["config"]["tracker"]["num_blocks"] == 1
    detector_keys = [k for k in before["state_dict"] if k.startswith(("backbone.", "detector."))]
    assert detector_keys and all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in detector_keys)
    assert any(k.startswith("tracker.gnn.steps.2.") for k in before["state_dict"])
    assert not any(k.startswith("tracker.gnn.steps.2.") for k in after["state_dict"])


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_track_score_weighted_by_presence(power):
    """Score = mean probability of the voted class x (frames with pixels / frames) ** presence_power."""
    module = load_module("rgnnvis")
    model = module.Model(from_dict(module.Config, {**TINY, "presence_power": power}), ["disc", "square", "ring"])
    session = model.new_session(VideoInfo("v", "v", 64, 48))
    session.frames = 8
    session.history[1] = [torch.tensor([0.1, 0.7, 0.2]), torch.tensor([0.3, 0.5, 0.2])]  # 2 of 8 frames
    session.history[2] = [torch.tensor([0.6, 0.2, 0.2])] * 8  # every frame
    summaries = session.finish()
    assert summaries[1].label == 1 and summaries[1].score == pytest.approx(0.6 * 0.25 ** power)
    assert summaries[1].class_scores == pytest.approx((0.2 * 0.25 ** power, 0.6 * 0.25 ** power, 0.2 * 0.25 ** power))
    assert summaries[2].label == 0 and summaries[2].score == pytest.approx(0.6)


def test_negative_presence_power_is_a_config_error():
    from vistool.errors import ConfigError

    module = load_module("rgnnvis")
    with pytest.raises(ConfigError, match="presence_power"):
        from_dict(module.Config, {**TINY, "presence_power": -1})
