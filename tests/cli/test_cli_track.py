"""`vistool track` / `segment` end to end with the stub model (tests/stub_model.py)."""

import json

import cv2

import numpy as np

from tests.helpers.video import write_squares_video
from vistool.io import rle, video_result


def test_track_single_video_writes_ytvis_results_and_meta(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "v.mp4", num_frames=8)
    run = run_cli("track", tmp_path / "v.mp4", "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr
    results = json.loads((tmp_path / "out.json").read_text())
    assert len(results) == 2
    for r in results:
        assert r["video_id"] == 1 and r["category_id"] == 1 and 0 <= r["score"] <= 1
        assert len(r["segmentations"]) == 8
        assert isinstance(r["segmentations"][0]["counts"], str)
    meta = json.loads((tmp_path / "out.meta.json").read_text())
    assert meta["frames"] == 8 and meta["vistool_version"]


def test_track_masks_follow_the_squares(tmp_path, run_cli, stub_model):
    frames = write_squares_video(tmp_path / "frames", num_frames=5, squares=1)  # lossless PNG folder
    run = run_cli("track", tmp_path / "frames", "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr
    (result,) = json.loads((tmp_path / "out.json").read_text())
    for frame, seg in zip(frames, result["segmentations"]):
        assert np.array_equal(rle.decode(seg), frame.max(axis=2) > 127)


def test_track_overlay_is_h264(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "v.mp4", num_frames=6)
    run = run_cli("track", tmp_path / "v.mp4", "-o", tmp_path / "out.json", "--overlay", tmp_path / "ov.mp4")
    assert run.code == 0, run.stderr
    from vistool.io.video import probe

    info = probe(str(tmp_path / "ov.mp4"))
    assert (info.width, info.height) == (64, 48) and info.num_frames == 6


def test_batch_writes_one_file_per_video_and_skips_finished(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4")
    write_squares_video(tmp_path / "in" / "b.mp4", squares=1)
    out = tmp_path / "out"
    run = run_cli("track", tmp_path / "in" / "a.mp4", tmp_path / "in" / "b.mp4", "-o", out)
    assert run.code == 0, run.stderr
    a = video_result.read(out / "a.json")
    assert len(a.tracks) == 2 and a.num_frames == 8
    before = (out / "b.json").stat().st_mtime_ns
    rerun = run_cli("track", tmp_path / "in" / "a.mp4", tmp_path / "in" / "b.mp4", "-o", out)
    assert rerun.code == 0 and (out / "b.json").stat().st_mtime_ns == before


def test_batch_failure_of_one_video_keeps_the_others(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "good.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"this is not a video")
    out = tmp_path / "out"
    run = run_cli("track", tmp_path / "good.mp4", tmp_path / "bad.mp4", "-o", out)
    assert run.code != 0
    assert len(run.stderr.strip().splitlines()) >= 1 and "1 of 2 videos failed" in run.stderr
    assert (out / "good.json").exists() and not (out / "bad.json").exists()


def test_segment_writes_per_frame_records(tmp_path, run_cli, stub_model):
    frames = write_squares_video(tmp_path / "v", num_frames=4)
    frames[1][:] = 0  # nothing in frame 1: it is still listed as an image
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / "v" / f"{i:05d}.png"), frame)
    run = run_cli("segment", tmp_path / "v", "-o", tmp_path / "seg.json", "--stride", "1")
    assert run.code == 0, run.stderr
    data = json.loads((tmp_path / "seg.json").read_text())
    assert [im["frame_index"] for im in data["images"]] == [0, 1, 2, 3]
    assert len(data["annotations"]) == 6
    assert {a["image_id"] for a in data["annotations"]} == {1, 3, 4}
    assert data["categories"] == [{"id": 1, "name": "blob"}]


def test_weights_alone_choose_the_method_and_are_recorded(tmp_path, run_cli, monkeypatch):
    """`--weights` without `--method` loads that checkpoint's method; the meta file records its sha256."""
    import vistool.methods.build as build_mod
    from tests.helpers.stub_model import StubModel
    from vistool.methods.build import Provenance

    seen = {}

    def fake_load(method, weights, device, settings=()):
        seen.update(method=method, weights=weights)
        return StubModel(), Provenance(weights, "ab" * 32, {})

    monkeypatch.setattr(build_mod, "load_model", fake_load)
    write_squares_video(tmp_path / "v.mp4", num_frames=3)
    (tmp_path / "w.pt").write_bytes(b"x")
    run = run_cli("track", tmp_path / "v.mp4", "-w", tmp_path / "w.pt", "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr
    assert seen == {"method": None, "weights": str(tmp_path / "w.pt")}
    assert json.loads((tmp_path / "out.meta.json").read_text())["weights_sha256"] == "ab" * 32


def test_set_changes_an_inference_setting_and_is_recorded(tmp_path, run_cli):
    """`--set` rebuilds the checkpoint's model with the setting; the meta file records it. A frame threshold
    of 1 lets no instance through, so the same weights and video give tracks without it and none with it."""
    from tests.helpers.evis import tiny_model

    from vistool.weights import save_checkpoint

    save_checkpoint(tmp_path / "w.pt", tiny_model(seed=3, frame_threshold=0.0))
    write_squares_video(tmp_path / "v.mp4", num_frames=4)
    plain = run_cli("track", tmp_path / "v.mp4", "-w", tmp_path / "w.pt", "-o", tmp_path / "a.json", "--device", "cpu")
    assert plain.code == 0, plain.stderr
    assert json.loads((tmp_path / "a.json").read_text())
    run = run_cli("track", tmp_path / "v.mp4", "-w", tmp_path / "w.pt", "-o", tmp_path / "b.json", "--device", "cpu",
                  "--set", "frame_threshold=1.0")
    assert run.code == 0, run.stderr
    assert json.loads((tmp_path / "b.json").read_text()) == []
    meta = json.loads((tmp_path / "b.meta.json").read_text())
    assert meta["settings"] == ["frame_threshold=1.0"] and meta["config"]["frame_threshold"] == 1.0


def test_set_with_an_unknown_key_or_a_new_network_shape_fails_in_one_line(tmp_path, run_cli):
    from tests.helpers.evis import tiny_model

    from vistool.weights import save_checkpoint

    save_checkpoint(tmp_path / "w.pt", tiny_model(seed=3))
    write_squares_video(tmp_path / "v.mp4", num_frames=2)
    for setting, message in (("frame_treshold=0.3", "did you mean 'frame_threshold'"),
                             ("mask_dim=32", "--set mask_dim=32"),
                             ("frame_threshold", "expected KEY=VALUE, e.g. tracker.match_threshold=0.3")):
        run = run_cli("track", tmp_path / "v.mp4", "-w", tmp_path / "w.pt", "-o", tmp_path / "o.json",
                      "--set", setting)
        assert run.code != 0 and message in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert not (tmp_path / "o.json").exists()


def test_track_without_method_or_weights_runs_rgnnvis(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "v.mp4", num_frames=3)
    assert run_cli("track", tmp_path / "v.mp4", "-o", tmp_path / "a.json").code == 0
    assert run_cli("track", tmp_path / "v.mp4", "-m", "efficientvis", "-o", tmp_path / "b.json").code == 0
    assert stub_model.requested_methods == ["rgnnvis", "efficientvis"]
