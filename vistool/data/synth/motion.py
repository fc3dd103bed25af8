"""Per-frame motion of objects and camera, all precomputed as arrays.

Every function draws a fixed amount of randomness for a given number of
frames ``T`` and returns arrays over all frames, so any frame of a video can be
rendered on its own (random access for training clips) and a video depends
only on its seed. Lengths are in frame heights.
"""

from __future__ import annotations

import numpy as np

MOTION_KINDS = ("smooth", "accelerating", "bouncing", "erratic")


def fold(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect values into ``[lo, hi]`` like a ball bouncing between two walls."""
    span = hi - lo
    if span <= 0:
        return np.full_like(x, (lo + hi) / 2.0)
    y = np.mod(x - lo, 2.0 * span)
    return lo + np.where(y > span, 2.0 * span - y, y)


def displacement(kind: str, frames: int, speed: float, heading: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 2) position relative to frame 0 for one motion kind.

    smooth: constant speed along a gently curving heading; accelerating: speed
    ramps up (or down) several-fold; bouncing: straight line (the walls come
    from :func:`fold`); erratic: the heading jumps at random frames and the
    speed jitters every frame.
    """
    t = np.arange(frames, dtype=np.float64)
    turn = rng.uniform(-0.05, 0.05)
    wiggle, wiggle_freq, wiggle_phase = rng.uniform(0, 0.4), rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
    ramp = rng.uniform(0.1, 0.5), rng.uniform(1.5, 3.0)
    jumps = rng.random(frames) < 0.15
    new_heading = rng.uniform(-np.pi, np.pi, frames)
    jitter = rng.uniform(0.3, 1.7, frames)
    if kind == "smooth":
        head = heading + turn * t + wiggle * np.sin(wiggle_freq * t + wiggle_phase)
        v = np.full(frames, speed)
    elif kind == "accelerating":
        head = heading + 0.3 * turn * t
        a, b = ramp if rng.random() < 0.7 else ramp[::-1]
        v = speed * (a + (b - a) * t / max(frames - 1, 1))
    elif kind == "bouncing":
        head = np.full(frames, heading)
        v = np.full(frames, speed)
    elif kind == "erratic":
        jumps[0] = False
        segment = np.cumsum(jumps)
        heads = np.concatenate([[heading], new_heading[jumps]])
        head = heads[segment] + 0.2 * np.sin(wiggle_freq * 3 * t + wiggle_phase)
        v = speed * jitter
    else:
        raise ValueError(f"unknown motion kind '{kind}'")
    step = np.stack([v * np.cos(head), v * np.sin(head)], axis=1)
    step[0] = 0.0
    return np.cumsum(step, axis=0)


def log_scale(frames: int, rng: np.random.Generator) -> np.ndarray:
    """(T,) log of the scale factor: approach or recede, slowly oscillating in long videos."""
    amp = rng.uniform(0.15, 0.7) * (1 if rng.random() < 0.5 else -1)
    period = rng.uniform(1.5, 4.0) * min(frames, 80)
    phase = rng.uniform(-0.3, 0.3)
    t = np.arange(frames)
    return amp * np.sin(2 * np.pi * t / period + phase) if rng.random() < 0.8 else np.zeros(frames)


def rotation(frames: int, spin: float, rng: np.random.Generator) -> np.ndarray:
    """(T,) angle in radians: constant spin plus a slow sway."""
    start, omega = rng.uniform(0, 2 * np.pi), rng.uniform(-spin, spin)
    sway, freq = rng.uniform(0, 0.3), rng.uniform(0.05, 0.2)
    t = np.arange(frames)
    return start + omega * t + sway * np.sin(freq * t)


def squash(frames: int, always: bool, rng: np.random.Generator) -> np.ndarray:
    """(T,) log aspect of a squash-and-stretch deformation (0 = rigid)."""
    amp = rng.uniform(0.05, 0.25)
    freq, phase = rng.uniform(0.1, 0.4), rng.uniform(0, 2 * np.pi)
    if not always and rng.random() < 0.6:
        return np.zeros(frames)
    return amp * np.sin(freq * np.arange(frames) + phase)


def camera(frames: int, pan: float, shake: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 2) camera offset: a slow pan back and forth plus per-frame shake."""
    amp = rng.uniform(0, pan, 2) * np.array([1.0, 0.4])
    period = rng.uniform(2.0, 6.0, 2) * min(frames, 80)
    phase = rng.uniform(0, 2 * np.pi, 2)
    shake_amp = rng.uniform(0, shake)
    jitter = rng.normal(0.0, 1.0, (frames, 2)) * shake_amp
    t = np.arange(frames)[:, None]
    return amp * np.sin(2 * np.pi * t / period + phase) - amp * np.sin(phase) + jitter


def lighting(frames: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) per-channel gain: slow drift, a possible light switch and a colour tint."""
    t = np.arange(frames)[:, None]
    amp, period, phase = rng.uniform(0, amount), rng.uniform(1.0, 4.0) * min(frames, 80), rng.uniform(0, 2 * np.pi)
    gain = 1.0 + amp * np.sin(2 * np.pi * t / period + phase)
    switch_at, switch_to = rng.uniform(0.2, 0.8) * frames, rng.uniform(1 - amount, 1 + amount)
    if rng.random() < 0.3:
        gain = gain * np.where(t >= switch_at, switch_to, 1.0)
    tint = 1.0 + rng.uniform(-0.08, 0.08, 3) * np.sin(2 * np.pi * t / period)
    return gain * tint


def blur(frames: int, prob: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 3) per-frame blur: [kind (0 none, 1 defocus, 2 motion), strength, direction]."""
    on = rng.random(frames) < prob
    kind = np.where(on, 1 + (rng.random(frames) < 0.5), 0)
    strength = rng.uniform(0.004, 0.012, frames)  # frame heights
    direction = rng.integers(0, 2, frames)
    return np.stack([kind, strength, direction], axis=1)
