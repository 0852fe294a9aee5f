"""Checks for ps03_multilabel: per-label BCE with pos_weight, micro/macro F1, per-label thresholds.

References: ``lossutils.binary_cross_entropy_with_logits`` and ``lossutils.metrics``.
"""

from __future__ import annotations

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, expect_value_error, forbid, subcheck
from lossutils import metrics

BCE = "ps03.multilabel_bce"
F1 = "ps03.multilabel_f1"
THRESH = "ps03.best_thresholds"

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps03", "lossutils", "torch", "sklearn")

NONFINITE_BCE = (
    "nan/inf at large logits: compute log(sigmoid(x)) as -(max(-x, 0) + log1p(exp(-|x|))), "
    "as in ps02, never log of a rounded probability"
)
ZERO_DIVISION = (
    "a label with no true and no predicted positives gives 0/0; count its F1 as 0 "
    "(scikit-learn's zero_division=0), e.g. with np.where on the denominator"
)


def _labels(rng, n, n_labels, *, at_least_one=True) -> np.ndarray:
    """0/1 labels (n, L) with unequal frequencies from common to rare, as in real tagging data."""
    freqs = np.sort(rng.uniform(0.05, 0.5, n_labels))[::-1]
    y = (rng.random((n, n_labels)) < freqs).astype(np.int64)
    if at_least_one:
        y[rng.integers(0, n, n_labels), np.arange(n_labels)] = 1
    return y


# ---------------------------------------------------------------------------------------------
# multilabel_bce


def _bce_data(rng, scale=3.0):
    n, n_labels = int(rng.integers(6, 20)), int(rng.integers(3, 7))
    return scale * rng.standard_normal((n, n_labels)), _labels(rng, n, n_labels).astype(float)


def _bce_hints(x, y, pw=None) -> dict[str, np.ndarray]:
    ref = lossutils.binary_cross_entropy_with_logits
    per_element = ref(x, y, pos_weight=pw, reduction="none")
    hints = {
        "you summed over the labels and averaged over the samples; reduction='mean' averages "
        "over all N*L entries": per_element.sum(axis=1).mean(),
        "you returned the sum; reduction='mean' divides by the number of entries N*L":
        per_element.sum(),
        "the sign is flipped: the loss is -[w y log p + (1-y) log(1-p)], which is >= 0":
        -per_element.mean(),
    }
    if pw is not None:
        sp = np.logaddexp(0.0, -x)
        on_negatives = y * sp + pw * (1 - y) * (x + sp)
        hints["pos_weight weights the positive labels (y = 1), not the negatives"] = (
            on_negatives.mean()
        )
        hints["pos_weight multiplies only the positive term, not the whole loss"] = (
            pw * ref(x, y, reduction="none")
        ).mean()
    return hints


@subcheck(BCE, "basic")
def _bce_basic(fn, rng):
    """matches lossutils on random (N, L) logits and labels (reduction='mean')"""
    x, y = _bce_data(rng)
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(call(fn, x, y), want, f"logits of shape {x.shape}", hints=_bce_hints(x, y))


@subcheck(BCE, "params")
def _bce_pos_weight(fn, rng):
    """weights the positives of each label by its own pos_weight, shape (L,)"""
    x, y = _bce_data(rng)
    pw = rng.uniform(0.5, 10.0, x.shape[1])
    want = lossutils.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
    expect_close(call(fn, x, y, pos_weight=pw), want, f"pos_weight of shape {pw.shape}",
                 hints=_bce_hints(x, y, pw))


@subcheck(BCE, "params")
def _bce_balanced_pos_weight(fn, rng):
    """handles the usual choice pos_weight = negatives / positives per label"""
    x, y = _bce_data(rng)
    pw = (y.shape[0] - y.sum(axis=0)) / y.sum(axis=0)
    want = lossutils.binary_cross_entropy_with_logits(x, y, pos_weight=pw)
    expect_close(call(fn, x, y, pos_weight=pw), want, "pos_weight = #negatives / #positives",
                 hints=_bce_hints(x, y, pw))


@subcheck(BCE, "stability")
def _bce_large(fn, rng):
    """is finite and exact for logits of \u00b1800, one entry at a time"""
    x = np.array([800.0, -800.0, 800.0, -800.0, 40.0, -40.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    got = []
    for i in range(len(x)):
        value = call(fn, x[i].reshape(1, 1), y[i].reshape(1, 1))
        if value.size != 1:
            raise Fail(f"returned shape {value.shape} for reduction='mean'; expected one number")
        got.append(value.item())
    want = lossutils.binary_cross_entropy_with_logits(x, y, reduction="none")
    expect_close(np.array(got), want, "logits \u00b1800 and \u00b140", nonfinite=NONFINITE_BCE)


@subcheck(BCE, "stability")
def _bce_huge_with_weights(fn, rng):
    """is exact for logits up to \u00b11e4 mixed with small ones"""
    x, y = _bce_data(rng)
    big = rng.random(x.shape) < 0.5
    x[big] = rng.choice([-1.0, 1.0], big.sum()) * rng.uniform(100, 1e4, big.sum())
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(call(fn, x, y), want, "logits up to \u00b11e4", hints=_bce_hints(x, y),
                 nonfinite=NONFINITE_BCE)


@subcheck(BCE, "edge")
def _bce_reductions(fn, rng):
    """supports reduction='sum' and reduction='none' (shape (N, L))"""
    x, y = _bce_data(rng)
    ref = lossutils.binary_cross_entropy_with_logits
    hints = {
        "sum": {"you returned the mean; reduction='sum' adds all N*L entries": ref(x, y)},
        "none": {
            "you returned the mean; reduction='none' returns the (N, L) array of losses": ref(x, y),
            "you returned the sum; reduction='none' returns the (N, L) array of losses": ref(
                x, y, reduction="sum"
            ),
        },
    }
    for reduction in ("sum", "none"):
        want = ref(x, y, reduction=reduction)
        expect_close(call(fn, x, y, reduction=reduction), want, f"reduction={reduction!r}",
                     hints=hints[reduction])


@subcheck(BCE, "edge")
def _bce_one_label(fn, rng):
    """works with a single label column, shape (N, 1)"""
    x, y = _bce_data(rng)
    x, y = x[:, :1], y[:, :1]
    want = lossutils.binary_cross_entropy_with_logits(x, y)
    expect_close(call(fn, x, y), want, "logits of shape (N, 1)")


@subcheck(BCE, "edge")
def _bce_shape_mismatch(fn, rng):
    """raises ValueError when target's shape differs from the logits' (no silent broadcast)"""
    x, y = _bce_data(rng)
    expect_value_error(fn, x, y[:, :1], what=f"logits {x.shape} with target {y[:, :1].shape}")
    expect_value_error(fn, x, y[0], what=f"logits {x.shape} with target {y[0].shape}")


# ---------------------------------------------------------------------------------------------
# multilabel_f1


def _predictions(rng, y, flip=0.25) -> np.ndarray:
    """Imperfect predictions: each entry of ``y`` flipped with probability ``flip``."""
    return np.where(rng.random(y.shape) < flip, 1 - y, y)


def _f1_hints(y, p, average) -> dict[str, object]:
    other = "macro" if average == "micro" else "micro"
    per_sample = [metrics.multilabel_f1(y[i : i + 1].T, p[i : i + 1].T) for i in range(len(y))]
    return {
        f"this is the {other} average; average={average!r} "
        + ("pools the counts of all labels" if average == "micro" else "averages per-label F1"):
        metrics.multilabel_f1(y, p, average=other),
        "this is the accuracy (fraction of matching entries), not F1 = 2TP / (2TP + FP + FN)":
        float((y == p).mean()),
        "you averaged F1 over the samples (rows); F1 here is computed over each label (column) "
        "or over all entries": float(np.mean(per_sample)),
    }


def _check_f1(fn, y, p, average, what, pass_average=True):
    want = metrics.multilabel_f1(y, p, average=average)
    got = call(fn, y, p, average=average) if pass_average else call(fn, y, p)
    expect_close(got, want, what, rtol=1e-9, hints=_f1_hints(y, p, average),
                 nonfinite=ZERO_DIVISION)


@subcheck(F1, "basic")
def _f1_micro(fn, rng):
    """matches lossutils.metrics.multilabel_f1 with the default average='micro'"""
    n, n_labels = int(rng.integers(20, 60)), int(rng.integers(3, 7))
    y = _labels(rng, n, n_labels)
    _check_f1(fn, y, _predictions(rng, y), "micro", f"labels of shape {y.shape}",
              pass_average=False)


@subcheck(F1, "basic")
def _f1_perfect(fn, rng):
    """gives 1 for perfect predictions"""
    y = _labels(rng, 15, 4)
    _check_f1(fn, y, y.copy(), "micro", "perfect predictions", pass_average=False)


@subcheck(F1, "params")
def _f1_macro(fn, rng):
    """matches lossutils.metrics.multilabel_f1 with average='macro'"""
    n, n_labels = int(rng.integers(20, 60)), int(rng.integers(3, 7))
    y = _labels(rng, n, n_labels)
    _check_f1(fn, y, _predictions(rng, y), "macro", f"labels of shape {y.shape}")


@subcheck(F1, "params")
def _f1_rare_label_missed(fn, rng):
    """macro F1 drops when a rare label is never predicted, micro F1 barely moves"""
    y = _labels(rng, 80, 4)
    y[:, -1] = 0
    y[rng.choice(80, 2, replace=False), -1] = 1
    p = _predictions(rng, y, flip=0.05)
    p[:, -1] = 0
    for average in ("micro", "macro"):
        _check_f1(fn, y, p, average, f"rare label never predicted, average={average!r}")


@subcheck(F1, "edge")
def _f1_empty_label(fn, rng):
    """counts a label with no true and no predicted positives as F1 = 0"""
    y = _labels(rng, 30, 4)
    p = _predictions(rng, y)
    k = int(rng.integers(0, 4))
    y[:, k] = p[:, k] = 0
    for average in ("macro", "micro"):
        _check_f1(fn, y, p, average, f"label {k} never true nor predicted, average={average!r}")
    zeros = np.zeros_like(y)
    _check_f1(fn, zeros, zeros, "micro", "all labels and predictions 0")


@subcheck(F1, "edge")
def _f1_bad_average(fn, rng):
    """raises ValueError for an unknown average"""
    y = _labels(rng, 10, 3)
    expect_value_error(fn, y, y, average="weighted", what="average='weighted'")


# ---------------------------------------------------------------------------------------------
# best_thresholds


def _separable(rng, grid) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose best thresholds differ from label to label.

    Label k gets its own grid value t_k; its negatives score below t_k and its positives above,
    with one of each within 1e-6 of t_k, so F1 = 1 is reached at t_k and at no other grid
    value: one threshold for all labels, or one off the grid, loses F1 on some label.
    """
    n_labels = min(4, len(grid))
    thresholds = rng.choice(np.unique(grid), n_labels, replace=False)
    n = int(rng.integers(30, 60))
    y = _labels(rng, n, n_labels)
    y[0], y[1] = 1, 0
    probs = np.where(y == 1, rng.uniform(thresholds, 1.0, y.shape),
                     rng.uniform(0.0, thresholds, y.shape))
    probs[0], probs[1] = thresholds + 1e-6, thresholds - 1e-6
    return probs, y


def _on_grid(rng, grid) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are grid values: positives of label k at t_k or above, negatives at the grid
    value just below t_k or lower (one of each exactly there), so ``>=`` and ``>`` disagree."""
    grid = np.unique(grid)
    n_labels = min(4, len(grid) - 1)
    idx = rng.choice(np.arange(1, len(grid)), n_labels, replace=False)
    n = int(rng.integers(30, 60))
    y = _labels(rng, n, n_labels)
    y[0], y[1] = 1, 0
    pos = grid[rng.integers(idx, len(grid), y.shape)]
    neg = grid[rng.integers(0, idx, y.shape)]
    probs = np.where(y == 1, pos, neg)
    probs[0], probs[1] = grid[idx], grid[idx - 1]
    return probs, y


def _noisy(rng) -> tuple[np.ndarray, np.ndarray]:
    n, n_labels = int(rng.integers(40, 90)), int(rng.integers(3, 6))
    y = _labels(rng, n, n_labels)
    probs = np.clip(0.4 * y + 0.6 * rng.random(y.shape) - 0.1 * rng.random(n_labels), 0, 1)
    return probs, y


def _check_thresholds(fn, probs, y, what, grid=None):
    kwargs = {} if grid is None else {"grid": grid}
    got = call(fn, probs, y, **kwargs)
    grid_values = metrics.DEFAULT_GRID if grid is None else np.unique(np.asarray(grid, float))
    n_labels = y.shape[1]
    if got.shape != (n_labels,):
        raise Fail(f"{what}: returned shape {got.shape}, expected ({n_labels},): one per label")
    # thresholds computed as e.g. np.arange(0.05, 1, 0.05) differ from the grid in the 17th
    # digit; snap them to the grid value they stand for
    nearest = np.abs(got[:, None] - grid_values[None, :]).argmin(axis=1)
    off = np.abs(got - grid_values[nearest]) > 1e-9
    if off.any():
        k = int(np.argmax(off))
        raise Fail(f"{what}: threshold {got[k]:.6g} for label {k} is not one of the grid values")
    snapped = grid_values[nearest]
    best = metrics.best_thresholds(probs, y, grid=grid_values)
    f1_got = metrics.f1_at_thresholds(probs, y, snapped)
    f1_best = metrics.f1_at_thresholds(probs, y, best)
    worse = f1_got < f1_best - 1e-12
    if not worse.any():
        return
    k = int(np.argmax(worse))
    strict = _best_strict(probs, y, grid_values)
    if np.allclose(snapped, strict):
        hint = "predict a label when its probability is >= the threshold (you used >)"
    elif np.allclose(snapped, snapped[0]):
        hint = "you used one threshold for every label; tune each label's threshold separately"
    else:
        hint = "pick, for each label separately, the grid value with the highest F1"
    raise Fail(
        f"{what}: label {k} gets F1 {f1_got[k]:.4f} at threshold {snapped[k]:.3g}, but "
        f"{f1_best[k]:.4f} at {best[k]:.3g}; {hint}"
    )


def _best_strict(probs, y, grid) -> np.ndarray:
    """Best thresholds under the rule ``probs > t``, to recognise that mistake."""
    scores = np.stack(
        [metrics.multilabel_f1(y, (probs > t).astype(int), average="none") for t in grid]
    )
    return grid[np.argmax(scores, axis=0)]


@subcheck(THRESH, "basic")
def _thresh_basic(fn, rng):
    """reaches the best F1 of each label on the default grid 0.05, 0.10, ..., 0.95"""
    probs, y = _separable(rng, metrics.DEFAULT_GRID)
    _check_thresholds(fn, probs, y, f"{y.shape[1]} labels with different best thresholds")


@subcheck(THRESH, "basic")
def _thresh_noisy(fn, rng):
    """reaches the best F1 of each label on overlapping (noisy) scores"""
    probs, y = _noisy(rng)
    _check_thresholds(fn, probs, y, "noisy probabilities")


@subcheck(THRESH, "basic")
def _thresh_shuffled_default(fn, rng):
    """accepts the grid in any order and leaves it unchanged (sort a copy: np.sort(grid))"""
    grid = rng.permutation(metrics.DEFAULT_GRID)
    probs, y = _separable(rng, grid)
    _check_thresholds(fn, probs, y, "the default grid values given in shuffled order", grid=grid)


@subcheck(THRESH, "params")
def _thresh_custom_grid(fn, rng):
    """searches the grid it is given (here not multiples of 0.05, and unsorted)"""
    grid = np.round(np.sort(rng.uniform(0.02, 0.98, 9)), 3)
    probs, y = _separable(rng, grid)
    _check_thresholds(fn, probs, y, f"grid={grid.tolist()}", grid=rng.permutation(grid))


@subcheck(THRESH, "edge")
def _thresh_ties_on_grid(fn, rng):
    """predicts positive when the probability equals the threshold (>=)"""
    grid = np.round(np.linspace(0.1, 0.9, 9), 1)
    probs, y = _on_grid(rng, grid)
    _check_thresholds(fn, probs, y, "probabilities equal to grid values", grid=grid)


@subcheck(THRESH, "edge")
def _thresh_one_label(fn, rng):
    """works for a single label column, shape (N, 1)"""
    probs, y = _noisy(rng)
    _check_thresholds(fn, probs[:, :1], y[:, :1], "one label")
