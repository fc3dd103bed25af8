"""Pixels of a planned video: layers drawn back to front into an image and an id map.

The id map holds, per pixel, the track id of the category instance seen there
(0 for background, distractors and occluders). Because layers are drawn in
depth order into the same map, an instance's visible mask is exactly the
pixels where the map equals its id; its full area (unoccluded, inside the
frame) is the pixel count of its own filled shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vistool.data.synth.scene import Layer, VideoPlan
from vistool.data.synth.shapes import deform
from vistool.data.synth.textures import background, colour_lut, pattern

_SHIFT = 4  # fixed-point bits of polygon vertices: sub-pixel positions
_ONE = 1 << _SHIFT


@dataclass
class RenderedFrame:
    """Raw output of the renderer for one frame.

    Attributes:
        image: (H, W, 3) uint8 RGB, before JPEG.
        id_map: (H, W) uint8 track id per pixel, 0 where no instance is seen.
        full_areas: track id -> pixel count of its unoccluded shape inside the
            frame, for every instance that overlaps the frame.
    """

    image: np.ndarray
    id_map: np.ndarray
    full_areas: dict[int, int]


class Renderer:
    """Draws the frames of one :class:`VideoPlan` at a given size (random access)."""

    def __init__(self, plan: VideoPlan, width: int, height: int):
        self.plan, self.width, self.height = plan, width, height
        self.cam = np.round(plan.camera * height).astype(np.int64)  # (T, 2) pixels
        mx, my = (int(v) for v in np.abs(self.cam).max(axis=0))
        self._margin = (mx, my)
        self._canvas = background(height + 2 * my, width + 2 * mx, float(height),
                                  np.random.Generator(np.random.PCG64(plan.background_seed)))
        self._sprites = [self._sprite(layer) for layer in plan.layers]

    def _sprite(self, layer: Layer) -> np.ndarray:
        radius_px = max(layer.radius * self.height, 1.0)
        size = 2 * math.ceil(radius_px * 1.05) + 3
        return pattern(layer.texture, (size, size), radius_px,
                       np.random.Generator(np.random.PCG64(layer.texture_seed)))

    def _linear(self, layer: Layer, t: int) -> np.ndarray:
        """(2, 2) map from object units to pixels at frame t (scale, squash, rotation)."""
        s = math.exp(float(layer.log_scale[t])) * layer.radius * self.height
        q = float(layer.squash[t])
        c, si = math.cos(float(layer.angle[t])), math.sin(float(layer.angle[t]))
        return s * np.array([[c, -si], [si, c]]) @ np.diag([math.exp(q), math.exp(-q)])

    def shape(self, layer: Layer, t: int) -> tuple[int, int, np.ndarray, np.ndarray] | None:
        """Rasterise a layer at frame t inside its bounding box.

        Returns:
            (x0, y0, mask, linear) with mask (h, w) uint8 0/1 at offset (x0, y0),
            or None when the shape is outside the frame.
        """
        lin = self._linear(layer, t)
        centre = layer.pos[t] * self.height - self.cam[t]
        amp, lobes, speed, phase = layer.wobble
        contours = deform(layer.contours, amp, lobes, phase + speed * t)
        pts = [c @ lin.T + centre for c in contours]
        allp = np.vstack(pts)
        x0, y0 = (max(int(math.floor(v)), 0) for v in allp.min(axis=0))
        x1 = min(int(math.ceil(allp[:, 0].max())) + 1, self.width)
        y1 = min(int(math.ceil(allp[:, 1].max())) + 1, self.height)
        if x1 <= x0 or y1 <= y0:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        fixed = [np.round((p - (x0, y0)) * _ONE).astype(np.int32) for p in pts]
        cv2.fillPoly(mask, fixed, 1, lineType=cv2.LINE_8, shift=_SHIFT)
        return x0, y0, mask, lin

    def _texture(self, k: int, t: int, x0: int, y0: int, shape: tuple[int, int], lin: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 colours of layer k's texture over its box."""
        layer, sprite = self.plan.layers[k], self._sprites[k]
        radius_px = max(layer.radius * self.height, 1.0)
        b = lin / radius_px  # sprite pixels -> frame pixels
        c = (sprite.shape[0] - 1) / 2.0
        centre = layer.pos[t] * self.height - self.cam[t]
        shift = centre - b @ np.array([c, c]) - np.array([x0, y0])
        m = np.hstack([b, shift[:, None]])
        pat = cv2.warpAffine(sprite, m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101)
        lut = colour_lut(layer.colours[t, 0], layer.colours[t, 1], float(layer.gain[t]))
        return lut[pat]

    def render(self, t: int) -> RenderedFrame:
        """Draw frame t (0-based)."""
        if not 0 <= t < self.plan.num_frames:
            raise IndexError(f"frame {t} outside 0..{self.plan.num_frames - 1}")
        mx, my = self._margin
        cx, cy = (int(v) for v in self.cam[t])
        image = self._canvas[my + cy: my + cy + self.height, mx + cx: mx + cx + self.width].copy()
        id_map = np.zeros((self.height, self.width), dtype=np.uint8)
        full: dict[int, int] = {}
        for k, layer in enumerate(self.plan.layers):
            drawn = self.shape(layer, t)
            if drawn is None:
                continue
            x0, y0, mask, lin = drawn
            h, w = mask.shape
            sel = mask.view(bool)
            colours = self._texture(k, t, x0, y0, (h, w), lin)
            np.copyto(image[y0:y0 + h, x0:x0 + w], colours, where=sel[..., None])
            np.copyto(id_map[y0:y0 + h, x0:x0 + w], layer.track_id, where=sel, casting="unsafe")
            if layer.track_id > 0:
                area = int(np.count_nonzero(mask))
                if area:
                    full[layer.track_id] = area
        return RenderedFrame(self._finish(image, t), id_map, full)

    def _finish(self, image: np.ndarray, t: int) -> np.ndarray:
        """Global lighting change and blur."""
        gain = self.plan.light[t]
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gain[None, :], 0, 255).astype(np.uint8)
        image = cv2.LUT(image, lut.reshape(1, 256, 3))
        kind, strength, direction = self.plan.blur[t]
        if kind == 1:
            image = cv2.GaussianBlur(image, (0, 0), max(float(strength) * self.height, 0.3))
        elif kind == 2:
            k = max(3, int(round(float(strength) * self.height * 2)) | 1)
            image = cv2.blur(image, (k, 1) if direction == 0 else (1, k))
        return image

    def full_masks(self, t: int) -> list[tuple[int, np.ndarray]]:
        """(track_id, full (H, W) bool mask) of every layer at frame t, back to front.

        Independent of the id map: used to check visible masks and occlusion.
        """
        out = []
        for layer in self.plan.layers:
            full = np.zeros((self.height, self.width), dtype=bool)
            drawn = self.shape(layer, t)
            if drawn is not None:
                x0, y0, mask, _ = drawn
                full[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]] = mask.view(bool)
            out.append((layer.track_id, full))
        return out
