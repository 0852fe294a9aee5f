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
            fails=frozenset({"basic", "edge", "stability"}),
        ),
        Variant(
            "ignores reduction",
            """
def mse(pred, target, *, reduction="mean"):
    return np.mean((pred - target) ** 2)
""",
            fails=frozenset({"edge"}),
        ),
        Variant(
            "expanded square cancels for large inputs (fragile)",
            _REDUCE
            + """
def mse(pred, target, *, reduction="mean"):
    return _reduce(pred**2 - 2 * pred * target + target**2, reduction)
""",
            fails=frozenset({"stability"}),
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
        ),
        Variant(
            "ignores reduction",
            """
def mae(pred, target, *, reduction="mean"):
    return np.abs(pred - target).mean()
""",
            fails=frozenset({"edge"}),
        ),
        Variant(
            "square root of the square overflows (fragile)",
            _REDUCE
            + """
def mae(pred, target, *, reduction="mean"):
    return _reduce(np.sqrt((pred - target) ** 2), reduction)
""",
            fails=frozenset({"stability"}),
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
        ),
        Variant(
            "quadratic part without the 1/2",
            _REDUCE
            + """
def huber(pred, target, *, delta=1.0, reduction="mean"):
    a = np.abs(pred - target)
    return _reduce(np.where(a <= delta, a**2, delta * (a - 0.5 * delta)), reduction)
""",
            fails=frozenset({"basic", "edge", "stability", "params"}),
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
            fails=frozenset({"edge", "stability", "params"}),
        ),
        Variant(
            "ignores reduction",
            """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    u = target - pred
    return np.maximum(q * u, (q - 1) * u).mean()
""",
            fails=frozenset({"edge"}),
        ),
        Variant(
            "scales before subtracting (fragile)",
            _REDUCE
            + """
def quantile(pred, target, *, q=0.5, reduction="mean"):
    return _reduce(np.maximum(q * target - q * pred, (q - 1) * target - (q - 1) * pred), reduction)
""",
            fails=frozenset({"stability"}),
        ),
    ],
}
