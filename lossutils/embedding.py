"""Embedding losses: the triplet margin loss and its batch-hard mining variant.

Used in chapter 7 and assignment ps06.
"""

from __future__ import annotations

import math

import torch.nn.functional as F

from ._backend import TORCH, as_arrays, numpy_via_torch
from ._checks import (
    check_positive,
    check_reduction,
    check_same_shape,
    check_total,
    elementwise,
    matched_inputs,
)


def _distance(xp, a, b, p: float, eps: float):
    # torch's pairwise_distance: the p-norm of (a - b + eps) over the last axis
    d = xp.abs(a - b + eps)
    if p == 2:
        return xp.sqrt(xp.sum(d * d, axis=-1))
    if p == 1:
        return xp.sum(d, axis=-1)
    return xp.sum(d**p, axis=-1) ** (1.0 / p)


@numpy_via_torch
def triplet_margin_loss(anchor, positive, negative, *, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean"):
    r"""Triplet loss :math:`\max(0, d(a, p) - d(a, n) + m)` with :math:`d` the p-norm distance.

    Pulls each anchor towards its positive and pushes it from its negative until the negative is
    at least the margin :math:`m` further away. As in torch, :math:`d(x, y) = \|x - y + \epsilon\|_p`.
    ``swap=True`` uses :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et al., 2016).

    Args:
        anchor, positive, negative: embeddings of shape (N, D) (or (D,)).
        margin: the required gap (default 1.0); unlike torch, which rejects margin <= 0, any
            number is allowed (margin 0 is the homogeneous loss of chapter 7's exercise).
        p: the norm (default 2); eps: 1e-6.

    >>> import numpy as np
    >>> a, pos, neg = np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    >>> round(float(triplet_margin_loss(a, pos, neg)), 6)
    1.0

    Reference: Schroff, Kalenichenko & Philbin (2015), "FaceNet";
    ``torch.nn.functional.triplet_margin_loss``. Used in chapter 7.
    """
    check_positive(p, "p")
    xp, anchor, positive, negative = matched_inputs(anchor, positive, negative,
                                                    reduction=reduction,
                                                    names=("anchor", "positive"))
    check_same_shape(anchor, negative, ("anchor", "negative"))
    if xp is TORCH and margin > 0:  # torch's kernel computes the formula below, for margin > 0
        out = F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps,
                                    swap=swap, reduction=reduction)
    else:
        out = elementwise(xp, _triplet_terms, reduction, anchor, positive, negative, per_row=True,
                          margin=margin, p=p, eps=eps, swap=swap)
    return check_total(xp, out, reduction, anchor=anchor)


def _triplet_terms(xp, anchor, positive, negative, margin, p, eps, swap):
    d_ap = _distance(xp, anchor, positive, p, eps)
    d_an = _distance(xp, anchor, negative, p, eps)
    if swap:
        d_an = xp.minimum(d_an, _distance(xp, positive, negative, p, eps))
    return xp.maximum_(xp.add_(xp.sub_(d_ap, d_an), margin), 0.0)


def pairwise_distances(embeddings):
    r"""Euclidean distance matrix :math:`D_{ij} = \|x_i - x_j\|_2` of an (N, D) batch.

    The square root is guarded so the gradient at :math:`D_{ii} = 0` is 0, not NaN (the
    derivative of :math:`\sqrt{s}` at :math:`s = 0` is infinite; torch's ``cdist`` avoids it too).

    >>> import numpy as np
    >>> pairwise_distances(np.array([[0.0, 0.0], [3.0, 4.0]]))
    array([[0., 5.],
           [5., 0.]])

    Reference: ``torch.cdist``. Used in chapter 7.
    """
    xp, x = as_arrays(embeddings)
    diff = x[:, None, :] - x[None, :, :]
    sq = xp.sum(diff * diff, axis=-1)
    nonzero = sq > 0
    return xp.where(nonzero, xp.sqrt(xp.where(nonzero, sq, 1.0)), 0.0)


def batch_hard_triplet_loss(embeddings, labels, *, margin: float = 1.0, reduction: str = "mean"):
    r"""Batch-hard triplet loss (Hermans, Beyer & Leibe, 2017).

    For every anchor :math:`i` that has at least one positive (same label, :math:`j \ne i`) and one
    negative in the batch:

    .. math:: \ell_i = \max\bigl(0,\ \max_{j:\,y_j = y_i} D_{ij} - \min_{k:\,y_k \ne y_i} D_{ik} + m\bigr)

    with Euclidean distances :math:`D`. ``"mean"`` averages over those anchors (0 if there are
    none), ``"none"`` returns one value per anchor (0 for anchors without a positive or negative).

    >>> import numpy as np
    >>> x = np.array([[0.0], [0.5], [1.0], [3.0]])
    >>> float(batch_hard_triplet_loss(x, np.array([0, 0, 1, 1]), margin=1.0))
    1.125

    Reference: Hermans, Beyer & Leibe (2017), "In Defense of the Triplet Loss for Person
    Re-Identification". Used in chapter 7.
    """
    check_reduction(reduction)
    xp, x, labels = as_arrays(embeddings, labels, float_others=False)
    if x.ndim != 2 or tuple(labels.shape) != (x.shape[0],):
        raise ValueError(
            f"batch_hard_triplet_loss needs embeddings of shape (N, D) and labels of shape (N,), got "
            f"{tuple(x.shape)} and {tuple(labels.shape)}; pass one integer label per embedding row"
        )
    same = labels[:, None] == labels[None, :]
    pos = same & ~xp.eye(x.shape[0], x)
    neg = ~same
    # Pick each anchor's hardest positive and negative on squared distances from one matrix
    # product (fast, but its rounding error is about 1e-16 |x|^2, visible near distance 0), then
    # compute the two chosen distances exactly from differences: the loss and its gradient only
    # ever see exact distances. Centring first keeps |x| small when the batch sits far from 0.
    c = xp.constant(x)
    c = c - xp.mean(c, axis=0)
    sq_norm = xp.sum(c * c, axis=1)
    sq = sq_norm[:, None] + sq_norm[None, :] - 2.0 * (c @ c.T)
    hardest_pos = _row_distances(xp, x, x[xp.argmax(xp.where(pos, sq, -math.inf), axis=1)])
    hardest_neg = _row_distances(xp, x, x[xp.argmin(xp.where(neg, sq, math.inf), axis=1)])
    valid = pos.any(1) & neg.any(1)
    per_anchor = xp.where(valid, xp.relu(hardest_pos - hardest_neg + margin), 0.0)
    if reduction == "none":
        return per_anchor
    total = xp.sum(per_anchor)
    if reduction == "sum":
        return total
    n_valid = int(valid.sum())
    return total / max(n_valid, 1)


def _row_distances(xp, a, b):
    """Euclidean distance of each row of ``a`` to the same row of ``b``; slope 0 (not NaN) at 0."""
    diff = a - b
    sq = xp.sum(diff * diff, axis=-1)
    nonzero = sq > 0
    return xp.where(nonzero, xp.sqrt(xp.where(nonzero, sq, 1.0)), 0.0)
