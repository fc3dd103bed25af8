"""Contact sheet of synthetic frames with their ground truth drawn on them.

Each row is one video, each column one frame (evenly spaced). Visible masks are
tinted and outlined in a colour fixed by the track id, with ``id:category`` and,
when occluded, ``~`` (slight) or ``#`` (severe); the corner lists instances
hidden in that frame.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import cv2
import numpy as np

from vistool.data.synth.shapes import CATEGORIES
from vistool.data.synth.video import SynthFrame, SynthVideo, render_video

_OCC_MARK = ("", "~", "#")


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A stable, well-separated RGB colour for a track id."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _text(img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_frame(frame: SynthFrame, header: str = "") -> np.ndarray:
    """(H, W, 3) uint8 RGB: the frame with masks, outlines, ids, categories and occlusion."""
    img = frame.image.copy()
    scale = max(img.shape[0] / 540.0, 0.3)
    hidden = []
    for obj in frame.objects:
        if obj.visible_mask is None:
            hidden.append(str(obj.track_id))
            continue
        colour = np.array(track_colour(obj.track_id), dtype=np.float32)
        sel = obj.visible_mask
        img[sel] = (0.55 * img[sel] + 0.45 * colour).astype(np.uint8)
        contours, _ = cv2.findContours(sel.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, tuple(int(c) for c in colour), 1, cv2.LINE_AA)
        ys, xs = np.nonzero(sel)
        label = f"{obj.track_id}:{CATEGORIES[obj.label]}{_OCC_MARK[obj.occlusion]}"
        _text(img, label, (int(xs.min()), max(int(ys.min()) - 2, 10)), tuple(int(c) for c in colour), scale)
    if header:
        _text(img, header, (3, img.shape[0] - 4), (255, 255, 255), scale)
    if hidden:
        _text(img, "hidden " + ",".join(hidden), (3, 12), (255, 255, 255), scale)
    return img


def contact_sheet(videos: list[SynthVideo], columns: int = 6, gap: int = 4) -> np.ndarray:
    """(rows*H + gaps, columns*W + gaps, 3) uint8 RGB sheet: one row per video."""
    rows = []
    for video in videos:
        picks = np.linspace(0, video.num_frames - 1, columns).round().astype(int)
        tiles = [draw_frame(video.frame(int(t)), f"{video.name} t={int(t)}") for t in picks]
        spacer = np.full((video.height, gap, 3), 255, dtype=np.uint8)
        row = [x for tile in tiles for x in (tile, spacer)][:-1]
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        r = np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255)
        out.append(r)
    return np.concatenate(out, axis=0)[:-gap]


def write_preview(path: str | Path, preset: str, seed: int, indices: list[int],
                  size: tuple[int, int] = (384, 216), columns: int = 6) -> Path:
    """Render videos ``indices`` of (preset, seed) and write their contact sheet as PNG."""
    from vistool.io.atomic import atomic_path

    sheet = contact_sheet([render_video(preset, seed, i, size) for i in indices], columns)
    ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    with atomic_path(path, suffix=".png") as tmp:
        tmp.write_bytes(data.tobytes())
    return Path(path)
