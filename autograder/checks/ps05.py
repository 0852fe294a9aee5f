"""Checks for ps05_hinge: ``hinge``, ``multiclass_hinge`` and ``multiclass_hinge_grad``.

Every sub-check draws fresh inputs from ``rng``, runs the student's function through :func:`call`
and compares it with the ``lossutils`` reference in float64.
"""

from __future__ import annotations

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, expect_value_error, forbid, subcheck

HINGE = "ps05.hinge"
MC = "ps05.multiclass_hinge"
MC_GRAD = "ps05.multiclass_hinge_grad"

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps05", "lossutils", "torch", "sklearn")

_REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _signs(rng, shape) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape)


def _scores(rng, shape, scale=2.0) -> np.ndarray:
    return scale * rng.standard_normal(shape)


def _class_data(rng, n=None, c=None, scale=2.0):
    """Scores (N, C) and labels (N,), with every margin at least 1e-3 away from its kink."""
    n = int(rng.integers(4, 20)) if n is None else n
    c = int(rng.integers(3, 7)) if c is None else c
    return _scores(rng, (n, c), scale), rng.integers(0, c, size=n)


def _nudge_off_kinks(scores, target, margin):
    """Shift scores so that no s_j - s_y + margin lies within 1e-3 of 0 (gradients are defined)."""
    s = scores.copy()
    rows = np.arange(len(target))
    for _ in range(20):
        z = s - s[rows, target][:, None] + margin
        z[rows, target] = 1.0
        close = np.abs(z) < 1e-3
        if not close.any():
            break
        s[close] += 0.01
    return s


def _hinge_hints(s, y, margin, reduction) -> dict[str, np.ndarray]:
    red = _REDUCE[reduction]
    z = margin - y * s
    hints = {
        "you left out the max(0, .): correctly classified points beyond the margin must "
        "contribute 0, not a negative loss": red(z),
        "you squared the hinge; the plain hinge is max(0, margin - y*s) without a square": red(
            np.maximum(z, 0.0) ** 2
        ),
        "the sign is flipped: the loss is max(0, margin - y*s), positive when y*s < margin": red(
            np.maximum(margin + y * s, 0.0)
        ),
    }
    if reduction == "mean":
        hints["you returned the sum; reduction='mean' divides by the number of elements"] = np.sum(
            np.maximum(z, 0.0)
        )
    if reduction == "sum":
        hints["you returned the mean; reduction='sum' adds the per-element losses"] = np.mean(
            np.maximum(z, 0.0)
        )
    if margin != 1.0:
        hints["your result is the loss for margin = 1: use the `margin` argument"] = red(
            np.maximum(1.0 - y * s, 0.0)
        )
    return hints


def _hinge_compare(fn, s, y, what, **opts):
    margin, reduction = opts.get("margin", 1.0), opts.get("reduction", "mean")
    want = lossutils.hinge(s, y, **opts)
    got = call(fn, s, y, **opts)
    expect_close(got, want, what, hints=_hinge_hints(s, y, margin, reduction))


@subcheck(HINGE, "basic")
def _hinge_basic(fn, rng):
    """matches lossutils.hinge on random scores and labels in {-1, +1} (reduction='mean')"""
    for n in (int(rng.integers(5, 30)), 200):
        _hinge_compare(fn, _scores(rng, n), _signs(rng, n), f"{n} random scores")


@subcheck(HINGE, "edge")
def _hinge_edge(fn, rng):
    """handles reduction='sum'/'none', 2-D scores, one element and a score exactly on the margin"""
    n = int(rng.integers(5, 12))
    s, y = _scores(rng, n), _signs(rng, n)
    _hinge_compare(fn, s, y, "reduction='sum'", reduction="sum")
    _hinge_compare(fn, s, y, "reduction='none'", reduction="none")
    s2, y2 = _scores(rng, (n, 3)), _signs(rng, (n, 3))
    for reduction in ("mean", "sum", "none"):
        _hinge_compare(
            fn, s2, y2, f"scores of shape {s2.shape}, reduction={reduction!r}", reduction=reduction
        )
    _hinge_compare(fn, s[:1], y[:1], "a single score")
    on_margin = np.array([1.0, -1.0, 0.5, -0.5])
    labels = np.array([1.0, -1.0, 1.0, 1.0])
    _hinge_compare(
        fn, on_margin, labels, "scores with y*s = 1 exactly (the loss is 0 there)", reduction="none"
    )


@subcheck(HINGE, "labels")
def _hinge_labels(fn, rng):
    """raises ValueError for labels in {0, 1} (the formula needs y in {-1, +1}), not for {-1, +1}"""
    n = 12
    s = _scores(rng, n)
    y01 = rng.integers(0, 2, size=n).astype(np.float64)
    y01[:2] = [0.0, 1.0]
    expect_value_error(
        fn,
        s,
        y01,
        what="labels in {0, 1}: with y = 0 the loss is max(0, margin) whatever the score, so "
        "the class-0 examples are never learned; detect labels that are not all -1 or +1",
    )
    y = _signs(rng, n)
    y[:2] = [-1.0, 1.0]
    _hinge_compare(fn, s, y, "labels in {-1, +1}, which are valid (raise only for other labels)")


@subcheck(HINGE, "params")
def _hinge_params(fn, rng):
    """uses margin: matches lossutils.hinge for margin = 0.5 and 2.5"""
    for margin in (0.5, 2.5):
        n = int(rng.integers(10, 40))
        s, y = _scores(rng, n), _signs(rng, n)
        _hinge_compare(fn, s, y, f"margin={margin}", margin=margin)


# -------------------------------------------------------------------------- multiclass_hinge


def _mc_terms(s, t, margin, include_true=False):
    """Per-sample, per-class max(0, s_j - s_y + margin), with the j = y entries kept or zeroed."""
    z = np.maximum(s - s[np.arange(len(t)), t][:, None] + margin, 0.0)
    if not include_true:
        z[np.arange(len(t)), t] = 0.0
    return z


def _mc_hints(s, t, margin, reduction) -> dict[str, np.ndarray]:
    red = _REDUCE[reduction]
    each = _mc_terms(s, t, margin).sum(axis=1)
    c = s.shape[1]
    hints = {
        "you included the term j = y, which adds `margin` per sample: sum over the wrong "
        "classes only": red(_mc_terms(s, t, margin, include_true=True).sum(axis=1)),
        "you averaged over the classes (torch's multi_margin_loss convention); the "
        "Weston-Watkins loss sums over j != y": red(each / c),
        "the difference is reversed: a wrong class j costs max(0, s_j - s_y + margin)": red(
            _mc_terms(-s, t, margin).sum(axis=1)
        ),
        "you kept only the largest violation per sample (Crammer-Singer); Weston-Watkins sums "
        "the violations of every wrong class": red(_mc_terms(s, t, margin).max(axis=1)),
    }
    if reduction == "mean":
        hints["you returned the sum; reduction='mean' divides by the number of samples N"] = (
            each.sum()
        )
    if reduction == "sum":
        hints["you returned the mean; reduction='sum' adds the per-sample losses"] = each.mean()
    if margin != 1.0:
        hints["your result is the loss for margin = 1: use the `margin` argument"] = red(
            _mc_terms(s, t, 1.0).sum(axis=1)
        )
    return hints


def _mc_compare(fn, s, t, what, **opts):
    margin, reduction = opts.get("margin", 1.0), opts.get("reduction", "mean")
    want = lossutils.multiclass_hinge(s, t, **opts)
    got = call(fn, s, t, **opts)
    expect_close(got, want, what, hints=_mc_hints(s, t, margin, reduction))


@subcheck(MC, "basic")
def _mc_basic(fn, rng):
    """matches lossutils.multiclass_hinge on random (N, C) scores (reduction='mean')"""
    for _ in range(2):
        s, t = _class_data(rng)
        _mc_compare(fn, s, t, f"scores of shape {s.shape}")


@subcheck(MC, "edge")
def _mc_edge(fn, rng):
    """handles reduction='sum'/'none', N = 1, C = 2 and tied scores"""
    s, t = _class_data(rng)
    _mc_compare(fn, s, t, "reduction='sum'", reduction="sum")
    _mc_compare(fn, s, t, "reduction='none'", reduction="none")
    s1, t1 = _class_data(rng, n=1)
    _mc_compare(fn, s1, t1, "one sample (N = 1)")
    s2, t2 = _class_data(rng, c=2)
    _mc_compare(fn, s2, t2, "two classes (C = 2)", reduction="none")
    tied = np.zeros((3, 4))
    _mc_compare(
        fn,
        tied,
        np.array([0, 3, 1]),
        "all scores equal (each wrong class costs margin)",
        reduction="none",
    )


@subcheck(MC, "params")
def _mc_params(fn, rng):
    """uses margin: matches lossutils.multiclass_hinge for margin = 0.3 and 4"""
    for margin in (0.3, 4.0):
        s, t = _class_data(rng)
        _mc_compare(fn, s, t, f"margin={margin}", margin=margin)


# --------------------------------------------------------------------- multiclass_hinge_grad


def _grad_hints(s, t, margin, reduction) -> dict[str, np.ndarray]:
    n, c = s.shape
    rows = np.arange(n)
    v = (_mc_terms(s, t, margin) > 0).astype(float)
    full = v.copy()
    full[rows, t] = -v.sum(axis=1)
    scale = 1.0 / n if reduction == "mean" else 1.0
    if reduction == "mean":
        hints = {"you forgot to divide by N: the loss is the mean over the N samples": full}
    else:
        hints = {"you divided by N, but reduction='sum' does not average": full / n}
    hints |= {
        "the true-class column is missing: each violating class j adds +1 to column j and "
        "-1 to the true class y, so dL/ds_y = -(number of violating classes)": v * scale,
        "the sign is flipped: raising a violating wrong score s_j raises the loss (+1), "
        "raising the true score s_y lowers it": -full * scale,
        "you averaged over the classes too; the loss sums over j != y, so divide by N only": full
        * scale
        / c,
    }
    # j = y counted as a violation of itself (its term is always margin > 0): one more +1 in v,
    # so the true-class entry gets -(violations + 1), or the row keeps a +1 there
    v_self = (_mc_terms(s, t, margin, include_true=True) > 0).astype(float)
    with_self = v_self.copy()
    with_self[rows, t] = -v_self.sum(axis=1)
    self_kept = v_self.copy()
    self_kept[rows, t] -= v_self.sum(axis=1) - 1.0
    self_words = (
        "you counted j = y as a violation (its term s_y - s_y + margin = margin is always > 0): "
        "leave the true class out of v, e.g. set v[np.arange(N), target] = 0 before summing"
    )
    hints[self_words] = with_self * scale
    if not np.allclose(self_kept, full):
        hints[self_words + " (here the true-class entry kept a +1)"] = self_kept * scale
    if margin != 1.0:
        v1 = (_mc_terms(s, t, 1.0) > 0).astype(float)
        g1 = v1.copy()
        g1[rows, t] = -v1.sum(axis=1)
        hints["your gradient is the one for margin = 1: use `margin` in the violation test"] = (
            g1 * scale
        )
    return hints


def _grad_compare(fn, s, t, what, **opts):
    margin, reduction = opts.get("margin", 1.0), opts.get("reduction", "mean")
    s = _nudge_off_kinks(s, t, margin)
    want = lossutils.multiclass_hinge_grad(s, t, **opts)
    got = call(fn, s, t, **opts)
    expect_close(got, want, what, hints=_grad_hints(s, t, margin, reduction))


@subcheck(MC_GRAD, "basic")
def _grad_basic(fn, rng):
    """matches lossutils.multiclass_hinge_grad on random scores (reduction='mean')"""
    for _ in range(2):
        s, t = _class_data(rng)
        _grad_compare(fn, s, t, f"gradient for scores of shape {s.shape}")


@subcheck(MC_GRAD, "basic")
def _grad_rows_sum_to_zero(fn, rng):
    """returns an (N, C) array whose rows sum to zero"""
    s, t = _class_data(rng)
    got = call(fn, _nudge_off_kinks(s, t, 1.0), t)
    if got.shape != s.shape:
        raise Fail(f"returned shape {got.shape}, expected {s.shape} (one entry per score)")
    if not np.allclose(got.sum(axis=1), 0.0, atol=1e-9):
        raise Fail(
            "each row should sum to 0: every +1 on a violating class j is matched by a -1 on "
            "the true class"
        )


@subcheck(MC_GRAD, "edge")
def _grad_edge(fn, rng):
    """handles reduction='sum', N = 1, C = 2 and a batch with no violations (all zeros)"""
    s, t = _class_data(rng)
    _grad_compare(fn, s, t, "reduction='sum'", reduction="sum")
    s1, t1 = _class_data(rng, n=1)
    _grad_compare(fn, s1, t1, "one sample (N = 1)")
    s2, t2 = _class_data(rng, c=2)
    _grad_compare(fn, s2, t2, "two classes (C = 2)")
    n, c = 5, 4
    t3 = rng.integers(0, c, size=n)
    s3 = rng.uniform(-1.0, 0.0, size=(n, c))
    s3[np.arange(n), t3] = 5.0
    _grad_compare(fn, s3, t3, "every true score ahead by more than the margin (gradient 0)")


@subcheck(MC_GRAD, "grad")
def _grad_numerical(fn, rng):
    """agrees with central differences of the loss for margin = 0.5 and 2 (several shapes)"""
    for margin, shape in ((0.5, (6, 4)), (2.0, (3, 7)), (1.0, (10, 3))):
        s, t = _class_data(rng, *shape)
        if margin != 1.0:
            # one wrong class between the two margins, so that a margin of 1 shows
            s[0, (t[0] + 1) % shape[1]] = s[0, t[0]] - (1.0 + margin) / 2
        s = _nudge_off_kinks(s, t, margin)

        def loss(z, t=t, margin=margin):
            return float(lossutils.multiclass_hinge(z, t, margin=margin))

        num = lossutils.numerical_gradient(loss, s)
        got = call(fn, s, t, margin=margin)
        expect_close(
            got,
            num,
            f"numerical gradient, margin={margin}, shape {shape}",
            rtol=1e-4,
            atol=1e-6,
            hints=_grad_hints(s, t, margin, "mean"),
        )
