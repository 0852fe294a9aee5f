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
            "no max(0, .)",
            _HINGE_NO_CLAMP,
            fails=frozenset({"basic", "edge", "labels", "params"}),
            says=("you left out the max(0, .)",),
        ),
        Variant(
            "always raises ValueError",
            _HINGE_ALWAYS_RAISES,
            fails=frozenset({"basic", "edge", "labels", "params"}),
            says=("hinge raised ValueError",),
        ),
        Variant(
            "accepts {0, 1} labels",
            _HINGE_ZERO_ONE_LABELS,
            fails=frozenset({"labels"}),
            says=("labels in {0, 1}", "no ValueError was raised"),
        ),
        Variant(
            "margin fixed at 1",
            _HINGE_MARGIN_ONE,
            fails=frozenset({"params"}),
            says=("the loss for margin = 1",),
        ),
        Variant(
            "ignores reduction",
            _HINGE_ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
    ],
    "multiclass_hinge": [
        Variant(
            "includes the j = y term",
            _MC_WITH_TRUE_CLASS,
            fails=frozenset({"basic", "edge", "params"}),
            says=("you included the term j = y",),
        ),
        Variant(
            "averages over classes",
            _MC_MEAN_OVER_CLASSES,
            fails=frozenset({"basic", "edge", "params"}),
            says=("you averaged over the classes",),
        ),
        Variant(
            "margin fixed at 1",
            _MC_MARGIN_ONE,
            fails=frozenset({"params"}),
            says=("the loss for margin = 1",),
        ),
    ],
    "multiclass_hinge_grad": [
        Variant(
            "loop without / N",
            _GRAD_NO_MEAN,
            fails=frozenset({"basic", "edge", "grad"}),
            says=("you forgot to divide by N",),
        ),
        Variant(
            "no true-class column",
            _GRAD_NO_TRUE_COLUMN,
            fails=frozenset({"basic", "edge", "grad"}),
            says=("the true-class column is missing",),
        ),
        Variant(
            "ignores reduction",
            _GRAD_ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("reduction='sum' does not average",),
        ),
        Variant(
            "margin fixed at 1",
            _GRAD_MARGIN_ONE,
            fails=frozenset({"grad"}),
            says=("the one for margin = 1",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["multiclass_hinge_grad"].append(
    Variant(
        "counts the true class as a violation of itself",
        """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    n = scores.shape[0]
    rows = np.arange(n)
    v = (scores - scores[rows, target][:, None] + margin > 0).astype(float)
    grad = v.copy()
    grad[rows, target] = -v.sum(axis=1)  # v[rows, target] is 1 (margin > 0): one too many
    return grad / n if reduction == "mean" else grad
""",
        fails=frozenset({"basic", "edge", "grad"}),
        says=("you counted j = y as a violation",),
    )
)
CASES["hinge"].append(
    Variant(
        "imports lossutils' hinge (forbidden)",
        "from lossutils import hinge\n",
        fails=frozenset({"basic", "edge", "labels", "params"}),
        says=("hinge called lossutils.", "this exercise forbids lossutils, torch and sklearn"),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "hinge": [
        Variant(
            "np.clip with an np.isin label check",
            """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    s, y = np.asarray(scores, dtype=float), np.asarray(target, dtype=float)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("labels must be -1 or +1: map {0, 1} with 2 * y - 1")
    each = np.clip(margin - y * s, 0, None)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "np.ndindex loop, a Python float",
            """
def hinge(scores, target, *, margin=1.0, reduction="mean"):
    s, y = np.asarray(scores, dtype=float), np.asarray(target, dtype=float)
    each = np.zeros_like(s)
    for idx in np.ndindex(*s.shape):
        if y[idx] not in (-1.0, 1.0):
            raise ValueError("labels must be -1 or +1: map {0, 1} with 2 * y - 1")
        each[idx] = max(0.0, margin - y[idx] * s[idx])
    if reduction == "none":
        return each
    return float(each.sum() if reduction == "sum" else each.mean())
""",
        ),
    ],
    "multiclass_hinge": [
        Variant(
            "CS231n trick: sum including j = y, then subtract the margin",
            """
def multiclass_hinge(scores, target, *, margin=1.0, reduction="mean"):
    s, t = np.asarray(scores, dtype=float), np.asarray(target)
    rows = np.arange(len(t))
    each = np.maximum(0.0, s - s[rows, t][:, None] + margin).sum(axis=1) - margin
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "double loop",
            """
def multiclass_hinge(scores, target, *, margin=1.0, reduction="mean"):
    s, t = np.asarray(scores, dtype=float), np.asarray(target)
    each = np.zeros(s.shape[0])
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            if j != t[i]:
                each[i] += max(0.0, s[i, j] - s[i, t[i]] + margin)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
    "multiclass_hinge_grad": [
        Variant(
            "CS231n double loop",
            """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    s, t = np.asarray(scores, dtype=float), np.asarray(target)
    grad = np.zeros_like(s)
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            if j != t[i] and s[i, j] - s[i, t[i]] + margin > 0:
                grad[i, j] += 1.0
                grad[i, t[i]] -= 1.0
    return grad / s.shape[0] if reduction == "mean" else grad
""",
        ),
        Variant(
            "CS231n vectorised, in-place / N on its own array",
            """
def multiclass_hinge_grad(scores, target, *, margin=1.0, reduction="mean"):
    s, t = np.asarray(scores, dtype=float), np.asarray(target)
    rows = np.arange(s.shape[0])
    binary = (s - s[rows, t][:, None] + margin > 0).astype(float)
    binary[rows, t] = 0.0
    binary[rows, t] = -binary.sum(axis=1)
    if reduction == "mean":
        binary /= s.shape[0]
    return binary
""",
        ),
    ],
}
