"""Mathematical properties of the losses, checked on many inputs with hypothesis."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lossutils as L

SETTINGS = settings(max_examples=40, deadline=None)
finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
vectors = st.integers(1, 12).flatmap(lambda n: st.tuples(arrays(np.float64, n, elements=finite),
                                                          arrays(np.float64, n, elements=finite)))
probs = st.floats(0, 1, allow_nan=False)


@SETTINGS
@given(vectors)
def test_regression_losses_are_non_negative_and_zero_at_the_target(pair):
    pred, target = pair
    for fn in (L.mse, L.mae, L.huber, L.log_cosh, L.quantile, L.asymmetric_mae):
        assert fn(pred, target, reduction="none").min() >= 0
        assert fn(target, target) == 0
    positive = np.abs(pred), np.abs(target)
    assert L.msle(*positive) >= 0 and L.msle(positive[1], positive[1]) == 0


@SETTINGS
@given(vectors, st.floats(0.05, 0.95))
def test_classification_losses_are_non_negative(pair, q):
    logits, other = pair
    target = (other > 0).astype(float)
    for fn in (L.binary_cross_entropy_with_logits, L.sigmoid_focal_loss):
        assert fn(logits, target, reduction="none").min() >= 0
    assert L.hinge(logits, 2 * target - 1) >= 0 and L.squared_hinge(logits, 2 * target - 1) >= 0
    assert L.quantile(logits, other, q=q) >= 0


@SETTINGS
@given(vectors)
def test_focal_with_gamma_zero_and_no_alpha_is_bce_with_logits(pair):
    logits, other = pair
    target = 1 / (1 + np.exp(-other))  # soft labels too
    np.testing.assert_allclose(
        L.sigmoid_focal_loss(logits, target, gamma=0.0, alpha=None, reduction="none"),
        L.binary_cross_entropy_with_logits(logits, target, reduction="none"),
        rtol=1e-12, atol=1e-12)


@st.composite
def logits_and_distribution(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(2, 6))
    logits = draw(arrays(np.float64, (n, c), elements=st.floats(-1e4, 1e4)))
    weights = draw(arrays(np.float64, (n, c), elements=st.floats(0, 1)))
    weights[:, 0] += 1e-3  # every row must be a distribution
    return logits, weights / weights.sum(axis=1, keepdims=True)


@SETTINGS
@given(logits_and_distribution())
def test_cross_entropy_minus_kl_is_the_target_entropy(data):
    logits, t = data
    safe = np.where(t > 0, t, 1.0)
    entropy = -(t * np.log(safe)).sum(axis=1)
    ce = L.cross_entropy(logits, t, reduction="none")
    kl = L.kl_divergence(logits, t, reduction="none").sum(axis=1)
    np.testing.assert_allclose(ce - kl, entropy, rtol=1e-9, atol=1e-9 * (1 + np.abs(ce).max()))
    assert L.kl_divergence(logits, t) >= -1e-9


@SETTINGS
@given(logits_and_distribution(), st.integers(0, 5))
def test_softmax_focal_with_gamma_zero_is_cross_entropy(data, seed):
    logits, _ = data
    labels = np.random.default_rng(seed).integers(0, logits.shape[1], size=len(logits))
    np.testing.assert_allclose(L.softmax_focal_loss(logits, labels, gamma=0.0),
                               L.cross_entropy(logits, labels), rtol=1e-12, atol=1e-9)


@SETTINGS
@given(vectors)
def test_huber_tends_to_half_mse_for_large_delta(pair):
    pred, target = pair
    delta = 1e3 * (1 + np.abs(pred - target).max())
    # atol: subnormal totals (below 2e-308) carry only a few significant bits
    np.testing.assert_allclose(L.huber(pred, target, delta=delta), 0.5 * L.mse(pred, target),
                               rtol=1e-12, atol=1e-300)


@SETTINGS
@given(arrays(np.float64, st.integers(20, 60), elements=st.floats(-100, 100)),
       st.floats(0.05, 0.95))
def test_pinball_loss_is_minimised_by_the_quantile(y, q):
    grid = np.linspace(y.min(), y.max(), 2001)
    losses = [L.quantile(np.full_like(y, c), y, q=q) for c in grid]
    best = grid[int(np.argmin(losses))]
    step = grid[1] - grid[0]
    # the minimiser is any point between the two order statistics around q (the loss is flat there)
    lo, hi = np.quantile(y, q, method="inverted_cdf"), np.quantile(y, q, method="higher")
    lo = min(lo, np.quantile(y, q, method="lower"))
    assert lo - 2 * step <= best <= hi + 2 * step


@SETTINGS
@given(st.floats(-1e4, 1e4))
def test_log_cosh_is_stable_and_close_to_abs_minus_log2(r):
    value = float(L.log_cosh(np.array([r]), np.array([0.0])))
    assert np.isfinite(value)
    if abs(r) > 20:
        assert abs(value - (abs(r) - np.log(2))) < 1e-9 * max(1.0, abs(r))
    else:
        assert abs(value - np.log(np.cosh(r))) < 1e-12 * max(1.0, abs(r))


@SETTINGS
@given(vectors)
def test_bce_with_logits_matches_bce_on_sigmoid(pair):
    logits, other = pair
    logits = np.clip(logits, -15, 15)  # beyond that 1 - sigmoid(x) loses digits: the point of ch. 3
    target = (other > 0).astype(float)
    np.testing.assert_allclose(L.binary_cross_entropy_with_logits(logits, target),
                               L.binary_cross_entropy(L.sigmoid(logits), target), rtol=1e-6,
                               atol=1e-9)


@SETTINGS
@given(arrays(np.float64, (5, 3), elements=st.floats(-5, 5)), st.integers(0, 2))
def test_triplet_loss_is_zero_when_negatives_are_far(emb, axis):
    far = emb + 100.0
    assert L.triplet_margin_loss(emb, emb, far) == 0
    labels = np.arange(5) % 2
    spread = emb + 100.0 * labels[:, None] * (np.arange(3) == axis)
    assert L.batch_hard_triplet_loss(spread, labels, margin=1.0) >= 0
