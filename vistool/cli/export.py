"""``vistool export-json``: per-video results of ``vistool track`` -> one submission or pre-label file."""

from __future__ import annotations

from pathlib import Path

import click

from vistool.io.export import FORMATS, ExportOptions, export


@click.command("export-json")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="File to write (JSON, or a zip for cvat-mots and --zip).")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="submission", show_default=True,
              help="submission: YouTube-VIS results; prelabel: YouTube-VIS dataset JSON; "
                   "cvat-mots: CVAT MOTS PNG zip; coco: COCO per-frame instances with track ids.")
@click.option("--dataset", type=click.Path(path_type=Path), metavar="GT.json",
              help="YouTube-VIS dataset JSON: take its video ids (matched by name) and category ids, "
                   "check frame counts and report videos without results.")
@click.option("--zip", "zip_output", is_flag=True,
              help="submission: write results.json inside the zip FILE, as the evaluation server expects.")
@click.option("--score-threshold", type=float, default=0.0, show_default=True,
              help="Drop tracks whose score is below this.")
@click.option("--classes-per-track", type=int, default=1, show_default=True, metavar="K",
              help="submission: list each track under up to K categories (its label, then its next-best "
                   "categories by video-level score, when the method gives them); AP is per category, so "
                   "runner-up classes can recover tracks whose first class is wrong.")
@click.option("--classes", default=None, metavar="NAME[,NAME...]",
              help="Keep only the tracks of these categories (comma-separated names, as in the results); "
                   "the category list of the output stays whole.")
@click.option("--with-images", is_flag=True,
              help="prelabel/coco: also write the frames as JPEG beside FILE (JPEGImages/ or images/); "
                   "cvat-mots: put them in the zip. Decodes the source videos again.")
def export_json(out_dir: Path, output: Path, fmt: str, dataset: Path | None, zip_output: bool,
                score_threshold: float, with_images: bool, classes_per_track: int, classes: str | None) -> None:
    """Assemble the per-video result files in OUT_DIR into one file.

    \b
    Examples:
      vistool export-json out/ -o submission.zip --zip --dataset valid/instances.json
      vistool export-json out/ -o prelabels/instances.json --format prelabel --with-images
      vistool export-json out/ -o cvat_mots.zip --format cvat-mots --score-threshold 0.3
      vistool export-json out/ -o cars.json --format prelabel --classes car,truck
    """
    options = ExportOptions(format=fmt, dataset=dataset, zip=zip_output, score_threshold=score_threshold,
                            with_images=with_images, classes_per_track=classes_per_track,
                            classes=_class_names(classes))
    summary = export(out_dir, output, options)
    click.echo(f"wrote {summary.output} ({summary.format}): {summary.videos} videos, {summary.tracks} tracks")


def _class_names(value: str | None) -> tuple[str, ...]:
    """``--classes a,b`` -> ``("a", "b")``; None -> ``()`` (all classes)."""
    if value is None:
        return ()
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise click.BadParameter("give at least one category name", param_hint="--classes")
    return names
