"""The synthetic video instance segmentation benchmark.

Videos of textured shapes with what makes VIS hard: look-alike instances of
one category crossing paths, occlusion (partial, full, by static bars),
objects leaving and returning, fast and erratic motion, rotation, scale
change, non-rigid deformation, distractors of no category, camera pan and
shake, blur, lighting change and JPEG compression. Each video depends only on
(seed, preset, index) and is rendered frame by frame on demand.

Public API::

    CATEGORIES                       # label i is CATEGORIES[i]
    PRESETS                          # name -> PresetConfig
    render_video(preset, seed, index, size=(384, 216)) -> SynthVideo
    sample_clip(preset, seed, index, clip_len, size, start=None, gap=1) -> ClipSample
    write_split(SplitSpec(...), workers=1) -> path of instances.json
"""

from __future__ import annotations

from typing import Any

from vistool.data.synth.presets import PRESETS, PresetConfig
from vistool.data.synth.shapes import CATEGORIES
from vistool.data.synth.video import (
    SynthFrame,
    SynthObject,
    SynthVideo,
    occlusion_label,
    render_video,
)
from vistool.data.synth.writer import SplitSpec, write_split

__all__ = [
    "CATEGORIES", "PRESETS", "PresetConfig", "SynthFrame", "SynthObject", "SynthVideo", "SplitSpec",
    "occlusion_label", "render_video", "sample_clip", "write_split",
]


def __getattr__(name: str) -> Any:
    # sample_clip needs torch; import it only when asked for.
    if name == "sample_clip":
        from vistool.data.synth.clips import sample_clip

        return sample_clip
    raise AttributeError(f"module 'vistool.data.synth' has no attribute '{name}'")
