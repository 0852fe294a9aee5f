"""Analytic gradients of the losses with respect to their first argument (NumPy).

Each ``<loss>_grad`` takes the same arguments as its loss and returns an array shaped like the
first argument: the derivative of the reduced loss ("mean" or "sum"). Chapter 2 onwards derive
them; the tests check every one against torch autograd. Large arrays are computed block by block
(``_checks.elementwise``), so the formula's temporaries stay in cache, except where torch is
faster on them (measured by ``make bench``).
"""

from __future__ import annotations

import numpy as np

from ._backend import NP, TORCH, to_numpy, torch_views
from ._checks import check_in_unit_interval, check_positive, check_same_shape, elementwise
from .classification import _ce_terms
from .focal import _check_gamma
from .margin import _mc_margins, _signed_labels
from .stable import sigmoid


def _pair(pred, target, reduction):
    if reduction not in ("mean", "sum"):
        raise ValueError(f"gradients are defined for reduction 'mean' or 'sum', got {reduction!r}")
    pred = np.asarray(pred, dtype=np.result_type(np.asarray(pred).dtype, np.float32))
    target = np.asarray(target, dtype=pred.dtype)
    check_same_shape(pred, target)
    return pred, target, (pred.size if reduction == "mean" else 1)


def mse_grad(pred, target, *, reduction: str = "mean"):
    r""":math:`\partial/\partial\hat y_i = 2(\hat y_i - y_i) / n`.

    >>> mse_grad(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    array([1., 3.])

    Reference: autograd of :func:`lossutils.mse`, which the tests compare it with.
    Used in chapter 2.
    """
    pred, target, n = _pair(pred, target, reduction)
    return _map(lambda xp, p, t: xp.mul_(p - t, 2.0 / n), pred, target)


def _map(terms, *arrays, via_torch: bool = False):
    """``terms(xp, *arrays)`` evaluated elementwise, block by block on large arrays.

    ``via_torch=True``: large arrays are computed by torch on tensors that share their memory
    (``_backend.torch_views``), for formulas where one torch kernel replaces several NumPy passes.
    """
    views = torch_views(*arrays) if via_torch else None
    if views is not None:
        return to_numpy(terms(TORCH, *views))
    return elementwise(NP, terms, "none", *arrays)


def mae_grad(pred, target, *, reduction: str = "mean"):
    r""":math:`\operatorname{sign}(\hat y_i - y_i) / n` (0 at a tie, as in torch).

    >>> mae_grad(np.array([1.0, -3.0]), np.array([0.0, 0.0]))
    array([ 0.5, -0.5])

    Reference: autograd of :func:`lossutils.mae`, which the tests compare it with.
    Used in chapter 2.
    """
    pred, target, n = _pair(pred, target, reduction)
    return _map(lambda xp, p, t: xp.mul_(xp.sign(p - t), 1.0 / n), pred, target)


def huber_grad(pred, target, *, delta: float = 1.0, reduction: str = "mean"):
    r""":math:`r` inside :math:`|r| \le \delta`, :math:`\delta\,\operatorname{sign}(r)` outside, over n.

    The gradient is the residual clipped to :math:`[-\delta, \delta]`: bounded, unlike MSE's.

    >>> huber_grad(np.array([0.5, 3.0]), np.zeros(2), reduction="sum")
    array([0.5, 1. ])

    Reference: autograd of :func:`lossutils.huber`, which the tests compare it with.
    Used in chapter 2.
    """
    check_positive(delta, "delta")
    pred, target, n = _pair(pred, target, reduction)
    return _map(lambda xp, p, t: xp.mul_(xp.clip_(p - t, -delta, delta), 1.0 / n), pred, target)


def log_cosh_grad(pred, target, *, reduction: str = "mean"):
    r""":math:`\tanh(\hat y_i - y_i) / n`, a smooth version of the sign.

    >>> np.round(log_cosh_grad(np.array([0.0, 100.0]), np.zeros(2), reduction="sum"), 6)
    array([0., 1.])

    Reference: autograd of :func:`lossutils.log_cosh`, which the tests compare it with.
    Used in chapter 2.
    """
    pred, target, n = _pair(pred, target, reduction)
    return _map(lambda xp, p, t: xp.mul_(xp.tanh(p - t), 1.0 / n), pred, target)


def quantile_grad(pred, target, *, q: float = 0.5, reduction: str = "mean"):
    r""":math:`-q` where :math:`y \ge \hat y` (under-prediction), :math:`1 - q` elsewhere, over n.

    >>> quantile_grad(np.array([0.0, 2.0]), np.array([1.0, 1.0]), q=0.9, reduction="sum")
    array([-0.9,  0.1])

    Reference: autograd of :func:`lossutils.quantile`, which the tests compare it with.
    Used in chapter 2.
    """
    check_in_unit_interval(q, "q")
    pred, target, n = _pair(pred, target, reduction)
    # 1 - q where pred > target, else -q: a 0/1 mask rather than a where (slow in NumPy)
    return _map(lambda xp, p, t: xp.mul_(xp.astype(p > t, p) - q, 1.0 / n), pred, target)


def binary_cross_entropy_with_logits_grad(logits, target, *, weight=None, pos_weight=None,
                                          reduction: str = "mean"):
    r""":math:`w\,[(1 + (p_w - 1) y)(\sigma(x) - 1) + 1 - y]`; without ``pos_weight``, :math:`w(\sigma(x) - y)`.

    >>> binary_cross_entropy_with_logits_grad(np.array([0.0, 0.0]), np.array([1.0, 0.0]))
    array([-0.25,  0.25])

    Reference: autograd of :func:`lossutils.binary_cross_entropy_with_logits`, which the tests
    compare it with.
    Used in chapter 3.
    """
    x, t, n = _pair(logits, target, reduction)
    weight, pos_weight = (None if w is None else np.asarray(w, dtype=x.dtype)
                          for w in (weight, pos_weight))
    return _map(lambda xp, x, t, w, pw: _bce_logits_grad_terms(x, t, w, pw, n),
                x, t, weight, pos_weight, via_torch=True)  # torch's sigmoid is one pass


def _bce_logits_grad_terms(x, t, weight, pos_weight, n):  # the same on NumPy arrays and tensors
    s = sigmoid(x)
    if pos_weight is None:
        g = s - t
    else:
        g = (1.0 + (pos_weight - 1.0) * t) * (s - 1.0) + 1.0 - t
    if weight is not None:
        g = g * weight
    return g / n


def cross_entropy_grad(logits, target, *, weight=None, label_smoothing: float = 0.0,
                       reduction: str = "mean"):
    r""":math:`(\sum_c q_{ic})\,\operatorname{softmax}(z_i) - q_i`, over the mean's denominator.

    For one-hot targets without weights this is the familiar :math:`(\operatorname{softmax}(z_i)
    - \operatorname{onehot}(y_i)) / N`. :math:`q` is the target distribution after smoothing and
    class weights, exactly as in :func:`cross_entropy`.

    >>> np.round(cross_entropy_grad(np.array([[0.0, 0.0]]), np.array([0])), 6)
    array([[-0.5,  0.5]])

    Reference: autograd of :func:`lossutils.cross_entropy`, which the tests compare it with.
    Used in chapter 3.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"gradients are defined for reduction 'mean' or 'sum', got {reduction!r}")
    logits = np.asarray(logits)
    if not np.issubdtype(logits.dtype, np.floating):
        logits = logits.astype(np.float64)
    xp, logits, logp, q, denom = _ce_terms(logits, target, weight, label_smoothing)
    g = q.sum(axis=-1, keepdims=True) * np.exp(logp) - q
    g = np.moveaxis(g, -1, 1)
    return g / denom if reduction == "mean" else g


def sigmoid_focal_loss_grad(logits, target, *, alpha: float | None = 0.25, gamma: float = 2.0,
                            reduction: str = "mean"):
    r"""Derivative of :math:`\alpha_t (1 - p_t)^\gamma\,\mathrm{CE}` with respect to the logit.

    With :math:`u = 1 - p_t`, :math:`du/dx = (1 - 2y)\,p(1 - p)` and :math:`d\,\mathrm{CE}/dx = p - y`:

    .. math:: \frac{\partial \ell}{\partial x} = \alpha_t \left[\gamma u^{\gamma - 1} (1 - 2y)\,p(1-p)\,
              \mathrm{CE} + u^\gamma (p - y)\right]

    >>> np.round(sigmoid_focal_loss_grad(np.array([0.0]), np.array([1.0]), alpha=None, gamma=0.0), 6)
    array([-0.5])

    Reference: autograd of :func:`lossutils.sigmoid_focal_loss`, which the tests compare it with.
    Used in chapter 5.
    """
    _check_gamma(gamma)
    x, t, n = _pair(logits, target, reduction)
    return _map(lambda xp, x, t: _focal_grad_terms(xp, x, t, alpha, gamma, n), x, t)


def _focal_grad_terms(xp, x, t, alpha, gamma, n):
    # p = sigma(x) and q = sigma(-x) from one e = exp(-|x|): sigma(|x|) = 1 / (1 + e) and
    # sigma(-|x|) = e / (1 + e), blended with the 0/1 mask of x >= 0 (each one exact, no 1 - p)
    m = xp.maximum(x, 0.0)
    e = xp.exp_(xp.add_(m * -2.0, x))
    r = 1.0 / (1.0 + e)
    s = xp.astype(x >= 0, x)
    p = xp.mul_(xp.add_(xp.mul_(1.0 - s, e), s), r)
    q = xp.mul_(xp.add_(s * e, 1.0 - s), r)
    ce = xp.add_(xp.sub_(m, x * t), xp.log1p_(e))  # max(x, 0) - x y + log(1 + e^{-|x|})
    u = xp.add_(xp.mul_(1.0 - t, p), q * t)  # 1 - p_t
    g = xp.mul_(u * u if gamma == 2 else u**gamma, p - t)
    if gamma:
        # gamma u^(gamma - 1) (1 - 2y) p q CE; at u = 0 the model is certain and right, p q = 0
        # there, and so is the term (for gamma < 1, u^(gamma - 1) is infinite at 0: masked)
        term = xp.mul_(xp.mul_(xp.mul_((1.0 - 2.0 * t) * gamma, p), q), ce)
        if gamma == 2:
            g = xp.add_(g, xp.mul_(term, u))
        elif gamma >= 1:
            g = xp.add_(g, xp.mul_(term, u ** (gamma - 1.0)))
        else:
            inside = u > 0
            u_safe = xp.where(inside, u, 1.0)
            g = xp.add_(g, xp.where(inside, xp.mul_(term, u_safe ** (gamma - 1.0)), 0.0))
    if alpha is not None:
        g = xp.mul_(g, (2.0 * alpha - 1.0) * t + (1.0 - alpha))  # alpha y + (1 - alpha)(1 - y)
    return xp.mul_(g, 1.0 / n)


def hinge_grad(scores, target, *, margin: float = 1.0, reduction: str = "mean"):
    r""":math:`-y` where :math:`m - y s > 0` (inside the margin), 0 elsewhere, over n.

    >>> hinge_grad(np.array([2.0, 0.5]), np.array([1.0, -1.0]), reduction="sum")
    array([0., 1.])

    Reference: autograd of :func:`lossutils.hinge`, which the tests compare it with.
    Used in chapter 6.
    """
    s, y, n = _pair(scores, target, reduction)
    _signed_labels(NP, y)
    # -y inside the margin, 0 elsewhere: a 0/1 mask rather than a where (slow in NumPy)
    # (0 - mask y rather than -mask y, so that outside the margin the slope is +0)
    return _map(lambda xp, s, y: xp.mul_(xp.rsub_(0.0, xp.mul_(xp.astype(margin - y * s > 0, s), y)),
                                         1.0 / n), s, y)


def multiclass_hinge_grad(scores, target, *, margin: float = 1.0, reduction: str = "mean"):
    r"""1 for each violating wrong class :math:`j`, minus their count on the true class, over N.

    With :math:`v_{ij} = [s_j - s_{y_i} + m > 0]` for :math:`j \ne y_i`:
    :math:`\partial\ell_i/\partial s_j = v_{ij}` and :math:`\partial\ell_i/\partial s_{y_i} = -\sum_j v_{ij}`.

    >>> multiclass_hinge_grad(np.array([[3.0, 2.5, -1.0]]), np.array([0]))
    array([[-1.,  1.,  0.]])

    Reference: autograd of :func:`lossutils.multiclass_hinge`, which the tests compare it with.
    Used in chapter 6.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"gradients are defined for reduction 'mean' or 'sum', got {reduction!r}")
    xp, scores, m = _mc_margins(scores, target, margin)
    v = (m > 0).astype(scores.dtype)
    g = v.copy()
    rows = np.arange(scores.shape[0])
    g[rows, np.asarray(target)] = -v.sum(axis=1)
    return g / scores.shape[0] if reduction == "mean" else g
