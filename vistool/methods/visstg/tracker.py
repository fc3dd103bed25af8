"""Tracking by edges with an occlusion memory.

Reference instances are those of the previous frame plus the remembered ones:
an instance left unmatched keeps its identity, node features and filters for
at most ``memory_frames`` frames and joins the next graphs as a reference node
(where it was last seen). For every target instance, its edges from the
reference instances (those whose window holds its centre cell, on its level)
are pruned to the reference instances of its class; it keeps its
highest-scoring edge; an edge at or above ``threshold`` continues that
identity, else a new track starts. When two target instances keep edges to
the same reference instance, the higher edge wins and the other starts a new
track (the paper does not say).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class RefInstance:
    """A reference node: identity, class, per-level node vectors (L, D), CondInst filters (P,) at its centre
    cell, centre (2,) pixels, box (4,), frames since it was last matched (0: seen in the previous frame),
    and the level and (y, x) cell of its centre where it was last seen."""

    track_id: int
    label: int
    nodes: Tensor
    filters: Tensor
    centre: Tensor
    box: Tensor
    age: int = 0
    level: int = 0
    cell: tuple[int, int] = (0, 0)


def match_by_edges(scores: Tensor, ref_labels: Tensor, labels: Tensor, threshold: float) -> Tensor:
    """(N,) the reference instance each target instance continues, or -1.

    Args:
        scores: (M, N) edge scores (-inf where no edge); ref_labels: (M,); labels: (N,).
    """
    out = torch.full((scores.shape[1],), -1, dtype=torch.int64)
    if scores.numel() == 0:
        return out
    pruned = torch.where(ref_labels[:, None] == labels[None, :], scores, torch.full_like(scores, -float("inf")))
    best, ref = pruned.max(0)  # each target keeps its highest edge
    claimed: dict[int, tuple[float, int]] = {}
    for n in best.argsort(descending=True).tolist():
        if best[n] < threshold:
            continue
        if int(ref[n]) not in claimed:
            claimed[int(ref[n])] = (float(best[n]), n)
            out[n] = ref[n]
    return out


def carry_memory(refs: list[RefInstance], matched: set[int], memory_frames: int) -> list[RefInstance]:
    """The unmatched reference instances, one frame older, while at most ``memory_frames`` old."""
    kept = []
    for i, ref in enumerate(refs):
        if i in matched:
            continue
        ref.age += 1
        if ref.age <= memory_frames:
            kept.append(ref)
    return kept
