"""lossutils.metrics against scikit-learn on random and degenerate multilabel data."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import f1_score

from lossutils.metrics import best_thresholds, f1_at_thresholds, multilabel_f1


def _random_labels(rng, n=60, L=5):
    freqs = rng.uniform(0.02, 0.6, size=L)
    y_true = (rng.random((n, L)) < freqs).astype(np.int64)
    y_pred = (rng.random((n, L)) < freqs).astype(np.int64)
    return y_true, y_pred


def _sk_f1(y_true, y_pred, average):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f1_score(y_true, y_pred, average=average, zero_division=0)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("average", ["micro", "macro", "none"])
def test_f1_matches_sklearn(seed, average):
    y_true, y_pred = _random_labels(np.random.default_rng(seed))
    want = _sk_f1(y_true, y_pred, None if average == "none" else average)
    np.testing.assert_allclose(multilabel_f1(y_true, y_pred, average=average), want, atol=1e-12)


def test_f1_label_without_any_positive_scores_zero_division():
    y_true = np.array([[1, 0], [0, 0], [1, 0]])
    y_pred = np.array([[1, 0], [1, 0], [1, 0]])
    np.testing.assert_allclose(multilabel_f1(y_true, y_pred, average="none"), [0.8, 0.0])
    assert multilabel_f1(y_true, y_pred, average="macro") == pytest.approx(0.4)
    assert multilabel_f1(y_true, y_pred, average="macro", zero_division=1.0) == pytest.approx(0.9)
    assert multilabel_f1(y_true, y_pred, average="micro") == pytest.approx(0.8)
    assert multilabel_f1(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0


def test_micro_and_macro_disagree_when_a_rare_label_is_missed():
    y_true = np.zeros((100, 2), dtype=int)
    y_true[:50, 0] = 1
    y_true[:2, 1] = 1
    y_pred = y_true.copy()
    y_pred[:, 1] = 0  # the rare label is never predicted
    assert multilabel_f1(y_true, y_pred, average="micro") > 0.95
    assert multilabel_f1(y_true, y_pred, average="macro") == pytest.approx(0.5)


def test_f1_rejects_bad_input():
    with pytest.raises(ValueError, match="average"):
        multilabel_f1(np.ones((2, 2)), np.ones((2, 2)), average="weighted")
    with pytest.raises(ValueError, match="0 and 1"):
        multilabel_f1(np.ones((2, 2)), np.full((2, 2), 0.7))
    with pytest.raises(ValueError, match="shape"):
        multilabel_f1(np.ones((2, 2)), np.ones((2, 3)))


def _brute_force_thresholds(probs, y_true, grid):
    out = []
    for k in range(y_true.shape[1]):
        scores = [_sk_f1(y_true[:, k], (probs[:, k] >= t).astype(int), "binary") for t in grid]
        out.append(grid[int(np.argmax(scores))])
    return np.array(out)


@pytest.mark.parametrize("seed", range(5))
def test_best_thresholds_match_brute_force_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, _ = _random_labels(rng, n=80, L=4)
    probs = np.clip(0.35 * y_true + 0.6 * rng.random(y_true.shape), 0, 1)
    grid = np.round(np.linspace(0.05, 0.95, 19), 2)
    got = best_thresholds(probs, y_true)
    np.testing.assert_allclose(got, _brute_force_thresholds(probs, y_true, grid))
    best = f1_at_thresholds(probs, y_true, got)
    for t in grid:  # no single grid value does better on any label
        assert (f1_at_thresholds(probs, y_true, t) <= best + 1e-12).all()


def test_best_thresholds_custom_grid_is_sorted_and_one_dimensional_input_works():
    probs = np.array([0.9, 0.8, 0.2, 0.1])
    y = np.array([1, 1, 0, 0])
    np.testing.assert_allclose(best_thresholds(probs, y, grid=[0.85, 0.5, 0.3]), [0.3])
    with pytest.raises(ValueError, match="grid"):
        best_thresholds(probs, y, grid=[])
