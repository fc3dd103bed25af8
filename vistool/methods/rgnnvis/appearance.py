"""Appearance of detections and the per-track diagonal-Gaussian appearance model.

Paper (Section 3.2, Eq. 4, Eq. 10, Table 8): 1x1 convolutions reduce the last
two backbone stages (conv4_x, conv5_x) to 256 channels each; DETR sine
positional encodings are added (RGNNVIS++); the maps are mask-pooled with
each detection's mask and concatenated (512) and a linear residual bottleneck
``Residual(512, 128)`` gives the appearance vector ``x``. The empty track
models the whole scene with average pooling instead of mask pooling.

Each track keeps a diagonal Gaussian (mu, Sigma): initialised with the
initialising detection's ``x`` and ``Sigma = sigma^2 I`` (``sigma^2``
learned), and updated with the best-matching detection by Eq. 4 with rates
``kappa``, ``nu`` and sample variance ``sigma~^2`` predicted by a linear layer
on the track embedding.

Choices where the paper is silent:
- The log-likelihood given to the GNN is the per-dimension mean of
  ``log N(x_d; mu_d, Sigma_d)`` (the sum divided by D), so its scale does not
  grow with D; it is clamped to [-50, 50].
- ``kappa``, ``nu`` pass through a sigmoid (rates in (0, 1)); ``sigma~^2`` and
  the initial ``sigma^2`` through softplus (positive); variances are floored at
  1e-4. The initial ``sigma^2`` is softplus(0.5413) = 1.
- Masks are the detector's soft masks (sigmoid of the mask logits, cropped to
  the box), area-resized to each feature map before pooling.
- The positional encoding has 256 channels per branch, normalised over the
  unpadded image region (DETR's convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vistool.models.gnn import ResidualMLP
from vistool.models.layers import sine_encoding_2d

VAR_FLOOR = 1e-4
LOGLIK_CLAMP = 50.0


class AppearanceNet(nn.Module):
    """Detection and scene appearance vectors from two backbone stages.

    Args:
        in_channels: channels of the two stages (conv4_x, conv5_x).
        branch_dim: channels after each 1x1 convolution (paper: 256).
        positional: add sine positional encodings before pooling (RGNNVIS++).
    """

    def __init__(self, in_channels: tuple[int, int], branch_dim: int = 256, positional: bool = True):
        super().__init__()
        self.proj = nn.ModuleList([nn.Conv2d(c, branch_dim, 1) for c in in_channels])
        self.branch_dim = branch_dim
        self.positional = positional
        self.phi = ResidualMLP(2 * branch_dim, 2 * branch_dim // 4)

    @property
    def out_dim(self) -> int:
        return 2 * self.branch_dim

    def _maps(self, feats: tuple[Tensor, Tensor], padding: Tensor) -> list[Tensor]:
        """Projected (and position-encoded) maps, one per stage: (B, D, h_k, w_k)."""
        maps = []
        for proj, feat in zip(self.proj, feats):
            fmap = proj(feat)
            if self.positional:
                pad = F.interpolate(padding[:, None].float(), size=fmap.shape[-2:], mode="nearest")[:, 0] > 0.5
                fmap = fmap + sine_encoding_2d(pad, self.branch_dim).to(fmap.dtype)
            maps.append(fmap)
        return maps

    def forward(self, feats: tuple[Tensor, Tensor], masks: Tensor, padding: Tensor) -> tuple[Tensor, Tensor]:
        """Appearance of every detection and of the scene.

        Args:
            feats: conv4_x (B, C4, h4, w4) and conv5_x (B, C5, h5, w5).
            masks: (B, N, Hm, Wm) soft detection masks in [0, 1].
            padding: (B, Hm, Wm) bool, True on padded (not image) pixels.

        Returns:
            x: (B, N, 2 * branch_dim) detection appearance;
            scene: (B, 2 * branch_dim) appearance of the unpadded image (average pooling).
        """
        pooled, scene = [], []
        valid = (~padding).float()[:, None]  # (B, 1, Hm, Wm)
        for fmap in self._maps(feats, padding):
            size = fmap.shape[-2:]
            m = F.adaptive_avg_pool2d(masks, size) if masks.shape[1] else masks.new_zeros(masks.shape[:2] + size)
            v = F.adaptive_avg_pool2d(valid, size)  # (B, 1, h, w)
            pooled.append(torch.einsum("bnhw,bchw->bnc", m, fmap) / m.sum((-2, -1))[..., None].clamp(min=1e-6))
            scene.append(torch.einsum("bhw,bchw->bc", v[:, 0], fmap) / v.sum((-3, -2, -1))[:, None].clamp(min=1e-6))
        return self.phi(torch.cat(pooled, -1)), self.phi(torch.cat(scene, -1))


def gaussian_log_likelihood(x: Tensor, mean: Tensor, var: Tensor) -> Tensor:
    """Per-dimension mean log-density of every appearance under every Gaussian.

    Args:
        x: (B, N, D) appearance vectors.
        mean, var: (B, M, D) diagonal Gaussians.

    Returns:
        (B, M, N): ``mean_d log N(x_nd; mean_md, var_md)``, clamped to [-50, 50].
    """
    var = var.clamp(min=VAR_FLOOR)
    diff2 = (x[:, None, :, :] - mean[:, :, None, :]) ** 2  # (B, M, N, D)
    ll = -0.5 * (torch.log(2 * math.pi * var)[:, :, None, :] + diff2 / var[:, :, None, :]).mean(-1)
    return ll.clamp(-LOGLIK_CLAMP, LOGLIK_CLAMP)


def gaussian_update(mean: Tensor, var: Tensor, x: Tensor, kappa: Tensor, nu: Tensor, sample_var: Tensor
                    ) -> tuple[Tensor, Tensor]:
    """Eq. 4: Bayesian-style update of a diagonal Gaussian with one observation.

    ``mu+ = kappa x + (1 - kappa) mu``;
    ``Sigma+ = nu Sigma~ + (1 - nu) Sigma + kappa (1 - nu) / (kappa + nu) (x - mu)^2``.

    Args:
        mean, var, x: (..., D).
        kappa, nu, sample_var: (..., 1) (broadcast over D).

    Returns:
        new (mean, var), (..., D).
    """
    new_mean = kappa * x + (1 - kappa) * mean
    spread = kappa * (1 - nu) / (kappa + nu).clamp(min=1e-6) * (x - mean) ** 2
    new_var = nu * sample_var + (1 - nu) * var + spread
    return new_mean, new_var.clamp(min=VAR_FLOOR)


@dataclass
class UpdateRates:
    """Predicted update of Eq. 4, each (..., 1): kappa, nu in (0, 1), sample_var > 0."""

    kappa: Tensor
    nu: Tensor
    sample_var: Tensor


class AppearanceUpdate(nn.Module):
    """Learned initial variance and the linear predictor of (kappa, nu, sigma~^2).

    Args:
        embed_dim: track embedding size.
    """

    def __init__(self, embed_dim: int):
        super().__init__()
        self.rates = nn.Linear(embed_dim, 3)
        self.init_var_raw = nn.Parameter(torch.tensor(math.log(math.e - 1.0)))  # softplus -> 1.0

    def initial_var(self, like: Tensor) -> Tensor:
        """``sigma^2`` broadcast to the shape of ``like`` (..., D)."""
        return F.softplus(self.init_var_raw).clamp(min=VAR_FLOOR).expand_as(like)

    def forward(self, embed: Tensor) -> UpdateRates:
        """(..., embed_dim) track embeddings -> their update rates."""
        raw = self.rates(embed)
        return UpdateRates(torch.sigmoid(raw[..., 0:1]), torch.sigmoid(raw[..., 1:2]),
                           F.softplus(raw[..., 2:3]) + VAR_FLOOR)
