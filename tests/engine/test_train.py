"""Training engine: schedule, RNG state, sharding, stages, and `vistool train` with --resume."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import yaml
from tests.helpers.evis import crafted_video, tiny_config
from torch import nn

from vistool.config import to_dict
from vistool.engine import train as engine
from vistool.engine import train_setup
from vistool.methods.base import VisModel
from vistool.structures import ClipBatch
from vistool.weights import read_checkpoint


def test_schedule_warms_up_then_drops():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    cfg = engine.TrainConfig(warmup_steps=4, lr_drops=(6, 8), lr_drop_factor=0.5)
    sched = engine.build_scheduler(opt, cfg, steps_per_unit=1)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 0.5, 0.5, 0.25, 0.25])


def test_a_stage_sets_its_own_lr_drops():
    model = nn.Linear(1, 1)
    model.stage_clip_len = lambda name: 1
    cfg = engine.TrainConfig(steps=10, lr_drops=(2,), stages=(
        engine.StageConfig("detector"), engine.StageConfig("tracker", steps=20, lr_drops=(15,))))
    detector = engine._stage_plan(model, "detector", cfg, "synth:tiny", None)
    tracker = engine._stage_plan(model, "tracker", cfg, "synth:tiny", None)
    assert (detector.steps, detector.lr_drops) == (10, (2,))
    assert (tracker.steps, tracker.lr_drops) == (20, (15,))
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = engine.build_scheduler(opt, cfg, 1, tracker.lr_drops)
    lrs = []
    for _ in range(17):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:15] == [1.0] * 15 and lrs[15:] == pytest.approx([0.1, 0.1])


def test_rng_state_round_trip():
    engine.seed_everything(7)
    state = engine.rng_state()
    first = (random.random(), float(np.random.rand()), float(torch.rand(())))
    engine.set_rng_state(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == first


def test_shard_sampler_partitions_and_skips():
    base = list(range(10))
    shards = [list(train_setup._ShardSampler(base, r, 3)) for r in range(3)]
    assert sorted(sum(shards, [])) == base and len(train_setup._ShardSampler(base, 0, 3)) == 4
    assert list(train_setup._ShardSampler(base, 1, 3, skip=2)) == [7]


@dataclass(frozen=True)
class TwoStageConfig:
    width: int = 4


class TwoStageModel(VisModel):
    """A model with a detector stage and a tracker stage (the tracker freezes the detector)."""

    method = "rgnnvis"

    def __init__(self, config, categories):
        super().__init__(config, categories)
        self.detector, self.tracker = nn.Linear(3, config.width), nn.Linear(config.width, 1)
        self.seen: list[tuple[str, int]] = []
        self.stage = "detector"

    def training_stages(self):
        return ["detector", "tracker"]

    def set_training_stage(self, name):
        super().set_training_stage(name)
        self.stage = name
        self.detector.requires_grad_(name == "detector")

    def stage_clip_len(self, name):
        return 1 if name == "detector" else 2

    def loss(self, batch):
        self.seen.append((self.stage, batch.images.shape[1]))
        x = batch.images.float().mean((1, 3, 4))
        return {"fit": (self.tracker(self.detector(x)) - 1).pow(2).mean()}

    def new_session(self, info):
        raise NotImplementedError("training only")


def fake_loader(data, clip_len, batch_size, size, **kwargs):
    sample = crafted_video(clip_len)
    return [ClipBatch(sample.images[None], [sample])] * 3


def test_stages_run_in_order_with_their_clip_lengths_and_freezing(tmp_path, monkeypatch):
    model = TwoStageModel(TwoStageConfig(), ["a"])
    monkeypatch.setattr("vistool.data.loader.build_clip_loader", fake_loader)
    monkeypatch.setattr(engine, "_prepare_model", lambda *a, **k: model)
    before = model.detector.weight.detach().clone()
    run = engine.RunFile(train=engine.TrainConfig(steps=2, lr=0.1, log_every=1))
    result = engine.train("rgnnvis", "fake", run, tmp_path / "out", stage="tracker")
    assert model.seen == [("tracker", 2)] * 2 and torch.equal(model.detector.weight, before)
    model.seen.clear()
    result = engine.train("rgnnvis", "fake", run, tmp_path / "out2")
    assert model.seen == [("detector", 1)] * 2 + [("tracker", 2)] * 2 and result.steps == 4
    assert not torch.equal(model.detector.weight, before)


def write_config(path, steps=3):
    data = {"method": "efficientvis", "model": to_dict(tiny_config()),
            "train": {"size": [64, 48], "batch_size": 1, "steps": steps, "lr": 1e-3, "warmup_steps": 2,
                      "grad_clip": 1.0, "log_every": 1, "checkpoint_every": 2, "seed": 3}}
    path.write_text(yaml.safe_dump(data))
    return path


def test_cli_train_writes_checkpoints_and_resumes(tmp_path, run_cli):
    config = write_config(tmp_path / "tiny.yaml")
    out = tmp_path / "run"
    args = ["train", "--method", "efficientvis", "--data", "synth:standard", "--out", str(out), "--device", "cpu"]
    result = run_cli(*args, "--config", config)
    assert result.code == 0, result.stderr
    assert "checkpoint:" in result.stdout and "it/s" in result.stdout
    assert {"last.pt", "model.pt", "run.yaml", "metrics.jsonl", "summary.json"} <= {p.name for p in out.iterdir()}
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all({"loss", "cls", "dice", "it_s", "eta_s", "lr"} <= set(r) for r in records)
    last = read_checkpoint(out / "last.pt")
    assert last["train_state"]["step"] == 3 and last["train_state"]["stage_done"]
    assert "synth:standard" in read_checkpoint(out / "model.pt")["training"]["data"]

    again = run_cli(*args, "--config", config)
    assert again.code == 2 and "--resume" in again.stderr and again.stderr.count("\n") == 1

    resumed = run_cli(*args, "--resume", "--steps", "5")
    assert resumed.code == 0, resumed.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    state = read_checkpoint(out / "last.pt")["train_state"]
    assert state["step"] == 5 and state["global_step"] == 5
    assert all(int(s["step"]) == 5 for s in state["optimizer"]["state"].values())
    assert read_checkpoint(out / "model.pt")["training"]["global_step"] == 5


def test_cli_train_set_changes_the_config_of_the_run(tmp_path, run_cli):
    config = write_config(tmp_path / "tiny.yaml", steps=3)
    out = tmp_path / "run"
    args = ["train", "--method", "efficientvis", "--data", "synth:standard", "--device", "cpu"]
    result = run_cli(*args, "--out", out, "--config", config, "--set", "train.steps=2", "--set", "train.seed=11")
    assert result.code == 0, result.stderr
    run = yaml.safe_load((out / "run.yaml").read_text())
    assert run["train"]["steps"] == 2 and run["train"]["seed"] == 11
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2

    typo = run_cli(*args, "--out", tmp_path / "typo", "--config", config, "--set", "train.sead=1")
    assert typo.code != 0 and "did you mean 'seed'" in typo.stderr and not (tmp_path / "typo").exists()
    alone = run_cli(*args, "--out", tmp_path / "alone", "--set", "train.seed=1")
    assert alone.code == 2 and "give --config too" in alone.stderr


def test_cli_train_rejects_an_unknown_stage(tmp_path, run_cli):
    config = write_config(tmp_path / "tiny.yaml")
    result = run_cli("train", "--method", "efficientvis", "--data", "synth:standard", "--out", tmp_path / "o",
                     "--config", config, "--stage", "nope")
    assert result.code == 2 and "stages ['main']" in result.stderr


def test_periodic_validation_reports_ytvis_metrics(tmp_path, run_cli):
    made = run_cli("synth", tmp_path / "data", "--split", "valid", "--videos", "2", "--size", "64x48")
    assert made.code == 0, made.stderr
    config = write_config(tmp_path / "tiny.yaml", steps=2)
    data = yaml.safe_load(config.read_text())
    data["train"].update(valid_data=str(tmp_path / "data" / "valid"), valid_every=1, valid_max_videos=1)
    config.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    result = run_cli("train", "--method", "efficientvis", "--data", "synth:standard", "--out", out,
                     "--config", config)
    assert result.code == 0, result.stderr
    assert "validation at step 1" in result.stdout
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in records if "valid_step" in r]
    assert [r["valid_step"] for r in valid] == [1, 2]
    assert all({"AP", "AP50", "AR1", "AR10"} <= set(r) and -1 <= r["AP"] <= 1 for r in valid)
    assert read_checkpoint(out / "model.pt")["training"]["metrics"]["AP"] == valid[-1]["AP"]


class LinearLossModel(VisModel):
    """loss = w . mean(images of the batch): its gradient is the batch's mean image channel values."""

    method = "rgnnvis"

    def __init__(self, config, categories):
        super().__init__(config, categories)
        self.w = nn.Parameter(torch.zeros(3))
        self.seen: list[float] = []

    def loss(self, batch):
        x = batch.images.float().mean((0, 1, 3, 4))
        self.seen.append(float(x.sum()))
        return {"linear": (self.w * x).sum()}

    def new_session(self, info):
        raise NotImplementedError("training only")


def test_accumulate_averages_the_gradients_of_several_batches_into_one_step(tmp_path, monkeypatch):
    samples = [crafted_video(1) for _ in range(2)]
    samples[1].images.mul_(0).add_(7)
    monkeypatch.setattr("vistool.data.loader.build_clip_loader",
                        lambda *a, **k: [ClipBatch(s.images[None], [s]) for s in samples])
    model = LinearLossModel(TwoStageConfig(), ["a"])
    monkeypatch.setattr(engine, "_prepare_model", lambda *a, **k: model)
    run = engine.RunFile(train=engine.TrainConfig(steps=1, lr=0.5, optimizer="sgd", weight_decay=0.0,
                                                  accumulate=2, amp=False, log_every=1))
    result = engine.train("rgnnvis", "fake", run, tmp_path / "out")
    means = torch.stack([s.images.float().mean((0, 2, 3)) for s in samples]).mean(0)
    assert len(model.seen) == 2 and result.steps == 1
    assert torch.allclose(model.w.detach(), -0.5 * means, atol=1e-4)


def test_accumulate_below_one_is_a_config_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"train": {"accumulate": 0}}))
    with pytest.raises(engine.ConfigError, match="train.accumulate must be >= 1"):
        engine.load_run_file(path)
