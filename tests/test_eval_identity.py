"""Identity report: exact counts on a crafted case; switches and fragments equal TrackEval's CLEAR."""

from __future__ import annotations

import numpy as np
import pytest

from tests.eval_cases import box_mask, random_case
from vistool.eval.frames import frame_tables
from vistool.eval.hota import trackeval_data
from vistool.eval.identity import IdentityCounts, identity_counts, identity_report
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisCategory, YtvisDataset, YtvisVideo

A, B, C, D = (0, 0, 4, 4), (0, 8, 4, 4), (7, 0, 4, 4), (7, 8, 4, 4)     # four far-apart places, 12 x 16 frames


def track(*spans: tuple[tuple[int, int, int, int] | None, range], length: int = 10) -> list:
    segs: list = [None] * length
    for place, frames in spans:
        for t in frames:
            segs[t] = box_mask(*place)
    return segs


def crafted() -> tuple[YtvisDataset, list[ResultTrack]]:
    """Video 1 (all 10 frames unless said):
    GT1 (cat 1) at A: P1 frames 0-4, P3 frames 5-9                 -> 1 switch, split
    GT2 (cat 1) at B: P2 frames 0-4, P1 frames 5-9                 -> 1 switch, split; P1 merges GT1 and GT2
    GT3 (cat 2) at C, not annotated in 4-5: P4 in 0-3, 6-7, 9      -> 1 fragment (frame 8), the 4-5 gap is none
    GT4 (cat 1) at D: P5 (cat 1) in 0-2 and 5-6, P6 (cat 2) in 7-9 -> 1 fragment, and 1 switch + split only
                                                                      class-agnostic (P6 has another class)
    Video 2: GT at A for 3 frames; Q1 exact in 0, shifted (IoU 2/3) in 1; Q2 exact in 1-2
                                                                   -> Q1 kept in frame 1, 1 switch in frame 2
    Video 3: one GT tracked perfectly.
    """
    g = [YtvisAnnotation.from_segmentations(1, 1, 1, track((A, range(10)))),
         YtvisAnnotation.from_segmentations(2, 1, 1, track((B, range(10)))),
         YtvisAnnotation.from_segmentations(3, 1, 2, track((C, range(4)), (C, range(6, 10)))),
         YtvisAnnotation.from_segmentations(4, 1, 1, track((D, range(10)))),
         YtvisAnnotation.from_segmentations(5, 2, 1, track((A, range(3)), length=3)),
         YtvisAnnotation.from_segmentations(6, 3, 1, track((D, range(10))))]
    shifted = (0, 1, 4, 4)
    results = [ResultTrack(1, 1, 0.9, track((A, range(5)), (B, range(5, 10)))),
               ResultTrack(1, 1, 0.8, track((B, range(5)))),
               ResultTrack(1, 1, 0.7, track((A, range(5, 10)))),
               ResultTrack(1, 2, 0.6, track((C, [0, 1, 2, 3, 6, 7, 9]))),
               ResultTrack(1, 1, 0.5, track((D, [0, 1, 2, 5, 6]))),
               ResultTrack(1, 2, 0.4, track((D, range(7, 10)))),
               ResultTrack(2, 1, 0.9, track((A, [0]), (shifted, [1]), length=3)),
               ResultTrack(2, 1, 0.8, track((A, [1, 2]), length=3)),
               ResultTrack(3, 1, 0.9, track((D, range(10))))]
    videos = [YtvisVideo(v, 16, 12, n, [f"clip{v}/{t:05d}.jpg" for t in range(n)]) for v, n in ((1, 10), (2, 3), (3, 10))]
    return YtvisDataset(videos, [YtvisCategory(1, "car"), YtvisCategory(2, "dog")], g), results


def test_crafted_case_gives_exactly_the_known_counts():
    report = identity_report(*crafted())
    v1, v2, v3 = report.videos
    assert v1.class_agnostic == IdentityCounts(switches=3, fragmentations=2, split_tracks=3, merged_predictions=1,
                                               gt_tracks=4, matched_frames=35, missed_frames=3)
    assert v1.class_aware == IdentityCounts(switches=2, fragmentations=2, split_tracks=2, merged_predictions=1,
                                            gt_tracks=4, matched_frames=32, missed_frames=6)
    assert v2.class_agnostic == v2.class_aware == IdentityCounts(switches=1, split_tracks=1, gt_tracks=1,
                                                                 matched_frames=3)
    assert v3.class_agnostic == IdentityCounts(gt_tracks=1, matched_frames=10)
    assert (report.class_agnostic.switches, report.class_agnostic.fragmentations) == (4, 2)
    assert (report.class_aware.switches, report.class_aware.fragmentations, report.class_aware.split_tracks) == (3, 2, 3)
    assert [v.name for v in report.worst()] == ["clip1", "clip2"]        # clip3 has no identity error
    assert report.to_json()["worst_videos"] == [1, 2]


def test_a_low_iou_prediction_is_no_match():
    gt, results = crafted()
    far = ResultTrack(3, 1, 0.9, track(((0, 2, 4, 4), range(10))))         # IoU 1/3 with the GT at (0, 0)
    gt.annotations[-1].segmentations = track((A, range(10)))
    counts = identity_report(gt, [far]).videos[2].class_agnostic
    assert (counts.matched_frames, counts.missed_frames, counts.switches) == (0, 10, 0)


def with_background(results: list[ResultTrack], gt: YtvisDataset) -> list[ResultTrack]:
    """Add a 1-pixel prediction of every category in every frame: then no frame with ground truth lacks
    predictions, the case where TrackEval's CLEAR carries matches across frames and counts fewer fragments."""
    extra = []
    for video in gt.videos:
        for cat in gt.categories:
            m = np.zeros((video.height, video.width), dtype=bool)
            m[-1, -1] = True
            extra.append(ResultTrack(video.id, cat.id, 0.01, [rle.encode(m)] * video.length))
    return results + extra


@pytest.mark.parametrize("seed", range(6))
def test_switches_and_fragments_equal_trackeval_clear_on_unbroken_ground_truth(seed):
    clear_metric = pytest.importorskip("trackeval.metrics").CLEAR({"PRINT_CONFIG": False})
    gt, results = random_case(seed, videos=4, length=12, gaps=0.0)
    results = with_background(results, gt)
    total = [0, 0]
    for table in frame_tables(gt, results):
        for view in [table, *(table.only(c.id) for c in gt.categories)]:
            ours = identity_counts(view)
            theirs = clear_metric.eval_sequence(trackeval_data(view))
            assert (ours.switches, ours.fragmentations) == (theirs["IDSW"], theirs["Frag"])
            total[0] += ours.switches
            total[1] += ours.fragmentations
    assert total[0] > 0 and total[1] > 0             # the random cases do have both kinds of error
