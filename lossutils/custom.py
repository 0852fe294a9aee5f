"""Custom losses built for a task: the asymmetric absolute error.

Used in chapter 8 and assignment ps07.
"""

from __future__ import annotations

from ._checks import check_total, elementwise, matched_inputs


def asymmetric_mae(pred, target, *, under_weight: float = 2.0, over_weight: float = 1.0,
                   reduction: str = "mean"):
    r"""Absolute error that prices under- and over-prediction differently.

    .. math:: \ell = \begin{cases} w_u\,(y - \hat y) & \hat y < y \\ w_o\,(\hat y - y) & \hat y \ge y \end{cases}

    For example, running out of stock (under-forecasting) may cost twice as much as holding too
    much. The constant minimising it is the :math:`w_u / (w_u + w_o)` quantile of the targets.

    Args:
        under_weight: cost per unit of under-prediction (default 2.0, >= 0).
        over_weight: cost per unit of over-prediction (default 1.0, >= 0).

    >>> import numpy as np
    >>> asymmetric_mae(np.array([0.0, 2.0]), np.array([1.0, 1.0]), reduction="none")
    array([2., 1.])

    Reference: a weighted form of the pinball loss of Koenker & Bassett (1978). Used in chapter 8.
    """
    if under_weight < 0 or over_weight < 0:
        raise ValueError(
            f"under_weight and over_weight must be >= 0, got {under_weight!r} and {over_weight!r}"
        )
    xp, pred, target = matched_inputs(pred, target, reduction=reduction)
    out = elementwise(xp, _asymmetric_terms, reduction, pred, target, under=under_weight,
                      over=over_weight)
    return check_total(xp, out, reduction, pred=pred, target=target)


def _asymmetric_terms(xp, pred, target, under, over):
    # (w_u + w_o) max(u, 0) - w_o u with u = target - pred: no where (slow in NumPy), and at a tie
    # (u = 0, where relu's slope is 0) the slope in pred is w_o, as for over-prediction
    u = target - pred
    return xp.add_scaled(xp.relu(u) * (under + over), u, -over)
