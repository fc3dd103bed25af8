"""YouTube-VIS-format datasets (2019, 2021, OVIS) as training clips.

A dataset is a JSON file (``videos``, ``categories``, ``annotations``) and the
frames ``JPEGImages/<file_names[i]>``. :class:`YtvisClipDataset` turns it into
:class:`~vistool.structures.ClipSample` clips of T frames:

- Frame choice: a temporal stride ``s`` is drawn uniformly from
  ``[1, gap]`` (capped so the clip fits the video), then a start; the clip is
  ``start, start + s, ..., start + (T-1)s``. ``gap=1`` gives contiguous clips.
- Videos shorter than T: all their frames are used in order and repeated
  evenly (frame ``floor(i * L / T)`` for ``i < T``), so time never runs
  backwards and the clip still spans the whole video.
- Targets are instance-major; an instance appears if it is present in at
  least one of the T frames. A ``null`` segmentation, or one that decodes to
  an empty mask, is an absent entry (``present`` False, zero box, empty mask).
  Instance ids are the annotation ids, so they are stable across the clips
  of a video. Boxes come from the masks (see :mod:`vistool.data.transforms`).
- Indexing: each video owns ``ceil(L / T)`` consecutive indices (long videos
  give more clips); index ``i`` of epoch ``e`` draws its stride and start
  from a generator seeded by ``(seed, e, i)``, so a clip is a pure function
  of ``(seed, epoch, index)``, whatever the number of workers.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from vistool.data.transforms import ClipTransform, boxes_from_masks
from vistool.errors import FormatError, InputError
from vistool.io import rle
from vistool.io.safe_path import safe_join
from vistool.io.ytvis import load_dataset
from vistool.structures import ClipSample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipRef:
    """Which frames of which video an index stands for.

    Attributes:
        video_index: position of the video in the dataset.
        video_id: the video's id in the dataset JSON.
        frame_indices: T 0-based frame indices (non-decreasing).
    """

    video_index: int
    video_id: int
    frame_indices: list[int]


@dataclass(frozen=True)
class TrackRecord:
    """One annotated instance of a video.

    Attributes:
        instance_id: the annotation id (stable identity, >= 1 in YouTube-VIS).
        label: 0-based category (position of its id among the sorted category ids).
        segmentations: per frame an RLE dict, a polygon list, or None.
    """

    instance_id: int
    label: int
    segmentations: list[Any]


@dataclass(frozen=True)
class VideoRecord:
    """One video of a dataset JSON: its id, frame files and instances."""

    video_id: int
    file_names: list[str]
    tracks: list[TrackRecord]


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset JSON as clips need it: category names (0-based order) and videos."""

    categories: list[str]
    videos: list[VideoRecord]


def read_dataset(json_path: str | Path) -> DatasetRecord:
    """Read a YouTube-VIS dataset JSON (validated by :func:`vistool.io.ytvis.load_dataset`).

    Labels are positions among the category ids sorted ascending.
    """
    data = load_dataset(json_path)
    categories = sorted(data.categories, key=lambda c: c.id)
    label_of = {c.id: i for i, c in enumerate(categories)}
    tracks: dict[int, list[TrackRecord]] = {}
    for ann in data.annotations:
        track = TrackRecord(instance_id=ann.id, label=label_of[ann.category_id],
                            segmentations=list(ann.segmentations))
        tracks.setdefault(ann.video_id, []).append(track)
    videos = [VideoRecord(video_id=v.id, file_names=list(v.file_names), tracks=tracks.get(v.id, []))
              for v in data.videos]
    return DatasetRecord(categories=[c.name for c in categories], videos=videos)


def mix_seed(*values: int) -> int:
    """A well-mixed 63-bit seed from integers (e.g. seed, epoch, index)."""
    entropy = [int(v) & 0xFFFFFFFFFFFFFFFF for v in values]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]) & (2**63 - 1)


def sample_frame_indices(
    num_frames: int, clip_len: int, gap: int = 1, generator: torch.Generator | None = None
) -> list[int]:
    """T frame indices of one clip (see the module docstring for the rule).

    Args:
        num_frames: L, frames in the video (>= 1).
        clip_len: T.
        gap: largest temporal stride; 1 = contiguous.
        generator: source of the stride and start.
    """
    if num_frames < 1 or clip_len < 1 or gap < 1:
        raise ValueError(f"need num_frames, clip_len, gap >= 1, got {num_frames}, {clip_len}, {gap}")
    if num_frames < clip_len:
        return [i * num_frames // clip_len for i in range(clip_len)]
    max_stride = gap if clip_len == 1 else min(gap, (num_frames - 1) // (clip_len - 1))
    stride = int(torch.randint(1, max_stride + 1, (), generator=generator))
    span = (clip_len - 1) * stride + 1
    start = int(torch.randint(0, num_frames - span + 1, (), generator=generator))
    return [start + i * stride for i in range(clip_len)]


def _decode_segmentation(seg: Any, height: int, width: int, where: str, path: str) -> np.ndarray | None:
    """(H, W) bool mask of one RLE/polygon entry, or None when absent or empty."""
    if seg is None or (isinstance(seg, list) and not seg):
        return None
    if not isinstance(seg, (dict, list)):
        raise FormatError(path, where, "segmentation must be an RLE dict, a polygon list or null")
    try:
        mask = rle.decode(seg) if isinstance(seg, dict) else rle.decode(rle.from_polygons(seg, height, width))
    except Exception as exc:  # pycocotools raises bare Exceptions on malformed input
        raise FormatError(path, where, f"cannot decode this segmentation ({exc})") from None
    if mask.shape != (height, width):
        raise FormatError(path, where, f"mask size {mask.shape} differs from the video size {(height, width)}")
    return mask if mask.any() else None


def read_frame(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB image read with OpenCV."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: cannot read this frame image; check that the file exists and is a JPEG/PNG")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_clip(video: VideoRecord, frame_indices: Sequence[int], image_root: Path,
              json_path: str = "<dataset JSON>") -> ClipSample:
    """Read the frames and targets of one clip (no transform).

    Args:
        video: the video record.
        frame_indices: T 0-based frame indices.
        image_root: the ``JPEGImages`` folder.
        json_path: the dataset JSON, named in error messages.
    """
    paths = {f: safe_join(image_root, video.file_names[f]) for f in set(frame_indices)}
    frames = {f: read_frame(path) for f, path in paths.items()}
    h, w = frames[frame_indices[0]].shape[:2]
    for f, img in frames.items():
        if img.shape[:2] != (h, w):
            raise InputError(f"{paths[f]}: frame size {img.shape[:2]} differs from {(h, w)}")
    images = torch.from_numpy(np.stack([frames[f] for f in frame_indices])).permute(0, 3, 1, 2)
    masks, ids, labels = [], [], []
    for track in video.tracks:
        per_frame: dict[int, np.ndarray | None] = {}
        for f in set(frame_indices):
            seg = track.segmentations[f] if f < len(track.segmentations) else None
            where = f"$.annotations[id={track.instance_id}].segmentations[{f}]"
            per_frame[f] = _decode_segmentation(seg, h, w, where, json_path)
        if all(m is None for m in per_frame.values()):
            continue
        empty = np.zeros((h, w), dtype=bool)
        masks.append(np.stack([empty if per_frame[f] is None else per_frame[f] for f in frame_indices]))
        ids.append(track.instance_id)
        labels.append(track.label)
    t = len(frame_indices)
    mask_t = torch.from_numpy(np.stack(masks)) if masks else torch.zeros((0, t, h, w), dtype=torch.bool)
    boxes, present = boxes_from_masks(mask_t)
    return ClipSample(
        video_id=video.video_id, frame_indices=list(frame_indices), images=images.contiguous(),
        instance_ids=torch.tensor(ids, dtype=torch.int64), labels=torch.tensor(labels, dtype=torch.int64),
        boxes=boxes, masks=mask_t, present=present,
    )


class YtvisClipDataset(Dataset):
    """Map-style dataset of T-frame clips from a YouTube-VIS-format dataset.

    ``dataset[i]`` uses the current epoch (:meth:`set_epoch`); ``dataset[(epoch, i)]``
    names it explicitly (what :func:`vistool.data.loader.build_clip_loader`'s
    sampler does, so workers need no shared state).

    Args:
        json_path: the dataset JSON.
        image_root: the ``JPEGImages`` folder (default: beside the JSON).
        clip_len: T, frames per clip.
        gap: largest temporal stride (1 = contiguous frames).
        seed: base seed of frame choice and augmentation.
        transform: applied to every clip with a generator seeded by (seed, epoch, index).
    """

    def __init__(self, json_path: str | Path, image_root: str | Path | None = None, *, clip_len: int,
                 gap: int = 1, seed: int = 0, transform: ClipTransform | None = None) -> None:
        if clip_len < 1 or gap < 1:
            raise InputError(f"clip length ({clip_len}) and gap ({gap}) must be >= 1")
        self.json_path = Path(json_path)
        self.image_root = Path(image_root) if image_root is not None else self.json_path.parent / "JPEGImages"
        self.clip_len, self.gap, self.seed, self.transform = clip_len, gap, seed, transform
        self.epoch = 0
        data = read_dataset(self.json_path)
        self.categories: list[str] = data.categories
        self.videos = [v for v in data.videos if v.file_names]
        if not self.videos:
            raise InputError(f"{self.json_path}: the dataset has no video with frames; check 'videos[].file_names'")
        counts = [max(1, math.ceil(len(v.file_names) / clip_len)) for v in self.videos]
        self._ends = np.cumsum(counts).tolist()  # index i belongs to the first video whose end > i
        log.info("%s: %d videos, %d clips per epoch", self.json_path, len(self.videos), len(self))

    def __len__(self) -> int:
        return int(self._ends[-1])

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for plain integer indices."""
        self.epoch = epoch

    def locate(self, index: int, epoch: int | None = None) -> ClipRef:
        """The video and frames of ``index`` in ``epoch`` (default: the current one)."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip index {index} out of range [0, {len(self)})")
        epoch = self.epoch if epoch is None else epoch
        video_index = bisect.bisect_right(self._ends, index)
        video = self.videos[video_index]
        gen = torch.Generator().manual_seed(mix_seed(self.seed, epoch, index, 0))
        frames = sample_frame_indices(len(video.file_names), self.clip_len, self.gap, gen)
        return ClipRef(video_index=video_index, video_id=video.video_id, frame_indices=frames)

    def __getitem__(self, key: int | tuple[int, int]) -> ClipSample:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        ref = self.locate(index, epoch)
        sample = load_clip(self.videos[ref.video_index], ref.frame_indices, self.image_root, str(self.json_path))
        if self.transform is not None:
            gen = torch.Generator().manual_seed(mix_seed(self.seed, epoch, index, 1))
            sample = self.transform(sample, gen)
        return sample
