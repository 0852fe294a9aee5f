"""Known-wrong and fragile answers to ps07_custom and the parts each must lose."""

from tests.course_cases import Variant

_AMAE_SQRT_SQUARE = """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    w = np.where(pred < target, under_weight, over_weight)
    loss = w * np.sqrt((target - pred) ** 2)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_AMAE_SWAPPED = """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = pred - target
    loss = np.where(u > 0, under_weight * u, -over_weight * u)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_AMAE_DEFAULT_WEIGHTS = """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = target - pred
    loss = np.where(u > 0, 2.0 * u, -u)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_AMAE_ALWAYS_MEAN = """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = target - pred
    return np.where(u > 0, under_weight * u, -over_weight * u).mean()
"""

_FUNC_HEAD = """
import torch


class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight=2.0, over_weight=1.0):
        u = target - pred
        under = u > 0
        ctx.save_for_backward(under)
        ctx.weights = (under_weight, over_weight)
        return torch.where(under, under_weight * u, -over_weight * u).{reduce}()

    @staticmethod
    def backward(ctx, grad_output):
        (under,) = ctx.saved_tensors
        uw, ow = ctx.weights
        n = under.numel()
        under = under.to(grad_output.dtype)
"""


def _function(backward_body: str, reduce: str = "mean") -> str:
    return _FUNC_HEAD.replace("{reduce}", reduce) + backward_body


_FUNC_WRONG_SIGN = _function("""
        g = grad_output * ((uw + ow) * under - ow) / n
        return g, -g, None, None
""")

_FUNC_NO_MEAN = _function("""
        g = grad_output * (ow - (uw + ow) * under)
        return g, -g, None, None
""")

_FUNC_NO_WEIGHTS = _function("""
        g = grad_output * (1.0 - 2.0 * under) / n
        return g, -g, None, None
""")

_FUNC_NO_GRAD_OUTPUT = _function("""
        g = (ow - (uw + ow) * under) / n
        return g, -g, None, None
""")

_FUNC_NO_TARGET_GRAD = _function("""
        g = grad_output * (ow - (uw + ow) * under) / n
        return g, None, None, None
""")

_FUNC_SUM = _function(
    """
        g = grad_output * (ow - (uw + ow) * under)
        return g, -g, None, None
""",
    reduce="sum",
)

CASES: dict[str, list[Variant]] = {
    "asymmetric_mae": [
        Variant("square root of a square", _AMAE_SQRT_SQUARE, fails=frozenset({"stability"})),
        Variant(
            "weights swapped",
            _AMAE_SWAPPED,
            fails=frozenset({"basic", "edge", "stability", "params"}),
        ),
        # the 1e13 stability check uses weights (1.7, 0.6): a multiple of 2 would hide the cancellation
        Variant(
            "weights fixed at (2, 1)",
            _AMAE_DEFAULT_WEIGHTS,
            fails=frozenset({"stability", "params"}),
        ),
        Variant("ignores reduction", _AMAE_ALWAYS_MEAN, fails=frozenset({"edge"})),
    ],
    "AsymmetricMAEFunction": [
        Variant(
            "backward with the wrong sign", _FUNC_WRONG_SIGN, fails=frozenset({"grad", "chain"})
        ),
        Variant("backward without 1 / N", _FUNC_NO_MEAN, fails=frozenset({"grad", "chain"})),
        Variant("backward without weights", _FUNC_NO_WEIGHTS, fails=frozenset({"grad", "chain"})),
        Variant("ignores grad_output", _FUNC_NO_GRAD_OUTPUT, fails=frozenset({"chain"})),
        Variant("no gradient for target", _FUNC_NO_TARGET_GRAD, fails=frozenset({"chain"})),
        Variant(
            "forward returns the sum",
            _FUNC_SUM,
            fails=frozenset({"forward", "grad", "chain"}),
        ),
    ],
}
