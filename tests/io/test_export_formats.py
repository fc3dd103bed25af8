"""Pre-label (YouTube-VIS dataset), CVAT MOTS PNG and COCO exports."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import types
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.io.test_export import (CATEGORIES, H, W, alpha, alpha_masks, beta, box_mask, read_json, track, video,
                               write_dataset, write_results)
from vistool.errors import FormatError, InputError, VideoReadError
from vistool.io import rle, ytvis
from vistool.io.export import ExportOptions, export


def bbox_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def synthetic_frame(index: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame whose colour encodes its index."""
    frame = np.zeros((*size, 3), dtype=np.uint8)
    frame[..., 0] = 20 * index + 10
    frame[..., 2] = 230 - 20 * index
    return frame


@pytest.fixture
def fake_video(monkeypatch):
    """Replace vistool.io.video with a decoder of synthetic frames; record the calls."""
    calls: list[dict] = []

    @contextlib.contextmanager
    def open_video(source, start=0, stride=1, max_frames=None):
        calls.append({"source": source, "start": start, "stride": stride, "max_frames": max_frames})
        total = 10
        indices = list(range(start, total, stride))[:max_frames]
        yield ((i, synthetic_frame(i)) for i in indices)

    module = types.ModuleType("vistool.io.video")
    module.open_video = open_video
    monkeypatch.setitem(sys.modules, "vistool.io.video", module)
    return calls


def read_rgb(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# ----------------------------------------------------------------- prelabel


def test_prelabel_round_trip(tmp_path):
    empty_then_box = [np.zeros((H, W), dtype=bool), box_mask(1, 2, 1, 2)]
    extra = track(6, 0, 0.3, empty_then_box)
    all_empty = track(7, 0, 0.2, [np.zeros((H, W), dtype=bool), None])
    out = write_results(tmp_path / "out", alpha(), video("beta", beta().tracks + [extra, all_empty], 2,
                                                          file_names=["beta/00010.jpg", "beta/00020.jpg"]))
    export(out, tmp_path / "pre" / "instances.json", ExportOptions(format="prelabel"))
    data = read_json(tmp_path / "pre" / "instances.json")
    assert [c["name"] for c in sorted(data["categories"], key=lambda c: c["id"])] == CATEGORIES
    videos = {v["id"]: v for v in data["videos"]}
    assert videos[1]["file_names"] == ["alpha/00000.jpg", "alpha/00001.jpg", "alpha/00002.jpg"]
    assert videos[2]["file_names"] == ["beta/00010.jpg", "beta/00020.jpg"]
    assert (videos[1]["width"], videos[1]["height"], videos[1]["length"]) == (W, H, 3)
    anns = data["annotations"]
    assert [a["track_id"] for a in anns] == [1, 2, 5, 6]  # track 7 has no non-empty frame
    assert len({a["id"] for a in anns}) == 4
    expected = alpha_masks()["t1"]
    first = anns[0]
    assert (first["video_id"], first["category_id"], first["iscrowd"], first["score"]) == (1, 1, 0, 0.9)
    for seg, area, bbox, mask in zip(first["segmentations"], first["areas"], first["bboxes"], expected):
        if mask is None:
            assert seg is None and area is None and bbox is None
            continue
        assert np.array_equal(rle.decode(seg), mask)
        assert area == int(mask.sum())
        assert bbox == bbox_of(mask)
    sixth = anns[3]
    assert sixth["segmentations"][0] is None and sixth["areas"][0] is None and sixth["bboxes"][0] is None
    assert sixth["areas"][1] == 1 and sixth["bboxes"][1] == [1.0, 1.0, 1.0, 1.0]


def test_prelabel_passes_dataset_validation_and_serves_as_ground_truth(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    export(out, tmp_path / "pre.json", ExportOptions(format="prelabel"))
    dataset = ytvis.load_dataset(tmp_path / "pre.json")
    assert [(v.id, v.length) for v in dataset.videos] == [(1, 3), (2, 2)]
    masks = alpha_masks()["t2"]
    second = dataset.annotations[1]
    assert second.category_id == 3 and second.segmentations[2] is None
    assert second.areas[:2] == [float(masks[0].sum()), float(masks[1].sum())]
    assert second.bboxes[0] == bbox_of(masks[0])
    # the pre-labels are a valid ground truth for the submission of the same results
    export(out, tmp_path / "results.json", ExportOptions(dataset=tmp_path / "pre.json"))
    tracks = ytvis.load_results(tmp_path / "results.json", dataset)
    assert [(t.video_id, t.category_id) for t in tracks] == [(1, 1), (1, 3), (2, 2)]


def test_prelabel_uses_dataset_ids_and_file_names(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    gt = write_dataset(tmp_path / "gt.json", [(4, "alpha", 3), (2, "beta", 2)], [(5, "cat"), (6, "dog"), (7, "person")])
    export(out, tmp_path / "pre.json", ExportOptions(format="prelabel", dataset=gt))
    data = read_json(tmp_path / "pre.json")
    assert [(v["id"], v["file_names"][1]) for v in data["videos"]] == [(4, "alpha/00005.jpg"), (2, "beta/00005.jpg")]
    assert [(a["video_id"], a["category_id"]) for a in data["annotations"]] == [(4, 5), (4, 7), (2, 6)]


def test_prelabel_rle_of_wrong_size_is_a_format_error(tmp_path):
    wrong = video("alpha", [track(1, 0, 0.9, [box_mask(0, 2, 0, 2, size=(4, 4))])], 1)
    out = write_results(tmp_path / "out", wrong)
    with pytest.raises(FormatError, match=r"RLE size \[4, 4\] is not the video's \[8, 10\]"):
        export(out, tmp_path / "pre.json", ExportOptions(format="prelabel"))


def test_prelabel_with_images_writes_a_split_folder(tmp_path, fake_video):
    meta = {"method": "stub", "options": {"start": 2, "stride": 3}}
    out = write_results(tmp_path / "out", alpha(meta=meta), beta())
    target = tmp_path / "split" / "instances.json"
    export(out, target, ExportOptions(format="prelabel", with_images=True))
    assert fake_video == [{"source": "alpha.mp4", "start": 2, "stride": 3, "max_frames": 3},
                          {"source": "beta.mp4", "start": 0, "stride": 1, "max_frames": 2}]
    data = read_json(target)
    assert data["info"]["methods"] == ["stub"]
    for v, decoded_indices in zip(data["videos"], ([2, 5, 8], [0, 1])):
        for name, index in zip(v["file_names"], decoded_indices):
            image = read_rgb((tmp_path / "split" / "JPEGImages" / name).read_bytes())
            assert np.abs(image.astype(int) - synthetic_frame(index)).max() <= 8


def test_with_images_decodes_a_real_frame_folder(tmp_path):
    folder = tmp_path / "frames" / "clip"
    folder.mkdir(parents=True)
    for index in range(4):
        cv2.imwrite(str(folder / f"{index:03d}.png"), cv2.cvtColor(synthetic_frame(index), cv2.COLOR_RGB2BGR))
    result = video("clip", [track(1, 0, 0.8, [box_mask(0, 2, 0, 2), None])], 2, meta={"options": {"stride": 2}})
    result.info = dataclasses.replace(result.info, source=str(folder))
    export(write_results(tmp_path / "out", result), tmp_path / "m.zip",
           ExportOptions(format="cvat-mots", with_images=True))
    files, _ = read_mots(tmp_path / "m.zip")
    for position, index in enumerate([0, 2]):
        image = read_rgb(files[f"clip/images/{position:05d}.jpg"])
        assert np.abs(image.astype(int) - synthetic_frame(index)).max() <= 8


def test_with_images_needs_enough_frames(tmp_path, fake_video):
    out = write_results(tmp_path / "out", video("long", [], 12))
    target = tmp_path / "split" / "instances.json"
    with pytest.raises(VideoReadError, match="decoded 10 frames, the results have 12"):
        export(out, target, ExportOptions(format="prelabel", with_images=True))
    assert not target.exists()


# ----------------------------------------------------------------- MOTS


def read_mots(path: Path) -> tuple[dict[str, bytes], zipfile.ZipFile]:
    archive = zipfile.ZipFile(path)
    return {name: archive.read(name) for name in archive.namelist()}, archive


def read_png(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)


def test_mots_pngs_and_labels(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    export(out, tmp_path / "mots.zip", ExportOptions(format="cvat-mots"))
    files, _ = read_mots(tmp_path / "mots.zip")
    assert sorted(files) == sorted(["alpha/instances/labels.txt", "beta/instances/labels.txt"]
                                   + [f"alpha/instances/{i:05d}.png" for i in range(3)]
                                   + [f"beta/instances/{i:05d}.png" for i in range(2)])
    labels = files["alpha/instances/labels.txt"].decode("utf-8").splitlines()
    assert labels == CATEGORIES
    masks = alpha_masks()
    value1 = (labels.index("cat") + 1) * 1000 + 1  # track 1, cat
    value2 = (labels.index("person") + 1) * 1000 + 2  # track 2, person
    for index in range(3):
        png = read_png(files[f"alpha/instances/{index:05d}.png"])
        assert png.dtype == np.uint16 and png.shape == (H, W)
        expected = np.zeros((H, W), dtype=np.uint16)
        if masks["t2"][index] is not None:
            expected[masks["t2"][index]] = value2
        if masks["t1"][index] is not None:  # higher score (0.9) wins the overlap
            expected[masks["t1"][index]] = value1
        assert np.array_equal(png, expected)
    assert set(np.unique(read_png(files["beta/instances/00000.png"]))) == {0, 2005}


def test_mots_overlap_goes_to_higher_score(tmp_path):
    masks = alpha_masks()
    swapped = video("alpha", [track(1, 0, 0.2, masks["t1"]), track(2, 2, 0.95, masks["t2"])], 3)
    export(write_results(tmp_path / "out", swapped), tmp_path / "mots.zip", ExportOptions(format="cvat-mots"))
    files, _ = read_mots(tmp_path / "mots.zip")
    png = read_png(files["alpha/instances/00000.png"])
    overlap = masks["t1"][0] & masks["t2"][0]
    assert overlap.any()
    assert set(np.unique(png[overlap])) == {3002}
    assert set(np.unique(png[masks["t1"][0] & ~overlap])) == {1001}


def test_mots_renumbers_large_track_ids_and_uses_frame_names(tmp_path):
    tracks = [track(1500, 1, 0.5, [box_mask(0, 2, 0, 2)]), track(7, 0, 0.6, [box_mask(4, 6, 4, 6)])]
    result = video("clip", tracks, 1, file_names=["clip/00035.jpg"])
    export(write_results(tmp_path / "out", result), tmp_path / "mots.zip", ExportOptions(format="cvat-mots"))
    files, _ = read_mots(tmp_path / "mots.zip")
    png = read_png(files["clip/instances/00035.png"])
    assert png[0, 0] == 2002 and png[4, 4] == 1001  # ids 7 -> 1, 1500 -> 2


def test_mots_at_most_999_tracks_per_video(tmp_path):
    many = video("crowd", [track(k + 1, 0, 0.5, [None]) for k in range(1000)], 1)
    with pytest.raises(InputError, match="video 'crowd' has 1000 tracks; MOTS PNG holds at most 999"):
        export(write_results(tmp_path / "out", many), tmp_path / "mots.zip", ExportOptions(format="cvat-mots"))
    assert not (tmp_path / "mots.zip").exists()


def test_mots_with_images(tmp_path, fake_video):
    export(write_results(tmp_path / "out", beta()), tmp_path / "mots.zip",
           ExportOptions(format="cvat-mots", with_images=True))
    files, _ = read_mots(tmp_path / "mots.zip")
    for index in range(2):
        image = read_rgb(files[f"beta/images/{index:05d}.jpg"])
        assert np.abs(image.astype(int) - synthetic_frame(index)).max() <= 8


def test_failed_mots_write_leaves_no_file(tmp_path, monkeypatch):
    import vistool.io.export.mots as mots

    calls = []

    def failing_png(canvas):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return b"png"

    monkeypatch.setattr(mots, "encode_png", failing_png)
    with pytest.raises(OSError, match="disk full"):
        export(write_results(tmp_path / "out", alpha()), tmp_path / "mots" / "m.zip", ExportOptions(format="cvat-mots"))
    assert list((tmp_path / "mots").iterdir()) == []


# ----------------------------------------------------------------- COCO


def test_coco_per_frame_instances(tmp_path):
    out = write_results(tmp_path / "out", alpha(dataset_id=12), beta(dataset_id=3))
    export(out, tmp_path / "coco.json", ExportOptions(format="coco"))
    data = read_json(tmp_path / "coco.json")
    images = data["images"]
    assert [(i["video_id"], i["video_name"], i["frame_index"]) for i in images] == [
        (12, "alpha", 0), (12, "alpha", 1), (12, "alpha", 2), (3, "beta", 0), (3, "beta", 1)]
    assert [i["id"] for i in images] == [1, 2, 3, 4, 5]
    assert images[4]["file_name"] == "beta/00001.jpg" and (images[0]["width"], images[0]["height"]) == (W, H)
    by_image = {i["id"]: i for i in images}
    masks = alpha_masks()
    expected = {(1, 0): masks["t1"][0], (1, 2): masks["t1"][2], (2, 0): masks["t2"][0], (2, 1): masks["t2"][1]}
    alpha_anns = [a for a in data["annotations"] if by_image[a["image_id"]]["video_id"] == 12]
    assert len(alpha_anns) == len(expected)
    for ann in alpha_anns:
        mask = expected[(ann["track_id"], by_image[ann["image_id"]]["frame_index"])]
        assert ann["attributes"]["track_id"] == ann["track_id"]
        assert np.array_equal(rle.decode(ann["segmentation"]), mask)
        assert ann["area"] == int(mask.sum()) and ann["bbox"] == bbox_of(mask)
        assert ann["iscrowd"] == 0
        assert ann["category_id"] == (1 if ann["track_id"] == 1 else 3)
        assert ann["score"] == (0.9 if ann["track_id"] == 1 else 0.4)
    assert len(data["annotations"]) == 6 and len({a["id"] for a in data["annotations"]}) == 6
    assert [c["name"] for c in data["categories"]] == CATEGORIES


def test_coco_with_images(tmp_path, fake_video):
    export(write_results(tmp_path / "out", beta()), tmp_path / "c" / "coco.json",
           ExportOptions(format="coco", with_images=True))
    image = read_rgb((tmp_path / "c" / "images" / "beta" / "00001.jpg").read_bytes())
    assert np.abs(image.astype(int) - synthetic_frame(1)).max() <= 8
