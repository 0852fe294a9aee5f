"""ps07's autograd class: no score depends on code the student's process can replace, and the
backward points need a backward the class implements (red-team report, issue 15)."""

from __future__ import annotations

import nbformat
import pytest

from autograder.grading.grader import Assignment, grade
from autograder.grading.sandbox import Limits
from tests.adversarial import COURSE, filled, replace

PS = "ps07_custom"
CELLS = (
    "AsymmetricMAEFunction_forward",
    "AsymmetricMAEFunction_grad",
    "AsymmetricMAEFunction_chain",
)

APPLY_OVERRIDE = """
class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight=2.0, over_weight=1.0):
        u = target - pred
        return torch.where(u > 0, under_weight * u, -over_weight * u).mean()

    @classmethod
    def apply(cls, pred, target, under_weight=2.0, over_weight=1.0):
        u = target - pred
        return torch.where(u > 0, under_weight * u, -over_weight * u).mean()
"""

PROBE_SWAP = """
import sys
import numpy as np
import torch

class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight=2.0, over_weight=1.0):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

def fake(fn, pred, target, uw, ow, *, want="value", upstream=1.0, target_grad=False):
    u = np.asarray(target) - np.asarray(pred)
    if want == "value":
        return np.array(np.where(u > 0, uw * u, -ow * u).mean())
    g = upstream * np.where(u > 0, -uw, ow) / u.size
    return g if want == "pred_grad" else -g

for module in list(sys.modules.values()):
    probes = getattr(module, "probes", None)
    table = getattr(probes, "PROBES", None) or getattr(module, "PROBES", None)
    if isinstance(table, dict):
        table["autograd_function"] = fake
main = sys.modules["__main__"]
for name in ("probes", "PROBES"):
    if hasattr(main, name):
        setattr(main, name, None)
"""


@pytest.fixture(scope="module")
def assignment():
    release = COURSE / "release" / PS / f"{PS}.ipynb"
    if not release.exists():
        pytest.skip("run `make course` first")
    return Assignment.load(COURSE / "source" / PS / f"{PS}.ipynb", release)


@pytest.mark.parametrize(
    "code, earned",
    [
        (
            None,
            {
                "AsymmetricMAEFunction_forward": 2.0,
                "AsymmetricMAEFunction_grad": 2.0,
                "AsymmetricMAEFunction_chain": 2.0,
            },
        ),
        # autograd differentiates the torch expression; the class has no backward of its own
        (
            APPLY_OVERRIDE,
            {
                "AsymmetricMAEFunction_forward": 2.0,
                "AsymmetricMAEFunction_grad": 0.0,
                "AsymmetricMAEFunction_chain": 0.0,
            },
        ),
        # the release's stubs, with the probe swapped wherever the student's code can reach it
        (
            PROBE_SWAP,
            {
                "AsymmetricMAEFunction_forward": 0.0,
                "AsymmetricMAEFunction_grad": 0.0,
                "AsymmetricMAEFunction_chain": 0.0,
            },
        ),
    ],
    ids=["correct", "apply overridden", "probe swapped"],
)
def test_autograd_points_need_the_students_own_methods(assignment, tmp_path, code, earned):
    nb = filled(PS)
    if code is not None:
        replace(nb, "AsymmetricMAEFunction", code)
    folder = tmp_path / "submission"
    folder.mkdir()
    nbformat.write(nb, folder / f"{PS}.ipynb")
    result, _ = grade(assignment, folder, f"{PS}.ipynb", Limits(call_seconds=5, cell_seconds=30))
    got = {t.grade_id: t.points for t in result.tests if t.grade_id in CELLS}
    why = {t.grade_id: t.message[:200] for t in result.tests if t.message}
    assert got == earned, why
    if code is APPLY_OVERRIDE:
        assert "has no backward of its own" in why["AsymmetricMAEFunction_grad"]
