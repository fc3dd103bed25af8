"""On-the-fly synthetic clips: distinct indices per worker, determinism, loader wiring."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from vistool.data import loader as loader_module
from vistool.data.loader import SynthClipStream, build_clip_loader, collate_clips, dataset_categories
from vistool.data.transforms import boxes_from_masks
from vistool.structures import ClipSample

CALLS: list[tuple] = []


def fake_sample_clip(preset: str, seed: int, index: int, clip_len: int, size: tuple[int, int],
                     start: int | None = None, gap: int = 1) -> ClipSample:
    """Stand-in renderer: one square whose position and colour depend on (seed, index)."""
    CALLS.append((preset, seed, index, clip_len, tuple(size), start, gap))
    w, h = size
    gen = torch.Generator().manual_seed(seed * 100003 + index)
    images = torch.randint(0, 256, (clip_len, 3, h, w), dtype=torch.uint8, generator=gen)
    masks = torch.zeros((1, clip_len, h, w), dtype=torch.bool)
    x = int(torch.randint(0, w // 2, (), generator=gen))
    masks[0, :, 2:10, x:x + 8] = True
    boxes, present = boxes_from_masks(masks)
    return ClipSample(video_id=index, frame_indices=[i * gap for i in range(clip_len)], images=images,
                      instance_ids=torch.tensor([1]), labels=torch.tensor([0]), boxes=boxes, masks=masks,
                      present=present)


def _ids(loader: DataLoader, batches: int) -> list[int]:
    out = []
    for i, batch in enumerate(loader):
        if i == batches:
            break
        out.extend(s.video_id for s in batch.samples)
    return out


def test_stream_in_main_process_counts_indices_and_draws_strides() -> None:
    CALLS.clear()
    stream = SynthClipStream("fast", 2, (32, 24), seed=7, gap=3, render=fake_sample_clip)
    it = iter(stream)
    clips = [next(it) for _ in range(30)]
    assert [c.video_id for c in clips] == list(range(30))
    assert {c[0] for c in CALLS} == {"fast"} and {c[1] for c in CALLS} == {7}
    assert {c[4] for c in CALLS} == {(32, 24)} and {c[6] for c in CALLS} == {1, 2, 3}
    again = iter(SynthClipStream("fast", 2, (32, 24), seed=7, gap=3, render=fake_sample_clip))
    assert [next(again).frame_indices for _ in range(30)] == [c.frame_indices for c in clips]


def test_workers_draw_distinct_indices_deterministically() -> None:
    def make() -> DataLoader:
        stream = SynthClipStream("standard", 2, (32, 24), seed=1, render=fake_sample_clip)
        return DataLoader(stream, batch_size=3, num_workers=2, collate_fn=collate_clips)

    first = _ids(make(), 6)
    assert len(first) == 18 and len(set(first)) == 18
    assert set(first) == set(range(18))
    assert first == _ids(make(), 6)


def test_build_clip_loader_synth_augments_and_pads(monkeypatch) -> None:
    monkeypatch.setattr(loader_module, "_real_sample_clip", lambda: fake_sample_clip)
    loader = build_clip_loader("synth:crowded", clip_len=3, batch_size=4, size=(40, 32), seed=2)
    batch = next(iter(loader))
    assert batch.images.shape[:3] == (4, 3, 3) and batch.images.shape[3] <= 32 and batch.images.shape[4] <= 40
    assert [s.video_id for s in batch.samples] == [0, 1, 2, 3]
    for s in batch.samples:
        assert s.masks.shape[-2:] == batch.images.shape[-2:]
        assert torch.equal(s.boxes, boxes_from_masks(s.masks)[0])
    plain = build_clip_loader("synth:crowded", clip_len=3, batch_size=2, size=(40, 32), seed=2, augment=False)
    raw = next(iter(plain))
    assert torch.equal(raw.images[0], fake_sample_clip("crowded", 2, 0, 3, (40, 32)).images)


def test_real_synthetic_clips_through_the_loader() -> None:
    from vistool.data.synth import CATEGORIES, sample_clip

    assert dataset_categories("synth:long") == list(CATEGORIES)
    plain = build_clip_loader("synth:standard", clip_len=3, batch_size=2, size=(64, 48), seed=5, augment=False)
    first = next(iter(plain)).samples[0]
    direct = sample_clip("standard", 5, 0, 3, (64, 48))
    assert torch.equal(first.images, direct.images) and torch.equal(first.masks, direct.masks)

    def run() -> list[ClipSample]:
        loader = build_clip_loader("synth:crowded", clip_len=3, batch_size=2, size=(64, 48), seed=1, gap=2,
                                   workers=2)
        it = iter(loader)
        return [s for _ in range(2) for s in next(it).samples]

    clips = run()
    assert sorted(c.video_id for c in clips) == [0, 1, 2, 3]
    for c in clips:
        assert c.images.shape[:2] == (3, 3) and c.images.shape[-2] <= 48 and c.images.shape[-1] <= 64
        assert len(set(c.instance_ids.tolist())) == len(c.instance_ids)
        assert all(0 <= label < len(CATEGORIES) for label in c.labels.tolist())
        assert torch.equal(c.boxes, boxes_from_masks(c.masks)[0])
        assert torch.equal(c.present, c.masks.flatten(2).any(-1))
    assert all(torch.equal(a.images, b.images) for a, b in zip(clips, run()))
