"""Checks for ps07_custom: ``asymmetric_mae`` (NumPy) and ``AsymmetricMAEFunction`` (torch).

The NumPy loss is compared with ``lossutils.asymmetric_mae``. The custom autograd function is run
forward and backward on fresh float64 tensors: its value is compared with the reference, its
gradients with torch autograd through ``lossutils.asymmetric_mae``, and its backward with
central differences of its own forward (a gradient check).
"""

from __future__ import annotations

import numpy as np
import torch

import lossutils
from autograder import probes
from autograder.core import Fail, bind, call, expect_close, expect_consistent, forbid, subcheck

AMAE = "ps07.asymmetric_mae"
FUNC = "ps07.AsymmetricMAEFunction"

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps07", "lossutils", "torch", "sklearn")
forbid(FUNC, "lossutils", "sklearn")  # part 2 is written with torch

_REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _pair(rng, shape, scale=2.0):
    """Predictions and targets with residuals of both signs, none closer than 0.01 to zero."""
    target = rng.normal(0.0, scale, size=shape)
    u = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.01, 2.0 * scale, size=shape)
    return target - u, target


def _weighted(pred, target, uw, ow):
    """Per-element w_u * (y - p) for under-prediction, w_o * (p - y) otherwise."""
    u = target - pred
    return np.where(u > 0, uw * u, -ow * u)


# ------------------------------------------------------------------------------ asymmetric_mae


def _amae_hints(pred, target, uw, ow, reduction) -> dict[str, np.ndarray]:
    red = _REDUCE[reduction]
    u = target - pred
    hints = {
        "the weights are swapped: under_weight applies where pred < target (under-prediction), "
        "over_weight where pred > target": red(_weighted(pred, target, ow, uw)),
        "you returned the plain MAE: multiply |target - pred| by under_weight where "
        "pred < target and by over_weight elsewhere": red(np.abs(u)),
        "you dropped the absolute value: each error must count as a positive cost, "
        "w_u * (target - pred) or w_o * (pred - target)": red(np.where(u > 0, uw * u, ow * u)),
    }
    if (uw, ow) != (2.0, 1.0):
        hints[
            "your result is the loss for the default weights (2, 1): use the under_weight and "
            "over_weight arguments"
        ] = red(_weighted(pred, target, 2.0, 1.0))
    each = _weighted(pred, target, uw, ow)
    if reduction == "mean":
        hints["you returned the sum; reduction='mean' divides by the number of elements"] = (
            each.sum()
        )
    if reduction == "sum":
        hints["you returned the mean; reduction='sum' adds the per-element losses"] = each.mean()
    return hints


def _amae_compare(fn, pred, target, what, *, rtol=1e-6, atol=1e-9, nonfinite=None, **opts):
    uw, ow = opts.get("under_weight", 2.0), opts.get("over_weight", 1.0)
    p64, t64 = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    want = np.asarray(
        lossutils.asymmetric_mae(
            p64.reshape(p64.shape or (1,)), t64.reshape(t64.shape or (1,)), **opts
        )
    )
    if opts.get("reduction") == "none":
        want = want.reshape(p64.shape)
    got = call(fn, pred, target, **opts)
    hints = _amae_hints(p64, t64, uw, ow, opts.get("reduction", "mean"))
    expect_close(got, want, what, rtol=rtol, atol=atol, hints=hints, nonfinite=nonfinite)


@subcheck(AMAE, "basic")
def _amae_basic(fn, rng):
    """matches lossutils.asymmetric_mae with the default weights (2, 1)"""
    for n in (int(rng.integers(5, 40)), 200):
        pred, target = _pair(rng, n)
        _amae_compare(fn, pred, target, f"{n} random predictions")


@subcheck(AMAE, "edge")
def _amae_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D inputs, pred == target, one element and 0-d inputs"""
    n = int(rng.integers(5, 12))
    pred, target = _pair(rng, n)
    _amae_compare(fn, pred, target, "reduction='sum'", reduction="sum")
    _amae_compare(fn, pred, target, "reduction='none'", reduction="none")
    p2, t2 = _pair(rng, (n, 3))
    for reduction in ("mean", "sum", "none"):
        _amae_compare(
            fn, p2, t2, f"inputs of shape {p2.shape}, reduction={reduction!r}", reduction=reduction
        )
    _amae_compare(
        fn, target.copy(), target, "pred equal to target (the loss is 0)", reduction="none"
    )
    _amae_compare(fn, pred[:1], target[:1], "one element")
    _amae_compare(fn, np.array(pred[0]), np.array(target[0]), "0-d inputs")


@subcheck(AMAE, "stability")
def _amae_huge(fn, rng):
    """stays finite and exact for residuals of size 1e200, and near 1e13 as near 0"""
    target = rng.normal(size=10)
    pred = target + rng.choice([-1.0, 1.0], size=10) * 10.0 ** rng.uniform(199, 201, size=10)
    _amae_compare(
        fn,
        pred,
        target,
        "residuals of size 1e200",
        rtol=1e-9,
        nonfinite="a residual of 1e200 squared overflows; use np.abs(target - pred), not the "
        "square root of a square",
    )
    # the loss depends on target - pred only: the same residuals near 0 (an exact shift) must
    # give the same value, whatever the formula; a mistake in the formula is charged elsewhere
    offset = 1e13
    target = offset + rng.integers(-8, 8, size=20).astype(np.float64)
    pred = target + rng.uniform(-3.0, 3.0, size=20)
    uw, ow = 1.7, 0.6
    got = call(fn, pred, target, under_weight=uw, over_weight=ow)
    near = call(fn, pred - offset, target - offset, under_weight=uw, over_weight=ow)
    expect_consistent(
        got,
        near,
        f"values near 1e13, under_weight={uw}, over_weight={ow}",
        "for the same residuals near 0",
        want=lossutils.asymmetric_mae(pred, target, under_weight=uw, over_weight=ow),
        known=_amae_hints(pred, target, uw, ow, "mean"),
        rtol=1e-6,
        explain="form the residual target - pred first, then weight it: weighting target and "
        "pred separately and subtracting two numbers near 1e13 loses the digits",
    )


@subcheck(AMAE, "stability")
def _amae_float32(fn, rng):
    """accepts float32 inputs (the same result as for those values in float64, to 1e-5)"""
    pred, target = _pair(rng, 50)
    p32, t32 = pred.astype(np.float32), target.astype(np.float32)
    got = call(fn, p32, t32)
    p64, t64 = p32.astype(np.float64), t32.astype(np.float64)
    same_in_float64 = call(fn, p64, t64)
    expect_consistent(
        got,
        same_in_float64,
        "float32 inputs",
        "for the same values in float64",
        want=lossutils.asymmetric_mae(p64, t64),
        known=_amae_hints(p64, t64, 2.0, 1.0, "mean"),
        rtol=1e-5,
        atol=1e-6,
    )


@subcheck(AMAE, "params")
def _amae_params(fn, rng):
    """uses under_weight and over_weight: (0.5, 3), (1, 1) and (4, 0)"""
    for uw, ow in ((0.5, 3.0), (1.0, 1.0), (4.0, 0.0)):
        pred, target = _pair(rng, int(rng.integers(10, 40)))
        _amae_compare(
            fn,
            pred,
            target,
            f"under_weight={uw}, over_weight={ow}",
            under_weight=uw,
            over_weight=ow,
        )


# ----------------------------------------------------------------------- AsymmetricMAEFunction


def _run(fn, pred, target, uw, ow, *, want: str, upstream=1.0, target_grad=False):
    """``fn.apply`` (and backward) under ``call``'s protections: the value or a gradient.

    ``want`` is "value", "pred_grad" or "target_grad" (see :func:`probes.autograd_function`).
    """
    run = bind(probes.autograd_function, fn)
    return call(run, pred, target, uw, ow, want=want, upstream=upstream, target_grad=target_grad)


def _ref_grad(pred, target, uw, ow) -> np.ndarray:
    """d/d pred of the mean asymmetric MAE, by torch autograd through lossutils."""
    p = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(target, dtype=torch.float64)
    lossutils.asymmetric_mae(p, t, under_weight=uw, over_weight=ow).backward()
    return p.grad.numpy()


def _grad_hints(pred, target, uw, ow, scale=1.0) -> dict[str, np.ndarray]:
    g = _ref_grad(pred, target, uw, ow) * scale
    n = pred.size
    hints = {
        "the sign is flipped: raising pred where pred < target lowers the loss, so the "
        "gradient there is -under_weight / N (and +over_weight / N where pred > target)": -g,
        "you forgot to divide by N: forward returns the mean, so each gradient entry is "
        "(slope) / N": g * n,
        "the weights are missing from backward: the slope is -under_weight where pred < target "
        "and +over_weight elsewhere, not -1 and +1": _ref_grad(pred, target, 1.0, 1.0) * scale,
        "the weights are swapped in backward: -under_weight belongs to pred < target": _ref_grad(
            pred, target, ow, uw
        )
        * scale,
    }
    if scale != 1.0:
        hints[
            "you ignored grad_output: by the chain rule backward returns grad_output times the "
            "local gradient"
        ] = g / scale
    return hints


@subcheck(FUNC, "forward")
def _func_forward(fn, rng):
    """forward returns the mean asymmetric MAE as a 0-d tensor (1-D and 2-D inputs)"""
    for shape, (uw, ow) in (((int(rng.integers(5, 30)),), (2.0, 1.0)), ((6, 4), (0.5, 3.0))):
        pred, target = _pair(rng, shape)
        got = _run(fn, pred, target, uw, ow, want="value")
        want = lossutils.asymmetric_mae(pred, target, under_weight=uw, over_weight=ow)
        hints = _amae_hints(pred, target, uw, ow, "mean")
        expect_close(got, want, f"forward, shape {shape}, weights ({uw}, {ow})", hints=hints)


@subcheck(FUNC, "grad")
def _func_grad(fn, rng):
    """backward gives pred the same gradient as autograd through lossutils.asymmetric_mae"""
    for shape, (uw, ow) in (((int(rng.integers(5, 30)),), (2.0, 1.0)), ((5, 3), (0.5, 3.0))):
        pred, target = _pair(rng, shape)
        got = _run(fn, pred, target, uw, ow, want="pred_grad")
        expect_close(
            got,
            _ref_grad(pred, target, uw, ow),
            f"d loss / d pred, shape {shape}, weights ({uw}, {ow})",
            hints=_grad_hints(pred, target, uw, ow),
        )


@subcheck(FUNC, "grad")
def _func_finite_differences(fn, rng):
    """backward agrees with central differences of your own forward (a gradient check)"""
    pred, target = _pair(rng, (4, 3))
    uw, ow = 1.5, 0.5

    forward = bind(probes.autograd_function, fn)

    def run():
        return lossutils.numerical_gradient(
            lambda x: float(forward(x, target, uw, ow, want="value")), pred, eps=1e-6
        )

    run.__name__ = getattr(fn, "__name__", "AsymmetricMAEFunction")
    numerical = call(run)
    analytic = _run(fn, pred, target, uw, ow, want="pred_grad")
    try:
        expect_close(analytic, numerical, "backward vs finite differences", rtol=1e-5, atol=1e-8)
    except Fail as exc:
        raise Fail(
            f"{exc}; the gradient your backward returns differs from (f(pred + h) - "
            "f(pred - h)) / 2h of your own forward: derive the slope of each branch again and "
            "remember the 1/N of the mean"
        ) from None


@subcheck(FUNC, "chain")
def _func_upstream(fn, rng):
    """multiplies by grad_output (checked by back-propagating 3.5 * loss)"""
    pred, target = _pair(rng, int(rng.integers(5, 30)))
    uw, ow = 2.0, 1.0
    got = _run(fn, pred, target, uw, ow, want="pred_grad", upstream=3.5)
    expect_close(
        got,
        3.5 * _ref_grad(pred, target, uw, ow),
        "d (3.5 * loss) / d pred",
        hints=_grad_hints(pred, target, uw, ow, scale=3.5),
    )


@subcheck(FUNC, "chain")
def _func_target_grad(fn, rng):
    """returns the gradient for target too (minus the one for pred)"""
    pred, target = _pair(rng, int(rng.integers(5, 30)))
    uw, ow = 2.0, 1.0
    got = _run(fn, pred, target, uw, ow, want="target_grad", target_grad=True)
    g = _ref_grad(pred, target, uw, ow)
    hints = {
        "the target gradient has the wrong sign: the loss depends on target - pred, so "
        "d loss / d target = -(d loss / d pred)": g
    }
    expect_close(got, -g, "d loss / d target", hints=hints)
