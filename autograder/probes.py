"""Probes: trusted code that exercises a student object where the object lives.

Most checks just call the student's function. Some exercises hand in something richer (a
``torch.autograd.Function`` subclass), and the check needs a few steps with it: build tensors,
call ``apply``, run ``backward``, read ``.grad``. A probe does those steps and returns plain
arrays. When grading, probes run inside the sandbox next to the student's code and only their
results come back; the comparison with the reference always happens in the grader.
"""

from __future__ import annotations

from autograder.core import Fail


def autograd_function(
    fn, pred, target, uw, ow, *, want: str = "value", upstream=1.0, target_grad=False
):
    """``fn.apply(pred, target, uw, ow)`` on float64 tensors, then the value or a gradient.

    ``want`` is "value", "pred_grad" or "target_grad"; backward runs on ``upstream * loss``.
    """
    import torch

    if not (isinstance(fn, type) and issubclass(fn, torch.autograd.Function)):
        raise Fail(f"expected a subclass of torch.autograd.Function, got {fn!r}")
    p = torch.tensor(pred, dtype=torch.float64, requires_grad=want != "value")
    t = torch.tensor(target, dtype=torch.float64, requires_grad=target_grad)
    out = fn.apply(p, t, uw, ow)
    if not isinstance(out, torch.Tensor):
        raise Fail(
            f"forward returned a {type(out).__name__}; return a torch tensor computed with "
            "torch operations (torch.where, .abs(), .mean()), not NumPy"
        )
    if out.dim() != 0:
        raise Fail(f"forward returned shape {tuple(out.shape)}; return the mean, a 0-d tensor")
    if want == "value":
        return out.detach().numpy()
    (upstream * out).backward()
    tensor = p if want == "pred_grad" else t
    if tensor.grad is None:
        which = "first" if want == "pred_grad" else "second"
        raise Fail(
            f"{'pred' if want == 'pred_grad' else 'target'}.grad is None after backward: "
            f"backward must return the gradient for it as its {which} value"
        )
    if tuple(tensor.grad.shape) != tuple(tensor.shape):
        raise Fail(
            f"the gradient has shape {tuple(tensor.grad.shape)} but the input has shape "
            f"{tuple(tensor.shape)}; return one entry per element"
        )
    return tensor.grad.numpy()


PROBES = {f.__name__: f for f in (autograd_function,)}
