"""Metrics: YouTube-VIS / OVIS video AP and AR (:mod:`vistool.eval.ytvis`)."""

from vistool.eval.ytvis import CategoryResult, EvalResult, evaluate, evaluate_files

__all__ = ["CategoryResult", "EvalResult", "evaluate", "evaluate_files"]
