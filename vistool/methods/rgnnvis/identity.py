"""Identity assignment of detections and tracks for the RGNNVIS losses (Section 3.5, Fig. 6).

Identities are indices into the K annotated instances of a training clip
(stable across its frames); ``-1`` is background.

- A detection claims an annotated object of its frame when their boxes
  overlap by IoU >= 0.5; when several detections overlap one object only the
  best one (highest IoU) claims it. Pairs are taken greedily in decreasing
  IoU (:func:`vistool.models.matching.greedy_match`), so every object has at
  most one detection and every detection at most one object.
- A track claims the identity of the detection that initialised it; when an
  object is already held by a track in memory (initialised earlier), the
  newcomer is background. Among tracks initialised in the same frame the one
  in the lower memory slot wins (it cannot happen with the detection rule
  above, since two detections never share an object).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import box_iou

from vistool.models.matching import greedy_match

BACKGROUND = -1


def detection_identities(det_boxes: Tensor, det_valid: Tensor, gt_boxes: Tensor, gt_present: Tensor,
                         iou_threshold: float = 0.5) -> Tensor:
    """The annotated object each detection of one frame claims.

    Args:
        det_boxes: (N, 4) xyxy; det_valid: (N,) bool.
        gt_boxes: (K, 4) xyxy; gt_present: (K,) bool (object annotated in this frame).
        iou_threshold: least box IoU to claim an object.

    Returns:
        (N,) int64 object index in [0, K) or -1.
    """
    n, k = det_boxes.shape[0], gt_boxes.shape[0]
    out = torch.full((n,), BACKGROUND, dtype=torch.int64, device=det_boxes.device)
    if n == 0 or k == 0:
        return out
    iou = box_iou(det_boxes.float(), gt_boxes.float())  # (N, K)
    ok = det_valid[:, None] & gt_present[None, :] & (iou >= iou_threshold)
    rows, cols = greedy_match(torch.where(ok, iou, torch.full_like(iou, -float("inf"))), threshold=-1.0)
    out[rows] = cols
    return out


def batch_detection_identities(det_boxes: Tensor, det_valid: Tensor, gt_boxes: list[Tensor],
                               gt_present: list[Tensor], iou_threshold: float = 0.5) -> Tensor:
    """:func:`detection_identities` for a batch.

    Args:
        det_boxes: (B, N, 4); det_valid: (B, N).
        gt_boxes: B tensors (K_b, 4); gt_present: B tensors (K_b,).

    Returns:
        (B, N) int64.
    """
    rows = [detection_identities(det_boxes[b], det_valid[b], gt_boxes[b], gt_present[b], iou_threshold)
            for b in range(det_boxes.shape[0])]
    return torch.stack(rows) if rows else det_boxes.new_zeros((0, det_boxes.shape[1]), dtype=torch.int64)


def new_track_identities(track_identity: Tensor, track_alive: Tensor, new_slot: Tensor, det_identity: Tensor
                         ) -> Tensor:
    """Track identities after this frame's initialisations.

    Args:
        track_identity: (B, M) int64 identities of the tracks in memory (-1 background).
        track_alive: (B, M) bool slots holding a track before this frame's initialisations.
        new_slot: (B, N) int64 slot each detection initialised, -1 if none.
        det_identity: (B, N) int64 identities of the detections.

    Returns:
        (B, M) int64: old identities kept, new tracks given their detection's
        identity unless a track in memory (or a lower slot of this frame)
        already holds it.
    """
    out = torch.where(track_alive, track_identity, torch.full_like(track_identity, BACKGROUND))
    pairs = sorted((b, int(new_slot[b, n]), n) for b, n in (new_slot >= 0).nonzero().tolist())
    for b, slot, n in pairs:  # lower slots first: they win ties within a frame
        ident = int(det_identity[b, n])
        held = ident != BACKGROUND and bool((out[b] == ident).any())
        out[b, slot] = BACKGROUND if held or ident == BACKGROUND else ident
    return out


def init_targets(det_identity: Tensor, track_identity: Tensor, track_alive: Tensor) -> Tensor:
    """L_init targets: the detection claims an object that no track in memory holds yet.

    Args:
        det_identity: (B, N) int64.
        track_identity, track_alive: (B, M) memory before this frame's initialisations.

    Returns:
        (B, N) float {0, 1}.
    """
    held = (det_identity[:, :, None] == track_identity[:, None, :]) & track_alive[:, None, :]  # (B, N, M)
    return ((det_identity >= 0) & ~held.any(-1)).float()


def match_targets(track_identity: Tensor, det_identity: Tensor) -> Tensor:
    """L_match targets: track and detection share an annotated identity.

    Args:
        track_identity: (B, M); det_identity: (B, N).

    Returns:
        (B, M, N) float {0, 1}.
    """
    same = track_identity[:, :, None] == det_identity[:, None, :]
    return (same & (track_identity[:, :, None] >= 0)).float()
