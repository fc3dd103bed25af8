"""Shape families of the synthetic benchmark as unit contours.

A shape is a list of closed contours, each an (M, 2) float array in object
coordinates (x right, y down) inside the unit disc; a second contour is a hole
(cv2.fillPoly fills with the even-odd rule). Each category is one shape family
with its own texture family (see :mod:`vistool.data.synth.textures`);
distractors use shapes of no category.
"""

from __future__ import annotations

import functools

import numpy as np

Contours = list[np.ndarray]

# Label i is CATEGORIES[i]; the texture family of each category is fixed.
CATEGORIES: list[str] = [
    "disc", "square", "triangle", "star", "ring", "cross", "hexagon", "blob", "crescent", "heart",
]
CATEGORY_TEXTURES: dict[str, str] = {
    "disc": "stripes", "square": "checks", "triangle": "dots", "star": "radial", "ring": "zigzag",
    "cross": "grid", "hexagon": "waves", "blob": "spots", "crescent": "gradient", "heart": "concentric",
}
DISTRACTOR_SHAPES = ("ellipse", "polygon", "bar")

_POINTS = 64  # vertices per outer contour after densifying, so deformation bends edges


def _circle(radius: float, n: int = _POINTS, center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([center[0] + radius * np.cos(t), center[1] + radius * np.sin(t)], axis=1)


def _regular(n: int, radius: float = 1.0, start: float = -np.pi / 2) -> np.ndarray:
    t = start + np.arange(n) * 2.0 * np.pi / n
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def densify(contour: np.ndarray, n: int = _POINTS) -> np.ndarray:
    """Resample a closed polygon to about ``n`` vertices spaced evenly along its edges."""
    closed = np.vstack([contour, contour[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.linspace(0.0, cum[-1], n, endpoint=False)
    # Keep the original corners so squares stay square.
    s = np.unique(np.concatenate([s, cum[:-1]]))
    return np.stack([np.interp(s, cum, closed[:, 0]), np.interp(s, cum, closed[:, 1])], axis=1)


def _normalize(contours: Contours) -> Contours:
    """Centre on the bounding box and scale so every point lies in the unit disc."""
    allp = np.vstack(contours)
    centre = (allp.min(axis=0) + allp.max(axis=0)) / 2.0
    radius = float(np.linalg.norm(allp - centre, axis=1).max())
    return [(c - centre) / radius for c in contours]


def _star() -> np.ndarray:
    t = -np.pi / 2 + np.arange(10) * np.pi / 5
    r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross(w: float = 0.32) -> np.ndarray:
    return np.array([[-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
                     [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w]], dtype=float)


def _crescent() -> np.ndarray:
    # Inside the unit circle, outside a circle of radius 0.8 centred at (0.45, 0).
    xi = (1.0 - 0.64 + 0.45**2) / 0.9
    yi = np.sqrt(1.0 - xi**2)
    a = np.arctan2(yi, xi)
    b = np.arctan2(yi, xi - 0.45)
    outer = np.linspace(a, 2 * np.pi - a, 40)
    inner = np.linspace(2 * np.pi - b, b, 32)
    return np.vstack([np.stack([np.cos(outer), np.sin(outer)], 1),
                      np.stack([0.45 + 0.8 * np.cos(inner), 0.8 * np.sin(inner)], 1)])


def _heart() -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, _POINTS, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return np.stack([x, y], axis=1)


def _blob(rng: np.random.Generator) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, _POINTS, endpoint=False)
    r = np.full_like(t, 0.75)
    for k, amp, phase in zip((2, 3, 4), rng.uniform(0.04, 0.12, 3), rng.uniform(0, 2 * np.pi, 3)):
        r += amp * np.cos(k * t + phase)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


@functools.lru_cache(maxsize=None)
def _fixed_shape(name: str) -> tuple[np.ndarray, ...]:
    """Unit contours of a category whose shape does not vary between instances."""
    shapes: dict[str, Contours] = {
        "disc": [_circle(1.0)],
        "square": [densify(_regular(4, start=np.pi / 4))],
        "triangle": [densify(_regular(3))],
        "star": [densify(_star())],
        "ring": [_circle(1.0), _circle(0.55, 48)],
        "cross": [densify(_cross())],
        "hexagon": [densify(_regular(6, start=0.0))],
        "crescent": [_crescent()],
        "heart": [_heart()],
    }
    return tuple(_normalize(shapes[name]))


def category_contours(label: int, rng: np.random.Generator) -> Contours:
    """Unit contours of one instance of category ``label`` (blobs differ per instance)."""
    name = CATEGORIES[label]
    blob = _blob(rng)  # always drawn, so every category consumes the same randomness
    if name == "blob":
        return _normalize([blob])
    return [c.copy() for c in _fixed_shape(name)]


def distractor_contours(rng: np.random.Generator) -> Contours:
    """Unit contours of a shape of no category: ellipse, irregular polygon or bar."""
    kind = DISTRACTOR_SHAPES[int(rng.integers(len(DISTRACTOR_SHAPES)))]
    aspect = float(rng.uniform(0.3, 0.6))
    n = int(rng.integers(4, 7))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(0.45, 1.0, n)
    if kind == "ellipse":
        c = _circle(1.0) * np.array([1.0, aspect])
    elif kind == "bar":
        h = aspect * 0.4
        c = densify(np.array([[-1, -h], [1, -h], [1, h], [-1, h]], dtype=float))
    else:
        c = densify(np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1))
    return _normalize([c])


def deform(contours: Contours, amplitude: float, lobes: int, phase: float) -> Contours:
    """Non-rigid wobble: scale each vertex radially by ``1 + a sin(lobes * angle + phase)``."""
    if amplitude == 0.0:
        return contours
    out = []
    for c in contours:
        ang = np.arctan2(c[:, 1], c[:, 0])
        out.append(c * (1.0 + amplitude * np.sin(lobes * ang + phase))[:, None])
    return out
