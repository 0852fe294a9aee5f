"""Probes: trusted code that exercises a student object where the object lives.

Most checks just call the student's function. Some exercises hand in something richer (a
``torch.autograd.Function`` subclass), and the check needs a few steps with it: build tensors,
call its ``forward``, then its ``backward``. A probe does those steps and returns plain arrays.
When grading, probes run inside the sandbox next to the student's code (bound by the worker
before any student code runs, and out of reach of the student's ``__main__``) and only their
results come back; the comparison with the reference always happens in the grader.
"""

from __future__ import annotations

from autograder.core import Fail


def _context_class():
    """A stand-in for the ``ctx`` autograd passes to ``forward`` and ``backward``."""
    import torch

    class Context(torch.autograd.function.FunctionCtx):
        def __init__(self, needs_input_grad):
            self.needs_input_grad = needs_input_grad
            self.to_save = ()

        @property
        def saved_tensors(self):
            return tuple(self.to_save)

    return Context


def autograd_function(
    fn, pred, target, uw, ow, *, want: str = "value", upstream=1.0, target_grad=False
):
    """The class's own ``forward(ctx, pred, target, uw, ow)`` on float64 tensors (or, in the
    torch >= 2 style, ``forward(pred, target, uw, ow)`` then its ``setup_context``), then the value,
    or the gradient its own ``backward(ctx, upstream)`` returns for pred or target.

    ``want`` is "value", "pred_grad" or "target_grad". The methods are called directly, as
    autograd would (forward without recording a graph), never through ``apply``: a class earns
    the gradient points only with a backward it wrote, not with autograd doing the work.
    """
    import torch

    if not (isinstance(fn, type) and issubclass(fn, torch.autograd.Function)):
        raise Fail(f"expected a subclass of torch.autograd.Function, got {fn!r}")
    for method in ("forward",) if want == "value" else ("forward", "backward"):
        if getattr(fn, method) is getattr(torch.autograd.Function, method):
            raise Fail(
                f"{fn.__name__} has no {method} of its own: write it as a @staticmethod "
                f"{method}(ctx, ...)"
            )
    p = torch.tensor(pred, dtype=torch.float64, requires_grad=want != "value")
    t = torch.tensor(target, dtype=torch.float64, requires_grad=target_grad)
    ctx = _context_class()((p.requires_grad, t.requires_grad, False, False))
    own_setup = getattr(fn, "setup_context", None) is not getattr(
        torch.autograd.Function, "setup_context", None
    )
    with torch.no_grad():
        if own_setup:  # the torch >= 2 style: forward without ctx, then setup_context fills it
            out = fn.forward(p, t, uw, ow)
            fn.setup_context(ctx, (p, t, uw, ow), out)
        else:
            out = fn.forward(ctx, p, t, uw, ow)
    if not isinstance(out, torch.Tensor):
        raise Fail(
            f"forward returned a {type(out).__name__}; return a torch tensor computed with "
            "torch operations (torch.where, .abs(), .mean()), not NumPy"
        )
    if out.dim() != 0:
        raise Fail(f"forward returned shape {tuple(out.shape)}; return the mean, a 0-d tensor")
    if want == "value":
        return out.detach().numpy()
    with torch.no_grad():
        grads = fn.backward(ctx, torch.tensor(float(upstream), dtype=torch.float64))
    grads = grads if isinstance(grads, tuple) else (grads,)
    which = 0 if want == "pred_grad" else 1
    grad = grads[which] if len(grads) > which else None
    if grad is None:
        name = "pred" if want == "pred_grad" else "target"
        raise Fail(
            f"backward returned no gradient for {name}: return one value per input of "
            f"forward, the gradient for {name} as value number {which + 1}"
        )
    if not isinstance(grad, torch.Tensor):
        raise Fail(f"backward returned a {type(grad).__name__}; return torch tensors")
    tensor = p if want == "pred_grad" else t
    if tuple(grad.shape) != tuple(tensor.shape):
        raise Fail(
            f"the gradient has shape {tuple(grad.shape)} but the input has shape "
            f"{tuple(tensor.shape)}; return one entry per element"
        )
    return grad.detach().numpy()


PROBES = {f.__name__: f for f in (autograd_function,)}
