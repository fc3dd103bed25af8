"""Overlay drawing (vistool.viz): stable colours per track id, masks, boxes, labels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from vistool.io import rle
from vistool.structures import FrameInstances
from vistool.viz import OverlayItem, OverlayStyle, color_for_id, draw_instances, draw_items, draw_rles

H, W = 60, 80
GREY = 100


def blend(color: tuple[int, int, int], alpha: float = 0.45) -> np.ndarray:
    """Expected pixel where a mask of ``color`` covers a GREY pixel."""
    weight = int(round(alpha * 256))
    return (GREY * (256 - weight) + np.asarray(color) * weight) >> 8


def square(y: int, x: int, size: int = 16) -> np.ndarray:
    mask = np.zeros((H, W), dtype=bool)
    mask[y:y + size, x:x + size] = True
    return mask


def instances(masks: list[np.ndarray], ids: list[int] | None, scores: list[float] | None = None,
              frame_index: int = 0) -> FrameInstances:
    n = len(masks)
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max(), ys.max()])
    return FrameInstances(
        frame_index=frame_index, image_size=(H, W), boxes=torch.tensor(boxes, dtype=torch.float32).reshape(n, 4),
        masks=torch.from_numpy(np.stack(masks)), scores=torch.tensor(scores or [0.9] * n),
        labels=torch.zeros(n, dtype=torch.int64),
        track_ids=None if ids is None else torch.tensor(ids, dtype=torch.int64))


def grey_frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, dtype=np.uint8)


def test_colors_are_deterministic_and_well_separated() -> None:
    colors = [color_for_id(i) for i in range(1, 11)]
    assert colors == [color_for_id(i) for i in range(1, 11)]
    assert all(0 <= c <= 255 for color in colors for c in color)
    distances = [np.linalg.norm(np.subtract(a, b)) for a, b in itertools.combinations(colors, 2)]
    assert min(distances) > 60
    many = {color_for_id(i) for i in range(1, 201)}
    assert len(many) == 200


def test_mask_pixels_take_the_track_colour_and_outside_is_untouched() -> None:
    frame = grey_frame()
    out = draw_instances(frame, instances([square(10, 10), square(30, 50)], ids=[3, 7]), ["thing"],
                         style=OverlayStyle(labels=False, boxes=False, contours=False))
    assert (frame == GREY).all()  # input not modified
    np.testing.assert_array_equal(out[18, 18], blend(color_for_id(3)))
    np.testing.assert_array_equal(out[38, 58], blend(color_for_id(7)))
    untouched = np.ones((H, W), dtype=bool)
    untouched[10:26, 10:26] = untouched[30:46, 50:66] = False
    assert (out[untouched] == GREY).all()


def test_colour_follows_the_id_across_frames_not_the_order() -> None:
    style = OverlayStyle(labels=False, boxes=False, contours=False)
    first = draw_instances(grey_frame(), instances([square(10, 10), square(30, 50)], ids=[3, 7]), [], style=style)
    # next frame: the tracks moved, swapped order, and a new track appeared
    second = draw_instances(grey_frame(), instances([square(5, 40), square(20, 5), square(40, 20)], ids=[12, 3, 7]),
                            [], style=style)
    np.testing.assert_array_equal(first[18, 18], second[28, 13])  # id 3
    np.testing.assert_array_equal(first[38, 58], second[48, 28])  # id 7
    assert not np.array_equal(second[13, 48], second[28, 13])  # ids 12 and 3 differ


def test_without_ids_colours_by_index_and_threshold_hides() -> None:
    style = OverlayStyle(labels=False, boxes=False, contours=False)
    out = draw_instances(grey_frame(), instances([square(10, 10), square(30, 50)], ids=None, scores=[0.9, 0.2]),
                         [], score_threshold=0.5, style=style)
    np.testing.assert_array_equal(out[18, 18], blend(color_for_id(1)))
    assert (out[30:46, 50:66] == GREY).all()


def test_boxes_contours_and_labels_are_drawn() -> None:
    items = [OverlayItem(mask=square(30, 30), color_key=5, text="#5 cat 0.90")]
    plain = draw_items(grey_frame(), items, OverlayStyle(boxes=False, labels=False, contours=False))
    outlined = draw_items(grey_frame(), items, OverlayStyle(boxes=False, labels=False, contours=True, thickness=1))
    np.testing.assert_array_equal(outlined[30, 38], color_for_id(5))  # contour on the mask edge
    np.testing.assert_array_equal(plain[30, 38], blend(color_for_id(5)))
    boxed = draw_items(grey_frame(), items, OverlayStyle(labels=False, contours=False, thickness=1))
    np.testing.assert_array_equal(boxed[45, 38], color_for_id(5))  # bottom edge of the box
    labelled = draw_items(grey_frame(), items, OverlayStyle(boxes=False, contours=False))
    assert (labelled[:30] != GREY).any() and (plain[:30] == GREY).all()  # label sits above the mask


def test_draw_rles_matches_masks_and_skips_absent() -> None:
    masks = [square(10, 10), square(30, 50)]
    rles = [rle.encode(masks[0]), None, rle.encode(masks[1])]
    style = OverlayStyle(labels=False)
    from_rles = draw_rles(grey_frame(), rles, keys=[4, 9, 6], style=style)
    from_masks = draw_items(grey_frame(), [OverlayItem(masks[0], 4), OverlayItem(masks[1], 6)], style)
    np.testing.assert_array_equal(from_rles, from_masks)


def test_mask_size_must_match_frame() -> None:
    with pytest.raises(ValueError, match="mask is 10x10"):
        draw_items(grey_frame(), [OverlayItem(np.ones((10, 10), bool), 1)])
