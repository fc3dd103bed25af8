"""Lovász hinge / softmax (vistool.models.lovasz) against the Jaccard loss they extend."""

from __future__ import annotations

import itertools

import torch

from vistool.models.lovasz import jaccard_steps, lovasz_hinge, lovasz_softmax


def _jaccard_loss(pred: torch.Tensor, gt: torch.Tensor) -> float:
    inter = (pred & gt).sum().item()
    union = (pred | gt).sum().item()
    return 1.0 - inter / union if union else 0.0


def test_extension_equals_jaccard_loss_on_binary_error_vectors():
    gt = torch.tensor([1, 1, 0, 1, 0, 0], dtype=torch.bool)
    for errs in itertools.product([0, 1], repeat=6):
        wrong = torch.tensor(errs, dtype=torch.bool)
        pred = gt ^ wrong  # prediction with exactly these pixels wrong
        # Lovász extension of the Jaccard loss at the indicator vector of the mispredicted set.
        m = wrong.float()
        order = torch.argsort(m, descending=True, stable=True)
        value = float(torch.dot(m[order], jaccard_steps(gt[order])))
        assert abs(value - _jaccard_loss(pred, gt)) < 1e-6, errs


def test_hinge_is_zero_for_confident_correct_logits_and_positive_otherwise():
    labels = torch.tensor([[1, 0, 1, 0]])
    good = torch.tensor([[3.0, -2.0, 1.5, -4.0]])
    assert float(lovasz_hinge(good, labels)) == 0.0
    bad = torch.tensor([[-1.0, 2.0, 0.2, -4.0]], requires_grad=True)
    loss = lovasz_hinge(bad, labels)
    assert float(loss.detach()) > 0
    loss.backward()
    assert bad.grad[0, 0] < 0 and bad.grad[0, 1] > 0  # push the positive up and the negative down


def test_softmax_zero_at_perfect_prediction_and_present_classes_only():
    labels = torch.tensor([[[0, 0, 2], [2, 2, 0]]])  # class 1 absent
    probs = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    assert float(lovasz_softmax(probs, labels)) == 0.0
    uniform = torch.full((1, 3, 2, 3), 1 / 3)
    # Classes 0 and 2 each own 3 of 6 pixels: errors 2/3 on them, 1/3 elsewhere; the Jaccard
    # steps along that order are [1/3, 1/3, 1/3, 0, 0, 0], so each class loses 2/3.
    assert abs(float(lovasz_softmax(uniform, labels)) - 2 / 3) < 1e-6
    # The absent class 1 (all errors 1/3, steps [1, 0, ...]) loses 1/3; "all" averages three classes.
    assert abs(float(lovasz_softmax(uniform, labels, classes="all")) - 5 / 9) < 1e-6


def test_softmax_ignores_ignore_index_and_has_gradients():
    labels = torch.tensor([[[0, 1], [255, 1]]])
    logits = torch.randn(1, 2, 2, 2, requires_grad=True)
    loss = lovasz_softmax(logits.softmax(1), labels, ignore_index=255)
    loss.backward()
    assert logits.grad[0, :, 1, 0].abs().sum() == 0  # the ignored pixel gets no gradient
    assert logits.grad.abs().sum() > 0
