"""YouTube-VIS clips: identities, absent entries, frame sampling, loaders, sources."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vistool.data.dataset import YtvisClipDataset, load_clip, read_dataset, sample_frame_indices
from vistool.data.loader import build_clip_loader, collate_clips, dataset_categories, resolve_dataset
from vistool.errors import FormatError, InputError
from vistool.io import rle

H, W = 48, 64


def _rect(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """(H, W) mask with pixels x0..x1-1, y0..y1-1 set."""
    m = np.zeros((H, W), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def _uncompressed(mask: np.ndarray) -> dict:
    """Uncompressed RLE (column-major runs, starting with background)."""
    flat = mask.flatten(order="F").astype(np.uint8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0] + runs
    return {"size": [H, W], "counts": runs}


def _frame_value(video: int, frame: int) -> int:
    return 20 + 40 * video + 10 * frame


def make_dataset(root: Path) -> Path:
    """A split folder with 3 videos (5, 2 and 12 frames) and a crafted dataset JSON."""
    videos = [("vid_a", 5), ("vid_b", 2), ("vid_c", 12)]
    json_videos = []
    for v, (name, n) in enumerate(videos):
        (root / "JPEGImages" / name).mkdir(parents=True)
        names = []
        for f in range(n):
            img = np.zeros((H, W, 3), np.uint8)
            img[..., 2] = _frame_value(v, f)  # red channel in BGR order
            cv2.imwrite(str(root / "JPEGImages" / name / f"{f:05d}.jpg"), img)
            names.append(f"{name}/{f:05d}.jpg")
        json_videos.append({"id": v + 1, "width": W, "height": H, "length": n, "file_names": names})
    # Video 1: a box moving right (compressed RLE), a polygon object absent at frame 2
    # (null) and back at 3 (uncompressed RLE), and an object whose frame-0 RLE is empty.
    mover = [rle.encode(_rect(4 + 6 * f, 10, 14 + 6 * f, 20)) for f in range(5)]
    poly = [[40, 30, 56, 30, 56, 44, 40, 44]]
    blinker = [poly, poly, None, _uncompressed(_rect(41, 31, 55, 43)), poly]
    late = [rle.encode(np.zeros((H, W), bool))] + [rle.encode(_rect(0, 0, 3, 3))] * 4
    annotations = [
        {"id": 7, "video_id": 1, "category_id": 3, "iscrowd": 0, "segmentations": mover},
        {"id": 9, "video_id": 1, "category_id": 1, "iscrowd": 0, "segmentations": blinker},
        {"id": 11, "video_id": 1, "category_id": 1, "iscrowd": 0, "segmentations": late},
        {"id": 12, "video_id": 2, "category_id": 3, "iscrowd": 0,
         "segmentations": [rle.encode(_rect(1, 1, 9, 9)), rle.encode(_rect(2, 2, 10, 10))]},
    ]
    categories = [{"id": 3, "name": "cat", "supercategory": "a"}, {"id": 1, "name": "person", "supercategory": "a"}]
    path = root / "instances.json"
    path.write_text(json.dumps({"videos": json_videos, "categories": categories, "annotations": annotations}))
    return path


@pytest.fixture()
def split(tmp_path: Path) -> Path:
    make_dataset(tmp_path / "train")
    return tmp_path / "train"


def _video(split: Path, video_id: int):
    return next(v for v in read_dataset(split / "instances.json").videos if v.video_id == video_id)


def test_identities_absent_entries_and_boxes(split: Path) -> None:
    clip = load_clip(_video(split, 1), [0, 1, 2, 3, 4], split / "JPEGImages")
    assert clip.instance_ids.tolist() == [7, 9, 11]
    assert clip.labels.tolist() == [1, 0, 0]  # category ids sorted: 1 -> 0 (person), 3 -> 1 (cat)
    for f in range(5):  # frames in order, RGB
        assert abs(int(clip.images[f, 0].float().mean()) - _frame_value(0, f)) <= 3
        assert torch.equal(clip.masks[0, f], torch.from_numpy(_rect(4 + 6 * f, 10, 14 + 6 * f, 20)))
        assert clip.boxes[0, f].tolist() == [4 + 6 * f, 10, 14 + 6 * f, 20]
    assert clip.present[1].tolist() == [True, True, False, True, True]
    assert clip.boxes[1, 2].tolist() == [0, 0, 0, 0] and not clip.masks[1, 2].any()
    assert torch.equal(clip.masks[1, 3], torch.from_numpy(_rect(41, 31, 55, 43)))
    x0, y0, x1, y1 = clip.boxes[1, 0].tolist()  # polygon 40..56 x 30..44
    assert abs(x0 - 40) <= 1 and abs(y0 - 30) <= 1 and abs(x1 - 56) <= 1 and abs(y1 - 44) <= 1
    assert clip.present[2].tolist() == [False, True, True, True, True]  # empty RLE = absent
    for k in range(3):
        for f in range(5):
            assert bool(clip.masks[k, f].any()) == bool(clip.present[k, f])


def test_instances_absent_from_whole_clip_are_left_out(split: Path) -> None:
    clip = load_clip(_video(split, 1), [0], split / "JPEGImages")
    assert clip.instance_ids.tolist() == [7, 9]
    empty = load_clip(_video(split, 3), [0, 1], split / "JPEGImages")
    assert empty.masks.shape == (0, 2, H, W) and empty.boxes.shape == (0, 2, 4)


def test_gap_sampling_strides_fit_and_vary() -> None:
    strides = set()
    for s in range(200):
        frames = sample_frame_indices(12, 4, gap=3, generator=torch.Generator().manual_seed(s))
        steps = set(np.diff(frames).tolist())
        assert len(steps) == 1 and 1 <= steps.pop() <= 3
        assert frames[0] >= 0 and frames[-1] < 12
        strides.add(frames[1] - frames[0])
    assert strides == {1, 2, 3}
    for s in range(20):  # gap too large for the video: capped so the clip fits
        frames = sample_frame_indices(5, 4, gap=10, generator=torch.Generator().manual_seed(s))
        assert frames == [0, 1, 2, 3] or frames == [1, 2, 3, 4]
    assert sample_frame_indices(3, 1, gap=1, generator=torch.Generator().manual_seed(0))[0] in (0, 1, 2)


def test_short_video_repeats_frames_in_order(split: Path) -> None:
    assert sample_frame_indices(2, 4) == [0, 0, 1, 1]
    assert sample_frame_indices(3, 7) == [0, 0, 0, 1, 1, 2, 2]
    ds = YtvisClipDataset(split / "instances.json", clip_len=4)
    clip = ds[next(i for i in range(len(ds)) if ds.locate(i).video_id == 2)]  # the 2-frame video
    assert clip.video_id == 2 and clip.frame_indices == [0, 0, 1, 1]
    assert clip.boxes[0, :, 0].tolist() == [1, 1, 2, 2]
    assert clip.present.all()


def test_dataset_index_is_deterministic_and_weighted(split: Path) -> None:
    a = YtvisClipDataset(split / "instances.json", clip_len=3, gap=2, seed=5)
    b = YtvisClipDataset(split / "instances.json", clip_len=3, gap=2, seed=5)
    assert len(a) == 2 + 1 + 4  # ceil(5/3) + ceil(2/3) + ceil(12/3)
    assert [a.locate(i).video_id for i in range(len(a))] == [1, 1, 2, 3, 3, 3, 3]
    refs = [[a.locate(i, e).frame_indices for i in range(len(a))] for e in range(4)]
    assert refs == [[b.locate(i, e).frame_indices for i in range(len(b))] for e in range(4)]
    assert refs[0] != refs[1] or refs[1] != refs[2]  # epochs draw new frames
    assert torch.equal(a[(2, 3)].images, b[(2, 3)].images)


def test_loader_batches_are_padded_and_reproducible(split: Path) -> None:
    def run(seed: int) -> list[tuple[int, list[int]]]:
        loader = build_clip_loader(str(split), clip_len=3, batch_size=2, size=(32, 24), seed=seed)
        out = []
        for batch in loader:
            b, t, c, h, w = batch.images.shape
            assert t == 3 and c == 3 and h <= 24 and w <= 32 and batch.images.dtype == torch.uint8
            for i, s in enumerate(batch.samples):
                assert torch.equal(batch.images[i], s.images) and s.masks.shape[-2:] == (h, w)
                out.append((s.video_id, s.frame_indices))
        return out

    first = run(3)
    assert len(first) == 7 and first == run(3)
    assert first != run(4)


def test_collate_pads_bottom_right(split: Path) -> None:
    ds = YtvisClipDataset(split / "instances.json", clip_len=2)
    small = ds[0]
    big = ds[1]
    from vistool.data.transforms import resize_clip

    small = resize_clip(small, (24, 32))
    batch = collate_clips([small, big])
    assert batch.images.shape == (2, 2, 3, H, W)
    padded = batch.samples[0]
    assert torch.equal(padded.images[..., :24, :32], small.images)
    assert padded.images[..., 24:, :].eq(0).all() and padded.images[..., :, 32:].eq(0).all()
    assert padded.masks.shape[-2:] == (H, W) and not padded.masks[..., 24:, :].any()
    assert torch.equal(padded.boxes, small.boxes)


def test_sources_resolve_and_errors_name_the_path(split: Path, tmp_path: Path) -> None:
    json_path = split / "instances.json"
    assert resolve_dataset(str(split)) == (json_path, split / "JPEGImages")
    assert resolve_dataset(str(tmp_path), "train") == (json_path, split / "JPEGImages")
    assert resolve_dataset(str(json_path)) == (json_path, split / "JPEGImages")
    assert dataset_categories(str(tmp_path)) == ["person", "cat"]
    with pytest.raises(InputError, match="nowhere"):
        build_clip_loader(str(tmp_path / "nowhere"), 2, 1, (32, 24))
    with pytest.raises(InputError, match="'valid/'"):
        resolve_dataset(str(tmp_path), "valid")
    json_path.rename(split / "notes.txt")
    with pytest.raises(InputError, match="no dataset JSON"):
        resolve_dataset(str(split))
    with pytest.raises(InputError, match="unknown synthetic preset 'huge'"):
        build_clip_loader("synth:huge", 2, 1, (32, 24))
    with pytest.raises(InputError, match="batch size"):
        build_clip_loader("synth:standard", 2, 0, (32, 24))


def test_bad_json_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "JPEGImages").mkdir()
    bad = tmp_path / "instances.json"
    video = {"id": 1, "width": W, "height": H, "length": 1, "file_names": ["a/0.jpg"]}
    bad.write_text(json.dumps({"videos": [video], "categories": [{"id": 1, "name": "a"}],
                               "annotations": [{"id": 1, "video_id": 1, "category_id": 2, "segmentations": [None]}]}))
    with pytest.raises(FormatError, match=r"instances\.json: \$\.annotations\[0\]\.category_id"):
        build_clip_loader(str(tmp_path), 2, 1, (32, 24))
    bad.write_text("{")
    with pytest.raises(FormatError, match="instances.json"):
        read_dataset(bad)


def test_loader_epochs_advance_and_do_not_depend_on_workers(split: Path) -> None:
    def passes(workers: int) -> list[list[tuple[int, list[int], int]]]:
        loader = build_clip_loader(str(split), clip_len=3, batch_size=3, size=(32, 24), seed=9,
                                   workers=workers, gap=2)
        return [[(s.video_id, s.frame_indices, int(s.images.sum())) for b in loader for s in b.samples]
                for _ in range(2)]

    serial = passes(0)
    assert serial[0] != serial[1]  # each pass is a new epoch
    assert serial == passes(2)
