"""The track memory of RGNNVIS as fixed-size tensors with masks (Appendix A).

Up to ``M`` tracks per video (paper: 24) live in slots; ``alive`` marks the
occupied slots. A track is *active* when it matched a detection in the last
frame and *inactive* otherwise; inactive tracks stay in memory, keep taking
part in the graph and can be resumed. Tracks are never deleted (the paper did
not investigate track removal); when all slots are taken no track is added.

This module holds the state; the slot mechanics without learned parts (matching
tracks to detections from predicted probabilities, choosing which detections
initialise tracks, writing new tracks into free slots) are the shared ones of
:mod:`vistool.tracking.slots`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

@dataclass
class TrackState:
    """Batched track memory (B videos, M slots, D-dim embeddings, A-dim appearance).

    Attributes:
        alive: (B, M) bool, the slot holds a track.
        active: (B, M) bool, the track matched a detection in the last frame.
        embed, cell: (B, M, D) recurrent track embedding and LSTM cell.
        mean, var: (B, M, A) diagonal-Gaussian appearance model.
        box: (B, M, 4) xyxy box where the track was last seen.
        empty_embed, empty_cell: (B, 1, D) the empty track.
        empty_mean, empty_var: (B, 1, A) the scene appearance model.
        identity: (B, M) int64 annotated identity (training), -1 background.
        track_id: (B, M) int64 session track id (>= 1), 0 in free slots.
    """

    alive: Tensor
    active: Tensor
    embed: Tensor
    cell: Tensor
    mean: Tensor
    var: Tensor
    box: Tensor
    empty_embed: Tensor
    empty_cell: Tensor
    empty_mean: Tensor
    empty_var: Tensor
    identity: Tensor
    track_id: Tensor

    @classmethod
    def create(cls, batch: int, slots: int, empty_embed: Tensor, appearance_dim: int) -> "TrackState":
        """An empty memory; ``empty_embed`` (D,) is the empty track's initial embedding.

        The scene appearance model starts with zero mean and unit variance and
        is set from the first frame's scene appearance by the caller.
        """
        dim = empty_embed.shape[-1]
        like = empty_embed
        return cls(
            alive=torch.zeros(batch, slots, dtype=torch.bool, device=like.device),
            active=torch.zeros(batch, slots, dtype=torch.bool, device=like.device),
            embed=like.new_zeros(batch, slots, dim), cell=like.new_zeros(batch, slots, dim),
            mean=like.new_zeros(batch, slots, appearance_dim), var=like.new_ones(batch, slots, appearance_dim),
            box=like.new_zeros(batch, slots, 4),
            empty_embed=empty_embed.reshape(1, 1, dim).expand(batch, 1, dim),
            empty_cell=like.new_zeros(batch, 1, dim),
            empty_mean=like.new_zeros(batch, 1, appearance_dim), empty_var=like.new_ones(batch, 1, appearance_dim),
            identity=torch.full((batch, slots), -1, dtype=torch.int64, device=like.device),
            track_id=torch.zeros(batch, slots, dtype=torch.int64, device=like.device),
        )

    @property
    def slots(self) -> int:
        return int(self.alive.shape[1])

    def detach(self) -> "TrackState":
        """The same state cut from the autograd graph."""
        return replace(self, **{f.name: getattr(self, f.name).detach() for f in fields(self)})
