"""Time lossutils against torch.nn.functional on CPU.

For each loss and size: ours on NumPy arrays, ours on torch tensors, and the torch reference,
forward and forward+backward (NumPy's backward is the analytic ``<loss>_grad`` where there is
one). Prints milliseconds (best of several runs) and the ratios ours-NumPy / torch and
ours-torch / torch. ``make bench`` runs it; ``--quick`` stops at 1e6 elements.

Usage: python benchmarks/bench_losses.py [--quick] [--sizes 1e4 1e6] [--threads N] [--only mse]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import lossutils as L


def _reduce_mean(v):
    return v.mean()


# name -> (ours, torch reference, ours' analytic gradient or None, input kind, options)
# references without a torch.nn.functional counterpart are the plain torch expression
CASES = {
    "mse": (L.mse, F.mse_loss, L.mse_grad, "real", {}),
    "mae": (L.mae, F.l1_loss, L.mae_grad, "real", {}),
    "huber": (L.huber, F.huber_loss, L.huber_grad, "real", {}),
    "log_cosh": (
        L.log_cosh,
        lambda p, t: torch.log(torch.cosh(p - t)).mean(),
        L.log_cosh_grad,
        "real",
        {},
    ),
    "msle": (
        L.msle,
        lambda p, t: ((torch.log1p(p) - torch.log1p(t)) ** 2).mean(),
        None,
        "positive",
        {},
    ),
    "quantile": (
        L.quantile,
        lambda p, t: torch.maximum(0.9 * (t - p), -0.1 * (t - p)).mean(),
        L.quantile_grad,
        "real",
        {"q": 0.9},
    ),
    "asymmetric_mae": (
        L.asymmetric_mae,
        lambda p, t: torch.where(p < t, 2.0 * (t - p), p - t).mean(),
        None,
        "real",
        {},
    ),
    "binary_cross_entropy": (L.binary_cross_entropy, F.binary_cross_entropy, None, "prob", {}),
    "bce_with_logits": (
        L.binary_cross_entropy_with_logits,
        F.binary_cross_entropy_with_logits,
        L.binary_cross_entropy_with_logits_grad,
        "logit",
        {},
    ),
    "sigmoid_focal_loss": (L.sigmoid_focal_loss, None, L.sigmoid_focal_loss_grad, "logit", {}),
    "hinge": (L.hinge, lambda s, y: torch.relu(1.0 - y * s).mean(), L.hinge_grad, "sign", {}),
    "squared_hinge": (
        L.squared_hinge,
        lambda s, y: (torch.relu(1.0 - y * s) ** 2).mean(),
        None,
        "sign",
        {},
    ),
    "cross_entropy": (L.cross_entropy, F.cross_entropy, L.cross_entropy_grad, "classes", {}),
    "kl_divergence": (
        L.kl_divergence,
        lambda z, t: F.kl_div(F.log_softmax(z, 1), t, reduction="batchmean"),
        None,
        "distribution",
        {},
    ),
    "multiclass_hinge": (
        L.multiclass_hinge,
        lambda s, y: F.multi_margin_loss(s, y) * s.shape[1],
        L.multiclass_hinge_grad,
        "classes",
        {},
    ),
    "triplet_margin_loss": (L.triplet_margin_loss, F.triplet_margin_loss, None, "triplet", {}),
}
N_CLASSES = 10
EMBED_DIM = 16


def _focal_reference(x, t, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return (ce * (1 - p_t) ** gamma * (alpha * t + (1 - alpha) * (1 - t))).mean()


CASES["sigmoid_focal_loss"] = (
    *CASES["sigmoid_focal_loss"][:1],
    _focal_reference,
    *CASES["sigmoid_focal_loss"][2:],
)


def make_inputs(kind: str, n: int, rng) -> tuple[np.ndarray, ...]:
    """float32 inputs with ``n`` elements in the first argument."""
    f32 = np.float32
    if kind in ("classes", "distribution"):
        rows = max(n // N_CLASSES, 1)
        z = rng.standard_normal((rows, N_CLASSES), dtype=f32)
        if kind == "classes":
            return z, rng.integers(0, N_CLASSES, size=rows)
        t = rng.random((rows, N_CLASSES), dtype=f32)
        return z, t / t.sum(axis=1, keepdims=True)
    if kind == "triplet":
        rows = max(n // EMBED_DIM, 1)
        return tuple(rng.standard_normal((rows, EMBED_DIM), dtype=f32) for _ in range(3))
    x = rng.standard_normal(n, dtype=f32)
    if kind == "real":
        return x, rng.standard_normal(n, dtype=f32)
    if kind == "positive":
        return np.abs(x), np.abs(rng.standard_normal(n, dtype=f32))
    if kind == "prob":
        return rng.random(n, dtype=f32), (rng.random(n, dtype=f32) > 0.5).astype(f32)
    if kind == "logit":
        return 3 * x, (rng.random(n, dtype=f32) > 0.5).astype(f32)
    if kind == "sign":
        return x, np.where(rng.random(n) > 0.5, 1, -1).astype(f32)
    raise ValueError(kind)


def best_ms(fn, budget_s: float = 0.6, max_runs: int = 50) -> float:
    """Best wall time of ``fn()`` in milliseconds, over as many runs as fit in ``budget_s``."""
    fn()  # warm-up (allocations, lazy init)
    best, spent, runs = float("inf"), 0.0, 0
    while runs < 3 or (spent < budget_s and runs < max_runs):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return best * 1e3


def _backward(loss_fn, args):
    x = args[0].detach().requires_grad_(True)

    def run():
        x.grad = None
        loss_fn(x, *args[1:]).backward()

    return run


def bench(name: str, n: int, rng) -> list[dict]:
    ours, ref, grad, kind, opts = CASES[name]
    arrays = make_inputs(kind, n, rng)
    tensors = tuple(torch.from_numpy(a) for a in arrays)
    rows = []
    forward = {
        "numpy": lambda: ours(*arrays, **opts),
        "ours-torch": lambda: ours(*tensors, **opts),
        "torch": lambda: ref(*tensors),
    }
    rows.append({"mode": "forward", **{k: best_ms(f) for k, f in forward.items()}})
    both = {
        "numpy": (lambda: (ours(*arrays, **opts), grad(*arrays, **opts))) if grad else None,
        "ours-torch": _backward(lambda *a: ours(*a, **opts), tensors),
        "torch": _backward(ref, tensors),
    }
    rows.append(
        {"mode": "fwd+bwd", **{k: best_ms(f) if f else float("nan") for k, f in both.items()}}
    )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 1e4 and 1e6 elements")
    parser.add_argument("--sizes", nargs="+", type=float, help="element counts, e.g. 1e4 1e6")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1, the thread count of NumPy ufuncs)",
    )
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="a subset of losses")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ([1e4, 1e6] if args.quick else [1e4, 1e6, 1e7]))]
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__} "
        "(elementwise ufuncs run on 1 thread; only BLAS calls are threaded), float32, "
        "best-of-runs milliseconds"
    )
    header = (
        f"{'loss':22s} {'elements':>9s} {'mode':8s} {'numpy':>9s} {'ours-torch':>10s} "
        f"{'torch':>9s} {'np/torch':>9s} {'ours/torch':>10s}"
    )
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for name in args.only or CASES:
        for n in sizes:
            for row in bench(name, n, rng):
                print(
                    f"{name:22s} {n:9.0e} {row['mode']:8s} {row['numpy']:9.3f} "
                    f"{row['ours-torch']:10.3f} {row['torch']:9.3f} "
                    f"{row['numpy'] / row['torch']:9.2f} "
                    f"{row['ours-torch'] / row['torch']:10.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
