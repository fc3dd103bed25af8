"""``vistool train`` under ``torchrun`` (two CPU processes, gloo) for every registered method (issue 20, item 4).

The test iterates over ``METHODS`` (only runnable methods are registered) and trains
each method's own ``tiny_config()``, so a new method gets a DDP test as soon as it lands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from vistool.methods import METHODS, load_module

ROOT = Path(__file__).resolve().parents[2]

def _tiny(method: str) -> dict:
    """The method's own contract-test config (``tiny_config()``), as the YAML mapping ``vistool train`` reads."""
    from vistool.config import to_dict

    return to_dict(load_module(method).tiny_config())


def _split_with_an_empty_video(root: Path) -> Path:
    """A 2-video split of 6 frames: one video with squares, one without any instance. EfficientVIS takes one
    6-frame clip pair per video, so at every step one of the two ranks trains on a clip without instances."""
    from tests.helpers.video import write_squares_split

    gt = write_squares_split(root, num_videos=2, num_frames=6)
    data = json.loads(gt.read_text())
    empty = data["videos"][1]["id"]
    data["annotations"] = [a for a in data["annotations"] if a["video_id"] != empty]
    gt.write_text(json.dumps(data))
    return root


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
@pytest.mark.parametrize("method", list(METHODS))
def test_train_two_steps_under_torchrun_on_two_processes(method, tmp_path):
    data = _split_with_an_empty_video(tmp_path / "split")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "method": method, "model": _tiny(method),
        "train": {"size": [64, 48], "batch_size": 1, "steps": 2, "lr": 1e-3, "amp": False, "log_every": 1,
                  "checkpoint_every": 0, "seed": 1, "augment": False}}))
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    command = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "vistool", "train",
               "--method", method, "--data", str(data), "--config", str(config), "--out",
               str(tmp_path / "run"), "--device", "cpu"]
    run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "loss" in r]
    assert steps and set(steps) == {1, 2}  # every stage ran its two steps
    assert (tmp_path / "run" / "model.pt").is_file()


def _batch(clip_len: int, instances: int, seed: int = 0):
    """One 64x48 clip of noise with ``instances`` squares present in every frame (0: an empty clip)."""
    import torch

    from vistool.structures import ClipBatch, ClipSample

    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (clip_len, 3, 48, 64), generator=gen, dtype=torch.uint8)
    masks = torch.zeros(instances, clip_len, 48, 64, dtype=torch.bool)
    boxes = torch.zeros(instances, clip_len, 4)
    for k in range(instances):
        x = 4 + 20 * k
        masks[k, :, 10:26, x:x + 16] = True
        boxes[k, :] = torch.tensor([x, 10, x + 16, 26], dtype=torch.float32)
    sample = ClipSample(video_id=1, frame_indices=list(range(clip_len)), images=images,
                        instance_ids=torch.arange(instances), labels=torch.zeros(instances, dtype=torch.int64),
                        boxes=boxes, masks=masks, present=torch.ones(instances, clip_len, dtype=torch.bool))
    return ClipBatch(images=images[None], samples=[sample])


@pytest.mark.parametrize("instances", [0, 2])
@pytest.mark.parametrize("method", list(METHODS))
def test_every_trainable_parameter_takes_part_in_the_loss(method, instances):
    """DDP without find_unused_parameters needs a gradient for every trainable parameter at every step,
    also for a clip without instances (which a rank meets whenever its sampled clip is empty)."""
    import torch

    module = load_module(method)
    torch.manual_seed(0)
    model = module.Model(module.tiny_config(), ["a", "b", "c"])
    for stage in model.training_stages():
        model.set_training_stage(stage)
        model.train()
        model.zero_grad(set_to_none=True)
        sum(model.loss(_batch(model.stage_clip_len(stage), instances)).values()).backward()
        missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert missing == [], f"{method} stage {stage}: no gradient for {missing[:6]}"
