"""Per-frame view of a video's tracks: who is present in each frame and their mask IoUs.

The frame-level metrics (HOTA in :mod:`vistool.eval.hota`, identity errors in
:mod:`vistool.eval.identity`) match masks frame by frame, unlike the video-level
AP. A :class:`FrameTable` holds what they need for one video: for every frame
the ground-truth and predicted tracks present there (a track is present where
its segmentation is not null; an empty mask is present with area 0) and their
mask IoUs, computed once over all categories and cut per category with
:meth:`FrameTable.only`.

Example::

    tables = frame_tables(load_dataset("gt.json"), load_results("res.json"))
    print(tables[0].num_frames, tables[0].ious[0].shape)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vistool.errors import InputError
from vistool.io import rle as rle_io
from vistool.io.ytvis import ResultTrack, YtvisAnnotation, YtvisDataset, YtvisVideo


@dataclass
class FrameTable:
    """One video's tracks frame by frame.

    Attributes:
        video_id / name: the video (name: the folder of its first frame file, else ``str(video_id)``).
        gt_ids: (G,) annotation ids of the ground-truth tracks, file order.
        gt_categories / pred_categories: (G,), (P,) category ids.
        gt_present / pred_present: per frame, the (n_t,) indices of the tracks present there.
        ious: per frame, the (g_t, p_t) mask IoUs of the present tracks (0 where both masks are empty).
    """

    video_id: int
    name: str
    num_frames: int
    gt_ids: np.ndarray
    gt_categories: np.ndarray
    pred_categories: np.ndarray
    gt_present: list[np.ndarray]
    pred_present: list[np.ndarray]
    ious: list[np.ndarray]

    @property
    def num_gt(self) -> int:
        return len(self.gt_ids)

    @property
    def num_pred(self) -> int:
        return len(self.pred_categories)

    def only(self, category_id: int) -> "FrameTable":
        """The same table restricted to the tracks (both sides) of one category; indices stay global."""
        gt_keep = self.gt_categories == category_id
        pred_keep = self.pred_categories == category_id
        gt_present, pred_present, ious = [], [], []
        for g, p, iou in zip(self.gt_present, self.pred_present, self.ious):
            gk, pk = gt_keep[g], pred_keep[p]
            gt_present.append(g[gk])
            pred_present.append(p[pk])
            ious.append(iou[np.ix_(gk, pk)])
        return FrameTable(self.video_id, self.name, self.num_frames, self.gt_ids, self.gt_categories,
                          self.pred_categories, gt_present, pred_present, ious)


def video_name(video: YtvisVideo) -> str:
    """The folder of a video's first frame file (YouTube-VIS names videos so), else its id."""
    if video.file_names and "/" in video.file_names[0]:
        return video.file_names[0].split("/")[0]
    return str(video.id)


def frame_tables(gt: YtvisDataset, results: Sequence[ResultTrack]) -> list[FrameTable]:
    """One :class:`FrameTable` per ground-truth video, by ascending video id.

    Results whose category is not a ground-truth category are left out.

    Raises:
        InputError: a result or annotation names a video that is not in ``gt``.
    """
    videos = gt.videos_by_id()
    categories = {c.id for c in gt.categories}
    gts: dict[int, list[YtvisAnnotation]] = defaultdict(list)
    preds: dict[int, list[ResultTrack]] = defaultdict(list)
    for ann in gt.annotations:
        if ann.video_id not in videos:
            raise InputError(f"ground-truth annotation {ann.id} refers to video {ann.video_id}, "
                             "which is not in the dataset's videos")
        gts[ann.video_id].append(ann)
    for track in results:
        if track.video_id not in videos:
            raise InputError(f"results do not correspond to the ground truth: video_id {track.video_id} "
                             "is not a video of the ground-truth dataset")
        if track.category_id in categories:
            preds[track.video_id].append(track)
    return [_table(videos[vid], gts[vid], preds[vid]) for vid in sorted(videos)]


def _table(video: YtvisVideo, gts: list[YtvisAnnotation], preds: list[ResultTrack]) -> FrameTable:
    gt_present, pred_present, ious = [], [], []
    for t in range(video.length):
        g = [i for i, a in enumerate(gts) if t < len(a.segmentations) and a.segmentations[t] is not None]
        p = [j for j, r in enumerate(preds) if t < len(r.segmentations) and r.segmentations[t] is not None]
        gt_present.append(np.asarray(g, dtype=np.int64))
        pred_present.append(np.asarray(p, dtype=np.int64))
        ious.append(rle_io.ious([gts[i].segmentations[t] for i in g], [preds[j].segmentations[t] for j in p]))
    return FrameTable(
        video_id=video.id, name=video_name(video), num_frames=video.length,
        gt_ids=np.asarray([a.id for a in gts], dtype=np.int64),
        gt_categories=np.asarray([a.category_id for a in gts], dtype=np.int64),
        pred_categories=np.asarray([r.category_id for r in preds], dtype=np.int64),
        gt_present=gt_present, pred_present=pred_present, ious=ious)
