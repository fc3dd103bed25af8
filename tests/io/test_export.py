"""Export of per-video results: loading, ids and categories, submission JSON/zip, atomicity.

The helpers at the top (hand-made per-video result files) are shared by test_export_*.py.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vistool.errors import FormatError, InputError
from vistool.io import atomic, rle, video_result
from vistool.io.export import ExportOptions, export, load_results
from vistool.structures import TrackResult, VideoInfo, VideoResult

CATEGORIES = ["cat", "dog", "person"]
H, W = 8, 10


def box_mask(y0: int, y1: int, x0: int, x1: int, size: tuple[int, int] = (H, W)) -> np.ndarray:
    """(H, W) bool mask with a filled rectangle."""
    mask = np.zeros(size, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def track(track_id: int, label: int, score: float, masks: list[np.ndarray | None]) -> TrackResult:
    """A track from per-frame masks (None: absent)."""
    return TrackResult(track_id, label, score, [None if m is None else rle.encode(m) for m in masks])


def video(name: str, tracks: list[TrackResult], num_frames: int, *, dataset_id: int | None = None,
          file_names: list[str] | None = None, categories: list[str] | None = None,
          meta: dict | None = None, size: tuple[int, int] = (H, W)) -> VideoResult:
    """A VideoResult of ``num_frames`` frames of ``size`` (H, W)."""
    info = VideoInfo(name=name, source=f"{name}.mp4", width=size[1], height=size[0], fps=10.0,
                     num_frames=num_frames)
    return VideoResult(info=info, tracks=tracks, num_frames=num_frames,
                       categories=list(CATEGORIES if categories is None else categories),
                       dataset_id=dataset_id, file_names=file_names, meta=dict(meta or {}))


def alpha_masks() -> dict[str, list[np.ndarray | None]]:
    """Masks of video 'alpha' (3 frames): track 1 cat, track 2 person overlapping it in frame 0."""
    return {
        "t1": [box_mask(1, 4, 1, 5), None, box_mask(2, 6, 2, 7)],
        "t2": [box_mask(3, 7, 3, 9), box_mask(0, 2, 0, 3), None],
    }


def alpha(**kwargs) -> VideoResult:
    masks = alpha_masks()
    return video("alpha", [track(1, 0, 0.9, masks["t1"]), track(2, 2, 0.4, masks["t2"])], 3, **kwargs)


def beta(**kwargs) -> VideoResult:
    return video("beta", [track(5, 1, 0.7, [box_mask(0, 3, 0, 3), box_mask(4, 8, 5, 10)])], 2, **kwargs)


def write_results(out_dir: Path, *results: VideoResult, names: list[str] | None = None) -> Path:
    """Write each result as ``<name>.json`` (or the given file names) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, result in enumerate(results):
        file_name = names[i] if names else f"{result.info.name}.json"
        video_result.write(out_dir / file_name, result)
    return out_dir


def write_dataset(path: Path, videos: list[tuple[int, str, int]], categories: list[tuple[int, str]]) -> Path:
    """A minimal YouTube-VIS dataset JSON: videos ``(id, name, frames)`` and categories ``(id, name)``."""
    data = {
        "videos": [{"id": vid, "width": W, "height": H, "length": n,
                    "file_names": [f"{name}/{5 * i:05d}.jpg" for i in range(n)]} for vid, name, n in videos],
        "categories": [{"id": cid, "name": name} for cid, name in categories],
        "annotations": [],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------- loading


def test_load_results_skips_meta_and_other_json_and_sorts_by_video_name(tmp_path):
    out = write_results(tmp_path / "out", beta(), alpha(), names=["a_file.json", "z_file.json"])
    (out / "alpha.meta.json").write_text("{not even json", encoding="utf-8")
    (out / "notes.json").write_text(json.dumps({"format": "something-else"}), encoding="utf-8")
    (out / "results.json").write_text(json.dumps([{"video_id": 1}]), encoding="utf-8")
    (out / "readme.txt").write_text("hello", encoding="utf-8")
    loaded = load_results(out)
    assert [r.info.name for _, r in loaded] == ["alpha", "beta"]
    assert [p.name for p, _ in loaded] == ["z_file.json", "a_file.json"]


def test_load_results_errors(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        load_results(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no per-video result files"):
        load_results(tmp_path / "empty")
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.meta.json").write_text("{}", encoding="utf-8")
    (other / "y.json").write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match="no per-video result files"):
        load_results(other)


def test_corrupt_result_file_is_a_format_error(tmp_path):
    out = write_results(tmp_path / "out", alpha())
    text = (out / "alpha.json").read_text(encoding="utf-8")
    (out / "alpha.json").write_text(text[: len(text) // 2], encoding="utf-8")  # truncated
    with pytest.raises(FormatError, match="alpha.json"):
        load_results(out)
    data = json.loads(text)
    del data["tracks"][0]["score"]
    (out / "alpha.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FormatError, match=r"tracks\[0\].*score"):
        load_results(out)


def test_duplicate_video_names_are_an_error(tmp_path):
    out = write_results(tmp_path / "out", alpha(), alpha(), names=["one.json", "two.json"])
    with pytest.raises(InputError, match="both hold video 'alpha'"):
        load_results(out)


# ----------------------------------------------------------------- submission


def test_submission_sequential_ids_categories_and_null_frames(tmp_path, caplog):
    out = write_results(tmp_path / "out", beta(), alpha())
    with caplog.at_level(logging.WARNING, logger="vistool.io.export"):
        summary = export(out, tmp_path / "results.json")
    assert "numbering the 2 videos" in caplog.text
    assert (summary.videos, summary.tracks) == (2, 3)
    entries = read_json(tmp_path / "results.json")
    masks = alpha_masks()
    assert [(e["video_id"], e["category_id"], e["score"]) for e in entries] == [(1, 1, 0.9), (1, 3, 0.4), (2, 2, 0.7)]
    first = entries[0]["segmentations"]
    assert first[1] is None and len(first) == 3
    assert np.array_equal(rle.decode(first[0]), masks["t1"][0])
    assert np.array_equal(rle.decode(entries[1]["segmentations"][1]), masks["t2"][1])
    assert len(entries[2]["segmentations"]) == 2


def test_submission_uses_dataset_ids_of_result_files(tmp_path):
    out = write_results(tmp_path / "out", alpha(dataset_id=42), beta(dataset_id=7))
    export(out, tmp_path / "results.json")
    assert [e["video_id"] for e in read_json(tmp_path / "results.json")] == [42, 42, 7]


def test_duplicate_video_ids_are_an_error(tmp_path):
    out = write_results(tmp_path / "out", alpha(dataset_id=5), beta(dataset_id=5))
    with pytest.raises(InputError, match="videos 'alpha' and 'beta' both have id 5"):
        export(out, tmp_path / "results.json")


def test_submission_mixed_dataset_ids_need_dataset(tmp_path):
    out = write_results(tmp_path / "out", alpha(dataset_id=42), beta())
    with pytest.raises(InputError, match="beta.json has no dataset id"):
        export(out, tmp_path / "results.json")


def test_submission_dataset_maps_video_and_category_names(tmp_path, caplog):
    out = write_results(tmp_path / "out", alpha(), beta())
    gt = write_dataset(tmp_path / "gt.json", [(9, "gamma", 4), (3, "beta", 2), (11, "alpha", 3)],
                       [(20, "person"), (4, "cat"), (8, "dog"), (30, "horse")])
    with caplog.at_level(logging.WARNING, logger="vistool.io.export"):
        export(out, tmp_path / "results.json", ExportOptions(dataset=gt))
    assert "1 of 3 videos" in caplog.text and "gamma" in caplog.text
    entries = read_json(tmp_path / "results.json")
    assert [(e["video_id"], e["category_id"]) for e in entries] == [(11, 4), (11, 20), (3, 8)]


def test_submission_dataset_errors(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    cats = [(1, "cat"), (2, "dog"), (3, "person")]
    missing = write_dataset(tmp_path / "missing.json", [(1, "alpha", 3)], cats)
    with pytest.raises(InputError, match="video 'beta' .* is not in .*missing.json"):
        export(out, tmp_path / "r.json", ExportOptions(dataset=missing))
    frames = write_dataset(tmp_path / "frames.json", [(1, "alpha", 3), (2, "beta", 5)], cats)
    with pytest.raises(InputError, match="video 'beta' has 2 frames .* but 5 in"):
        export(out, tmp_path / "r.json", ExportOptions(dataset=frames))
    no_dog = write_dataset(tmp_path / "nodog.json", [(1, "alpha", 3), (2, "beta", 2)], [(1, "cat"), (3, "person")])
    with pytest.raises(InputError, match="category 'dog' is not in"):
        export(out, tmp_path / "r.json", ExportOptions(dataset=no_dog))
    write_results(out, alpha(dataset_id=99))
    with pytest.raises(InputError, match="dataset id 99"):
        export(out, tmp_path / "r.json", ExportOptions(dataset=frames))
    assert not (tmp_path / "r.json").exists()


def test_categories_must_agree_without_dataset(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta(categories=["cat", "person", "dog"]))
    with pytest.raises(InputError, match="different category lists"):
        export(out, tmp_path / "r.json")
    gt = write_dataset(tmp_path / "gt.json", [(1, "alpha", 3), (2, "beta", 2)], [(1, "cat"), (2, "dog"), (3, "person")])
    export(out, tmp_path / "r.json", ExportOptions(dataset=gt))
    assert [e["category_id"] for e in read_json(tmp_path / "r.json")] == [1, 3, 3]  # beta's label 1 is 'person'


def test_submission_zip_holds_results_json(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    export(out, tmp_path / "plain.json")
    export(out, tmp_path / "submission.zip", ExportOptions(zip=True))
    with zipfile.ZipFile(tmp_path / "submission.zip") as archive:
        assert archive.namelist() == ["results.json"]
        zipped = json.loads(archive.read("results.json"))
    assert zipped == read_json(tmp_path / "plain.json")


def test_score_threshold_drops_tracks(tmp_path):
    out = write_results(tmp_path / "out", alpha(), beta())
    summary = export(out, tmp_path / "r.json", ExportOptions(score_threshold=0.5))
    assert summary.tracks == 2
    assert sorted(e["score"] for e in read_json(tmp_path / "r.json")) == [0.7, 0.9]


def test_classes_per_track_lists_runner_up_categories(tmp_path):
    scored = alpha()
    scored.tracks[0].class_scores = [0.9, 0.3, 0.05]   # label 0 (cat), runner-ups dog, person
    scored.tracks[1].class_scores = [0.0, 0.1, 0.4]    # label 2 (person); cat scores 0: never listed
    out = write_results(tmp_path / "out", scored, beta())  # beta's track has no class scores
    assert video_result.read(out / "alpha.json").tracks[0].class_scores == [0.9, 0.3, 0.05]
    export(out, tmp_path / "one.json")
    export(out, tmp_path / "two.json", ExportOptions(classes_per_track=2))
    export(out, tmp_path / "all.json", ExportOptions(classes_per_track=3, score_threshold=0.2))

    def entries(name):
        return [(e["video_id"], e["category_id"], round(e["score"], 3)) for e in read_json(tmp_path / name)]

    assert entries("one.json") == [(1, 1, 0.9), (1, 3, 0.4), (2, 2, 0.7)]
    assert entries("two.json") == [(1, 1, 0.9), (1, 2, 0.3), (1, 3, 0.4), (1, 2, 0.1), (2, 2, 0.7)]
    assert entries("all.json") == [(1, 1, 0.9), (1, 2, 0.3), (1, 3, 0.4), (2, 2, 0.7)]
    submitted = read_json(tmp_path / "two.json")
    assert submitted[0]["segmentations"] == submitted[1]["segmentations"]  # same masks, other category


def test_class_scores_of_a_wrong_length_are_a_format_error(tmp_path):
    scored = alpha()
    scored.tracks[0].class_scores = [0.9, 0.1]
    out = write_results(tmp_path / "out", scored)
    with pytest.raises(FormatError, match=r"tracks\[0\].class_scores.*3 numbers"):
        video_result.read(out / "alpha.json")


def test_invalid_tracks_are_format_errors(tmp_path):
    bad_label = alpha()
    bad_label.tracks[0].label = 3
    with pytest.raises(FormatError, match="label 3 is outside the 3 categories"):
        export(write_results(tmp_path / "a", bad_label), tmp_path / "r.json")
    twice = alpha()
    twice.tracks[1].track_id = 1
    with pytest.raises(FormatError, match="track id 1 appears twice"):
        export(write_results(tmp_path / "b", twice), tmp_path / "r.json")


@pytest.mark.parametrize("options, message", [
    (ExportOptions(format="yolo"), "unknown format"),
    (ExportOptions(format="cvat-mots", zip=True), "--zip applies to --format submission"),
    (ExportOptions(with_images=True), "--with-images applies to"),
    (ExportOptions(score_threshold=1.5), "within"),
    (ExportOptions(classes_per_track=0), "must be >= 1"),
    (ExportOptions(format="coco", classes_per_track=2), "--classes-per-track applies to --format submission"),
])
def test_bad_options(tmp_path, options, message):
    out = write_results(tmp_path / "out", alpha())
    with pytest.raises(InputError, match=message):
        export(out, tmp_path / "r.json", options)


def test_output_that_is_a_folder_is_an_error(tmp_path):
    out = write_results(tmp_path / "out", alpha())
    with pytest.raises(InputError, match="is a folder"):
        export(out, tmp_path)


# ----------------------------------------------------------------- atomicity


class _BrokenJson:
    """Stands in for the json module: writes half of the text, then fails."""

    @staticmethod
    def dump(data, handle, **kwargs):
        text = json.dumps(data)
        handle.write(text[: len(text) // 2])
        handle.flush()
        raise OSError("disk full")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("fmt", ["submission", "prelabel", "coco"])
def test_failed_json_write_leaves_no_file(tmp_path, monkeypatch, fmt):
    out = write_results(tmp_path / "out", alpha(), beta())
    target = tmp_path / "export" / "file.json"
    monkeypatch.setattr(atomic, "json", _BrokenJson)
    with pytest.raises(OSError, match="disk full"):
        export(out, target, ExportOptions(format=fmt))
    assert not target.exists() and _leftovers(target.parent) == []


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    out = write_results(tmp_path / "out", alpha())
    target = tmp_path / "file.json"
    target.write_text("previous", encoding="utf-8")
    monkeypatch.setattr(atomic, "json", _BrokenJson)
    with pytest.raises(OSError):
        export(out, target)
    assert target.read_text(encoding="utf-8") == "previous"


def test_failed_zip_write_leaves_no_file(tmp_path, monkeypatch):
    import vistool.io.export.submission as submission

    out = write_results(tmp_path / "out", alpha(), beta())
    monkeypatch.setattr(submission, "json", _BrokenJson)
    with pytest.raises(OSError, match="disk full"):
        export(out, tmp_path / "sub" / "submission.zip", ExportOptions(zip=True))
    assert list((tmp_path / "sub").iterdir()) == []
