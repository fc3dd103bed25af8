"""``vistool models``: the methods and the bundled weights with their measured metrics."""

from __future__ import annotations

import click


@click.command("models")
def models() -> None:
    """List methods and bundled weights (from weights/manifest.json) with measured metrics."""
    from rich.table import Table

    from vistool.cli import echo_console
    from vistool.errors import MethodError
    from vistool.methods import METHODS, load_module
    from vistool.weights import read_manifest

    entries = read_manifest()
    console = echo_console()
    methods = Table(title="Methods")
    for column in ("method", "mode", "available", "bundled weights", "description"):
        methods.add_column(column)
    for name, spec in METHODS.items():
        try:
            load_module(name)
            available = "yes"
        except MethodError:
            available = "not yet"
        except Exception as exc:  # noqa: BLE001 - a broken method must not hide the others
            available = f"import error ({type(exc).__name__})"
        count = sum(e["method"] == name for e in entries)
        methods.add_row(name, "online" if spec.online else "clip-level", available, str(count) if count else "-",
                        spec.title)
    console.print(methods)
    weights = Table(title="Bundled weights")
    for column in ("method", "file", "data", "metrics", "sha256"):
        weights.add_column(column)
    for e in entries:
        metrics = ", ".join(f"{k} {v:.3f}" if isinstance(v, (int, float)) else f"{k} {v}"
                            for k, v in (e.get("metrics") or {}).items())
        name = e["file"] + (" (default)" if e.get("default") else "")
        weights.add_row(e["method"], name, str(e.get("data", "")), metrics or "-", e["sha256"][:12])
    if entries:
        console.print(weights)
    else:
        console.print("No bundled weights yet; train with 'vistool train' and pass --weights PATH.")
