"""Lovász hinge and Lovász-softmax losses (Berman et al., CVPR 2018).

The Jaccard loss ``1 - |y ∩ ŷ| / |y ∪ ŷ|`` of a set of mispredicted pixels is
submodular; its Lovász extension is a piecewise-linear, convex surrogate that
is evaluated on a vector of per-pixel errors ``m`` by sorting the errors in
decreasing order and taking the dot product with the discrete gradient of the
Jaccard loss along that order:

``loss(m) = sum_i m_(i) * (J(i) - J(i - 1))``, where ``J(i)`` is the Jaccard
loss when the ``i`` largest-error pixels are mispredicted.

Binary case (:func:`lovasz_hinge`): errors are the hinge ``1 - s * y`` with
signs ``y`` in {-1, +1} and logits ``s``, passed through ReLU. Multi-class case
(:func:`lovasz_softmax`): for every class the errors are ``|[label == c] - p_c|``
with softmax probabilities ``p``; the class losses are averaged.
"""

from __future__ import annotations

import torch
from torch import Tensor


def jaccard_steps(gt_sorted: Tensor) -> Tensor:
    """Discrete gradient of the Jaccard loss along a sorted pixel order.

    Args:
        gt_sorted: (P,) {0, 1} ground truth, ordered by decreasing error.

    Returns:
        (P,) float: ``J(i) - J(i-1)`` where ``J(i)`` is the Jaccard loss when
        the first ``i`` pixels of the order are mispredicted (``J(0) = 0``).
    """
    gt = gt_sorted.float()
    total = gt.sum()
    # Mispredicting the first i pixels: positives among them leave the
    # intersection, negatives among them join the union.
    intersection = total - gt.cumsum(0)
    union = total + (1.0 - gt).cumsum(0)
    jaccard = 1.0 - intersection / union
    steps = jaccard.clone()
    if steps.numel() > 1:
        steps[1:] = jaccard[1:] - jaccard[:-1]
    return steps


def lovasz_hinge_flat(logits: Tensor, labels: Tensor) -> Tensor:
    """Binary Lovász hinge of one set of pixels.

    Args:
        logits: (P,) real scores (positive = foreground).
        labels: (P,) {0, 1} ground truth.

    Returns:
        scalar loss; 0-dim zero times the logits' sum when P == 0.
    """
    if logits.numel() == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels.float() - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, order = torch.sort(errors, descending=True)
    return torch.dot(torch.relu(errors_sorted), jaccard_steps(labels[order]))


def lovasz_hinge(logits: Tensor, labels: Tensor, per_image: bool = True, valid: Tensor | None = None) -> Tensor:
    """Binary Lovász hinge.

    Args:
        logits: (B, H, W) or (B, P) scores.
        labels: same shape, {0, 1}.
        per_image: average the loss of each image (else one loss over all pixels).
        valid: optional bool mask of the same shape; other pixels are ignored.

    Returns:
        scalar loss.
    """
    logits = logits.reshape(logits.shape[0], -1)
    labels = labels.reshape(labels.shape[0], -1)
    keep = torch.ones_like(labels, dtype=torch.bool) if valid is None else valid.reshape(labels.shape[0], -1)
    if per_image:
        losses = [lovasz_hinge_flat(s[k], y[k]) for s, y, k in zip(logits, labels, keep)]
        return torch.stack(losses).mean()
    return lovasz_hinge_flat(logits[keep], labels[keep])


def lovasz_softmax_flat(probs: Tensor, labels: Tensor, classes: str | list[int] = "present") -> Tensor:
    """Lovász-softmax of one set of pixels.

    Args:
        probs: (P, C) class probabilities (rows sum to 1).
        labels: (P,) int64 in [0, C).
        classes: "present" (classes that occur in ``labels``), "all", or a list.

    Returns:
        scalar: mean over the selected classes; zero when none is selected.
    """
    if probs.numel() == 0:
        return probs.sum() * 0.0
    num_classes = probs.shape[1]
    if classes == "present":
        selected = torch.unique(labels).tolist()
    elif classes == "all":
        selected = list(range(num_classes))
    else:
        selected = list(classes)
    losses = []
    for c in selected:
        fg = (labels == c).float()
        errors = (fg - probs[:, c]).abs()
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, jaccard_steps(fg[order])))
    if not losses:
        return probs.sum() * 0.0
    return torch.stack(losses).mean()


def lovasz_softmax(probs: Tensor, labels: Tensor, classes: str | list[int] = "present", per_image: bool = True,
                   ignore_index: int | None = None) -> Tensor:
    """Multi-class Lovász-softmax.

    Args:
        probs: (B, C, H, W) softmax probabilities.
        labels: (B, H, W) int64 class per pixel.
        classes: see :func:`lovasz_softmax_flat`.
        per_image: average the loss of each image (else one loss over all pixels).
        ignore_index: pixels with this label are left out.

    Returns:
        scalar loss.
    """
    b, c = probs.shape[:2]
    flat_p = probs.permute(0, 2, 3, 1).reshape(b, -1, c)
    flat_y = labels.reshape(b, -1)
    keep = torch.ones_like(flat_y, dtype=torch.bool) if ignore_index is None else flat_y != ignore_index
    if per_image:
        losses = [lovasz_softmax_flat(p[k], y[k], classes) for p, y, k in zip(flat_p, flat_y, keep)]
        return torch.stack(losses).mean()
    return lovasz_softmax_flat(flat_p[keep], flat_y[keep], classes)
