"""Deterministic, well-separated colours: one per track id.

Hues step by the golden ratio (consecutive ids land far apart on the colour
wheel); saturation and value cycle with the id so that ids whose hues come
close again still differ. The colour of an id never depends on the other ids
in the frame, so a track keeps its colour across frames and runs.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache

_GOLDEN = 0.618033988749895
_SATURATIONS = (0.95, 0.6, 0.8)
_VALUES = (1.0, 0.85, 0.7)


@lru_cache(maxsize=4096)
def color_for_id(track_id: int) -> tuple[int, int, int]:
    """RGB colour (0-255) of a track id (any int; ids >= 1 in practice)."""
    i = int(track_id)
    hue = (i * _GOLDEN) % 1.0
    sat, val = _SATURATIONS[i % 3], _VALUES[(i // 3) % 3]
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``background`` (RGB)."""
    r, g, b = background
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return (0, 0, 0) if luma > 140 else (255, 255, 255)
