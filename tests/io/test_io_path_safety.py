"""File names from JSON files: the schema rule, ``safe_join`` / ``zip_member``, and ``track`` on a
split folder (issue 27).

A refused run must stop with a one-line error and a non-zero exit and leave the
temporary root exactly as it was (all its files and folders are listed before
and after). Fixtures are tiny and made here (self-contained).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.files import one_line_error, snapshot

from vistool.errors import FormatError, UnsafePathError
from vistool.io.safe_path import safe_join, zip_member
from vistool.io.ytvis import load_dataset, parse_dataset
from vistool.io.ytvis_schema import file_name_problem

H, W, FRAMES = 48, 64, 3


def symlink(link: Path, target: Path) -> None:
    """``link -> target``, or skip the test where links cannot be made."""
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:
        pytest.skip("symbolic links are not available here")


# ----------------------------------------------------------------- the rule


@pytest.mark.parametrize("name", ["vid/00000.jpg", "00000.jpg", "a/b/c.png", "v..x/..jpg", "...", "a b/é.jpg"])
def test_plain_relative_names_pass(name):
    assert file_name_problem(name) is None


@pytest.mark.parametrize("name, problem", [
    ("../x.jpg", "'..'"), ("vid/../../x.jpg", "'..'"), ("vid/..", "'..'"), ("..", "'..'"),
    ("/etc/passwd", "absolute"), ("C:/x.jpg", "drive letter"), ("c:x.jpg", "drive letter"),
    ("..\\x.jpg", "backslash"), ("vid\\..\\..\\x.jpg", "backslash"), ("\\\\server\\share\\x.jpg", "backslash"),
    ("vid//x.jpg", "empty component"), ("vid/", "empty component"), ("", "empty"),
    ("./vid/x.jpg", "'.'"), ("vid/./x.jpg", "'.'"), ("vid/x\x00.jpg", "NUL"),
])
def test_unsafe_names_are_named(name, problem):
    assert problem in file_name_problem(name)


def dataset(file_names_per_video: list[list[str]]) -> dict:
    """A dataset JSON object with one video per list of names."""
    return {"videos": [{"id": i + 1, "width": W, "height": H, "length": len(names), "file_names": names}
                       for i, names in enumerate(file_names_per_video)],
            "categories": [{"id": 1, "name": "blob"}], "annotations": []}


def test_dataset_schema_names_file_and_json_path(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(dataset([["a/0.jpg", "a/1.jpg"], ["b/0.jpg", "b/1.jpg", "/tmp/x/2.jpg"]])))
    with pytest.raises(FormatError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: $.videos[1].file_names[2]: unsafe file name '/tmp/x/2.jpg'")
    assert "absolute path" in message and "\n" not in message


def test_nul_byte_stays_one_line_in_the_message():
    with pytest.raises(FormatError) as caught:
        parse_dataset(dataset([["a/0\x00\n.jpg"]]), source="gt.json")
    assert "\n" not in str(caught.value) and "NUL byte" in str(caught.value)
    assert caught.value.location == "$.videos[0].file_names[0]"


def test_name_check_is_cheap():
    """One check per name with string operations: 300k names well under a second on a slow CPU."""
    import time

    names = [f"video_{v:04d}/{t:05d}.jpg" for v in range(10_000) for t in range(30)]
    began = time.perf_counter()
    assert all(file_name_problem(n) is None for n in names)
    assert time.perf_counter() - began < 2.0


# ----------------------------------------------------------------- safe_join and zip_member


def test_safe_join_keeps_names_inside_the_folder(tmp_path):
    root = tmp_path / "JPEGImages"
    (root / "vid").mkdir(parents=True)
    assert safe_join(root, "vid/00000.jpg") == root / "vid" / "00000.jpg"
    assert safe_join(root, "new/00000.jpg") == root / "new" / "00000.jpg"  # need not exist
    for name in ("../x.jpg", "vid/../../x.jpg", str(tmp_path / "x.jpg"), "vid/x\x00.jpg", "..\\x.jpg"):
        with pytest.raises(UnsafePathError) as caught:
            safe_join(root, name)
        assert "\n" not in str(caught.value)


def test_safe_join_symlinks_root_followed_links_out_refused(tmp_path):
    """Documented choice: the folder itself may be a link; a link below it leading out of it is refused."""
    real = tmp_path / "disk" / "JPEGImages"
    (real / "vid").mkdir(parents=True)
    (tmp_path / "split").mkdir()
    symlink(tmp_path / "split" / "JPEGImages", real)
    assert safe_join(tmp_path / "split" / "JPEGImages", "vid/0.jpg") == tmp_path / "split" / "JPEGImages/vid/0.jpg"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0.jpg").write_bytes(b"x")
    symlink(real / "linked", outside)
    symlink(real / "vid" / "1.jpg", outside / "0.jpg")
    symlink(real / "vid" / "2.jpg", real / "vid" / "0.jpg")  # a link that stays inside is fine
    assert safe_join(real, "vid/2.jpg") == real / "vid" / "2.jpg"
    for name in ("linked/0.jpg", "vid/1.jpg"):
        with pytest.raises(UnsafePathError, match="outside"):
            safe_join(real, name)


def test_zip_member():
    assert zip_member("vid", "instances", "00000.png") == "vid/instances/00000.png"
    for parts in (("..", "instances", "0.png"), ("/abs", "x.png"), ("", "x.png"), ("v", "a\\..\\b.png")):
        with pytest.raises(UnsafePathError, match="zip entry"):
            zip_member(*parts)


# ----------------------------------------------------------------- track on a split folder


def write_frames(folder: Path) -> None:
    """FRAMES PNG frames of a white square on black, H x W."""
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(FRAMES):
        frame = np.zeros((H, W, 3), np.uint8)
        frame[10:20, 5 + t:15 + t] = 255
        cv2.imwrite(str(folder / f"{t:05d}.png"), frame)


def write_split(root: Path, file_names_per_video: list[list[str]]) -> Path:
    """``root/split``: JPEGImages/vid0 with real frames and instances.json listing the given names."""
    split = root / "split"
    write_frames(split / "JPEGImages" / "vid0")
    (split / "instances.json").write_text(json.dumps(dataset(file_names_per_video)), encoding="utf-8")
    return split


def frame_names(prefix: str) -> list[str]:
    return [f"{prefix}/{t:05d}.png" for t in range(FRAMES)]


def assert_track_refused(run_cli, root: Path, split: Path, output: Path, expect: str) -> str:
    before = snapshot(root)
    line = one_line_error(run_cli("track", split, "-o", output))
    assert expect in line, line
    assert snapshot(root) == before, sorted(snapshot(root) - before)
    return line


def test_track_split_reads_safe_names(tmp_path, run_cli, stub_model):
    """The control case: the usual layout is tracked."""
    split = write_split(tmp_path, [frame_names("vid0")])
    run = run_cli("track", split, "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr
    assert (tmp_path / "out.json").is_file()


@pytest.mark.parametrize("output", ["out.json", "out_dir"])
def test_track_split_refuses_traversal_to_frames_outside(tmp_path, run_cli, stub_model, output):
    write_frames(tmp_path / "outside")  # real frames the names lead to
    split = write_split(tmp_path, [frame_names("vid0"), frame_names("../../outside")])
    line = assert_track_refused(run_cli, tmp_path, split, tmp_path / output, expect="$.videos[1].file_names[0]")
    assert "instances.json" in line and "'..'" in line


def test_track_split_refuses_absolute_names(tmp_path, run_cli, stub_model):
    write_frames(tmp_path / "outside")
    split = write_split(tmp_path, [frame_names(str(tmp_path / "outside"))])
    assert_track_refused(run_cli, tmp_path, split, tmp_path / "out.json", expect="absolute path")


def test_track_split_refuses_a_nul_byte(tmp_path, run_cli, stub_model):
    split = write_split(tmp_path, [["vid0/00000.png", "vid0/0\x000001.png", "vid0/00002.png"]])
    assert_track_refused(run_cli, tmp_path, split, tmp_path / "out.json", expect="$.videos[0].file_names[1]")


@pytest.mark.parametrize("output", ["out.json", "out_dir"])
def test_track_split_refuses_a_video_folder_linking_outside(tmp_path, run_cli, stub_model, output):
    write_frames(tmp_path / "outside")
    split = write_split(tmp_path, [frame_names("vid0"), frame_names("linked")])
    symlink(split / "JPEGImages" / "linked", tmp_path / "outside")
    line = assert_track_refused(run_cli, tmp_path, split, tmp_path / output, expect="outside")
    assert "symbolic link" in line


def test_track_split_accepts_a_linked_image_folder(tmp_path, run_cli, stub_model):
    """JPEGImages itself may be a link (a split on another disk)."""
    write_frames(tmp_path / "disk" / "vid0")
    split = tmp_path / "split"
    split.mkdir()
    symlink(split / "JPEGImages", tmp_path / "disk")
    (split / "instances.json").write_text(json.dumps(dataset([frame_names("vid0")])), encoding="utf-8")
    run = run_cli("track", split, "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr


# ----------------------------------------------------------------- training clips


def test_training_clip_refuses_a_frame_linking_outside(tmp_path):
    from vistool.data.dataset import VideoRecord, load_clip

    write_frames(tmp_path / "outside")
    images = tmp_path / "JPEGImages"
    write_frames(images / "vid0")
    symlink(images / "vid0" / "00009.png", tmp_path / "outside" / "00000.png")
    video = VideoRecord(video_id=1, file_names=["vid0/00000.png", "vid0/00009.png"], tracks=[])
    assert load_clip(video, [0], images).images.shape[0] == 1
    with pytest.raises(UnsafePathError, match="outside"):
        load_clip(video, [0, 1], images)
