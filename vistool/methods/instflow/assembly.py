"""Instance-flow assembly (Eqs. 3-5): identities from per-instance flows matched against reference frames.

An instance m of the target frame has the flow ``f_m`` = mean over its pixels
of (inter-frame offset - intra-frame offset), i.e. where its centre was in the
reference frame relative to where it is now; the pixels are sampled at
uniform spacing (the paper's approximation). ``c_m + f_m`` is compared with
every instance centre of the reference frames (the video's first frame and the
``num_previous`` frames before the target); the nearest over all references
gives the identity, unless farther than ``max_distance`` (a new identity).
When two target instances claim one identity, the nearer keeps it and the other
looks further down its list (greedy by distance; the paper does not say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class ReferenceFrame:
    """What a past frame leaves in the memory: its index, instance centres (M, 2), their track ids (M,),
    and its encoder features (for the inter-frame decoder)."""

    index: int
    centres: Tensor
    track_ids: Tensor
    features: Any = None


def instance_flows(ids: Tensor, intra: Tensor, inter: Tensor, count: int, samples: int) -> Tensor:
    """(M, 2) flows of the instances ``1..count`` of an (h, w) id map, from (2, h, w) offset maps."""
    flows = intra.new_zeros((count, 2))
    residual = (inter - intra).flatten(1)  # (2, h*w)
    for m in range(count):
        cells = (ids.flatten() == m + 1).nonzero().flatten()
        if len(cells) == 0:
            continue
        if len(cells) > samples:
            cells = cells[torch.linspace(0, len(cells) - 1, samples).round().long()]
        flows[m] = residual[:, cells].mean(1)
    return flows


@dataclass
class Assembler:
    """The reference memory of one video and the matching rule.

    Attributes:
        num_previous: previous frames kept as references; use_first: keep the first frame too;
        max_distance: epsilon in input pixels.
    """

    num_previous: int
    use_first: bool
    max_distance: float
    first: ReferenceFrame | None = None
    previous: list[ReferenceFrame] = field(default_factory=list)

    def references(self) -> list[ReferenceFrame]:
        """The frames to match against, oldest first (the first frame once, even if it is also recent)."""
        refs = list(self.previous[-self.num_previous:]) if self.num_previous > 0 else []
        if self.use_first and self.first is not None and all(r.index != self.first.index for r in refs):
            refs = [self.first] + refs
        return refs

    def push(self, frame: ReferenceFrame) -> None:
        """Remember a processed frame."""
        if self.first is None:
            self.first = frame
        self.previous = (self.previous + [frame])[-max(self.num_previous, 1):]

    def assign(self, centres: Tensor, flows: list[Tensor], new_id) -> Tensor:
        """(M,) track ids of the target instances.

        Args:
            centres: (M, 2) target centres; flows: one (M, 2) flow per reference of :meth:`references`;
            new_id: callable giving a fresh track id.
        """
        refs = self.references()
        candidates = []  # (distance, instance, track id)
        for ref, flow in zip(refs, flows):
            if len(ref.centres) == 0 or len(centres) == 0:
                continue
            dist = torch.cdist(centres + flow, ref.centres.to(centres))  # (M, R)
            for m, r in (dist <= self.max_distance).nonzero().tolist():
                candidates.append((float(dist[m, r]), m, int(ref.track_ids[r])))
        out = torch.full((len(centres),), -1, dtype=torch.int64)
        taken: set[int] = set()
        for _, m, tid in sorted(candidates):
            if out[m] < 0 and tid not in taken:
                out[m] = tid
                taken.add(tid)
        for m in range(len(centres)):
            if out[m] < 0:
                out[m] = new_id()
        return out
