"""Splitting a batch over processes, GPUs and machines, and claiming videos in a shared output folder.

Two mechanisms, usable together:

- **Shards** (:class:`Shard`): ``--shard K/N`` keeps the videos at positions
  ``K, K + N, K + 2N, ...`` of the expanded input list, so N runs given the same
  inputs split them exactly. Launchers set it from the environment: ``torchrun``
  (``RANK``/``WORLD_SIZE``; ``LOCAL_RANK`` picks ``cuda:LOCAL_RANK``) and Slurm job
  arrays (``SLURM_ARRAY_TASK_ID``/``SLURM_ARRAY_TASK_COUNT``). Levels compose:
  ``--shard`` splits first, then the array task, then the torchrun rank.
- **Claims** (:class:`ClaimBoard`): before a video is processed into an output
  folder, ``<name>.claim`` is created there with ``O_CREAT | O_EXCL`` (atomic,
  also on NFS v3+) holding host, pid and time; a run that finds a live claim
  skips the video. The holder touches the file while it works; a claim whose
  process is gone (same host, no such pid) or that was not touched for
  ``stale_after`` seconds (another host that died) is taken over. So any number of
  concurrent runs on one folder process each video once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from vistool.errors import InputError

log = logging.getLogger(__name__)

CLAIM_SUFFIX = ".claim"
STALE_AFTER_S = 600.0  # a claim untouched this long belongs to a run that died on another machine
HEARTBEAT_S = 30.0


@dataclass(frozen=True)
class Shard:
    """The part ``index`` of ``count`` equal parts of a list (round robin)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise InputError(f"shard {self.index}/{self.count}: need 0 <= K < N")

    def select(self, items: list) -> list:
        """The items at positions ``index, index + count, ...``."""
        return items[self.index::self.count]

    def then(self, inner: "Shard") -> "Shard":
        """This shard split again into ``inner.count`` parts, keeping part ``inner.index``."""
        return Shard(self.index * inner.count + inner.index, self.count * inner.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"K/N"`` -> Shard(K, N).

    Raises:
        InputError: not of the form K/N with 0 <= K < N.
    """
    parts = str(text).split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"--shard {text}: expected K/N, e.g. 0/4 (the first of four parts)")
    return Shard(int(parts[0]), int(parts[1]))


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(f"${name}={value}: expected an integer") from None


def env_shard(env: Mapping[str, str] | None = None) -> Shard:
    """The shard a launcher asks for: Slurm array task, then torchrun rank (each 0/1 when absent)."""
    env = os.environ if env is None else env
    shard = Shard()
    task, tasks = _env_int(env, "SLURM_ARRAY_TASK_ID"), _env_int(env, "SLURM_ARRAY_TASK_COUNT")
    if task is not None and tasks is not None:
        first = _env_int(env, "SLURM_ARRAY_TASK_MIN") or 0
        if not 0 <= task - first < tasks:
            raise InputError(f"Slurm array task {task} (min {first}) is outside its {tasks} tasks; "
                             "use --array=0-N-1 or give --shard K/N")
        shard = shard.then(Shard(task - first, tasks))
    rank, world = _env_int(env, "RANK"), _env_int(env, "WORLD_SIZE")
    if rank is not None and world is not None and world > 1:
        shard = shard.then(Shard(rank, world))
    return shard


def resolve_shard(option: str | None, env: Mapping[str, str] | None = None) -> Shard:
    """``--shard`` (or all), split further by the launcher's environment."""
    base = parse_shard(option) if option else Shard()
    return base.then(env_shard(env))


def env_device(device: str, env: Mapping[str, str] | None = None, cuda_available: bool | None = None) -> str:
    """``auto``/``cuda`` become ``cuda:LOCAL_RANK`` under a launcher that sets LOCAL_RANK and CUDA exists."""
    env = os.environ if env is None else env
    local = _env_int(env, "LOCAL_RANK")
    if local is None or device not in ("auto", "cuda"):
        return device
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    return f"cuda:{local}" if cuda_available else ("cpu" if device == "auto" else device)


# ------------------------------------------------------------------ claims


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Claim:
    """A held claim: touched every ``HEARTBEAT_S`` seconds by a thread until released."""

    def __init__(self, path: Path, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_s,), daemon=True)
        self._thread.start()

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        """Stop touching the claim and remove it."""
        self._stop.set()
        self._thread.join()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class ClaimBoard:
    """Atomic per-video claims in an output folder shared by concurrent runs."""

    def __init__(self, folder: Path, stale_after: float = STALE_AFTER_S, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.folder = Path(folder)
        self.stale_after = stale_after
        self.heartbeat_s = heartbeat_s
        self.host = socket.gethostname()

    def path(self, name: str) -> Path:
        return self.folder / f"{name}{CLAIM_SUFFIX}"

    def _content(self) -> bytes:
        stamp = {"host": self.host, "pid": os.getpid(), "time": time.time(),
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return json.dumps(stamp).encode()

    def _create(self, path: Path) -> Claim | None:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return None
        with os.fdopen(fd, "wb") as handle:
            handle.write(self._content())
        return Claim(path, self.heartbeat_s)

    def is_stale(self, path: Path) -> tuple[bool, bytes]:
        """Whether the claim at ``path`` belongs to a dead run, and the bytes judged."""
        try:
            data = path.read_bytes()
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False, b""
        if age > self.stale_after:
            return True, data
        try:
            stamp = json.loads(data)
            host, pid = stamp["host"], int(stamp["pid"])
        except (ValueError, KeyError, TypeError):
            return False, data  # being written right now; judged by age only
        return host == self.host and not _pid_alive(pid), data

    def _take_over(self, path: Path, judged: bytes) -> Claim | None:
        """Move a dead claim aside (only one taker wins the rename), check it is the one judged, re-claim."""
        aside = path.with_name(f"{path.name}.{uuid.uuid4().hex}.stale")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return self._create(path)
        try:
            if aside.read_bytes() != judged:  # someone re-claimed in between: give it back
                try:
                    os.link(aside, path)
                except FileExistsError:
                    pass
                return None
        finally:
            aside.unlink(missing_ok=True)
        log.warning("taking over %s from a run that is gone", path)
        return self._create(path)

    def claim(self, name: str) -> Claim | None:
        """Claim video ``name``; None when a live run holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        claim = self._create(path)
        if claim is not None:
            return claim
        stale, judged = self.is_stale(path)
        return self._take_over(path, judged) if stale else None
