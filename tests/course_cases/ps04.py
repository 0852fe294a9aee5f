"""Known-wrong answers to ps04_focal and the parts each must lose."""

from tests.course_cases import Variant

_CHECKED_REDUCTION = """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"unknown reduction {reduction!r}")
"""

_NAIVE_LOG = (
    """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
"""
    + _CHECKED_REDUCTION
    + """
    p = 1.0 / (1.0 + np.exp(-logits))
    p_t = p * target + (1 - p) * (1 - target)
    loss = -(1 - p_t) ** gamma * np.log(p_t)
    if alpha is not None:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""
)


def _stable(body: str, signature: str = 'alpha=0.25, gamma=2.0, reduction="mean"') -> str:
    """A stable focal loss whose weighting lines are ``body`` (uses p, ce, target, alpha, gamma)."""
    return f"""
def sigmoid_focal_loss(logits, target, *, {signature}):
{_CHECKED_REDUCTION}
    ce = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    e = np.exp(-np.abs(logits))
    p = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
{body}
    return {{"mean": loss.mean(), "sum": loss.sum()}}.get(reduction, loss)
"""


_GAMMA_FIXED = _stable("""
    loss = (1 - (p * target + (1 - p) * (1 - target))) ** 2 * ce
    if alpha is not None:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
""")

_ALPHA_NONE_CRASHES = _stable("""
    loss = (1 - (p * target + (1 - p) * (1 - target))) ** gamma * ce
    loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
""")

_ONE_MINUS_P = _stable("""
    loss = (1 - p) ** gamma * ce
    if alpha is not None:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
""")

_ALWAYS_MEAN = """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    ce = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    e = np.exp(-np.abs(logits))
    p = np.where(logits >= 0, 1 / (1 + e), e / (1 + e))
    loss = (1 - (p * target + (1 - p) * (1 - target))) ** gamma * ce
    if alpha is not None:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return loss.mean()
"""

CASES: dict[str, list[Variant]] = {
    "sigmoid_focal_loss": [
        Variant(
            "naive log(sigmoid)",
            _NAIVE_LOG,
            fails=frozenset({"stability"}),
            says=("instead of log(sigmoid(x))",),
        ),
        Variant(
            "gamma fixed at 2",
            _GAMMA_FIXED,
            fails=frozenset({"params"}),
            says=("the loss for gamma = 2",),
        ),
        Variant(
            "alpha=None crashes",
            _ALPHA_NONE_CRASHES,
            fails=frozenset({"params"}),
            says=("alpha=None",),
        ),
        Variant(
            "ignores reduction",
            _ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
        Variant(
            "(1 - p) instead of (1 - p_t)",
            _ONE_MINUS_P,
            fails=frozenset({"basic", "params", "stability", "edge"}),
            says=("not (1 - p)**gamma",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["sigmoid_focal_loss"] += [
    Variant(
        "alpha fixed at 0.25",
        """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(reduction)
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    ce = y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
    p = np.exp(-np.logaddexp(0, -x))
    p_t = p * y + (1 - p) * (1 - y)
    each = (0.25 * y + 0.75 * (1 - y)) * (1 - p_t) ** gamma * ce
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        fails=frozenset({"params"}),
        says=("the loss for alpha = 0.25",),
    ),
    Variant(
        "calls lossutils (forbidden)",
        """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    import lossutils

    return lossutils.sigmoid_focal_loss(logits, target, alpha=alpha, gamma=gamma,
                                        reduction=reduction)
""",
        fails=frozenset({"basic", "params", "stability", "edge"}),
        says=(
            "sigmoid_focal_loss called lossutils.focal.sigmoid_focal_loss",
            "this exercise forbids lossutils, torch and sklearn",
        ),
    ),
]

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "sigmoid_focal_loss": [
        Variant(
            "1 - p_t = -expm1(-ce), ce by np.logaddexp",
            """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"unknown reduction {reduction!r}")
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    ce = y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x)
    each = (-np.expm1(-ce)) ** gamma * ce
    if alpha is not None:
        each = each * (alpha * y + (1 - alpha) * (1 - y))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "scipy.special.expit and log_expit",
            """
from scipy.special import expit, log_expit

def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"unknown reduction {reduction!r}")
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    ce = -(y * log_expit(x) + (1 - y) * log_expit(-x))
    p = expit(x)
    each = (p * (1 - y) + (1 - p) * y) ** gamma * ce
    if alpha is not None:
        each = each * (alpha * y + (1 - alpha) * (1 - y))
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "signed form z = (2y - 1) x",
            """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"unknown reduction {reduction!r}")
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    z = (2 * y - 1) * x
    ce = np.logaddexp(0.0, -z)
    each = np.exp(-np.logaddexp(0.0, z)) ** gamma * ce
    if alpha is not None:
        each = each * np.where(y == 1, alpha, 1 - alpha)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
}
