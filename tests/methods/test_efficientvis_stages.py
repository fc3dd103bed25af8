"""EfficientVIS training stages: single-frame image stage, consecutive clips with the hand-off in the loss."""

from __future__ import annotations

from dataclasses import replace

import torch
from tests.helpers.evis import batch_of, crafted_video, tiny_model


def test_stages_and_sample_lengths():
    assert tiny_model().training_stages() == ["main"]
    model = tiny_model(image_stage=True, train_clips=3)
    assert model.training_stages() == ["image", "main"]
    assert model.stage_clip_len("image") == 1 and model.stage_clip_len("main") == 9
    model.set_training_stage("main")
    torch.manual_seed(0)
    orders = {tuple(s.start for s in model.clip_slices(9)) for _ in range(20)}
    assert orders == {(0, 3, 6), (6, 3, 0)}  # consecutive clips, forward or backward in time
    assert [s.start for s in model.clip_slices(7)] in ([0, 3], [3, 0])  # as many whole clips as fit
    model.set_training_stage("image")
    assert model.clip_slices(1) == [slice(0, 1)]


def test_every_clip_is_in_the_loss_and_gradients_cross_every_hand_off(monkeypatch):
    model = tiny_model(seed=0, train_clips=3)
    model.set_training_stage("main")
    torch.manual_seed(1)
    per_clip = model.clip_losses(batch_of(crafted_video(9)))
    assert len(per_clip) == 3 and all(torch.isfinite(v) and v > 0 for t in per_clip for v in t.values())
    # the learned queries q* start clip 1 only: the last clip's loss reaches them through two hand-offs
    model.zero_grad()
    sum(per_clip[-1].values()).backward()
    grad = model.init_queries.weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    # control: the same sequence with the hand-off detached gives q* no gradient from the last clip
    model.zero_grad()
    monkeypatch.setattr(model, "hand_off", lambda q, frames=None: q[:, :, :frames].mean(2).detach())
    torch.manual_seed(1)
    sum(model.clip_losses(batch_of(crafted_video(9)))[-1].values()).backward()
    assert model.init_queries.weight.grad is None or float(model.init_queries.weight.grad.abs().sum()) == 0


def test_image_stage_trains_the_query_detector_on_single_frames():
    model = tiny_model(seed=0, image_stage=True)
    model.set_training_stage("image")
    video = crafted_video(4)
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    history = []
    for step in range(40):
        frame = step % 4
        one = slice(frame, frame + 1)
        sample = replace(video, images=video.images[one], frame_indices=[frame], boxes=video.boxes[:, one],
                         masks=video.masks[:, one], present=video.present[:, one])
        loss = sum(model.loss(batch_of(sample)).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    assert sum(history[-4:]) < 0.6 * sum(history[:4]), history


def test_loss_falls_when_overfitting_one_three_clip_sequence():
    model = tiny_model(seed=0, train_clips=3)
    model.set_training_stage("main")
    batch = batch_of(crafted_video(9))
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    history = []
    for _ in range(40):
        loss = sum(model.loss(batch).values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        history.append(float(loss.detach()))
    assert sum(history[-4:]) < 0.6 * sum(history[:4]), history
