"""Properties of the YouTube-VIS metric on random inputs (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.eval.test_eval_reference import scenarios
from vistool.eval.ytvis import evaluate
from vistool.io import rle
from vistool.io.ytvis import ResultTrack

AP_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl")
RELAXED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _has_pixels(segmentations) -> bool:
    return any(s is not None and rle.area(s) > 0 for s in segmentations)


@RELAXED
@given(scenarios(), st.randoms())
def test_perfect_predictions_score_one(scenario, random):
    dataset, _ = scenario
    # every ground truth with at least one non-empty mask, none of them crowd, and its `areas` field
    # equal to its masks' areas (scenarios may set other areas on purpose; then an exact copy of the
    # masks can land in another size range than the ground truth, as in the official evaluator)
    dataset.annotations = [dataclasses.replace(a, iscrowd=0, areas=[None if m is None else float(rle.area(m))
                                                                    for m in a.segmentations])
                           for a in dataset.annotations if _has_pixels(a.segmentations)]
    scores = random.sample(range(1, 1000), len(dataset.annotations))
    perfect = [ResultTrack(a.video_id, a.category_id, s / 1000, list(a.segmentations))
               for a, s in zip(dataset.annotations, scores)]
    stats = evaluate(dataset, perfect).stats
    for key in (*AP_KEYS, "AR10", "AR100", "ARs", "ARm", "ARl"):
        assert stats[key] == -1.0 or stats[key] == pytest.approx(1.0, abs=1e-9), key
    assert (stats["AP"] == -1.0) == (not dataset.annotations)


@RELAXED
@given(scenarios(), st.data())
def test_a_zero_score_duplicate_never_raises_ap(scenario, data):
    dataset, results = scenario
    # one non-crowd ground truth per (video, category) at most: a duplicate cannot find a second one
    seen, kept = set(), []
    for ann in dataset.annotations:
        key = (ann.video_id, ann.category_id)
        if not ann.iscrowd:
            if key in seen:
                continue
            seen.add(key)
        kept.append(ann)
    dataset.annotations = kept
    if not results:
        return
    original = data.draw(st.sampled_from(results))
    duplicate = dataclasses.replace(original, score=0.0, segmentations=list(original.segmentations))
    before = evaluate(dataset, results).stats
    after = evaluate(dataset, results + [duplicate]).stats
    for key in AP_KEYS:
        assert after[key] <= before[key] + 1e-12, key


@RELAXED
@given(scenarios(), st.randoms())
def test_result_order_does_not_matter_when_scores_are_distinct(scenario, random):
    dataset, results = scenario
    scores = np.linspace(0.01, 0.99, max(len(results), 1))
    picked = random.sample(list(scores), len(results))
    distinct = [dataclasses.replace(r, score=float(s)) for r, s in zip(results, picked)]
    shuffled = list(distinct)
    random.shuffle(shuffled)
    assert evaluate(dataset, shuffled).stats == evaluate(dataset, distinct).stats
