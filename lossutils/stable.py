"""Numerically stable sigmoid, softmax, log-softmax and log-sum-exp for NumPy arrays and tensors.

Used in chapter 3, where the naive versions overflow at logits of a few hundred.
"""

from __future__ import annotations

import torch

from ._backend import TORCH, as_arrays

# On tensors each function calls torch's own kernel (one pass, forward and backward); the formulas
# below are the definition, and tests/test_losses_torch.py checks that the kernels compute them.


def sigmoid(x):
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`, without overflow.

    With :math:`e = \exp(-|x|) \le 1`: :math:`\sigma(x) = 1/(1+e)` for :math:`x \ge 0` and
    :math:`e/(1+e)` otherwise, so no exponential ever exceeds 1.

    >>> import numpy as np
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])

    Reference: ``torch.sigmoid``. Used in chapters 3-5.
    """
    xp, x = as_arrays(x)
    if xp is TORCH:
        return torch.sigmoid(x)
    # exp(-|x|) via x - 2 max(x, 0), whose autograd slope at 0 is right (abs's is 0 there)
    e = xp.exp_(xp.add_(xp.maximum(x, 0.0) * -2.0, x))
    r = 1.0 / (1.0 + e)
    # r where x >= 0, e r elsewhere; written with a 0/1 mask instead of a (slow) where
    s = xp.astype(x >= 0, x)
    return xp.mul_(xp.add_(xp.mul_(1.0 - s, e), s), r)


def logsumexp(x, *, axis: int = -1, keepdims: bool = False):
    r"""Log-sum-exp :math:`\log \sum_j e^{x_j} = m + \log \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`.

    Subtracting the maximum keeps every exponent at most 0, so nothing overflows.

    >>> import numpy as np
    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # 1000 + log 2
    1000.6931471805599

    Reference: ``torch.logsumexp``. Used in chapter 3.
    """
    xp, x = as_arrays(x)
    if xp is TORCH:
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis)


def log_softmax(x, *, axis: int = -1):
    r"""Log of the softmax, :math:`x_i - \operatorname{logsumexp}(x)`, stable for any logits.

    >>> import numpy as np
    >>> log_softmax(np.array([0.0, 1e4]))
    array([-10000.,      0.])

    Reference: ``torch.log_softmax``. Used in chapters 3 and 5.
    """
    xp, x = as_arrays(x)
    if xp is TORCH:
        return torch.log_softmax(x, dim=axis)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x, *, axis: int = -1):
    r"""Softmax :math:`e^{x_i} / \sum_j e^{x_j}`, computed as ``exp(log_softmax(x))``.

    >>> import numpy as np
    >>> softmax(np.array([1e4, 1e4]))
    array([0.5, 0.5])

    Reference: ``torch.softmax``. Used in chapter 3.
    """
    xp, x = as_arrays(x)
    if xp is TORCH:
        return torch.softmax(x, dim=axis)
    return xp.exp(log_softmax(x, axis=axis))
