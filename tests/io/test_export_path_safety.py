"""``vistool export-json``: file names from JSON files never choose where it writes (issue 27).

Every refused export must stop with a one-line error and a non-zero exit, and
leave the temporary root exactly as it was: the tests list all its files and
folders before and after. Fixtures are tiny and made here (self-contained).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.files import one_line_error, snapshot

H, W, FRAMES = 8, 10, 3


# ----------------------------------------------------------------- fixtures


def write_source(folder: Path) -> Path:
    """A folder of FRAMES lossless PNG frames of H x W (the 'video' the results came from)."""
    folder.mkdir(parents=True)
    for t in range(FRAMES):
        frame = np.full((H, W, 3), 40 * t, np.uint8)
        cv2.imwrite(str(folder / f"{t:05d}.png"), frame)
    return folder


def write_result(out_dir: Path, source: Path, file_names: list[str] | None, name: str = "alpha",
                 dataset_id: int | None = None) -> Path:
    """A vistool per-video result file (one track in every frame) written by hand."""
    from vistool.io import rle

    mask = np.zeros((H, W), bool)
    mask[1:4, 2:6] = True
    data = {"format": "vistool-video-result", "version": 1,
            "video": {"name": name, "source": str(source), "width": W, "height": H, "fps": 10.0,
                      "num_frames": FRAMES, "dataset_id": dataset_id, "file_names": file_names},
            "categories": ["cat"], "meta": {},
            "tracks": [{"track_id": 1, "label": 0, "score": 0.9, "segmentations": [rle.encode(mask)] * FRAMES}]}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return out_dir


def write_dataset(path: Path, file_names: list[str]) -> Path:
    """A YouTube-VIS dataset JSON with one video (id 1) of FRAMES frames and one category."""
    data = {"videos": [{"id": 1, "width": W, "height": H, "length": len(file_names), "file_names": file_names}],
            "categories": [{"id": 1, "name": "cat"}], "annotations": []}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path) -> Path:
    """A temporary root holding the source frames; exports go to ``root/export/``."""
    write_source(tmp_path / "src" / "alpha")
    return tmp_path


def names(pattern: str) -> list[str]:
    return [pattern.format(t) for t in range(FRAMES)]


def assert_refused(run_cli, root: Path, *args, expect: str) -> str:
    """Run ``vistool export-json ARGS``; it must fail in one line mentioning ``expect`` and write nothing."""
    before = snapshot(root)
    line = one_line_error(run_cli("export-json", *args))
    assert expect in line, line
    assert snapshot(root) == before, sorted(snapshot(root) - before)
    return line


# ----------------------------------------------------------------- the commands of the issue

WITH_IMAGES = [("prelabel", "prelabel/instances.json"), ("cvat-mots", "mots.zip"), ("coco", "coco/coco.json")]


@pytest.mark.parametrize("fmt, output", WITH_IMAGES)
def test_parent_traversal_in_result_file_names_is_refused(root, run_cli, fmt, output):
    out = write_result(root / "out", root / "src" / "alpha", names("../../escaped/{:05d}.jpg"))
    line = assert_refused(run_cli, root, out, "-o", root / "export" / output, "--format", fmt, "--with-images",
                          expect="$.video.file_names[0]")
    assert "alpha.json" in line and "'..'" in line


@pytest.mark.parametrize("fmt, output", WITH_IMAGES)
def test_absolute_result_file_names_are_refused(root, run_cli, fmt, output):
    target = root / "victim"
    out = write_result(root / "out", root / "src" / "alpha", [str(target / f"{t:05d}.jpg") for t in range(FRAMES)])
    assert_refused(run_cli, root, out, "-o", root / "export" / output, "--format", fmt, "--with-images",
                   expect="absolute path")
    assert not target.exists()


@pytest.mark.parametrize("bad, problem", [
    ("alpha/000\u000000.jpg", "NUL byte"),
    ("..\\..\\escaped\\{:05d}.jpg", "backslash"),
    ("C:/escaped/{:05d}.jpg", "drive letter"),
    ("alpha//{:05d}.jpg", "empty component"),
])
def test_other_unsafe_result_file_names_are_refused(root, run_cli, bad, problem):
    out = write_result(root / "out", root / "src" / "alpha", names(bad))
    assert_refused(run_cli, root, out, "-o", root / "export" / "prelabel" / "instances.json", "--format",
                   "prelabel", "--with-images", expect=problem)


@pytest.mark.parametrize("fmt, output", WITH_IMAGES)
def test_unsafe_names_of_the_dataset_given_to_export_are_refused(root, run_cli, fmt, output):
    """With ``--dataset`` and results without file names, the dataset's names are the frame names."""
    gt = write_dataset(root / "gt.json", names("../../escaped/{:05d}.jpg"))
    out = write_result(root / "out", root / "src" / "alpha", None, dataset_id=1)
    line = assert_refused(run_cli, root, out, "-o", root / "export" / output, "--format", fmt, "--with-images",
                          "--dataset", gt, expect="$.videos[0].file_names[0]")
    assert "gt.json" in line


@pytest.mark.parametrize("video_name", ["..", "../../evil"])
def test_unsafe_video_name_is_refused_for_zip_entries(root, run_cli, video_name):
    """The video name is the folder of its MOTS zip entries (and of default frame names)."""
    out = root / "out"
    write_result(out, root / "src" / "alpha", None, name="alpha")
    data = json.loads((out / "alpha.json").read_text(encoding="utf-8"))
    data["video"]["name"] = video_name
    (out / "alpha.json").write_text(json.dumps(data), encoding="utf-8")
    assert_refused(run_cli, root, out, "-o", root / "export" / "mots.zip", "--format", "cvat-mots",
                   expect="$.video.name")


def test_symlinked_frame_folder_in_the_export_folder_is_refused(root, run_cli):
    """A video folder under the export's JPEGImages/ that links outside it: refused, not followed."""
    outside = root / "outside"
    outside.mkdir()
    images = root / "export" / "prelabel" / "JPEGImages"
    images.mkdir(parents=True)
    try:
        (images / "alpha").symlink_to(outside, target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not available here")
    out = write_result(root / "out", root / "src" / "alpha", names("alpha/{:05d}.jpg"))
    line = assert_refused(run_cli, root, out, "-o", images.parent / "instances.json", "--format", "prelabel",
                          "--with-images", expect="outside")
    assert "symbolic link" in line and not os.listdir(outside)


def test_safe_names_still_export_frames(root, run_cli):
    """The check refuses only unsafe names: the usual layout writes its frames beside the JSON."""
    out = write_result(root / "out", root / "src" / "alpha", names("alpha/{:05d}.jpg"))
    run = run_cli("export-json", out, "-o", root / "export" / "prelabel" / "instances.json", "--format",
                  "prelabel", "--with-images")
    assert run.code == 0, run.stderr
    assert sorted(os.listdir(root / "export" / "prelabel" / "JPEGImages" / "alpha")) == names("{:05d}.jpg")
    run = run_cli("export-json", out, "-o", root / "export" / "mots.zip", "--format", "cvat-mots", "--with-images")
    assert run.code == 0, run.stderr
    with zipfile.ZipFile(root / "export" / "mots.zip") as archive:
        assert "alpha/images/00002.jpg" in archive.namelist()


# ----------------------------------------------------------------- the second line of defence


def _plan(root: Path, file_names: list[str], name: str = "alpha"):
    """An export plan built in memory, bypassing the schema checks of the readers."""
    from vistool.io import rle
    from vistool.io.export import ExportPlan, ExportVideo
    from vistool.structures import TrackResult, VideoInfo, VideoResult

    mask = np.zeros((H, W), bool)
    mask[1:4, 2:6] = True
    info = VideoInfo(name=name, source=str(root / "src" / "alpha"), width=W, height=H, fps=10.0, num_frames=FRAMES)
    result = VideoResult(info=info, tracks=[TrackResult(1, 0, 0.9, [rle.encode(mask)] * FRAMES)],
                         num_frames=FRAMES, categories=["cat"], file_names=file_names)
    return ExportPlan(videos=[ExportVideo(root / "alpha.json", result, 1, file_names, [1])], categories=[(1, "cat")])


@pytest.mark.parametrize("module, output", [("prelabel", "prelabel/instances.json"), ("coco", "coco/c.json"),
                                            ("mots", "mots.zip")])
def test_writers_refuse_unsafe_names_without_the_schema_check(root, module, output):
    """A library caller's plan with a traversal name: refused by safe_join / zip_member, nothing written."""
    import importlib

    from vistool.errors import UnsafePathError
    from vistool.io.export import ExportOptions

    writer = importlib.import_module(f"vistool.io.export.{module}")
    plan = _plan(root, names("alpha/../../../escaped/{:05d}.jpg"), name="../escaped" if module == "mots" else "a")
    options = ExportOptions(format="cvat-mots" if module == "mots" else module, with_images=True)
    before = snapshot(root)
    with pytest.raises(UnsafePathError) as caught:
        writer.write(plan, root / "export" / output, options)
    assert "\n" not in str(caught.value)
    assert snapshot(root) == before
