"""The fast paths of loading and evaluating give what the plain paths give: numbers, errors, objects."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vistool.errors import FormatError, InputError
from vistool.eval.parallel import map_in_order, resolve_workers
from vistool.eval.ytvis import evaluate, evaluate_files
from vistool.io import rle
from vistool.io.ytvis import (ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo, load_dataset,
                              load_results, parse_results, write_dataset, write_results)
from vistool.io.ytvis_schema import read_json

ROOT = Path(__file__).resolve().parents[2]
needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")


def box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> dict:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return rle.encode(m)


def random_problem(seed: int, videos: int = 12, frames: int = 5, h: int = 12, w: int = 16):
    """Ground truth of 1-3 moving boxes per video and perturbed / false predictions, some absent frames."""
    rng = np.random.default_rng(seed)
    gt = YtvisDataset(videos=[YtvisVideo(v, w, h, frames) for v in range(1, videos + 1)],
                      categories=[YtvisCategory(c, f"c{c}") for c in (1, 2, 3)])
    results = []

    def track(y, x, dy, dx):
        out = []
        for t in range(frames):
            if rng.random() < 0.15:
                out.append(None)
                continue
            y0, x0 = int(np.clip(y + dy * t, 0, h - 2)), int(np.clip(x + dx * t, 0, w - 2))
            out.append(box(h, w, y0, y0 + int(rng.integers(1, 5)), x0, x0 + int(rng.integers(1, 6))))
        return out

    for v in range(1, videos + 1):
        for _ in range(int(rng.integers(1, 4))):
            cat, y, x, dy, dx = int(rng.integers(1, 4)), *rng.integers(0, 8, 2), *rng.integers(-1, 2, 2)
            gt.annotations.append(YtvisAnnotation.from_segmentations(len(gt.annotations) + 1, v, cat,
                                                                     track(y, x, dy, dx)))
            for _ in range(int(rng.integers(1, 3))):
                results.append(ResultTrack(v, cat if rng.random() < 0.8 else int(rng.integers(1, 4)),
                                           float(rng.choice([0.3, 0.5, 0.9])), track(y, x, dy, dx)))
    return gt, results


@needs_fork
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluation_over_worker_processes_gives_exactly_the_single_process_numbers(seed):
    gt, results = random_problem(seed)
    one = evaluate(gt, results, workers=1)
    for workers in (2, 3):
        many = evaluate(gt, results, workers=workers)
        assert many.stats == one.stats
        np.testing.assert_array_equal(many.precision, one.precision)
        np.testing.assert_array_equal(many.recall, one.recall)
        assert [c.stats for c in many.per_category] == [c.stats for c in one.per_category]
    assert 0 < one.stats["AP"] < 1


@needs_fork
def test_a_bad_mask_in_a_worker_gives_the_error_of_the_first_bad_video_in_order():
    gt, results = random_problem(3)
    bad = box(4, 4, 0, 1, 0, 1)                                     # not the video's 12x16
    for video_id in (9, 4):
        track = next(r for r in results if r.video_id == video_id)
        track.segmentations[0] = bad
    with pytest.raises(InputError) as serial:
        evaluate(gt, results, workers=1)
    with pytest.raises(InputError) as parallel:
        evaluate(gt, results, workers=2)
    assert str(parallel.value) == str(serial.value)
    assert "video 4" in str(serial.value)


@needs_fork
def test_map_in_order_keeps_job_order_and_raises_the_first_failure():
    assert map_in_order(lambda x: x * x, list(range(40)), workers=2) == [x * x for x in range(40)]

    def fails_on_odd(x):
        if x % 2:
            raise ValueError(f"odd {x}")
        return x

    with pytest.raises(ValueError, match="odd 1"):
        map_in_order(fails_on_odd, list(range(10)), workers=3)


def test_automatic_workers_stay_in_this_process_for_small_work():
    assert resolve_workers(None, num_jobs=50, num_masks=100) == 1
    assert resolve_workers(4, num_jobs=2, num_masks=10 ** 6) <= 2
    with pytest.raises(ValueError):
        resolve_workers(-1, 1, 1)


def test_evaluate_files_gives_the_numbers_of_evaluate_on_the_same_objects(tmp_path):
    gt, results = random_problem(4)
    write_dataset(tmp_path / "gt.json", gt)
    write_results(tmp_path / "r.json", results)
    from_files = evaluate_files(tmp_path / "gt.json", tmp_path / "r.json", workers=1)
    assert from_files.stats == evaluate(gt, results, workers=1).stats


# ------------------------------------------------------------------ validation once per file

GOOD = {"size": [2, 3], "counts": "06"}                       # all 6 pixels background


def results_file(tmp_path: Path, tracks: list[dict]) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(tracks))
    return path


def one_video_dataset() -> YtvisDataset:
    return YtvisDataset(videos=[YtvisVideo(1, 3, 2, 3)], categories=[YtvisCategory(1, "a")])


def entry(*segs, video_id=1, score=0.5) -> dict:
    return {"video_id": video_id, "category_id": 1, "score": score, "segmentations": list(segs)}


@pytest.mark.parametrize("tracks, message", [
    ([entry(GOOD, {"size": [2, 3], "counts": "0~"}, None)],
     "$[0].segmentations[1].counts: not a COCO compressed RLE string"),
    # a bad string before another kind of problem: the bad string is named, as a mask-by-mask check does
    ([entry(GOOD, GOOD, GOOD), entry(GOOD, {"size": [2, 3], "counts": "a b"}, None), entry(GOOD, None, None, None)],
     "$[1].segmentations[1].counts: not a COCO compressed RLE string"),
    # the other problem first: it is named
    ([entry(GOOD, None), entry(GOOD, {"size": [2, 3], "counts": "0~"}, None)],
     "$[0].segmentations: has 2 entries, the video has 3 frames"),
    ([entry(GOOD, GOOD, {"size": [3, 2], "counts": "06"})],
     "$[0].segmentations[2].size: RLE size [3, 2] does not match the video size [2, 3] (height, width)"),
    ([entry(GOOD, GOOD, {"size": [2, 3], "counts": "06", "extra": 1}), entry(GOOD, GOOD, {"counts": "06"})],
     "$[1].segmentations[2]: missing key 'size'"),
])
def test_results_with_a_problem_give_the_first_problem_in_file_order(tmp_path, tracks, message):
    path = results_file(tmp_path, tracks)
    with pytest.raises(FormatError) as err:
        load_results(path, dataset=one_video_dataset())
    assert str(err.value) == f"{path}: {message}"


def test_a_bad_rle_string_in_the_ground_truth_is_named(tmp_path):
    gt = one_video_dataset()
    gt.annotations.append(YtvisAnnotation(1, 1, 1, [GOOD, None, {"size": [2, 3], "counts": "0\u00e9"}],
                                          [0.0, None, 1.0], [[0, 0, 0, 0], None, [0, 0, 1, 1]]))
    write_dataset(tmp_path / "gt.json", gt)
    with pytest.raises(FormatError, match=r"\$\.annotations\[0\]\.segmentations\[2\]\.counts: not a COCO"):
        load_dataset(tmp_path / "gt.json")


def test_valid_results_come_back_as_fresh_rle_dicts_without_extra_keys(tmp_path):
    path = results_file(tmp_path, [entry(GOOD, None, {"size": [2, 3], "counts": "06", "note": "x"})])
    track = load_results(path, dataset=one_video_dataset())[0]
    assert track.segmentations == [{"size": [2, 3], "counts": "06"}, None, {"size": [2, 3], "counts": "06"}]


def test_the_deferred_and_the_strict_checks_accept_the_same_data():
    data = [entry(GOOD, None, GOOD), entry(None, None, None)]
    assert parse_results(data, dataset=one_video_dataset()) == parse_results(json.loads(json.dumps(data)),
                                                                             dataset=one_video_dataset())


# ------------------------------------------------------------------ the JSON parser and its fallback

@pytest.mark.parametrize("text, message", [
    ('[{"video_id": 1, "category_id": 1, "score": NaN, "segmentations": [null, null, null]}]',
     "$[0].score: expected a finite number, got nan"),
    ('[{"video_id": 1, "category_id": 1, "score": 1e400, "segmentations": [null, null, null]}]',
     "$[0].score: expected a finite number, got inf"),
    ('[{"video_id": 1, "category_id": 1', "$: invalid JSON at line 1 column 34: Expecting ',' delimiter "
                                         "(the file looks truncated)"),
    ("", "$: file is empty, expected the results JSON"),
])
def test_what_the_fast_parser_rejects_is_decided_and_worded_by_the_standard_parser(tmp_path, text, message):
    path = tmp_path / "r.json"
    path.write_text(text)
    with pytest.raises(FormatError) as err:
        load_results(path, dataset=one_video_dataset())
    assert str(err.value) == f"{path}: {message}"


def test_ids_beyond_64_bits_stay_exact(tmp_path):
    big = 123456789012345678901234567890
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"videos": [{"id": big, "width": 3, "height": 2, "length": 1}],
                                "categories": [{"id": 1, "name": "a"}], "annotations": []}))
    assert load_dataset(path).videos[0].id == big
    results = results_file(tmp_path, [{"video_id": big, "category_id": 1, "score": 0.5, "segmentations": [GOOD]}])
    assert load_results(results, dataset=load_dataset(path))[0].video_id == big


def test_read_json_gives_the_standard_library_objects(tmp_path):
    data = {"a": [1, 2.5, None, True, "é", {"b": []}], "a2": -0.0, "c": 10 ** 18}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_json(path, "x") == data == read_json(path, "x", fast=False)


# ------------------------------------------------------------------ start-up of the model commands

def test_torchvision_imported_for_the_bundled_methods_does_not_import_torch_dynamo():
    code = ("import sys\n"
            "from vistool.engine.fast_import import import_torchvision\n"
            "import_torchvision()\n"
            "import torch, torchvision\n"
            "import vistool.methods.rgnnvis, vistool.methods.efficientvis, vistool.models.layers\n"
            "assert 'torch._dynamo' not in sys.modules, 'dynamo imported'\n"
            "boxes = torch.tensor([[0, 0.0, 0.0, 4.0, 4.0]])\n"
            "out = torchvision.ops.roi_align(torch.ones(1, 1, 8, 8), boxes, (2, 2))\n"
            "assert out.shape == (1, 1, 2, 2) and bool((out == 1).all())\n"
            "from torch._dynamo.utils import is_compile_supported\n"          # the real module still imports
            "assert is_compile_supported('cpu') in (True, False)\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_evaluate_as_a_process_prints_its_table_and_writes_json_before_its_quick_exit(tmp_path):
    gt, results = random_problem(5, videos=3)
    write_dataset(tmp_path / "gt.json", gt)
    write_results(tmp_path / "r.json", results)
    proc = subprocess.run([sys.executable, "-m", "vistool", "evaluate", str(tmp_path / "gt.json"),
                           str(tmp_path / "r.json"), "--json", str(tmp_path / "m.json")], cwd=ROOT,
                          capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert "AR100" in proc.stdout and proc.stdout.rstrip().endswith(f"wrote {tmp_path / 'm.json'}")
    assert json.loads((tmp_path / "m.json").read_text())["AP"] == pytest.approx(evaluate(gt, results).stats["AP"])


def test_evaluation_imports_no_torch():
    code = ("import sys\n"
            "import vistool.cli, vistool.cli.evaluate, vistool.eval.ytvis, vistool.eval.parallel, vistool.io.ytvis\n"
            "print('torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stderr[-2000:]
