"""Typed data passed between the parts of vistool.

Conventions (everywhere in the package):
- boxes are absolute-pixel ``xyxy`` floats;
- labels are 0-based in memory; they become 1-based ``category_id`` only in
  :mod:`vistool.io.ytvis`;
- frame indices are 0-based; track ids are >= 1 and restart for every video;
- images are ``uint8`` RGB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily so that video-only commands start fast
    import torch
    from torch import Tensor


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video before decoding it.

    Attributes:
        name: short name used in outputs (file stem or folder name).
        source: the path, glob, URL or webcam index it was opened from.
        width, height: frame size in pixels, after rotation metadata is applied.
        fps: frames per second as a float, or None when unknown (image folders).
        num_frames: frame count, or None when unknown (streams, some containers).
    """

    name: str
    source: str
    width: int
    height: int
    fps: float | None = None
    num_frames: int | None = None


@dataclass
class Clip:
    """Consecutive frames handed to a method session in one step.

    Attributes:
        images: (T, H, W, 3) uint8 RGB frames at the original resolution.
        frame_indices: the T 0-based frame indices in the source video.
        is_last: True when no frame follows this clip.
    """

    images: Tensor
    frame_indices: list[int]
    is_last: bool = False

    def __post_init__(self) -> None:
        import torch

        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"Clip.images must be (T, H, W, 3), got {tuple(self.images.shape)}")
        if self.images.dtype != torch.uint8:
            raise ValueError(f"Clip.images must be uint8, got {self.images.dtype}")
        if len(self.frame_indices) != self.images.shape[0]:
            raise ValueError("Clip.frame_indices must have one index per image")

    def __len__(self) -> int:
        return len(self.frame_indices)


@dataclass
class FrameInstances:
    """The instances a method found in one frame.

    Attributes:
        frame_index: 0-based index of the frame in its video.
        image_size: (H, W) of the frame.
        boxes: (N, 4) float xyxy in pixels.
        masks: (N, H, W) bool.
        scores: (N,) float in [0, 1].
        labels: (N,) int64, 0-based category.
        track_ids: (N,) int64 track ids (>= 1), or None for per-frame results.
        class_probs: optional (N, C) float class probabilities.
    """

    frame_index: int
    image_size: tuple[int, int]
    boxes: Tensor
    masks: Tensor
    scores: Tensor
    labels: Tensor
    track_ids: Tensor | None = None
    class_probs: Tensor | None = None

    def __post_init__(self) -> None:
        import torch

        n = self.scores.shape[0]
        h, w = self.image_size
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must be ({n}, 4), got {tuple(self.boxes.shape)}")
        if self.masks.shape != (n, h, w) or self.masks.dtype != torch.bool:
            raise ValueError(f"masks must be bool ({n}, {h}, {w}), got {self.masks.dtype} {tuple(self.masks.shape)}")
        if self.labels.shape != (n,):
            raise ValueError(f"labels must be ({n},), got {tuple(self.labels.shape)}")
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids must be ({n},), got {tuple(self.track_ids.shape)}")
        if self.class_probs is not None and self.class_probs.shape[0] != n:
            raise ValueError("class_probs must have one row per instance")

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls, frame_index: int, image_size: tuple[int, int]) -> "FrameInstances":
        """No instances in this frame."""
        import torch

        h, w = image_size
        return cls(
            frame_index=frame_index,
            image_size=(h, w),
            boxes=torch.zeros((0, 4)),
            masks=torch.zeros((0, h, w), dtype=torch.bool),
            scores=torch.zeros((0,)),
            labels=torch.zeros((0,), dtype=torch.int64),
            track_ids=torch.zeros((0,), dtype=torch.int64),
        )


@dataclass(frozen=True)
class TrackSummary:
    """Video-level decision for one track: one category and one score.

    Attributes:
        label: 0-based category.
        score: confidence in [0, 1] used to rank the track.
        class_scores: the same video-level score for every category (C,), so a
            submission may also list the track under its runner-up categories
            (``export-json --classes-per-track``); empty when the method gives none.
    """

    label: int
    score: float
    class_scores: tuple[float, ...] = ()


@dataclass
class TrackResult:
    """One predicted track of a video, as written to a results file.

    Attributes:
        track_id: id (>= 1) within its video.
        label: 0-based category.
        score: video-level score.
        segmentations: per frame a compressed RLE dict (``size``, utf-8 ``counts``)
            or None where the track is absent; one entry per frame of the video.
        class_scores: video-level score of every category (see TrackSummary), or None.
    """

    track_id: int
    label: int
    score: float
    segmentations: list[dict | None]
    class_scores: list[float] | None = None


@dataclass
class VideoResult:
    """All tracks predicted for one video.

    Attributes:
        info: the video.
        tracks: predicted tracks; each has one segmentation entry per frame.
        num_frames: frames covered by the segmentation lists.
        categories: category names; label ``i`` is ``categories[i]``.
        dataset_id: the video's id in a YouTube-VIS dataset JSON, when known.
        file_names: per-frame image names (dataset layout), when known.
        meta: method, config, weights sha256, vistool version, options.
    """

    info: VideoInfo
    tracks: list[TrackResult] = field(default_factory=list)
    num_frames: int = 0
    categories: list[str] = field(default_factory=list)
    dataset_id: int | None = None
    file_names: list[str] | None = None
    meta: dict = field(default_factory=dict)


# ---------------------------------------------------------------- training data


@dataclass
class ClipSample:
    """One training clip with its targets, instance-major.

    K instances appear in at least one of the T frames. Absent entries are
    explicit: ``present[k, t]`` is False, the box is zeros, the mask is empty.

    Attributes:
        video_id: id of the source video (dataset id, or a synthetic index).
        frame_indices: T frame indices in the source video.
        images: (T, 3, H, W) uint8 RGB.
        instance_ids: (K,) int64 identity of each instance, stable across the clip.
        labels: (K,) int64 0-based category.
        boxes: (K, T, 4) float32 xyxy pixels.
        masks: (K, T, H, W) bool.
        present: (K, T) bool.
    """

    video_id: int
    frame_indices: list[int]
    images: Tensor
    instance_ids: Tensor
    labels: Tensor
    boxes: Tensor
    masks: Tensor
    present: Tensor

    def __post_init__(self) -> None:
        import torch

        t, c, h, w = self.images.shape
        k = self.instance_ids.shape[0]
        if c != 3 or self.images.dtype != torch.uint8:
            raise ValueError("images must be uint8 (T, 3, H, W)")
        if self.labels.shape != (k,) or self.boxes.shape != (k, t, 4):
            raise ValueError("labels must be (K,) and boxes (K, T, 4)")
        if self.masks.shape != (k, t, h, w) or self.present.shape != (k, t):
            raise ValueError("masks must be (K, T, H, W) and present (K, T)")

    @property
    def clip_len(self) -> int:
        return int(self.images.shape[0])


@dataclass
class ClipBatch:
    """A batch of clips, padded to one size.

    Attributes:
        images: (B, T, 3, H, W) uint8, zero-padded at the bottom/right.
        samples: the B ClipSamples (targets padded the same way).
    """

    images: Tensor
    samples: list[ClipSample]

    def to(self, device: torch.device | str) -> "ClipBatch":
        """Move images and targets to ``device``."""
        moved = [
            ClipSample(
                video_id=s.video_id,
                frame_indices=s.frame_indices,
                images=s.images.to(device),
                instance_ids=s.instance_ids.to(device),
                labels=s.labels.to(device),
                boxes=s.boxes.to(device),
                masks=s.masks.to(device),
                present=s.present.to(device),
            )
            for s in self.samples
        ]
        return ClipBatch(images=self.images.to(device), samples=moved)

