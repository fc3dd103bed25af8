"""Sharded and concurrent batch runs (issue 20, item 3).

The end-to-end tests run the real CLI in separate processes (plain, ``--shard``,
``torchrun``) with the bundled RGNNVIS++ weights on six 6-frame clips cut from
the demo, one thread each so every process computes the same numbers, and check
that ``export-json`` of every layout gives the same bytes as one process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.video import write_squares_video
from vistool.engine.shard import ClaimBoard, Shard, env_device, env_shard, parse_shard, resolve_shard
from vistool.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo" / "valid" / "JPEGImages"


# ------------------------------------------------------------------ shards from options and launchers


def test_shards_split_a_list_exactly():
    items = list(range(7))
    parts = [Shard(k, 3).select(items) for k in range(3)]
    assert parts == [[0, 3, 6], [1, 4], [2, 5]]


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/2", "0/0"])
def test_a_bad_shard_is_a_one_line_input_error(text):
    with pytest.raises(InputError):
        parse_shard(text)


def test_torchrun_and_slurm_array_environments_give_the_shard():
    assert env_shard({}) == Shard(0, 1)
    assert env_shard({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == Shard(1, 2)
    assert env_shard({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}) == Shard(3, 4)
    assert env_shard({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "2"}) \
        == Shard(3, 4)
    # an array of torchrun jobs: array task 1 of 2, rank 1 of 4 -> part 5 of 8
    env = {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2", "RANK": "1", "WORLD_SIZE": "4"}
    assert env_shard(env) == Shard(5, 8)
    assert resolve_shard("1/3", {"RANK": "1", "WORLD_SIZE": "2"}) == Shard(3, 6)


def test_local_rank_picks_the_gpu_when_cuda_exists():
    env = {"LOCAL_RANK": "3"}
    assert env_device("auto", env, cuda_available=True) == "cuda:3"
    assert env_device("cuda", env, cuda_available=True) == "cuda:3"
    assert env_device("auto", env, cuda_available=False) == "cpu"
    assert env_device("cuda:1", env, cuda_available=True) == "cuda:1"  # an explicit device wins
    assert env_device("auto", {}, cuda_available=True) == "auto"


# ------------------------------------------------------------------ claims


def test_a_claim_is_held_once_and_released(tmp_path):
    board = ClaimBoard(tmp_path)
    claim = board.claim("v")
    assert claim is not None and board.claim("v") is None  # held by a live process (this one)
    claim.release()
    assert not (tmp_path / "v.claim").exists()
    again = board.claim("v")
    assert again is not None
    again.release()


def _dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True, check=True)
    return int(process.stdout)


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over(tmp_path):
    import json

    (tmp_path / "v.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid(),
                                                  "time": time.time()}))
    claim = ClaimBoard(tmp_path).claim("v")
    assert claim is not None and json.loads((tmp_path / "v.claim").read_text())["pid"] == os.getpid()
    claim.release()


def test_a_claim_of_another_host_is_taken_over_only_when_stale(tmp_path):
    import json

    path = tmp_path / "v.claim"
    path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "time": time.time()}))
    board = ClaimBoard(tmp_path, stale_after=60)
    assert board.claim("v") is None  # fresh: its run may still be working
    old = time.time() - 120
    os.utime(path, (old, old))
    claim = board.claim("v")
    assert claim is not None
    claim.release()


def test_a_held_claim_is_kept_fresh_by_its_heartbeat(tmp_path):
    board = ClaimBoard(tmp_path, stale_after=60, heartbeat_s=0.05)
    claim = board.claim("v")
    old = time.time() - 120
    os.utime(tmp_path / "v.claim", (old, old))
    time.sleep(0.3)
    assert time.time() - (tmp_path / "v.claim").stat().st_mtime < 5
    claim.release()


def test_track_leaves_a_video_claimed_by_a_live_run_to_that_run(tmp_path, run_cli, stub_model, caplog):
    import json

    write_squares_video(tmp_path / "in" / "a.mp4")
    write_squares_video(tmp_path / "in" / "b.mp4")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(),
                                                          "time": time.time()}))
    run = run_cli("track", tmp_path / "in", "-o", tmp_path / "out")
    assert run.code == 0, run.stderr
    assert not (tmp_path / "out" / "a.json").exists() and (tmp_path / "out" / "b.json").exists()
    assert "left 1 videos to other runs" in caplog.text


def test_a_sharded_run_into_one_file_stops_before_work(tmp_path, run_cli, stub_model):
    write_squares_video(tmp_path / "a.mp4")
    run = run_cli("track", tmp_path / "a.mp4", "-o", tmp_path / "one.json", "--shard", "0/2")
    assert run.code != 0 and "needs an output folder" in run.stderr and stub_model.requested_methods == []


def test_shards_in_process_cover_every_video_once(tmp_path, run_cli, stub_model):
    for k in range(5):
        write_squares_video(tmp_path / "in" / f"v{k}.mp4", num_frames=3, squares=1 + k % 2)
    done = []
    for k in range(2):
        run = run_cli("track", tmp_path / "in", "-o", tmp_path / "out", "--shard", f"{k}/2")
        assert run.code == 0, run.stderr
        done.append(sorted(line.split(":")[0][5:] for line in run.stderr.splitlines() if line.startswith("done ")))
    assert done == [["v0", "v2", "v4"], ["v1", "v3"]]
    names = sorted(p.name for p in (tmp_path / "out").glob("v*.json") if not p.name.endswith(".meta.json"))
    assert names == [f"v{k}.json" for k in range(5)]
    assert not list((tmp_path / "out").glob("*.claim"))


# ------------------------------------------------------------------ separate processes, bundled weights


@pytest.fixture(scope="module")
def six_clips(tmp_path_factory) -> Path:
    """Six 6-frame clips cut from the demo's frames (MP4)."""
    from vistool.io.video import write_video
    from vistool.io.video_images import read_image_rgb

    folder = tmp_path_factory.mktemp("clips") / "in"
    for k in range(6):
        video, first = f"demo_{k % 3}", 6 * (k // 3)
        frames = [read_image_rgb(str(DEMO / video / f"{t:05d}.jpg")) for t in range(first, first + 6)]
        write_video(str(folder / f"clip{k}.mp4"), frames, fps=10.0)
    return folder


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"):
        env.pop(name, None)
    return env


TRACK = ["track", "--method", "rgnnvis", "--device", "cpu"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out + err


def _export(out_dir: Path) -> bytes:
    """``vistool export-json OUT_DIR -o results.json`` (in this process) and the bytes written."""
    from vistool.cli import main

    main(["export-json", str(out_dir), "-o", str(out_dir.parent / "results.json")])  # exits only on errors
    return (out_dir.parent / "results.json").read_bytes()


@pytest.fixture(scope="module")
def single_process(six_clips, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("single") / "out"
    _finish(_start([sys.executable, "-m", "vistool", *TRACK, str(six_clips), "-o", str(out)], out.parent))
    data = _export(out)
    assert data.count(b'"video_id"') >= 6  # the clips give tracks: the comparisons below are not vacuous
    return data


def test_two_shard_processes_give_the_bytes_of_one_process(six_clips, single_process, tmp_path):
    out = tmp_path / "out"
    runs = [_start([sys.executable, "-m", "vistool", *TRACK, str(six_clips), "-o", str(out), "--shard", f"{k}/2"],
                   tmp_path) for k in range(2)]
    logs = [_finish(run) for run in runs]
    assert [log.count("done clip") for log in logs] == [3, 3]
    assert _export(out) == single_process


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_torchrun_over_two_processes_gives_the_bytes_of_one_process(six_clips, single_process, tmp_path):
    out = tmp_path / "out"
    torchrun = [shutil.which("torchrun"), "--standalone", "--nproc_per_node", "2", "-m", "vistool"]
    log = _finish(_start([*torchrun, *TRACK, str(six_clips), "-o", str(out)], tmp_path))
    assert log.count("done clip") == 6
    assert _export(out) == single_process


def test_two_concurrent_runs_on_one_folder_process_each_video_once(six_clips, single_process, tmp_path):
    out = tmp_path / "out"
    runs = [_start([sys.executable, "-m", "vistool", *TRACK, str(six_clips), "-o", str(out)], tmp_path)
            for _ in range(2)]
    logs = "".join(_finish(run) for run in runs)
    assert sorted(line.split(":")[0] for line in logs.splitlines() if line.startswith("done clip")) == \
        [f"done clip{k}" for k in range(6)]
    assert not list(out.glob("*.claim"))
    assert _export(out) == single_process
