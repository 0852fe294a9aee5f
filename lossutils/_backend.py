"""One array namespace for NumPy and torch, so each formula in lossutils is written once.

``namespace(x)`` returns ``NP`` or ``TORCH``; both expose the same small set of operations
(``exp``, ``log1p``, ``where``, ``sum(x, axis)``, ...). Inputs are converted by ``as_arrays``:
if any argument is a tensor, the others become tensors of its dtype on its device, so autograd
flows through; otherwise everything is a NumPy array and float32 stays float32.
"""

from __future__ import annotations

import numpy as np
import torch


class _NumPy:
    name = "numpy"
    exp, log, log1p, expm1 = map(staticmethod, (np.exp, np.log, np.log1p, np.expm1))
    abs, sqrt, tanh, sign = map(staticmethod, (np.abs, np.sqrt, np.tanh, np.sign))
    maximum, minimum, where = map(staticmethod, (np.maximum, np.minimum, np.where))
    isnan, isfinite = map(staticmethod, (np.isnan, np.isfinite))

    @staticmethod
    def clip(x, lo=None, hi=None):
        return np.clip(x, lo, hi)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x, axis=None):
        return np.mean(x, axis=axis)

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return np.max(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return np.min(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def take_along(x, idx, axis):
        return np.take_along_axis(x, idx, axis=axis)

    @staticmethod
    def moveaxis(x, src, dst):
        return np.moveaxis(x, src, dst)

    @staticmethod
    def asarray(values, like):
        return np.asarray(values, dtype=like.dtype)

    @staticmethod
    def zeros_like(x):
        return np.zeros_like(x)

    @staticmethod
    def cast(x, like):
        return x.astype(like.dtype, copy=False)

    @staticmethod
    def eye(n, like):
        return np.eye(n, dtype=bool)

    @staticmethod
    def astype(x, like):
        return x.astype(like.dtype, copy=False)

    @staticmethod
    def size(x):
        return int(x.size)

    @staticmethod
    def one_hot(idx, n, like):
        return (idx[..., None] == np.arange(n)).astype(like.dtype)

    @staticmethod
    def is_integer(x):
        return bool(np.issubdtype(x.dtype, np.integer))


class _Torch:
    name = "torch"
    exp, log, log1p, expm1 = map(staticmethod, (torch.exp, torch.log, torch.log1p, torch.expm1))
    abs, sqrt, tanh, sign = map(staticmethod, (torch.abs, torch.sqrt, torch.tanh, torch.sign))
    where, isnan, isfinite = map(staticmethod, (torch.where, torch.isnan, torch.isfinite))

    @staticmethod
    def maximum(a, b):
        return torch.clamp(a, min=b) if not isinstance(b, torch.Tensor) else torch.maximum(a, b)

    @staticmethod
    def minimum(a, b):
        return torch.clamp(a, max=b) if not isinstance(b, torch.Tensor) else torch.minimum(a, b)

    @staticmethod
    def clip(x, lo=None, hi=None):
        return torch.clamp(x, lo, hi)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    @staticmethod
    def mean(x, axis=None):
        return x.mean() if axis is None else x.mean(dim=axis)

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return x.max() if axis is None else x.amax(dim=axis, keepdim=keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return x.min() if axis is None else x.amin(dim=axis, keepdim=keepdims)

    @staticmethod
    def take_along(x, idx, axis):
        return torch.take_along_dim(x, idx, dim=axis)

    @staticmethod
    def moveaxis(x, src, dst):
        return torch.movedim(x, src, dst)

    @staticmethod
    def asarray(values, like):
        return torch.as_tensor(np.asarray(values), dtype=like.dtype, device=like.device)

    @staticmethod
    def zeros_like(x):
        return torch.zeros_like(x)

    @staticmethod
    def cast(x, like):
        return x.to(like.dtype)

    @staticmethod
    def eye(n, like):
        return torch.eye(n, dtype=torch.bool, device=like.device)

    @staticmethod
    def astype(x, like):
        return x.to(like.dtype)

    @staticmethod
    def size(x):
        return int(x.numel())

    @staticmethod
    def one_hot(idx, n, like):
        return torch.nn.functional.one_hot(idx.long(), n).to(like.dtype)

    @staticmethod
    def is_integer(x):
        return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool


NP, TORCH = _NumPy(), _Torch()


def namespace(x):
    """``TORCH`` for a tensor, ``NP`` otherwise."""
    return TORCH if isinstance(x, torch.Tensor) else NP


def _is_float(a) -> bool:
    return a.is_floating_point() if isinstance(a, torch.Tensor) else np.issubdtype(a.dtype, np.floating)


def as_arrays(first, *others, float_others: bool = True):
    """Convert ``first`` and ``others`` to one kind of array; return ``(xp, first, *others)``.

    ``first`` (the prediction) is made floating point (float64 for integer input). ``None``
    passes through. With ``float_others=False`` integer arrays among ``others`` (class indices)
    keep an integer dtype.
    """
    tensor = next((a for a in (first, *others) if isinstance(a, torch.Tensor)), None)
    if tensor is None:
        first = np.asarray(first)
        if not np.issubdtype(first.dtype, np.floating):
            first = first.astype(np.float64)
        out = []
        for a in others:
            if a is not None:
                a = np.asarray(a)
                if float_others or _is_float(a):
                    a = a.astype(first.dtype, copy=False)
            out.append(a)
        return (NP, first, *out)
    if not isinstance(first, torch.Tensor):
        first = torch.as_tensor(np.asarray(first), device=tensor.device)
    if not first.is_floating_point():
        first = first.to(tensor.dtype if tensor.is_floating_point() else torch.float64)
    out = []
    for a in others:
        if a is not None:
            if not isinstance(a, torch.Tensor):
                a = torch.as_tensor(np.asarray(a), device=first.device)
            if float_others or a.is_floating_point():
                a = a.to(device=first.device, dtype=first.dtype)
            else:
                a = a.to(device=first.device)
        out.append(a)
    return (TORCH, first, *out)


def shape(a) -> tuple[int, ...]:
    return tuple(a.shape)
