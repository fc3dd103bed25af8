"""Presets of the synthetic benchmark: how many objects, frames, how fast, how noisy.

Lengths are in frame heights (the frame is 1 unit high and ``W / H`` wide), so a
preset describes the same scene at any output size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vistool.errors import InputError


@dataclass(frozen=True)
class PresetConfig:
    """Ranges from which every video of a preset is drawn (inclusive).

    Attributes:
        name: preset name.
        frames: (min, max) frames per video.
        instances: (min, max) category instances per video.
        distractors: (min, max) shapes of no category.
        occluders: (min, max) static bars in front of everything (full occlusions).
        radius: (min, max) object radius in frame heights.
        speed: (min, max) object speed in frame heights per frame.
        spin: largest rotation speed in radians per frame.
        twin_prob: chance that an instance copies the category (and often the
            colours) of an earlier one and crosses its path.
        exit_prob: chance that an object roams beyond the frame (leaves, returns).
        camera_pan: camera pan amplitude in frame heights.
        camera_shake: camera shake amplitude in frame heights.
        blur_prob: chance per frame of defocus or motion blur.
        lighting: amplitude of the global brightness change (0.2 = +-20 %).
        jpeg_quality: (min, max) JPEG quality of the video's frames.
        fps: frame rate written into mp4 files.
    """

    name: str
    frames: tuple[int, int]
    instances: tuple[int, int]
    distractors: tuple[int, int]
    occluders: tuple[int, int]
    radius: tuple[float, float]
    speed: tuple[float, float]
    spin: float
    twin_prob: float
    exit_prob: float
    camera_pan: float
    camera_shake: float
    blur_prob: float
    lighting: float
    jpeg_quality: tuple[int, int]
    fps: float


_STANDARD = PresetConfig(
    name="standard", frames=(20, 48), instances=(1, 5), distractors=(0, 3), occluders=(0, 1),
    radius=(0.08, 0.18), speed=(0.004, 0.03), spin=0.08, twin_prob=0.35, exit_prob=0.5,
    camera_pan=0.08, camera_shake=0.006, blur_prob=0.1, lighting=0.2, jpeg_quality=(75, 95), fps=10.0)

# The other presets are the standard one with the settings that make them what they are.
PRESETS: dict[str, PresetConfig] = {
    "standard": _STANDARD,
    "crowded": replace(_STANDARD, name="crowded", instances=(5, 15), distractors=(1, 4), occluders=(1, 2),
                       radius=(0.08, 0.17), speed=(0.004, 0.025), twin_prob=0.4, exit_prob=0.15, camera_pan=0.05),
    "fast": replace(_STANDARD, name="fast", radius=(0.08, 0.16), speed=(0.06, 0.16), spin=0.5, exit_prob=0.2,
                    camera_pan=0.15, camera_shake=0.02, blur_prob=0.3, lighting=0.25, jpeg_quality=(70, 95),
                    fps=5.0),
    "long": replace(_STANDARD, name="long", frames=(300, 2000), instances=(2, 6), distractors=(1, 3),
                    occluders=(1, 2), radius=(0.07, 0.15), speed=(0.004, 0.02), spin=0.05, twin_prob=0.4,
                    exit_prob=0.4, camera_pan=0.1, camera_shake=0.004, blur_prob=0.05, lighting=0.3, fps=15.0),
}


# Part of every video's seed: never renumber, only append.
_PRESET_IDS = {"standard": 0, "crowded": 1, "fast": 2, "long": 3}


def preset_id(name: str) -> int:
    """Stable integer of a preset, used in the random seed of its videos."""
    return _PRESET_IDS[get_preset(name).name]


def get_preset(name: str) -> PresetConfig:
    """The preset called ``name``; an InputError naming the choices otherwise."""
    if name not in PRESETS:
        raise InputError(f"unknown synth preset '{name}': choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
