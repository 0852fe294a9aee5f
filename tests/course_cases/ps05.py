"""Known-wrong answers to ps05_hinge and the parts each must lose.

The hinge losses are piecewise linear and have no numerical trap, so ps05 has no "stability" part
and no fragile variant; partial credit comes from the label, margin and gradient parts.
"""

from tests.course_cases import Variant

_HINGE_NO_CLAMP = """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    if not np.all(np.abs(target) == 1):
        raise ValueError("labels must be -1 or +1")
    loss = margin - target * scores
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_HINGE_ZERO_ONE_LABELS = """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    loss = np.maximum(0.0, margin - target * scores)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_HINGE_ALWAYS_RAISES = """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    raise ValueError("labels must be -1 or +1")
"""

_HINGE_MARGIN_ONE = """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    if not np.all(np.abs(target) == 1):
        raise ValueError("labels must be -1 or +1")
    loss = np.maximum(0.0, 1.0 - target * scores)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_HINGE_ALWAYS_MEAN = """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    if not np.all(np.abs(target) == 1):
        raise ValueError("labels must be -1 or +1")
    return np.maximum(0.0, margin - target * scores).mean()
"""

_MC_WITH_TRUE_CLASS = """
def multiclass_hinge(scores, target, *, margin=1.0, reduction="mean"):
    s_y = scores[np.arange(len(target)), target][:, None]
    loss = np.maximum(0.0, scores - s_y + margin).sum(axis=1)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_MC_MEAN_OVER_CLASSES = """
def multiclass_hinge(scores, target, *, margin=1.0, reduction="mean"):
    rows = np.arange(len(target))
    z = np.maximum(0.0, scores - scores[rows, target][:, None] + margin)
    z[rows, target] = 0.0
    loss = z.mean(axis=1)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_MC_MARGIN_ONE = """
def multiclass_hinge(scores, target, *, margin=1.0, reduction="mean"):
    rows = np.arange(len(target))
    z = np.maximum(0.0, scores - scores[rows, target][:, None] + 1.0)
    z[rows, target] = 0.0
    loss = z.sum(axis=1)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_GRAD_NO_MEAN = """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    n, c = scores.shape
    grad = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            if j != target[i] and scores[i, j] - scores[i, target[i]] + margin > 0:
                grad[i, j] += 1.0
                grad[i, target[i]] -= 1.0
    return grad
"""

_GRAD_NO_TRUE_COLUMN = """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    rows = np.arange(len(target))
    v = (scores - scores[rows, target][:, None] + margin > 0).astype(float)
    v[rows, target] = 0.0
    return v / len(target) if reduction == "mean" else v
"""

_GRAD_ALWAYS_MEAN = """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    rows = np.arange(len(target))
    g = (scores - scores[rows, target][:, None] + margin > 0).astype(float)
    g[rows, target] = 0.0
    g[rows, target] = -g.sum(axis=1)
    return g / len(target)
"""

_GRAD_MARGIN_ONE = """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    rows = np.arange(len(target))
    g = (scores - scores[rows, target][:, None] + 1.0 > 0).astype(float)
    g[rows, target] = 0.0
    g[rows, target] = -g.sum(axis=1)
    return g / len(target) if reduction == "mean" else g
"""

CASES: dict[str, list[Variant]] = {
    "hinge": [
        Variant(
            "no max(0, .)", _HINGE_NO_CLAMP, fails=frozenset({"basic", "edge", "labels", "params"})
        ),
        Variant(
            "always raises ValueError",
            _HINGE_ALWAYS_RAISES,
            fails=frozenset({"basic", "edge", "labels", "params"}),
        ),
        Variant("accepts {0, 1} labels", _HINGE_ZERO_ONE_LABELS, fails=frozenset({"labels"})),
        Variant("margin fixed at 1", _HINGE_MARGIN_ONE, fails=frozenset({"params"})),
        Variant("ignores reduction", _HINGE_ALWAYS_MEAN, fails=frozenset({"edge"})),
    ],
    "multiclass_hinge": [
        Variant(
            "includes the j = y term",
            _MC_WITH_TRUE_CLASS,
            fails=frozenset({"basic", "edge", "params"}),
        ),
        Variant(
            "averages over classes",
            _MC_MEAN_OVER_CLASSES,
            fails=frozenset({"basic", "edge", "params"}),
        ),
        Variant("margin fixed at 1", _MC_MARGIN_ONE, fails=frozenset({"params"})),
    ],
    "multiclass_hinge_grad": [
        Variant("loop without / N", _GRAD_NO_MEAN, fails=frozenset({"basic", "edge", "grad"})),
        Variant(
            "no true-class column", _GRAD_NO_TRUE_COLUMN, fails=frozenset({"basic", "edge", "grad"})
        ),
        Variant("ignores reduction", _GRAD_ALWAYS_MEAN, fails=frozenset({"edge"})),
        Variant("margin fixed at 1", _GRAD_MARGIN_ONE, fails=frozenset({"grad"})),
    ],
}
