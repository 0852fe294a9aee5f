"""Multilabel metrics: F1 with micro and macro averaging, and per-label thresholds tuned for F1.

Plain NumPy reference implementations, used in chapter 4 and by the checks of assignment ps03.
Labels and predictions are (N, L) arrays of zeros and ones; a 1-D array counts as one label.
"""

from __future__ import annotations

import numpy as np

AVERAGES = ("micro", "macro", "none")
DEFAULT_GRID = np.round(np.linspace(0.05, 0.95, 19), 2)


def _as_label_matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must have shape (N, L) or (N,), got {a.shape}")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(
            f"{name} must contain only 0 and 1; threshold scores first, e.g. (probs >= 0.5)"
        )
    return a.astype(bool)


def _label_counts(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per label, each of shape (L,)."""
    t = _as_label_matrix(y_true, "y_true")
    p = _as_label_matrix(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}: they must match")
    tp = (t & p).sum(axis=0)
    fp = (~t & p).sum(axis=0)
    fn = (t & ~p).sum(axis=0)
    return tp, fp, fn


def _f1_from_counts(tp, fp, fn, zero_division: float) -> np.ndarray:
    """:math:`F_1 = 2TP / (2TP + FP + FN)`, and ``zero_division`` where the denominator is 0."""
    tp, fp, fn = (np.asarray(c, dtype=np.float64) for c in (tp, fp, fn))
    denom = 2 * tp + fp + fn
    safe = np.where(denom > 0, denom, 1.0)
    return np.where(denom > 0, 2 * tp / safe, zero_division)


def multilabel_f1(y_true, y_pred, *, average: str = "micro", zero_division: float = 0.0):
    r"""F1 score of multilabel predictions, averaged over labels.

    Per label, :math:`F_1 = 2\,TP / (2\,TP + FP + FN)` (the harmonic mean of precision and recall).
    ``"micro"`` pools the counts of all labels first, :math:`2\sum TP / (2\sum TP + \sum FP +
    \sum FN)`, so frequent labels dominate; ``"macro"`` averages the per-label scores, so every
    label counts equally; ``"none"`` returns the per-label scores, shape (L,).

    Args:
        y_true, y_pred: arrays of 0/1 of shape (N, L) (or (N,) for a single label).
        average: "micro" (default), "macro" or "none".
        zero_division: the score of a label with no true and no predicted positives (default 0,
            as scikit-learn).

    >>> y_true = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    >>> y_pred = np.array([[1, 0], [1, 0], [0, 0], [0, 1]])
    >>> float(multilabel_f1(y_true, y_pred, average="micro"))  # 2*2 / (2*2 + 1 + 1)
    0.6666666666666666
    >>> float(multilabel_f1(y_true, y_pred, average="macro"))  # (1 + 0) / 2
    0.5

    Reference: ``sklearn.metrics.f1_score``. Used in chapter 4 and assignment ps03.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of 'micro', 'macro' or 'none', got {average!r}")
    tp, fp, fn = _label_counts(y_true, y_pred)
    if average == "micro":
        return float(_f1_from_counts(tp.sum(), fp.sum(), fn.sum(), zero_division))
    per_label = _f1_from_counts(tp, fp, fn, zero_division)
    return per_label if average == "none" else float(per_label.mean())


def f1_at_thresholds(probs, y_true, thresholds) -> np.ndarray:
    """Per-label F1 of the predictions ``probs >= thresholds`` (thresholds broadcast over rows).

    >>> probs = np.array([[0.9, 0.2], [0.4, 0.7], [0.1, 0.6]])
    >>> f1_at_thresholds(probs, np.array([[1, 0], [1, 1], [0, 1]]), np.array([0.3, 0.5]))
    array([1., 1.])
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[:, None]
    pred = (probs >= np.asarray(thresholds, dtype=np.float64)).astype(np.int64)
    return multilabel_f1(y_true, pred, average="none")


def best_thresholds(probs, y_true, *, grid=None) -> np.ndarray:
    r"""Per-label decision thresholds that maximise F1, shape (L,).

    For each label :math:`k`, :math:`t_k = \arg\max_{t \in \text{grid}} F_1(y_{:,k},\,
    [p_{:,k} \ge t])`; among equally good thresholds the smallest is returned. Tune them on
    validation data, never on the test set.

    Args:
        probs: predicted probabilities (or any scores), shape (N, L) or (N,).
        y_true: 0/1 labels of the same shape.
        grid: candidate thresholds (1-D); default 0.05, 0.10, ..., 0.95.

    >>> probs = np.array([[0.9, 0.2], [0.4, 0.3], [0.1, 0.6], [0.3, 0.1]])
    >>> best_thresholds(probs, np.array([[1, 0], [1, 1], [0, 1], [0, 0]]))
    array([0.35, 0.25])

    Reference: the threshold "plug-in" rule of Lipton et al., *Thresholding classifiers to
    maximize F1 score* (2014). Used in chapter 4 and assignment ps03.
    """
    grid = DEFAULT_GRID if grid is None else np.unique(np.asarray(grid, dtype=np.float64))
    if grid.size == 0:
        raise ValueError("grid must contain at least one candidate threshold")
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[:, None]
    y = _as_label_matrix(y_true, "y_true")
    if probs.shape != y.shape:
        raise ValueError(f"probs has shape {probs.shape} but y_true has {y.shape}: they must match")
    # scores[g, k]: F1 of label k at grid[g]; argmax picks the first (smallest) best threshold.
    scores = np.stack([f1_at_thresholds(probs, y, t) for t in grid])
    return grid[np.argmax(scores, axis=0)]
