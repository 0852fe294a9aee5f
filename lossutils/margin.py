"""Margin losses: binary hinge, squared hinge and the multiclass (Weston-Watkins) hinge.

Used in chapter 6 and assignment ps05.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._backend import TORCH, _constant, as_arrays, numpy_via_torch
from ._checks import (
    check_class_indices,
    check_reduction,
    check_total,
    elementwise,
    matched_inputs,
    reduce,
)

_NUMPY_CHECK_ELEMENTS = 1 << 16  # from here a CPU tensor's labels are checked through NumPy
_CACHED_ONES_ELEMENTS = 1 << 12  # up to here the row of ones the check compares with is kept


def _all_signs(xp, target) -> bool:
    """Whether every label is -1 or +1 exactly: one pass over the labels.

    A tensor checks ``y * y == 1`` with ``torch.equal``, which returns a bool. This is exact:
    rounding is monotone, so y^2 rounds to 1 only for |y| = 1 (the tests try every float16 and
    bfloat16). In a training step it is the cheapest exact check measured: at batch 256 it costs
    2% of the step where ``abs`` or ``aminmax`` cost 4-5%, and at 8192 0.5% where NumPy's pass
    costs 3%. ``torch.equal`` is slow per element on CPU, so from 2^16 labels CPU tensors are
    read through NumPy instead.
    """
    if xp is TORCH:
        n = target.numel()
        if n <= _CACHED_ONES_ELEMENTS:
            return torch.equal(target * target,
                               _constant(1.0, target.dtype, target.device, target.shape))
        if n < _NUMPY_CHECK_ELEMENTS or not target.is_cpu or target.dtype == torch.bfloat16:
            return torch.equal(target * target, torch.ones_like(target))
        target = target.detach().numpy()
    return bool((np.abs(target) == 1.0).all())


def _signed_labels(xp, target) -> None:
    """Raise, quoting a few of them, unless every label is -1 or +1."""
    if not _all_signs(xp, target):
        bad = (target != 1.0) & (target != -1.0)
        values = sorted({float(v) for v in (target[bad][:5].tolist())})
        zero_one = bool(((target == 0) | (target == 1)).all())
        hint = ("labels look like {0, 1}: map them to {-1, +1} with y = 2 * y - 1"
                if zero_one else "map the two classes to -1 and +1")
        raise ValueError(f"hinge losses need labels in {{-1, +1}}, found {values}; {hint}")


def _margins(scores, target, reduction):
    xp, scores, target = matched_inputs(scores, target, reduction=reduction,
                                        names=("scores", "target"))
    _signed_labels(xp, target)
    return xp, scores, target


def _hinge_terms(xp, scores, target, margin, squared=False):
    # relu, whose slope at the margin is 0 as in hinge_grad; in place on the fresh product
    h = xp.relu_(xp.sub_product(margin, target, scores))
    return xp.square_(h) if squared else h


@numpy_via_torch
def hinge(scores, target, *, margin: float = 1.0, reduction: str = "mean"):
    r"""Hinge loss :math:`\max(0, m - y s)` for labels :math:`y \in \{-1, +1\}`.

    Zero once an example is on the right side of the decision boundary by at least the margin
    :math:`m`; grows linearly otherwise. Labels in {0, 1} raise: map them with ``2 * y - 1``.

    >>> import numpy as np
    >>> hinge(np.array([2.0, 0.5, -1.0]), np.array([1.0, 1.0, 1.0]), reduction="none")
    array([0. , 0.5, 2. ])

    Reference: Cortes & Vapnik (1995), "Support-Vector Networks"; ``torch.nn.HingeEmbeddingLoss``
    is a different loss. Used in chapter 6.
    """
    xp, scores, target = _margins(scores, target, reduction)
    out = elementwise(xp, _hinge_terms, reduction, scores, target, margin=margin)
    return check_total(xp, out, reduction, scores=scores)


@numpy_via_torch
def squared_hinge(scores, target, *, margin: float = 1.0, reduction: str = "mean"):
    r"""Squared hinge :math:`\max(0, m - y s)^2`: differentiable at the margin, harsher on big violations.

    >>> import numpy as np
    >>> squared_hinge(np.array([2.0, 0.5, -1.0]), np.array([1.0, 1.0, 1.0]), reduction="none")
    array([0.  , 0.25, 4.  ])

    Reference: the L2-SVM loss, e.g. Tang (2013), "Deep Learning using Linear Support Vector
    Machines". Used in chapter 6.
    """
    xp, scores, target = _margins(scores, target, reduction)
    out = elementwise(xp, _hinge_terms, reduction, scores, target, margin=margin, squared=True)
    return check_total(xp, out, reduction, scores=scores)


def _mc_margins(scores, target, margin):
    xp, scores, target = _mc_inputs(scores, target)
    return xp, scores, _mc_terms(xp, scores, target, margin)


def _mc_inputs(scores, target, check_range=True):
    xp, scores, target = as_arrays(scores, target, float_others=False)
    if scores.ndim != 2 or target.shape != (scores.shape[0],):
        raise ValueError(
            f"multiclass_hinge needs scores of shape (N, C) and class indices of shape (N,), got "
            f"{tuple(scores.shape)} and {tuple(target.shape)}; pass one integer label in "
            "[0, C) per row of scores"
        )
    check_class_indices(xp, target, scores.shape[1], check_range=check_range)
    return xp, scores, target


def _mc_terms(xp, scores, target, margin):
    idx = target[:, None] if xp.name == "numpy" else target.long()[:, None]
    s_y = xp.take_along(scores, idx, axis=1)
    is_true = (idx == (xp.asarray(range(scores.shape[1]), idx)[None, :]))
    # the true class's own term is masked out by multiplying with 0/1 (cheaper than a where)
    return xp.mul_(xp.maximum_(xp.add_(scores - s_y, margin), 0.0), xp.astype(~is_true, scores))


def multiclass_hinge(scores, target, *, margin: float = 1.0, reduction: str = "mean"):
    r"""Weston-Watkins multiclass hinge :math:`\sum_{j \ne y} \max(0, s_j - s_y + m)`.

    Every wrong class whose score comes within the margin of the true class's score adds to the
    loss. This is C times torch's ``multi_margin_loss``, which averages over classes.

    >>> import numpy as np
    >>> float(multiclass_hinge(np.array([[3.0, 2.5, -1.0]]), np.array([0])))
    0.5

    Reference: Weston & Watkins (1999), "Support Vector Machines for Multi-Class Pattern
    Recognition"; CS231n's SVM loss. Used in chapter 6.
    """
    check_reduction(reduction)
    on_cpu = isinstance(scores, torch.Tensor) and scores.is_cpu
    # torch's CPU kernel checks the class indices' range in its own pass
    xp, scores, target = _mc_inputs(scores, target, check_range=not on_cpu)
    if xp is TORCH:
        try:
            # torch's kernel averages over the C classes; this loss sums over them
            out = F.multi_margin_loss(scores, target.long(), margin=margin, reduction=reduction)
        except RuntimeError:
            check_class_indices(xp, target, scores.shape[1])
            raise
        return check_total(xp, out * scores.shape[1], reduction, scores=scores)
    m = _mc_terms(xp, scores, target, margin)
    return reduce(xp, xp.sum(m, axis=1), reduction, scores=scores)
