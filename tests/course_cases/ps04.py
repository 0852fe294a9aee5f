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
        Variant("naive log(sigmoid)", _NAIVE_LOG, fails=frozenset({"stability"})),
        Variant("gamma fixed at 2", _GAMMA_FIXED, fails=frozenset({"params"})),
        Variant("alpha=None crashes", _ALPHA_NONE_CRASHES, fails=frozenset({"params"})),
        Variant("ignores reduction", _ALWAYS_MEAN, fails=frozenset({"edge"})),
        Variant(
            "(1 - p) instead of (1 - p_t)",
            _ONE_MINUS_P,
            fails=frozenset({"basic", "params", "stability", "edge"}),
        ),
    ],
}
