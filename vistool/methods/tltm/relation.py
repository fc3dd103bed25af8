"""Object level of TLTM: the object encoder and the fully connected GNN over two frames' objects.

Encoder (Eq. 2): pooled object features (K, C, R, R) -> a two-layer CNN (3x3
conv + ReLU, 3x3 stride-2 conv + ReLU) -> flattened -> an MLP -> latent z (K, D),
the same weights for frames t and t+1.

GNN (Eqs. 3-4, C-SWM style, one message-passing step): nodes are the objects
of both frames, fully connected; ``e_ij = f_e([z_i, z_j])`` for every ordered
pair i != j, ``dz_j = f_n([z_j, sum_i e_ij])`` and the residual update
``z'_j = z_j + dz_j``. The edge predictor is an MLP with a sigmoid on the
concatenated updated features of a frame-t node and a frame-(t+1) node
(``[z'_i, z'_j]``, the authors' configuration). MLPs are Linear-ReLU-Linear-
LayerNorm-ReLU-Linear as in the authors' configuration.

Transition term (the paper implies it, gives no form; chosen here): C-SWM's
contrastive energy: for object k seen in both frames, ``d(z_t^k + dz_t^k,
z_{t+1}^k)`` (squared distance / 2) is pulled down and, for every other
frame-(t+1) object j, ``max(0, 1 - d(z_t^k + dz_t^k, z_{t+1}^j))`` (averaged over
those j) keeps the latents from collapsing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def mlp(din: int, hidden: int, dout: int) -> nn.Sequential:
    """Linear-ReLU-Linear-LayerNorm-ReLU-Linear."""
    return nn.Sequential(nn.Linear(din, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden),
                         nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dout))


class ObjectEncoder(nn.Module):
    """(K, C, R, R) pooled features -> (K, latent_dim)."""

    def __init__(self, in_channels: int, channels: int, roi_size: int, latent_dim: int, hidden: int):
        super().__init__()
        self.convs = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                   nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(inplace=True))
        side = (roi_size + 1) // 2
        self.mlp = mlp(channels * side * side, hidden, latent_dim)

    def forward(self, rois: Tensor) -> Tensor:
        return self.mlp(self.convs(rois).flatten(1))


class ObjectGraph(nn.Module):
    """One message-passing step over the objects of two frames, then edge scores between them."""

    def __init__(self, latent_dim: int, hidden: int):
        super().__init__()
        self.edge = mlp(2 * latent_dim, hidden, hidden)
        self.node = mlp(latent_dim + hidden, hidden, latent_dim)
        self.predictor = mlp(2 * latent_dim, hidden, 1)

    def message_pass(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """(N, D) nodes -> (N, D) updated nodes and (N, D) the transitions dz."""
        n = z.shape[0]
        pairs = torch.cat([z[:, None].expand(n, n, -1), z[None].expand(n, n, -1)], -1)  # (i, j): [z_i, z_j]
        edges = self.edge(pairs) * (1 - torch.eye(n, device=z.device, dtype=z.dtype))[..., None]
        dz = self.node(torch.cat([z, edges.sum(0)], -1))  # messages summed over senders i for receiver j
        return z + dz, dz

    def forward(self, z_t: Tensor, z_next: Tensor) -> tuple[Tensor, Tensor]:
        """Latents (M, D) of frame t and (N, D) of t+1 -> (M, N) edge logits and (M, D) transitions of frame t."""
        m = z_t.shape[0]
        updated, dz = self.message_pass(torch.cat([z_t, z_next], 0))
        a, b = updated[:m], updated[m:]
        pairs = torch.cat([a[:, None].expand(-1, len(b), -1), b[None].expand(m, -1, -1)], -1)
        return self.predictor(pairs)[..., 0], dz[:m]


def transition_loss(z_t: Tensor, dz_t: Tensor, z_next: Tensor, pairs: Tensor, margin: float = 1.0) -> Tensor:
    """C-SWM contrastive transition energy (see the module docstring).

    Args:
        z_t, dz_t: (M, D) frame-t latents and their transitions; z_next: (N, D) frame-(t+1) latents.
        pairs: (P, 2) long (i in frame t, j in frame t+1) of the same object.
    """
    if len(pairs) == 0:
        return z_t.sum() * 0.0 + dz_t.sum() * 0.0
    moved = z_t[pairs[:, 0]] + dz_t[pairs[:, 0]]  # (P, D)
    energy = 0.5 * (moved[:, None] - z_next[None]).pow(2).sum(-1)  # (P, N)
    positive = energy[torch.arange(len(pairs)), pairs[:, 1]]
    negative = torch.clamp(margin - energy, min=0)
    negative[torch.arange(len(pairs)), pairs[:, 1]] = 0
    return positive.mean() + negative.sum(1).mean() / max(z_next.shape[0] - 1, 1)
