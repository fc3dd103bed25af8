"""Streaming inference: frames -> clips -> method session -> RLE -> writers.

One pass over the video: frames are decoded one at a time, grouped into clips
of the method's ``clip_len``, handed to ``session.step``; every returned mask is
encoded as RLE at once (so memory does not grow with the frame count beyond the
compact RLE strings). An overlay of a file shows what the results hold: it is
drawn after ``session.finish`` from the stored masks with each track's final
class and score (a second decode of the frames, no model work). A live camera or
stream cannot be read twice, so its overlay (and that of ``segment``) is drawn
in the same pass with per-frame labels.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from vistool.engine.heap import HeapTrimmer
from vistool.engine.precision import autocast, model_device, to_float32
from vistool.io import rle as rle_io
from vistool.structures import Clip, FrameInstances, TrackResult, TrackSummary, VideoInfo, VideoResult

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class InferOptions:
    """How frames are read and which instances are kept.

    Attributes:
        stride: process every ``stride``-th frame.
        max_frames: stop after this many processed frames (None = all).
        start: first source frame to process.
        score_threshold: drop tracks (video level) and instances (per frame) below it.
        track: False for per-frame results (``vistool segment``): track ids are ignored.
        half: autocast the model to 16 bits (fp16 on CUDA, bf16 on CPU; :mod:`vistool.engine.precision`).
    """

    stride: int = 1
    max_frames: int | None = None
    start: int = 0
    score_threshold: float = 0.0
    track: bool = True
    half: bool = False


@dataclass
class FrameSource:
    """Frames of one video.

    Attributes:
        info: the video's size, fps and frame count.
        open: returns an iterator of ``(index, (H, W, 3) uint8 RGB)`` with the
            options' start, stride and max_frames applied.
        dataset_id: the video's id in a YouTube-VIS dataset, when known.
        file_names: per-frame image names in the dataset layout, when known.
        live: a camera or stream: ``open`` cannot be called twice for the same frames.
    """

    info: VideoInfo
    open: Callable[[InferOptions], Iterable[tuple[int, np.ndarray]]]
    dataset_id: int | None = None
    file_names: list[str] | None = None
    live: bool = False


def iter_clips(frames: Iterable[tuple[int, np.ndarray]], clip_len: int) -> Iterator[Clip]:
    """Group ``(index, frame)`` pairs into clips of ``clip_len`` frames.

    The last clip may be shorter; it is marked ``is_last``. One frame of
    look-ahead tells whether a clip is the last.
    """
    if clip_len < 1:
        raise ValueError("clip_len must be >= 1")
    pending: list[tuple[int, np.ndarray]] = []
    iterator = iter(frames)
    nxt = next(iterator, None)
    while nxt is not None:
        pending.append(nxt)
        nxt = next(iterator, None)
        if len(pending) == clip_len or nxt is None:
            images = torch.from_numpy(np.stack([np.ascontiguousarray(f) for _, f in pending]))
            yield Clip(images=images, frame_indices=[i for i, _ in pending], is_last=nxt is None)
            pending = []


class TrackCollector:
    """Collects per-frame instances into per-track RLE lists.

    Frames are addressed by their position among the processed frames
    (0, 1, 2, ...), which is the frame axis of the written results.
    """

    def __init__(self, score_threshold: float = 0.0) -> None:
        self.num_frames = 0
        self.score_threshold = score_threshold
        self._segments: dict[int, dict[int, dict]] = defaultdict(dict)
        self._labels: dict[int, Counter] = defaultdict(Counter)
        self._scores: dict[int, list[float]] = defaultdict(list)

    def add(self, instances: FrameInstances) -> None:
        """Record the instances of the next processed frame (masks become RLE here; an instance whose mask
        is empty is left out, so its track is ``null`` in that frame, as for every method)."""
        position = self.num_frames
        self.num_frames += 1
        if len(instances) == 0:
            return
        if instances.track_ids is None:
            raise ValueError("tracking needs track_ids in every FrameInstances")
        masks = instances.masks.cpu().numpy()  # (N, H, W)
        present = masks.reshape(len(masks), -1).any(1)  # an empty mask is an absent track: null, not an empty RLE
        kept = np.flatnonzero(present)
        for k, rle in zip(kept.tolist(), rle_io.encode_many(masks[kept])):
            track_id = int(instances.track_ids[k])
            if track_id in self._segments and position in self._segments[track_id]:
                raise ValueError(f"track {track_id} appears twice in frame {instances.frame_index}")
            self._segments[track_id][position] = rle
            self._labels[track_id][int(instances.labels[k])] += 1
            self._scores[track_id].append(float(instances.scores[k]))

    def tracks(self, summaries: dict[int, TrackSummary]) -> list[TrackResult]:
        """Per-track results with one entry per processed frame (None where absent).

        Tracks without a summary from the session fall back to their most
        frequent per-frame label and mean per-frame score.
        """
        results = []
        for track_id in sorted(self._segments):
            summary = summaries.get(track_id)
            if summary is None:
                log.warning("session gave no summary for track %d; using majority label and mean score", track_id)
                summary = TrackSummary(self._labels[track_id].most_common(1)[0][0],
                                       float(np.mean(self._scores[track_id])))
            if summary.score < self.score_threshold:
                continue
            frames = self._segments[track_id]
            segs = [frames.get(p) for p in range(self.num_frames)]
            class_scores = [float(v) for v in summary.class_scores] or None
            results.append(TrackResult(track_id, int(summary.label), float(summary.score), segs, class_scores))
        return results


@dataclass
class FrameCollector:
    """Per-frame (untracked) instances for ``vistool segment``: COCO-style records."""

    score_threshold: float = 0.0
    records: list[dict] = field(default_factory=list)
    frame_indices: list[int] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)

    def add(self, instances: FrameInstances) -> None:
        position = self.num_frames
        self.frame_indices.append(int(instances.frame_index))
        keep = instances.scores >= self.score_threshold
        masks = instances.masks[keep].cpu().numpy()
        for k, rle in enumerate(rle_io.encode_many(masks)):
            x1, y1, x2, y2 = (float(v) for v in instances.boxes[keep][k])
            self.records.append({
                "frame": position,
                "label": int(instances.labels[keep][k]), "score": float(instances.scores[keep][k]),
                "bbox": [x1, y1, x2 - x1, y2 - y1], "segmentation": rle,
            })


def _keep_above(instances: FrameInstances, threshold: float) -> FrameInstances:
    if threshold <= 0 or len(instances) == 0:
        return instances
    keep = instances.scores >= threshold
    return FrameInstances(
        frame_index=instances.frame_index, image_size=instances.image_size, boxes=instances.boxes[keep],
        masks=instances.masks[keep], scores=instances.scores[keep], labels=instances.labels[keep],
        track_ids=None if instances.track_ids is None else instances.track_ids[keep],
        class_probs=None if instances.class_probs is None else instances.class_probs[keep])


def run_video(model, source: FrameSource, options: InferOptions = InferOptions(), *,
              overlay: str | Path | None = None, on_frames: ProgressCallback | None = None,
              ) -> tuple[VideoResult, FrameCollector | None]:
    """Run ``model`` over one video in a single streaming pass.

    Args:
        model: a VisModel (``new_session``, ``new_frame_session``, ``clip_len``, ``categories``).
        source: the frames to process.
        options: stride, frame range and thresholds.
        overlay: optional path of an H.264 MP4 with the instances drawn: for a file,
            each track's final class and score, drawn after the run from the stored masks;
            for a live source (or per-frame mode), per-frame labels drawn as frames come.
        on_frames: called with the number of frames each step processed.

    Returns:
        The video's tracks (empty for ``options.track == False``) and, for
        per-frame mode, the collected per-frame records.
    """
    session = model.new_session(source.info) if options.track else model.new_frame_session(source.info)
    collector = TrackCollector(options.score_threshold)
    frame_collector = None if options.track else FrameCollector(options.score_threshold)
    live_overlay = overlay is not None and (source.live or not options.track)
    writer = _open_overlay(overlay if live_overlay else None, source.info, options.stride)
    trimmer = HeapTrimmer()
    try:
        frames = source.open(options)
        with torch.inference_mode(), autocast(model_device(model), options.half):
            for clip in iter_clips(frames, session.clip_len):
                outputs = [to_float32(out) for out in session.step(clip)]
                if len(outputs) != len(clip):
                    raise RuntimeError(f"session returned {len(outputs)} frames for a clip of {len(clip)}")
                for image, instances in zip(clip.images, outputs):
                    instances = _keep_above(instances, options.score_threshold)
                    if frame_collector is not None:
                        frame_collector.add(instances)
                    else:
                        collector.add(instances)
                    if writer is not None:
                        writer.draw(image.numpy(), instances, model.categories)
                trimmer.add(len(clip))
                if on_frames is not None:
                    on_frames(len(clip))
            summaries = session.finish() if options.track else {}
        if writer is not None:
            writer.close()
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    num_frames = collector.num_frames if frame_collector is None else frame_collector.num_frames
    result = VideoResult(info=source.info, tracks=collector.tracks(summaries) if options.track else [],
                         num_frames=num_frames, categories=list(model.categories),
                         dataset_id=source.dataset_id, file_names=_selected_names(source.file_names, options))
    if overlay is not None and not live_overlay:
        _write_final_overlay(result, source, options, overlay)
    return result, frame_collector


def _write_final_overlay(result: VideoResult, source: FrameSource, options: InferOptions, path: str | Path) -> None:
    """The overlay of a file: the frames decoded again, each track drawn with its final class and score."""
    from vistool.viz.result_overlay import overlay_fps, write_result_overlay

    written = write_result_overlay(result, source.open(options), path, overlay_fps(source.info.fps, options.stride))
    if written < result.num_frames:
        log.warning("%s: the overlay has %d of %d frames (the source gave fewer on the second read)",
                    source.info.source, written, result.num_frames)


def _selected_names(file_names: list[str] | None, options: InferOptions) -> list[str] | None:
    if file_names is None:
        return None
    names = file_names[options.start::options.stride]
    return names if options.max_frames is None else names[: options.max_frames]


class _OverlaySink:
    """Draws instances onto frames and writes them to an H.264 MP4."""

    def __init__(self, path: str | Path, info: VideoInfo, stride: int = 1) -> None:
        from vistool.io.video_writer import ThreadedVideoWriter
        from vistool.viz.result_overlay import OVERLAY_ENCODER, overlay_fps

        self._writer = ThreadedVideoWriter(str(path), fps=overlay_fps(info.fps, stride),
                                           size=(info.width, info.height), **OVERLAY_ENCODER)

    def draw(self, frame: np.ndarray, instances: FrameInstances, categories: list[str]) -> None:
        from vistool.viz.overlay import draw_instances

        self._writer.write(draw_instances(frame, instances, categories))

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.abort()


def _open_overlay(path: str | Path | None, info: VideoInfo, stride: int = 1) -> _OverlaySink | None:
    return None if path is None else _OverlaySink(path, info, stride)
