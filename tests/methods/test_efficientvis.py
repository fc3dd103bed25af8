"""EfficientVIS: shapes, FTSA/TDC locality, overfitting, query hand-off and slot identities."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from tests.helpers.evis import CATEGORIES, H, W, batch_of, crafted_video, tiny_model

from vistool.methods.efficientvis.network import FactorisedAttention, TemporalDynamicConv
from vistool.structures import Clip, VideoInfo


def clip_of(sample, start: int, stop: int, scale: int = 1) -> Clip:
    images = sample.images[start:stop]
    if scale > 1:
        images = images.repeat_interleave(scale, -1).repeat_interleave(scale, -2)
    return Clip(images.permute(0, 2, 3, 1).contiguous(), list(range(start, stop)))


def test_output_shapes_and_loss_terms_on_a_tiny_config():
    model = tiny_model()
    cfg = model.config
    assert model.clip_len == 3 and model.stage_clip_len("main") == 6
    images = model.transform.prepare_batch(torch.stack([crafted_video(3).images] * 2))
    outs = model.decode(model.features(images), (H, W), tuple(images.shape[-2:]))
    assert len(outs) == cfg.num_stages
    n, t, m = cfg.num_queries, 3, 2 * cfg.roi_size
    for out in outs:
        assert out.logits.shape == (2, n, t, len(CATEGORIES) + 1)
        assert out.boxes.shape == out.mask_boxes.shape == (2, n, t, 4)
        assert out.mask_logits.shape == (2, n, t, m, m)
        assert out.queries.shape == (2, n, t, model.backbone.out_channels)
    # the first iteration's proposals are the learned initial boxes: the whole frame
    assert torch.allclose(outs[0].mask_boxes[0, 0, 0], torch.tensor([0.0, 0.0, W, H]))
    terms = model.loss(batch_of(crafted_video(6), crafted_video(6, seed=2)))
    assert set(terms) == {"cls", "l1", "giou", "mask_bce", "dice"}
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())


def test_tdc_mixes_only_neighbouring_frames_and_ftsa_mixes_time_and_queries():
    torch.manual_seed(0)
    tdc = TemporalDynamicConv(8, 4, window=1)
    q, roi = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 9, 8)
    base = tdc(q, roi)
    changed = roi.clone()
    changed[:, :, 4] += 1.0
    out = tdc(q, changed)
    assert torch.allclose(out[:, :, :3], base[:, :, :3]) and not torch.allclose(out[:, :, 3], base[:, :, 3])
    other = roi.clone()
    other[:, 1] += 1.0  # another query's RoIs never reach query 0
    assert torch.allclose(tdc(q, other)[:, 0], base[:, 0])
    attn = FactorisedAttention(8, 2, 0.0).eval()
    base = attn(q)
    moved = q.clone()
    moved[0, 1, 4] += 1.0  # query 1, frame 4 reaches query 1 at other frames and query 0 at frame 4
    out = attn(moved)
    assert not torch.allclose(out[0, 1, 0], base[0, 1, 0]) and not torch.allclose(out[0, 0, 4], base[0, 0, 4])
    perm_t, perm_n = torch.tensor([3, 0, 4, 1, 2]), torch.tensor([1, 0])  # no positional order in either MSA
    assert torch.allclose(attn(q[:, :, perm_t]), base[:, :, perm_t], atol=1e-5)
    assert torch.allclose(attn(q[:, perm_n]), base[:, perm_n], atol=1e-5)


@pytest.fixture(scope="module")
def trained():
    """The tiny model overfitted (with correspondence learning) on a two-object crafted video."""
    model = tiny_model(seed=0)
    batch = batch_of(crafted_video(6))
    opt = torch.optim.AdamW(model.parameters(), 2e-3)
    history = []
    for _ in range(100):
        loss = sum(model.loss(batch).values())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        history.append(float(loss.detach()))
    return model.eval(), history


def test_loss_falls_when_overfitting_one_clip(trained):
    _, history = trained
    first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
    assert last < 0.35 * first, (first, last)


def test_query_hand_off_keeps_identities_across_clips(trained):
    model, _ = trained
    video = crafted_video(6, seed=5)  # new noise; same motion
    session = model.new_session(VideoInfo("v", "v", 2 * W, 2 * H))
    frames = []
    with torch.inference_mode():
        for start in (0, 3):
            frames += session.step(clip_of(video, start, start + 3, scale=2))
    assert [f.frame_index for f in frames] == list(range(6))
    ids_per_object: dict[int, set[int]] = {0: set(), 1: set()}
    for f in frames:
        assert f.masks.shape[-2:] == (2 * H, 2 * W)  # original resolution
        gt = video.masks[:, f.frame_index].repeat_interleave(2, -1).repeat_interleave(2, -2)
        for k in range(2):
            inter = (f.masks & gt[k]).flatten(1).sum(1).float()
            union = (f.masks | gt[k]).flatten(1).sum(1).float().clamp(min=1)
            best = int((inter / union).argmax())
            assert float(inter[best] / union[best]) > 0.5
            ids_per_object[k].add(int(f.track_ids[best]))
    assert all(len(ids) == 1 for ids in ids_per_object.values()), ids_per_object
    assert ids_per_object[0] != ids_per_object[1]
    summary = session.finish()
    assert summary[ids_per_object[0].pop()].label == 0 and summary[ids_per_object[1].pop()].label == 1
    for s in summary.values():  # the label is the best of the per-category scores, and its score is that one
        assert len(s.class_scores) == 2 and s.score == pytest.approx(max(s.class_scores))
        assert s.class_scores[s.label] == pytest.approx(s.score)


def test_session_carries_time_averaged_queries_and_slot_ids():
    model = tiny_model(seed=1).eval()
    session = model.new_session(VideoInfo("v", "v", W, H))
    session.cfg = dataclasses.replace(model.config, frame_threshold=0.0)  # every slot emits
    video = crafted_video(7)
    with torch.inference_mode():
        first = session.step(clip_of(video, 0, 3))
        x, meta = model.transform.preprocess(video.images[:3].permute(0, 2, 3, 1))
        expected = model.decode(model.features(x[None]), meta.image_size, meta.padded_size)[-1].queries.mean(2)[0]
        assert torch.allclose(session.queries, expected, atol=1e-5)
        second = session.step(clip_of(video, 3, 6))
        last = session.step(clip_of(video, 6, 7))  # partial clip: padded, padded outputs dropped
    n = model.config.num_queries
    assert [f.track_ids.tolist() for f in first + second + last] == [list(range(1, n + 1))] * 7
    assert len(last) == 1 and last[0].frame_index == 6
    assert set(session.finish()) == set(range(1, n + 1))


def test_idle_slots_are_reinitialised_with_new_ids():
    model = tiny_model(seed=1).eval()
    session = model.new_session(VideoInfo("v", "v", W, H))
    video = crafted_video(3)
    emit_all = dataclasses.replace(model.config, frame_threshold=0.0, reinit_after=2)
    emit_none = dataclasses.replace(emit_all, frame_threshold=1.5)
    n = model.config.num_queries
    with torch.inference_mode():
        session.cfg = emit_all
        assert session.step(clip_of(video, 0, 3))[0].track_ids.tolist() == list(range(1, n + 1))
        session.cfg = emit_none
        session.step(clip_of(video, 0, 3))
        session.step(clip_of(video, 0, 3))  # two idle clips: slots are re-initialised before the next one
        session.cfg = emit_all
        out = session.step(clip_of(video, 0, 3))
    assert out[0].track_ids.tolist() == list(range(n + 1, 2 * n + 1))
