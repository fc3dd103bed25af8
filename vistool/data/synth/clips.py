"""Training clips rendered on the fly from the synthetic benchmark."""

from __future__ import annotations

import numpy as np
import torch

from vistool.data.synth.presets import preset_id
from vistool.data.synth.video import SynthFrame, render_video
from vistool.data.synth.writer import jpeg_roundtrip
from vistool.errors import InputError
from vistool.structures import ClipSample


def _bbox_xyxy(mask: np.ndarray) -> list[float]:
    """Tight xyxy box of a non-empty (H, W) mask, right/bottom exclusive (x + w, y + h)."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return [float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)]


def clip_indices(num_frames: int, clip_len: int, start: int, gap: int) -> list[int]:
    """``start, start + gap, ...`` (clip_len of them); past the end the last frame repeats."""
    return [min(start + i * gap, num_frames - 1) for i in range(clip_len)]


def sample_clip(preset: str, seed: int, index: int, clip_len: int, size: tuple[int, int],
                start: int | None = None, gap: int = 1) -> ClipSample:
    """One training clip of video ``index`` with instance-major targets.

    Only the clip's frames are rendered. Images are JPEG-compressed and decoded
    with the video's own quality, so they equal the frames a written split
    stores. With ``start=None`` the start is drawn from (seed, preset, index,
    clip_len, gap), uniformly among starts whose clip fits in the video. A
    clip longer than the video repeats its last frame.

    Returns:
        ClipSample with ``video_id = index``; K = instances visible in at least
        one clip frame (by track id); ``present[k, t]`` is False where the
        instance is hidden or outside the frame (zero box, empty mask).
    """
    if clip_len < 1 or gap < 1:
        raise InputError(f"clip_len and gap must be >= 1, got clip_len={clip_len}, gap={gap}")
    video = render_video(preset, seed, index, size)
    frames_total = video.num_frames
    if start is None:
        span = (clip_len - 1) * gap + 1
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            [seed, preset_id(preset), index, clip_len, gap])))
        start = int(rng.integers(0, max(frames_total - span, 0) + 1))
    if not 0 <= start < frames_total:
        raise InputError(f"clip start {start} is outside video {video.name} (0..{frames_total - 1})")
    indices = clip_indices(frames_total, clip_len, start, gap)
    rendered: dict[int, SynthFrame] = {t: video.frame(t) for t in sorted(set(indices))}
    frames = [rendered[t] for t in indices]
    track_ids = sorted({o.track_id for f in frames for o in f.objects if o.visible_mask is not None})
    labels = dict(video.tracks)
    h, w = video.height, video.width
    k, n = len(track_ids), len(frames)
    masks = np.zeros((k, n, h, w), dtype=bool)
    boxes = np.zeros((k, n, 4), dtype=np.float32)
    row = {tid: i for i, tid in enumerate(track_ids)}
    for t, frame in enumerate(frames):
        for obj in frame.objects:
            if obj.visible_mask is not None:
                masks[row[obj.track_id], t] = obj.visible_mask
                boxes[row[obj.track_id], t] = _bbox_xyxy(obj.visible_mask)
    images = np.stack([jpeg_roundtrip(f.image, video.jpeg_quality) for f in frames])  # (T, H, W, 3)
    return ClipSample(
        video_id=index, frame_indices=indices,
        images=torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))),
        instance_ids=torch.tensor(track_ids, dtype=torch.int64).reshape(k),
        labels=torch.tensor([labels[t] for t in track_ids], dtype=torch.int64).reshape(k),
        boxes=torch.from_numpy(boxes), masks=torch.from_numpy(masks),
        present=torch.from_numpy(masks.any(axis=(2, 3))))
