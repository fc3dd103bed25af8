"""TLTM's online association: MaskTrack R-CNN's score with the GNN's edge scores, and the IoU baseline.

For every detection n of the new frame and every track i of the memory
(MaskTrack R-CNN, Yang et al. 2019, with the edge score in place of its
embedding likelihood, as the paper does)::

    v_i(n) = log p_i(n) + a log s_n + b IoU(box_i, box_n) + c [class_i == class_n]

where p_i(n) is the sigmoid edge score between track i's latent and
detection n's latent. The "new object" option scores ``new_object_score + a
log s_n + c``: an edge probability of exp(new_object_score) (0.5 by default),
no box overlap and the class term of a same-class track, so the class term
alone never decides between linking and a new track (MaskTrack R-CNN gives its
new-object option the class term likewise). Pairs are accepted greedily, best
first; each track takes at most one detection per frame; a detection whose best
remaining option is "new object" starts a new track. Edge scores below
``min_edge`` never link. Tracks stay in the memory (MaskTrack R-CNN's memory of
the tracks seen) for ``max_age`` frames unseen (0: for ever) and keep the
latent, box and class of their last detection.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou

from vistool.methods.tltm.config import AssociationConfig


def masktrack_scores(edge_prob: Tensor, det_scores: Tensor, ious: Tensor, same_class: Tensor,
                     cfg: AssociationConfig) -> tuple[Tensor, Tensor]:
    """Scores of linking and of the new-object option.

    Args:
        edge_prob: (T, N) edge scores in (0, 1); det_scores: (N,); ious: (T, N); same_class: (T, N) bool.

    Returns:
        (T, N) link scores (-inf where the edge is below ``min_edge``) and (N,) new-object scores.
    """
    a, b, c = cfg.coefficients
    det_term = a * det_scores.clamp(min=1e-6).log()  # (N,)
    link = edge_prob.clamp(min=1e-6).log() + det_term[None] + b * ious + c * same_class.to(ious.dtype)
    link = torch.where(edge_prob >= cfg.min_edge, link, torch.full_like(link, -float("inf")))
    return link, cfg.new_object_score + det_term + c


def greedy_links(link: Tensor, new: Tensor) -> Tensor:
    """(T, N) link scores and (N,) new-object scores -> (N,) int64 track of each detection or -1 (new).

    Highest scores first; a pair is taken when it beats the detection's new-object score and neither
    its track nor its detection is taken yet.
    """
    out = torch.full((link.shape[1],), -1, dtype=torch.int64)
    if link.numel() == 0:
        return out
    order = torch.argsort(link.flatten().cpu(), descending=True).tolist()
    values, new_cpu = link.flatten().cpu().tolist(), new.cpu().tolist()
    used_tracks: set[int] = set()
    n = link.shape[1]
    for flat in order:
        track, det = divmod(flat, n)
        if values[flat] <= new_cpu[det] or values[flat] == -float("inf"):
            continue
        if track in used_tracks or out[det] >= 0:
            continue
        out[det] = track
        used_tracks.add(track)
    return out


def gnn_assign(edge_prob: Tensor, det_scores: Tensor, det_boxes: Tensor, det_labels: Tensor,
               track_boxes: Tensor, track_labels: Tensor, cfg: AssociationConfig) -> Tensor:
    """(N,) track index of every detection (-1: new track) from the (T, N) edge scores."""
    if len(track_boxes) == 0 or len(det_boxes) == 0:
        return torch.full((len(det_boxes),), -1, dtype=torch.int64)
    ious = box_iou(track_boxes.float(), det_boxes.float())
    same = track_labels[:, None] == det_labels[None, :]
    link, new = masktrack_scores(edge_prob, det_scores, ious, same, cfg)
    return greedy_links(link, new)
