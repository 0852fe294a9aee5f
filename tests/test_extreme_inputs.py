"""No NaN where torch gives a number: every loss's *output* (and gradient) on extreme inputs.

Input checks catch NaN that is already in the data; these tests catch NaN that a formula makes
itself (0 * inf, inf - inf, a power with an infinite slope at 0).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_losses_torch import ELEMENTWISE

import lossutils as L

INF = float("inf")
LOGITS = [-1e4, -745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 745.0, 1e4]
EXTREME = {
    "logit": (LOGITS, [0.0, 1.0, 0.3]),
    "real": ([-1e150, -1e4, -1.0, 0.0, 1e-300, 1.0, 1e4, 1e150], [-1e4, 0.0, 1e4]),
    "positive": ([0.0, 1e-300, 1.0, 1e4, 1e300], [0.0, 1.0, 1e300]),
    "prob": ([0.0, 1e-300, 0.5, 1.0 - 1e-16, 1.0], [0.0, 1.0, 0.3]),
    "sign": ([-1e300, -1e4, -1.0, 0.0, 1.0, 1e4, 1e300], [-1.0, 1.0]),
}


def _grid(kind):
    first, targets = EXTREME[kind]
    pairs = list(itertools.product(first, targets))
    return (np.array([p for p, _ in pairs]), np.array([t for _, t in pairs]))


def _finite_where_reference_is(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    finite = np.isfinite(ref)
    assert np.isfinite(ours[finite]).all(), (ours, ref)
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_values_are_finite_where_torch_is(name):
    ours, ref, kind, kwargs = ELEMENTWISE[name]
    x, t = _grid(kind)
    with np.errstate(all="ignore"):
        expected = ref(torch.tensor(x), torch.tensor(t), reduction="none").numpy()
    _finite_where_reference_is(ours(x, t, reduction="none", **kwargs), expected)
    _finite_where_reference_is(
        ours(torch.tensor(x), torch.tensor(t), reduction="none", **kwargs).numpy(), expected)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_gradients_are_finite_where_torch_is(name):
    ours, ref, kind, kwargs = ELEMENTWISE[name]
    x, t = _grid(kind)
    if kind == "prob":  # keep the gradient's 1/p finite in the reference
        x = np.clip(x, 1e-12, 1 - 1e-12)
    grads = []
    for fn, kw in ((ref, {}), (ours, kwargs)):
        xt = torch.tensor(x, requires_grad=True)
        fn(xt, torch.tensor(t), reduction="sum", **kw).backward()
        grads.append(xt.grad.numpy())
    expected, got = grads
    finite = np.isfinite(expected)
    assert np.isfinite(got[finite]).all(), (x[finite], got[finite])


MASKED = np.array([[0.0, -INF, 1.0], [-INF, 2.0, 0.5], [1e4, -INF, -1e4]])
LABELS = np.array([0, 1, 0])


@pytest.mark.parametrize("options", [{}, {"weight": np.array([1.0, 2.0, 3.0])},
                                     {"label_smoothing": 0.1}])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_ignores_masked_classes_like_torch(options, reduction):
    """A class switched off by a logit of -inf costs nothing (torch gives a number, not NaN)."""
    expected = F.cross_entropy(
        torch.tensor(MASKED), torch.tensor(LABELS), reduction=reduction,
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()})
    for logits, labels, opts in (
        (MASKED, LABELS, options),
        (torch.tensor(MASKED), torch.tensor(LABELS),
         {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}),
    ):
        got = L.cross_entropy(logits, labels, reduction=reduction, **opts)
        np.testing.assert_allclose(np.asarray(got), expected.numpy(), rtol=1e-12)
    if not options:
        assert np.isfinite(expected.numpy()).all()


def test_cross_entropy_target_logit_of_minus_inf_is_inf_like_torch():
    logits, labels = np.array([[-INF, 0.0, 1.0]]), np.array([0])
    assert L.cross_entropy(logits, labels) == INF
    assert F.cross_entropy(torch.tensor(logits), torch.tensor(labels)).item() == INF


def test_softmax_focal_with_gamma_zero_is_cross_entropy_on_masked_logits():
    np.testing.assert_allclose(L.softmax_focal_loss(MASKED, LABELS, gamma=0.0, reduction="none"),
                               L.cross_entropy(MASKED, LABELS, reduction="none"), rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 2.0, 3.5])
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_sigmoid_focal_loss_and_gradient_finite_for_any_gamma(gamma, alpha):
    """(1 - p_t)^gamma from log-sigmoids: a confident correct logit (1 - p_t rounds to 0) has a
    finite slope even for gamma < 1, where the subtraction form gives 0 * inf = NaN."""
    x, t = _grid("logit")
    xt = torch.tensor(x, requires_grad=True)
    loss = L.sigmoid_focal_loss(xt, torch.tensor(t), alpha=alpha, gamma=gamma, reduction="sum")
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(xt.grad.numpy()).all()
    np.testing.assert_allclose(
        xt.grad.numpy(),
        L.sigmoid_focal_loss_grad(x, t, alpha=alpha, gamma=gamma, reduction="sum"),
        rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        L.sigmoid_focal_loss(x, t, alpha=alpha, gamma=gamma, reduction="sum"), loss.item(),
        rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_sigmoid_focal_loss_small_factors_are_exact(gamma):
    """At logit 50 with label 1, 1 - p_t = sigmoid(-50) ~ 1.9e-22, not the 0 of 1 - sigmoid(50)."""
    got = L.sigmoid_focal_loss(np.array([50.0]), np.array([1.0]), alpha=None, gamma=gamma,
                               reduction="none")[0]
    s = 1.0 / (1.0 + np.exp(50.0))  # sigmoid(-50), exact in float64
    np.testing.assert_allclose(got, s**gamma * np.log1p(np.exp(-50.0)), rtol=1e-12)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_softmax_focal_loss_gradient_finite_at_confident_logits(gamma):
    z = torch.tensor([[1e4, 0.0, 0.0], [-1e4, 1e4, 0.0], [50.0, -INF, 0.0]], requires_grad=True,
                     dtype=torch.float64)
    loss = L.softmax_focal_loss(z, torch.tensor([0, 0, 0]), gamma=gamma, reduction="sum")
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.numpy()).all()
