"""Regression losses: MSE, MAE, Huber, log-cosh, MSLE and the quantile (pinball) loss.

All take ``(pred, target)`` of the same shape and return the mean (default), the sum or the
elementwise values. Used in chapter 2 and assignment ps01.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch.nn.functional as F

from ._backend import NP, TORCH, numpy_via_torch
from ._checks import (
    check_in_unit_interval,
    check_positive,
    check_total,
    elementwise,
    matched_inputs,
)

# On tensors, MSE, MAE and Huber call torch's own kernel (one fused pass, forward and backward);
# the formulas below are the definition, and tests/test_speed_paths.py checks that the kernel
# computes exactly them, extreme inputs included. The other losses run their formula on both.


def _regression(terms, torch_kernel, pred, target, reduction, **options):
    """``terms`` reduced; on tensors ``torch_kernel`` instead, where torch has this loss."""
    xp, pred, target = matched_inputs(pred, target, reduction=reduction)
    if xp is TORCH and torch_kernel is not None:
        out = torch_kernel(pred, target, reduction=reduction, **options)
    else:
        out = elementwise(xp, terms, reduction, pred, target, **options)
    return check_total(xp, out, reduction, pred=pred, target=target)


@numpy_via_torch
def mse(pred, target, *, reduction: str = "mean"):
    r"""Mean squared error :math:`\frac1n \sum_i (\hat y_i - y_i)^2`.

    Args:
        pred, target: arrays or tensors of the same shape.
        reduction: "mean" (default), "sum" or "none".

    >>> import numpy as np
    >>> float(mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    2.0

    Reference: ``torch.nn.functional.mse_loss``. Used in chapters 1 and 2.
    """
    return _regression(_mse_terms, F.mse_loss, pred, target, reduction)


def _mse_terms(xp, pred, target):
    return xp.square_(pred - target)


@numpy_via_torch
def mae(pred, target, *, reduction: str = "mean"):
    r"""Mean absolute error :math:`\frac1n \sum_i |\hat y_i - y_i|`.

    >>> import numpy as np
    >>> float(mae(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    1.0

    Reference: ``torch.nn.functional.l1_loss``. Used in chapter 2.
    """
    return _regression(_mae_terms, F.l1_loss, pred, target, reduction)


def _mae_terms(xp, pred, target):
    return xp.abs_(pred - target)


@numpy_via_torch
def huber(pred, target, *, delta: float = 1.0, reduction: str = "mean"):
    r"""Huber loss: quadratic near zero, linear with slope ``delta`` beyond it.

    .. math:: \ell(r) = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\
              \delta (|r| - \tfrac12 \delta) & |r| > \delta \end{cases},\quad r = \hat y - y

    This is torch's ``huber_loss``, not ``smooth_l1_loss`` (which divides by ``beta``).

    Args:
        delta: where the quadratic part ends (> 0, default 1.0).

    >>> import numpy as np
    >>> huber(np.array([0.5, 3.0]), np.zeros(2), delta=1.0, reduction="none")
    array([0.125, 2.5  ])

    Reference: Huber (1964), "Robust Estimation of a Location Parameter";
    ``torch.nn.functional.huber_loss``. Used in chapter 2.
    """
    check_positive(delta, "delta")
    return _regression(_huber_terms, F.huber_loss, pred, target, reduction, delta=delta)


def _huber_terms(xp, pred, target, delta):
    # c (r - c / 2) with c = clip(r, -delta, delta): r^2 / 2 inside the band, delta (|r| - delta / 2)
    # outside, with no where (slow in NumPy)
    r = pred - target
    c = xp.clip(r, -delta, delta)
    return xp.mul_(xp.add_(c * -0.5, r), c)


def log_cosh(pred, target, *, reduction: str = "mean"):
    r"""Log-cosh loss :math:`\log\cosh(\hat y - y)`, computed without overflow.

    Uses :math:`\log\cosh r = \operatorname{softplus}(2r) - r - \log 2` with the stable
    :math:`\operatorname{softplus}(x) = \max(x, 0) + \log(1 + e^{-|x|})`, finite for any
    residual. It behaves like :math:`r^2/2` near zero and like :math:`|r| - \log 2` far away.

    >>> import numpy as np
    >>> log_cosh(np.array([0.0, 1e4]), np.zeros(2), reduction="none")
    array([   0.        , 9999.30685282])

    Reference: Saleh & Saleh (2022), "Statistical Properties of the log-cosh Loss Function Used
    in Machine Learning". Used in chapter 2.
    """
    xp, pred, target = matched_inputs(pred, target, reduction=reduction)
    # log cosh r = -log 2 - (r - 2 softplus_2(r)) with softplus_2(r) = log(1 + e^{2r}) / 2: the
    # bracket is one fused operation on torch, and the constant is subtracted after the reduction
    shifted = elementwise(xp, _log_cosh_shifted_terms, reduction, pred, target)
    log_2 = math.log(2.0) * (xp.size(pred) if reduction == "sum" else 1)
    return check_total(xp, xp.rsub_(-log_2, shifted), reduction, pred=pred, target=target)


def _log_cosh_shifted_terms(xp, pred, target):
    r = pred - target
    return xp.add_scaled(r, xp.softplus(r, beta=2.0), -2.0)


def msle(pred, target, *, reduction: str = "mean"):
    r"""Mean squared logarithmic error :math:`(\log(1 + \hat y) - \log(1 + y))^2`.

    It compares ratios rather than differences, and under-predicting costs more than
    over-predicting by the same amount. Values at or below -1 have no logarithm and raise.

    >>> import numpy as np
    >>> round(float(msle(np.array([np.e - 1]), np.array([0.0]))), 6)
    1.0

    Reference: the ``MeanSquaredLogarithmicError`` loss of Keras. Used in chapter 2.
    """
    xp, pred, target = matched_inputs(pred, target, reduction=reduction)
    if reduction == "none" or not xp.cheap_scalar(pred):
        _check_above_minus_one(pred, target)
        return elementwise(xp, _msle_terms, reduction, pred, target)
    # a value <= -1 makes the total inf or NaN: look for it only then (and raise, not warn)
    quiet = np.errstate(divide="ignore", invalid="ignore") if xp is NP else contextlib.nullcontext()
    with quiet:
        out = elementwise(xp, _msle_terms, reduction, pred, target)
    if not math.isfinite(xp.to_float(out)):
        _check_above_minus_one(pred, target)
    return check_total(xp, out, reduction, pred=pred, target=target)


def _check_above_minus_one(pred, target):
    for name, v in (("pred", pred), ("target", target)):
        if bool((v <= -1).any()):
            raise ValueError(
                f"msle needs {name} > -1 (it takes log(1 + {name})), but {name} has values <= -1; "
                "msle suits non-negative quantities such as counts or prices: clip or shift them"
            )


def _msle_terms(xp, pred, target):
    return xp.square_(xp.sub_(xp.log1p(pred), xp.log1p(target)))


@numpy_via_torch
def quantile(pred, target, *, q: float = 0.5, reduction: str = "mean"):
    r"""Quantile (pinball) loss :math:`\max(q u, (q - 1) u)` with :math:`u = y - \hat y`.

    Under-prediction (:math:`u > 0`) costs :math:`q` per unit, over-prediction :math:`1 - q`;
    the constant that minimises it is the :math:`q`-quantile of the targets. ``q = 0.5`` gives
    half the MAE.

    Args:
        q: the quantile, strictly between 0 and 1 (default 0.5).

    >>> import numpy as np
    >>> quantile(np.array([0.0, 2.0]), np.array([1.0, 1.0]), q=0.9, reduction="none")
    array([0.9, 0.1])

    Reference: Koenker & Bassett (1978), "Regression Quantiles". Used in chapter 2.
    """
    check_in_unit_interval(q, "q")
    return _regression(_quantile_terms, None, pred, target, reduction, q=q)


def _quantile_terms(xp, pred, target, q):
    # max(q u, (q - 1) u) = max(v, 0) - q v with v = pred - target = -u: no where (slow in
    # NumPy), two passes on torch; relu's slope 0 at v = 0 gives quantile_grad's -q at a tie
    v = pred - target
    return xp.add_scaled(xp.relu(v), v, -q)

