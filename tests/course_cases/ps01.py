"""Known-wrong and fragile implementations for ps01_regression."""

from . import Variant

_REDUCE = """
def _reduce(values, reduction):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
"""

CASES: dict[str, list[Variant]] = {
    "mse": [
        Variant(
            "sum instead of mean",
            """
def mse(pred, target, *, reduction="mean"):
    sq = (pred - target) ** 2
    if reduction == "none":
        return sq
    return sq.sum()
""",
            fails=frozenset({"basic", "edge"}),
            says=("you returned the sum",),
        ),
        Variant(
            "ignores reduction",
            """
def mse(pred, target, *, reduction="mean"):
    return np.mean((pred - target) ** 2)
""",
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
        Variant(
            "expanded square cancels for large inputs (fragile)",
            _REDUCE
            + """
def mse(pred, target, *, reduction="mean"):
    return _reduce(pred**2 - 2 * pred * target + target**2, reduction)
""",
            fails=frozenset({"stability"}),
            says=("for the same residuals near 0", "compute the residual u = target - pred first"),
        ),
    ],
    "mae": [
        Variant(
            "signed residuals",
            _REDUCE
            + """
def mae(pred, target, *, reduction="mean"):
    return _reduce(pred - target, reduction)
""",
            fails=frozenset({"basic", "edge", "stability"}),
            says=("you averaged the signed residuals",),
        ),
        Variant(
            "ignores reduction",
            """
def mae(pred, target, *, reduction="mean"):
    return np.abs(pred - target).mean()
""",
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
        Variant(
            "square root of the square overflows (fragile)",
            _REDUCE
            + """
def mae(pred, target, *, reduction="mean"):
    return _reduce(np.sqrt((pred - target) ** 2), reduction)
""",
            fails=frozenset({"stability"}),
            says=("a residual of 1e200 squared overflows",),
        ),
    ],
    "huber": [
        Variant(
            "smooth-L1 scaling",
            _REDUCE
            + """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.abs(pred - target)
    return _reduce(np.where(a < delta, 0.5 * a**2 / delta, a - 0.5 * delta), reduction)
""",
            fails=frozenset({"params"}),
            says=("you computed smooth-L1",),
        ),
        Variant(
            "ignores delta",
            _REDUCE
            + """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.abs(pred - target)
    return _reduce(np.where(a <= 1.0, 0.5 * a**2, a - 0.5), reduction)
""",
            fails=frozenset({"params"}),
            says=("the Huber loss for delta = 1",),
        ),
        Variant(
            "quadratic part without the 1/2",
            _REDUCE
            + """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.abs(pred - target)
    return _reduce(np.where(a <= delta, a**2, delta * (a - 0.5 * delta)), reduction)
""",
            fails=frozenset({"basic", "edge", "params"}),
            says=("you dropped the 1/2",),
        ),
        Variant(
            "difference of squares cancels (fragile)",
            _REDUCE
            + """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    u = pred - target
    excess = np.maximum(np.abs(u) - delta, 0.0)
    return _reduce(0.5 * u**2 - 0.5 * excess**2, reduction)
""",
            fails=frozenset({"stability"}),
            says=("the linear branch",),
        ),
    ],
    "quantile": [
        Variant(
            "residual sign swapped (u = pred - target)",
            _REDUCE
            + """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = pred - target
    return _reduce(np.maximum(q * u, (q - 1) * u), reduction)
""",
            fails=frozenset({"basic", "params"}),
            says=("you used u = pred - target",),
        ),
        Variant(
            "ignores reduction",
            """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = target - pred
    return np.maximum(q * u, (q - 1) * u).mean()
""",
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
        Variant(
            "scales before subtracting (fragile)",
            _REDUCE
            + """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    return _reduce(np.maximum(q * target - q * pred, (q - 1) * target - (q - 1) * pred), reduction)
""",
            fails=frozenset({"stability"}),
            says=("for the same residuals near 0", "compute the residual u = target - pred first"),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["mse"].append(
    Variant(
        "divides by the number of rows (len) on 2-D inputs",
        """
def mse(pred, target, *, reduction="mean"):
    sq = (pred - target) ** 2
    if reduction == "none":
        return sq
    if reduction == "sum":
        return sq.sum()
    return sq.sum() / len(np.atleast_1d(sq))
""",
        fails=frozenset({"edge"}),
        says=("you divided by the number of rows (len)",),
    )
)
CASES["quantile"].append(
    Variant(
        "ignores q",
        _REDUCE
        + """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = target - pred
    return _reduce(np.maximum(0.5 * u, -0.5 * u), reduction)
""",
        fails=frozenset({"basic", "params"}),
        says=("your result is the loss for q = 0.5: use the `q` argument",),
    )
)
CASES["huber"].append(
    Variant(
        "calls torch (forbidden)",
        """
import torch

def huber(pred, target, *, delta=1.0, reduction="mean"):
    loss = torch.nn.functional.huber_loss(
        torch.as_tensor(pred), torch.as_tensor(target), delta=delta, reduction=reduction
    )
    return loss.numpy()
""",
        fails=frozenset({"basic", "edge", "stability", "params"}),
        says=("huber called torch.", "this exercise forbids lossutils, torch and sklearn"),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "mse": [
        Variant(
            "pure-Python loop with math.fsum, a Python float",
            """
import math

def mse(pred, target, *, reduction="mean"):
    p, t = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    each = np.array([(b - a) ** 2 for a, b in zip(p.ravel(), t.ravel())]).reshape(p.shape)
    if reduction == "none":
        return each
    total = math.fsum(each.ravel())
    return float(total if reduction == "sum" else total / each.size)
""",
        ),
        Variant(
            "np.square(np.subtract(...)) with np.average, a 0-d array",
            """
def mse(pred, target, *, reduction="mean"):
    each = np.square(np.subtract(target, pred))
    if reduction == "none":
        return each
    return np.array(np.sum(each) if reduction == "sum" else np.average(each))
""",
        ),
        Variant(
            "keeps float32 end to end",
            """
def mse(pred, target, *, reduction="mean"):
    u = target - pred
    each = u * u
    return {"mean": each.mean(dtype=each.dtype), "sum": each.sum(dtype=each.dtype)}.get(
        reduction, each
    )
""",
        ),
    ],
    "mae": [
        Variant(
            "np.fabs and a Python float",
            """
def mae(pred, target, *, reduction="mean"):
    each = np.fabs(np.asarray(target, dtype=float) - np.asarray(pred, dtype=float))
    if reduction == "none":
        return each
    return float(each.sum() if reduction == "sum" else each.mean())
""",
        ),
    ],
    "huber": [
        Variant(
            "np.where with an overflowing unused branch",
            """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.abs(np.asarray(target, dtype=float) - np.asarray(pred, dtype=float))
    each = np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "boolean-mask assignment",
            """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.atleast_1d(np.abs(np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)))
    each = delta * (a - 0.5 * delta)
    small = a <= delta
    each[small] = 0.5 * a[small] ** 2
    each = each.reshape(np.shape(pred))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
    "quantile": [
        Variant(
            "0.5 |u| + (q - 0.5) u",
            """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    each = 0.5 * np.abs(u) + (q - 0.5) * u
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "u * (q - [u < 0])",
            """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    each = u * (q - (u < 0))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "q max(u, 0) + (1 - q) max(-u, 0)",
            """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    each = q * np.maximum(u, 0) + (1 - q) * np.maximum(-u, 0)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
}
