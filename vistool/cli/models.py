"""``vistool models``: the methods and the bundled weights with their measured metrics."""

from __future__ import annotations

import click

WIDE = 200  # columns of the tables when stdout is not a terminal


@click.command("models")
@click.option("--config", "show_config", metavar="METHOD|FILE", default=None,
              help="Print the full config of a method's bundled weights or of a checkpoint file as YAML: "
                   "every key that 'track --set KEY=VALUE' can change.")
def models(show_config: str | None) -> None:
    """List methods and bundled weights (from weights/manifest.json) with measured metrics.

    \b
    Example:
      vistool models --config rgnnvis     # the keys for: vistool track ... --set KEY=VALUE
    """
    if show_config is not None:
        _print_config(show_config)
        return
    from rich.table import Table

    from vistool.cli import echo_console
    from vistool.methods import METHODS, load_module
    from vistool.weights import read_manifest

    entries = read_manifest()
    console = echo_console()
    if not console.is_terminal:
        console.width = WIDE  # a pipe or a file has no width: do not squeeze the tables into 80 columns
    methods = Table(title="Methods")
    for column in ("method", "mode", "available", "bundled weights", "description"):
        _add_column(methods, column, whole=column in ("method", "mode"))
    for name, spec in METHODS.items():
        try:
            load_module(name)
            available = "yes"
        except Exception as exc:  # noqa: BLE001 - a broken method must not hide the others
            available = f"import error ({type(exc).__name__})"
        count = sum(e["method"] == name for e in entries)
        methods.add_row(name, "online" if spec.online else "clip-level", available, str(count) if count else "-",
                        spec.title)
    console.print(methods)
    weights = Table(title="Bundled weights", caption="training data and commands: weights/manifest.json")
    for column in ("file", "data", "metrics", "sha256"):
        _add_column(weights, column, whole=column in ("file", "data", "sha256"))
    for e in entries:
        metrics = "\n".join(f"{k} {v:.3f}" if isinstance(v, (int, float)) else f"{k} {v}"
                            for k, v in (e.get("metrics") or {}).items())
        method = e["method"] + (", default" if e.get("default") else "")
        data = str(e.get("data", "")).split(" (")[0]  # the data spec; how it was made is in the manifest
        weights.add_row(f"{e['file']}\n{method}", data, metrics or "-", e["sha256"][:12])
    if entries:
        console.print(weights)
    else:
        console.print("No bundled weights yet; train with 'vistool train' and pass --weights PATH.")


def _add_column(table, header: str, whole: bool) -> None:
    """A column that never cuts its text with an ellipsis: identifiers stay on one line (``whole``),
    other text wraps, and words longer than the column fold onto the next line."""
    table.add_column(header, no_wrap=whole, overflow="fold")


def _print_config(name: str) -> None:
    """The full config of ``name`` (a method's default bundled file, or a checkpoint path) on stdout."""
    from pathlib import Path

    import yaml

    from vistool.errors import InputError
    from vistool.methods import METHODS
    from vistool.methods.build import full_config
    from vistool.weights import default_weights, read_checkpoint

    if Path(name).is_file():
        path = Path(name)
    elif name in METHODS:
        path = default_weights(name)
    else:
        raise InputError(f"--config {name}: neither a method ({', '.join(METHODS)}) nor a checkpoint file")
    data = read_checkpoint(path)
    click.echo(f"# method: {data['method']}; weights: {path}")
    click.echo(yaml.safe_dump(full_config(data), sort_keys=False, default_flow_style=None).rstrip())
