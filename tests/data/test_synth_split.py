"""``vistool synth``: YouTube-VIS layout, byte-identical regeneration, stored GT equals a re-render."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vistool.data.synth import CATEGORIES, render_video, sample_clip
from vistool.data.synth.video import OCCLUSION_NAMES, occlusion_label
from vistool.data.synth.writer import encode_jpeg
from vistool.io import rle

W, H = 64, 36
ARGS = ["--split", "valid", "--videos", "3", "--seed", "9", "--preset", "crowded", "--size", f"{W}x{H}"]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    """A crowded split written by the CLI with frames and mp4s."""
    from vistool.cli import main

    out = tmp_path_factory.mktemp("synth")
    main(["synth", str(out), *ARGS, "--format", "both"])
    return out / "valid"


def test_layout_and_json_schema(split: Path) -> None:
    from vistool.io.ytvis import load_dataset

    data = json.loads((split / "instances.json").read_text())
    assert [c["name"] for c in data["categories"]] == CATEGORIES
    assert [c["id"] for c in data["categories"]] == list(range(1, len(CATEGORIES) + 1))
    assert [v["id"] for v in data["videos"]] == [1, 2, 3]
    assert [a["id"] for a in data["annotations"]] == list(range(1, len(data["annotations"]) + 1))
    for video in data["videos"]:
        assert (video["width"], video["height"]) == (W, H) and len(video["file_names"]) == video["length"]
        for name in video["file_names"]:
            assert cv2.imread(str(split / "JPEGImages" / name)).shape == (H, W, 3)
        stem = video["file_names"][0].split("/")[0]
        assert (split / "videos" / f"{stem}.mp4").stat().st_size > 0
    for ann in data["annotations"]:
        assert ann["iscrowd"] == 0
        n = data["videos"][ann["video_id"] - 1]["length"]
        assert all(len(ann[k]) == n for k in ("segmentations", "areas", "bboxes", "occlusion"))
    dataset = load_dataset(split / "instances.json")
    assert dataset.has_occlusion and len(dataset.annotations) == len(data["annotations"])


def test_stored_ground_truth_equals_a_rerender_of_each_video_alone(split: Path) -> None:
    data = json.loads((split / "instances.json").read_text())
    by_video: dict[int, list[dict]] = {}
    for ann in data["annotations"]:
        by_video.setdefault(ann["video_id"], []).append(ann)
    for index in (2, 0):  # regenerate single videos, out of order
        video = render_video("crowded", 9, index, (W, H))
        entry = data["videos"][index]
        assert entry["length"] == video.num_frames
        anns = by_video[entry["id"]]
        # The n-th stored track of a video is the n-th instance that is ever visible.
        track_of = {}
        for frame in video.frames():
            name = entry["file_names"][frame.index]
            assert (split / "JPEGImages" / name).read_bytes() == encode_jpeg(frame.image, video.jpeg_quality)
            layers = video.renderer.full_masks(frame.index)
            for k, (tid, full) in enumerate(layers):
                if tid == 0:
                    continue
                covered = np.zeros_like(full)
                for _, front in layers[k + 1:]:
                    covered |= front
                track_of.setdefault(tid, []).append((full & ~covered, int(full.sum())))
        seen = [tid for tid in sorted(track_of) if any(v.any() for v, _ in track_of[tid])]
        assert len(anns) == len(seen)
        labels = dict(video.tracks)
        for ann, tid in zip(anns, seen):
            assert ann["category_id"] == labels[tid] + 1
            for t, (visible, full_area) in enumerate(track_of[tid]):
                seg, area, box, occ = (ann[k][t] for k in ("segmentations", "areas", "bboxes", "occlusion"))
                if not visible.any():
                    assert seg is None and area is None and box is None
                else:
                    assert np.array_equal(rle.decode(seg), visible)
                    assert area == float(visible.sum())
                    ys, xs = np.nonzero(visible)
                    assert box == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
                if full_area == 0:
                    assert occ is None  # outside the frame: no label
                else:
                    assert occ == OCCLUSION_NAMES[occlusion_label(float(visible.sum()), full_area)]


def test_same_arguments_give_identical_bytes_with_any_workers(split: Path, tmp_path: Path, run_cli) -> None:
    result = run_cli("synth", tmp_path, *ARGS, "--format", "both", "--workers", "2")
    assert result.code == 0, result.stderr
    assert _files(tmp_path / "valid") == _files(split)


def test_clip_images_are_the_stored_jpeg_frames(split: Path) -> None:
    clip = sample_clip("crowded", 9, 1, 3, (W, H), start=2, gap=3)
    data = json.loads((split / "instances.json").read_text())
    for t, index in enumerate(clip.frame_indices):
        name = data["videos"][1]["file_names"][index]
        stored = cv2.cvtColor(cv2.imread(str(split / "JPEGImages" / name)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(clip.images[t].permute(1, 2, 0).numpy(), stored)


def test_mp4_has_every_frame(split: Path) -> None:
    import imageio_ffmpeg

    data = json.loads((split / "instances.json").read_text())
    stem = data["videos"][0]["file_names"][0].split("/")[0]
    reader = imageio_ffmpeg.read_frames(str(split / "videos" / f"{stem}.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (W, H)
    frames = [np.frombuffer(f, np.uint8).reshape(H, W, 3) for f in reader]
    assert len(frames) == data["videos"][0]["length"]
    first = render_video("crowded", 9, 0, (W, H)).frame(0).image
    assert np.abs(frames[0].astype(int) - first).mean() < 12  # lossy, but the same picture


def test_preview_contact_sheet(tmp_path: Path, run_cli) -> None:
    png = tmp_path / "sheet.png"
    result = run_cli("synth", tmp_path, "--preset", "fast", "--size", f"{W}x{H}", "--preview", png,
                     "--preview-only", "--preview-videos", "2", "--preview-frames", "3")
    assert result.code == 0, result.stderr
    sheet = cv2.imread(str(png))
    assert sheet.shape == (2 * H + 4, 3 * W + 2 * 4, 3)
    assert not (tmp_path / "train").exists()


@pytest.mark.parametrize("args, text", [
    (["--size", "63x36"], "--size"),
    (["--size", "wide"], "--size"),
    (["--preset", "huge"], "--preset"),
    (["--preview-only"], "--preview"),
])
def test_bad_options_fail_in_one_line(tmp_path: Path, run_cli, args: list[str], text: str) -> None:
    result = run_cli("synth", tmp_path, *args)
    assert result.code == 2
    assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1
