"""Bad input never crashes: one line on stderr, exit code != 0, no output file written.

Each case builds its bad input in a temporary folder and runs the real entry
point (``vistool.cli.main``) in process; track commands use the stub model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.video import write_squares_split, write_squares_video


def _truncated_mp4(tmp: Path) -> Path:
    import numpy as np

    from vistool.io.video import write_video

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(30)]
    path = tmp / "cut.mp4"
    write_video(str(path), frames, 10.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _gt_and_results(tmp: Path) -> tuple[Path, list]:
    gt = write_squares_split(tmp / "valid", num_videos=1, num_frames=3)
    data = json.loads(gt.read_text())
    results = [{"video_id": 10, "category_id": 1, "score": 0.5, "segmentations": [
        a for a in data["annotations"][0]["segmentations"]]}]
    return gt, results


def _write(tmp: Path, name: str, content) -> Path:
    path = tmp / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _eval_case(mutate_gt=None, mutate_results=None, raw_gt=None, raw_results=None):
    def build(tmp: Path) -> list:
        gt, results = _gt_and_results(tmp)
        if raw_gt is not None:
            gt = _write(tmp, "gt_bad.json", raw_gt)
        elif mutate_gt is not None:
            data = json.loads(gt.read_text())
            mutate_gt(data)
            gt = _write(tmp, "gt_bad.json", data)
        if raw_results is not None:
            res = _write(tmp, "res.json", raw_results)
        else:
            if mutate_results is not None:
                mutate_results(results)
            res = _write(tmp, "res.json", results)
        return ["evaluate", gt, res, "--json", tmp / "out.json"]
    return build


def _track(make_input) -> callable:
    def build(tmp: Path) -> list:
        return ["track", make_input(tmp), "-o", tmp / "out.json"]
    return build


def _set(path: list, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


CASES = {
    "missing video": _track(lambda t: t / "nope.mp4"),
    "empty video file": _track(lambda t: _write(t, "empty.mp4", "")),
    "not a video": _track(lambda t: _write(t, "text.mp4", "hello, I am not a video")),
    "truncated video": _track(_truncated_mp4),
    "zero-frame video": _track(lambda t: (t / "zero.y4m").write_bytes(
        b"YUV4MPEG2 W64 H48 F10:1 Ip A1:1 C420jpeg\n") and t / "zero.y4m"),
    "folder without images": _track(lambda t: (t / "nothing").mkdir() or t / "nothing"),
    "glob matching nothing": _track(lambda t: str(t / "frames" / "*.jpg")),
    "several videos segmented to one json": lambda t: ["segment", write_squares_video(t / "a.mp4") and t / "a.mp4",
                                                       write_squares_video(t / "b.mp4") and t / "b.mp4",
                                                       "-o", t / "out.json"],
    "stride zero": lambda t: ["track", t / "a.mp4", "--stride", "0", "-o", t / "out.json"],
    "cuda without a GPU": lambda t: ["track", write_squares_video(t / "a.mp4") and t / "a.mp4",
                                     "--device", "cuda:0", "-o", t / "out.json"],
    "gt missing": lambda t: ["evaluate", t / "gt.json", _write(t, "r.json", []), "--json", t / "out.json"],
    "gt empty file": _eval_case(raw_gt=""),
    "gt truncated json": _eval_case(raw_gt='{"videos": [{"id": 1, "width": 6'),
    "gt wrong schema": _eval_case(mutate_gt=_set(["videos"], {"id": 1})),
    "gt unknown category id": _eval_case(mutate_gt=_set(["annotations", 0, "category_id"], 99)),
    "gt unknown video id": _eval_case(mutate_gt=_set(["annotations", 0, "video_id"], 99)),
    "results not a list": _eval_case(raw_results='{"video_id": 10}'),
    "results truncated json": _eval_case(raw_results='[{"video_id": 10, "categ'),
    "results for another dataset": _eval_case(mutate_results=lambda r: r[0].update(video_id=12345)),
    "results rle size mismatch": _eval_case(mutate_results=lambda r: r[0]["segmentations"][0].update(
        size=[10, 10])),
    "results frame count mismatch": _eval_case(mutate_results=lambda r: r[0]["segmentations"].pop()),
    "results score not a number": _eval_case(mutate_results=lambda r: r[0].update(score="high")),
    "export from an empty folder": lambda t: ["export-json", (t / "o").mkdir() or t / "o", "-o", t / "out.json"],
    "export a corrupt result file": lambda t: ["export-json", (t / "o").mkdir() or _write(t / "o", "v.json", "{")
                                               and t / "o", "-o", t / "out.json"],
    "render without its video": lambda t: ["render", _write(t, "r.json", []), "--video", t / "none.mp4",
                                           "-o", t / "out.mp4"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_error(case, tmp_path, run_cli, stub_model):
    args = CASES[case](tmp_path)
    run = run_cli(*args)
    lines = run.stderr.strip().splitlines()
    assert run.code != 0, f"{case}: exit code 0"
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{case}: {run.stderr!r}"
    assert "Traceback" not in run.stderr
    out = Path(args[args.index("-o") + 1] if "-o" in args else args[args.index("--json") + 1])
    assert not out.exists(), f"{case}: {out} was written"


def test_one_frame_video_is_fine(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "one.mp4", num_frames=1)
    run = run_cli("track", tmp_path / "one.mp4", "-o", tmp_path / "out.json")
    assert run.code == 0, run.stderr
    assert len(json.loads((tmp_path / "out.json").read_text())[0]["segmentations"]) == 1


def test_debug_lets_the_exception_through(tmp_path):
    from vistool.cli import main
    from vistool.errors import InputError

    with pytest.raises(InputError, match="gt.json"):
        main(["--debug", "evaluate", str(tmp_path / "gt.json"), str(tmp_path / "r.json")])
