"""Clips from the bundled demo data (examples/demo): identities hold through a full occlusion."""

from __future__ import annotations

from pathlib import Path

import torch

from vistool.data.dataset import YtvisClipDataset, load_clip, read_dataset
from vistool.data.loader import build_clip_loader, dataset_categories, resolve_dataset
from vistool.data.transforms import boxes_from_masks
from vistool.io import rle

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def _gap_frames(segmentations: list) -> list[int] | None:
    """[last present, first absent, next present] around the first absence between presences."""
    present = [s is not None and rle.area(s) > 0 for s in segmentations]
    for f in range(1, len(present) - 1):
        if present[f - 1] and not present[f] and any(present[f + 1:]):
            back = f + 1 + present[f + 1:].index(True)
            return [f - 1, f, back]
    return None


def test_demo_clip_keeps_identity_through_an_absence() -> None:
    json_path, image_root = resolve_dataset(str(DEMO), "valid")
    assert json_path == DEMO / "valid" / "instances.json"
    data = read_dataset(json_path)
    found = [(v, t, _gap_frames(t.segmentations)) for v in data.videos for t in v.tracks]
    video, track, frames = next((v, t, f) for v, t, f in found if f is not None)
    clip = load_clip(video, frames, image_root)
    row = clip.instance_ids.tolist().index(track.instance_id)
    assert clip.present[row].tolist() == [True, False, True]
    assert clip.labels[row] == track.label and not clip.masks[row, 1].any()
    for t in (0, 2):
        expected = torch.from_numpy(rle.decode(track.segmentations[frames[t]]))
        assert torch.equal(clip.masks[row, t], expected)
    assert torch.equal(clip.boxes, boxes_from_masks(clip.masks)[0])
    assert len(set(clip.instance_ids.tolist())) == len(clip.instance_ids)


def test_demo_loader_gives_consistent_clips() -> None:
    assert dataset_categories(str(DEMO), "valid") == read_dataset(DEMO / "valid" / "instances.json").categories
    ds = YtvisClipDataset(DEMO / "valid" / "instances.json", clip_len=4, gap=3, seed=2)
    assert [ds.locate(i).video_id for i in range(len(ds))].count(ds.videos[-1].video_id) == \
        -(-len(ds.videos[-1].file_names) // 4)  # longer videos give more clips
    loader = build_clip_loader(str(DEMO), clip_len=4, batch_size=2, size=(192, 108), seed=2, split="valid")
    batch = next(iter(loader))
    assert batch.images.shape[:3] == (2, 4, 3) and batch.images.shape[-2] <= 108
    for s in batch.samples:
        assert torch.equal(s.boxes, boxes_from_masks(s.masks)[0])
        assert s.present.any(dim=1).all()
