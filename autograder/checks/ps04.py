"""Checks for ps04_focal: the sigmoid focal loss of Lin et al. (2017), as in torchvision.

Every sub-check draws fresh inputs from ``rng`` and compares with ``lossutils.sigmoid_focal_loss``.
"""

from __future__ import annotations

import functools

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, forbid, subcheck

FOCAL = "ps04.sigmoid_focal_loss"

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps04", "lossutils", "torch", "sklearn")

NONFINITE = (
    "nan/inf at large logits: take the cross-entropy part from the logits "
    "(log1p(exp(-|x|)) + max(x, 0) - x*y, as in ps02) instead of log(sigmoid(x))"
)


def _data(rng, shape=None):
    shape = shape or (int(rng.integers(8, 30)),)
    return 3.0 * rng.standard_normal(shape), rng.integers(0, 2, size=shape).astype(np.float64)


def _alternatives(x, y, alpha, gamma, reduction="mean") -> dict[str, np.ndarray]:
    """Common wrong answers, each as the message a student sees when it matches."""
    ce = lossutils.binary_cross_entropy_with_logits(x, y, reduction="none")
    p = lossutils.sigmoid(x)
    p_t = p * y + (1 - p) * (1 - y)
    a = 1.0 if alpha is None else alpha
    if alpha is None:  # no class weighting: alpha_t = 1 (and nothing to swap)
        alpha_t = alpha_swapped = np.ones_like(y)
    else:
        alpha_t = a * y + (1 - a) * (1 - y)
        alpha_swapped = (1 - a) * y + a * (1 - y)

    def red(values):
        return values.mean() if reduction == "mean" else values.sum()

    hints = {
        "alpha weights the positive class (y = 1) and 1 - alpha the negatives; yours are swapped":
        red(alpha_swapped * (1 - p_t) ** gamma * ce),
        "the modulating factor is (1 - p_t)**gamma with p_t the probability of the true label, "
        "not (1 - p)**gamma": red(alpha_t * (1 - p) ** gamma * ce),
        "the factor is (1 - p_t)**gamma, which shrinks the loss of easy examples; you used "
        "p_t**gamma": red(alpha_t * p_t**gamma * ce),
    }
    if alpha is not None:
        hints["alpha is missing: multiply by alpha_t = alpha*y + (1 - alpha)*(1 - y)"] = red(
            (1 - p_t) ** gamma * ce
        )
    focal = alpha_t * (1 - p_t) ** gamma * ce
    if reduction == "mean":
        hints["you returned the sum; reduction='mean' divides by the number of elements"] = (
            focal.sum()
        )
    if reduction == "sum":
        hints["you returned the mean; reduction='sum' adds the per-element losses"] = focal.mean()
    if gamma != 2.0:
        hints["your result is the loss for gamma = 2: use the `gamma` argument"] = red(
            alpha_t * (1 - p_t) ** 2.0 * ce
        )
    if alpha != 0.25:
        default_t = 0.25 * y + 0.75 * (1 - y)
        words = (
            "alpha=None switches the class weighting off (alpha_t = 1), but your result is the "
            "loss for alpha = 0.25"
            if alpha is None
            else "your result is the loss for alpha = 0.25: use the `alpha` argument"
        )
        hints[words] = red(
            default_t * (1 - p_t) ** gamma * ce
        )
    return hints


def _compare(fn, x, y, what, *, nonfinite=None, **kwargs):
    want = lossutils.sigmoid_focal_loss(x, y, **kwargs)
    alpha, gamma = kwargs.get("alpha", 0.25), kwargs.get("gamma", 2.0)
    reduction = kwargs.get("reduction", "mean")
    hints = _alternatives(x, y, alpha, gamma, reduction) if reduction != "none" else None
    expect_close(call(fn, x, y, **kwargs), want, what, hints=hints, nonfinite=nonfinite)


@subcheck(FOCAL, "basic")
def _basic(fn, rng):
    """matches lossutils on random logits and 0/1 targets (alpha=0.25, gamma=2, mean)"""
    x, y = _data(rng)
    _compare(fn, x, y, f"{x.size} random logits")


@subcheck(FOCAL, "basic")
def _easy_examples(fn, rng):
    """gives confidently right examples a far smaller loss than cross-entropy does"""
    y = np.array([1.0, 0.0, 1.0, 0.0])
    x = np.array([3.0, -3.0, 4.0, -5.0]) * rng.uniform(0.8, 1.2)
    _compare(fn, x, y, "confidently right logits")


@subcheck(FOCAL, "params")
def _alpha_none(fn, rng):
    """accepts alpha=None (no class weighting)"""
    x, y = _data(rng)
    _compare(fn, x, y, "alpha=None", alpha=None)


@subcheck(FOCAL, "params")
def _gamma_zero_is_bce(fn, rng):
    """equals binary cross-entropy for gamma=0 and alpha=None"""
    x, y = _data(rng)
    got = call(fn, x, y, alpha=None, gamma=0.0)
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(got, want, "gamma=0, alpha=None (plain cross-entropy)",
                 hints=_alternatives(x, y, None, 0.0))


@subcheck(FOCAL, "params")
def _other_values(fn, rng):
    """uses the alpha and gamma it is given (gamma 0.5, 1, 3, 5; alpha 0.1 to 0.9)"""
    x, y = _data(rng)
    for gamma in (0.5, 1.0, 3.0, 5.0):
        alpha = float(np.round(rng.uniform(0.1, 0.9), 2))
        _compare(fn, x, y, f"alpha={alpha}, gamma={gamma}", alpha=alpha, gamma=gamma)


@subcheck(FOCAL, "stability")
def _large_logits(fn, rng):
    """is finite and exact for logits of \u00b1800, right and wrong"""
    x = np.array([800.0, -800.0, 800.0, -800.0, 50.0, -50.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    # one call per element, so that this check needs nothing but the defaults
    got = []
    for i in range(len(x)):
        value = call(fn, x[i : i + 1], y[i : i + 1])
        if value.size != 1:
            raise Fail(f"returned shape {value.shape} for reduction='mean'; expected one number")
        got.append(value.item())
    want = lossutils.sigmoid_focal_loss(x, y, reduction="none")
    expect_close(np.array(got), want, "logits \u00b1800 and \u00b150, one at a time",
                 nonfinite=NONFINITE)


@subcheck(FOCAL, "stability")
def _huge_logits(fn, rng):
    """is exact for logits up to \u00b11e4 mixed with small ones"""
    x, y = _data(rng, (20,))
    x[:10] = rng.choice([-1.0, 1.0], 10) * rng.uniform(100, 1e4, 10)
    _compare(fn, x, y, "logits up to \u00b11e4", nonfinite=NONFINITE)


@subcheck(FOCAL, "edge")
def _reductions(fn, rng):
    """supports reduction='sum' and reduction='none'"""
    x, y = _data(rng)
    _compare(fn, x, y, "reduction='sum'", reduction="sum")
    _compare(fn, x, y, "reduction='none'", reduction="none")


@subcheck(FOCAL, "edge")
def _shapes(fn, rng):
    """keeps the input's shape for 2-D logits (N, L) and a single element"""
    x, y = _data(rng, (int(rng.integers(3, 8)), int(rng.integers(2, 5))))
    _compare(fn, x, y, f"logits of shape {x.shape}, reduction='none'", reduction="none")
    _compare(fn, x, y, f"logits of shape {x.shape}")
    x1, y1 = _data(rng, (1,))
    _compare(fn, x1, y1, "one element")


@subcheck(FOCAL, "edge")
def _bad_reduction(fn, rng):
    """raises ValueError for an unknown reduction"""
    x, y = _data(rng)

    @functools.wraps(fn)
    def attempt(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except ValueError:
            return 1.0
        return 0.0

    try:
        raised = call(attempt, x, y, reduction="average")
    except Fail as exc:
        raise Fail(f"reduction='average': {exc}; raise ValueError for it instead") from None
    if raised != 1.0:
        raise Fail(
            "reduction='average' did not raise ValueError; a typo in reduction should be an "
            "error, not silently one of the reductions"
        )
