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
        Variant("naive log(sigmoid)", _BCE_FRAGILE, fails=frozenset({"stability"})),
        Variant("clipped probabilities", _BCE_CLIPPED, fails=frozenset({"stability"})),
        Variant(
            "pos_weight on the negatives", _BCE_POS_WEIGHT_ON_NEGATIVES, fails=frozenset({"params"})
        ),
        Variant("ignores reduction", _BCE_ALWAYS_MEAN, fails=frozenset({"edge"})),
        Variant("branches on the label", _BCE_BRANCH_ON_LABEL, fails=frozenset({"edge"})),
    ],
    "cross_entropy": [
        Variant("no max subtracted", _CE_FRAGILE, fails=frozenset({"stability"})),
        Variant("log of softmax", _CE_LOG_OF_SOFTMAX, fails=frozenset({"stability"})),
        Variant(
            "softmax over axis 0", _CE_WRONG_AXIS, fails=frozenset({"basic", "stability", "edge"})
        ),
        Variant("no class-index check", _CE_NO_INDEX_CHECK, fails=frozenset({"edge"})),
    ],
    "cross_entropy_grad": [
        Variant("no max subtracted", _GRAD_FRAGILE, fails=frozenset({"stability"})),
        Variant(
            "gradient of the sum", _GRAD_NO_MEAN, fails=frozenset({"basic", "stability", "edge"})
        ),
        Variant("ignores reduction", _GRAD_ALWAYS_MEAN, fails=frozenset({"edge"})),
    ],
}
