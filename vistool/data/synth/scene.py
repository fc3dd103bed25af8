"""The plan of one synthetic video: every layer's shape, texture and per-frame state.

A plan is drawn from ``np.random.SeedSequence([seed, preset_id, index])`` and is
independent of the output size (lengths are in frame heights), so a video can
be rendered at any size and any frame can be rendered alone.

Traps built in: instances of one category with the same colours whose paths
cross (a twin passes through the same point at the same frame as the instance
it copies), static bars in front of everything placed where an instance passes
(full occlusion for several frames, then reappearance), objects roaming beyond
the frame (leaving and returning), distractors of no category, depth order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vistool.data.synth import motion
from vistool.data.synth.presets import PresetConfig, get_preset, preset_id
from vistool.data.synth.shapes import CATEGORIES, CATEGORY_TEXTURES, category_contours, distractor_contours
from vistool.data.synth.textures import CATEGORY_PATTERNS, DISTRACTOR_PATTERNS, PALETTE

assert set(CATEGORY_TEXTURES.values()) <= set(CATEGORY_PATTERNS)


@dataclass
class Layer:
    """One drawable shape of a video.

    Attributes:
        track_id: >= 1 for a category instance; 0 for distractors and occluders.
        label: 0-based category, or -1.
        z: depth; larger is nearer (drawn later).
        contours: unit contours, see :mod:`vistool.data.synth.shapes`.
        radius: radius at scale 1, in frame heights.
        texture: texture family name.
        texture_seed: seed of the texture's own randomness.
        pos: (T, 2) centre in world frame heights.
        log_scale, angle, squash: (T,) scale (log), rotation (rad), squash (log aspect).
        wobble: (amplitude, lobes, angular speed, phase) of the non-rigid wobble.
        colours: (T, 2, 3) float RGB of the texture's two colours per frame.
        gain: (T,) brightness of the layer.
    """

    track_id: int
    label: int
    z: float
    contours: list[np.ndarray]
    radius: float
    texture: str
    texture_seed: int
    pos: np.ndarray
    log_scale: np.ndarray
    angle: np.ndarray
    squash: np.ndarray
    wobble: tuple[float, int, float, float]
    colours: np.ndarray
    gain: np.ndarray

    def extent(self) -> np.ndarray:
        """(T,) largest distance of the shape from its centre, in frame heights."""
        return self.radius * np.exp(self.log_scale + np.abs(self.squash)) * (1.0 + self.wobble[0])


@dataclass
class VideoPlan:
    """Everything needed to render one video at any size.

    Attributes:
        preset, seed, index: what the video was drawn from.
        num_frames: T.
        aspect: width / height the plan was laid out for.
        layers: back-to-front (sorted by z).
        camera: (T, 2) camera offset in frame heights.
        light: (T, 3) per-channel gain.
        blur: (T, 3) per-frame blur, see :func:`motion.blur`.
        jpeg_quality: JPEG quality of the video's frames.
        background_seed: seed of the background texture.
    """

    preset: str
    seed: int
    index: int
    num_frames: int
    aspect: float
    layers: list[Layer]
    camera: np.ndarray
    light: np.ndarray
    blur: np.ndarray
    jpeg_quality: int
    background_seed: int

    @property
    def tracks(self) -> list[tuple[int, int]]:
        """(track_id, label) of every category instance, by track id."""
        return sorted((ly.track_id, ly.label) for ly in self.layers if ly.track_id > 0)


def video_rng(preset: str, seed: int, index: int) -> np.random.Generator:
    """The generator of one video; depends only on (seed, preset, index)."""
    if seed < 0 or index < 0:
        raise ValueError("seed and index must be >= 0")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, preset_id(preset), index])))


def _colours(frames: int, pair: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(T, 2, 3) colours; with some chance one colour drifts to another palette colour."""
    start = PALETTE[list(pair)]
    end = start.copy()
    which, target = int(rng.integers(2)), int(rng.integers(len(PALETTE)))
    t0, dur = rng.uniform(0, 0.6) * frames, rng.uniform(0.2, 0.6) * frames + 1
    if rng.random() < 0.4:
        end[which] = PALETTE[target]
    w = np.clip((np.arange(frames) - t0) / dur, 0.0, 1.0)[:, None, None]
    return ((1 - w) * start + w * end).astype(np.float32)


def _boxes(aspect: float, ext: float, roam: bool, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) corners of the box an object's centre bounces in."""
    size = np.array([aspect, 1.0])
    if roam:
        return np.full(2, -ext - margin), size + ext + margin
    lo = np.minimum(np.full(2, ext), size / 2)
    return lo, np.maximum(size - ext, lo)


def _inside(pos: np.ndarray, aspect: float) -> np.ndarray:
    """(T,) whether a centre lies inside the frame (camera ignored)."""
    return (pos[:, 0] > 0) & (pos[:, 0] < aspect) & (pos[:, 1] > 0) & (pos[:, 1] < 1)


def _crossing_frame(other: Layer | None, aspect: float, rng: np.random.Generator) -> int:
    """A frame in the middle of the video where ``other`` is in view (for crossings, occluders)."""
    u = rng.uniform(0.25, 0.75)
    if other is None:
        return 0
    frames = other.pos.shape[0]
    mid = np.arange(frames)[(np.arange(frames) >= 0.15 * frames) & (np.arange(frames) <= 0.85 * frames)]
    seen = mid[_inside(other.pos[mid], aspect)]
    choices = seen if seen.size else mid
    return int(choices[min(int(u * choices.size), choices.size - 1)])


def _moving_layer(cfg: PresetConfig, frames: int, aspect: float, rng: np.random.Generator,
                  track_id: int, label: int, twin_of: Layer | None) -> Layer:
    """A category instance (label >= 0) or a distractor (label -1) with its motion."""
    contours = category_contours(label, rng) if label >= 0 else distractor_contours(rng)
    texture = CATEGORY_TEXTURES[CATEGORIES[label]] if label >= 0 else \
        DISTRACTOR_PATTERNS[int(rng.integers(len(DISTRACTOR_PATTERNS)))]
    radius = rng.uniform(*cfg.radius) * (1.0 if label >= 0 else rng.uniform(0.6, 1.2))
    pair = tuple(int(i) for i in rng.choice(len(PALETTE), 2, replace=False))
    if twin_of is not None:
        radius = twin_of.radius * rng.uniform(0.9, 1.1)
    kind = motion.MOTION_KINDS[int(rng.integers(len(motion.MOTION_KINDS)))]
    speed, heading = rng.uniform(*cfg.speed), rng.uniform(-np.pi, np.pi)
    roam = kind != "bouncing" and rng.random() < cfg.exit_prob
    if roam:  # fast enough to leave and come back within a short video
        speed = max(speed, 0.6 * cfg.speed[1])
    deform_always = label >= 0 and CATEGORIES[label] == "blob"
    wob = (rng.uniform(0.06, 0.15) if deform_always or rng.random() < 0.4 else 0.0,
           int(rng.integers(2, 6)), rng.uniform(0.1, 0.5), rng.uniform(0, 2 * np.pi))
    layer = Layer(
        track_id=track_id, label=label, z=float(rng.uniform()), contours=contours, radius=radius,
        texture=texture, texture_seed=int(rng.integers(2**31)), pos=np.zeros((frames, 2)),
        log_scale=motion.log_scale(frames, rng), angle=motion.rotation(frames, cfg.spin, rng),
        squash=motion.squash(frames, deform_always, rng), wobble=wob,
        colours=_colours(frames, pair, rng), gain=1.0 + rng.uniform(0, 0.15) * np.sin(
            rng.uniform(0.05, 0.3) * np.arange(frames) + rng.uniform(0, 2 * np.pi)))
    if twin_of is not None and rng.random() < 0.7:
        layer.colours = twin_of.colours.copy()
    layer.pos = _path(layer, kind, speed, heading, roam, twin_of, aspect, rng)
    return layer


def _path(layer: Layer, kind: str, speed: float, heading: float, roam: bool, twin_of: Layer | None,
          aspect: float, rng: np.random.Generator) -> np.ndarray:
    """(T, 2) centre of a moving layer, folded into its box.

    The path is anchored: in view at frame 0; for a roaming object on a frame
    edge at a random frame (it is entering or leaving there; its box reaches
    just past the frame, so it turns back); for a twin at the position of the
    instance it copies at a frame where that one is in view (paths cross).
    """
    frames = layer.pos.shape[0]
    ext = float(np.median(layer.extent()) if roam else layer.extent().max())
    lo, hi = _boxes(aspect, ext, roam, rng.uniform(0.0, 0.08))
    path = motion.displacement(kind, frames, speed, heading, rng)
    t_anchor = int(rng.uniform(0.1, 0.6) * frames) if roam else 0
    view_lo, view_hi = np.maximum(lo, 0.0), np.minimum(hi, [aspect, 1.0])
    target = view_lo + rng.uniform(0, 1, 2) * np.maximum(view_hi - view_lo, 0.0)
    edge = int(rng.integers(4))
    if roam:
        target[edge % 2] = (0.0, (aspect, 1.0)[edge % 2])[edge // 2]
    t_cross = _crossing_frame(twin_of, aspect, rng)
    if twin_of is not None:
        t_anchor, target = t_cross, np.clip(twin_of.pos[t_cross], lo, hi)
    start = target - path[t_anchor]
    return np.stack([motion.fold(start[i] + path[:, i], lo[i], hi[i]) for i in range(2)], axis=1)


def _occluder(frames: int, aspect: float, cfg: PresetConfig, target: Layer | None,
              depth: float, rng: np.random.Generator) -> Layer:
    """A static textured bar in front of everything, placed on a target's path.

    Its width covers the target plus a few frames of its motion, so the target
    is fully hidden for several frames and comes back with the same identity.
    """
    t_hide = _crossing_frame(target, aspect, rng)
    x = rng.uniform(0.2, 0.8) * aspect
    half = rng.uniform(0.04, 0.1)
    if target is not None:
        x = float(target.pos[t_hide, 0])
        step = np.abs(np.diff(target.pos[:, 0], prepend=target.pos[0, 0]))[t_hide]
        need = float(target.extent()[t_hide]) + 1.5 * step + 0.01
        half = need if need < 0.13 * aspect else half
    tall = 0.5 + 2 * cfg.camera_pan + 6 * cfg.camera_shake + 0.1
    contours = [np.array([[-half, -tall], [half, -tall], [half, tall], [-half, tall]]) / tall]
    tilt = rng.uniform(-0.1, 0.1)
    pair = tuple(int(i) for i in rng.choice(len(PALETTE), 2, replace=False))
    colours = np.broadcast_to(PALETTE[list(pair)] * 0.6 + 40, (frames, 2, 3)).astype(np.float32)
    texture = ("grid", "stripes", "noise", "plain", "waves")[int(rng.integers(5))]
    return Layer(
        track_id=0, label=-1, z=depth, contours=contours, radius=tall, texture=texture,
        texture_seed=int(rng.integers(2**31)), pos=np.tile([x, 0.5], (frames, 1)),
        log_scale=np.zeros(frames), angle=np.full(frames, tilt), squash=np.zeros(frames),
        wobble=(0.0, 2, 0.0, 0.0), colours=colours, gain=np.ones(frames))


def build_plan(preset: str, seed: int, index: int, aspect: float = 16 / 9) -> VideoPlan:
    """Draw the plan of video ``index`` of ``preset`` from ``seed``."""
    cfg = get_preset(preset)
    rng = video_rng(preset, seed, index)
    frames = int(rng.integers(cfg.frames[0], cfg.frames[1] + 1))
    n_inst = int(rng.integers(cfg.instances[0], cfg.instances[1] + 1))
    n_dist = int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1))
    n_occ = int(rng.integers(cfg.occluders[0], cfg.occluders[1] + 1))
    layers: list[Layer] = []
    for k in range(n_inst):
        twin = layers[int(rng.integers(k))] if k > 0 and rng.random() < cfg.twin_prob else None
        label = twin.label if twin is not None else int(rng.integers(len(CATEGORIES)))
        layers.append(_moving_layer(cfg, frames, aspect, rng, k + 1, label, twin))
    for _ in range(n_dist):
        layers.append(_moving_layer(cfg, frames, aspect, rng, 0, -1, None))
    for j in range(n_occ):
        target = layers[int(rng.integers(n_inst))] if n_inst and rng.random() < 0.8 else None
        layers.append(_occluder(frames, aspect, cfg, target, 2.0 + j, rng))
    layers.sort(key=lambda ly: ly.z)
    return VideoPlan(
        preset=cfg.name, seed=seed, index=index, num_frames=frames, aspect=aspect, layers=layers,
        camera=motion.camera(frames, cfg.camera_pan, cfg.camera_shake, rng),
        light=motion.lighting(frames, cfg.lighting, rng), blur=motion.blur(frames, cfg.blur_prob, rng),
        jpeg_quality=int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)),
        background_seed=int(rng.integers(2**31)))
