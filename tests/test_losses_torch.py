"""Every loss in lossutils against its torch reference, for NumPy and torch inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lossutils as L

REDUCTIONS = ("mean", "sum", "none")
SHAPES = ((17,), (6, 5), (3, 4, 2))


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


def _log_cosh_ref(p, t, reduction="mean"):
    return _reduce(torch.log(torch.cosh(p - t)), reduction)


def _msle_ref(p, t, reduction="mean"):
    return _reduce((torch.log1p(p) - torch.log1p(t)) ** 2, reduction)


def _quantile_ref(p, t, reduction="mean", q=0.3):
    u = t - p
    return _reduce(torch.maximum(q * u, (q - 1) * u), reduction)


def _asym_ref(p, t, reduction="mean"):
    u = t - p
    return _reduce(torch.where(p < t, 3.0 * u.abs(), 0.5 * u.abs()), reduction)


def _hinge_ref(s, y, reduction="mean"):
    return _reduce(torch.relu(0.7 - y * s), reduction)


def _sq_hinge_ref(s, y, reduction="mean"):
    return _reduce(torch.relu(0.7 - y * s) ** 2, reduction)


def _torchvision_focal(x, t, reduction="mean", alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss, written out from Lin et al. (2017)."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return _reduce(loss, reduction)


def _make(kind, shape, rng):
    """Inputs for one loss: a float first argument and a target of the right domain."""
    x = rng.normal(size=shape) * 2
    if kind == "real":
        return x, rng.normal(size=shape)
    if kind == "positive":
        return rng.uniform(0, 5, size=shape), rng.uniform(0, 5, size=shape)
    if kind == "prob":
        p = rng.uniform(size=shape)
        p.flat[0], p.flat[-1] = 0.0, 1.0  # exactly 0 and 1 must stay finite
        return p, rng.uniform(size=shape)
    if kind == "logit":
        return x * 10, rng.uniform(size=shape)
    if kind == "sign":
        return x, np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)
    raise AssertionError(kind)


ELEMENTWISE = {
    "mse": (L.mse, F.mse_loss, "real", {}),
    "mae": (L.mae, F.l1_loss, "real", {}),
    "huber": (L.huber, lambda p, t, reduction: F.huber_loss(p, t, reduction=reduction, delta=0.6),
              "real", {"delta": 0.6}),
    "log_cosh": (L.log_cosh, _log_cosh_ref, "real", {}),
    "msle": (L.msle, _msle_ref, "positive", {}),
    "quantile": (L.quantile, _quantile_ref, "real", {"q": 0.3}),
    "asymmetric_mae": (L.asymmetric_mae, _asym_ref, "real",
                       {"under_weight": 3.0, "over_weight": 0.5}),
    "binary_cross_entropy": (L.binary_cross_entropy, F.binary_cross_entropy, "prob", {}),
    "binary_cross_entropy_with_logits": (L.binary_cross_entropy_with_logits,
                                         F.binary_cross_entropy_with_logits, "logit", {}),
    "sigmoid_focal_loss": (L.sigmoid_focal_loss, _torchvision_focal, "logit", {}),
    "hinge": (L.hinge, _hinge_ref, "sign", {"margin": 0.7}),
    "squared_hinge": (L.squared_hinge, _sq_hinge_ref, "sign", {"margin": 0.7}),
}


def _check(ours, ref, dtype):
    tol = 1e-6 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), ref.double().numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_numpy_matches_torch(name, dtype):
    fn, ref, kind, opts = ELEMENTWISE[name]
    rng = np.random.default_rng(len(name))
    for shape in SHAPES:
        a, b = (v.astype(dtype) for v in _make(kind, shape, rng))
        for reduction in REDUCTIONS:
            out = fn(a, b, reduction=reduction, **opts)
            assert isinstance(out, np.ndarray | np.floating)
            assert out.dtype == dtype, (name, out.dtype)
            assert np.shape(out) == (shape if reduction == "none" else ())
            _check(out, ref(torch.from_numpy(a), torch.from_numpy(b), reduction=reduction), dtype)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_torch_keeps_autograd(name):
    fn, ref, kind, opts = ELEMENTWISE[name]
    a, b = _make(kind, (5, 3), np.random.default_rng(1))
    if kind == "prob":  # torch's gradient at exactly 0 or 1 is 1e12-sized, ours is clamped
        a = np.clip(a, 1e-3, 1 - 1e-3)
    for reduction in REDUCTIONS:
        x = torch.tensor(a, requires_grad=True)
        x_ref = torch.tensor(a, requires_grad=True)
        out = fn(x, torch.tensor(b), reduction=reduction, **opts)
        expected = ref(x_ref, torch.tensor(b), reduction=reduction)
        assert isinstance(out, torch.Tensor) and out.requires_grad and out.dtype == torch.float64
        torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
        out.sum().backward()
        expected.sum().backward()
        torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-6, atol=1e-6)


def test_weights_like_torch():
    rng = np.random.default_rng(3)
    z = torch.tensor(rng.normal(size=(8, 4)) * 1e4)
    p = torch.tensor(rng.uniform(size=(8, 4)))
    t = torch.tensor(rng.uniform(size=(8, 4)))
    w = torch.tensor(rng.uniform(0.5, 2, size=(8, 4)))
    pw = torch.tensor(rng.uniform(0.5, 4, size=4))
    for reduction in REDUCTIONS:
        torch.testing.assert_close(
            L.binary_cross_entropy_with_logits(z, t, weight=w, pos_weight=pw, reduction=reduction),
            F.binary_cross_entropy_with_logits(z, t, weight=w, pos_weight=pw, reduction=reduction))
        torch.testing.assert_close(
            L.binary_cross_entropy(p, t, weight=w, reduction=reduction),
            F.binary_cross_entropy(p, t, weight=w, reduction=reduction))


@pytest.mark.parametrize("scale", [1.0, 1e2, 1e4])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_matches_torch(scale, smoothing, weighted):
    rng = np.random.default_rng(4)
    for shape in ((9, 5), (4, 5, 3)):
        logits = rng.normal(size=shape) * scale
        idx = rng.integers(0, 5, size=(shape[0], *shape[2:]))
        probs = np.moveaxis(rng.dirichlet(np.ones(5), size=idx.shape), -1, 1)
        w = rng.uniform(0.5, 2, size=5) if weighted else None
        tw = None if w is None else torch.tensor(w)
        for target in (idx, probs):
            for reduction in REDUCTIONS:
                ours = L.cross_entropy(logits, target, weight=w, label_smoothing=smoothing,
                                       reduction=reduction)
                ref = F.cross_entropy(torch.tensor(logits), torch.tensor(target), weight=tw,
                                      label_smoothing=smoothing, reduction=reduction)
                np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-6, atol=1e-6 * scale)


def test_cross_entropy_float32_and_torch_autograd():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 4)).astype(np.float32)
    target = rng.integers(0, 4, size=6)
    out = L.cross_entropy(logits, target)
    assert out.dtype == np.float32
    x = torch.tensor(logits, requires_grad=True)
    x_ref = torch.tensor(logits, requires_grad=True)
    ours = L.cross_entropy(x, torch.tensor(target), label_smoothing=0.1)
    ref = F.cross_entropy(x_ref, torch.tensor(target), label_smoothing=0.1)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref)
    ours.backward()
    ref.backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_kl_divergence_is_batchmean():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(7, 5)) * 1e3
    t = rng.dirichlet(np.ones(5), size=7)
    t[0, 2] = 0.0
    t[0] /= t[0].sum()
    logp = F.log_softmax(torch.tensor(logits), 1)
    for reduction, torch_reduction in (("mean", "batchmean"), ("sum", "sum"), ("none", "none")):
        ref = F.kl_div(logp, torch.tensor(t), reduction=torch_reduction)
        np.testing.assert_allclose(L.kl_divergence(logits, t, reduction=reduction), ref.numpy(),
                                   rtol=1e-6, atol=1e-6)


def test_sigmoid_focal_alpha_none_and_extremes():
    x = torch.tensor([-1e4, -3.0, 0.0, 2.0, 1e4])
    t = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    for alpha, gamma in ((None, 2.0), (0.4, 0.5), (0.25, 0.0)):
        ours = L.sigmoid_focal_loss(x.double(), t.double(), alpha=alpha, gamma=gamma,
                                    reduction="none")
        ref = _torchvision_focal(x.double(), t.double(), "none", alpha=alpha, gamma=gamma)
        torch.testing.assert_close(ours, ref)


def test_softmax_focal_loss():
    rng = np.random.default_rng(7)
    logits = torch.tensor(rng.normal(size=(10, 4)) * 3, requires_grad=True)
    target = torch.tensor(rng.integers(0, 4, size=10))
    alpha = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    logp = F.log_softmax(logits, 1).gather(1, target[:, None])[:, 0]
    ref = -alpha[target] * (1 - logp.exp()) ** 2 * logp
    for reduction in REDUCTIONS:
        ours = L.softmax_focal_loss(logits, target, gamma=2.0, alpha=alpha, reduction=reduction)
        torch.testing.assert_close(ours, _reduce(ref, reduction))
    assert ours.requires_grad
    np.testing.assert_allclose(
        L.softmax_focal_loss(logits.detach().numpy(), target.numpy(), gamma=0.0),
        F.cross_entropy(logits, target).item(), rtol=1e-6)


def test_multiclass_hinge_is_c_times_multi_margin():
    rng = np.random.default_rng(8)
    scores = rng.normal(size=(12, 5))
    target = rng.integers(0, 5, size=12)
    per_sample = 5 * F.multi_margin_loss(torch.tensor(scores), torch.tensor(target), margin=0.8,
                                         reduction="none")
    for reduction in REDUCTIONS:
        np.testing.assert_allclose(
            L.multiclass_hinge(scores, target, margin=0.8, reduction=reduction),
            _reduce(per_sample, reduction).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss_matches_torch(p, swap):
    rng = np.random.default_rng(9)
    a, pos, neg = (rng.normal(size=(11, 6)) for _ in range(3))
    for reduction in REDUCTIONS:
        ref = F.triplet_margin_loss(torch.tensor(a), torch.tensor(pos), torch.tensor(neg),
                                    margin=0.4, p=p, swap=swap, reduction=reduction)
        np.testing.assert_allclose(
            L.triplet_margin_loss(a, pos, neg, margin=0.4, p=p, swap=swap, reduction=reduction),
            ref.numpy(), rtol=1e-6, atol=1e-6)
    ta = torch.tensor(a, requires_grad=True)
    L.triplet_margin_loss(ta, torch.tensor(pos), torch.tensor(neg), p=p, swap=swap).backward()
    assert torch.isfinite(ta.grad).all() and ta.grad.abs().sum() > 0


def _batch_hard_loop(emb, labels, margin):
    """Hermans, Beyer & Leibe (2017), one anchor at a time."""
    values = []
    for i in range(len(emb)):
        d = np.linalg.norm(emb - emb[i], axis=1)
        pos = [d[j] for j in range(len(emb)) if labels[j] == labels[i] and j != i]
        neg = [d[j] for j in range(len(emb)) if labels[j] != labels[i]]
        if pos and neg:
            values.append(max(0.0, max(pos) - min(neg) + margin))
    return np.mean(values) if values else 0.0


def test_batch_hard_triplet_loss():
    rng = np.random.default_rng(10)
    for n, k in ((16, 4), (9, 2), (5, 5)):
        emb = rng.normal(size=(n, 3))
        labels = rng.integers(0, k, size=n)
        for margin in (0.2, 2.0):
            np.testing.assert_allclose(L.batch_hard_triplet_loss(emb, labels, margin=margin),
                                       _batch_hard_loop(emb, labels, margin), rtol=1e-6, atol=1e-9)
    # no anchor has a positive: the loss is 0, and still a graph-connected tensor
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    out = L.batch_hard_triplet_loss(x, torch.arange(4))
    assert float(out.detach()) == 0.0 and out.requires_grad
    # duplicate points make a zero distance: the gradient must stay finite
    x = torch.zeros(4, 2, dtype=torch.float64, requires_grad=True)
    L.batch_hard_triplet_loss(x, torch.tensor([0, 0, 1, 1])).backward()
    assert torch.isfinite(x.grad).all()


def test_stable_primitives_match_torch():
    x = np.array([[-1e4, -50.0, 0.0, 3.0, 1e4], [1.0, 2.0, 3.0, 4.0, 5.0]])
    tx = torch.tensor(x)
    np.testing.assert_allclose(L.sigmoid(x), torch.sigmoid(tx).numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(L.logsumexp(x), torch.logsumexp(tx, -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(L.log_softmax(x), torch.log_softmax(tx, -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(L.softmax(x, axis=0), torch.softmax(tx, 0).numpy(), rtol=1e-12)
    out = L.log_softmax(tx.float().requires_grad_())
    assert out.requires_grad and out.dtype == torch.float32


def test_mixed_numpy_target_with_tensor_prediction():
    pred = torch.randn(5, dtype=torch.float32, requires_grad=True)
    out = L.mse(pred, np.zeros(5))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.requires_grad


def test_autograd_is_exact_at_zero_logits():
    """A model initialised at zero has logits exactly 0: the slope there must be torch's."""
    t = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64)
    x, x_ref = (torch.zeros(3, dtype=torch.float64, requires_grad=True) for _ in range(2))
    L.binary_cross_entropy_with_logits(x, t, pos_weight=torch.tensor(2.0)).backward()
    F.binary_cross_entropy_with_logits(x_ref, t, pos_weight=torch.tensor(2.0)).backward()
    torch.testing.assert_close(x.grad, x_ref.grad)
    for ours, ref in ((L.sigmoid, torch.sigmoid),
                      (L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits),
                      (L.sigmoid_focal_loss, _torchvision_focal)):
        x, x_ref = (torch.zeros(3, dtype=torch.float64, requires_grad=True) for _ in range(2))
        args = (t,) if ours is not L.sigmoid else ()
        ours(x, *args).sum().backward()
        ref(x_ref, *args).sum().backward()
        torch.testing.assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_python_and_numpy_scalars_work(name):
    fn, ref, kind, opts = ELEMENTWISE[name]
    a, b = (0.3, 1.0) if kind != "sign" else (0.3, -1.0)
    expected = ref(torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64),
                   reduction="mean")
    np.testing.assert_allclose(fn(a, b, **opts), expected.item(), rtol=1e-12)
    out = fn(np.float32(a), np.float32(b), reduction="none", **opts)
    assert out.dtype == np.float32


@pytest.mark.parametrize("offset", [0.0, 1e7])
def test_batch_hard_is_exact_with_duplicates_and_far_from_the_origin(offset):
    """Mining uses a matrix product, but the chosen distances are exact: zero for duplicates,
    full precision for a batch near 1e7 (where |a|^2 - 2ab + |b|^2 loses most digits)."""
    rng = np.random.default_rng(3)
    emb = rng.normal(size=(12, 4))
    labels = rng.integers(0, 3, size=12)
    emb = np.concatenate([emb, emb[:4]]) + offset
    labels = np.concatenate([labels, labels[:4]])
    for margin in (0.0, 0.5):
        np.testing.assert_allclose(L.batch_hard_triplet_loss(emb, labels, margin=margin),
                                   _batch_hard_loop(emb, labels, margin), rtol=1e-9, atol=1e-12)


def test_batch_hard_gradient_matches_the_distance_matrix_form():
    rng = np.random.default_rng(4)
    emb, labels = rng.normal(size=(20, 5)), torch.from_numpy(rng.integers(0, 4, size=20))
    grads = []
    for fn in (L.batch_hard_triplet_loss, _batch_hard_matrix):
        x = torch.tensor(emb, requires_grad=True)
        fn(x, labels, margin=0.7).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-9, atol=1e-12)


def _batch_hard_matrix(x, y, margin):
    """The textbook form: max and min over the full distance matrix."""
    d = torch.cdist(x, x)
    same = y[:, None] == y[None, :]
    pos = same & ~torch.eye(len(y), dtype=torch.bool)
    gap = (d * pos).amax(1) - d.masked_fill(same, float("inf")).amin(1) + margin
    valid = pos.any(1) & ~same.all(1)
    return torch.relu(gap)[valid].mean()


def test_triplet_margin_zero_on_arrays_and_tensors():
    """torch's kernel rejects margin <= 0; the library's formula takes it on both paths."""
    rng = np.random.default_rng(5)
    a, pos, neg = (rng.normal(size=(6, 3)) for _ in range(3))
    want = np.maximum(np.linalg.norm(a - pos + 1e-6, axis=1) - np.linalg.norm(a - neg + 1e-6, axis=1),
                      0).mean()
    np.testing.assert_allclose(L.triplet_margin_loss(a, pos, neg, margin=0.0), want, rtol=1e-12)
    ta = torch.tensor(a, requires_grad=True)
    out = L.triplet_margin_loss(ta, torch.tensor(pos), torch.tensor(neg), margin=0.0)
    np.testing.assert_allclose(out.item(), want, rtol=1e-12)
    out.backward()
    assert torch.isfinite(ta.grad).all()
