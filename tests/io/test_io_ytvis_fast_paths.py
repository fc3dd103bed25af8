"""The whole-list fast paths of the YouTube-VIS loaders give what the per-entry checks give, and
fall back to them (with the same one-line errors) on anything unusual."""

import math

import numpy as np
import pytest

from vistool.errors import FormatError
from vistool.io import rle
from vistool.io.ytvis import parse_dataset, parse_results


def _mask_rle(h=6, w=8):
    m = np.zeros((h, w), dtype=np.uint8)
    m[1:3, 2:5] = 1
    return rle.encode(m)


def _dataset(areas, bboxes):
    seg = _mask_rle()
    return {"videos": [{"id": 1, "width": 8, "height": 6, "length": 2}],
            "categories": [{"id": 1, "name": "a"}],
            "annotations": [{"id": 1, "video_id": 1, "category_id": 1, "iscrowd": 0,
                             "segmentations": [seg, None], "areas": areas, "bboxes": bboxes}]}


def test_float_areas_and_boxes_pass_through_unchanged():
    ds = parse_dataset(_dataset([6.0, None], [[2.0, 1.0, 3.0, 2.0], None]))
    ann = ds.annotations[0]
    assert ann.areas == [6.0, None] and ann.bboxes == [[2.0, 1.0, 3.0, 2.0], None]


def test_integer_areas_and_boxes_take_the_checked_path_and_become_floats():
    ann = parse_dataset(_dataset([6, None], [[2, 1, 3, 2], None])).annotations[0]
    assert ann.areas == [6.0, None] and ann.bboxes == [[2.0, 1.0, 3.0, 2.0], None]
    assert all(type(v) is float for v in ann.bboxes[0])


@pytest.mark.parametrize("boxes, message", [([[2.0, 1.0, 3.0], None], "expected [x, y, w, h], got 3 values"),
                                            ([[2.0, math.inf, 3.0, 2.0], None], "finite"),
                                            ([[2.0, "1", 3.0, 2.0], None], "expected a number")])
def test_bad_boxes_fail_with_the_json_path(boxes, message):
    with pytest.raises(FormatError, match=r"annotations\[0\]\.bboxes\[0\]") as err:
        parse_dataset(_dataset([6.0, None], boxes))
    assert message in str(err.value)


def test_non_finite_area_fails_with_the_json_path():
    with pytest.raises(FormatError, match=r"annotations\[0\]\.areas\[0\]"):
        parse_dataset(_dataset([math.nan, None], [[2.0, 1.0, 3.0, 2.0], None]))


def test_results_fast_path_keeps_masks_and_catches_a_bad_rle_string():
    ds = parse_dataset(_dataset([6.0, None], [[2.0, 1.0, 3.0, 2.0], None]))
    seg = _mask_rle()
    tracks = parse_results([{"video_id": 1, "category_id": 1, "score": 0.5, "segmentations": [seg, None]}], ds)
    assert tracks[0].segmentations[0]["counts"] == seg["counts"] and tracks[0].segmentations[1] is None
    bad = {"size": [6, 8], "counts": "bad counts \u00e9"}
    with pytest.raises(FormatError, match=r"\$\[0\]\.segmentations\[1\]\.counts"):
        parse_results([{"video_id": 1, "category_id": 1, "score": 0.5, "segmentations": [seg, bad]}], ds)
