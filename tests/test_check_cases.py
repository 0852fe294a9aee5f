"""The exercise checks against known answers, without nbgrader (fast).

For every ``tests/course_cases/psNN.py``: the solution in ``course/source`` and every differently
written right answer (``CORRECT``) pass every part of every exercise, and each known-wrong variant
fails exactly the parts it lists, with a message that names its mistake.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import check
from autograder.core import parts

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the case modules import `tests.course_cases`
    sys.path.insert(0, str(ROOT))

from tests.course_cases import all_cases, compile_function  # noqa: E402

SOURCE = ROOT / "course" / "source"
SEEDS = (0, 1, 2)
CASES = all_cases()
CORRECT = all_cases("CORRECT")


def source_notebook(ps: str) -> Path:
    found = sorted(SOURCE.glob(f"{ps}_*/{ps}_*.ipynb"))
    assert found, f"no source notebook for {ps} under {SOURCE}"
    return found[0]


def solution_namespace(ps: str) -> dict:
    """Run the setup cell and every solution code cell of the source notebook."""
    nb = nbformat.read(source_notebook(ps), as_version=4)
    namespace: dict = {"__name__": f"solution_{ps}"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        is_setup = meta.get("grade_id") == "setup"
        if cell.cell_type == "code" and (
            is_setup or (meta.get("solution") and not meta.get("grade"))
        ):
            exec(compile(cell.source, f"<{ps} {meta.get('grade_id')}>", "exec"), namespace)
    return namespace


def grade_cells(ps: str) -> dict[str, int]:
    nb = nbformat.read(source_notebook(ps), as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


EXERCISES = [(ps, fn) for ps, cases in CASES.items() for fn in cases]
VARIANTS = [
    pytest.param(ps, fn, v, id=f"{ps}.{fn}: {v.label}")
    for ps, cases in CASES.items()
    for fn, variants in cases.items()
    for v in variants
]


ALTERNATIVES = [
    pytest.param(ps, fn, v, id=f"{ps}.{fn}: {v.label}")
    for ps, cases in CORRECT.items()
    for fn, variants in cases.items()
    for v in variants
]


@pytest.mark.parametrize(("ps", "fn"), EXERCISES, ids=[f"{p}.{f}" for p, f in EXERCISES])
def test_solution_passes_every_part(ps, fn):
    solution = solution_namespace(ps)[fn]
    for seed in SEEDS:
        report = check(f"{ps}.{fn}", solution, seed=seed, verbose=False)
        assert report.passed, [r.line() for r in report.failures]


@pytest.mark.parametrize(("ps", "fn", "variant"), VARIANTS)
def test_variant_fails_exactly_its_parts(ps, fn, variant):
    wrong = compile_function(variant.source, fn)
    for seed in SEEDS:
        report = check(f"{ps}.{fn}", wrong, seed=seed, verbose=False)
        failed = {r.part for r in report.results if not r.passed}
        assert failed == set(variant.fails), [r.line() for r in report.failures]
        for r in report.failures:
            assert r.message.strip(), "a failure must say what went wrong"
        messages = "\n".join(r.message for r in report.failures)
        for words in variant.says:  # the mistake is named, on every seed
            assert words in messages, f"seed {seed}: {words!r} not in\n{messages}"


@pytest.mark.parametrize(("ps", "fn", "variant"), ALTERNATIVES)
def test_a_right_answer_written_differently_passes_every_part(ps, fn, variant):
    right = compile_function(variant.source, fn)
    for seed in SEEDS:
        report = check(f"{ps}.{fn}", right, seed=seed, verbose=False)
        assert report.passed, [r.line() for r in report.failures]


def test_every_wrong_variant_names_its_mistake_and_every_exercise_has_right_alternatives():
    for ps, cases in CASES.items():
        for fn, variants in cases.items():
            assert all(v.says for v in variants), [v.label for v in variants if not v.says]
            assert CORRECT.get(ps, {}).get(fn), f"{ps}.{fn}: no right answer written differently"
            assert all(v.fails for v in variants), f"{ps}.{fn}: a wrong variant that fails nothing"
        assert all(not v.fails for vs in CORRECT.get(ps, {}).values() for v in vs)


@pytest.mark.parametrize(("ps", "fn"), EXERCISES, ids=[f"{p}.{f}" for p, f in EXERCISES])
def test_cases_cover_wrong_and_fragile(ps, fn):
    variants = CASES[ps][fn]
    fragile = [v for v in variants if v.fails == frozenset({"stability"})]
    wrong = [v for v in variants if v.fails != frozenset({"stability"})]
    if "stability" in parts(f"{ps}.{fn}"):
        assert fragile, "one numerically fragile variant that fails only 'stability'"
    assert len(wrong) >= 2, "at least two known-wrong variants"
    for v in variants:
        assert v.fails <= set(parts(f"{ps}.{fn}")), f"{v.label}: unknown parts {v.fails}"


@pytest.mark.parametrize("ps", sorted(CASES))
def test_grade_cells_match_the_registered_parts(ps):
    cells = grade_cells(ps)
    expected = {f"{fn}_{part}" for fn in CASES[ps] for part in parts(f"{ps}.{fn}")}
    auto = {gid for gid in cells if not gid.startswith("written_")}
    assert expected <= auto, f"grade cells missing: {sorted(expected - auto)}"
    nb = nbformat.read(source_notebook(ps), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid in expected:
            match = re.search(r'grade\("(ps\d\d)\.(\w+)", (\w+), part="(\w+)"\)', cell.source)
            assert match, f"{gid} does not call grade(...)"
            assert match.groups()[0] == ps
            assert f"{match[2]}_{match[4]}" == gid, f"{gid} grades {match[2]} part {match[4]}"


@pytest.mark.parametrize("ps", sorted(p.name for p in SOURCE.iterdir() if p.is_dir()))
def test_solution_notebook_keeps_answers_and_drops_markup(ps):
    from autograder.grading.build import solution_notebook

    source = nbformat.read(SOURCE / ps / f"{ps}.ipynb", as_version=4)
    nb = solution_notebook(source, ps)
    text = "\n".join(c.source for c in nb.cells)
    assert "generated from" in nb.cells[0].source and f"course/source/{ps}" in nb.cells[0].source
    assert "SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert all("nbgrader" not in c.metadata for c in nb.cells)
    assert "nbgrader" not in nb.metadata
    answers = [
        c
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]
    for cell in answers:  # the solution code is kept
        first = next(ln for ln in cell.source.splitlines() if "BEGIN SOLUTION" in ln)
        body = cell.source.split(first, 1)[1].splitlines()[0].strip()
        assert body in text
    visible = [c for c in source.cells if 'part="basic"' in c.source and "HIDDEN" not in c.source]
    assert all(c.source in text for c in visible), "visible tests stay"
