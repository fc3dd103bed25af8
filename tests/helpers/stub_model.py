"""A tiny deterministic stand-in for a VIS model, used by engine and CLI tests only.

It "detects" every connected bright region (grey level > 127) of a frame as an
instance of category 0 and tracks regions by nearest centroid, so tests can
check the streaming, RLE, writer and batch plumbing against known answers.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from vistool.structures import Clip, FrameInstances, TrackSummary, VideoInfo


class StubSession:
    """Per-video state: last centroid of each track."""

    def __init__(self, clip_len: int, max_jump: float) -> None:
        self.clip_len = clip_len
        self.max_jump = max_jump
        self.last: dict[int, np.ndarray] = {}
        self.next_id = 1
        self.frames_seen = 0

    def _assign(self, centroids: np.ndarray) -> list[int]:
        ids, free = [], dict(self.last)
        for c in centroids:
            best = min(free, key=lambda t: np.linalg.norm(free[t] - c), default=None)
            if best is not None and np.linalg.norm(free[best] - c) <= self.max_jump:
                ids.append(best)
                del free[best]
            else:
                ids.append(self.next_id)
                self.next_id += 1
        return ids

    def _frame(self, image: torch.Tensor, index: int) -> FrameInstances:
        grey = image.numpy().max(axis=2) > 127
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(grey.astype(np.uint8), connectivity=8)
        keep = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= 4]
        h, w = grey.shape
        if not keep:
            return FrameInstances.empty(index, (h, w))
        ids = self._assign(centroids[keep])
        self.last = {t: centroids[k] for t, k in zip(ids, keep)}
        masks = np.stack([labels == k for k in keep])
        boxes = [[s[0], s[1], s[0] + s[2], s[1] + s[3]] for s in stats[keep]]
        n = len(keep)
        return FrameInstances(
            frame_index=index, image_size=(h, w), boxes=torch.tensor(boxes, dtype=torch.float32),
            masks=torch.from_numpy(masks), scores=torch.full((n,), 0.9), labels=torch.zeros(n, dtype=torch.int64),
            track_ids=torch.tensor(ids, dtype=torch.int64))

    def step(self, clip: Clip) -> list[FrameInstances]:
        self.frames_seen += len(clip)
        return [self._frame(image, index) for image, index in zip(clip.images, clip.frame_indices)]

    def finish(self) -> dict[int, TrackSummary]:
        return {t: TrackSummary(label=0, score=0.9) for t in range(1, self.next_id)}


class StubModel:
    """Implements the parts of VisModel that inference uses."""

    method = "stub"

    def __init__(self, clip_len: int = 1, categories: list[str] | None = None, max_jump: float = 40.0) -> None:
        self.clip_len = clip_len
        self.categories = categories or ["blob"]
        self.max_jump = max_jump

    def new_session(self, info: VideoInfo) -> StubSession:
        return StubSession(self.clip_len, self.max_jump)

    def new_frame_session(self, info: VideoInfo) -> StubSession:
        return self.new_session(info)
