"""The ``vistool`` command group.

Each subcommand lives in its own module of this package and is imported only
when it runs, so ``vistool --help`` stays fast. Library errors
(:class:`vistool.errors.VistoolError`) and usage errors become one line on
stderr and a non-zero exit; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from vistool import __version__
from vistool.errors import VistoolError

# name -> (module, attribute, one-line help). Aliases map to the same command.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "track": ("vistool.cli.track", "track", "Detect, segment and track instances in videos."),
    "segment": ("vistool.cli.track", "segment", "Per-frame instances without tracking."),
    "evaluate": ("vistool.cli.evaluate", "evaluate", "YouTube-VIS / OVIS AP and AR against ground truth."),
    "export-json": ("vistool.cli.export", "export_json", "Assemble per-video results into submission or pre-label files."),
    "render": ("vistool.cli.render", "render", "Draw a results file onto its video."),
    "train": ("vistool.cli.train", "train", "Train a method on a dataset or synthetic data."),
    "pretrain": ("vistool.cli.pretrain", "pretrain",
                 "Pretrain a backbone on per-pixel categories (offline ImageNet substitute)."),
    "synth": ("vistool.cli.synth", "synth", "Generate the synthetic VIS benchmark."),
    "models": ("vistool.cli.models", "models", "List methods and bundled weights."),
}
ALIASES = {"eval": "evaluate"}
# Commands whose process ends at once when they succeed (see _exit_now): they leave nothing to clean up.
QUICK_EXIT = {"track", "segment", "evaluate"}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        name = ALIASES.get(name, name)
        if name not in COMMANDS:
            return None
        module_name, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, text) for name, (_, _, text) in COMMANDS.items()]
        rows.append(("eval", "Alias of 'evaluate'."))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="vistool")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """vistool: video instance segmentation, tracking and evaluation.

    \b
    Examples:
      vistool track video.mp4 --method efficientvis -o out.json --overlay out.mp4
      vistool evaluate valid/instances.json out.json
      vistool synth data/synth --split valid --videos 50 --seed 7
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m vistool``."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="vistool", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.UsageError as exc:
        if debug:
            raise
        command = exc.ctx.command_path if exc.ctx is not None else "vistool"
        _fail(f"{exc.format_message()} (see '{command} --help')", exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        _fail(exc.format_message(), exc.exit_code)
    except VistoolError as exc:
        if debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, details with --debug
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)", 1)
    if argv is None and ALIASES.get(_command_name(args), _command_name(args)) in QUICK_EXIT:
        _exit_now()


def _command_name(args: list[str]) -> str | None:
    """The subcommand of a command line (the first word that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)


def _exit_now() -> None:
    """End the process after a successful command without tearing down the interpreter.

    Outputs are written and closed by then (atomically); logs and the standard
    streams are flushed here. Freeing torch's and the model's millions of objects
    one by one at exit would take about a second.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def echo_console() -> Any:
    """A rich console on stdout (lazy import keeps start-up fast)."""
    from rich.console import Console

    return Console()
