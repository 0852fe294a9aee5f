"""Cross-entropy losses: binary (on probabilities or logits), softmax cross-entropy, KL divergence.

Used in chapters 3-5 and assignments ps02-ps04.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._backend import TORCH, as_arrays, numpy_via_torch
from ._checks import (
    check_class_indices,
    check_no_nan,
    check_reduction,
    check_total,
    elementwise,
    matched_inputs,
    reduce,
)
from .stable import log_softmax

# On tensors every loss here calls torch's own kernel, which computes the formula written below
# in one fused pass (forward and backward); the formulas are the definition, and
# tests/test_speed_paths.py checks that each kernel equals its formula, extreme inputs included.

LOG_CLAMP = -100.0  # torch clamps log(p) at -100 so that p = 0 or 1 gives a finite loss


def _clamped_log(xp, p):
    # log(p) clamped at -100; zeros are shifted to 1 before the log (then set to -100), so neither
    # log(0) nor its infinite gradient appear. A 0/1 mask is used because where is slow in NumPy.
    zero = xp.astype(p == 0, p)
    return xp.maximum_(xp.add_(xp.log(p + zero), zero * LOG_CLAMP), LOG_CLAMP)


def binary_cross_entropy(probs, target, *, weight=None, reduction: str = "mean"):
    r"""Binary cross-entropy on probabilities: :math:`-w\,[y \log p + (1 - y) \log(1 - p)]`.

    Each log is clamped at -100, so probabilities of exactly 0 or 1 give a finite loss. Inputs
    outside [0, 1] are almost always logits and raise; use
    :func:`binary_cross_entropy_with_logits` for those.

    Args:
        probs: predicted probabilities in [0, 1].
        target: labels in [0, 1] of the same shape.
        weight: optional per-element weight, broadcast against ``probs``.

    >>> import numpy as np
    >>> round(float(binary_cross_entropy(np.array([0.9, 0.2]), np.array([1.0, 0.0]))), 6)
    0.164252

    Reference: ``torch.nn.functional.binary_cross_entropy``. Used in chapter 3.
    """
    xp, probs, target, weight = matched_inputs(probs, target, weight, reduction=reduction,
                                               names=("probs", "target"))
    if not (xp is TORCH and probs.is_cpu):  # torch's CPU kernel checks the range in its own pass
        _check_probabilities(xp, probs)
    if xp is TORCH:
        try:
            out = F.binary_cross_entropy(probs, target, weight=weight, reduction=reduction)
        except RuntimeError:
            _check_probabilities(xp, probs)  # lossutils' message for what the kernel rejected
            raise
    else:
        out = elementwise(xp, _bce_terms, reduction, probs, target, weight)
    return check_total(xp, out, reduction, target=target)


def _check_probabilities(xp, probs):
    lo, hi = xp.aminmax(probs) if xp.size(probs) else (0, 1)  # one pass
    if lo != lo:  # min propagates NaN
        check_no_nan(xp, probs, "probs")
    if lo < 0 or hi > 1:
        raise ValueError(
            "binary_cross_entropy expects probabilities in [0, 1] but got values in "
            f"[{lo:.4g}, {hi:.4g}]: "
            "these look like logits; use binary_cross_entropy_with_logits(logits, target), which "
            "applies the sigmoid itself and is stable"
        )


def _bce_terms(xp, probs, target, weight):
    log_likelihood = xp.add_(xp.mul_(_clamped_log(xp, probs), target),
                             xp.mul_(_clamped_log(xp, 1.0 - probs), 1.0 - target))
    loss = xp.rsub_(0.0, log_likelihood)  # 0 - x rather than -x: a perfect prediction gives +0
    return loss if weight is None else xp.mul_(loss, weight)


@numpy_via_torch
def binary_cross_entropy_with_logits(
    logits, target, *, weight=None, pos_weight=None, reduction: str = "mean"
):
    r"""Sigmoid + binary cross-entropy in one stable formula.

    With :math:`x` the logit, :math:`\log \sigma(x) = -\operatorname{softplus}(-x)` and
    :math:`\operatorname{softplus}(-x) = \max(-x, 0) + \log(1 + e^{-|x|})`, so

    .. math:: \ell = (1 - y)\,x + (1 + (p_w - 1)\,y)\,\operatorname{softplus}(-x)

    which is exact for logits of any size (here up to 1e4 and beyond). ``pos_weight``
    :math:`p_w` multiplies the loss of positive labels (one value per label column);
    ``weight`` multiplies every element.

    >>> import numpy as np
    >>> binary_cross_entropy_with_logits(np.array([-1e4, 0.0, 1e4]), np.array([1.0, 1.0, 1.0]),
    ...                                  reduction="none")
    array([1.00000000e+04, 6.93147181e-01, 0.00000000e+00])

    Reference: ``torch.nn.functional.binary_cross_entropy_with_logits``. Used in chapters 3-5.
    """
    xp, logits, target, weight, pos_weight = matched_inputs(
        logits, target, weight, pos_weight, reduction=reduction, names=("logits", "target"))
    if xp is TORCH:
        out = F.binary_cross_entropy_with_logits(logits, target, weight=weight,
                                                 pos_weight=pos_weight, reduction=reduction)
    else:
        out = elementwise(xp, _bce_logits_terms, reduction, logits, target, weight, pos_weight)
    return check_total(xp, out, reduction, logits=logits, target=target)


def _bce_logits_terms(xp, logits, target, weight=None, pos_weight=None):
    if xp is TORCH:
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight,
                                                  pos_weight=pos_weight, reduction="none")
    # -|x| as x - 2 max(x, 0): unlike abs, its autograd slope at x = 0 is the true one, and it
    # avoids a where (slow in NumPy on random signs)
    m = xp.maximum(logits, 0.0)
    tail = xp.log1p_(xp.exp_(xp.add_(m * -2.0, logits)))  # log(1 + e^{-|x|})
    if pos_weight is None:
        # max(x, 0) - x y + log(1 + e^{-|x|})
        loss = xp.add_(xp.sub_(m, logits * target), tail)
    else:
        softplus_neg = xp.sub_(xp.add_(tail, m), logits)  # max(-x, 0) + log(1 + e^{-|x|})
        loss = (1.0 - target) * logits + (1.0 + (pos_weight - 1.0) * target) * softplus_neg
    return loss if weight is None else xp.mul_(loss, weight)


def _ce_terms(logits, target, weight, label_smoothing):
    r"""Shared by :func:`cross_entropy` and its gradient.

    Writes every variant of softmax cross-entropy as :math:`\ell_i = -\sum_c q_{ic} \log p_{ic}`
    with per-element coefficients :math:`q` (one-hot, smoothed, probability and class-weighted
    targets alike). Returns ``(xp, logits, logp, q, denom)`` with the class axis moved last; the mean
    divides the sum of :math:`\ell_i` by ``denom`` (the number of samples, or the summed target
    weights for weighted class-index targets, as torch does).
    """
    xp, logits, target, weight = _ce_inputs(logits, target, weight, label_smoothing)
    C = logits.shape[1]
    logp = xp.moveaxis(log_softmax(logits, axis=1), 1, -1)
    eps = label_smoothing
    if tuple(target.shape) == tuple(logits.shape):  # class probabilities
        tgt = xp.moveaxis(target, 1, -1)
        q = tgt * (1.0 - eps) + eps / C if eps else tgt
        if weight is not None:
            q = q * weight
        return xp, logits, logp, q, xp.size(tgt) // C
    onehot = xp.one_hot(target, C, logp)
    q = onehot * (1.0 - eps) + eps / C if eps else onehot
    if weight is None:
        return xp, logits, logp, q, xp.size(onehot) // C
    return xp, logits, logp, q * weight, xp.sum(onehot * weight)


def _ce_inputs(logits, target, weight, label_smoothing, check_range=True):
    """Checked inputs of the cross-entropy: ``(xp, logits, target, weight)``.

    ``check_range=False`` leaves the range of class indices to the caller (torch's CPU kernel
    checks it in the pass it makes anyway).
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    xp, logits, target, weight = as_arrays(logits, target, weight, float_others=False)
    shape = logits.shape  # a tuple, or a torch.Size (a tuple too)
    if len(shape) < 2:
        raise ValueError(
            f"logits must have shape (N, C) (or (N, C, d1, ...)), got {tuple(shape)}; "
            "for a single sample use logits[None]"
        )
    C = shape[1]
    if weight is not None:
        weight = xp.cast(weight, logits)
        if tuple(weight.shape) != (C,):
            raise ValueError(
                f"weight must have one entry per class, shape ({C},), got {tuple(weight.shape)}"
            )
    if target.shape == shape:  # class probabilities
        return xp, logits, xp.cast(target, logits), weight
    # slicing a torch.Size costs 0.7% of a training step at batch 256: only done beyond 2-d
    expected = (shape[0],) if len(shape) == 2 else (shape[0], *shape[2:])
    if target.shape != expected:
        raise ValueError(
            f"target has shape {tuple(target.shape)}; with logits of shape {tuple(shape)} it "
            f"must be class indices of shape {expected} or probabilities of shape {tuple(shape)}"
        )
    check_class_indices(xp, target, C, check_range=check_range)
    return xp, logits, target, weight


def cross_entropy(logits, target, *, weight=None, label_smoothing: float = 0.0,
                  reduction: str = "mean"):
    r"""Softmax cross-entropy :math:`-\sum_c q_c \log \operatorname{softmax}(z)_c`.

    ``target`` is either class indices of shape (N,) (then :math:`q` is one-hot) or class
    probabilities of shape (N, C). Extra axes (N, C, d1, ...) are allowed, with the class axis
    second as in torch. ``label_smoothing`` :math:`\varepsilon` mixes :math:`q` with the uniform
    distribution: :math:`q \to (1-\varepsilon) q + \varepsilon / C`. ``weight`` (shape (C,))
    rescales each class; with class indices, the mean divides by the summed weights of the
    targets. The log-softmax subtracts the largest logit first, so logits up to 1e4 are exact.

    >>> import numpy as np
    >>> round(float(cross_entropy(np.array([[2.0, 0.0, -1.0]]), np.array([0]))), 6)
    0.169846

    Reference: ``torch.nn.functional.cross_entropy``; label smoothing: Szegedy et al. (2016),
    "Rethinking the Inception Architecture". Used in chapter 3.
    """
    check_reduction(reduction)
    if isinstance(logits, torch.Tensor) or isinstance(target, torch.Tensor):
        return _cross_entropy_torch(logits, target, weight, label_smoothing, reduction)
    xp, logits, logp, q, denom = _ce_terms(logits, target, weight, label_smoothing)
    inputs = {"logits": logits}
    if np.shape(target) == tuple(logits.shape):  # a NaN in probabilities is named too
        inputs["target"] = np.asarray(target)
        per_sample = -xp.sum(q * logp, axis=-1)
    else:
        per_sample = _ce_index_terms(xp, logp, np.asarray(target), weight, label_smoothing)
    if reduction == "mean":
        return reduce(xp, per_sample, "sum", **inputs) / denom
    return reduce(xp, per_sample, reduction, **inputs)


def _ce_index_terms(xp, logp, target, weight, eps):
    r"""Per-sample :math:`-(1 - \varepsilon)\,w_y \log p_y - \tfrac{\varepsilon}{C} \sum_c w_c \log p_c`.

    The one-hot sum :math:`-\sum_c q_c \log p_c` rearranged so that a class with coefficient 0
    never multiplies its log-probability: a masked class (logit :math:`-\infty`, so
    :math:`\log p_c = -\infty`) then costs nothing, as in torch, instead of :math:`0 \cdot \infty`.
    ``logp`` has the class axis last.
    """
    logp_y = xp.take_along(logp, target[..., None], axis=-1)[..., 0]
    if weight is not None:
        logp_y = logp_y * weight[target]
    if not eps:
        return -logp_y
    w_logp = logp if weight is None else logp * weight
    return -(1.0 - eps) * logp_y - eps / logp.shape[-1] * xp.sum(w_logp, axis=-1)


NO_IGNORED_CLASS = -(2**63)  # torch skips targets equal to ignore_index (-100 by default)


def _cross_entropy_torch(logits, target, weight, label_smoothing, reduction):
    """torch's fused kernel after the same checks as :func:`_ce_terms`.

    On CPU the kernel checks every class index in its own pass (no index is ignored), and an
    index out of range is then reported as :func:`_ce_inputs` reports it; elsewhere that check
    runs first, since the device reports a bad index only as an assertion failure.
    """
    on_cpu = isinstance(logits, torch.Tensor) and logits.is_cpu
    xp, logits, target, weight = _ce_inputs(logits, target, weight, label_smoothing,
                                            check_range=not on_cpu)
    probabilities = target.shape == logits.shape
    if not probabilities and target.dtype != torch.int64:
        target = target.long()
    try:
        out = F.cross_entropy(logits, target, weight=weight, ignore_index=NO_IGNORED_CLASS,
                              label_smoothing=label_smoothing, reduction=reduction)
    except IndexError:
        check_class_indices(xp, target, logits.shape[1])
        raise
    return check_total(xp, out, reduction, logits=logits, target=target if probabilities else None)


def kl_divergence(logits, target_probs, *, reduction: str = "mean"):
    r"""KL divergence :math:`\mathrm{KL}(t \,\|\, \operatorname{softmax}(z)) = \sum_c t_c (\log t_c - \log p_c)`.

    Terms with :math:`t_c = 0` count as 0. ``"mean"`` divides the total by the batch size N
    (torch's ``"batchmean"``, the mathematically correct KL per sample); ``"none"`` returns the
    elementwise terms. Cross-entropy equals the target's entropy plus this divergence.

    >>> import numpy as np
    >>> float(kl_divergence(np.log(np.array([[0.5, 0.5]])), np.array([[0.5, 0.5]])))
    0.0

    Reference: ``torch.nn.functional.kl_div(log_softmax(z), t, reduction="batchmean")``.
    Used in chapter 3.
    """
    xp, logits, target = matched_inputs(logits, target_probs, reduction=reduction,
                                        names=("logits", "target_probs"))
    if xp is TORCH:
        out = F.kl_div(log_softmax(logits, axis=1), target,
                       reduction="batchmean" if reduction == "mean" else reduction)
        return check_total(xp, out, reduction, logits=logits, target=target)
    logp = log_softmax(logits, axis=1)
    positive = target > 0
    t_log_t = xp.where(positive, target * xp.log(xp.where(positive, target, 1.0)), 0.0)
    terms = t_log_t - target * logp
    if reduction == "mean":
        return xp.sum(terms) / logits.shape[0]
    return reduce(xp, terms, reduction)
