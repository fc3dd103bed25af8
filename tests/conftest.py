"""Shared fixtures: in-process CLI runs and the stub model."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys):
    """Run ``vistool ARGS`` in this process through the real entry point; return code and output."""
    from vistool.cli import main

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return CliRun(code, out.out, out.err)

    return run


@pytest.fixture
def stub_model(monkeypatch):
    """Make ``vistool track``/``segment`` run the stub model instead of a real method; the methods asked
    for are appended to ``model.requested_methods``."""
    from tests.helpers.stub_model import StubModel
    import vistool.methods.build as build_mod
    from vistool.methods.build import Provenance

    model = StubModel()
    model.requested_methods = []

    def build(method, weights, device, settings=()):
        model.requested_methods.append(method)
        return model, Provenance(None, None, {"stub": True})

    monkeypatch.setattr(build_mod, "load_model", build)
    return model
