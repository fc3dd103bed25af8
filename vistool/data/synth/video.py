"""Public view of one synthetic video: streamed frames with exact ground truth.

Occlusion labels (OVIS style) follow from the occluded fraction
``f = 1 - visible_area / full_area``, where the full area is the object's own
shape inside the frame (leaving the frame is not occlusion):

- 0 no occlusion:      f <= 0.01 (a pixel or two of touching edges);
- 1 slight occlusion:  0.01 < f <= 0.5;
- 2 severe occlusion:  f > 0.5 (including fully hidden, f = 1).

The evaluator maps them to 0 / 0.25 / 0.75.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from vistool.data.synth.presets import get_preset
from vistool.data.synth.render import RenderedFrame, Renderer
from vistool.data.synth.scene import VideoPlan, build_plan

NO_OCCLUSION_MAX = 0.01
SLIGHT_OCCLUSION_MAX = 0.5
OCCLUSION_NAMES = ("no_occlusion", "slight_occlusion", "severe_occlusion")


def occlusion_label(visible_area: float, full_area: float) -> int:
    """OVIS-style label 0 / 1 / 2 from visible and full (unoccluded, in-frame) area."""
    if full_area <= 0:
        raise ValueError("full_area must be > 0: an object outside the frame has no occlusion label")
    occluded = (full_area - visible_area) / full_area
    if occluded <= NO_OCCLUSION_MAX:
        return 0
    return 1 if occluded <= SLIGHT_OCCLUSION_MAX else 2


@dataclass
class SynthObject:
    """A category instance whose shape overlaps the frame.

    Attributes:
        track_id: identity (>= 1), stable over the video.
        label: 0-based category (index into CATEGORIES).
        visible_mask: (H, W) bool visible pixels, or None when fully occluded.
        full_area: pixels of the unoccluded shape inside the frame (> 0).
        occlusion: 0 no / 1 slight / 2 severe, see :func:`occlusion_label`.
    """

    track_id: int
    label: int
    visible_mask: np.ndarray | None
    full_area: float
    occlusion: int


@dataclass
class SynthFrame:
    """One rendered frame.

    Attributes:
        index: 0-based frame index.
        image: (H, W, 3) uint8 RGB before JPEG compression.
        objects: instances overlapping the frame, by track id; an instance
            outside the frame is not listed.
        id_map: (H, W) uint8 track id seen at each pixel (0: none).
    """

    index: int
    image: np.ndarray
    objects: list[SynthObject]
    id_map: np.ndarray


class SynthVideo:
    """A synthetic video rendered on demand (frames are never all in memory).

    Attributes:
        name: ``<preset>_s<seed>_<index>`` (5-digit index).
        width, height: frame size in pixels.
        num_frames: number of frames.
        fps: nominal frame rate of the preset.
        jpeg_quality: JPEG quality used when frames are stored.
        tracks: (track_id, label) of every instance, including any never seen.
        plan: the size-independent plan the pixels are drawn from.
    """

    def __init__(self, plan: VideoPlan, width: int, height: int):
        self.plan = plan
        self.name = f"{plan.preset}_s{plan.seed}_{plan.index:05d}"
        self.width, self.height = width, height
        self.num_frames = plan.num_frames
        self.fps = get_preset(plan.preset).fps
        self.jpeg_quality = plan.jpeg_quality
        self.tracks = plan.tracks
        self.renderer = Renderer(plan, width, height)
        self._labels = dict(self.tracks)

    def frame(self, t: int) -> SynthFrame:
        """Render frame t alone."""
        return self._wrap(t, self.renderer.render(t))

    def frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[SynthFrame]:
        """Stream frames ``start, start + step, ...`` below ``stop`` (default: all)."""
        stop = self.num_frames if stop is None else min(stop, self.num_frames)
        for t in range(start, stop, step):
            yield self.frame(t)

    def _wrap(self, t: int, raw: RenderedFrame) -> SynthFrame:
        objects = []
        for tid in sorted(raw.full_areas):
            mask = raw.id_map == tid
            visible = int(np.count_nonzero(mask))
            full = raw.full_areas[tid]
            objects.append(SynthObject(track_id=tid, label=self._labels[tid], visible_mask=mask if visible else None,
                                       full_area=float(full), occlusion=occlusion_label(visible, full)))
        return SynthFrame(index=t, image=raw.image, objects=objects, id_map=raw.id_map)


def parse_size(text: str) -> tuple[int, int]:
    """``"384x216"`` -> (384, 216)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like 384x216, got '{text}'") from None
    return w, h


def render_video(preset: str, seed: int, index: int, size: tuple[int, int] = (384, 216)) -> SynthVideo:
    """Video ``index`` of ``preset`` drawn from ``seed``, at ``size`` = (width, height).

    The video depends only on (seed, preset, index) and the aspect ratio of
    ``size``; it is the same whichever other videos are generated.
    """
    width, height = size
    if width < 8 or height < 8:
        raise ValueError(f"synthetic frame size must be at least 8x8, got {width}x{height}")
    return SynthVideo(build_plan(preset, seed, index, aspect=width / height), width, height)
