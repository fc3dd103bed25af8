"""Rich tables of ``vistool evaluate --metrics hota,identity``."""

from __future__ import annotations

from typing import Any

from vistool.eval.hota import HotaResult, HotaScores
from vistool.eval.identity import IdentityCounts, IdentityReport, VideoIdentity

HOTA_COLUMNS = ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr")   # --json has AssRe / AssPr too
IDENTITY_COLUMNS = (("switches", "IDsw"), ("fragmentations", "frag"), ("split_tracks", "split"),
                    ("merged_predictions", "merged"), ("gt_tracks", "GT"), ("matched_frames", "matched"),
                    ("missed_frames", "missed"))
IDENTITY_CAPTION = ("IDsw: ID switches, frag: fragmentations, split: GT tracks split over 2+ predicted tracks, "
                    "merged: predicted tracks over 2+ GT tracks; matched/missed: GT masks")


def hota_table(result: HotaResult) -> Any:
    """HOTA and its parts: class-averaged, detection-averaged and class-agnostic."""
    from rich.table import Table

    table = Table(title="HOTA (mask IoU, TrackEval)", caption="mean over IoU thresholds 0.05..0.95")
    table.add_column("classes", no_wrap=True)
    for name in HOTA_COLUMNS:
        table.add_column(name, justify="right")
    rows = (("class-averaged", result.class_averaged), ("detection-averaged", result.detection_averaged),
            ("class-agnostic", result.class_agnostic))
    for label, scores in rows:
        table.add_row(label, *_hota_cells(scores))
    return table


def _hota_cells(scores: HotaScores) -> list[str]:
    return [f"{getattr(scores, name):.4f}" for name in HOTA_COLUMNS]


def identity_tables(report: IdentityReport, per_video: bool = False, worst: int = 5) -> list[Any]:
    """Totals (class-aware and class-agnostic), then the worst videos (or every video)."""
    totals = _identity_table("Identity errors (CLEAR-MOT matching, mask IoU >= 0.5)", "", IDENTITY_CAPTION)
    totals.add_row("total, class-aware", *_identity_cells(report.class_aware))
    totals.add_row("total, class-agnostic", *_identity_cells(report.class_agnostic))
    videos = report.videos if per_video else report.worst(worst)
    title = "Per video (class-agnostic)" if per_video else f"{worst} worst videos (class-agnostic switches + fragments)"
    listing = _identity_table(title, "video")
    for video in videos:
        listing.add_row(_video_label(video), *_identity_cells(video.class_agnostic))
    if not videos:
        listing.add_row("(no identity error)", *[""] * len(IDENTITY_COLUMNS))
    return [totals, listing]


def _identity_table(title: str, first: str, caption: str | None = None) -> Any:
    from rich.table import Table

    table = Table(title=title, caption=caption)
    table.add_column(first, min_width=12, overflow="fold")
    for _, header in IDENTITY_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    return table


def _identity_cells(counts: IdentityCounts) -> list[str]:
    return [str(getattr(counts, key)) for key, _ in IDENTITY_COLUMNS]


def _video_label(video: VideoIdentity) -> str:
    return video.name if video.name == str(video.video_id) else f"{video.video_id} {video.name}"
