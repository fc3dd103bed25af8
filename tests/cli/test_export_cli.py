"""``vistool export-json``: the command end to end and its one-line errors."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.io.test_export import alpha, beta, read_json, write_dataset, write_results


def one_line_error(run) -> str:
    assert run.code != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr
    return lines[0]


def test_export_json_submission_and_zip(tmp_path, run_cli):
    out = write_results(tmp_path / "out", alpha(dataset_id=1), beta(dataset_id=2))
    run = run_cli("export-json", out, "-o", tmp_path / "results.json")
    assert run.code == 0, run.stderr
    assert "2 videos, 3 tracks" in run.stdout
    assert [e["video_id"] for e in read_json(tmp_path / "results.json")] == [1, 1, 2]
    run = run_cli("export-json", out, "-o", tmp_path / "sub.zip", "--zip", "--score-threshold", "0.5")
    assert run.code == 0, run.stderr
    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        assert len(json.loads(archive.read("results.json"))) == 2


@pytest.mark.parametrize("fmt, name", [("prelabel", "pre.json"), ("cvat-mots", "mots.zip"), ("coco", "coco.json")])
def test_export_json_formats(tmp_path, run_cli, fmt, name):
    out = write_results(tmp_path / "out", alpha(), beta())
    run = run_cli("export-json", out, "-o", tmp_path / name, "--format", fmt)
    assert run.code == 0, run.stderr
    assert f"({fmt}): 2 videos" in run.stdout and (tmp_path / name).is_file()


def test_export_json_errors(tmp_path, run_cli):
    out = write_results(tmp_path / "out", alpha(), beta())
    (tmp_path / "empty").mkdir()
    assert "Invalid value for '--format'" in one_line_error(
        run_cli("export-json", out, "-o", tmp_path / "r.json", "--format", "yolo"))
    assert "is a folder" in one_line_error(run_cli("export-json", out, "-o", tmp_path))
    assert "no per-video result files" in one_line_error(run_cli("export-json", tmp_path / "empty", "-o", tmp_path / "r.json"))
    assert "no such folder" in one_line_error(run_cli("export-json", tmp_path / "nope", "-o", tmp_path / "r.json"))
    assert "--zip applies" in one_line_error(
        run_cli("export-json", out, "-o", tmp_path / "m.zip", "--format", "cvat-mots", "--zip"))
    assert "no such file" in one_line_error(
        run_cli("export-json", out, "-o", tmp_path / "r.json", "--dataset", tmp_path / "gt.json"))
    gt = write_dataset(tmp_path / "gt.json", [(1, "alpha", 3)], [(1, "cat"), (2, "dog"), (3, "person")])
    assert "video 'beta'" in one_line_error(run_cli("export-json", out, "-o", tmp_path / "r.json", "--dataset", gt))
    (out / "beta.json").write_text('{"format": "vistool-video-result", "version": 1, "vid', encoding="utf-8")
    assert "beta.json" in one_line_error(run_cli("export-json", out, "-o", tmp_path / "r.json"))
    assert not (tmp_path / "r.json").exists()


def test_track_then_export_with_images(tmp_path, run_cli, stub_model):
    import cv2
    import numpy as np

    from tests.helpers.video import write_squares_video
    from vistool.io import rle

    frames = write_squares_video(tmp_path / "in" / "clip", num_frames=6, squares=1)  # lossless PNG folder
    write_squares_video(tmp_path / "in" / "movie.mp4", num_frames=4)
    out = tmp_path / "out"
    run = run_cli("track", tmp_path / "in" / "clip", tmp_path / "in" / "movie.mp4", "-o", out, "--stride", "2")
    assert run.code == 0, run.stderr
    run = run_cli("export-json", out, "-o", tmp_path / "split" / "instances.json", "--format", "prelabel",
                  "--with-images")
    assert run.code == 0, run.stderr
    data = read_json(tmp_path / "split" / "instances.json")
    clip = next(v for v in data["videos"] if v["file_names"][0].startswith("clip/"))
    assert clip["length"] == 3
    (ann,) = [a for a in data["annotations"] if a["video_id"] == clip["id"]]
    for position, name in enumerate(clip["file_names"]):  # frames 0, 2, 4 of the source
        image = cv2.imread(str(tmp_path / "split" / "JPEGImages" / name), cv2.IMREAD_COLOR)[:, :, ::-1]
        assert np.abs(image.astype(int) - frames[2 * position]).max() <= 40  # JPEG edges
        assert np.array_equal(rle.decode(ann["segmentations"][position]), frames[2 * position].max(axis=2) > 127)
    run = run_cli("export-json", out, "-o", tmp_path / "mots.zip", "--format", "cvat-mots", "--with-images")
    assert run.code == 0, run.stderr
    with zipfile.ZipFile(tmp_path / "mots.zip") as archive:
        names = set(archive.namelist())
    assert {f"movie/images/{i:05d}.jpg" for i in range(2)} <= names
    assert {f"clip/instances/{i:05d}.png" for i in range(3)} <= names


def test_export_json_classes_keeps_the_tracks_of_the_named_categories(tmp_path, run_cli):
    out = write_results(tmp_path / "out", alpha(), beta())  # alpha: a cat and a person; beta: a dog
    run = run_cli("export-json", out, "-o", tmp_path / "pre.json", "--format", "prelabel", "--classes", "cat,dog")
    assert run.code == 0, run.stderr
    assert "2 videos, 2 tracks" in run.stdout
    data = read_json(tmp_path / "pre.json")
    names = {c["id"]: c["name"] for c in data["categories"]}
    assert sorted(names.values()) == ["cat", "dog", "person"]  # the category list stays whole
    assert sorted(names[a["category_id"]] for a in data["annotations"]) == ["cat", "dog"]
    error = one_line_error(run_cli("export-json", out, "-o", tmp_path / "r.json", "--classes", "cat,dgo"))
    assert "--classes dgo: not a category of the results; categories: cat, dog, person" in error
    assert not (tmp_path / "r.json").exists()
