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
@click.option("--json", "json_out", metavar="OUT", help="Also write the stats as JSON to OUT: the AP stats as one flat object, plus "
                   "\"hota\" / \"identity\" objects with --metrics.")
@click.option("--per-category", is_flag=True, help="Add a table with AP/AR of every category.")
@click.option("--metrics", "metrics_text", default="ap", show_default=True, metavar="LIST",
              help="Comma-separated: ap (YouTube-VIS AP/AR), hota (HOTA, DetA, AssA, LocA through TrackEval), "
                   "identity (ID switches, fragments, split tracks per video).")
@click.option("--per-video", is_flag=True, help="With identity: list every video, not only the 5 worst.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes for the per-video work; 0 = every core when the problem is large.")
def evaluate(gt: str, results: str, json_out: str | None, per_category: bool, metrics_text: str,
             per_video: bool, workers: int) -> None:
    """YouTube-VIS / OVIS video AP and AR of RESULTS.json against the ground truth GT.json.

    Gives the official evaluator's numbers (AP, AP50, AP75, APs, APm, APl, AR1,
    AR10, AR100, ARs, ARm, ARl, plus AP/AR by occlusion when GT.json has OVIS
    occlusion labels). -1 means no ground truth in that range.

    --metrics adds frame-level tracking metrics: HOTA with its detection,
    association and localisation parts (class-averaged, detection-averaged,
    class-agnostic), and identity errors a reviewer of pre-labels fixes by hand
    (ID switches, fragmentations, ground-truth tracks split over two or more
    predicted tracks), in total and for the 5 worst videos. With --json, the
    AP stats stay flat at the top level and "hota" / "identity" objects (per
    category and per video too) are added.

    \b
    Examples:
      vistool evaluate valid/instances.json results.json
      vistool eval valid/instances.json results.json --json metrics.json --per-category
      vistool evaluate valid/instances.json results.json --metrics ap,hota,identity
    """
    from vistool.errors import InputError
    from vistool.eval.ytvis import evaluate_files
    from vistool.io.atomic import write_json

    from vistool.eval.combined import parse_metrics

    metrics = parse_metrics(metrics_text)
    console = echo_console()
    if metrics != ("ap",):
        payload = _evaluate_more(console, gt, results, metrics, per_category, per_video, workers)
    else:
        with console.status("Evaluating…"):
            result = evaluate_files(gt, results, workers=workers)
        console.print(_stats_table(result))
        if per_category:
            console.print(_category_table(result))
        payload = result.to_flat_json()
    if json_out:
        try:
            write_json(json_out, payload, indent=2)
        except OSError as exc:
            raise InputError(f"{json_out}: cannot write the --json file ({exc.strerror or exc})") from None
        console.print(f"wrote {json_out}")


def _evaluate_more(console, gt: str, results: str, metrics: tuple[str, ...], per_category: bool,
                   per_video: bool, workers: int = 0) -> dict:
    """AP (if asked) plus HOTA / identity tables; returns the --json payload."""
    from vistool.cli.evaluate_tables import hota_table, identity_tables
    from vistool.eval.combined import evaluate_metrics

    with console.status("Evaluating…"):
        ev = evaluate_metrics(gt, results, metrics, workers)
    if ev.ap is not None:
        ev.ap.timings["load"] = ev.timings["load"]
        console.print(_stats_table(ev.ap))
        if per_category:
            console.print(_category_table(ev.ap))
    if ev.hota is not None:
        console.print(hota_table(ev.hota))
    if ev.identity is not None:
        for table in identity_tables(ev.identity, per_video=per_video):
            console.print(table)
    return ev.to_json()


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
