"""benchmarks/roi_probe.py (the linear probe of the category from RoI features at ground-truth boxes) and
benchmarks/frame_ap.py --coverage-by-clip, both written for the EfficientVIS diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.scripts import load_script
import torch

ROOT = Path(__file__).resolve().parents[1]


_script = load_script


def test_level_mapper_is_torchvisions_rule_over_the_fpn_levels():
    probe = _script("roi_probe")
    mapper, names = probe.level_mapper({"p3": 8, "p2": 4, "p5": 32, "p4": 16})
    assert names == ["p2", "p3", "p4", "p5"]
    sides = [30, 65, 111, 112, 223, 224, 448, 2000]  # canonical 224 px on level 4; below 112 px -> p2
    boxes = torch.tensor([[0.0, 0.0, s, s] for s in sides])
    levels = [names[int(k)] for k in mapper([boxes]).flatten()]
    assert levels == ["p2", "p2", "p2", "p3", "p3", "p4", "p5", "p5"]


def test_probe_separates_linearly_separable_categories_and_not_noise():
    probe = _script("roi_probe")
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat(40)
    centres = torch.eye(3, 8) * 6
    features = centres[labels] + torch.randn(len(labels), 8, generator=gen)
    fit = torch.arange(len(labels)) < 90
    fit_acc, out_acc = probe.probe(features, labels, fit, 3, l2=1e-3)
    assert fit_acc > 0.95 and out_acc > 0.95
    noise = torch.randn(len(labels), 8, generator=gen)
    _, out_noise = probe.probe(noise, labels, fit, 3, l2=1e-3)
    assert out_noise < 0.7


def test_held_out_videos_are_a_seeded_share():
    probe = _script("roi_probe")
    held = probe.held_out_videos(8, 0.25, seed=0)
    assert len(held) == 2 and held == probe.held_out_videos(8, 0.25, seed=0) and held <= set(range(8))


def test_roi_probe_runs_on_a_synthetic_split_with_the_bundled_weights(tmp_path, capsys):
    from vistool.cli import main

    main(["synth", str(tmp_path), "--split", "valid", "--videos", "3", "--seed", "5", "--preset", "crowded",
          "--size", "96x54"])
    probe = _script("roi_probe")
    capsys.readouterr()
    probe.main([str(tmp_path / "valid" / "instances.json"), "-w", str(ROOT / "weights" / "efficientvis_mnv3s_synth.pt"),
                "--videos", "3", "--max-frames", "6", "--every", "3", "--grid", "1", "--holdout", "0.34",
                "--min-area", "4", "--l2", "0.01", "0.1"])
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    for level in ("c2", "c3", "c4", "c5", "p2", "p3", "p4", "p5", "p2+p3+p4+p5"):
        cells = rows[level].rstrip(" |").split(" | ")[3:]
        assert len(cells) == 2  # one per --l2
        for cell in cells:
            fitted, held_out = (float(a) for a in cell.split(" / "))
            assert 0.0 <= fitted <= 1.0 and 0.0 <= held_out <= 1.0
    assert rows["p2"].split(" | ")[2] == "64"  # grid 1: the FPN's 64 channels
    assert "MultiScaleRoIAlign level of these boxes: p2" in out
    assert "model's own classification (final iteration, clips of 6 with hand-off)" in out
    probe.main([str(tmp_path / "valid" / "instances.json"), "-w", str(ROOT / "weights" / "efficientvis_mnv3s_synth.pt"),
                "--videos", "3", "--max-frames", "4", "--every", "2", "--holdout", "0.34", "--min-area", "4",
                "--no-model"])
    out = capsys.readouterr().out
    assert "| p2 | 4 | 256 |" in out and "model's own classification" not in out
    with pytest.raises(SystemExit, match="one side empty"):
        probe.main([str(tmp_path / "valid" / "instances.json"), "-w",
                    str(ROOT / "weights" / "efficientvis_mnv3s_synth.pt"), "--videos", "1", "--max-frames", "2",
                    "--min-area", "4"])


def test_frame_ap_coverage_by_clip_counts_masks_per_clip_of_frames():
    from tests.eval.test_eval_ytvis import dataset, mask

    frame_ap = _script("frame_ap")
    obj = mask(8, 8, (0, 4, 0, 4))
    gt = dataset(8, 8, 5, [(1, 1, 1, [obj] * 5)])
    gt.videos[0].file_names = [f"v/{i}.jpg" for i in range(5)]
    coco_gt, image_of = frame_ap.ground_truth(gt)
    frame_of = {image_of[n]: f for f, n in enumerate(gt.videos[0].file_names)}
    far = mask(8, 8, (6, 8, 6, 8))
    dts = [{"image_id": image_of["v/0.jpg"], "segmentation": obj},
           {"image_id": image_of["v/1.jpg"], "segmentation": far},
           {"image_id": image_of["v/4.jpg"], "segmentation": obj}]
    rows = frame_ap.coverage_by_clip(coco_gt, dts, frame_of, clip_len=2, clips=1)
    assert rows == [("0-1", 2, 0.5), ("2+", 3, pytest.approx(1 / 3))]
