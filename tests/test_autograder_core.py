"""The checking machinery of `autograder.core`: safe calls, messages, check and grade."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pytest
import torch

from autograder import check, core, grade
from autograder.core import Fail, call, expect_close, subcheck


@pytest.fixture
def exercise(request):
    """A throw-away exercise 'test.<name>' whose one sub-check compares fn(x) with 2 * x.sum()."""
    name = f"test.{request.node.name}"

    @subcheck(name, "basic")
    def _doubles(fn, rng):
        """returns twice the sum"""
        x = rng.normal(size=4)
        expect_close(call(fn, x), 2 * x.sum(), "f(x)")

    yield name
    core._REGISTRY.pop(name, None)


@pytest.mark.parametrize(
    "result",
    [
        lambda x: float(2 * x.sum()),
        lambda x: np.float64(2 * x.sum()),
        lambda x: np.float32(2 * x.sum()),
        lambda x: np.array(2 * x.sum()),
        lambda x: torch.tensor(2 * x.sum(), requires_grad=True) * 1.0,
        lambda x: 2 * x.sum(),
    ],
    ids=["float", "float64", "float32", "0-d array", "tensor", "numpy scalar"],
)
def test_scalar_kinds_are_accepted(exercise, result):
    assert check(exercise, result, verbose=False).passed


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda x: None, "returned None: did you forget `return`?"),
        (lambda x: "1.0", "returned a str"),
        (lambda x: (1.0, 2.0), "returned a tuple"),
        (lambda x: np.array([2 * x.sum()]), "returned shape (1,), expected a scalar"),
        (lambda x: x, "returned shape (4,), expected a scalar"),
        (lambda x: np.nan, "returned nan"),
        (lambda x: 1 / 0, "raised ZeroDivisionError"),
        (lambda x: sys.exit(1), "called exit()"),
        (lambda x: 2 * x.sum() + 1, "expected"),
    ],
)
def test_wrong_results_fail_with_a_message(exercise, fn, words):
    report = check(exercise, fn, verbose=False)
    assert not report.passed
    assert words in report.results[0].message


def test_not_implemented_is_explained(exercise):
    def f(x):
        raise NotImplementedError()

    report = check(exercise, f, verbose=False)
    assert "write the function body first" in report.results[0].message


def test_warnings_and_prints_do_not_fail_and_stay_hidden(exercise, capfd):
    def noisy(x):
        print("debug output")
        print("to stderr", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning, stacklevel=1)
        np.log(np.zeros(1))  # a numpy RuntimeWarning
        return 2 * x.sum()

    grade(exercise, noisy, part="basic")  # does not raise
    out, err = capfd.readouterr()
    assert err == ""
    assert "debug output" not in out and "to stderr" not in out
    assert "\u2713" in out


def test_hanging_function_fails_one_subcheck_and_the_next_runs(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TIME_LIMIT", "0.5")
    name = "test.hanging"

    @subcheck(name, "basic")
    def _first(fn, rng):
        """first call"""
        call(fn, np.ones(2))

    @subcheck(name, "basic")
    def _second(fn, rng):
        """second call"""
        if call(fn, np.zeros(2)) != 0:
            raise Fail("expected zero")

    def hangs_on_ones(x):
        while x.sum() > 0:
            try:
                time.sleep(0.05)
            except Exception:  # a student's blanket except must not swallow the time limit
                pass
        return x.sum()

    try:
        start = time.perf_counter()
        report = check(name, hangs_on_ones, verbose=False)
        elapsed = time.perf_counter() - start
    finally:
        core._REGISTRY.pop(name, None)
    assert elapsed < 5
    first, second = report.results
    assert not first.passed and "took longer than 0.5 s (infinite loop?)" in first.message
    assert second.passed


def test_input_mutation_is_caught(exercise):
    def in_place(x):
        x *= 2
        return x.sum()

    report = check(exercise, in_place, verbose=False)
    assert "changed its input `x` in place" in report.results[0].message


def test_check_prints_one_line_per_subcheck(capsys):
    name = "test.lines"
    for i in range(3):
        subcheck(name, "basic" if i < 2 else "edge")(
            lambda fn, rng, i=i: None if i != 1 else (_ for _ in ()).throw(Fail("nope"))
        )
    try:
        report = check(name, abs)
    finally:
        core._REGISTRY.pop(name, None)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("\u2713 test.lines [basic]")
    assert lines[1].startswith("\u2717 test.lines [basic]") and lines[1].endswith(": nope")
    assert "[edge]" in lines[2]
    assert [r.passed for r in report.results] == [True, False, True]


def test_grade_raises_assertion_error_with_the_messages(exercise):
    with pytest.raises(AssertionError, match="returned None"):
        grade(exercise, lambda x: None, part="basic")


def test_unknown_exercise_lists_valid_names():
    with pytest.raises(KeyError, match="ps01.mse"):
        check("ps01.nonexistent", abs)


def test_unknown_part_lists_parts(exercise):
    with pytest.raises(KeyError, match="basic"):
        check(exercise, abs, part="nope")


def test_hints_name_the_mistake():
    want = np.float64(2.0)
    with pytest.raises(Fail, match="you returned the sum"):
        expect_close(6.0, want, "mse", hints={"you returned the sum": 6.0})
    with pytest.raises(Fail, match="use log-sum-exp"):
        expect_close(np.array([np.nan]), np.array([1.0]), "ce", nonfinite="use log-sum-exp")
    expect_close(np.float32(2.0), want, "mse")  # a match passes silently


def test_seeded_checks_are_reproducible(exercise):
    drawn = []

    def spy(x):
        drawn.append(x.copy())
        return 2 * x.sum()

    check(exercise, spy, seed=3, verbose=False)
    check(exercise, spy, seed=3, verbose=False)
    check(exercise, spy, seed=4, verbose=False)
    assert np.array_equal(drawn[0], drawn[1]) and not np.array_equal(drawn[0], drawn[2])


def test_an_exception_from_student_code_says_which_inputs_caused_it():
    def f(pred, target, *, weight=1.0):
        raise ValueError("weights must be positive")

    with pytest.raises(Fail) as exc:
        call(f, np.zeros(3), np.ones(3, dtype=np.float32), weight=0.0)
    assert str(exc.value) == (
        "f raised ValueError: weights must be positive (called with pred: an array of shape "
        "(3,), target: a float32 array of shape (3,), weight=0.0)"
    )


def test_a_list_of_losses_is_told_to_become_an_array():
    with pytest.raises(Fail, match=r"returned a list; .*np\.array\(\.\.\.\)"):
        call(lambda x: [1.0, 2.0], np.zeros(2))


def test_sorting_an_input_in_place_is_named_with_the_fix():
    def sorts(grid):
        grid.sort()
        return 0.0

    with pytest.raises(Fail, match=r"changed its input `grid` in place; .*np\.sort\(x\)"):
        call(sorts, np.array([0.3, 0.1, 0.2]))


def test_values_equal_to_six_digits_are_shown_with_their_relative_error():
    with pytest.raises(Fail, match=r"got 153871088\.5, expected 153871088\.8087 \(relative error"):
        expect_close(153871088.5, 153871088.8087, "f", rtol=1e-9)


def test_two_mistakes_giving_the_same_value_are_both_named():
    with pytest.raises(Fail) as exc:
        expect_close(1.0, 2.0, "f", hints={"mistake A": 1.0, "mistake B": 1.0, "other": 5.0})
    assert "(1) mistake A; (2) mistake B" in str(exc.value) and "other" not in str(exc.value)


def test_a_nonfinite_hint_never_explains_a_nonfinite_result():
    with pytest.raises(Fail) as exc:
        expect_close(np.inf, 2.0, "f", hints={"squared": np.inf}, nonfinite="it overflowed")
    assert "it overflowed" in str(exc.value) and "squared" not in str(exc.value)


def test_consistency_charges_only_what_it_tests():
    # the same value both ways, and it is a mistake the other parts name: passes here
    core.expect_consistent(3.0, 3.0, "f", "near 0", want=1.0, known={"sum": 3.0}, rtol=1e-9)
    # the same value both ways, but neither right nor a known mistake (a constant): fails
    with pytest.raises(Fail, match="got 0, expected 1"):
        core.expect_consistent(0.0, 0.0, "f", "near 0", want=1.0, known={"sum": 3.0}, rtol=1e-9)
    # different values both ways: the explanation of the instability
    with pytest.raises(Fail, match=r"got 1\.1, but 1 near 0; lost digits"):
        core.expect_consistent(1.1, 1.0, "f", "near 0", want=1.0, rtol=1e-9, explain="lost digits")
