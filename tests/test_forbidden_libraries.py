"""The notebooks' library rule ("not lossutils, torch or scikit-learn"), as ``check(...)`` applies it.

Each assignment gets an answer written with a library it forbids: every sub-check fails with the
rule's message, which names what was called, whatever else is wrong. Each notebook states the rule
where students read it. The allowed solutions pass (tests/test_check_cases.py runs them under the
same watch); tests/test_course_lifecycle.py checks that the grader takes the same points with the
same message.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import check, core
from autograder.core import Fail, current_forbidden, forbidden_for, watch_calls
from tests.course_cases import all_cases, compile_function

ROOT = Path(__file__).resolve().parent.parent

TORCH_MSE = """
import torch
import torch.nn.functional as F

def mse(pred, target, *, reduction="mean"):
    loss = F.mse_loss(torch.as_tensor(pred), torch.as_tensor(target), reduction=reduction)
    return loss.numpy()
"""

TORCH_CE = """
import torch
import torch.nn.functional as F

def cross_entropy(logits, target, *, reduction="mean"):
    return F.cross_entropy(torch.as_tensor(logits), torch.as_tensor(target), reduction=reduction)
"""

SKLEARN_F1 = """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    from sklearn.metrics import f1_score
    return f1_score(y_true, y_pred, average=average, zero_division=0)
"""

LOSSUTILS_FOCAL = """
def sigmoid_focal_loss(logits, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
    import lossutils
    return lossutils.sigmoid_focal_loss(logits, target, alpha=alpha, gamma=gamma,
                                        reduction=reduction)
"""

LOSSUTILS_NAME = "from lossutils import hinge\n"

TORCH_TRIPLET = """
import torch

def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    a, p, n = (torch.from_numpy(x) for x in (anchor, positive, negative))
    return torch.nn.functional.triplet_margin_loss(a, p, n, margin=margin, reduction=reduction)
"""

LOSSUTILS_AMAE = """
import lossutils

def asymmetric_mae(pred, target, *, under_weight=2.0, over_weight=1.0, reduction="mean"):
    return lossutils.asymmetric_mae(pred, target, under_weight=under_weight,
                                    over_weight=over_weight, reduction=reduction)
"""

LOSSUTILS_FUNCTION = """
import torch
import lossutils

class AsymmetricMAEFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pred, target, under_weight, over_weight):
        ctx.save_for_backward(pred, target)
        ctx.weights = under_weight, over_weight
        return lossutils.asymmetric_mae(pred, target, under_weight=under_weight,
                                        over_weight=over_weight)

    @staticmethod
    def backward(ctx, grad):
        pred, target = ctx.saved_tensors
        uw, ow = ctx.weights
        slope = torch.where(pred < target, -uw, ow) / pred.numel()
        return grad * slope, -grad * slope, None, None
"""

SKLEARN_MSE = """
from sklearn.metrics import mean_squared_error

def mse(pred, target, *, reduction="mean"):
    if reduction != "mean":
        return {"sum": ((pred - target) ** 2).sum()}.get(reduction, (pred - target) ** 2)
    return mean_squared_error(target, pred)
"""

CASES = [
    ("ps01.mse", SKLEARN_MSE, "sklearn.", "lossutils, torch and sklearn"),
    ("ps01.mse", TORCH_MSE, "torch.as_tensor", "lossutils, torch and sklearn"),
    ("ps02.cross_entropy", TORCH_CE, "torch.as_tensor", "lossutils, torch and sklearn"),
    ("ps03.multilabel_f1", SKLEARN_F1, "sklearn", "lossutils, torch and sklearn"),
    ("ps04.sigmoid_focal_loss", LOSSUTILS_FOCAL, "lossutils.", "lossutils, torch and sklearn"),
    ("ps05.hinge", LOSSUTILS_NAME, "lossutils.", "lossutils, torch and sklearn"),
    ("ps06.triplet_margin_loss", TORCH_TRIPLET, "torch.from_numpy", "lossutils, torch and sklearn"),
    ("ps07.asymmetric_mae", LOSSUTILS_AMAE, "lossutils.", "lossutils, torch and sklearn"),
    (
        "ps07.AsymmetricMAEFunction",
        LOSSUTILS_FUNCTION,
        "lossutils.",
        "forbids lossutils and sklearn:",
    ),
]


@pytest.mark.parametrize(
    ("exercise", "source", "called", "rule"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_a_forbidden_library_fails_every_part_with_the_rule(exercise, source, called, rule):
    fn = compile_function(source, exercise.split(".")[1])
    report = check(exercise, fn, seed=0, verbose=False)
    assert not any(r.passed for r in report.results)
    for r in report.results:
        assert "this exercise forbids" in r.message and rule in r.message, r.message
        assert called in r.message, r.message
        assert r.message.startswith(fn.__name__), r.message


WORDS = {"lossutils": "`lossutils`", "torch": "torch", "sklearn": "scikit-learn"}


@pytest.mark.parametrize("ps", sorted(all_cases()))
def test_each_notebook_states_its_rule_where_students_read(ps):
    """The intro names every library the checks forbid, says check(...) and the grader apply
    the rule alike, and says that inputs must be left unchanged."""
    path = next((ROOT / "course" / "source").glob(f"{ps}_*/{ps}_*.ipynb"))
    intro = " ".join(nbformat.read(path, as_version=4).cells[0].source.split())
    assert "**What a solution may use.**" in intro
    assert "`check(...)` on your machine and the grader apply this rule in the same way" in intro
    assert "**Leave the inputs as they are.**" in intro
    exercises = [e for e in core.exercises() if e.startswith(ps + ".")]
    for package in sorted({pkg for e in exercises for pkg in forbidden_for(e)}):
        assert WORDS[package] in intro, f"{ps}: the intro does not name {package}"


@pytest.mark.parametrize("ps", sorted(all_cases()))
def test_each_assignment_has_a_forbidden_library_case_for_the_graded_run(ps):
    """tests/test_course_lifecycle.py grades these and compares the message with check(...)."""
    forbidden = [
        v
        for variants in all_cases()[ps].values()
        for v in variants
        if any("this exercise forbids" in words for words in v.says)
    ]
    assert forbidden, f"{ps}: no course case calls a forbidden library"


def test_the_rule_comes_before_every_other_message():
    """A function that is wrong and calls torch hears about torch, in every part."""
    source = TORCH_MSE.replace("return loss.numpy()", "return 2 * loss.numpy()")
    fn = compile_function(source, "mse")
    report = check("ps01.mse", fn, seed=1, verbose=False)
    assert [r.message for r in report.results] == [
        "mse called torch.as_tensor, but this exercise forbids lossutils, torch and sklearn: "
        "write it yourself with NumPy"
    ] * len(report.results)


def test_sklearn_is_named_by_the_function_the_student_called():
    fn = compile_function(SKLEARN_F1, "multilabel_f1")
    messages = [r.message for r in check("ps03.multilabel_f1", fn, verbose=False).results]
    named = "called sklearn.metrics._classification.f1_score"
    assert all(named in m for m in messages), messages


def test_the_message_is_the_same_whether_or_not_the_package_was_imported_before(
    tmp_path, monkeypatch
):
    """Importing is not calling: the first function called is named, so the grader's worker
    (which may have imported the package for an earlier check) says what check(...) says."""
    (tmp_path / "fakelib").mkdir()
    (tmp_path / "fakelib" / "__init__.py").write_text(
        "def _setup():\n    return 1\n\n_setup()\n\ndef loss(x):\n    return 2.0 * x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakelib", raising=False)

    def mine(x):
        import fakelib

        return fakelib.loss(x)

    messages = []
    for _ in range(2):  # the first run imports fakelib, the second finds it imported
        with pytest.raises(Fail) as exc:
            with watch_calls(("fakelib",), "mine"):
                mine(1.0)
        messages.append(str(exc.value))
    assert (
        messages
        == ["mine called fakelib.loss, but this exercise forbids fakelib: write it yourself"] * 2
    )


def test_the_rule_of_an_exercise_overrides_its_assignment():
    assert forbidden_for("ps03.multilabel_f1") == ("lossutils", "torch", "sklearn")
    assert forbidden_for("ps07.asymmetric_mae") == ("lossutils", "torch", "sklearn")
    assert forbidden_for("ps07.AsymmetricMAEFunction") == ("lossutils", "sklearn")
    assert forbidden_for("ps99.anything") == ()
    assert current_forbidden() == ()


def test_switching_the_watch_off_fails():
    fn = compile_function(
        "import sys\n\ndef mse(pred, target, *, reduction='mean'):\n"
        "    sys.setprofile(None)\n    return ((pred - target) ** 2).mean()\n",
        "mse",
    )
    report = check("ps01.mse", fn, part="basic", verbose=False)
    assert "turned off the grader's call watch" in report.results[0].message


def test_a_thread_started_by_the_student_is_watched():
    import torch

    def sneaky():
        out = []
        worker = threading.Thread(target=lambda: out.append(torch.ones(3).sum()))
        worker.start()
        worker.join()
        return 0.0

    with pytest.raises(Fail, match=r"sneaky called torch\..*forbids torch"):
        with watch_calls(("torch",), "sneaky"):
            sneaky()


def test_numpy_and_the_watch_itself_are_not_flagged_and_the_old_hook_comes_back():
    import numpy as np

    def previous(frame, event, arg):
        return None

    sys.setprofile(previous)
    try:
        with watch_calls(("torch", "lossutils"), "mine"):
            np.asarray([1.0, 2.0]).mean()
            np.linalg.norm(np.ones(3))
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
    assert threading.getprofile() is None


def test_nothing_forbidden_costs_nothing():
    with watch_calls((), "free"):
        assert sys.getprofile() is None
