"""Known-wrong answers to ps02_cross_entropy and the parts each must lose."""

from tests.course_cases import Variant

_BCE_FRAGILE = """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    p = 1.0 / (1.0 + np.exp(-logits))
    w = 1.0 if pos_weight is None else pos_weight
    loss = -(w * target * np.log(p) + (1 - target) * np.log(1 - p))
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_BCE_CLIPPED = """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    p = np.clip(1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500))), 1e-7, 1 - 1e-7)
    w = 1.0 if pos_weight is None else pos_weight
    loss = -(w * target * np.log(p) + (1 - target) * np.log(1 - p))
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_BCE_POS_WEIGHT_ON_NEGATIVES = """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    sp_neg = np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    w = 1.0 if pos_weight is None else pos_weight
    loss = target * sp_neg + w * (1 - target) * (sp_neg + logits)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_BCE_ALWAYS_MEAN = """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    sp_neg = np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    w = 1.0 if pos_weight is None else pos_weight
    return (w * target * sp_neg + (1 - target) * (sp_neg + logits)).mean()
"""

_BCE_BRANCH_ON_LABEL = """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    sp_neg = np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    w = 1.0 if pos_weight is None else pos_weight
    loss = np.where(target > 0.5, w * sp_neg, sp_neg + logits)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_CE_FRAGILE = """
def cross_entropy(logits, target, *, reduction="mean"):
    if target.min() < 0 or target.max() >= logits.shape[1]:
        raise ValueError("class index out of range")
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(target)), target])
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_CE_LOG_OF_SOFTMAX = """
def cross_entropy(logits, target, *, reduction="mean"):
    if target.min() < 0 or target.max() >= logits.shape[1]:
        raise ValueError("class index out of range")
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(len(target)), target])
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_CE_WRONG_AXIS = """
def cross_entropy(logits, target, *, reduction="mean"):
    if target.min() < 0 or target.max() >= logits.shape[1]:
        raise ValueError("class index out of range")
    m = logits.max(axis=0, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=0, keepdims=True))
    loss = -logp[np.arange(len(target)), target]
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_CE_NO_INDEX_CHECK = """
def cross_entropy(logits, target, *, reduction="mean"):
    m = logits.max(axis=1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(len(target)), target]
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_GRAD_FRAGILE = """
def cross_entropy_grad(logits, target, *, reduction="mean"):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(len(target)), target] -= 1
    return probs / len(target) if reduction == "mean" else probs
"""

_GRAD_NO_MEAN = """
def cross_entropy_grad(logits, target, *, reduction="mean"):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    grad = e / e.sum(axis=1, keepdims=True)
    grad[np.arange(len(target)), target] -= 1
    return grad
"""

_GRAD_ALWAYS_MEAN = """
def cross_entropy_grad(logits, target, *, reduction="mean"):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    grad = e / e.sum(axis=1, keepdims=True)
    grad[np.arange(len(target)), target] -= 1
    return grad / len(target)
"""

CASES: dict[str, list[Variant]] = {
    "binary_cross_entropy_with_logits": [
        Variant(
            "naive log(sigmoid)",
            _BCE_FRAGILE,
            fails=frozenset({"stability"}),
            says=("log(sigmoid(x)) underflows",),
        ),
        Variant(
            "clipped probabilities",
            _BCE_CLIPPED,
            fails=frozenset({"stability"}),
            says=("clipping probabilities caps it",),
        ),
        Variant(
            "pos_weight on the negatives",
            _BCE_POS_WEIGHT_ON_NEGATIVES,
            fails=frozenset({"params"}),
            says=("not the negatives",),
        ),
        Variant(
            "ignores reduction",
            _BCE_ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("you returned their mean",),
        ),
        Variant(
            "branches on the label",
            _BCE_BRANCH_ON_LABEL,
            fails=frozenset({"edge"}),
            says=("not a branch on y == 1",),
        ),
    ],
    "cross_entropy": [
        Variant(
            "no max subtracted",
            _CE_FRAGILE,
            fails=frozenset({"stability"}),
            says=("subtract each row's maximum",),
        ),
        Variant(
            "log of softmax",
            _CE_LOG_OF_SOFTMAX,
            fails=frozenset({"stability"}),
            says=("log(softmax) is log(0)",),
        ),
        Variant(
            "softmax over axis 0",
            _CE_WRONG_AXIS,
            fails=frozenset({"basic", "stability", "edge"}),
            says=("the softmax runs over the wrong axis",),
        ),
        Variant(
            "no class-index check",
            _CE_NO_INDEX_CHECK,
            fails=frozenset({"edge"}),
            says=("raise ValueError",),
        ),
    ],
    "cross_entropy_grad": [
        Variant(
            "no max subtracted",
            _GRAD_FRAGILE,
            fails=frozenset({"stability"}),
            says=("subtract each row's maximum",),
        ),
        Variant(
            "gradient of the sum",
            _GRAD_NO_MEAN,
            fails=frozenset({"basic", "stability", "edge"}),
            says=("off by a factor N",),
        ),
        Variant(
            "ignores reduction",
            _GRAD_ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("reduction='sum' does not divide by N",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["cross_entropy"].append(
    Variant(
        "calls torch (forbidden)",
        """
import torch
import torch.nn.functional as F

def cross_entropy(logits, target, *, reduction="mean"):
    if np.min(target) < 0 or np.max(target) >= logits.shape[1]:
        raise ValueError("class index out of range")
    return F.cross_entropy(torch.as_tensor(logits), torch.as_tensor(target), reduction=reduction)
""",
        fails=frozenset({"basic", "stability", "edge"}),
        says=("cross_entropy called torch.", "this exercise forbids lossutils, torch and sklearn"),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "binary_cross_entropy_with_logits": [
        Variant(
            "np.logaddexp",
            """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    w = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=float)
    each = w * y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "scipy.special.log_expit, a Python float",
            """
from scipy.special import log_expit

def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    w = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=float)
    each = -(w * y * log_expit(x) + (1 - y) * log_expit(-x))
    if reduction == "none":
        return each
    return float(each.sum() if reduction == "sum" else each.mean())
""",
        ),
        Variant(
            "torch's formula (1 - y) x + (1 + (w - 1) y)(log1p(exp(-|x|)) + max(-x, 0))",
            """
def binary_cross_entropy_with_logits(logits, target, *, pos_weight=None, reduction="mean"):
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    w = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=float)
    each = (1 - y) * x + (1 + (w - 1) * y) * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
    "cross_entropy": [
        Variant(
            "scipy.special.logsumexp, a 0-d array for 'sum'",
            """
from scipy.special import logsumexp

def cross_entropy(logits, target, *, reduction="mean"):
    x, t = np.asarray(logits, dtype=float), np.asarray(target)
    if t.min() < 0 or t.max() >= x.shape[1]:
        raise ValueError("class indices must lie in 0..C-1")
    each = logsumexp(x, axis=1) - x[np.arange(len(t)), t]
    if reduction == "sum":
        return np.array(each.sum())
    return each.mean() if reduction == "mean" else each
""",
        ),
        Variant(
            "np.take_along_axis with an np.isin check",
            """
def cross_entropy(logits, target, *, reduction="mean"):
    x, t = np.asarray(logits, dtype=float), np.asarray(target)
    if not np.all(np.isin(t, np.arange(x.shape[1]))):
        raise ValueError("class indices must lie in 0..C-1")
    m = x.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(x - m).sum(axis=1))
    each = lse - np.take_along_axis(x, t[:, None], axis=1)[:, 0]
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
    "cross_entropy_grad": [
        Variant(
            "scipy.special.softmax minus one-hot",
            """
from scipy.special import softmax

def cross_entropy_grad(logits, target, *, reduction="mean"):
    x, t = np.asarray(logits, dtype=float), np.asarray(target)
    grad = softmax(x, axis=1) - np.eye(x.shape[1])[t]
    return grad / len(t) if reduction == "mean" else grad
""",
        ),
        Variant(
            "exp(x - logsumexp) minus eye[t]",
            """
def cross_entropy_grad(logits, target, *, reduction="mean"):
    x, t = np.asarray(logits, dtype=float), np.asarray(target)
    m = x.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    grad = np.exp(x - lse) - np.eye(x.shape[1])[t]
    return grad / len(t) if reduction == "mean" else grad
""",
        ),
    ],
}
