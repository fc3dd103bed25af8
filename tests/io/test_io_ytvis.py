"""YouTube-VIS / OVIS dataset and results files: reading, validation, writing."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from vistool.errors import FormatError, InputError
from vistool.io import rle
from vistool.io.ytvis import (ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo,
                              category_id_of, label_of, load_dataset, load_results, write_dataset,
                              write_results)

H, W = 6, 8


def box(y0, y1, x0, x1) -> np.ndarray:
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def raw_dataset() -> dict:
    """A small 2019-style dataset: compressed, uncompressed and polygon masks, nulls."""
    a = rle.encode(box(0, 2, 0, 3))
    fortran = box(1, 4, 2, 5).flatten(order="F")
    changes = np.flatnonzero(np.diff(np.concatenate([[0], fortran.astype(int), [2]])))  # run starts + end
    uncompressed = {"size": [H, W], "counts": np.diff(np.concatenate([[0], changes])).tolist()}
    return {
        "info": {"description": "test"},
        "videos": [{"id": 1, "width": W, "height": H, "length": 3, "file_names": ["v/0.jpg", "v/1.jpg", "v/2.jpg"]},
                   {"id": 2, "width": W, "height": H, "length": 2, "file_names": ["w/0.jpg", "w/1.jpg"]}],
        "categories": [{"id": 1, "name": "person", "supercategory": "object"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "video_id": 1, "category_id": 1, "iscrowd": 0, "segmentations": [a, None, uncompressed],
             "areas": [6, None, 9], "bboxes": [[0, 0, 3, 2], None, [2, 1, 3, 3]]},
            {"id": 2, "video_id": 2, "category_id": 2, "iscrowd": 1,
             "segmentations": [[[1, 1, 5, 1, 5, 4, 1, 4]], []], "areas": [12.0, None], "bboxes": [None, None]},
        ],
    }


def write(tmp_path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_load_dataset_converts_every_mask_kind_to_compressed_rle(tmp_path):
    ds = load_dataset(write(tmp_path, "gt.json", raw_dataset()))
    assert [v.id for v in ds.videos] == [1, 2] and ds.videos[0].file_names[2] == "v/2.jpg"
    assert ds.category_names == ["person", "dog"] and not ds.has_occlusion
    first, second = ds.annotations
    assert isinstance(first.segmentations[2]["counts"], str)
    assert np.array_equal(rle.decode(first.segmentations[2]), box(1, 4, 2, 5))      # uncompressed RLE
    assert first.segmentations[1] is None and first.areas == [6.0, None, 9.0]
    assert rle.area(second.segmentations[0]) > 0 and second.segmentations[1] is None  # polygon; [] is absent
    assert second.iscrowd == 1 and second.bboxes == [None, None]


def test_dataset_round_trips_through_write_dataset(tmp_path):
    ds = load_dataset(write(tmp_path, "gt.json", raw_dataset()))
    ds.annotations[0].occlusion = ["no_occlusion", None, "severe_occlusion"]
    ds.annotations[1].occlusion = ["slight_occlusion", None]
    write_dataset(tmp_path / "out.json", ds)
    again = load_dataset(tmp_path / "out.json")
    assert again == ds and again.has_occlusion
    assert not list(tmp_path.glob(".out.json*"))                    # atomic: no temporary file left


def test_annotation_from_segmentations_computes_areas_and_boxes():
    ann = YtvisAnnotation.from_segmentations(1, 1, 1, [rle.encode(box(0, 2, 0, 3)), None, rle.encode(box(0, 0, 0, 0))])
    assert ann.areas == [6.0, None, 0.0]
    assert ann.bboxes[0] == [0.0, 0.0, 3.0, 2.0] and ann.bboxes[1] is None


def test_ovis_occlusion_labels_are_read(tmp_path):
    data = raw_dataset()
    data["annotations"][0]["occlusion"] = ["no_occlusion", None, "slight_occlusion"]
    data["annotations"][1]["occlusion"] = ["severe_occlusion", None]
    ds = load_dataset(write(tmp_path, "ovis.json", data))
    assert ds.has_occlusion and ds.annotations[1].occlusion == ["severe_occlusion", None]


def _set(data: dict, path: list, value):
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@pytest.mark.parametrize("path, value, location, message", [
    (["videos"], {}, "$.videos", "expected a list"),
    (["videos", 1, "id"], 1, "$.videos[1].id", "duplicate video id 1"),
    (["videos", 0, "height"], "6", "$.videos[0].height", "expected an integer"),
    (["categories", 1, "id"], 1, "$.categories[1].id", "duplicate category id 1"),
    (["categories", 0, "name"], KeyError, "$.categories[0]", "missing key 'name'"),
    (["annotations", 1, "id"], 1, "$.annotations[1].id", "duplicate annotation id 1"),
    (["annotations", 1, "video_id"], KeyError, "$.annotations[1]", "missing key 'video_id'"),
    (["annotations", 1, "video_id"], 9, "$.annotations[1].video_id", "unknown video_id 9"),
    (["annotations", 0, "category_id"], 5, "$.annotations[0].category_id", "unknown category_id 5"),
    (["annotations", 0, "segmentations"], [None, None], "$.annotations[0].segmentations",
     "has 2 entries, the video has 3 frames"),
    (["annotations", 0, "segmentations", 0, "size"], [7, 8], "$.annotations[0].segmentations[0].size",
     "RLE size [7, 8] does not match the video size [6, 8]"),
    (["annotations", 0, "segmentations", 0, "counts"], "not rle!", "$.annotations[0].segmentations[0].counts",
     "not a COCO compressed RLE string"),
    (["annotations", 0, "segmentations", 2, "counts"], [1, 2], "$.annotations[0].segmentations[2].counts",
     "sum to 3"),
    (["annotations", 1, "segmentations", 0], [[1, 2, 3]], "$.annotations[1].segmentations[0][0]",
     "even number"),
    (["annotations", 0, "areas", 1], "big", "$.annotations[0].areas[1]", "expected a number"),
    (["annotations", 0, "areas"], [1], "$.annotations[0].areas", "has 1 entries"),
    (["annotations", 0, "bboxes", 0], [1, 2], "$.annotations[0].bboxes[0]", "expected [x, y, w, h]"),
    (["annotations", 0, "iscrowd"], 2, "$.annotations[0].iscrowd", "expected 0 or 1"),
    (["annotations", 0, "occlusion"], ["hidden", None, None], "$.annotations[0].occlusion[0]",
     "unknown occlusion label"),
    (["annotations", 0, "occlusion"], ["no_occlusion", None, None], "$.annotations[1]", "missing key 'occlusion'"),
])
def test_dataset_schema_errors_name_the_json_path_of_the_first_problem(tmp_path, path, value, location, message):
    data = raw_dataset()
    _set(data, path, value)
    with pytest.raises(FormatError) as info:
        load_dataset(write(tmp_path, "gt.json", data))
    assert info.value.location == location
    assert message in info.value.problem
    assert "\n" not in str(info.value) and str(tmp_path / "gt.json") in str(info.value)


@pytest.mark.parametrize("text, problem", [
    ('{"videos": [', "looks truncated"),
    ("", "file is empty"),
    ("   \n", "file is empty"),
    ("{'videos': []}", "invalid JSON at line 1 column 2"),
    ('[{"video_id": 1}]', "got a list (is this a results file?)"),
])
def test_unreadable_dataset_files(tmp_path, text, problem):
    with pytest.raises(FormatError) as info:
        load_dataset(write(tmp_path, "gt.json", text))
    assert info.value.location == "$" and problem in info.value.problem


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_dataset(tmp_path / "nope.json")
    with pytest.raises(InputError, match="is a folder"):
        load_results(tmp_path)


# ------------------------------------------------------------------ results


def test_results_round_trip_with_null_frames_and_utf8_counts(tmp_path):
    ds = load_dataset(write(tmp_path, "gt.json", raw_dataset()))
    tracks = [ResultTrack(1, 1, 0.75, [rle.encode(box(0, 2, 0, 2)), None, rle.encode(box(0, 0, 0, 0))]),
              ResultTrack(2, 2, 0.5, [None, None])]
    write_results(tmp_path / "res.json", tracks)
    raw = json.loads((tmp_path / "res.json").read_text())
    assert raw[0]["segmentations"][1] is None and isinstance(raw[0]["segmentations"][0]["counts"], str)
    assert set(raw[0]) == {"video_id", "category_id", "score", "segmentations"}
    assert load_results(tmp_path / "res.json", dataset=ds) == tracks


def test_results_with_a_category_outside_the_ground_truth_are_dropped_and_logged(tmp_path, caplog):
    ds = load_dataset(write(tmp_path, "gt.json", raw_dataset()))
    results = [{"video_id": 2, "category_id": 40, "score": 0.9, "segmentations": [None, None]},
               {"video_id": 2, "category_id": 2, "score": 0.8, "segmentations": [None, None]}]
    with caplog.at_level(logging.WARNING):
        tracks = load_results(write(tmp_path, "res.json", results), dataset=ds)
    assert [t.category_id for t in tracks] == [2]
    assert "dropped 1 of 2 result tracks" in caplog.text
    assert len(load_results(tmp_path / "res.json")) == 2                  # without a dataset nothing is dropped


@pytest.mark.parametrize("results, location, message", [
    ({"annotations": []}, "$", "expected a list of result tracks, got an object"),
    ([{"video_id": 7, "category_id": 1, "score": 1, "segmentations": []}], "$[0].video_id",
     "results do not correspond to the ground truth: video_id 7"),
    ([{"video_id": 2, "category_id": 1, "score": 1, "segmentations": [None]}], "$[0].segmentations",
     "has 1 entries, the video has 2 frames"),
    ([{"video_id": 2, "category_id": 1, "score": 1, "segmentations": [None, {"size": [3, 3], "counts": "9"}]}],
     "$[0].segmentations[1].size", "RLE size [3, 3] does not match the video size [6, 8]"),
    ([{"video_id": 2, "category_id": 1, "score": "high", "segmentations": [None, None]}], "$[0].score",
     "expected a number"),
    ([{"video_id": 2, "category_id": 1, "segmentations": [None, None]}], "$[0]", "missing key 'score'"),
    ([{"video_id": 2, "category_id": 1, "score": 1, "segmentations": [[[1, 1, 2, 2, 3, 1]], None]}],
     "$[0].segmentations[0]", "got a polygon list"),
])
def test_results_errors_name_the_json_path(tmp_path, results, location, message):
    ds = load_dataset(write(tmp_path, "gt.json", raw_dataset()))
    with pytest.raises(FormatError) as info:
        load_results(write(tmp_path, "res.json", results), dataset=ds)
    assert info.value.location == location and message in info.value.problem


def test_results_without_dataset_need_one_mask_size_per_track(tmp_path):
    seg = rle.encode(box(0, 1, 0, 1))
    other = rle.encode(np.zeros((3, 3), dtype=bool))
    path = write(tmp_path, "res.json", [{"video_id": 1, "category_id": 1, "score": 1, "segmentations": [seg, other]}])
    with pytest.raises(FormatError, match=r"\$\[0\]\.segmentations\[1\]\.size"):
        load_results(path)


# ------------------------------------------------------------------ labels


def test_labels_are_zero_based_and_category_ids_one_based():
    cats = [YtvisCategory(3, "a"), YtvisCategory(7, "b")]
    assert category_id_of(0) == 1 and label_of(1) == 0
    assert category_id_of(1, cats) == 7 and label_of(7, cats) == 1
    with pytest.raises(KeyError):
        label_of(5, cats)


def test_video_result_becomes_results_entries():
    from vistool.io.ytvis import video_result_to_records
    from vistool.structures import TrackResult, VideoInfo, VideoResult

    seg = rle.encode(box(0, 1, 0, 1))
    result = VideoResult(info=VideoInfo("v", "v.mp4", W, H), num_frames=2, categories=["a", "b"],
                         tracks=[TrackResult(track_id=1, label=1, score=0.5, segmentations=[seg, None])])
    (record,) = video_result_to_records(result, video_id=4)
    assert record == {"video_id": 4, "score": 0.5, "category_id": 2, "segmentations": [seg, None]}


def test_dataset_built_in_code_is_written_in_the_file_layout(tmp_path):
    seg = rle.encode(box(0, 2, 0, 2))
    ds = YtvisDataset(videos=[YtvisVideo(1, W, H, 2, ["a.jpg", "b.jpg"])], categories=[YtvisCategory(1, "x")],
                      annotations=[YtvisAnnotation.from_segmentations(1, 1, 1, [seg, None])])
    write_dataset(tmp_path / "d.json", ds)
    raw = json.loads((tmp_path / "d.json").read_text())
    ann = raw["annotations"][0]
    assert ann["areas"] == [4.0, None] and ann["bboxes"] == [[0.0, 0.0, 2.0, 2.0], None]
    assert ann["segmentations"][1] is None and "occlusion" not in ann and ann["iscrowd"] == 0
    assert raw["videos"][0] == {"id": 1, "width": W, "height": H, "length": 2, "file_names": ["a.jpg", "b.jpg"]}


def test_labels_follow_sorted_category_ids_whatever_the_file_order():
    from vistool.io.ytvis import label_of, parse_dataset

    data = {"videos": [], "annotations": [],
            "categories": [{"id": 7, "name": "seven"}, {"id": 2, "name": "two"}, {"id": 5, "name": "five"}]}
    dataset = parse_dataset(data)
    assert dataset.category_names == ["two", "five", "seven"]
    assert label_of(7, dataset.categories) == 2


def test_pairwise_mask_iou():
    a, b = rle.encode(box(0, 2, 0, 2)), rle.encode(box(0, 2, 1, 3))  # 4 pixels each, 2 shared
    empty = rle.encode(np.zeros((H, W), dtype=bool))
    assert rle.ious([a, empty], [a, b, empty]) == pytest.approx(np.array([[1.0, 2 / 6, 0.0], [0.0, 0.0, 0.0]]))
    assert rle.ious([], [a]).shape == (0, 1)
