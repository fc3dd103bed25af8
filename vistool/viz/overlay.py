"""Draw instances onto frames: translucent masks, contours, boxes and labels.

One colour per track id (:func:`vistool.viz.colors.color_for_id`), so a track
keeps its colour in every frame; per-frame results without ids are coloured by
their index. All drawing is OpenCV on the (H, W, 3) uint8 RGB frame, limited to
each mask's bounding box, so it stays cheap on every frame of an overlay video.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from vistool.structures import FrameInstances
from vistool.viz.colors import color_for_id, text_color


@dataclass
class OverlayItem:
    """One instance to draw.

    Attributes:
        mask: (H, W) bool, or None to draw only the box.
        color_key: track id (or index for per-frame results); picks the colour.
        text: label drawn above the box, e.g. ``"#3 person 0.92"`` ("" for none).
        box: xyxy pixels; the mask's bounding box when None.
    """

    mask: np.ndarray | None
    color_key: int
    text: str = ""
    box: Sequence[float] | None = None


@dataclass(frozen=True)
class OverlayStyle:
    """How instances are drawn.

    Attributes:
        alpha: mask opacity in [0, 1].
        contours: outline each mask.
        boxes: draw boxes.
        labels: draw the label texts.
        thickness: line thickness in pixels; from the frame size when None.
        font_scale: OpenCV font scale; from the frame size when None.
    """

    alpha: float = 0.45
    contours: bool = True
    boxes: bool = True
    labels: bool = True
    thickness: int | None = None
    font_scale: float | None = None


def instance_text(label: int, score: float | None, categories: Sequence[str], track_id: int | None = None) -> str:
    """``"#<id> <name> <score>"``; the name is ``categories[label]`` or ``"class<label>"``."""
    name = categories[label] if 0 <= label < len(categories) else f"class{label}"
    parts = ([f"#{track_id}"] if track_id is not None else []) + [name]
    if score is not None:
        parts.append(f"{score:.2f}")
    return " ".join(parts)


def _blend(out: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], alpha: float) -> tuple[int, int, int, int]:
    """Blend ``color`` into ``out`` where ``mask``; return the mask's (x, y, w, h) (w = 0 if empty)."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    if w == 0 or h == 0 or alpha <= 0:
        return x, y, w, h
    sub = out[y:y + h, x:x + w]
    inside = mask[y:y + h, x:x + w]
    weight = int(round(min(alpha, 1.0) * 256))
    pixels = sub[inside].astype(np.uint16)  # (K, 3)
    tint = np.asarray(color, dtype=np.uint16) * weight
    sub[inside] = ((pixels * (256 - weight) + tint) >> 8).astype(np.uint8)
    return x, y, w, h


def _contour(out: np.ndarray, mask: np.ndarray, rect: tuple[int, int, int, int], color: tuple[int, int, int],
             thickness: int) -> None:
    x, y, w, h = rect
    crop = np.ascontiguousarray(mask[y:y + h, x:x + w]).view(np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))
    cv2.drawContours(out, contours, -1, color, thickness, cv2.LINE_8)


def _label(out: np.ndarray, text: str, x0: int, y0: int, color: tuple[int, int, int], scale: float,
           thickness: int) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, max(1, thickness - 1))
    height, width = out.shape[:2]
    x0 = int(min(max(x0, 0), max(width - tw - 2, 0)))
    top = y0 - th - base - 2 if y0 - th - base - 2 >= 0 else y0  # above the box, else inside it
    top = int(min(max(top, 0), max(height - th - base - 2, 0)))
    cv2.rectangle(out, (x0, top), (x0 + tw + 2, top + th + base + 2), color, cv2.FILLED)
    cv2.putText(out, text, (x0 + 1, top + th + 1), font, scale, text_color(color), max(1, thickness - 1), cv2.LINE_AA)


def draw_items(frame: np.ndarray, items: Sequence[OverlayItem], style: OverlayStyle = OverlayStyle()) -> np.ndarray:
    """A copy of ``frame`` (H, W, 3) uint8 RGB with the items drawn.

    Masks are blended first, then outlines, boxes and labels on top.

    Raises:
        ValueError: the frame is not (H, W, 3) uint8 or a mask has another size.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3) uint8, got {frame.dtype} {frame.shape}")
    out = np.array(frame, dtype=np.uint8, order="C", copy=True)
    height, width = out.shape[:2]
    thickness = style.thickness or max(1, round(min(height, width) / 240))
    scale = style.font_scale or max(0.35, min(height, width) / 900)
    rects: list[tuple[int, int, int, int] | None] = []
    for item in items:
        if item.mask is None:
            rects.append(None)
            continue
        mask = np.ascontiguousarray(item.mask, dtype=bool)
        if mask.shape != (height, width):
            raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]}, the frame is {width}x{height}")
        color = color_for_id(item.color_key)
        rect = _blend(out, mask, color, style.alpha)
        rects.append(rect if rect[2] > 0 else None)
        if style.contours and rect[2] > 0:
            _contour(out, mask, rect, color, thickness)
    for item, rect in zip(items, rects):
        color = color_for_id(item.color_key)
        if item.box is not None:
            x0, y0, x1, y1 = (int(round(float(v))) for v in item.box)
        elif rect is not None:
            x0, y0, x1, y1 = rect[0], rect[1], rect[0] + rect[2] - 1, rect[1] + rect[3] - 1
        else:
            continue  # empty mask and no box: nothing to show
        if style.boxes:
            cv2.rectangle(out, (x0, y0), (x1, y1), color, thickness)
        if style.labels and item.text:
            _label(out, item.text, x0, y0, color, scale, thickness)
    return out


def draw_instances(frame_rgb: np.ndarray, instances: FrameInstances, categories: Sequence[str],
                   score_threshold: float = 0.0, style: OverlayStyle = OverlayStyle()) -> np.ndarray:
    """A copy of the frame with one frame's instances drawn (masks, boxes, names, scores, ids).

    Instances with a track id get that id's colour and an ``#id`` label;
    without ids (per-frame results) they are coloured by index.

    Args:
        frame_rgb: (H, W, 3) uint8 RGB.
        instances: the frame's instances; masks (N, H, W) at the frame's size.
        categories: names; label ``i`` is ``categories[i]``.
        score_threshold: instances scoring below it are not drawn.
        style: drawing options.
    """
    masks = instances.masks.detach().cpu().numpy()  # (N, H, W)
    boxes = instances.boxes.detach().cpu().numpy()  # (N, 4)
    scores = instances.scores.detach().cpu().numpy()  # (N,)
    labels = instances.labels.detach().cpu().numpy()  # (N,)
    ids = None if instances.track_ids is None else instances.track_ids.detach().cpu().numpy()
    items = []
    for i in range(len(instances)):
        if scores[i] < score_threshold:
            continue
        track_id = None if ids is None else int(ids[i])
        key = track_id if track_id is not None else i + 1
        text = instance_text(int(labels[i]), float(scores[i]), categories, track_id)
        items.append(OverlayItem(mask=masks[i], color_key=key, text=text, box=boxes[i].tolist()))
    return draw_items(frame_rgb, items, style)


def draw_rles(frame_rgb: np.ndarray, rles: Sequence[dict | None], keys: Sequence[int],
              texts: Sequence[str] | None = None, style: OverlayStyle = OverlayStyle()) -> np.ndarray:
    """A copy of the frame with RLE masks drawn (entries that are None are skipped).

    Args:
        frame_rgb: (H, W, 3) uint8 RGB.
        rles: one COCO RLE (``size`` [H, W], ``counts``) or None per instance.
        keys: colour key (track id) per instance.
        texts: label per instance, or None for no labels.
        style: drawing options.
    """
    from vistool.io import rle as rle_codec

    items = []
    for i, (entry, key) in enumerate(zip(rles, keys)):
        if entry is None:
            continue
        items.append(OverlayItem(mask=rle_codec.decode(entry), color_key=int(key), text=texts[i] if texts else ""))
    return draw_items(frame_rgb, items, style)
