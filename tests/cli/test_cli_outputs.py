"""No output of a run is overwritten by another input of the same run (issue 20, item 2).

Every way two inputs could map to one output either writes one results list that
holds every video, or stops before any work with a one-line error.
"""

from __future__ import annotations

import json
import shutil

from tests.helpers.video import write_squares_split, write_squares_video


def _one_line_error(run) -> str:
    assert run.code != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]


def test_a_folder_into_one_json_holds_every_video(tmp_path, run_cli, stub_model):
    for name, squares in (("a", 2), ("b", 1), ("c", 2)):
        write_squares_video(tmp_path / "in" / f"{name}.mp4", squares=squares)
    run = run_cli("track", tmp_path / "in", "-o", tmp_path / "one.json")
    assert run.code == 0, run.stderr
    records = json.loads((tmp_path / "one.json").read_text())
    per_video = {vid: sum(r["video_id"] == vid for r in records) for vid in {r["video_id"] for r in records}}
    assert per_video == {1: 2, 2: 1, 3: 2}  # input order a, b, c; each video's tracks kept
    meta = json.loads((tmp_path / "one.meta.json").read_text())
    assert [v["video"] for v in meta["videos"]] == ["a", "b", "c"]


def test_several_inputs_into_one_json_hold_every_video(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "x.mp4", squares=1)
    write_squares_video(tmp_path / "y", squares=2)  # a frame folder
    run = run_cli("track", tmp_path / "x.mp4", tmp_path / "y", "-o", tmp_path / "one.json")
    assert run.code == 0, run.stderr
    records = json.loads((tmp_path / "one.json").read_text())
    assert sorted(r["video_id"] for r in records) == [1, 2, 2]


def test_a_split_folder_into_one_json_keeps_dataset_ids(tmp_path, run_cli, stub_model):
    write_squares_split(tmp_path / "split", num_videos=3)
    run = run_cli("track", tmp_path / "split", "-o", tmp_path / "one.json")
    assert run.code == 0, run.stderr
    records = json.loads((tmp_path / "one.json").read_text())
    assert {r["video_id"] for r in records} == {10, 11, 12}


def test_two_inputs_with_one_stem_into_a_folder_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "a" / "clip.mp4")
    write_squares_video(tmp_path / "b" / "clip.mp4")
    run = run_cli("track", tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4", "-o", tmp_path / "out")
    assert "would both write" in _one_line_error(run)
    assert stub_model.requested_methods == [] and not (tmp_path / "out").exists()


def test_names_differing_only_in_case_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "a" / "Clip.mp4")
    write_squares_video(tmp_path / "b" / "clip.mp4")
    run = run_cli("track", tmp_path / "a" / "Clip.mp4", tmp_path / "b" / "clip.mp4", "-o", tmp_path / "out")
    assert "would both write" in _one_line_error(run)


def test_a_video_and_a_frame_folder_of_one_name_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "clip.mp4")
    write_squares_video(tmp_path / "frames" / "clip")
    run = run_cli("track", tmp_path / "clip.mp4", tmp_path / "frames" / "clip", "-o", tmp_path / "out")
    assert "would both write" in _one_line_error(run)


def test_a_split_video_and_a_file_of_its_name_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_split(tmp_path / "split", num_videos=2)
    write_squares_video(tmp_path / "vid0.mp4")
    run = run_cli("track", tmp_path / "split", tmp_path / "vid0.mp4", "-o", tmp_path / "out")
    assert "would both write" in _one_line_error(run)


def test_one_split_twice_into_one_json_stops_before_work(tmp_path, run_cli, stub_model):
    write_squares_split(tmp_path / "split", num_videos=2)
    shutil.copytree(tmp_path / "split", tmp_path / "copy")
    run = run_cli("track", tmp_path / "split", tmp_path / "copy", "-o", tmp_path / "one.json")
    assert "both have dataset id" in _one_line_error(run)
    assert stub_model.requested_methods == [] and not (tmp_path / "one.json").exists()


def test_dataset_and_plain_videos_into_one_json_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_split(tmp_path / "split", num_videos=1)
    write_squares_video(tmp_path / "other.mp4")
    run = run_cli("track", tmp_path / "split", tmp_path / "other.mp4", "-o", tmp_path / "one.json")
    assert "no dataset id" in _one_line_error(run)


def test_several_videos_with_one_overlay_file_stop_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4")
    write_squares_video(tmp_path / "in" / "b.mp4")
    run = run_cli("track", tmp_path / "in", "-o", tmp_path / "one.json", "--overlay", tmp_path / "ov.mp4")
    assert "overlay folder" in _one_line_error(run)


def test_several_videos_with_an_overlay_folder_get_one_overlay_each(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4")
    write_squares_video(tmp_path / "in" / "b.mp4")
    run = run_cli("track", tmp_path / "in", "-o", tmp_path / "one.json", "--overlay", tmp_path / "ov")
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "ov").iterdir()) == ["a.mp4", "b.mp4"]


def test_segment_of_several_videos_into_one_json_stops_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4")
    write_squares_video(tmp_path / "in" / "b.mp4")
    run = run_cli("segment", tmp_path / "in", "-o", tmp_path / "one.json")
    assert "one file per video" in _one_line_error(run)


def test_one_file_written_two_ways_is_one_video(tmp_path, run_cli, stub_model, monkeypatch):
    write_squares_video(tmp_path / "a.mp4")
    monkeypatch.chdir(tmp_path)
    run = run_cli("track", "a.mp4", "./a.mp4", "-o", "out")
    assert run.code == 0, run.stderr
    assert [p.name for p in (tmp_path / "out").glob("*.json") if not p.name.endswith(".meta.json")] == ["a.json"]


def test_a_corrupt_video_in_a_folder_does_not_stop_the_videos_after_it(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4")
    (tmp_path / "in" / "b.mp4").write_bytes(b"not a video" * 50)
    write_squares_video(tmp_path / "in" / "c.mp4", squares=1)
    run = run_cli("track", tmp_path / "in", "-o", tmp_path / "one.json")
    assert run.code != 0 and "1 of 3 videos failed (b)" in run.stderr.splitlines()[-1]
    records = json.loads((tmp_path / "one.json").read_text())
    assert sorted(r["video_id"] for r in records) == [1, 1, 3]  # a and c kept, ids by input position
    folder = run_cli("track", tmp_path / "in", "-o", tmp_path / "out")
    assert folder.code != 0 and "1 of 3 videos failed (b)" in folder.stderr
    assert (tmp_path / "out" / "a.json").exists() and (tmp_path / "out" / "c.json").exists()


def test_one_stem_twice_into_one_json_is_fine_but_not_into_one_overlay_folder(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "a" / "clip.mp4")
    write_squares_video(tmp_path / "b" / "clip.mp4", squares=1)
    inputs = [tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"]
    run = run_cli("track", *inputs, "-o", tmp_path / "one.json")
    assert run.code == 0, run.stderr
    assert sorted(r["video_id"] for r in json.loads((tmp_path / "one.json").read_text())) == [1, 1, 2]
    clash = run_cli("track", *inputs, "-o", tmp_path / "two.json", "--overlay", tmp_path / "ov")
    assert "would both write" in _one_line_error(clash) and "clip.mp4" in clash.stderr
    assert not (tmp_path / "two.json").exists()
