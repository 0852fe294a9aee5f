"""`make bench` compares like with like: each torch reference computes the same loss as ours.

A reference that drifted (other defaults, another reduction, an unstable formula) would make the
speed ratios meaningless, so each is checked here on the benchmark's own inputs, value and
gradient, with ours called as the benchmark calls it.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_losses.py"


def _load_bench():
    # the module sets OMP_NUM_THREADS for its own process; keep it out of this one's children
    before = os.environ.get("OMP_NUM_THREADS")
    spec = importlib.util.spec_from_file_location("bench_losses", BENCH)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before
    return module


bench = _load_bench()


@pytest.mark.parametrize("name", sorted(bench.CASES))
def test_reference_computes_our_loss(name):
    ours, ref, _, kind, opts = bench.CASES[name]
    arrays = bench.make_inputs(kind, 640, np.random.default_rng(3))
    first = [torch.tensor(a).requires_grad_(a.dtype.kind == "f") for a in arrays[:1]]
    tensors = first + [torch.from_numpy(a) for a in arrays[1:]]
    ours_value = ours(*tensors, **opts)
    (ours_grad,) = torch.autograd.grad(ours_value, tensors[0])
    ref_value = ref(*tensors)
    (ref_grad,) = torch.autograd.grad(ref_value, tensors[0])
    torch.testing.assert_close(ours_value, ref_value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-4, atol=1e-6)


def test_log_cosh_reference_is_finite_where_log_of_cosh_overflows():
    r = torch.tensor([90.0, -300.0], requires_grad=True)
    value = bench.CASES["log_cosh"][1](r, torch.zeros(2))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(r.grad).all()
    assert torch.isinf(torch.log(torch.cosh(r.detach()))).all()
