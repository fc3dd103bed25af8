"""Checkpoints: round trip, strict loading, fp16 storage, bundled-weights manifest, `vistool models`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from tests.helpers.evis import CATEGORIES, crafted_video, tiny_model

import vistool
from vistool.cli import cli
from vistool.errors import CheckpointError, MethodError
from vistool.methods.build import load_model
from vistool.weights import read_checkpoint, save_checkpoint, sha256_file


def outputs(model, images):
    with torch.no_grad():
        x = model.transform.prepare_batch(images[None])
        out = model.decode(model.features(x), tuple(images.shape[-2:]), tuple(x.shape[-2:]))[-1]
    return out.logits, out.boxes, out.mask_logits


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=4).eval()


def test_round_trip_gives_identical_outputs(model, tmp_path):
    path = tmp_path / "m.pt"
    digest = save_checkpoint(path, model, training={"steps": 3, "data": "crafted"})
    assert digest == sha256_file(path)
    data = read_checkpoint(path)
    assert data["method"] == "efficientvis" and data["categories"] == CATEGORIES
    assert data["vistool_version"] == vistool.__version__ and data["training"]["steps"] == 3
    loaded, _ = load_model(None, str(path))
    assert not loaded.training and loaded.config == model.config
    images = crafted_video(3).images
    for a, b in zip(outputs(model, images), outputs(loaded, images)):
        assert torch.equal(a, b)


def test_tampered_state_dict_is_rejected_listing_the_keys(model, tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, model)
    data = torch.load(path, weights_only=True)
    state = data["state_dict"]
    removed = "init_boxes"
    del state[removed]
    state["extra.weight"] = torch.zeros(2)
    state["init_queries.weight"] = torch.zeros(1, 1)
    torch.save(data, path)
    with pytest.raises(CheckpointError) as err:
        load_model("efficientvis", str(path))
    message = str(err.value)
    assert "\n" not in message
    assert removed in message and "extra.weight" in message and "init_queries.weight" in message


def test_fp16_storage_loads_into_fp32_model(model, tmp_path):
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_checkpoint(full, model)
    save_checkpoint(half, model, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_checkpoint(half)["state_dict"]["init_queries.weight"].dtype == torch.float16
    loaded, _ = load_model("efficientvis", str(half))
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    ref = model.init_queries.weight
    assert torch.allclose(loaded.init_queries.weight, ref, atol=1e-3 * float(ref.detach().abs().max()))
    logits_a, _, _ = outputs(model, crafted_video(3).images)
    logits_b, _, _ = outputs(loaded, crafted_video(3).images)
    assert torch.allclose(logits_a.softmax(-1), logits_b.softmax(-1), atol=2e-2)


def test_wrong_method_and_non_checkpoint_files(model, tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, model)
    with pytest.raises(CheckpointError, match="for method 'efficientvis', not 'rgnnvis'"):
        load_model("rgnnvis", str(path))
    other = tmp_path / "plain.pt"
    torch.save({"a": torch.zeros(1)}, other)
    with pytest.raises(CheckpointError, match="not a vistool checkpoint"):
        load_model(None, str(other))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        load_model(None, str(garbage))
    with pytest.raises(CheckpointError, match="not found"):
        load_model(None, str(tmp_path / "missing.pt"))


def test_bundled_default_from_manifest(model, tmp_path, monkeypatch):
    monkeypatch.setenv("VISTOOL_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(MethodError, match="no bundled weights yet"):
        load_model("efficientvis", None)
    digest = save_checkpoint(tmp_path / "evis.pt", model, half=True)
    entry = {"file": "evis.pt", "method": "efficientvis", "sha256": digest, "default": True,
             "config": "configs/x.yaml", "data": "synth:standard", "command": "vistool train ...",
             "metrics": {"AP": 12.5, "AR10": 30.0}}
    (tmp_path / "manifest.json").write_text(json.dumps({"weights": [entry]}))
    assert isinstance(load_model("efficientvis", None)[0], type(model))
    result = CliRunner().invoke(cli, ["models"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "efficientvis" in result.output and "evis.pt" in result.output and "AP 12.5" in result.output
    (tmp_path / "evis.pt").write_bytes(b"replaced")
    with pytest.raises(CheckpointError, match="differs from the manifest"):
        load_model("efficientvis", None)


def test_torch_load_appears_in_exactly_one_place():
    root = Path(vistool.__file__).parent
    users = [p.relative_to(root).as_posix() for p in root.rglob("*.py") if "torch.load(" in p.read_text()]
    assert users == ["weights.py"]


def test_settings_added_after_a_checkpoint_was_written_can_be_set(tmp_path):
    from tests.methods.test_rgnnvis_model import _tiny_model

    from vistool.errors import ConfigError
    from vistool.methods.build import load_checkpoint_model

    path = tmp_path / "old.pt"
    save_checkpoint(path, _tiny_model())
    data = read_checkpoint(path)
    del data["config"]["track_class"]  # as written before the setting existed
    torch.save(data, path)
    model, loaded = load_checkpoint_model(path, settings=["track_class=detections"])
    assert model.config.track_class == "detections" and loaded["config"]["track_class"] == "detections"
    with pytest.raises(ConfigError, match="unknown key 'no_such_key'"):
        load_checkpoint_model(path, settings=["tracker.no_such_key=1"])


def test_models_config_prints_the_full_config_that_set_can_change(model, tmp_path, run_cli):
    import yaml

    data_path = tmp_path / "evis.pt"
    save_checkpoint(data_path, model)
    stored = read_checkpoint(data_path)
    del stored["config"]["frame_threshold"]  # written before the key existed: the default fills it
    torch.save(stored, data_path)
    result = CliRunner().invoke(cli, ["models", "--config", str(data_path)])
    assert result.exit_code == 0, result.output
    first, _, body = result.output.partition("\n")
    assert first.startswith("# method: efficientvis")
    config = yaml.safe_load(body)
    assert config["num_queries"] == model.config.num_queries and config["frame_threshold"] == 0.5
    run = run_cli("models", "--config", "no_such_method")
    assert run.code == 2 and run.stderr.strip().startswith("error: --config no_such_method: neither a method")


def test_version_1_rgnnvis_checkpoints_are_renamed_to_the_shared_backbone_names():
    """Format 2 names every method's backbone + FPN alike; a version-1 RGNNVIS++ file is renamed on reading."""
    from vistool.weights import FORMAT, upgrade

    t = torch.zeros(1)
    old = {"format": FORMAT, "format_version": 1, "method": "rgnnvis", "config": {}, "categories": [],
           "state_dict": {"backbone.body.features.0.weight": t, "detector.fpn.fpn.inner_blocks.0.0.weight": t,
                          "detector.head.cls_out.bias": t, "tracker.empty_init": t}}
    new = upgrade(old)
    assert new["format_version"] == 2 and sorted(new["state_dict"]) == [
        "backbone.backbone.body.features.0.weight", "backbone.fpn.fpn.inner_blocks.0.0.weight",
        "detector.head.cls_out.bias", "tracker.empty_init"]
    evis = {**old, "method": "efficientvis", "state_dict": {"backbone.backbone.body.x": t}}
    assert upgrade(evis)["state_dict"] == {"backbone.backbone.body.x": t}
    assert upgrade(new) is new
