"""What perfect tracking would score with a method's own per-frame instances: a tracking upper bound.

Reads what ``vistool segment`` writes (per-frame instances, no identities), links every instance to
the ground-truth object it overlaps best in its frame (mask IoU >= ``--iou``, highest scores first,
one instance per object and frame), and evaluates the linked tracks with the YouTube-VIS metric:

- ``oracle linking``: one track per ground-truth object, from the instances that claimed it; its
  category is the one its instances predicted most often, its score their mean score;
- ``oracle linking + categories``: the same tracks with the ground-truth category.

Instances that claim no object are left out (a real tracker would also have to suppress them), so
the gap between this and a method's video AP is what its linking, track starts and false tracks cost.

With ``--results`` (the method's own tracks on the same split) every ground-truth mask is also
put in one class: covered (mask IoU >= 0.5) by the track that covers that object most often, by
another track, not covered although an instance of score >= ``--min-score`` claimed it (before or
after the object's first covered frame), or not claimed by any such instance (the detector missed it);
and the fit of the tracks' masks is compared with that of the instances (mask IoU with each ground-truth mask).
Last, the AP the same tracks would score with better masks: every track mask whose best IoU with a
ground-truth mask of its frame lies in [0.5, X) is replaced by that ground-truth mask (X = 0.75, 0.85 and
1, the last being perfect masks wherever a track covers an object), the identities and scores unchanged;
and the AP with every track's score replaced by its best video IoU with a ground-truth object of its
category (a perfect ranking of the same tracks), alone and with the exact masks; and the AP with the
fragments of each object merged: every track is given to the ground-truth object it covers (IoU >= 0.5) in
most frames, and the tracks of one object and category become one track (the highest-scoring one's masks and
score, its empty frames filled from the others), which is what a perfect stitcher of broken tracks would give;
and, using no ground truth, the AP with every gap of at most G frames inside a track filled with the mask of
its nearer end (G = 1, 3, 8), what an interpolating post-process of the tracks would give.

    vistool segment data/synth_tune2/valid -m rgnnvis -o runs/seg
    vistool track data/synth_tune2/valid -m rgnnvis -o runs/trk
    vistool export-json runs/trk -o runs/trk.json --dataset data/synth_tune2/valid/instances.json
    python benchmarks/oracle_tracking.py data/synth_tune2/valid/instances.json runs/seg --results runs/trk.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vistool.eval.ytvis import evaluate
from vistool.io import rle
from vistool.io.ytvis import ResultTrack, YtvisDataset, load_dataset, load_results

sys.path.insert(0, str(Path(__file__).resolve().parent))
from error_analysis import by_video, class_agnostic_ious  # noqa: E402

KEYS = ("AP", "AP50", "AP75", "AR1", "AR10")


@dataclass
class Instance:
    """One per-frame instance of ``vistool segment`` output."""

    score: float
    category_id: int
    rle: dict


@dataclass
class Claims:
    """The instances that claimed one ground-truth object, frame by frame."""

    masks: dict[int, dict] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)


def read_instances(path: Path) -> dict[int, list[Instance]]:
    """frame index -> instances of one ``vistool segment`` output file."""
    data = json.loads(path.read_text())
    frame_of = {im["id"]: im["frame_index"] for im in data["images"]}
    out: dict[int, list[Instance]] = defaultdict(list)
    for inst in data["annotations"]:
        out[frame_of[inst["image_id"]]].append(Instance(inst["score"], inst["category_id"], inst["segmentation"]))
    return out


Segments = dict[int, dict[int, list[Instance]]]  # video id -> frame index -> instances


def read_segments(gt: YtvisDataset, folder: Path) -> Segments:
    """Every video's ``vistool segment`` output file in ``folder``, read once (a missing one is a one-line exit)."""
    out: Segments = {}
    for video in gt.videos:
        path = folder / f"{Path(video.file_names[0]).parent.name}.json"
        if not path.exists():
            raise SystemExit(f"{path}: no vistool segment output for video '{video.id}'")
        out[video.id] = read_instances(path)
    return out


def claim(instances: list[Instance], objects: list[tuple[int, dict]], min_iou: float) -> list[tuple[int, Instance]]:
    """(object index, instance) pairs of one frame: instances by decreasing score each take the unclaimed
    object they overlap most, if that overlap reaches ``min_iou``; ``objects`` are (index, mask)."""
    if not instances or not objects:
        return []
    ranked = sorted(instances, key=lambda inst: -inst.score)
    ious = rle.ious([i.rle for i in ranked], [m for _, m in objects])
    taken: set[int] = set()
    pairs = []
    for row, inst in zip(ious, ranked):
        free = [j for j in np.argsort(-row) if j not in taken and row[j] >= min_iou]
        if free:
            taken.add(free[0])
            pairs.append((objects[free[0]][0], inst))
    return pairs


def link_video(annotations: list, frames: dict[int, list[Instance]], num_frames: int, video_id: int,
               min_iou: float) -> tuple[list[ResultTrack], list[ResultTrack], int]:
    """Tracks linked by ground-truth identity (detected categories, true categories) and the number of
    ground-truth masks some instance claimed."""
    claims = [Claims() for _ in annotations]
    for frame in range(num_frames):
        objects = [(k, a.segmentations[frame]) for k, a in enumerate(annotations) if a.segmentations[frame] is not None]
        for k, inst in claim(frames.get(frame, []), objects, min_iou):
            claims[k].masks[frame] = inst.rle
            claims[k].scores.append(inst.score)
            claims[k].categories.append(inst.category_id)
    detected, true = [], []
    for ann, c in zip(annotations, claims):
        if not c.scores:
            continue
        track = ResultTrack(video_id, Counter(c.categories).most_common(1)[0][0], float(np.mean(c.scores)),
                            [c.masks.get(f) for f in range(num_frames)])
        detected.append(track)
        true.append(replace(track, category_id=ann.category_id))
    return detected, true, sum(len(c.masks) for c in claims)


def oracle_tracks(gt: YtvisDataset, segments: Segments, min_iou: float) -> tuple[list, list, float]:
    """Linked tracks of every video (detected / true categories) and the fraction of ground-truth masks claimed."""
    detected, true, claimed = [], [], 0
    for video, anns, frames, _ in _videos(gt, segments, []):
        d, t, n = link_video(anns, frames, len(video.file_names), video.id, min_iou)
        detected += d
        true += t
        claimed += n
    total = sum(m is not None for a in gt.annotations for m in a.segmentations)
    return detected, true, claimed / max(total, 1)


def _covering_track(tracks: list[ResultTrack], frame: int, target: dict, min_iou: float) -> int:
    """Index of the track whose mask in ``frame`` overlaps ``target`` most (>= min_iou), else -1."""
    present = [(k, t.segmentations[frame]) for k, t in enumerate(tracks) if t.segmentations[frame] is not None]
    if not present:
        return -1
    ious = rle.ious([m for _, m in present], [target])[:, 0]
    best = int(np.argmax(ious))
    return present[best][0] if ious[best] >= min_iou else -1


def _object_outcomes(track_of: list[int], detected: list[bool]) -> Counter:
    """Outcome of each of one object's frames, given its covering track (-1: none) and whether an
    instance claimed it."""
    covering = [k for k in track_of if k >= 0]
    main = Counter(covering).most_common(1)[0][0] if covering else None
    out: Counter = Counter()
    seen = False
    for k, det in zip(track_of, detected):
        if k >= 0:
            out["its main track" if k == main else "another track"] += 1
        elif det:
            out["not covered, claimed, " + ("after its first covered frame" if seen else "before any track")] += 1
        else:
            out["no instance claimed it"] += 1
        seen = seen or k >= 0
    return out


def _videos(gt: YtvisDataset, segments: Segments, results: list[ResultTrack]):
    """Per video: its ground-truth annotations, its ``vistool segment`` instances by frame and its tracks."""
    anns_of, tracks_of = by_video(gt, results)
    for video in gt.videos:
        yield video, anns_of[video.id], segments[video.id], tracks_of[video.id]


def failure_breakdown(gt: YtvisDataset, segments: Segments, results: list[ResultTrack], min_score: float,
                      min_iou: float = 0.5) -> Counter:
    """Count of ground-truth masks per outcome (see the module docstring)."""
    total: Counter = Counter()
    for video, anns, frames, tracks in _videos(gt, segments, results):
        claimed = [set() for _ in anns]
        for f in range(len(video.file_names)):
            objects = [(k, a.segmentations[f]) for k, a in enumerate(anns) if a.segmentations[f] is not None]
            strong = [i for i in frames.get(f, []) if i.score >= min_score]
            for k, _ in claim(strong, objects, min_iou):
                claimed[k].add(f)
        for k, ann in enumerate(anns):
            present = [f for f, m in enumerate(ann.segmentations) if m is not None]
            track_of = [_covering_track(tracks, f, ann.segmentations[f], min_iou) for f in present]
            total += _object_outcomes(track_of, [f in claimed[k] for f in present])
    return total


def _best_ious(masks: list[dict], targets: list[dict]) -> np.ndarray:
    """(len(targets),) the highest IoU of each target with any of ``masks`` (0 without masks)."""
    return rle.ious(masks, targets).max(0) if masks else np.zeros(len(targets))


def mask_quality(gt: YtvisDataset, segments: Segments, results: list[ResultTrack], min_score: float
                 ) -> dict[str, tuple[float, float]]:
    """How well the tracks' masks fit the ground truth, against the instances (score >= ``min_score``):
    (tracks, instances) per statistic. Every ground-truth mask takes its best-overlapping track mask
    and instance of its frame; ``mean IoU where both >= 0.5`` compares the two where both cover it."""
    by_tracks, by_instances = [], []
    for video, anns, frames, tracks in _videos(gt, segments, results):
        for f in range(len(video.file_names)):
            targets = [a.segmentations[f] for a in anns if a.segmentations[f] is not None]
            if targets:
                by_tracks.append(_best_ious([t.segmentations[f] for t in tracks
                                             if t.segmentations[f] is not None], targets))
                by_instances.append(_best_ious([i.rle for i in frames.get(f, []) if i.score >= min_score],
                                               targets))
    tr, ins = (np.concatenate(x) if x else np.zeros(0) for x in (by_tracks, by_instances))
    both = (tr >= 0.5) & (ins >= 0.5)
    out = {"mean IoU where both >= 0.5": (float(tr[both].mean()) if both.any() else 0.0,
                                          float(ins[both].mean()) if both.any() else 0.0)}
    for threshold in (0.5, 0.75, 0.9):
        out[f"share of masks covered at IoU >= {threshold}"] = (float((tr >= threshold).mean()),
                                                                 float((ins >= threshold).mean()))
    return out


def with_truer_masks(gt: YtvisDataset, results: list[ResultTrack], below: float) -> list[ResultTrack]:
    """``results`` with every mask whose best IoU with a ground-truth mask of its frame is in [0.5, ``below``)
    replaced by that ground-truth mask."""
    annotations, _ = by_video(gt, [])
    out = []
    for track in results:
        masks = list(track.segmentations)
        for f, mask in enumerate(masks):
            targets = [a.segmentations[f] for a in annotations[track.video_id] if a.segmentations[f] is not None]
            if mask is None or not targets:
                continue
            ious = rle.ious([mask], targets)[0]
            best = int(ious.argmax())
            if 0.5 <= ious[best] < below:
                masks[f] = targets[best]
        out.append(replace(track, segmentations=masks))
    return out


def with_truer_scores(gt: YtvisDataset, results: list[ResultTrack]) -> list[ResultTrack]:
    """``results`` with each track's score replaced by its best video IoU with a ground-truth object of its
    category in its video (0 without one)."""
    ious_of = class_agnostic_ious(gt, results)  # video id -> (ground-truth categories, (D, G) in file order)
    row_of: Counter = Counter()
    out = []
    for track in results:
        categories, ious = ious_of[track.video_id]
        row = ious[row_of[track.video_id]]
        row_of[track.video_id] += 1
        same = [g for g, c in enumerate(categories) if c == track.category_id]
        out.append(replace(track, score=float(row[same].max()) if same else 0.0))
    return out


def _owner(track: ResultTrack, annotations: list) -> int | None:
    """Index of the ground-truth object ``track`` covers (mask IoU >= 0.5) in most frames, None if none."""
    votes: Counter = Counter()
    for f, mask in enumerate(track.segmentations):
        objects = [(k, a.segmentations[f]) for k, a in enumerate(annotations) if a.segmentations[f] is not None]
        if mask is None or not objects:
            continue
        ious = rle.ious([mask], [m for _, m in objects])[0]
        if ious.max() >= 0.5:
            votes[objects[int(ious.argmax())][0]] += 1
    return votes.most_common(1)[0][0] if votes else None


def with_fragments_merged(gt: YtvisDataset, results: list[ResultTrack]) -> list[ResultTrack]:
    """``results`` with the tracks of one ground-truth object and category merged into one (module docstring)."""
    annotations, tracks_of = by_video(gt, results)
    out = []
    for video_id, tracks in tracks_of.items():
        groups: dict[tuple[int, int], list[ResultTrack]] = defaultdict(list)
        for track in tracks:
            owner = _owner(track, annotations[video_id])
            if owner is None:
                out.append(track)
            else:
                groups[(owner, track.category_id)].append(track)
        for group in groups.values():
            first, *others = sorted(group, key=lambda t: -t.score)
            masks = list(first.segmentations)
            for track in others:
                masks = [m if m is not None else o for m, o in zip(masks, track.segmentations)]
            out.append(replace(first, segmentations=masks))
    return out


def with_gaps_filled(results: list[ResultTrack], max_gap: int) -> list[ResultTrack]:
    """``results`` with every run of at most ``max_gap`` empty frames between two masks of a track filled with
    the mask of the nearer of the two frames."""
    out = []
    for track in results:
        masks = list(track.segmentations)
        present = [f for f, m in enumerate(masks) if m is not None]
        for a, b in zip(present, present[1:]):
            if b - a - 1 <= max_gap:
                for f in range(a + 1, b):
                    masks[f] = masks[a] if f - a <= b - f else masks[b]
        out.append(replace(track, segmentations=masks))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gt", type=Path, help="ground-truth dataset JSON")
    parser.add_argument("segments", type=Path, help="folder of vistool segment output files, one per video")
    parser.add_argument("--iou", type=float, default=0.5, help="least mask IoU for an instance to claim an object")
    parser.add_argument("--results", type=Path, help="the method's results JSON on the same split: break its "
                        "ground-truth masks down by what covered them")
    parser.add_argument("--min-score", type=float, default=0.31,
                        help="least instance score that counts as detected in the breakdown")
    args = parser.parse_args()
    gt = load_dataset(args.gt)
    segments = read_segments(gt, args.segments)
    detected, true, coverage = oracle_tracks(gt, segments, args.iou)
    print(f"ground-truth masks claimed by an instance (IoU >= {args.iou}): {coverage:.3f}\n")
    print("| tracks | " + " | ".join(KEYS) + " |")
    print("|---|" + "---|" * len(KEYS))
    for name, tracks in (("oracle linking", detected), ("oracle linking + categories", true)):
        stats = evaluate(gt, tracks).stats
        print(f"| {name} | " + " | ".join(f"{stats[k]:.3f}" for k in KEYS) + " |")
    if args.results is not None:
        results = load_results(args.results, gt)
        outcomes = failure_breakdown(gt, segments, results, args.min_score)
        total = sum(outcomes.values())
        print(f"\n| ground-truth masks of {args.results.name} | count | share |\n|---|---|---|")
        for name, count in sorted(outcomes.items(), key=lambda kv: -kv[1]):
            print(f"| {name} | {count} | {count / max(total, 1):.3f} |")
        print(f"\n| mask fit | tracks | instances (score >= {args.min_score}) |\n|---|---|---|")
        for name, (tracks, instances) in mask_quality(gt, segments, results, args.min_score).items():
            print(f"| {name} | {tracks:.3f} | {instances:.3f} |")
        print(f"\n| tracks of {args.results.name} | " + " | ".join(KEYS) + " |\n|---|" + "---|" * len(KEYS))
        exact = with_truer_masks(gt, results, math.inf)
        variants = [("as predicted", results),
                    ("masks of IoU 0.5-0.75 made exact", with_truer_masks(gt, results, 0.75)),
                    ("masks of IoU 0.5-0.85 made exact", with_truer_masks(gt, results, 0.85)),
                    ("masks of IoU >= 0.5 made exact", exact), ("scores made exact", with_truer_scores(gt, results)),
                    ("both", with_truer_scores(gt, exact)),
                    ("fragments of one object merged", with_fragments_merged(gt, results))]
        variants += [(f"gaps of <= {g} frames filled", with_gaps_filled(results, g)) for g in (1, 3, 8)]
        for name, tracks in variants:
            stats = evaluate(gt, tracks).stats
            print(f"| {name} | " + " | ".join(f"{stats[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main()
