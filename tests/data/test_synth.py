"""Synthetic benchmark: exact visible masks, occlusion labels, determinism, content, clips."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest
import torch

from vistool.data.synth import CATEGORIES, PRESETS, occlusion_label, render_video, sample_clip
from vistool.data.synth.scene import build_plan
from vistool.data.synth.shapes import CATEGORY_TEXTURES
from vistool.data.synth.textures import PALETTE
from vistool.data.synth.video import NO_OCCLUSION_MAX, SLIGHT_OCCLUSION_MAX
from vistool.errors import InputError
from vistool.structures import ClipSample

SIZE = (96, 54)


def expected_visibility(video, t: int) -> dict[int, tuple[np.ndarray, int]]:
    """track id -> (visible mask, full area) by compositing full shapes back to front, independently."""
    layers = video.renderer.full_masks(t)
    out = {}
    for k, (tid, full) in enumerate(layers):
        if tid == 0 or not full.any():
            continue
        covered = np.zeros_like(full)
        for _, front in layers[k + 1:]:
            covered |= front
        out[tid] = (full & ~covered, int(full.sum()))
    return out


@pytest.mark.parametrize("preset", list(PRESETS))
def test_visible_masks_are_exactly_the_unoccluded_pixels(preset: str) -> None:
    video = render_video(preset, 3, 1, SIZE)
    for frame in video.frames(stop=40, step=3):
        want = expected_visibility(video, frame.index)
        assert [o.track_id for o in frame.objects] == sorted(want)
        for obj in frame.objects:
            visible, full_area = want[obj.track_id]
            assert obj.full_area == full_area
            if visible.any():
                assert obj.visible_mask is not None and np.array_equal(obj.visible_mask, visible)
            else:
                assert obj.visible_mask is None
            assert obj.label == dict(video.tracks)[obj.track_id]
            assert obj.occlusion == occlusion_label(float(visible.sum()), full_area)


def test_occlusion_label_thresholds() -> None:
    assert occlusion_label(100, 100) == 0
    assert occlusion_label(100 - 100 * NO_OCCLUSION_MAX, 100) == 0
    assert occlusion_label(98, 100) == 1
    assert occlusion_label(100 - 100 * SLIGHT_OCCLUSION_MAX, 100) == 1
    assert occlusion_label(49, 100) == 2
    assert occlusion_label(0, 100) == 2
    with pytest.raises(ValueError):
        occlusion_label(0, 0)


def test_frames_stream_and_random_access_agree_and_repeat() -> None:
    video = render_video("fast", 11, 4, SIZE)
    stream = video.frames()
    assert isinstance(stream, types.GeneratorType)
    again = render_video("fast", 11, 4, SIZE)
    for frame in stream:
        alone = again.frame(frame.index)
        assert np.array_equal(frame.image, alone.image) and np.array_equal(frame.id_map, alone.id_map)
    assert frame.index == video.num_frames - 1
    other = render_video("fast", 12, 4, SIZE)
    assert not np.array_equal(other.frame(0).image, video.frame(0).image)


def test_video_depends_only_on_seed_preset_index() -> None:
    a = render_video("standard", 5, 2, SIZE)
    render_video("standard", 5, 1, SIZE).frame(0)  # rendering another video changes nothing
    b = render_video("standard", 5, 2, SIZE)
    assert a.name == b.name == "standard_s5_00002"
    assert np.array_equal(a.frame(a.num_frames - 1).image, b.frame(b.num_frames - 1).image)
    assert render_video("crowded", 5, 2, SIZE).num_frames != a.num_frames or \
        not np.array_equal(render_video("crowded", 5, 2, SIZE).frame(0).image, a.frame(0).image)


def test_plan_is_the_same_at_every_size() -> None:
    small, large = render_video("standard", 2, 0, (64, 36)), render_video("standard", 2, 0, (384, 216))
    assert small.num_frames == large.num_frames and small.tracks == large.tracks
    for ls, ll in zip(small.plan.layers, large.plan.layers):
        assert np.array_equal(ls.pos, ll.pos) and ls.texture == ll.texture


@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_respect_their_ranges(preset: str) -> None:
    cfg = PRESETS[preset]
    for index in range(6):
        plan = build_plan(preset, 0, index)
        assert cfg.frames[0] <= plan.num_frames <= cfg.frames[1]
        assert cfg.instances[0] <= len(plan.tracks) <= cfg.instances[1]
        assert cfg.jpeg_quality[0] <= plan.jpeg_quality <= cfg.jpeg_quality[1]


def test_categories_have_own_shape_and_texture_but_shared_colours() -> None:
    assert len(CATEGORIES) >= 8 and len(set(CATEGORY_TEXTURES[c] for c in CATEGORIES)) == len(CATEGORIES)
    colours_of: dict[int, set[int]] = {}
    for index in range(40):
        for layer in build_plan("crowded", 1, index).layers:
            if layer.track_id > 0:
                for rgb in layer.colours[0]:
                    colour = int(np.argmin(np.abs(PALETTE - rgb).sum(axis=1)))
                    colours_of.setdefault(colour, set()).add(layer.label)
    # Every palette colour is worn by several categories: colour never decides the class.
    assert len(colours_of) == len(PALETTE)
    assert min(len(labels) for labels in colours_of.values()) >= 3


def _histories(video) -> tuple[dict[int, str], bool]:
    """Per track a string over frames (O outside, H hidden, V visible); whether look-alikes overlapped."""
    hist = {tid: [] for tid, _ in video.tracks}
    crossed = False
    for frame in video.frames():
        seen = {o.track_id: o for o in frame.objects}
        for tid in hist:
            o = seen.get(tid)
            hist[tid].append("O" if o is None else "H" if o.visible_mask is None else "V")
        full = {tid: m for tid, m in video.renderer.full_masks(frame.index) if tid}
        for a in frame.objects:
            for b in frame.objects:
                if a.track_id < b.track_id and a.label == b.label:
                    crossed |= bool((full[a.track_id] & full[b.track_id]).any())
    return {tid: "".join(h) for tid, h in hist.items()}, crossed


def test_standard_videos_contain_the_hard_cases() -> None:
    found = {"hidden then back": 0, "left then back": 0, "look-alikes overlap": 0, "occluded": 0}
    for index in range(12):
        hist, crossed = _histories(render_video("standard", 0, index, (64, 36)))
        found["hidden then back"] += any(re.search("VH+V", h) for h in hist.values())
        found["left then back"] += any(re.search("VO+V", h) for h in hist.values())
        found["look-alikes overlap"] += crossed
    for index in range(4):
        video = render_video("crowded", 0, index, (64, 36))
        found["occluded"] += sum(o.occlusion == 2 for f in video.frames(step=5) for o in f.objects) > 0
    assert all(v > 0 for v in found.values()), found


def test_motion_kinds_and_deformation_are_all_drawn() -> None:
    from vistool.data.synth import motion

    plans = [build_plan("standard", 0, i) for i in range(30)]
    layers = [ly for p in plans for ly in p.layers if ly.track_id > 0]
    assert any(np.ptp(ly.log_scale) > 0.3 for ly in layers)            # approach / recede
    assert any(ly.wobble[0] > 0 for ly in layers)                      # non-rigid wobble
    assert any(np.ptp(ly.squash) > 0 for ly in layers)                 # squash and stretch
    assert any(np.abs(np.diff(ly.angle)).max() > 0.02 for ly in layers)  # rotation
    assert any(np.abs(p.camera).max() > 0.01 for p in plans)           # pan / shake
    assert {int(k) for p in plans for k in p.blur[:, 0]} == {0, 1, 2}
    rng = np.random.default_rng(0)
    for kind in motion.MOTION_KINDS:
        path = motion.displacement(kind, 30, 0.02, 0.0, rng)
        steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
        assert path.shape == (30, 2) and np.all(path[0] == 0) and steps.max() > 0
    accel = np.linalg.norm(np.diff(motion.displacement("accelerating", 40, 0.02, 0.0, rng), axis=0), axis=1)
    assert max(accel[-1] / accel[0], accel[0] / accel[-1]) > 2
    assert np.allclose(motion.fold(np.array([-0.5, 0.5, 2.5]), 0.0, 2.0), [0.5, 0.5, 1.5])


def test_sample_clip_targets_match_the_rendered_frames() -> None:
    clip = sample_clip("crowded", 4, 2, 4, SIZE, start=3, gap=2)
    assert isinstance(clip, ClipSample) and clip.frame_indices == [3, 5, 7, 9] and clip.video_id == 2
    video = render_video("crowded", 4, 2, SIZE)
    assert clip.images.shape == (4, 3, SIZE[1], SIZE[0])
    for t, index in enumerate(clip.frame_indices):
        frame = video.frame(index)
        visible = {o.track_id: o.visible_mask for o in frame.objects if o.visible_mask is not None}
        for k, tid in enumerate(clip.instance_ids.tolist()):
            assert clip.labels[k] == dict(video.tracks)[tid]
            assert bool(clip.present[k, t]) == (tid in visible)
            if tid in visible:
                assert np.array_equal(clip.masks[k, t].numpy(), visible[tid])
                ys, xs = np.nonzero(visible[tid])
                assert clip.boxes[k, t].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            else:
                assert not clip.masks[k, t].any() and not clip.boxes[k, t].any()
        assert set(visible) <= set(clip.instance_ids.tolist())
    assert clip.present.any(dim=1).all()


def test_sample_clip_start_is_deterministic_and_clips_repeat_the_last_frame() -> None:
    a = sample_clip("standard", 1, 7, 3, (64, 36))
    b = sample_clip("standard", 1, 7, 3, (64, 36))
    assert a.frame_indices == b.frame_indices and torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    n = render_video("standard", 1, 7, (64, 36)).num_frames
    long = sample_clip("standard", 1, 7, 4, (64, 36), start=n - 2, gap=1)
    assert long.frame_indices == [n - 2, n - 1, n - 1, n - 1]
    with pytest.raises(InputError):
        sample_clip("standard", 1, 7, 3, (64, 36), start=n)
    with pytest.raises(InputError):
        render_video("nosuch", 1, 7, (64, 36))
