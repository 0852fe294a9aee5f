"""Small data sets for the chapters: synthetic makers and scikit-learn's bundled sets.

Nothing is downloaded: the synthetic sets are drawn from a seeded generator and the real ones
(digits, breast cancer) ship inside scikit-learn. Features are float32, class labels int64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """A train/test split of standardised features and labels."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def _positive_int(name: str, value: int) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return float(value)


def make_regression_outliers(
    n: int = 200, *, outlier_frac: float = 0.1, noise: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A line ``y = 2x + 1 + noise`` on ``x`` in [-3, 3] with a fraction of points shifted far up.

    Returns ``x`` of shape (n, 1) and ``y`` of shape (n,). The outliers sit 8 to 15 units above the
    line, all on one side, so a mean-seeking loss (MSE) is dragged up while a median-seeking one
    (MAE) is not. Used in chapters 1 and 2.

    >>> x, y = make_regression_outliers(50, seed=1)
    >>> x.shape, y.shape, x.dtype
    ((50, 1), (50,), dtype('float32'))
    """
    n = _positive_int("n", n)
    outlier_frac = _fraction("outlier_frac", outlier_frac)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, size=n)
    y = 2.0 * x + 1.0 + noise * rng.standard_normal(n)
    n_out = int(round(outlier_frac * n))
    idx = rng.choice(n, size=n_out, replace=False)
    y[idx] += rng.uniform(8.0, 15.0, size=n_out)
    return x[:, None].astype(np.float32), y.astype(np.float32)


def make_imbalanced_binary(
    n: int = 2000,
    *,
    pos_frac: float = 0.05,
    n_features: int = 2,
    separation: float = 2.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian classes with a rare positive class.

    Negatives ~ N(0, I), positives ~ N(separation * e, I) with e a unit vector along every axis
    scaled by 1/sqrt(d); exactly ``round(pos_frac * n)`` positives. Used in chapter 5.

    >>> X, y = make_imbalanced_binary(1000, pos_frac=0.1)
    >>> X.shape, int(y.sum())
    ((1000, 2), 100)
    """
    n = _positive_int("n", n)
    d = _positive_int("n_features", n_features)
    if not 0.0 < pos_frac < 1.0:
        raise ValueError(f"pos_frac must lie strictly between 0 and 1, got {pos_frac!r}")
    rng = np.random.default_rng(seed)
    n_pos = max(1, int(round(pos_frac * n)))
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, size=n_pos, replace=False)] = 1
    X = rng.standard_normal((n, d))
    X[y == 1] += separation / np.sqrt(d)
    return X.astype(np.float32), y


def make_multilabel(
    n: int = 1000, *, n_features: int = 10, n_labels: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Features with several independent binary labels of unequal frequency.

    Label k is on when ``X @ w_k + noise > b_k``; the thresholds are chosen so the label
    frequencies fall from about 40% to about 5%, giving common and rare labels. Labels can be on
    together (this is multilabel, not multiclass). Used in chapter 4.

    >>> X, Y = make_multilabel(500, n_labels=3)
    >>> X.shape, Y.shape, Y.dtype
    ((500, 10), (500, 3), dtype('int64'))
    """
    n = _positive_int("n", n)
    d = _positive_int("n_features", n_features)
    L = _positive_int("n_labels", n_labels)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, L)) / np.sqrt(d)
    scores = X @ W + 0.3 * rng.standard_normal((n, L))
    freqs = np.linspace(0.4, 0.05, L)
    thresholds = np.array([np.quantile(scores[:, k], 1.0 - freqs[k]) for k in range(L)])
    Y = (scores > thresholds).astype(np.int64)
    return X.astype(np.float32), Y


def make_clusters(
    n_classes: int = 5, per_class: int = 40, *, dim: int = 2, spread: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one per class, with centres on a sphere of radius 3.

    Returns ``X`` of shape (n_classes * per_class, dim) and integer labels. Used in chapters 6 and 7
    (margins, embeddings).

    >>> X, labels = make_clusters(3, 10, dim=4)
    >>> X.shape, np.bincount(labels).tolist()
    ((30, 4), [10, 10, 10])
    """
    C = _positive_int("n_classes", n_classes)
    m = _positive_int("per_class", per_class)
    d = _positive_int("dim", dim)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((C, d))
    centres *= 3.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(C), m)
    X = centres[labels] + spread * rng.standard_normal((C * m, d))
    return X.astype(np.float32), labels.astype(np.int64)


def _split(X: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> Split:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_tr)
    return Split(
        scaler.transform(X_tr).astype(np.float32),
        scaler.transform(X_te).astype(np.float32),
        y_tr.astype(np.int64),
        y_te.astype(np.int64),
    )


def load_digits(*, test_size: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes), standardised, stratified split.

    >>> s = load_digits()
    >>> s.X_train.shape[1], sorted(set(s.y_train.tolist())) == list(range(10))
    (64, True)
    """
    from sklearn.datasets import load_digits as _load

    data = _load()
    return _split(data.data, data.target, test_size, seed)


def load_breast_cancer(*, test_size: float = 0.25, seed: int = 0) -> Split:
    """scikit-learn's bundled Wisconsin breast-cancer set (569 samples, 30 features, label 1 = benign).

    >>> s = load_breast_cancer()
    >>> s.X_train.shape[1]
    30
    """
    from sklearn.datasets import load_breast_cancer as _load

    data = _load()
    return _split(data.data, data.target, test_size, seed)
