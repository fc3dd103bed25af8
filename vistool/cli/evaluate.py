"""``vistool evaluate GT.json RESULTS.json``: YouTube-VIS / OVIS AP and AR."""

from __future__ import annotations

import click

from vistool.cli import echo_console

DESCRIPTIONS = {
    "AP": "IoU=.50:.95  area=all     maxDets=100", "AP50": "IoU=.50      area=all     maxDets=100",
    "AP75": "IoU=.75      area=all     maxDets=100", "APs": "IoU=.50:.95  area=small   maxDets=100",
    "APm": "IoU=.50:.95  area=medium  maxDets=100", "APl": "IoU=.50:.95  area=large   maxDets=100",
    "AR1": "IoU=.50:.95  area=all     maxDets=1", "AR10": "IoU=.50:.95  area=all     maxDets=10",
    "AR100": "IoU=.50:.95  area=all     maxDets=100", "ARs": "IoU=.50:.95  area=small   maxDets=100",
    "ARm": "IoU=.50:.95  area=medium  maxDets=100", "ARl": "IoU=.50:.95  area=large   maxDets=100",
    "AP_light": "occlusion=light (AP_SO)", "AP_medium": "occlusion=medium (AP_MO)",
    "AP_heavy": "occlusion=heavy (AP_HO)", "AR_light": "occlusion=light", "AR_medium": "occlusion=medium",
    "AR_heavy": "occlusion=heavy",
}
PER_CATEGORY_KEYS = ("AP", "AP50", "AP75", "AR1", "AR10", "AR100")


@click.command("evaluate")
@click.argument("gt", metavar="GT.json")
@click.argument("results", metavar="RESULTS.json")
@click.option("--json", "json_out", metavar="OUT", help="Also write the stats as one flat JSON object to OUT.")
@click.option("--per-category", is_flag=True, help="Add a table with AP/AR of every category.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes for the per-video work; 0 = every core when the problem is large.")
def evaluate(gt: str, results: str, json_out: str | None, per_category: bool, workers: int) -> None:
    """YouTube-VIS / OVIS video AP and AR of RESULTS.json against the ground truth GT.json.

    Gives the official evaluator's numbers (AP, AP50, AP75, APs, APm, APl, AR1,
    AR10, AR100, ARs, ARm, ARl, plus AP/AR by occlusion when GT.json has OVIS
    occlusion labels). -1 means no ground truth in that range.

    \b
    Examples:
      vistool evaluate valid/instances.json results.json
      vistool eval valid/instances.json results.json --json metrics.json --per-category
    """
    from vistool.errors import InputError
    from vistool.eval.ytvis import evaluate_files
    from vistool.io.atomic import write_json

    console = echo_console()
    with console.status("Evaluating…"):
        result = evaluate_files(gt, results, workers=workers)
    console.print(_stats_table(result))
    if per_category:
        console.print(_category_table(result))
    if json_out:
        try:
            write_json(json_out, result.to_flat_json(), indent=2)
        except OSError as exc:
            raise InputError(f"{json_out}: cannot write the --json file ({exc.strerror or exc})") from None
        console.print(f"wrote {json_out}")


def _fmt(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if value > -1 else "-1"


def _stats_table(result):
    from rich.table import Table

    seconds = sum(result.timings.values())
    table = Table(title="YouTube-VIS metrics" + (" (OVIS occlusion)" if result.occlusion else ""),
                  caption=f"-1: no ground truth in that range; {seconds:.2f} s")
    table.add_column("metric")
    table.add_column("setting")
    table.add_column("value", justify="right")
    for key, value in result.stats.items():
        table.add_row(key, DESCRIPTIONS.get(key, ""), _fmt(value))
    return table


def _category_table(result):
    from rich.table import Table

    table = Table(title="Per category")
    table.add_column("id", justify="right")
    table.add_column("category", min_width=10, overflow="fold")
    for name in ("GT", "pred", *PER_CATEGORY_KEYS):
        table.add_column(name, justify="right", no_wrap=True)
    for cat in result.per_category:
        table.add_row(str(cat.category_id), cat.name, str(cat.num_gt), str(cat.num_results),
                      *(_fmt(cat.stats[key], 3) for key in PER_CATEGORY_KEYS))
    return table
