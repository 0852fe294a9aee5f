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
        Variant(
            "square root of a square",
            _AMAE_SQRT_SQUARE,
            fails=frozenset({"stability"}),
            says=("squared overflows",),
        ),
        Variant(
            "weights swapped",
            _AMAE_SWAPPED,
            fails=frozenset({"basic", "edge", "stability", "params"}),
            says=("the weights are swapped",),
        ),
        # costs params only: the stability checks compare the function with itself (near 1e13 and
        # near 0, float32 and float64), so a wrong formula is charged where the formula is tested
        Variant(
            "weights fixed at (2, 1)",
            _AMAE_DEFAULT_WEIGHTS,
            fails=frozenset({"params"}),
            says=("the loss for the default weights (2, 1)",),
        ),
        Variant(
            "ignores reduction",
            _AMAE_ALWAYS_MEAN,
            fails=frozenset({"edge"}),
            says=("you returned the mean; reduction='sum'",),
        ),
    ],
    "AsymmetricMAEFunction": [
        Variant(
            "backward with the wrong sign",
            _FUNC_WRONG_SIGN,
            fails=frozenset({"grad", "chain"}),
            says=("the sign is flipped",),
        ),
        Variant(
            "backward without 1 / N",
            _FUNC_NO_MEAN,
            fails=frozenset({"grad", "chain"}),
            says=("you forgot to divide by N",),
        ),
        Variant(
            "backward without weights",
            _FUNC_NO_WEIGHTS,
            fails=frozenset({"grad", "chain"}),
            says=("the weights are missing from backward",),
        ),
        Variant(
            "ignores grad_output",
            _FUNC_NO_GRAD_OUTPUT,
            fails=frozenset({"chain"}),
            says=("you ignored grad_output",),
        ),
        Variant(
            "no gradient for target",
            _FUNC_NO_TARGET_GRAD,
            fails=frozenset({"chain"}),
            says=("backward returned no gradient for target",),
        ),
        Variant(
            "forward returns the sum",
            _FUNC_SUM,
            fails=frozenset({"forward", "grad", "chain"}),
            says=("you returned the sum",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["asymmetric_mae"] += [
    Variant(
        "rejects a zero weight",
        """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    if under_weight <= 0 or over_weight <= 0:
        raise ValueError("weights must be positive")
    u = target - pred
    each = np.where(u > 0, under_weight * u, -over_weight * u)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        fails=frozenset({"params"}),
        says=("asymmetric_mae raised ValueError: weights must be positive", "over_weight=0.0"),
    ),
    Variant(
        "calls torch (forbidden)",
        """
import torch

def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = torch.as_tensor(np.asarray(target, dtype=float) - np.asarray(pred, dtype=float))
    each = torch.where(u > 0, under_weight * u, -over_weight * u).numpy()
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        fails=frozenset({"basic", "edge", "stability", "params"}),
        says=("asymmetric_mae called torch.", "this exercise forbids lossutils, torch and sklearn"),
    ),
]
CASES["AsymmetricMAEFunction"].append(
    Variant(
        "forward calls lossutils (forbidden in part 2 too)",
        """
import torch
import lossutils


class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight=2.0, over_weight=1.0):
        ctx.save_for_backward(target - pred > 0)
        ctx.weights = (under_weight, over_weight)
        return lossutils.asymmetric_mae(pred, target, under_weight=under_weight,
                                        over_weight=over_weight)

    @staticmethod
    def backward(ctx, grad_output):
        (under,) = ctx.saved_tensors
        uw, ow = ctx.weights
        g = grad_output * (ow - (uw + ow) * under.double()) / under.numel()
        return g, -g, None, None
""",
        fails=frozenset({"forward", "grad", "chain"}),
        says=("called lossutils.", "this exercise forbids lossutils and sklearn:"),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "asymmetric_mae": [
        Variant(
            "np.maximum(w_u u, -w_o u)",
            """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    each = np.maximum(under_weight * u, -over_weight * u)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "(w_u + w_o) times the pinball loss at q = w_u / (w_u + w_o)",
            """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    total = under_weight + over_weight
    q = under_weight / total if total else 0.5
    each = total * np.maximum(q * u, (q - 1) * u)
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "w_u max(u, 0) + w_o max(-u, 0), a Python float",
            """
def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    u = np.asarray(target, dtype=float) - np.asarray(pred, dtype=float)
    each = under_weight * np.maximum(u, 0) + over_weight * np.maximum(-u, 0)
    if reduction == "none":
        return each
    return float(each.sum() if reduction == "sum" else each.mean())
""",
        ),
    ],
    "AsymmetricMAEFunction": [
        Variant(
            "clamp in forward, needs_input_grad in backward",
            """
import torch


class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight=2.0, over_weight=1.0):
        u = target - pred
        ctx.save_for_backward(u)
        ctx.weights = (under_weight, over_weight)
        return (under_weight * u.clamp(min=0) + over_weight * (-u).clamp(min=0)).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        uw, ow = ctx.weights
        slope = torch.where(u > 0, -uw * torch.ones_like(u), ow * torch.ones_like(u)) / u.numel()
        grad_pred = grad_output * slope if ctx.needs_input_grad[0] else None
        grad_target = -grad_output * slope if ctx.needs_input_grad[1] else None
        return grad_pred, grad_target, None, None
""",
        ),
        Variant(
            "torch >= 2 setup_context style",
            """
import torch


class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(pred, target, under_weight=2.0, over_weight=1.0):
        u = target - pred
        return torch.where(u > 0, under_weight * u, -over_weight * u).mean()

    @staticmethod
    def setup_context(ctx, inputs, output):
        pred, target, uw, ow = inputs
        ctx.save_for_backward(target - pred > 0)
        ctx.weights = (uw, ow)

    @staticmethod
    def backward(ctx, grad_output):
        (under,) = ctx.saved_tensors
        uw, ow = ctx.weights
        g = grad_output * torch.where(under, -uw, ow).to(grad_output.dtype) / under.numel()
        return g, -g, None, None
""",
        ),
    ],
}
