"""Input validation and reductions shared by every loss.

Each error names the problem and the fix, and quotes the shapes or values involved.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._backend import NP, TORCH, as_arrays, row_blocks

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of 'mean', 'sum' or 'none', got {reduction!r}; "
            "use 'none' to get one loss value per element"
        )


def reduce(xp, values, reduction: str, **inputs):
    """Apply ``reduction`` ("mean", "sum" or "none") to elementwise loss values.

    A NaN total is cheap to spot; when it happens, the named ``inputs`` are searched for the NaN
    that caused it, so the error points at the data rather than at the loss.
    """
    if reduction == "none":
        return values
    out = xp.mean(values) if reduction == "mean" else xp.sum(values)
    return check_total(xp, out, reduction, **inputs)


def check_total(xp, out, reduction: str, **inputs):
    """Return ``out``; if it is a NaN total, first name the input that holds the NaN.

    The check reads one number back, so it costs nothing on NumPy and on CPU tensors; on an
    accelerator that read would wait for the device, so it is skipped there (as it is for
    ``reduction="none"``, where finding a NaN takes a full pass over the data).
    """
    if reduction == "none" or not inputs or not xp.cheap_scalar(out):
        return out
    if math.isnan(xp.to_float(out)):
        for name, x in inputs.items():
            if x is not None:
                check_no_nan(xp, x, name)
    return out


def elementwise(xp, terms, reduction: str, *arrays, per_row: bool = False, **options):
    """``terms(xp, *arrays, **options)`` (the loss of each element), reduced.

    Large NumPy arrays are evaluated block by block of rows (``_backend.row_blocks``), so every
    temporary of the formula stays in cache; arguments that broadcast against the first one
    (weights) are broadcast first. The block sums are added in float64 and the result keeps the
    input's dtype. Tensors and small arrays are evaluated in one go. ``per_row=True`` says that
    ``terms`` reduces the last axis (one loss per row), so a 1-d input is a single row.
    """
    first = arrays[0]
    blocks = None
    if xp is NP and not (per_row and first.ndim < 2):
        blocks = row_blocks(first)
    if blocks is None:
        values = terms(xp, *arrays, **options)
        if reduction == "none":
            return values
        return xp.mean(values) if reduction == "mean" else xp.sum(values)
    arrays = [a if a is None or a.shape == first.shape else np.broadcast_to(a, first.shape)
              for a in arrays]
    shape = first.shape[:-1] if per_row else first.shape
    if reduction == "none":
        out = np.empty(shape, dtype=first.dtype)
        for rows in blocks:
            out[rows] = terms(xp, *(a if a is None else a[rows] for a in arrays), **options)
        return out
    total = 0.0
    for rows in blocks:
        values = terms(xp, *(a if a is None else a[rows] for a in arrays), **options)
        total += float(np.einsum("i->", values.reshape(-1)))  # einsum's sum is twice as fast as np.sum
    return first.dtype.type(total / math.prod(shape) if reduction == "mean" else total)


def check_same_shape(a, b, names: tuple[str, str] = ("pred", "target")) -> None:
    """Refuse mismatched shapes instead of broadcasting (N, 1) against (N,) into (N, N)."""
    if a.shape != b.shape:  # both tuples (NumPy) or both torch.Size
        fix = ""
        if tuple(a.shape[:-1]) == tuple(b.shape) and a.shape[-1] == 1:
            fix = f"; squeeze the last axis of {names[0]} (e.g. {names[0]}[..., 0] or .squeeze(-1))"
        elif tuple(b.shape[:-1]) == tuple(a.shape) and b.shape[-1] == 1:
            fix = f"; squeeze the last axis of {names[1]} (e.g. {names[1]}[..., 0] or .squeeze(-1))"
        else:
            fix = "; reshape them to one shape (no broadcasting is done, to avoid silent errors)"
        raise ValueError(
            f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has shape {tuple(b.shape)}: "
            f"they must match{fix}"
        )


def matched_inputs(first, second, *others, reduction: str,
                   names: tuple[str, str] = ("pred", "target")):
    """The inputs of an elementwise loss: ``(xp, first, second, *others)`` from ``as_arrays``,
    after checking ``reduction`` and that ``first`` and ``second`` have one shape.

    Tensors that need nothing (one dtype, one device, one shape; no other arrays) return at
    once, without the three calls below: in a training step at batch 256, where each Python
    call costs about 0.5 us, that saves about 0.4% of the step.
    """
    if (type(first) is torch.Tensor and type(second) is torch.Tensor and reduction in REDUCTIONS
            and first.dtype == second.dtype and first.device == second.device
            and first.shape == second.shape and first.is_floating_point()
            and (not others or all(o is None for o in others))):
        return (TORCH, first, second, *others)
    check_reduction(reduction)
    arrays = as_arrays(first, second, *others)
    check_same_shape(arrays[1], arrays[2], names)
    return arrays


def check_no_nan(xp, x, name: str) -> None:
    if bool(xp.isnan(x).any()):
        raise ValueError(
            f"{name} contains NaN; find where it first appears (often a log of 0 or an exp "
            "overflow "
            "upstream) or drop those entries before computing the loss"
        )


def check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


def check_in_unit_interval(value: float, name: str, *, open_interval: bool = True) -> None:
    ok = 0 < value < 1 if open_interval else 0 <= value <= 1
    if not ok:
        bounds = "strictly between 0 and 1" if open_interval else "between 0 and 1"
        raise ValueError(f"{name} must lie {bounds}, got {value!r}")


def check_class_indices(xp, target, n_classes: int, *, check_range: bool = True) -> None:
    """Class-index targets must be integers in [0, C) (only their dtype if not ``check_range``)."""
    if not xp.is_integer(target):
        raise ValueError(
            f"target of dtype {target.dtype} is neither class indices (integers) nor per-class "
            "probabilities of the logits' shape; pass integer labels, e.g. target.astype(int)"
        )
    if check_range and xp.size(target):
        lo, hi = xp.aminmax(target)  # one pass over the labels
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"class index {bad} is out of range for {n_classes} classes (valid: 0 to "
                f"{n_classes - 1}); check the label encoding or the number of output units"
            )
