"""Numerical gradients and a gradient checker (central differences, as in CS231n).

Used in chapter 8 and assignments ps05 and ps07.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x, eps: float = 1e-6) -> np.ndarray:
    r"""Central-difference gradient :math:`(f(x + h e_i) - f(x - h e_i)) / 2h` of a scalar function.

    ``x`` is copied to float64; ``f`` is called twice per element, so keep ``x`` small.

    >>> numerical_gradient(lambda v: float((v ** 2).sum()), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])

    Reference: CS231n, "Optimization" notes (centered formula). Used in chapter 8.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        g[i] = (up - down) / (2 * eps)
    return grad


class GradCheckResult(NamedTuple):
    """Outcome of :func:`gradcheck`: ``ok`` and the worst elementwise relative error."""

    ok: bool
    max_rel_error: float
    worst_index: tuple[int, ...]


def gradcheck(f: Callable, grad_f: Callable, x, *, eps: float = 1e-6,
              rtol: float = 1e-4) -> GradCheckResult:
    r"""Compare an analytic gradient ``grad_f(x)`` with the numerical gradient of ``f`` at ``x``.

    The relative error of each element is :math:`|a - n| / \max(|a| + |n|, 10^{-8})`; the check
    passes when the worst one is at most ``rtol``. The result names the worst element, which is
    where to look when it fails (often a kink such as ``max(0, .)`` sitting right at ``x``).

    >>> r = gradcheck(lambda v: float((v ** 3).sum()), lambda v: 3 * v ** 2, np.array([0.5, 2.0]))
    >>> r.ok, r.max_rel_error < 1e-8
    (True, True)

    Reference: ``torch.autograd.gradcheck`` does the same for tensors. Used in chapter 8.
    """
    x = np.array(x, dtype=np.float64)
    analytic = np.asarray(grad_f(x.copy()), dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(
            f"the analytic gradient has shape {analytic.shape} but x has shape {x.shape}; "
            "a gradient has the shape of the variable it differentiates"
        )
    numeric = numerical_gradient(f, x, eps=eps)
    rel = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.size else ()
    max_rel = float(rel.max()) if rel.size else 0.0
    return GradCheckResult(max_rel <= rtol, max_rel, tuple(int(i) for i in worst))
