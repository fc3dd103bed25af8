"""The smaller items of a user's first hour (issue 20, item 7)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from tests.helpers.video import array_source, moving_squares, write_squares_split, write_squares_video
from tests.helpers.stub_model import StubSession
from vistool.structures import FrameInstances


# ------------------------------------------------------------------ null where a track is absent


class EmptyMaskSession(StubSession):
    """Emits track 1 in every frame, but with an empty mask in frames 1 and 2 (as EfficientVIS did
    for a slot above its frame threshold whose mask is empty)."""

    def _frame(self, image, index):
        instances = super()._frame(image, index)
        if index in (1, 2):
            masks = instances.masks.clone()
            masks[0] = False
            instances = FrameInstances(frame_index=index, image_size=instances.image_size, boxes=instances.boxes,
                                       masks=masks, scores=instances.scores, labels=instances.labels,
                                       track_ids=instances.track_ids)
        return instances


def test_an_empty_mask_is_written_as_null(stub_model):
    from vistool.engine.infer import run_video

    stub_model.new_session = lambda info: EmptyMaskSession(1, 40.0)
    result, _ = run_video(stub_model, array_source(moving_squares(4)))
    first = next(t for t in result.tracks if t.track_id == 1)
    assert first.segmentations[1] is None and first.segmentations[2] is None
    assert first.segmentations[0] is not None and first.segmentations[3] is not None


@pytest.mark.parametrize("method", ["efficientvis", "rgnnvis"])
def test_bundled_methods_write_null_and_never_an_empty_mask(method, tmp_path):
    """On the demo (an instance leaves and comes back), no track holds an empty mask."""
    from vistool.engine.batch import build_model
    from vistool.engine.infer import InferOptions, run_video
    from vistool.engine.sources import video_source
    from vistool.io import rle

    model, _ = build_model(method, None, "cpu")
    result, _ = run_video(model, video_source("examples/demo/valid/videos/demo_0.mp4"), InferOptions(max_frames=12))
    segs = [s for t in result.tracks for s in t.segmentations]
    assert segs and all(s is None or rle.area(s) > 0 for s in segs)


# ------------------------------------------------------------------ segment, errors, models, render fps


def test_segment_reports_instances_not_tracks(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "in" / "a.mp4", num_frames=4)
    write_squares_video(tmp_path / "in" / "b.mp4", num_frames=4)
    run = run_cli("segment", tmp_path / "in", "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    assert "tracks" not in run.stderr and "done a: 8 instances, 4 frames" in run.stderr


def test_no_blank_line_before_an_error(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "good.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"not a video" * 20)
    run = run_cli("track", tmp_path / "good.mp4", tmp_path / "bad.mp4", "-o", tmp_path / "out")
    assert run.code != 0
    assert "\n\n" not in run.stderr and run.stderr.splitlines()[-1].startswith("error: ")


def test_models_table_is_not_cut(run_cli):
    from vistool.weights import read_manifest

    run = run_cli("models")
    assert run.code == 0, run.stderr
    assert "…" not in run.stdout
    for entry in read_manifest():
        assert entry["file"] in run.stdout and entry["sha256"][:12] in run.stdout


def test_render_of_a_frame_folder_defaults_to_30_fps(tmp_path, run_cli, stub_model):
    from vistool.io.video import probe

    write_squares_video(tmp_path / "frames", num_frames=4)  # a frame folder: no frame rate
    assert run_cli("track", tmp_path / "frames", "-o", tmp_path / "out").code == 0
    run = run_cli("render", tmp_path / "out" / "frames.json", "-o", tmp_path / "r.mp4")
    assert run.code == 0, run.stderr
    assert probe(str(tmp_path / "r.mp4")).fps == 30.0


# ------------------------------------------------------------------ synth preview footer


def test_preview_footer_lines_do_not_overlap():
    from vistool.data.synth.preview import footer

    img = np.full((216, 384, 3), 128, np.uint8)
    bands = footer(img, ["hidden #3,4", "demo_0 t=12"], scale=0.4)
    (x0, top0, x1, bottom0), (_, top1, _, bottom1) = bands
    assert bottom0 < top1 and bottom1 == 215 and top0 > 150  # stacked, bottom line at the frame's edge
    text_rows = np.flatnonzero((img > 200).all(2).any(1))
    assert text_rows.min() > top0 and set(text_rows) <= set(range(top0, bottom0 + 1)) | set(range(top1, 216))


# ------------------------------------------------------------------ train --valid, resume message


def _tiny_efficientvis(path, steps: int = 2):
    model = {"backbone": {"name": "resnet18", "norm": "gn", "weights": "none", "in_features": ["c2", "c3"],
                          "fpn_channels": 32, "extra_levels": "none", "freeze_at": 0},
             "transform": {"min_size": 48, "max_size": 64}, "clip_len": 3, "num_queries": 4, "num_stages": 2,
             "num_heads": 4, "ffn_dim": 64, "dynamic_dim": 8, "roi_size": 7, "roi_sampling": 1, "fc_pool": 3,
             "mask_convs": 1, "mask_dim": 16, "reg_layers": 1}
    path.write_text(yaml.safe_dump({"method": "efficientvis", "model": model, "train": {
        "size": [64, 48], "batch_size": 1, "steps": steps, "lr": 1e-3, "amp": False, "log_every": 1,
        "checkpoint_every": 0, "seed": 3}}))
    return path


def test_train_valid_option_validates_and_resume_says_its_step(tmp_path, run_cli):
    write_squares_split(tmp_path / "valid", num_videos=1, num_frames=3)
    config = _tiny_efficientvis(tmp_path / "tiny.yaml")
    args = ["train", "--method", "efficientvis", "--data", "synth:standard", "--out", tmp_path / "run",
            "--device", "cpu"]
    run = run_cli(*args, "--config", config, "--valid", tmp_path / "valid")
    assert run.code == 0, run.stderr
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["valid_step"] for r in records if "valid_step" in r] == [2]
    assert yaml.safe_load((tmp_path / "run" / "run.yaml").read_text())["train"]["valid_data"] == \
        str(tmp_path / "valid")
    resumed = run_cli(*args, "--resume", "--steps", "3")
    assert resumed.code == 0, resumed.stderr
    assert "resuming stage 'main' from step 2 of 3" in resumed.stdout


def test_train_valid_that_is_no_split_stops_before_training(tmp_path, run_cli):
    config = _tiny_efficientvis(tmp_path / "tiny.yaml")
    run = run_cli("train", "--method", "efficientvis", "--data", "synth:standard", "--out", tmp_path / "run",
                  "--config", config, "--valid", tmp_path)
    assert run.code != 0 and "--valid" in run.stderr and not (tmp_path / "run").exists()
