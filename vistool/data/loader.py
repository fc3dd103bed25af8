"""Training data loaders: YouTube-VIS-format folders/JSON files or on-the-fly synthetic clips.

:func:`build_clip_loader` is the one entry point of the training engine. It
yields :class:`~vistool.structures.ClipBatch` batches built by
:func:`collate_clips`.

- Dataset sources (a folder or a JSON file) give a finite loader: one pass
  is one epoch of :class:`~vistool.data.dataset.YtvisClipDataset` in a
  seeded random order; every new pass is the next epoch (new order, new
  frames, new augmentation), the same for a given seed whatever ``workers``.
- ``synth:PRESET`` gives an endless loader (:class:`SynthClipStream`): clips
  are rendered in the worker processes, never repeat, and depend only on the
  seed and the number of workers. Every new pass starts the stream again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as nnf
from torch.utils.data import DataLoader, IterableDataset, Sampler, get_worker_info

from vistool.data.dataset import YtvisClipDataset, mix_seed, read_dataset
from vistool.data.motion import TrainAugment
from vistool.data.transforms import ClipAugment, ClipResize, ClipTransform
from vistool.errors import InputError
from vistool.structures import ClipBatch, ClipSample

log = logging.getLogger(__name__)

SYNTH_PREFIX = "synth:"
JSON_NAMES = ("instances.json", "{split}.json", "train.json", "valid.json", "val.json", "test.json")

RenderFn = Callable[..., ClipSample]
"""``sample_clip(preset, seed, index, clip_len, size, start=None, gap=1) -> ClipSample``."""


# ------------------------------------------------------------------ sources


def resolve_dataset(data: str | Path, split: str = "train") -> tuple[Path, Path]:
    """The dataset JSON and the ``JPEGImages`` folder that ``data`` names.

    ``data`` may be a dataset JSON (frames in ``JPEGImages/`` beside it, or in
    ``<stem>/JPEGImages/`` as YouTube-VIS 2019 lays out ``train.json``), a
    split folder holding ``JPEGImages/`` and a dataset JSON, or a dataset root
    holding ``<split>/``.
    """
    path = Path(data)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give a YouTube-VIS split folder, a dataset JSON or synth:PRESET")
    if path.is_file():
        for root in (path.parent / "JPEGImages", path.parent / path.stem / "JPEGImages"):
            if root.is_dir():
                return path, root
        raise InputError(f"{path}: no JPEGImages/ folder beside this dataset JSON")
    if (path / "JPEGImages").is_dir():
        names = [n.format(split=split) for n in JSON_NAMES] + [f"{path.name}.json"]
        candidates = [path / n for n in names] + [path.parent / f"{path.name}.json"]
        for candidate in candidates:
            if candidate.is_file():
                return candidate, path / "JPEGImages"
        raise InputError(f"{path}: no dataset JSON (instances.json, {split}.json, ...) in this folder")
    if (path / split).is_dir():
        return resolve_dataset(path / split, split)
    raise InputError(f"{path}: neither a split folder (with JPEGImages/) nor a dataset root with a '{split}/' folder")


def _synth_preset(data: str) -> str:
    from vistool.data.synth.presets import PRESETS

    preset = data[len(SYNTH_PREFIX):]
    if preset not in PRESETS:
        raise InputError(f"{data}: unknown synthetic preset '{preset}'; choose one of {', '.join(PRESETS)}")
    return preset


def dataset_categories(data: str, split: str = "train") -> list[str]:
    """Category names of a data source; label ``i`` is ``categories[i]``."""
    if data.startswith(SYNTH_PREFIX):
        _synth_preset(data)
        from vistool.data.synth import CATEGORIES

        return list(CATEGORIES)
    json_path, _ = resolve_dataset(data, split)
    return read_dataset(json_path).categories


# ------------------------------------------------------------------ batching


def collate_clips(samples: list[ClipSample]) -> ClipBatch:
    """Pad clips bottom/right to the largest frame of the batch and stack their images.

    Args:
        samples: B clips with the same T.

    Returns:
        ClipBatch with images (B, T, 3, H, W) uint8 and the padded samples.
    """
    if not samples:
        raise ValueError("cannot collate an empty batch")
    height = max(s.images.shape[-2] for s in samples)
    width = max(s.images.shape[-1] for s in samples)
    padded = []
    for s in samples:
        pad = (0, width - s.images.shape[-1], 0, height - s.images.shape[-2])
        if pad == (0, 0, 0, 0):
            padded.append(s)
            continue
        padded.append(ClipSample(
            video_id=s.video_id, frame_indices=s.frame_indices, images=nnf.pad(s.images, pad),
            instance_ids=s.instance_ids, labels=s.labels, boxes=s.boxes,
            masks=nnf.pad(s.masks, pad), present=s.present,
        ))
    return ClipBatch(images=torch.stack([s.images for s in padded]), samples=padded)


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` keys; each pass is the next epoch, shuffled with a seeded generator."""

    def __init__(self, size: int, seed: int = 0, shuffle: bool = True, epoch: int = 0) -> None:
        self.size, self.seed, self.shuffle, self.epoch = size, seed, shuffle, epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        self.epoch += 1
        if self.shuffle:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(mix_seed(self.seed, epoch)))
        else:
            order = torch.arange(self.size)
        return iter([(epoch, int(i)) for i in order])


# ------------------------------------------------------------------ synthetic stream


def _real_sample_clip() -> RenderFn:
    from vistool.data.synth import sample_clip

    return sample_clip


class SynthClipStream(IterableDataset):
    """Endless synthetic training clips rendered where they are consumed.

    Worker ``w`` of ``n`` renders video indices ``w, w + n, w + 2n, ...``, so
    workers never repeat each other's clips. Each clip's stride is drawn from
    ``[1, gap]`` and its augmentation from a generator seeded by (seed, index).

    Args:
        preset: synthetic preset (standard, crowded, fast, long).
        clip_len: T.
        size: (width, height) of the rendered frames.
        seed: dataset seed passed to the renderer.
        gap: largest temporal stride.
        transform: optional clip transform (augmentation).
        render: the renderer, ``vistool.data.synth.sample_clip`` by default.
    """

    def __init__(self, preset: str, clip_len: int, size: tuple[int, int], *, seed: int = 0, gap: int = 1,
                 transform: ClipTransform | None = None, render: RenderFn | None = None) -> None:
        self.preset, self.clip_len, self.size = preset, clip_len, tuple(size)
        self.seed, self.gap, self.transform, self.render = seed, gap, transform, render

    def indices(self) -> Iterator[int]:
        """Video indices this worker renders, in order."""
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        index = worker
        while True:
            yield index
            index += workers

    def __iter__(self) -> Iterator[ClipSample]:
        render = self.render or _real_sample_clip()
        for index in self.indices():
            gen = torch.Generator().manual_seed(mix_seed(self.seed, index))
            stride = int(torch.randint(1, self.gap + 1, (), generator=gen))
            sample = render(self.preset, self.seed, index, self.clip_len, self.size, start=None, gap=stride)
            yield sample if self.transform is None else self.transform(sample, gen)


# ------------------------------------------------------------------ entry point


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(0)


def _check_options(clip_len: int, batch_size: int, size: tuple[int, int], gap: int, workers: int) -> None:
    if clip_len < 1:
        raise InputError(f"clip length must be >= 1, got {clip_len}")
    if batch_size < 1:
        raise InputError(f"batch size must be >= 1, got {batch_size}")
    if len(size) != 2 or min(size) < 1:
        raise InputError(f"size must be (width, height) with positive values, got {size}")
    if gap < 1:
        raise InputError(f"gap must be >= 1, got {gap}")
    if workers < 0:
        raise InputError(f"workers must be >= 0, got {workers}")


def build_clip_loader(data: str, clip_len: int, batch_size: int, size: tuple[int, int], *, seed: int = 0,
                      workers: int = 0, augment: bool = True, gap: int = 1, split: str = "train") -> DataLoader:
    """A DataLoader of ClipBatch training batches.

    Args:
        data: a YouTube-VIS split folder, a dataset root holding ``<split>/``,
            a dataset JSON, or ``synth:PRESET`` (standard|crowded|fast|long).
        clip_len: T, frames per clip.
        batch_size: clips per batch.
        size: (width, height); frames are resized to fit inside it (with
            scale jitter and random crop when ``augment``) and padded per batch.
        seed: seed of order, frame choice and augmentation.
        workers: DataLoader worker processes (0 = load in the main process).
        augment: ClipAugment (train) instead of ClipResize (eval).
        gap: largest temporal stride between consecutive clip frames.
        split: split folder name looked up under a dataset root.
    """
    _check_options(clip_len, batch_size, size, gap, workers)
    size = (int(size[0]), int(size[1]))
    transform: ClipTransform = TrainAugment(ClipAugment(size)) if augment else ClipResize(size)
    common = dict(batch_size=batch_size, num_workers=workers, collate_fn=collate_clips,
                  worker_init_fn=_worker_init if workers else None, persistent_workers=False)
    if data.startswith(SYNTH_PREFIX):
        stream = SynthClipStream(_synth_preset(data), clip_len, size, seed=seed, gap=gap,
                                 transform=transform if augment else None)
        log.info("synthetic clips: preset %s, endless, %d worker(s)", stream.preset, workers)
        return DataLoader(stream, **common)
    json_path, image_root = resolve_dataset(data, split)
    dataset = YtvisClipDataset(json_path, image_root, clip_len=clip_len, gap=gap, seed=seed, transform=transform)
    sampler = EpochSampler(len(dataset), seed=seed, shuffle=True)
    return DataLoader(dataset, sampler=sampler, **common)
