"""``vistool render``: draw an existing results file onto its video (thin wrapper of :mod:`vistool.viz.render`)."""

from __future__ import annotations

import click

from vistool.viz.result_overlay import DEFAULT_FOLDER_FPS, overlay_fps


@click.command(help="""Draw a results file onto its video as an H.264 MP4.

\b
RESULTS is a YouTube-VIS results JSON (list of {video_id, category_id, score,
segmentations}) or a per-video result file written by 'vistool track'.

\b
Examples:
  vistool render results.json --video clip.mp4 -o clip_overlay.mp4
  vistool render results.json --video-id 12 --categories valid/instances.json -o v12.mp4
  vistool render out/clip.json -o clip_overlay.mp4
""")
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--video", "video", default=None,
              help="Video file, frame folder or glob the results belong to (default: the source recorded in a "
                   "vistool result, or JPEGImages/ beside --categories).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="Output .mp4 file.")
@click.option("--video-id", type=int, default=None, help="Video to draw when the results cover several.")
@click.option("--categories", type=click.Path(dir_okay=False), default=None,
              help="YouTube-VIS dataset JSON naming the categories (default names: cat<id>).")
@click.option("--score-threshold", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Do not draw tracks scoring below this.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=None,
              help=f"Output frame rate (default: the source's / stride, as 'track --overlay' writes; "
                   f"{DEFAULT_FOLDER_FPS:g} for frame folders, which carry none).")
@click.option("--alpha", type=click.FloatRange(0, 1), default=0.45, show_default=True, help="Mask opacity.")
@click.option("--no-boxes", is_flag=True, help="Do not draw boxes.")
@click.option("--no-labels", is_flag=True, help="Do not draw class names, scores and ids.")
def render(results: str, video: str | None, output: str, video_id: int | None, categories: str | None,
           score_threshold: float, fps: float | None, alpha: float, no_boxes: bool, no_labels: bool) -> None:
    from vistool.cli.progress import RichReporter
    from vistool.viz.overlay import OverlayStyle
    from vistool.viz.render import check_size, load_job, open_frames, render_video

    job = load_job(results, video_id, categories, score_threshold)
    info, frames = open_frames(job, video)
    check_size(job, info, results)
    out_fps = fps or overlay_fps(info.fps, job.stride)
    style = OverlayStyle(alpha=alpha, boxes=not no_boxes, labels=not no_labels)
    reporter = RichReporter()
    with reporter:
        reporter.start_video(info.name, job.num_frames)
        written = render_video(job, info, frames, output, out_fps, style, on_frame=lambda: reporter.advance(1))
        reporter.end_video(info.name, True, f"{written} frames")
    for note in job.notes:
        click.echo(f"warning: {note}", err=True)
    if job.num_frames is not None and written < job.num_frames:
        click.echo(f"warning: the video has {written} frames, the results {job.num_frames}; "
                   "only the first were drawn", err=True)
    click.echo(f"wrote {output} ({written} frames, {info.width}x{info.height}, {out_fps:g} fps, "
               f"{len(job.tracks)} tracks)")
