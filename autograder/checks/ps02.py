"""Checks for ps02_cross_entropy: BCE from logits, softmax cross-entropy and its gradient.

Every sub-check draws fresh inputs from ``rng`` and compares with ``lossutils``.
"""

from __future__ import annotations

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, expect_value_error, forbid, subcheck

BCE = "ps02.binary_cross_entropy_with_logits"
CE = "ps02.cross_entropy"
CE_GRAD = "ps02.cross_entropy_grad"

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps02", "lossutils", "torch", "sklearn")

BCE_NONFINITE = (
    "nan/inf for logits = \u00b1800: log(sigmoid(x)) underflows to log(0); use "
    "log1p(exp(-|x|)) + max(x, 0) - x*y, which never takes exp of a positive number"
)
BCE_LARGE_VALUES = (
    "at large |logits| the loss grows linearly (about |x| for a wrong sign); clipping "
    "probabilities caps it, so compute from the logits: log1p(exp(-|x|)) + max(x, 0) - x*y"
)
CE_NONFINITE = (
    "nan/inf at large logits: exp(800) overflows; subtract each row's maximum before exp "
    "(the log-sum-exp trick)"
)
CE_TINY_PROB = (
    "the true class has probability below 1e-340 here, which rounds to 0 in float64 (the "
    "smallest positive double is about 5e-324), so log(softmax) is log(0) = -inf; "
    "compute log-softmax directly as x - max - log(sum(exp(x - max)))"
)


def _binary_targets(rng, shape) -> np.ndarray:
    return rng.integers(0, 2, size=shape).astype(np.float64)


def _logits(rng, shape, scale=3.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def _scalar(value: np.ndarray) -> float:
    if value.size != 1:
        raise Fail(f"returned shape {value.shape} for reduction='mean'; expected a single number")
    return float(value.item())


# ---------------------------------------------------------------------------------------------
# binary_cross_entropy_with_logits


def _bce_hints(x, y, want, **kwargs) -> dict[str, np.ndarray]:
    ref = lossutils.binary_cross_entropy_with_logits
    return {
        "you returned the sum; reduction='mean' divides by the number of elements": ref(
            x, y, reduction="sum", **kwargs
        ),
        "the sign is flipped: the loss is -[y log p + (1-y) log(1-p)], which is >= 0": -want,
        "this is the loss for the negated logits: p = sigmoid(x) = 1 / (1 + exp(-x))": ref(
            -x, y, **kwargs
        ),
    }


@subcheck(BCE, "basic")
def _bce_basic(fn, rng):
    """matches lossutils on random logits and 0/1 targets (reduction='mean')"""
    n = int(rng.integers(5, 30))
    x, y = _logits(rng, n), _binary_targets(rng, n)
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(call(fn, x, y), want, f"{n} random logits", hints=_bce_hints(x, y, want))


@subcheck(BCE, "basic")
def _bce_zero_logit(fn, rng):
    """gives log 2 for a zero logit, whatever the target"""
    y = _binary_targets(rng, 6)
    expect_close(call(fn, np.zeros(6), y), np.log(2.0), "logits of 0")


@subcheck(BCE, "stability")
def _bce_800(fn, rng):
    """is finite and exact for logits of \u00b1800"""
    x = np.array([800.0, -800.0, 800.0, -800.0, 40.0, -40.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    want = lossutils.binary_cross_entropy_with_logits(x, y, reduction="none")
    # one call per element, so that this check needs nothing but the default reduction
    got = np.array([_scalar(call(fn, x[i : i + 1], y[i : i + 1])) for i in range(len(x))])
    what = "logits \u00b1800 and \u00b140, one at a time"
    expect_close(got, want, _capped(got, want, what), nonfinite=BCE_NONFINITE)


def _capped(got, want, what: str) -> str:
    """``what``, with the clipping explanation when the loss came out finite but too small (a
    clipped probability caps the loss of a confidently wrong logit)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if (
        got.shape == want.shape
        and np.isfinite(got).all()
        and np.any((want > 30) & (got < want / 2))  # a confidently wrong logit's loss is capped
    ):
        return f"{what} ({BCE_LARGE_VALUES})"
    return what


@subcheck(BCE, "stability")
def _bce_1e4(fn, rng):
    """is exact for logits up to \u00b11e4 mixed with small ones (mean)"""
    n = 20
    x = _logits(rng, n)
    x[: n // 2] = rng.choice([-1.0, 1.0], n // 2) * rng.uniform(100, 1e4, n // 2)
    y = _binary_targets(rng, n)
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    got = call(fn, x, y)
    expect_close(got, want, _capped(got, want, "logits up to \u00b11e4"), nonfinite=BCE_NONFINITE)


@subcheck(BCE, "params")
def _bce_pos_weight_scalar(fn, rng):
    """applies a scalar pos_weight to the positive term only"""
    n = 16
    x, y = _logits(rng, n), _binary_targets(rng, n)
    pw = float(rng.uniform(2.0, 6.0))
    ref = lossutils.binary_cross_entropy_with_logits
    want = ref(x, y, pos_weight=pw)
    expect_close(call(fn, x, y, pos_weight=pw), want, f"pos_weight={pw:.3g}",
                 hints=_pos_weight_hints(x, y, pw))


def _pos_weight_hints(x, y, pw) -> dict[str, np.ndarray]:
    """The usual ways of applying pos_weight wrongly (a number, or one weight per column)."""
    ref = lossutils.binary_cross_entropy_with_logits
    return {
        "pos_weight multiplies the loss of the positive labels (y = 1), not the negatives":
        _weighted(x, y, neg=pw),
        "pos_weight multiplies only the positive term y*log(p), not the whole loss": np.mean(
            pw * ref(x, y, reduction="none")
        ),
        "pos_weight is missing: multiply the positive term y*log(p) by it": ref(x, y),
    }


def _weighted(x, y, *, pos=1.0, neg=1.0) -> np.ndarray:
    """Mean of pos*y*softplus(-x) + neg*(1-y)*softplus(x), a reference for wrong weightings."""
    sp_neg = np.logaddexp(0.0, -x)
    sp_pos = np.logaddexp(0.0, x)
    return np.mean(pos * y * sp_neg + neg * (1 - y) * sp_pos)


@subcheck(BCE, "params")
def _bce_pos_weight_vector(fn, rng):
    """broadcasts a pos_weight of shape (L,) over (N, L) logits, one weight per label column"""
    n, labels = int(rng.integers(6, 15)), int(rng.integers(3, 6))
    x, y = _logits(rng, (n, labels)), _binary_targets(rng, (n, labels))
    pw = rng.uniform(0.5, 8.0, labels)
    want = lossutils.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
    expect_close(call(fn, x, y, pos_weight=pw), want, f"logits {x.shape}, pos_weight {pw.shape}",
                 hints=_pos_weight_hints(x, y, pw))


@subcheck(BCE, "edge")
def _bce_reductions(fn, rng):
    """supports reduction='sum' and reduction='none' (same shape as the logits)"""
    x, y = _logits(rng, (4, 3)), _binary_targets(rng, (4, 3))
    ref = lossutils.binary_cross_entropy_with_logits
    expect_close(call(fn, x, y, reduction="sum"), ref(x, y, reduction="sum"), "reduction='sum'",
                 hints={"reduction='sum' adds the losses; you returned their mean": ref(x, y)})
    expect_close(call(fn, x, y, reduction="none"), ref(x, y, reduction="none"),
                 "reduction='none' on logits of shape (4, 3)")


@subcheck(BCE, "edge")
def _bce_soft_targets(fn, rng):
    """accepts soft targets between 0 and 1 (e.g. smoothed labels)"""
    x, y = _logits(rng, 12), rng.uniform(0, 1, 12)
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(call(fn, x, y), want, "targets in (0, 1)", hints={
        "targets need not be 0 or 1: use the formula y*log(p) + (1-y)*log(1-p) for every y,"
        " not a branch on y == 1": lossutils.binary_cross_entropy_with_logits(x, np.round(y)),
    })


# ---------------------------------------------------------------------------------------------
# cross_entropy


def _class_data(rng, scale=3.0):
    n, c = int(rng.integers(4, 13)), int(rng.integers(3, 8))
    return _logits(rng, (n, c), scale), rng.integers(0, c, n)


def _ce_hints(x, t, want) -> dict[str, np.ndarray]:
    n = x.shape[0]
    wrong_axis = -lossutils.log_softmax(x, axis=0)[np.arange(n), t]
    return {
        "you returned the sum; reduction='mean' divides by the number of samples N": want * n,
        "the softmax runs over the wrong axis: normalise each row (axis=1, over the classes)":
        wrong_axis.mean(),
        "the sign is flipped: the loss is -log softmax(x)[target], which is >= 0": -want,
        "you averaged over all N*C entries; divide the sum over samples by N only": want
        / x.shape[1],
    }


@subcheck(CE, "basic")
def _ce_basic(fn, rng):
    """matches lossutils on random logits and class indices (reduction='mean')"""
    x, t = _class_data(rng)
    want = lossutils.cross_entropy(x, t)
    expect_close(call(fn, x, t), want, f"logits of shape {x.shape}", hints=_ce_hints(x, t, want))


@subcheck(CE, "basic")
def _ce_uniform(fn, rng):
    """gives log C when all logits are equal"""
    c = int(rng.integers(2, 10))
    expect_close(call(fn, np.zeros((3, c)), np.array([0, c - 1, 1])), np.log(c),
                 f"equal logits, C = {c}")


@subcheck(CE, "stability")
def _ce_large_equalish(fn, rng):
    """is finite and exact for logits near \u00b1800"""
    x, t = _class_data(rng, scale=1.0)
    x = x + rng.choice([-800.0, 800.0], size=(x.shape[0], 1))
    want = lossutils.cross_entropy(x, t)
    expect_close(call(fn, x, t), want, "logits near \u00b1800", nonfinite=CE_NONFINITE)


@subcheck(CE, "stability")
def _ce_tiny_probability(fn, rng):
    """is exact when the true class's probability underflows (logits spread up to 1e4)"""
    x, t = _class_data(rng, scale=1.0)
    x[np.arange(len(t)), (t + 1) % x.shape[1]] = rng.uniform(800, 1e4, len(t))
    want = lossutils.cross_entropy(x, t)
    expect_close(call(fn, x, t), want, "logits up to 1e4", nonfinite=CE_TINY_PROB)


@subcheck(CE, "edge")
def _ce_reductions(fn, rng):
    """supports reduction='sum' and reduction='none' (shape (N,))"""
    x, t = _class_data(rng)
    ref = lossutils.cross_entropy
    expect_close(call(fn, x, t, reduction="sum"), ref(x, t, reduction="sum"), "reduction='sum'",
                 hints={"reduction='sum' adds the losses; you returned their mean": ref(x, t)})
    expect_close(call(fn, x, t, reduction="none"), ref(x, t, reduction="none"),
                 "reduction='none'")


@subcheck(CE, "edge")
def _ce_small_shapes(fn, rng):
    """works for a single sample and for two classes"""
    x1, t1 = _logits(rng, (1, 4)), np.array([int(rng.integers(0, 4))])
    expect_close(call(fn, x1, t1), lossutils.cross_entropy(x1, t1), "one sample (N = 1)")
    x2, t2 = _logits(rng, (7, 2)), rng.integers(0, 2, 7)
    expect_close(call(fn, x2, t2), lossutils.cross_entropy(x2, t2), "two classes (C = 2)")


@subcheck(CE, "edge")
def _ce_bad_index(fn, rng):
    """raises ValueError for a class index outside 0..C-1"""
    x, t = _class_data(rng)
    c = x.shape[1]
    high, low = t.copy(), t.copy()
    high[0], low[-1] = c, -1
    expect_value_error(fn, x, high, what=f"target contains {c} with C = {c} classes")
    expect_value_error(
        fn, x, low, what="target contains -1 (NumPy indexing would silently take the last class)"
    )


# ---------------------------------------------------------------------------------------------
# cross_entropy_grad


def _grad_hints(x, t, want, reduction) -> dict[str, np.ndarray]:
    n = x.shape[0]
    onehot = np.eye(x.shape[1])[t]
    wrong_axis = lossutils.softmax(x, axis=0) - onehot
    hints = {
        "the sign is flipped: the gradient is softmax(x) - onehot(target)": -want,
        "the softmax runs over the wrong axis: normalise each row (axis=1, over the classes)":
        wrong_axis / (n if reduction == "mean" else 1),
    }
    if reduction == "mean":
        hints["off by a factor N: for reduction='mean' divide softmax - onehot by N"] = want * n
        hints["divided by N twice: softmax - onehot is divided by N once for the mean"] = want / n
    else:
        hints["reduction='sum' does not divide by N: the gradient is softmax - onehot"] = want / n
    return hints


def _check_grad(fn, x, t, what, reduction="mean", nonfinite=None):
    want = lossutils.cross_entropy_grad(x, t, reduction=reduction)
    kwargs = {} if reduction == "mean" else {"reduction": reduction}
    expect_close(call(fn, x, t, **kwargs), want, what, hints=_grad_hints(x, t, want, reduction),
                 nonfinite=nonfinite)


@subcheck(CE_GRAD, "basic")
def _grad_basic(fn, rng):
    """matches lossutils.cross_entropy_grad on random logits (reduction='mean')"""
    x, t = _class_data(rng)
    _check_grad(fn, x, t, f"gradient for logits of shape {x.shape}")


@subcheck(CE_GRAD, "basic")
def _grad_rows_sum_to_zero(fn, rng):
    """returns an (N, C) array whose rows sum to zero"""
    x, t = _class_data(rng)
    got = call(fn, x, t)
    if got.shape != x.shape:
        raise Fail(f"returned shape {got.shape}, expected {x.shape} (one entry per logit)")
    if not np.allclose(got.sum(axis=1), 0.0, atol=1e-9):
        raise Fail("each row of softmax - onehot sums to 1 - 1 = 0, yours do not")


@subcheck(CE_GRAD, "stability")
def _grad_large(fn, rng):
    """is finite and exact for logits near \u00b1800 and up to 1e4"""
    x, t = _class_data(rng, scale=1.0)
    x = x + rng.choice([-800.0, 800.0], size=(x.shape[0], 1))
    _check_grad(fn, x, t, "logits near \u00b1800", nonfinite=CE_NONFINITE)
    x, t = _class_data(rng, scale=1.0)
    x[np.arange(len(t)), (t + 1) % x.shape[1]] = rng.uniform(800, 1e4, len(t))
    _check_grad(fn, x, t, "logits up to 1e4", nonfinite=CE_NONFINITE)


@subcheck(CE_GRAD, "edge")
def _grad_sum(fn, rng):
    """supports reduction='sum' (no division by N)"""
    x, t = _class_data(rng)
    _check_grad(fn, x, t, "reduction='sum'", reduction="sum")


@subcheck(CE_GRAD, "edge")
def _grad_numerical(fn, rng):
    """agrees with a central-difference numerical gradient for one sample and for two classes"""
    for shape in [(1, int(rng.integers(3, 6))), (5, 2)]:
        x = _logits(rng, shape)
        t = rng.integers(0, shape[1], shape[0])
        num = lossutils.numerical_gradient(lambda z, t=t: float(lossutils.cross_entropy(z, t)), x)
        hints = _grad_hints(x, t, lossutils.cross_entropy_grad(x, t), "mean")
        expect_close(
            call(fn, x, t), num, f"logits of shape {shape}", rtol=1e-4, atol=1e-7, hints=hints
        )
