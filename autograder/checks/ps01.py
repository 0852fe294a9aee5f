"""Checks for ps01_regression: ``mse``, ``mae``, ``huber`` and ``quantile``.

Every sub-check draws fresh inputs from ``rng``, runs the student's function through :func:`call`
and compares it with the ``lossutils`` reference in float64.
"""

from __future__ import annotations

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, expect_consistent, forbid, subcheck

FLOAT32_RTOL = 1e-4

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps01", "lossutils", "torch", "sklearn")


def _ref(name: str, pred, target, **opts) -> np.ndarray:
    """The lossutils value in float64 (0-d inputs go in as one-element vectors)."""
    fn = getattr(lossutils, name)
    pred64 = np.asarray(pred, dtype=np.float64)
    target64 = np.asarray(target, dtype=np.float64)
    shape = pred64.shape if opts.get("reduction") == "none" else ()
    value = fn(
        pred64.reshape(pred64.shape or (1,)), target64.reshape(target64.shape or (1,)), **opts
    )
    return np.asarray(value, dtype=np.float64).reshape(shape)


def _pair(rng, shape, scale=2.0):
    """Prediction and target with residuals of mixed size and sign."""
    target = rng.normal(0.0, scale, size=shape)
    pred = target + rng.normal(0.0, scale, size=shape)
    return pred, target


def _describe(name, shape, **opts) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in opts.items())
    return f"{name}(pred, target{extra}) on inputs of shape {tuple(shape)}"


def _reduction_hints(name, pred, target, reduction, **opts) -> dict[str, np.ndarray]:
    """Wrong answers that come from a mix-up of the reductions."""
    each = _ref(name, pred, target, reduction="none", **opts)
    if reduction == "mean":
        hints = {
            "you returned the sum; reduction='mean' divides by the number of elements": each.sum()
        }
        if each.ndim == 2:
            hints[
                "you divided by the number of rows (len); reduction='mean' divides by the number "
                "of elements (.size)"
            ] = each.sum() / each.shape[0]
            hints["you averaged over axis 0 only; 'mean' averages over every element"] = each.mean(
                0
            )
            hints["you averaged over axis 1 only; 'mean' averages over every element"] = each.mean(
                1
            )
        return hints
    if reduction == "sum":
        return {"you returned the mean; reduction='sum' adds the per-element losses": each.mean()}
    return {}


def _compare(fn, name, pred, target, *, hints=None, rtol=1e-6, nonfinite=None, **opts):
    got = call(fn, pred, target, **opts)
    want = _ref(name, pred, target, **opts)
    all_hints = _reduction_hints(
        name,
        pred,
        target,
        opts.get("reduction", "mean"),
        **{k: v for k, v in opts.items() if k != "reduction"},
    )
    all_hints.update(hints or {})
    what = _describe(name, np.shape(pred), **opts)
    expect_close(got, want, what, rtol=rtol, hints=all_hints, nonfinite=nonfinite)


def _edge_cases(fn, name, rng, hints=None, **opts):
    """Reductions 'sum' and 'none', 2-D inputs, one element and 0-d inputs.

    ``hints(pred, target, reduction)`` gives the exercise's known wrong answers.
    """

    def compare(pred, target, reduction="mean"):
        extra = hints(pred, target, reduction) if hints else None
        red = {} if reduction == "mean" else {"reduction": reduction}
        _compare(fn, name, pred, target, hints=extra, **red, **opts)

    n = int(rng.integers(5, 12))
    pred, target = _pair(rng, (n,))
    compare(pred, target, "sum")
    compare(pred, target, "none")
    pred2, target2 = _pair(rng, (n, 3))
    for reduction in ("mean", "sum", "none"):
        _compare(fn, name, pred2, target2, reduction=reduction, **opts)
    compare(pred[:1], target[:1])
    compare(np.array(pred[0]), np.array(target[0]))


def _known(name, pred, target, hints=None, **opts) -> dict[str, np.ndarray]:
    """The wrong answers the other parts name, for ``expect_consistent``."""
    reduction = opts.pop("reduction", "mean")
    known = _reduction_hints(name, pred, target, reduction, **opts)
    known.update(hints(pred, target) if hints else {})
    return known


def _float32(fn, name, rng, hints=None, **opts):
    """float32 inputs give (to 1e-4) what your function gives for the same values in float64.

    The comparison is with the student's own float64 result, so that a mistake in the formula is
    charged where it is tested (basic, edge, params), not here as well.
    """
    pred, target = _pair(rng, (50,), scale=3.0)
    pred32, target32 = pred.astype(np.float32), target.astype(np.float32)
    got = call(fn, pred32, target32, **opts)
    same_in_float64 = call(fn, pred32.astype(np.float64), target32.astype(np.float64), **opts)
    what = _describe(name, pred.shape, **opts) + " in float32"
    p64, t64 = pred32.astype(np.float64), target32.astype(np.float64)
    expect_consistent(
        got,
        same_in_float64,
        what,
        "for the same values in float64",
        want=_ref(name, p64, t64, **opts),
        known=_known(name, p64, t64, hints, **opts),
        rtol=FLOAT32_RTOL,
        atol=1e-6,
    )


CANCELLATION = (
    "so it loses digits at large values: compute the residual u = target - pred first and build the loss from u; "
    "expanding the formula (or scaling target and pred before subtracting) subtracts two huge, "
    "nearly equal numbers and loses every digit"
)


def _offset(fn, name, rng, offset, hints=None, **opts):
    """Inputs around a large common value: the residual must be formed before anything else.

    The loss depends on target - pred only, so the same residuals near 0 (the inputs minus
    ``offset``, an exact subtraction) must give the same value: that is what this checks, so a
    mistake in the formula itself is charged where it is tested, not here.
    """
    target = offset + rng.integers(-8, 8, size=20).astype(np.float64)
    pred = target + rng.uniform(-3.0, 3.0, size=20)
    got = call(fn, pred, target, **opts)
    near = call(fn, pred - offset, target - offset, **opts)
    what = _describe(name, pred.shape, **opts) + f" with values near {offset:.0e}"
    expect_consistent(
        got,
        near,
        what,
        "for the same residuals near 0",
        want=_ref(name, pred, target, **opts),
        known=_known(name, pred, target, hints, **opts),
        rtol=1e-6,
        explain=CANCELLATION,
    )


def _huge(fn, name, rng, hints=None, **opts):
    """Residuals of size 1e200: squaring them overflows, so the linear parts must not square."""
    target = rng.normal(size=10)
    pred = target + rng.choice([-1.0, 1.0], size=10) * 10.0 ** rng.uniform(199, 201, size=10)
    _compare(
        fn,
        name,
        pred,
        target,
        hints=hints(pred, target) if hints else None,
        rtol=1e-9,
        nonfinite="a residual of 1e200 squared overflows; use np.abs(u) (and, for Huber, "
        "the linear branch delta * (|u| - delta / 2)) where the loss grows linearly",
        **opts,
    )


# --------------------------------------------------------------------------------------- mse


def _mse_hints(pred, target):
    each = (pred - target) ** 2
    return {
        "you took a square root: that is the RMSE, MSE has no root": np.sqrt(each.mean()),
        "you halved the squared error; MSE is the plain mean of (pred - target)**2": 0.5
        * each.mean(),
        "you averaged the signed residuals before squaring: square each residual first": (
            pred - target
        ).mean()
        ** 2,
    }


@subcheck("ps01.mse", "basic")
def _mse_basic(fn, rng):
    """matches lossutils.mse on random vectors (reduction='mean')"""
    for n in (int(rng.integers(5, 40)), 200):
        pred, target = _pair(rng, (n,))
        _compare(fn, "mse", pred, target, hints=_mse_hints(pred, target))


@subcheck("ps01.mse", "edge")
def _mse_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D inputs, one element and 0-d inputs"""
    _edge_cases(fn, "mse", rng)


@subcheck("ps01.mse", "stability")
def _mse_offset(fn, rng):
    """stays exact for inputs near 1e8: the same result as for the same residuals near 0"""
    _offset(fn, "mse", rng, 1e8, hints=_mse_hints)


@subcheck("ps01.mse", "stability")
def _mse_float32(fn, rng):
    """accepts float32 inputs (the same result as for those values in float64, to 1e-4)"""
    _float32(fn, "mse", rng, hints=_mse_hints)


# --------------------------------------------------------------------------------------- mae


def _mae_hints(pred, target, reduction="mean"):
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    u = pred - target
    hints = {
        "you averaged the signed residuals: take np.abs of each residual first": red(u),
        "you squared the residuals: that is MSE, MAE uses |pred - target|": red(u**2),
    }
    if reduction != "none":
        hints[
            "you took the absolute value of the mean residual: take np.abs of each residual "
            "first, then average"
        ] = abs(red(u))
    return hints


@subcheck("ps01.mae", "basic")
def _mae_basic(fn, rng):
    """matches lossutils.mae on random vectors (reduction='mean')"""
    for n in (int(rng.integers(5, 40)), 200):
        pred, target = _pair(rng, (n,))
        _compare(fn, "mae", pred, target, hints=_mae_hints(pred, target))


@subcheck("ps01.mae", "edge")
def _mae_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D inputs, one element and 0-d inputs"""
    _edge_cases(fn, "mae", rng, hints=_mae_hints)


@subcheck("ps01.mae", "stability")
def _mae_huge(fn, rng):
    """stays finite and exact for residuals of size 1e200"""
    _huge(fn, "mae", rng, hints=_mae_hints)


@subcheck("ps01.mae", "stability")
def _mae_float32(fn, rng):
    """accepts float32 inputs (the same result as for those values in float64, to 1e-4)"""
    _float32(fn, "mae", rng, hints=_mae_hints)


# ------------------------------------------------------------------------------------- huber


def _huber_hints(pred, target, delta, reduction="mean"):
    u = np.abs(pred - target)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    return {
        "you computed smooth-L1 (torch's smooth_l1_loss with beta = delta), which is Huber "
        "divided by delta; Huber's linear part is delta * (|u| - delta / 2)": red(
            np.where(u <= delta, 0.5 * u**2 / delta, u - 0.5 * delta)
        ),
        "your result is the Huber loss for delta = 1: use the `delta` argument in both the "
        "test |u| <= delta and the formulas": red(np.where(u <= 1.0, 0.5 * u**2, u - 0.5)),
        "the quadratic part is 0.5 * u**2 (you dropped the 1/2)": red(
            np.where(u <= delta, u**2, delta * (u - 0.5 * delta))
        ),
        "the linear part is delta * (|u| - delta / 2); you left out the - delta / 2 that makes "
        "the two pieces meet": red(np.where(u <= delta, 0.5 * u**2, delta * u)),
    }


def _huber_pair(rng, n, delta):
    """Half of the residuals inside [-delta, delta], half outside."""
    target = rng.normal(size=n)
    inside = rng.uniform(-0.95, 0.95, size=n // 2) * delta
    outside = rng.choice([-1.0, 1.0], size=n - n // 2) * rng.uniform(1.1, 5.0, n - n // 2) * delta
    return target + rng.permutation(np.concatenate([inside, outside])), target


@subcheck("ps01.huber", "basic")
def _huber_basic(fn, rng):
    """matches lossutils.huber (delta=1) with residuals on both sides of delta"""
    for n in (int(rng.integers(6, 40)), 200):
        pred, target = _huber_pair(rng, n, 1.0)
        _compare(fn, "huber", pred, target, hints=_huber_hints(pred, target, 1.0))


@subcheck("ps01.huber", "edge")
def _huber_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D inputs, one element and 0-d inputs"""
    _edge_cases(fn, "huber", rng, hints=lambda p, t, r: _huber_hints(p, t, 1.0, r))
    pred = np.array([1.0, -1.0, 0.0])
    _compare(fn, "huber", pred, np.zeros(3), reduction="none")


@subcheck("ps01.huber", "stability")
def _huber_huge(fn, rng):
    """stays exact and finite for residuals of size 1e8 and 1e200"""
    target = rng.normal(size=10)
    pred = target + rng.choice([-1.0, 1.0], size=10) * rng.uniform(1e8, 2e8, size=10)
    try:
        _compare(fn, "huber", pred, target, rtol=1e-9, hints=_huber_hints(pred, target, 1.0))
    except Fail as exc:
        got = call(fn, pred, target)
        want = _ref("huber", pred, target)
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-4):  # right but for digits
            raise Fail(
                f"{exc}; for large |u| build the linear branch as delta * (|u| - delta / 2), "
                "not as a difference of two squares, which cancels"
            ) from None
        raise
    _huge(fn, "huber", rng, hints=lambda p, t: _huber_hints(p, t, 1.0))


@subcheck("ps01.huber", "stability")
def _huber_float32(fn, rng):
    """accepts float32 inputs (the same result as for those values in float64, to 1e-4)"""
    _float32(fn, "huber", rng, hints=lambda p, t: _huber_hints(p, t, 1.0))


@subcheck("ps01.huber", "params")
def _huber_params(fn, rng):
    """uses delta: matches lossutils.huber for delta = 0.3 and 2.5"""
    for delta in (0.3, 2.5):
        for n in (7, 30):
            pred, target = _huber_pair(rng, n, delta)
            _compare(
                fn,
                "huber",
                pred,
                target,
                delta=delta,
                hints=_huber_hints(pred, target, delta),
            )


# ---------------------------------------------------------------------------------- quantile


def _quantile_hints(pred, target, q, reduction="mean"):
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    u = target - pred
    hints = {
        "you used u = pred - target; the convention is u = target - pred, so q > 0.5 makes "
        "under-prediction (pred < target) cost more": red(np.maximum((1 - q) * u, -q * u)),
        "you returned the mean absolute error: weight under-prediction by q and "
        "over-prediction by 1 - q": red(np.abs(u)),
    }
    if q != 0.5:
        hints["your result is the loss for q = 0.5: use the `q` argument"] = red(
            np.maximum(0.5 * u, -0.5 * u)
        )
    return hints


@subcheck("ps01.quantile", "basic")
def _quantile_basic(fn, rng):
    """matches lossutils.quantile with q = 0.8 (u = target - pred) and with the default q = 0.5"""
    for n, q in ((int(rng.integers(5, 40)), 0.8), (200, 0.8), (int(rng.integers(5, 40)), None)):
        pred, target = _pair(rng, (n,))
        opts = {} if q is None else {"q": q}
        hints = _quantile_hints(pred, target, 0.5 if q is None else q)
        _compare(fn, "quantile", pred, target, hints=hints, **opts)


@subcheck("ps01.quantile", "edge")
def _quantile_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D inputs, one element and 0-d inputs (default q)"""
    _edge_cases(fn, "quantile", rng, hints=lambda p, t, r: _quantile_hints(p, t, 0.5, r))


@subcheck("ps01.quantile", "stability")
def _quantile_offset(fn, rng):
    """stays exact for inputs near 1e13 (q = 0.8): the same result as for the same residuals near 0"""
    _offset(fn, "quantile", rng, 1e13, hints=lambda p, t: _quantile_hints(p, t, 0.8), q=0.8)


@subcheck("ps01.quantile", "stability")
def _quantile_float32(fn, rng):
    """accepts float32 inputs (the same result as for those values in float64, to 1e-4)"""
    _float32(fn, "quantile", rng, hints=lambda p, t: _quantile_hints(p, t, 0.5))


@subcheck("ps01.quantile", "params")
def _quantile_params(fn, rng):
    """uses q and the sign convention u = target - pred: q = 0.1 and 0.9"""
    for q in (0.1, 0.9):
        for n in (7, 30):
            pred, target = _pair(rng, (n,))
            _compare(
                fn,
                "quantile",
                pred,
                target,
                q=q,
                hints=_quantile_hints(pred, target, q),
            )
