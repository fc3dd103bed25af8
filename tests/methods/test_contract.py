"""The method contract (vistool/methods/base.py), checked for every entry of METHODS.

A method gets all of this by being registered: its ``tiny_config()`` is built,
every training stage overfits a crafted two-object clip (the loss is finite and
falls), three frames give valid per-frame instances with track ids, ``finish``
summarises every id, and save -> load gives the same state and the same output.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.helpers.evis import CATEGORIES, batch_of, crafted_video
from vistool.methods import METHODS, load_module
from vistool.methods.base import Session, VisModel
from vistool.methods.build import load_checkpoint_model
from vistool.structures import Clip, FrameInstances, VideoInfo
from vistool.weights import save_checkpoint

STEPS = 40  # per training stage
FRAMES = 3


def _overfit(model: VisModel) -> dict[str, list[float]]:
    """Every training stage in order on one crafted clip; the loss history of each."""
    video = crafted_video(6)
    history = {}
    for stage in model.training_stages():
        model.set_training_stage(stage)
        model.train()
        length = model.stage_clip_len(stage)
        batch = batch_of(crafted_video(6), crafted_video(6, seed=1)) if length == 1 else batch_of(video)
        batch = type(batch)(batch.images[:, :length], [_cut(s, length) for s in batch.samples])
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
        losses = []
        for _ in range(STEPS):
            loss = sum(model.loss(batch).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        history[stage] = losses
    return history


def _cut(sample, length):
    from dataclasses import replace

    return replace(sample, frame_indices=sample.frame_indices[:length], images=sample.images[:length],
                   boxes=sample.boxes[:, :length], masks=sample.masks[:, :length], present=sample.present[:, :length])


def _track(model: VisModel) -> tuple[list[FrameInstances], dict]:
    """Three frames of the crafted clip through a fresh session, clip_len at a time, and its finish()."""
    images = crafted_video(FRAMES).images.permute(0, 2, 3, 1).contiguous()  # (T, H, W, 3) uint8
    h, w = images.shape[1:3]
    info = VideoInfo(name="crafted", source="crafted", width=w, height=h, fps=10.0, num_frames=FRAMES)
    session = model.new_session(info)
    assert isinstance(session, Session)
    frames = []
    with torch.no_grad():
        for start in range(0, FRAMES, session.clip_len):
            stop = min(start + session.clip_len, FRAMES)
            frames += session.step(Clip(images=images[start:stop], frame_indices=list(range(start, stop))))
        return frames, session.finish()


@pytest.fixture(scope="module", params=sorted(METHODS))
def trained(request):
    """(name, model overfitted on the crafted clip, loss history per stage)."""
    module = load_module(request.param)
    torch.manual_seed(0)
    model = module.Model(module.tiny_config(), CATEGORIES)
    return request.param, model, _overfit(model)


def test_model_follows_the_contract(trained):
    name, model, _ = trained
    assert isinstance(model, VisModel) and model.method == name
    assert hasattr(model, "transform") and isinstance(model.backbone, torch.nn.Module)
    backbone = {id(p) for p in model.backbone.parameters()}
    named = {id(p) for n, p in model.named_parameters() if n.startswith("backbone.")}
    assert backbone and backbone == named, "every backbone parameter is named backbone.*"
    assert model.clip_len >= 1 and model.training_stages()


def test_loss_is_finite_and_falls_on_a_tiny_overfit(trained):
    _, _, history = trained
    for stage, losses in history.items():
        assert all(math.isfinite(v) for v in losses), stage
        first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
        assert last < 0.9 * first, (stage, first, last)


def test_three_frames_give_valid_instances_with_ids_and_finish_covers_them(trained):
    _, model, _ = trained
    frames, summaries = _track(model.eval())
    assert [f.frame_index for f in frames] == list(range(FRAMES))
    seen = set()
    for f in frames:
        n = len(f)
        assert f.image_size == (48, 64) and f.masks.shape == (n, 48, 64) and f.masks.dtype == torch.bool
        assert f.boxes.shape == (n, 4) and f.scores.shape == (n,) and f.labels.shape == (n,)
        assert f.track_ids is not None and f.track_ids.shape == (n,)
        assert len(set(f.track_ids.tolist())) == n, "one instance per track in a frame"
        assert all(0 <= s <= 1 for s in f.scores.tolist()) and all(0 <= c < len(CATEGORIES) for c in f.labels.tolist())
        seen |= set(f.track_ids.tolist())
    assert seen, "the overfitted model finds the crafted objects"
    assert min(seen) >= 1 and seen <= set(summaries)
    for s in summaries.values():
        assert 0 <= s.label < len(CATEGORIES) and 0 <= s.score <= 1


def test_save_load_round_trip_gives_the_same_state_and_output(trained, tmp_path):
    name, model, _ = trained
    path = tmp_path / f"{name}.pt"
    save_checkpoint(path, model.eval())
    loaded, data = load_checkpoint_model(path)
    assert data["method"] == name and type(loaded) is type(model) and loaded.config == model.config
    own = model.state_dict()
    assert all(torch.equal(v, own[k]) for k, v in loaded.state_dict().items()) and set(own) == set(loaded.state_dict())
    (a, sa), (b, sb) = _track(model), _track(loaded)
    assert sa == sb
    assert all(torch.equal(x.masks, y.masks) and torch.equal(x.track_ids, y.track_ids) for x, y in zip(a, b))
