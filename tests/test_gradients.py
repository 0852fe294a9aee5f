"""The analytic ``<loss>_grad`` functions against torch autograd, and the gradient checker."""

import numpy as np
import pytest
import torch

import lossutils as L

rng = np.random.default_rng(0)
REAL = rng.normal(size=(6, 4)) * 2
REAL_T = rng.normal(size=(6, 4))
SOFT = rng.uniform(size=(6, 4))
HARD = (rng.uniform(size=(6, 4)) > 0.5).astype(float)
SIGNS = np.where(rng.uniform(size=(6, 4)) > 0.5, 1.0, -1.0)
IDX = rng.integers(0, 4, size=6)
PROBS = rng.dirichlet(np.ones(4), size=6)

CASES = {
    "mse": (L.mse, L.mse_grad, REAL, REAL_T, {}),
    "mae": (L.mae, L.mae_grad, REAL, REAL_T, {}),
    "huber": (L.huber, L.huber_grad, REAL, REAL_T, {"delta": 0.8}),
    "log_cosh": (L.log_cosh, L.log_cosh_grad, REAL * 20, REAL_T, {}),
    "quantile": (L.quantile, L.quantile_grad, REAL, REAL_T, {"q": 0.7}),
    "bce_logits": (L.binary_cross_entropy_with_logits, L.binary_cross_entropy_with_logits_grad,
                   REAL * 10, SOFT, {}),
    "bce_logits_weighted": (L.binary_cross_entropy_with_logits,
                            L.binary_cross_entropy_with_logits_grad, REAL, SOFT,
                            {"weight": SOFT + 0.5, "pos_weight": np.array([0.5, 1.0, 2.0, 4.0])}),
    "cross_entropy": (L.cross_entropy, L.cross_entropy_grad, REAL * 100, IDX, {}),
    "cross_entropy_options": (L.cross_entropy, L.cross_entropy_grad, REAL, IDX,
                              {"weight": np.array([0.2, 1.0, 2.0, 0.7]), "label_smoothing": 0.2}),
    "cross_entropy_probs": (L.cross_entropy, L.cross_entropy_grad, REAL, PROBS,
                            {"label_smoothing": 0.1}),
    "sigmoid_focal": (L.sigmoid_focal_loss, L.sigmoid_focal_loss_grad, REAL * 3, HARD, {}),
    "sigmoid_focal_soft": (L.sigmoid_focal_loss, L.sigmoid_focal_loss_grad, REAL, SOFT,
                           {"alpha": None, "gamma": 1.5}),
    "hinge": (L.hinge, L.hinge_grad, REAL, SIGNS, {"margin": 0.5}),
    "multiclass_hinge": (L.multiclass_hinge, L.multiclass_hinge_grad, REAL, IDX, {"margin": 0.9}),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_grad_equals_autograd(name, reduction):
    loss, grad, x, target, opts = CASES[name]
    xt = torch.tensor(x, requires_grad=True)
    loss(xt, torch.tensor(target), reduction=reduction, **opts).backward()
    ours = grad(x, target, reduction=reduction, **opts)
    assert ours.shape == x.shape
    np.testing.assert_allclose(ours, xt.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_passes_gradcheck(name):
    loss, grad, x, target, opts = CASES[name]
    # moderate inputs: where a gradient is ~1e-9 the finite difference is mostly rounding noise
    x = np.clip(x[:3], -3, 3)
    target = target[:3]
    opts = {k: (v[:3] if k == "weight" and np.ndim(v) == 2 else v) for k, v in opts.items()}
    result = L.gradcheck(lambda v: float(loss(v, target, **opts)),
                         lambda v: grad(v, target, **opts), x, rtol=1e-5)
    assert result.ok, result


def test_float32_gradient_keeps_dtype():
    x = REAL.astype(np.float32)
    assert L.mse_grad(x, REAL_T.astype(np.float32)).dtype == np.float32


def test_gradcheck_rejects_a_wrong_gradient():
    target = REAL_T[:2]
    result = L.gradcheck(lambda v: float(L.mse(v, target)),
                         lambda v: L.mse_grad(v, target, reduction="sum"), REAL[:2])
    assert not result.ok and result.max_rel_error > 0.5


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.0]])
    np.testing.assert_allclose(L.numerical_gradient(lambda v: float(np.sin(v).sum()), x),
                               np.cos(x), atol=1e-8)
    assert x[0, 0] == 0.3  # the caller's array is left alone


def test_gradient_rejects_reduction_none():
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        L.mse_grad(REAL, REAL_T, reduction="none")
