"""Texture families, the shared colour palette and textured backgrounds.

A texture is a single-channel uint8 pattern; a per-frame 256-entry lookup
table blends two palette colours by the pattern value, so colour can change
over time while the pattern stays. Every category draws its colours from the
same palette, so colour alone never tells the class.
"""

from __future__ import annotations

import cv2
import numpy as np

# The one palette shared by all categories, distractors and backgrounds (RGB).
PALETTE = np.array([
    [220, 50, 47], [240, 140, 30], [235, 210, 50], [140, 200, 60], [40, 160, 80], [30, 170, 170],
    [70, 190, 230], [50, 90, 210], [130, 70, 200], [210, 60, 160], [240, 150, 180], [140, 90, 50],
    [235, 235, 235], [30, 30, 30],
], dtype=np.float32)

CATEGORY_PATTERNS = ("stripes", "checks", "dots", "radial", "zigzag", "grid", "waves", "spots", "gradient",
                     "concentric")
DISTRACTOR_PATTERNS = CATEGORY_PATTERNS + ("plain", "noise")
_RAMP = np.linspace(0.0, 1.0, 256, dtype=np.float32)[:, None]  # (256, 1)


def child(rng: np.random.Generator) -> np.random.Generator:
    """A generator seeded from one draw of ``rng``.

    Draws whose count depends on the output size go to a child, so the scene
    (which consumes ``rng``) is the same at every size.
    """
    return np.random.Generator(np.random.PCG64(int(rng.integers(2**63))))


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def pattern(name: str, shape: tuple[int, int], radius_px: float, rng: np.random.Generator) -> np.ndarray:
    """An (h, w) uint8 pattern centred in the array; lengths scale with ``radius_px``.

    Args:
        name: texture family (one of ``DISTRACTOR_PATTERNS``).
        shape: (h, w) in pixels.
        radius_px: pixels per object unit (the object's radius at scale 1).
        rng: randomness for the family's period, angle and phase.
    """
    period, angle, phase = rng.uniform(0.22, 0.42), rng.uniform(0, np.pi), rng.uniform(0, 1)
    sub = child(rng)
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = (x - (w - 1) / 2.0) / radius_px, (y - (h - 1) / 2.0) / radius_px
    xr = x * np.cos(angle) + y * np.sin(angle)
    yr = -x * np.sin(angle) + y * np.cos(angle)
    r = np.sqrt(x * x + y * y)
    if name == "stripes":
        v = _frac(xr / period + phase) < 0.5
    elif name == "checks":
        v = (np.floor(xr / period) + np.floor(yr / period)) % 2 == 0
    elif name == "dots":
        gx, gy = _frac(xr / period + phase) - 0.5, _frac(yr / period) - 0.5
        v = gx * gx + gy * gy < 0.09
    elif name == "radial":
        v = np.clip(1.0 - r, 0.0, 1.0) ** 0.7
    elif name == "zigzag":
        v = _frac((yr + 0.5 * period * np.abs(_frac(xr / period) - 0.5)) / (0.6 * period) + phase) < 0.5
    elif name == "grid":
        v = (_frac(xr / period) < 0.22) | (_frac(yr / period) < 0.22)
    elif name == "waves":
        v = 0.5 + 0.5 * np.sin(2 * np.pi * (xr + 0.15 * np.sin(2 * np.pi * yr / period)) / period)
    elif name == "spots":
        grid = sub.uniform(0, 1, (5, 5)).astype(np.float32)
        field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        v = field > np.median(field)
    elif name == "gradient":
        v = np.clip((xr + 1.0) / 2.0, 0.0, 1.0)
    elif name == "concentric":
        v = _frac(r / (0.8 * period) + phase) < 0.5
    elif name == "plain":
        v = np.zeros_like(x)
    elif name == "noise":
        v = sub.uniform(0, 1, x.shape)
    else:
        raise ValueError(f"unknown texture family '{name}'")
    return (np.asarray(v, dtype=np.float32) * 255.0 + 0.5).astype(np.uint8)


def colour_lut(c0: np.ndarray, c1: np.ndarray, gain: float) -> np.ndarray:
    """(256, 3) uint8 table: pattern value p -> gain * ((1 - p) c0 + p c1)."""
    return np.clip(gain * ((1.0 - _RAMP) * c0 + _RAMP * c1), 0, 255).astype(np.uint8)


def background(height: int, width: int, unit_px: float, rng: np.random.Generator) -> np.ndarray:
    """A (height, width, 3) uint8 RGB textured background canvas.

    Low-frequency colour field from muted palette colours, a low-contrast
    pattern (tiles, stripes or waves) and a few clutter blobs.
    """
    cells = rng.integers(3, 7)
    muted = rng.uniform(0.25, 0.5)
    kind = ("checks", "stripes", "waves", "grid")[int(rng.integers(4))]
    sub = child(rng)
    gh, gw = int(cells), int(cells * max(1, round(width / max(height, 1))))
    idx = sub.integers(0, len(PALETTE), (gh, gw))
    grey = sub.uniform(60, 170, (gh, gw, 1))
    field = (muted * PALETTE[idx] + (1 - muted) * grey).astype(np.float32)
    canvas = cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
    # The low-contrast pattern is drawn at half resolution: it is soft anyway.
    half = pattern(kind, ((height + 1) // 2, (width + 1) // 2), unit_px * 0.3, sub)
    pat = cv2.resize(half, (width, height), interpolation=cv2.INTER_LINEAR)
    canvas += (pat.astype(np.float32)[..., None] - 127.5) * sub.uniform(0.03, 0.09)
    clutter = canvas.copy()
    for _ in range(int(sub.integers(2, 7))):
        centre = (int(sub.uniform(0, width)), int(sub.uniform(0, height)))
        axes = (max(1, int(sub.uniform(0.03, 0.12) * unit_px)), max(1, int(sub.uniform(0.02, 0.08) * unit_px)))
        colour = PALETTE[int(sub.integers(len(PALETTE)))] * 0.5 + 50
        cv2.ellipse(clutter, centre, axes, float(sub.uniform(0, 180)), 0, 360, colour.tolist(), -1, cv2.LINE_AA)
    canvas = 0.5 * canvas + 0.5 * clutter
    return np.clip(canvas, 0, 255).astype(np.uint8)
