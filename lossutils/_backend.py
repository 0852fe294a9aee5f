"""One array namespace for NumPy and torch, so each formula in lossutils is written once.

``namespace(x)`` returns ``NP`` or ``TORCH``; both expose the same small set of operations
(``exp``, ``log1p``, ``where``, ``sum(x, axis)``, ...). Inputs are converted by ``as_arrays``:
if any argument is a tensor, the others become tensors of its dtype on its device, so autograd
flows through; otherwise everything is a NumPy array and float32 stays float32.

Speed notes (see ``make bench``). NumPy evaluates a formula one operation at a time, each into a
fresh temporary; on large arrays those temporaries are new memory pages (the page faults cost more
than the arithmetic) and fall out of cache. ``row_blocks`` cuts large arrays into cache-sized
blocks of rows so that a loss can be evaluated block by block (``_checks.elementwise``). Where
torch is faster still (a fused kernel, or fewer passes), the loss is marked ``@numpy_via_torch``:
its large NumPy inputs are computed by torch on tensors that share the arrays' memory (no copy),
and the result comes back as NumPy. On NumPy, ``maximum``/``minimum`` against a number use
``clip``, several times faster than ``np.maximum`` with a scalar. On torch, ``relu`` and
``softplus`` are single kernels, and every torch operation costs a few microseconds however
small its input, which is what a training step at batch 256 feels.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

BLOCK_ELEMENTS = 1 << 17  # a NumPy block: 512 KiB of float32; with its temporaries it fits L2
VIA_TORCH_ELEMENTS = 1 << 16  # from this size NumPy inputs go through torch (numpy_via_torch)
# Up to this size a tensor's mean is a dot product (``_Torch.mean``). BLAS adds the products
# in a few dozen running sums, so its float32 error grows with n (about n * eps / 140 for equal
# terms: 2 ulp at 256, 30 at 4096) where torch's sum stays within an ulp or so.
DOT_MEAN_ELEMENTS = 256
_DOT_DTYPES = (torch.float32, torch.float64)
_INTEGER_DTYPES = frozenset({torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                             torch.uint16, torch.uint32, torch.uint64})


def _out(x):
    # 0-d inputs give NumPy scalars, which cannot be written into: compute those out of place
    return x if isinstance(x, np.ndarray) else None


class _NumPy:
    name = "numpy"
    exp, log, log1p, expm1 = map(staticmethod, (np.exp, np.log, np.log1p, np.expm1))
    abs, sqrt, tanh, sign = map(staticmethod, (np.abs, np.sqrt, np.tanh, np.sign))
    where, isnan, isfinite = map(staticmethod, (np.where, np.isnan, np.isfinite))

    @staticmethod
    def maximum(a, b):
        return np.clip(a, b, math.inf) if np.ndim(b) == 0 else np.maximum(a, b)

    @staticmethod
    def minimum(a, b):
        return np.clip(a, -math.inf, b) if np.ndim(b) == 0 else np.minimum(a, b)

    @staticmethod
    def relu(x):
        """max(x, 0); its slope at 0 is 0 (as torch.relu's)."""
        return np.clip(x, 0.0, math.inf)

    @staticmethod
    def relu_(x):
        return np.clip(x, 0.0, math.inf, out=_out(x))

    @staticmethod
    def softplus(x, beta=1.0):
        """log(1 + e^{beta x}) / beta = max(x, 0) + log(1 + e^{-beta |x|}) / beta, finite for any x."""
        m = np.clip(x, 0.0, math.inf)
        if beta == 1.0:
            return np.add(np.log1p(np.exp(np.subtract(x, m + m))), m)
        tail = np.log1p(np.exp(np.multiply(np.subtract(x, m + m), beta)))
        return np.add(np.divide(tail, beta, out=_out(tail)), m)

    @staticmethod
    def add_scaled(x, y, alpha):
        """x + alpha * y."""
        return np.add(x, y * alpha, out=_out(x))

    logaddexp = staticmethod(np.logaddexp)
    argmax, argmin = staticmethod(np.argmax), staticmethod(np.argmin)

    @staticmethod
    def constant(x):
        """x as a value autograd does not follow (NumPy has no graph)."""
        return x

    @staticmethod
    def log_or_minus_inf(x):
        """log(x) with log(0) = -inf and no warning (a term that is switched off)."""
        with np.errstate(divide="ignore"):
            return np.log(x)

    @staticmethod
    def aminmax(x):
        """(min, max) of x as Python numbers."""
        return x.min().item(), x.max().item()

    @staticmethod
    def cheap_scalar(x):
        """Whether reading a scalar back costs nothing (no device sync): always, on NumPy."""
        return True

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

    @staticmethod
    def to_float(x):
        return float(x)

    # Trailing underscore: may overwrite its first argument. Pass only fresh temporaries made
    # inside the loss; on NumPy this saves an allocation and a memory pass per operation.
    @staticmethod
    def abs_(x):
        return np.abs(x, out=_out(x))

    @staticmethod
    def square_(x):
        return np.multiply(x, x, out=_out(x))

    @staticmethod
    def exp_(x):
        return np.exp(x, out=_out(x))

    @staticmethod
    def log1p_(x):
        return np.log1p(x, out=_out(x))

    @staticmethod
    def add_(x, y):
        return np.add(x, y, out=_out(x))

    @staticmethod
    def sub_(x, y):
        return np.subtract(x, y, out=_out(x))

    @staticmethod
    def mul_(x, y):
        return np.multiply(x, y, out=_out(x))

    @staticmethod
    def rsub_(c, x):
        return np.subtract(c, x, out=_out(x))

    @staticmethod
    def sub_product(c, x, y):
        """c - x * y for a number c."""
        return _NumPy.rsub_(c, x * y)

    @staticmethod
    def clip_(x, lo, hi):
        return np.clip(x, lo, hi, out=_out(x))

    @staticmethod
    def maximum_(x, y):
        if np.ndim(y) == 0:
            return np.clip(x, y, math.inf, out=_out(x))
        return np.maximum(x, y, out=_out(x))


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

    relu = staticmethod(torch.relu)

    # in place even on torch: only for a fresh sum or product, whose backward does not need its
    # own output (relu's backward keeps the result it overwrites with)
    relu_ = staticmethod(torch.relu_)

    @staticmethod
    def softplus(x, beta=1.0):
        # one kernel; where beta x > 40 it returns x, off by log(1 + e^{-beta x}) / beta < 5e-18 x
        return F.softplus(x, beta=beta, threshold=40.0)

    @staticmethod
    def add_scaled(x, y, alpha):
        return torch.add(x, y, alpha=alpha)

    logaddexp, log_or_minus_inf = staticmethod(torch.logaddexp), staticmethod(torch.log)

    @staticmethod
    def argmax(x, axis):
        return torch.argmax(x, dim=axis)

    @staticmethod
    def argmin(x, axis):
        return torch.argmin(x, dim=axis)

    @staticmethod
    def constant(x):
        return x.detach()

    @staticmethod
    def sub_product(c, x, y):
        # one kernel instead of two
        return torch.addcmul(_constant(c, x.dtype, x.device), x, y, value=-1)

    @staticmethod
    def aminmax(x):
        lo, hi = torch.aminmax(x)
        return lo.item(), hi.item()

    @staticmethod
    def cheap_scalar(x):
        """Reading a CPU scalar back is cheap; on an accelerator it waits for the device."""
        return x.is_cpu

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    @staticmethod
    def mean(x, axis=None):
        """The mean; of up to ``DOT_MEAN_ELEMENTS`` float32 or float64 elements, as the dot
        product with a row of 1/n. That is one kernel forward and one backward, where
        ``x.mean()`` takes a sum and a division forward and writes its gradient with a division.
        At batch 256 a hinge loss with its gradient takes a fifth less time (``make bench``: its
        training step went from 1.055x torch's to 1.04x).
        """
        if axis is not None:
            return x.mean(dim=axis)
        n = x.numel()
        if not 0 < n <= DOT_MEAN_ELEMENTS or x.dtype not in _DOT_DTYPES:
            return x.mean()
        # a 1-d input is not reshaped: even an identity view is an autograd node
        return torch.dot(x if x.dim() == 1 else x.reshape(-1),
                         _constant(1.0 / n, x.dtype, x.device, (n,)))

    @staticmethod
    def max(x, axis=None, keepdims=False):
        return x.max() if axis is None else x.amax(dim=axis, keepdim=keepdims)

    @staticmethod
    def min(x, axis=None, keepdims=False):
        return x.min() if axis is None else x.amin(dim=axis, keepdim=keepdims)

    @staticmethod
    def take_along(x, idx, axis):
        # gather, not take_along_dim: on CPU gather rejects an index out of range
        return torch.gather(x, axis, idx)

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
        return x.dtype in _INTEGER_DTYPES

    @staticmethod
    def to_float(x):
        return x.item()

    # Out of place on torch: autograd may have saved the argument for the backward pass.
    abs_, square_, exp_, log1p_ = torch.abs, torch.square, torch.exp, torch.log1p
    add_, sub_, mul_, clip_ = torch.add, torch.sub, torch.mul, torch.clamp

    @staticmethod
    def rsub_(c, x):
        return c - x

    @staticmethod
    def maximum_(x, y):
        return torch.clamp(x, min=y) if not isinstance(y, torch.Tensor) else torch.maximum(x, y)


NP, TORCH = _NumPy(), _Torch()


@functools.lru_cache(maxsize=64)
def _constant(c, dtype, device, shape=()):
    """A tensor of ``shape`` (0-d by default) filled with ``c``, made once: creating it costs as
    much as a small loss's kernel. Keep ``shape`` small.

    Only ever read (an input of out-of-place operations); made outside inference mode so that it
    is an ordinary tensor wherever it is used.
    """
    with torch.inference_mode(False):
        return torch.full(shape, c, dtype=dtype, device=device)


def namespace(x):
    """``TORCH`` for a tensor, ``NP`` otherwise."""
    return TORCH if isinstance(x, torch.Tensor) else NP


def _is_float(a) -> bool:
    if isinstance(a, torch.Tensor):
        return a.is_floating_point()
    return np.issubdtype(a.dtype, np.floating)


def as_arrays(first, *others, float_others: bool = True):
    """Convert ``first`` and ``others`` to one kind of array; return ``(xp, first, *others)``.

    ``first`` (the prediction) is made floating point (float64 for integer input). ``None``
    passes through. With ``float_others=False`` integer arrays among ``others`` (class indices)
    keep an integer dtype.
    """
    if type(first) is torch.Tensor and first.is_floating_point():
        # the common case in a training loop: tensors on one device, nothing to convert
        for a in others:
            if a is not None and not (
                type(a) is torch.Tensor and a.device == first.device
                and (a.dtype == first.dtype or not (float_others or a.is_floating_point()))
            ):
                break
        else:
            return (TORCH, first, *others)
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
    # NumPy values and Python numbers become CPU tensors first and then move in the dtype they
    # need: made on the device directly, a Python float would be float64, which MPS rejects
    if not isinstance(first, torch.Tensor):
        first = torch.as_tensor(np.asarray(first))
    if not first.is_floating_point():
        first = first.to(tensor.dtype if tensor.is_floating_point() else torch.float64)
    first = first.to(tensor.device)
    out = []
    for a in others:
        if a is not None:
            if not isinstance(a, torch.Tensor):
                a = torch.as_tensor(np.asarray(a))
            if float_others or a.is_floating_point():
                a = a.to(device=first.device, dtype=first.dtype)
            else:
                a = a.to(device=first.device)
        out.append(a)
    return (TORCH, first, *out)


def shape(a) -> tuple[int, ...]:
    return tuple(a.shape)


def row_blocks(a) -> list[slice] | None:
    """Slices of the first axis that cut a large NumPy array into blocks of about
    ``BLOCK_ELEMENTS`` elements; ``None`` for tensors, small arrays and single rows."""
    if not isinstance(a, np.ndarray) or a.ndim == 0 or a.size <= 2 * BLOCK_ELEMENTS:
        return None
    rows = max(BLOCK_ELEMENTS // max(a.size // a.shape[0], 1), 1)
    if rows >= a.shape[0]:
        return None
    return [slice(i, i + rows) for i in range(0, a.shape[0], rows)]


def torch_views(*arrays):
    """CPU tensors sharing the memory of NumPy ``arrays`` (``None`` entries pass), or ``None``.

    ``None`` unless the first array is a floating-point NumPy array of at least
    ``VIA_TORCH_ELEMENTS`` elements and every array can be shared as it is: float32, float64 or
    integer, writeable (torch refuses read-only memory), no negative strides.
    """
    first = arrays[0]
    if (type(first) is not np.ndarray or first.size < VIA_TORCH_ELEMENTS
            or first.dtype not in (np.float32, np.float64)):
        return None
    for a in arrays:
        if a is not None and not (
            type(a) is np.ndarray and a.flags.writeable and min(a.strides, default=0) >= 0
            and (a.dtype == first.dtype or a.dtype.kind in "iu")
        ):
            return None
    return [None if a is None else torch.from_numpy(a) for a in arrays]


def to_numpy(out):
    """A tensor result as NumPy: an array, or a NumPy scalar for a 0-d tensor."""
    if not isinstance(out, torch.Tensor):
        return out
    out = out.numpy()
    return out[()] if out.ndim == 0 else out


def numpy_via_torch(loss):
    """Compute ``loss`` on large NumPy arrays with torch, on shared memory, and return NumPy.

    The positional arguments that are arrays are viewed as tensors (``torch_views``); keyword
    arrays (weights) follow them through ``as_arrays``. Anything that cannot be viewed, and
    every small array, takes the loss's own NumPy path; so does a call with any tensor among its
    arguments, whose result is a tensor. The tensor path computes the same formula (or torch's
    kernel that the tests check against it), so only the speed differs.
    """
    @functools.wraps(loss)
    def wrapper(*args, **kwargs):
        if (type(args[0]) is np.ndarray and args[0].size >= VIA_TORCH_ELEMENTS
                and not any(isinstance(a, torch.Tensor) for a in (*args, *kwargs.values()))):
            views = torch_views(*(a if type(a) is np.ndarray else None for a in args))
            if views is not None:
                args = [v if v is not None else a for a, v in zip(args, views, strict=True)]
                return to_numpy(loss(*args, **kwargs))
        return loss(*args, **kwargs)

    return wrapper
