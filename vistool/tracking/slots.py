"""Slot memories: a fixed number of track slots per video, matched to a frame's detections.

Pure tensor mechanics shared by trackers that keep tracks in fixed-size slot
tensors (B videos, M slots, N detections): picking each track's detection
from match probabilities, making those matches exclusive, writing new tracks
into free slots, and gathering/scattering per-slot rows. Index ``-1``
(:data:`NO_DETECTION`) means "none" everywhere.
"""

from __future__ import annotations

import torch
from torch import Tensor

NO_DETECTION = -1


def associate(match_prob: Tensor, pair_valid: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """Best detection of every track, kept when its probability reaches ``threshold``.

    Tracks and detections are independent binary problems (Eq. 3): a
    detection may go to several tracks. A track whose best detection is below
    the threshold matches nothing (it becomes inactive).

    Args:
        match_prob: (B, M, N) match probabilities.
        pair_valid: (B, M, N) bool, alive track x valid detection.
        threshold: least probability of a match (paper: 0.31).

    Returns:
        best: (B, M) int64 detection index or -1; matched: (B, M) bool.
    """
    b, m, n = match_prob.shape
    if n == 0:
        return torch.full((b, m), NO_DETECTION, dtype=torch.int64, device=match_prob.device), \
            torch.zeros(b, m, dtype=torch.bool, device=match_prob.device)
    prob = torch.where(pair_valid, match_prob, torch.full_like(match_prob, -1.0))
    best_prob, best = prob.max(dim=2)
    matched = best_prob >= threshold
    return torch.where(matched, best, torch.full_like(best, NO_DETECTION)), matched


def keep_best_claimant(match_prob: Tensor, best: Tensor, matched: Tensor) -> tuple[Tensor, Tensor]:
    """Make :func:`associate`'s matches exclusive: a detection that several tracks matched stays with the
    track of the highest match probability (ties keep all); the others match nothing this frame.

    Args:
        match_prob: (B, M, N); best: (B, M) detection or -1; matched: (B, M) bool.

    Returns:
        best, matched as :func:`associate` gives them.
    """
    n = match_prob.shape[2]
    if n == 0:
        return best, matched
    target = torch.where(matched, best, torch.full_like(best, n))  # unmatched tracks point at a spare column
    prob = torch.where(matched, match_prob.gather(2, best.clamp(min=0)[..., None])[..., 0],
                       torch.full_like(best, -1.0, dtype=match_prob.dtype))
    top = prob.new_full((prob.shape[0], n + 1), -1.0).scatter_reduce(1, target, prob, reduce="amax")
    matched = matched & (prob >= top.gather(1, target))
    return torch.where(matched, best, torch.full_like(best, NO_DETECTION)), matched


def allocate(init_prob: Tensor, det_valid: Tensor, alive: Tensor, threshold: float) -> Tensor:
    """Which detections initialise new tracks, and in which free slots.

    Detections with init probability >= ``threshold`` are taken in decreasing
    probability and written into the lowest free slots until the memory is
    full; the others initialise nothing.

    Args:
        init_prob: (B, N); det_valid: (B, N) bool; alive: (B, M) bool.
        threshold: paper: 0.13 in training, 0.31 at inference.

    Returns:
        (B, N) int64 slot of the new track, or -1.
    """
    bsz, n = init_prob.shape
    slot_of = torch.full((bsz, n), NO_DETECTION, dtype=torch.int64, device=init_prob.device)
    wants = det_valid & (init_prob >= threshold)
    for b in range(bsz):
        free = (~alive[b]).nonzero().flatten()
        cand = wants[b].nonzero().flatten()
        if len(free) == 0 or len(cand) == 0:
            continue
        cand = cand[torch.argsort(init_prob[b, cand], descending=True)][: len(free)]
        slot_of[b, cand] = free[: len(cand)]
    return slot_of


def gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """``values[b, index[b, m]]`` for every (b, m); rows for index -1 are zeros.

    Args:
        values: (B, N, ...); index: (B, M) int64 in [-1, N).

    Returns:
        (B, M, ...).
    """
    b, m = index.shape
    if values.shape[1] == 0:
        return values.new_zeros((b, m) + tuple(values.shape[2:]))
    safe = index.clamp(min=0)
    expand = safe.reshape(b, m, *([1] * (values.ndim - 2))).expand(b, m, *values.shape[2:])
    out = torch.gather(values, 1, expand)
    keep = (index >= 0).reshape(b, m, *([1] * (values.ndim - 2)))
    return out * keep.to(out.dtype) if out.is_floating_point() else torch.where(keep, out, torch.zeros_like(out))


def scatter_new(slot_of: Tensor, slots: int) -> Tensor:
    """Invert ``slot_of``: for every slot the detection that initialised it this frame, or -1.

    Any (B, N) map into [0, slots) inverts the same way (where several entries map to one
    target, one of them is given): e.g. ``best`` (B, M) -> a track holding each detection.

    Args:
        slot_of: (B, N) int64 slot per detection or -1.

    Returns:
        (B, M) int64 detection index per slot or -1.
    """
    b, n = slot_of.shape
    det_of = torch.full((b, slots + 1), NO_DETECTION, dtype=torch.int64, device=slot_of.device)
    target = torch.where(slot_of >= 0, slot_of, torch.full_like(slot_of, slots))
    det_of.scatter_(1, target, torch.arange(n, device=slot_of.device).expand(b, n).clone())
    return det_of[:, :slots]


def where_slots(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per-slot select: ``new`` where ``mask`` (B, M) is True, else ``old``; (B, M, ...) tensors."""
    return torch.where(mask.reshape(mask.shape + (1,) * (new.ndim - 2)), new, old)
