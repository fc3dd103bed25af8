"""Spread independent per-video evaluation jobs over the machine's cores.

Jobs run in forked worker processes, which inherit the jobs from the parent's
memory, so only their (small) outcomes are pickled back. Outcomes come back in
job order and an error is re-raised for the first failing job in that order,
so the result does not depend on the number of workers. Where ``fork`` is not
available (Windows, macOS' default) or the work is small, jobs run in this
process.

Also :func:`gc_paused`: loading and evaluating build hundreds of thousands of
small acyclic objects (per-frame RLE dicts), on which the cyclic garbage
collector only spends time.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
from typing import Any, Callable, Iterator, Sequence

# Below this many per-frame masks in all, starting workers costs more than it saves.
MIN_PARALLEL_MASKS = 20_000

_JOBS: tuple[Callable[[Any], Any], Sequence[Any]] | None = None    # set in the parent, read by forked workers


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int | None, num_jobs: int, num_masks: int) -> int:
    """Worker processes to use: ``workers`` if given (>= 1), else all cores for large work, 1 for small.

    Args:
        workers: None or 0 for automatic, else the number of processes (1 = this process only).
        num_jobs: independent jobs (videos).
        num_masks: per-frame masks in all, a measure of the work.
    """
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if not workers:
        workers = available_cores() if num_masks >= MIN_PARALLEL_MASKS else 1
    return max(1, min(workers, num_jobs))


def map_in_order(func: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> list[Any]:
    """``[func(job) for job in jobs]``, over ``workers`` forked processes when > 1.

    An exception raised by ``func`` is re-raised here for the first failing job in order.
    """
    if workers <= 1 or len(jobs) <= 1:
        return [func(job) for job in jobs]
    global _JOBS
    _JOBS = (func, jobs)
    try:
        chunk = max(1, len(jobs) // (workers * 8))
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            outcomes = pool.map(_run_job, range(len(jobs)), chunksize=chunk)
    finally:
        _JOBS = None
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


def _run_job(index: int) -> tuple[bool, Any]:
    """In a worker: (True, outcome) of job ``index``, or (False, the exception it raised)."""
    func, jobs = _JOBS
    try:
        return True, func(jobs[index])
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it in job order
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that cannot cross processes: keep its words
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        return False, exc


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Turn the cyclic garbage collector off for the block (reference counting still frees memory)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
