"""Several metrics of one ground-truth / results pair from a single load: AP, HOTA, identity errors.

Example::

    ev = evaluate_metrics("gt.json", "res.json", ("ap", "hota", "identity"))
    print(ev.ap.stats["AP"], ev.hota.class_averaged.HOTA, ev.identity.class_agnostic.switches)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from vistool.errors import InputError
from vistool.eval.frames import frame_tables
from vistool.eval.hota import HotaResult, hota
from vistool.eval.identity import IdentityReport, identity_report
from vistool.eval.ytvis import EvalResult, evaluate
from vistool.io.ytvis import load_dataset, load_results

METRICS = ("ap", "hota", "identity")


@dataclass
class Evaluation:
    """The metrics asked for (None for those not asked) and seconds spent per step."""

    ap: EvalResult | None
    hota: HotaResult | None
    identity: IdentityReport | None
    timings: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """AP's flat stats at the top level (as with AP alone), then ``hota`` and ``identity`` objects."""
        out: dict[str, Any] = self.ap.to_flat_json() if self.ap is not None else {}
        if self.hota is not None:
            out["hota"] = self.hota.to_json()
        if self.identity is not None:
            out["identity"] = self.identity.to_json()
        return out


def parse_metrics(text: str) -> tuple[str, ...]:
    """``"ap,hota"`` -> ``("ap", "hota")`` in :data:`METRICS` order.

    Raises:
        InputError: an unknown or empty name.
    """
    names = [part.strip().lower() for part in text.split(",")]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise InputError(f"--metrics: unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)} "
                         "(comma-separated)" if unknown else "--metrics: no metric given")
    return tuple(m for m in METRICS if m in names)


def evaluate_metrics(gt_path: str | Path, results_path: str | Path, metrics: Sequence[str],
                     workers: int | None = None) -> Evaluation:
    """Load the pair once and compute the metrics named in ``metrics`` (see :data:`METRICS`); ``workers``
    as in :func:`vistool.eval.ytvis.evaluate`."""
    clock = [time.perf_counter()]
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now

    gt = load_dataset(gt_path)
    results = load_results(results_path, dataset=gt)
    lap("load")
    ap = evaluate(gt, results, workers=workers) if "ap" in metrics else None
    lap("ap")
    tables = frame_tables(gt, results) if {"hota", "identity"} & set(metrics) else None
    lap("frames")
    scores = hota(gt, results, tables) if "hota" in metrics else None
    lap("hota")
    report = identity_report(gt, results, tables) if "identity" in metrics else None
    lap("identity")
    return Evaluation(ap=ap, hota=scores, identity=report, timings=timings)
