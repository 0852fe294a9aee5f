"""The fast paths compute exactly the documented formulas.

On tensors, losses that torch also has call torch's fused kernel; on NumPy, large arrays are
evaluated block by block. Here each written formula (the NumPy path) is checked against the torch
kernel on ordinary and extreme inputs, and the blocked evaluation against the one-go evaluation.
"""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as L
from lossutils import _backend

REDUCTIONS = ("mean", "sum", "none")
rng = np.random.default_rng(12)
N = 40
REAL = np.concatenate([rng.normal(size=N - 8) * 3, [0.0, -0.0, 1e4, -1e4, 1.0, -1.0, 1e-12, 50]])
REAL_T = np.concatenate([rng.normal(size=N - 8), [0.0, 1.0, -1e4, 1e4, 0.0, -1.0, 0.0, -50]])
LOGITS = np.concatenate([rng.normal(size=N - 8) * 10, [0.0, -0.0, 1e4, -1e4, 40.0, -40.0, 745, -745]])
SOFT = np.concatenate([rng.uniform(size=N - 8), [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5]])
PROBS = np.concatenate([rng.uniform(size=N - 8), [0.0, 1.0, 0.0, 1.0, 1e-300, 1 - 1e-16, 0.5, 1e-8]])
WEIGHT = rng.uniform(0.2, 3.0, size=N)

# name -> (ours, torch kernel on tensors, args, options)
KERNELS = {
    "mse": (L.mse, F.mse_loss, (REAL, REAL_T), {}),
    "mae": (L.mae, F.l1_loss, (REAL, REAL_T), {}),
    "huber": (L.huber, F.huber_loss, (REAL, REAL_T), {"delta": 0.7}),
    "binary_cross_entropy": (L.binary_cross_entropy, F.binary_cross_entropy, (PROBS, SOFT),
                             {"weight": WEIGHT}),
    "bce_with_logits": (L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
                        (LOGITS, SOFT), {"weight": WEIGHT}),
}


def _torch_options(options):
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_formula_equals_torch_kernel(name, reduction):
    ours, kernel, args, options = KERNELS[name]
    expected = kernel(*map(torch.tensor, args), reduction=reduction, **_torch_options(options))
    np.testing.assert_allclose(ours(*args, reduction=reduction, **options), expected.numpy(),
                               rtol=1e-6, atol=1e-6)
    unweighted = {k: v for k, v in options.items() if k != "weight"}
    expected = kernel(*map(torch.tensor, args), reduction=reduction,
                      **_torch_options(unweighted))
    np.testing.assert_allclose(ours(*args, reduction=reduction, **unweighted), expected.numpy(),
                               rtol=1e-6, atol=1e-6)


def test_bce_with_logits_pos_weight_formula_equals_kernel():
    z, t = LOGITS.reshape(8, 5), SOFT.reshape(8, 5)
    w, pw = WEIGHT.reshape(8, 5), np.array([0.5, 1.0, 2.0, 4.0, 0.1])
    for reduction in REDUCTIONS:
        expected = F.binary_cross_entropy_with_logits(
            torch.tensor(z), torch.tensor(t), weight=torch.tensor(w), pos_weight=torch.tensor(pw),
            reduction=reduction)
        np.testing.assert_allclose(
            L.binary_cross_entropy_with_logits(z, t, weight=w, pos_weight=pw, reduction=reduction),
            expected.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_class_losses_formula_equals_torch_kernel(scale):
    z = rng.normal(size=(12, 5)) * scale
    z[0] = [1e4, -1e4, 0.0, 0.0, 0.0]
    idx = rng.integers(0, 5, size=12)
    t = rng.dirichlet(np.ones(5), size=12)
    t[1] = [1.0, 0.0, 0.0, 0.0, 0.0]
    w = rng.uniform(0.5, 2.0, size=5)
    Z, T, I, W = map(torch.tensor, (z, t, idx, w))
    for reduction in REDUCTIONS:
        for target, tt in ((idx, I), (t, T)):
            for options, topts in (({}, {}), ({"weight": w, "label_smoothing": 0.2},
                                              {"weight": W, "label_smoothing": 0.2})):
                np.testing.assert_allclose(
                    L.cross_entropy(z, target, reduction=reduction, **options),
                    F.cross_entropy(Z, tt, reduction=reduction, **topts).numpy(),
                    rtol=1e-6, atol=1e-6 * scale)
        kl = F.kl_div(F.log_softmax(Z, 1), T, reduction="batchmean" if reduction == "mean"
                      else reduction)
        np.testing.assert_allclose(L.kl_divergence(z, t, reduction=reduction), kl.numpy(),
                                   rtol=1e-6, atol=1e-6 * scale)
        mm = F.multi_margin_loss(Z, I, margin=0.8, reduction=reduction) * 5
        np.testing.assert_allclose(L.multiclass_hinge(z, idx, margin=0.8, reduction=reduction),
                                   mm.numpy(), rtol=1e-6, atol=1e-6 * scale)


def test_triplet_formula_equals_torch_kernel():
    a, p, n = (rng.normal(size=(9, 4)) * 100 for _ in range(3))
    p[0] = a[0]  # a zero distance (up to eps)
    for norm in (1, 2, 3):
        for swap in (False, True):
            for reduction in REDUCTIONS:
                expected = F.triplet_margin_loss(*map(torch.tensor, (a, p, n)), margin=50.0,
                                                 p=norm, swap=swap, reduction=reduction)
                np.testing.assert_allclose(
                    L.triplet_margin_loss(a, p, n, margin=50.0, p=norm, swap=swap,
                                          reduction=reduction),
                    expected.numpy(), rtol=1e-6, atol=1e-6)


def test_stable_primitives_formula_equals_torch_kernel():
    x = LOGITS.reshape(5, 8)
    tx = torch.tensor(x)
    np.testing.assert_allclose(L.sigmoid(x), torch.sigmoid(tx).numpy(), rtol=1e-12, atol=1e-300)
    for axis in (0, 1):
        np.testing.assert_allclose(L.log_softmax(x, axis=axis),
                                   torch.log_softmax(tx, axis).numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(L.logsumexp(x, axis=axis), torch.logsumexp(tx, axis).numpy(),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(L.softmax(x, axis=axis), torch.softmax(tx, axis).numpy(),
                                   rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_torch_softplus_is_the_stable_formula(beta):
    x = np.concatenate([LOGITS, np.linspace(-60, 60, 241)])
    np.testing.assert_allclose(_backend.TORCH.softplus(torch.tensor(x), beta=beta).numpy(),
                               _backend.NP.softplus(x, beta=beta), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(_backend.NP.softplus(x, beta=beta),
                               np.logaddexp(0.0, beta * x) / beta, rtol=1e-15, atol=1e-300)


# ---------------------------------------------------------------------------------------------
# blocked NumPy evaluation


def _inputs(kind, shape):
    x = rng.normal(size=shape) * 3
    if kind == "real":
        return x, rng.normal(size=shape)
    if kind == "positive":
        return np.abs(x), rng.uniform(0, 4, size=shape)
    if kind == "prob":
        return rng.uniform(size=shape), rng.uniform(size=shape)
    if kind == "sign":
        return x, np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
    return x * 10, rng.uniform(size=shape)


BLOCKED = {
    "mse": (L.mse, "real", {}),
    "mae": (L.mae, "real", {}),
    "huber": (L.huber, "real", {"delta": 0.5}),
    "log_cosh": (L.log_cosh, "real", {}),
    "msle": (L.msle, "positive", {}),
    "quantile": (L.quantile, "real", {"q": 0.2}),
    "asymmetric_mae": (L.asymmetric_mae, "real", {}),
    "binary_cross_entropy": (L.binary_cross_entropy, "prob", {}),
    "bce_with_logits": (L.binary_cross_entropy_with_logits, "logit", {}),
    "bce_with_logits_weighted": (L.binary_cross_entropy_with_logits, "logit",
                                 {"weight": rng.uniform(size=(1, 7)),
                                  "pos_weight": rng.uniform(0.5, 3, size=7)}),
    "sigmoid_focal_loss": (L.sigmoid_focal_loss, "logit", {}),
    "sigmoid_focal_loss_gamma": (L.sigmoid_focal_loss, "logit", {"gamma": 1.5, "alpha": None}),
    "hinge": (L.hinge, "sign", {}),
    "squared_hinge": (L.squared_hinge, "sign", {}),
}


@pytest.mark.parametrize("name", sorted(BLOCKED))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_evaluation_equals_one_go(name, dtype, monkeypatch):
    fn, kind, options = BLOCKED[name]
    a, b = (v.astype(dtype) for v in _inputs(kind, (53, 7)))
    whole = {r: fn(a, b, reduction=r, **options) for r in REDUCTIONS}
    monkeypatch.setattr(_backend, "BLOCK_ELEMENTS", 12)  # 53 rows of 7: blocks of one row
    assert _backend.row_blocks(a) is not None
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for reduction in REDUCTIONS:
        out = fn(a, b, reduction=reduction, **options)
        assert out.dtype == dtype and np.shape(out) == np.shape(whole[reduction])
        np.testing.assert_allclose(out, whole[reduction], rtol=tol, atol=tol)


def test_blocked_triplet_and_hinge_labels(monkeypatch):
    a, p, n = (rng.normal(size=(30, 4)) for _ in range(3))
    whole = {r: L.triplet_margin_loss(a, p, n, reduction=r) for r in REDUCTIONS}
    monkeypatch.setattr(_backend, "BLOCK_ELEMENTS", 8)
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(L.triplet_margin_loss(a, p, n, reduction=reduction),
                                   whole[reduction], rtol=1e-12)
    labels = np.ones(200)
    labels[150] = 0.0  # in a late block
    with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
        L.hinge(np.zeros(200), labels)


# ---------------------------------------------------------------------------------------------
# the torch path keeps the contract's checks


def test_torch_path_names_nan_and_bad_input():
    with pytest.raises(ValueError, match="pred contains NaN"):
        L.huber(torch.tensor([0.5, float("nan")]), torch.zeros(2))
    with pytest.raises(ValueError, match="logits contains NaN"):
        L.binary_cross_entropy_with_logits(torch.tensor([float("nan")]), torch.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        L.binary_cross_entropy(torch.tensor([0.5, float("nan")]), torch.ones(2))
    with pytest.raises(ValueError, match="look like logits"):
        L.binary_cross_entropy(torch.tensor([0.5, 1.5]), torch.ones(2))
    with pytest.raises(ValueError, match="class index -100"):
        L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, -100]))  # torch would ignore it
    with pytest.raises(ValueError, match="class index 3"):
        L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3], dtype=torch.int32))
    with pytest.raises(ValueError, match=r"2 \* y - 1"):
        L.hinge(torch.zeros(3), torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        L.mse(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(ValueError, match="> -1"):
        L.msle(torch.tensor([-1.0, 2.0]), torch.zeros(2))
    with pytest.raises(ValueError, match="target contains NaN"):
        L.cross_entropy(np.zeros((1, 2)), np.array([[np.nan, 1.0]]))


@pytest.mark.parametrize("bad", [-100, -1, 3])
def test_class_index_checks_left_to_the_cpu_kernel_still_name_the_index(bad):
    """On CPU tensors the range of class indices is checked by torch's kernel, which ignores no
    index here (torch would skip -100), and the error is still lossutils' own."""
    z, t = torch.zeros(4, 3), torch.tensor([0, 1, bad, 2])
    calls = (lambda: L.cross_entropy(z, t),
             lambda: L.cross_entropy(z, t, weight=torch.ones(3), label_smoothing=0.1),
             lambda: L.cross_entropy(z[:, :, None].expand(4, 3, 2), t[:, None].expand(4, 2)),
             lambda: L.multiclass_hinge(z, t),
             lambda: L.softmax_focal_loss(z, t),
             lambda: L.softmax_focal_loss(z, t, gamma=0.5))
    for call in calls:
        with pytest.raises(ValueError, match=f"class index {bad} is out of range for 3 classes"):
            call()


def _neighbours_of_one(dtype):
    one = torch.ones((), dtype=dtype)
    return [torch.nextafter(one, one * 2).item(), torch.nextafter(one, one * 0).item()]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_square_rounds_to_one_only_for_plus_or_minus_one(dtype):
    """What the hinge's label check relies on, for every value of the 16-bit floats."""
    every = torch.arange(-(2**15), 2**15, dtype=torch.int32).to(torch.int16).view(dtype)
    assert torch.equal(every * every == 1, every.abs() == 1)
    assert int((every * every == 1).sum()) == 2


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("size", [5, 5000, 70000])  # cached ones, fresh ones, through NumPy
def test_hinge_label_check_is_exact_on_every_path(dtype, size):
    """Labels pass only if they are exactly -1 or +1: the nearest floats to 1, -0, NaN and inf
    all raise, on tensors small and large, and on NumPy arrays."""
    labels = torch.ones(size, dtype=dtype)
    labels[::2] = -1.0
    scores = torch.zeros(size, dtype=dtype)
    assert L.hinge(scores, labels).item() == 1.0
    for bad in [0.0, -0.0, float("nan"), float("inf"), 2.0, *_neighbours_of_one(dtype)]:
        wrong = labels.clone()
        wrong[-2] = bad
        with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
            L.squared_hinge(scores, wrong)
        if dtype != torch.bfloat16:
            with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
                L.hinge(scores.numpy(), wrong.numpy())


def test_ties_take_the_analytic_gradient():
    """At a kink the torch path's slope is the one the <loss>_grad functions give."""
    pred = np.array([0.0, 1.0, -1.0, 0.5])
    target = np.array([0.0, 1.0, 1.0, -0.5])
    cases = ((L.quantile, L.quantile_grad, {"q": 0.3}),
             (L.hinge, L.hinge_grad, {"margin": 1.0}),
             (L.huber, L.huber_grad, {"delta": 1.0}),
             (L.mae, L.mae_grad, {}))
    for loss, grad, options in cases:
        t = np.where(target >= 0, 1.0, -1.0) if loss is L.hinge else target
        x = torch.tensor(pred, requires_grad=True)
        loss(x, torch.tensor(t), **options).backward()
        np.testing.assert_allclose(x.grad.numpy(), grad(pred, t, **options), atol=1e-15)


GRADS = {
    "mse": (L.mse_grad, "real", {}),
    "mae": (L.mae_grad, "real", {}),
    "huber": (L.huber_grad, "real", {"delta": 0.5}),
    "log_cosh": (L.log_cosh_grad, "real", {}),
    "quantile": (L.quantile_grad, "real", {"q": 0.2}),
    "bce_with_logits": (L.binary_cross_entropy_with_logits_grad, "logit",
                        {"weight": rng.uniform(size=(1, 7)),
                         "pos_weight": rng.uniform(0.5, 3, size=7)}),
    "sigmoid_focal_loss": (L.sigmoid_focal_loss_grad, "logit", {}),
    "hinge": (L.hinge_grad, "sign", {}),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_blocked_gradients_equal_one_go(name, monkeypatch):
    grad, kind, options = GRADS[name]
    a, b = _inputs(kind, (53, 7))
    whole = grad(a, b, **options)
    monkeypatch.setattr(_backend, "BLOCK_ELEMENTS", 12)
    np.testing.assert_allclose(grad(a, b, **options), whole, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# large NumPy arrays computed by torch on shared memory

VIA_TORCH = ("mse", "mae", "huber", "quantile", "bce_with_logits", "bce_with_logits_weighted",
             "sigmoid_focal_loss", "sigmoid_focal_loss_gamma", "hinge", "squared_hinge")


def _formula_then_via_torch(monkeypatch, call):
    """``call()`` on the NumPy formula path, then on the torch path (a tiny threshold)."""
    monkeypatch.setattr(_backend, "VIA_TORCH_ELEMENTS", 10**12)
    formula = call()
    monkeypatch.setattr(_backend, "VIA_TORCH_ELEMENTS", 16)
    return formula, call()


@pytest.mark.parametrize("name", VIA_TORCH)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_numpy_through_torch_equals_the_numpy_formula(name, dtype, monkeypatch):
    fn, kind, options = BLOCKED[name]
    a, b = (v.astype(dtype) for v in _inputs(kind, (53, 7)))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for reduction in REDUCTIONS:
        formula, via = _formula_then_via_torch(
            monkeypatch, lambda r=reduction: fn(a, b, reduction=r, **options))
        assert type(via) is type(formula) and via.dtype == dtype  # NumPy in, NumPy out
        np.testing.assert_allclose(via, formula, rtol=tol, atol=tol)


def test_every_loss_that_hands_numpy_to_torch_is_tested_here():
    marked = {name for name in dir(L) if hasattr(getattr(L, name), "__wrapped__")}
    tested = {BLOCKED[name][0].__name__ for name in VIA_TORCH} | {"triplet_margin_loss"}
    assert marked == tested


def test_large_triplet_through_torch_equals_the_numpy_formula(monkeypatch):
    a, p, n = (rng.normal(size=(30, 4)) for _ in range(3))
    for margin in (1.0, 0.0):
        formula, via = _formula_then_via_torch(
            monkeypatch, lambda m=margin: L.triplet_margin_loss(a, p, n, margin=m, reduction="none"))
        assert isinstance(via, np.ndarray)
        np.testing.assert_allclose(via, formula, rtol=1e-12)


def test_large_bce_gradient_through_torch_equals_the_numpy_formula(monkeypatch):
    grad, kind, options = GRADS["bce_with_logits"]
    a, b = _inputs(kind, (53, 7))
    for opts in (options, {}):
        formula, via = _formula_then_via_torch(monkeypatch, lambda o=opts: grad(a, b, **o))
        assert isinstance(via, np.ndarray) and via.dtype == a.dtype
        np.testing.assert_allclose(via, formula, rtol=1e-12, atol=1e-15)


def test_arrays_torch_cannot_share_take_the_numpy_path(monkeypatch):
    """Read-only, reversed and mixed-precision arrays are computed by NumPy, without warnings."""
    monkeypatch.setattr(_backend, "VIA_TORCH_ELEMENTS", 16)
    a, b = rng.normal(size=64), rng.normal(size=64)
    frozen = a.copy()
    frozen.setflags(write=False)
    for pred, target in ((frozen, b), (a[::-1], b), (a.astype(np.float32), b)):
        assert _backend.torch_views(pred, target) is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(L.mse(pred, target), np.mean((pred - target) ** 2),
                                       rtol=1e-6)


def test_a_tensor_among_large_arrays_gives_a_tensor_with_its_gradient():
    n = _backend.VIA_TORCH_ELEMENTS
    pred, target = rng.normal(size=n), torch.tensor(rng.normal(size=n), requires_grad=True)
    loss = L.mse(pred, target)
    assert isinstance(loss, torch.Tensor)
    loss.backward()
    np.testing.assert_allclose(target.grad.numpy(), 2 * (target.detach().numpy() - pred) / n)
    weight = torch.ones(n, dtype=torch.float64)
    out = L.binary_cross_entropy_with_logits(pred, (pred > 0).astype(float), weight=weight)
    assert isinstance(out, torch.Tensor)


def test_large_arrays_take_the_torch_path_and_keep_the_checks():
    n = _backend.VIA_TORCH_ELEMENTS
    pred, target = rng.normal(size=n), rng.normal(size=n)
    assert _backend.torch_views(pred, target) is not None
    assert isinstance(L.huber(pred, target), np.float64)
    labels = np.ones(n)
    labels[-1] = 0.0
    with pytest.raises(ValueError, match=r"\{-1, \+1\}"):
        L.hinge(pred, labels)
    pred[7] = np.nan
    with pytest.raises(ValueError, match="pred contains NaN"):
        L.mse(pred, target)


def _assert_mean_is_torchs(loss, x, target):
    """The mean is the float64 mean of the "none" values (to 4e-7 in float32) and its gradient
    the one torch's mean of them gives."""
    each = loss(x, target, reduction="none")
    (torch_grad,) = torch.autograd.grad(each.mean(), x)
    mean = loss(x, target)
    (grad,) = torch.autograd.grad(mean, x)
    rtol = 1e-12 if x.dtype == torch.float64 else 4e-7
    torch.testing.assert_close(mean, each.double().mean().to(x.dtype), rtol=rtol, atol=0)
    torch.testing.assert_close(grad, torch_grad, rtol=rtol, atol=0)


ELEMENTWISE_MEANS = {  # losses whose tensor mean is lossutils' own (_Torch.mean), not torch's
    "hinge": (L.hinge, "sign"), "squared_hinge": (L.squared_hinge, "sign"),
    "log_cosh": (L.log_cosh, "real"), "quantile": (L.quantile, "real"),
    "asymmetric_mae": (L.asymmetric_mae, "real"),
    "sigmoid_focal_loss": (L.sigmoid_focal_loss, "prob"),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_MEANS))
@pytest.mark.parametrize("shape", [(7,), (255,), (256,), (257,), (16, 16), (4, 100)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tensor_mean_is_the_mean_of_the_elementwise_losses(name, shape, dtype):
    """Small means are a dot product with a row of 1/n; larger ones torch's mean. Either way the
    value is the mean of the elementwise losses and the gradient the one torch's mean gives."""
    loss, kind = ELEMENTWISE_MEANS[name]
    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(shape, generator=gen, dtype=dtype) * 2).requires_grad_()
    target = {"sign": torch.randint(0, 2, shape, generator=gen).to(dtype) * 2 - 1,
              "real": torch.randn(shape, generator=gen, dtype=dtype),
              "prob": torch.rand(shape, generator=gen, dtype=dtype)}[kind]
    _assert_mean_is_torchs(loss, x, target)


@pytest.mark.parametrize("n", [7, 256, 257])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_focal_mean_is_the_mean_of_its_per_sample_losses(n, dtype):
    gen = torch.Generator().manual_seed(4)
    logits = (torch.randn((n, 5), generator=gen, dtype=dtype) * 3).requires_grad_()
    target = torch.randint(0, 5, (n,), generator=gen)
    _assert_mean_is_torchs(L.softmax_focal_loss, logits, target)


@pytest.mark.parametrize("shape", [(_backend.DOT_MEAN_ELEMENTS,), (8, _backend.DOT_MEAN_ELEMENTS // 8)])
def test_dot_mean_stays_within_a_few_ulp_in_float32(shape):
    """The bound that sets DOT_MEAN_ELEMENTS: at its largest size, the float32 dot-product mean
    of equal terms (the worst case: every rounding goes one way) and of random ones is within
    3 ulp of the exact mean."""
    gen = torch.Generator().manual_seed(5)
    for _ in range(20):
        value = float(torch.rand((), generator=gen)) * 3 + 0.1
        for x in (torch.full(shape, value), torch.rand(shape, generator=gen) * 3):
            exact = x.double().mean().item()
            ours = _backend.TORCH.mean(x).item()
            assert abs(ours - exact) <= 3 * np.spacing(np.float32(exact)), (value, ours, exact)
