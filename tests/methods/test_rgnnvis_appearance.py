"""RGNNVIS appearance network and the diagonal-Gaussian appearance model (Eq. 4)."""

from __future__ import annotations

import math

import torch

from vistool.methods.rgnnvis.appearance import (AppearanceNet, AppearanceUpdate, gaussian_log_likelihood,
                                                gaussian_update)


def test_eq4_update_on_numbers_worked_by_hand():
    mean = torch.tensor([1.0, 2.0])
    var = torch.tensor([0.5, 1.0])
    x = torch.tensor([3.0, 0.0])
    kappa, nu, sample_var = torch.tensor([0.25]), torch.tensor([0.5]), torch.tensor([2.0])
    new_mean, new_var = gaussian_update(mean, var, x, kappa, nu, sample_var)
    # mu+ = 0.25 * [3, 0] + 0.75 * [1, 2] = [1.5, 1.5]
    assert torch.allclose(new_mean, torch.tensor([1.5, 1.5]))
    # Sigma+ = 0.5 * 2 + 0.5 * [0.5, 1] + (0.25 * 0.5 / 0.75) * [(3-1)^2, (0-2)^2]
    #        = 1 + [0.25, 0.5] + (1/6) * [4, 4] = [1.91667, 2.16667]
    assert torch.allclose(new_var, torch.tensor([1.0 + 0.25 + 4 / 6, 1.0 + 0.5 + 4 / 6]))


def test_eq4_limits():
    mean, var, x = torch.randn(3, 5), torch.rand(3, 5) + 0.5, torch.randn(3, 5)
    one, zero, s2 = torch.ones(3, 1), torch.zeros(3, 1), torch.full((3, 1), 0.7)
    m, v = gaussian_update(mean, var, x, kappa=zero, nu=zero + 1e-9, sample_var=s2)
    assert torch.allclose(m, mean) and torch.allclose(v, var, atol=1e-5)  # no update
    m, v = gaussian_update(mean, var, x, kappa=one, nu=one, sample_var=s2)
    assert torch.allclose(m, x) and torch.allclose(v, s2.expand(3, 5))  # replaced by the sample


def test_log_likelihood_is_mean_log_density():
    x = torch.tensor([[[1.0, 2.0]]])  # (B=1, N=1, D=2)
    mean = torch.zeros(1, 1, 2)
    var = torch.tensor([[[1.0, 4.0]]])
    ll = gaussian_log_likelihood(x, mean, var)
    by_hand = (-0.5 * (math.log(2 * math.pi) + 1.0) - 0.5 * (math.log(8 * math.pi) + 1.0)) / 2
    assert ll.shape == (1, 1, 1) and abs(float(ll) - by_hand) < 1e-5
    xs, means, vars_ = torch.randn(2, 3, 6), torch.randn(2, 4, 6), torch.rand(2, 4, 6) + 0.1
    ref = torch.distributions.Normal(means[:, :, None], vars_[:, :, None].sqrt()).log_prob(xs[:, None]).mean(-1)
    assert torch.allclose(gaussian_log_likelihood(xs, means, vars_), ref.clamp(-50, 50), atol=1e-5)


def test_update_predictor_ranges_and_learned_initial_variance():
    upd = AppearanceUpdate(8)
    rates = upd(torch.randn(5, 8) * 10)
    assert rates.kappa.shape == (5, 1)
    assert torch.all((rates.kappa > 0) & (rates.kappa < 1) & (rates.nu > 0) & (rates.nu < 1))
    assert torch.all(rates.sample_var > 0)
    assert torch.allclose(upd.initial_var(torch.zeros(2, 3)), torch.ones(2, 3))
    assert upd.init_var_raw.requires_grad


def _net(positional: bool) -> AppearanceNet:
    torch.manual_seed(0)
    return AppearanceNet((6, 10), branch_dim=8, positional=positional)


def test_mask_pooling_reads_only_inside_the_mask():
    net = _net(positional=True)
    c4, c5 = torch.randn(1, 6, 4, 4), torch.randn(1, 10, 2, 2)
    masks = torch.zeros(1, 2, 16, 16)
    masks[0, 0, :, :8] = 1.0  # left half
    masks[0, 1, :8, :] = 1.0  # top half
    padding = torch.zeros(1, 16, 16, dtype=torch.bool)
    x, scene = net((c4, c5), masks, padding)
    assert x.shape == (1, 2, 16) and scene.shape == (1, 16)
    c4b, c5b = c4.clone(), c5.clone()
    c4b[..., 2:] += 5.0  # change the right half only
    c5b[..., 1:] += 5.0
    x2, scene2 = net((c4b, c5b), masks, padding)
    assert torch.allclose(x[0, 0], x2[0, 0], atol=1e-5)
    assert not torch.allclose(x[0, 1], x2[0, 1], atol=1e-3)
    assert not torch.allclose(scene, scene2, atol=1e-3)


def test_scene_appearance_ignores_padding_and_positions_matter():
    net = _net(positional=False)
    c4, c5 = torch.randn(1, 6, 4, 4), torch.randn(1, 10, 2, 2)
    padding = torch.zeros(1, 16, 16, dtype=torch.bool)
    padding[0, 8:] = True  # bottom half is padding
    masks = torch.zeros(1, 1, 16, 16)
    _, scene = net((c4, c5), masks, padding)
    c4b, c5b = c4.clone(), c5.clone()
    c4b[..., 2:, :] = 100.0
    c5b[..., 1:, :] = 100.0
    _, scene2 = net((c4b, c5b), masks, padding)
    assert torch.allclose(scene, scene2, atol=1e-5)
    # With positional encodings, identical features at two places give two appearances.
    net_pe = _net(positional=True)
    flat4, flat5 = torch.ones(1, 6, 4, 4), torch.ones(1, 10, 2, 2)
    two = torch.zeros(1, 2, 16, 16)
    two[0, 0, :8, :8] = 1.0
    two[0, 1, 8:, 8:] = 1.0
    x, _ = net_pe((flat4, flat5), two, torch.zeros(1, 16, 16, dtype=torch.bool))
    assert not torch.allclose(x[0, 0], x[0, 1], atol=1e-3)
    x, _ = _net(positional=False)((flat4, flat5), two, torch.zeros(1, 16, 16, dtype=torch.bool))
    assert torch.allclose(x[0, 0], x[0, 1], atol=1e-5)
