"""Focal losses: cross-entropy that down-weights examples the model already gets right.

Used in chapter 5 and assignment ps04.
"""

from __future__ import annotations

import math

from ._backend import TORCH, as_arrays, numpy_via_torch
from ._checks import (
    check_class_indices,
    check_in_unit_interval,
    check_reduction,
    check_total,
    elementwise,
    matched_inputs,
    reduce,
)
from .classification import _bce_logits_terms
from .stable import log_softmax, logsumexp, sigmoid


def _check_gamma(gamma: float) -> None:
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0 (gamma = 0 recovers cross-entropy), got {gamma!r}")


@numpy_via_torch
def sigmoid_focal_loss(logits, target, *, alpha: float | None = 0.25, gamma: float = 2.0,
                       reduction: str = "mean"):
    r"""Sigmoid focal loss :math:`-\alpha_t (1 - p_t)^\gamma \log p_t` (Lin et al., 2017).

    With :math:`p = \sigma(x)`, :math:`p_t = p y + (1 - p)(1 - y)` is the probability given to
    the true label and :math:`\alpha_t = \alpha y + (1 - \alpha)(1 - y)`. The cross-entropy part
    is computed from the logits (stable), and the modulating factor from log-sigmoids, so loss
    and gradient are finite for any logit and any :math:`\gamma > 0`. ``alpha=None`` switches
    the class weighting off; with ``gamma=0`` and ``alpha=None`` this is
    :func:`binary_cross_entropy_with_logits`.

    Args:
        alpha: weight of the positive class in [0, 1] (default 0.25) or None.
        gamma: focusing parameter >= 0 (default 2.0).
        reduction: "mean" (default, unlike torchvision's "none"), "sum" or "none".

    >>> import numpy as np
    >>> round(float(sigmoid_focal_loss(np.array([3.0, -1.0]), np.array([1.0, 0.0]))), 6)
    0.00851

    Reference: Lin, Goyal, Girshick, He & Dollar (2017), "Focal Loss for Dense Object
    Detection"; ``torchvision.ops.sigmoid_focal_loss``. Used in chapter 5.
    """
    _check_gamma(gamma)
    if alpha is not None:
        check_in_unit_interval(alpha, "alpha", open_interval=False)
    xp, logits, target = matched_inputs(logits, target, reduction=reduction,
                                        names=("logits", "target"))
    out = elementwise(xp, _sigmoid_focal_terms, reduction, logits, target, alpha=alpha,
                      gamma=gamma)
    return check_total(xp, out, reduction, logits=logits, target=target)


def _sigmoid_focal_terms(xp, logits, target, alpha, gamma):
    ce = _bce_logits_terms(xp, logits, target)
    if gamma:
        ce = xp.mul_(ce, _modulating_factor(xp, logits, target, gamma))
    if alpha is None:
        return ce
    # alpha_t = alpha y + (1 - alpha)(1 - y), written (2 alpha - 1) y + 1 - alpha
    return xp.mul_(ce, (2.0 * alpha - 1.0) * target + (1.0 - alpha))


def _modulating_factor(xp, logits, target, gamma):
    r""":math:`(1 - p_t)^\gamma` with :math:`1 - p_t = (1 - y)\,\sigma(x) + y\,\sigma(-x)`.

    Both terms are non-negative and each sigmoid is computed directly, so there is no
    cancellation: a confident correct logit gives its true tiny factor, not the 0 of
    :math:`1 - \sigma(x)`. For :math:`\gamma \ge 1` the power has a finite slope even where the
    factor underflows to 0. For :math:`\gamma < 1` it does not (:math:`u^{\gamma - 1} = \infty`
    at 0), so the factor is taken as :math:`e^{\gamma \log(1 - p_t)}` from log-sigmoids, exact for
    any logit (slower: logs of the 0/1 labels).
    """
    if gamma < 1:
        softplus = xp.softplus(logits)  # log sigma(-x) = -softplus(x), log sigma(x) = x - softplus(x)
        log_u = xp.logaddexp(xp.add_(xp.log_or_minus_inf(1.0 - target), logits - softplus),
                             xp.sub_(xp.log_or_minus_inf(target), softplus))
        return xp.exp_(log_u * gamma)
    u = xp.add_(xp.mul_(sigmoid(logits), 1.0 - target), xp.mul_(sigmoid(-logits), target))
    return xp.square_(u) if gamma == 2 else u**gamma


def softmax_focal_loss(logits, target, *, gamma: float = 2.0, alpha=None, reduction: str = "mean"):
    r"""Multiclass focal loss :math:`-\alpha_y (1 - p_y)^\gamma \log p_y` over a softmax.

    :math:`1 - p_y` is taken as the summed probability of the other classes, in the log domain,
    so loss and gradient are finite for logits up to 1e4 and any :math:`\gamma > 0`.
    ``target`` holds class indices of shape (N,); ``alpha`` is None or one weight per class,
    shape (C,). With ``gamma=0`` and ``alpha=None`` this equals :func:`cross_entropy`.

    >>> import numpy as np
    >>> z, y = np.array([[2.0, 0.0, -1.0]]), np.array([0])
    >>> round(float(softmax_focal_loss(z, y, gamma=0.0)), 6)  # = cross-entropy
    0.169846

    Reference: Lin et al. (2017), section 3, applied to the softmax. Used in chapter 5.
    """
    _check_gamma(gamma)
    check_reduction(reduction)
    xp, logits, target, alpha = as_arrays(logits, target, alpha, float_others=False)
    if logits.ndim != 2 or tuple(target.shape) != (logits.shape[0],):
        raise ValueError(
            f"softmax_focal_loss needs logits of shape (N, C) and class indices of shape (N,), got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
    C = logits.shape[1]
    on_cpu = xp is TORCH and logits.is_cpu  # there the gather below checks the index range
    check_class_indices(xp, target, C, check_range=not on_cpu)
    idx = target[:, None] if xp.name == "numpy" else target.long()[:, None]
    logp = log_softmax(logits, axis=1)
    try:
        logp_y = xp.take_along(logp, idx, axis=1)[:, 0]
    except RuntimeError:
        check_class_indices(xp, target, C)
        raise
    if gamma == 2:  # the default: (1 - p_y)^2 = expm1(log p_y)^2, one operation fewer
        loss = xp.rsub_(0.0, xp.square_(xp.expm1(logp_y)) * logp_y)
    elif gamma >= 1:  # 1 - p_y by expm1, exact near 0; u^gamma has a finite slope at 0
        loss = (-xp.expm1(logp_y)) ** gamma * -logp_y
    elif gamma:
        # log(1 - p_y) = log of the other classes' summed probability: exact where 1 - p_y
        # rounds to 0, where u^gamma with gamma < 1 would have an infinite slope
        others = xp.where(xp.one_hot(target, C, logp) > 0, -math.inf, logp)
        loss = xp.exp(logsumexp(others, axis=1) * gamma) * -logp_y
    else:
        loss = -logp_y
    if alpha is not None:
        alpha = xp.cast(alpha, logits)
        if tuple(alpha.shape) != (C,):
            raise ValueError(
                f"alpha must be None or have one weight per class, shape ({C},), got "
                f"{tuple(alpha.shape)}"
            )
        loss = alpha[target] * loss
    return reduce(xp, loss, reduction, logits=logits)
