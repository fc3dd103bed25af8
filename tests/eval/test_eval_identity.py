"""Identity report: exact counts on a crafted case; switches and fragments equal TrackEval's CLEAR."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.eval_cases import A, crafted, random_case, track
from vistool.eval.frames import frame_tables
from vistool.eval.hota import trackeval_data
from vistool.eval.identity import IdentityCounts, identity_counts, identity_report
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisDataset


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
    from trackeval.metrics import CLEAR

    clear_metric = CLEAR({"PRINT_CONFIG": False})
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
