"""Contact sheet of synthetic frames with their ground truth drawn on them.

Each row is one video, each column one frame (evenly spaced). Visible masks are
drawn by :mod:`vistool.viz.overlay` in the colour of their track id, labelled
``#id category`` plus ``~`` when slightly or ``!`` when severely occluded; the
bottom line names the video and frame and lists instances hidden in it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vistool.data.synth.shapes import CATEGORIES
from vistool.data.synth.video import SynthFrame, SynthVideo, render_video
from vistool.viz.overlay import OverlayItem, OverlayStyle, draw_items

_OCC_MARK = ("", "~", "!")


def footer(img: np.ndarray, lines: list[str], scale: float) -> list[tuple[int, int, int, int]]:
    """Write ``lines`` at the bottom-left of ``img`` (in place), the last line lowest, each on its own dark
    band, stacked by their measured height so they never overlap; returns the bands as (x0, y0, x1, y1)."""
    font, thickness, pad = cv2.FONT_HERSHEY_SIMPLEX, 1, 2
    bands = []
    bottom = img.shape[0]
    for text in reversed(lines):
        (width, height), base = cv2.getTextSize(text, font, scale, thickness)
        top = bottom - height - base - 2 * pad
        x1 = min(img.shape[1] - 1, width + 2 * pad)
        cv2.rectangle(img, (0, top), (x1, bottom - 1), (0, 0, 0), cv2.FILLED)
        cv2.putText(img, text, (pad, bottom - base - pad), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        bands.append((0, top, x1, bottom - 1))
        bottom = top - 1
    return bands[::-1]


def draw_frame(frame: SynthFrame, header: str = "") -> np.ndarray:
    """(H, W, 3) uint8 RGB: the frame with masks, outlines, ids, categories and occlusion."""
    items = [OverlayItem(mask=obj.visible_mask, color_key=obj.track_id,
                         text=f"#{obj.track_id} {CATEGORIES[obj.label]}{_OCC_MARK[obj.occlusion]}")
             for obj in frame.objects if obj.visible_mask is not None]
    img = draw_items(frame.image, items, OverlayStyle(boxes=False))
    scale = max(img.shape[0] / 540.0, 0.3)
    hidden = [str(obj.track_id) for obj in frame.objects if obj.visible_mask is None]
    lines = (["hidden #" + ",".join(hidden)] if hidden else []) + ([header] if header else [])
    footer(img, lines, scale)
    return img


def contact_sheet(videos: list[SynthVideo], columns: int = 6, gap: int = 4,
                  names: list[str] | None = None) -> np.ndarray:
    """(rows*H + gaps, columns*W + gaps, 3) uint8 RGB sheet: one row per video."""
    rows = []
    for i, video in enumerate(videos):
        name = names[i] if names else video.name
        picks = np.linspace(0, video.num_frames - 1, columns).round().astype(int)
        tiles = [draw_frame(video.frame(int(t)), f"{name} t={int(t)}") for t in picks]
        spacer = np.full((video.height, gap, 3), 255, dtype=np.uint8)
        row = [x for tile in tiles for x in (tile, spacer)][:-1]
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    out = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(out, axis=0)[:-gap]


def write_preview(path: str | Path, preset: str, seed: int, indices: list[int],
                  size: tuple[int, int] = (384, 216), columns: int = 6, names: list[str] | None = None) -> Path:
    """Render videos ``indices`` of (preset, seed) and write their contact sheet as PNG.

    ``names`` label the rows (default: each video's own name).
    """
    from vistool.io.atomic import atomic_path

    sheet = contact_sheet([render_video(preset, seed, i, size) for i in indices], columns, names=names)
    ok, data = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    with atomic_path(path, suffix=".png") as tmp:
        tmp.write_bytes(data.tobytes())
    return Path(path)
