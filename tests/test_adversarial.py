"""Every case of the adversarial corpus (tests/adversarial) gets exactly its expected score.

The grader runs in this process, as `lossgrade` runs it, with small limits so that the hanging
cases stay quick. The cases that need Linux namespaces are skipped where there are none; a
subset runs again with plain-process isolation, the fallback for machines without them.
"""

from __future__ import annotations

import subprocess

import nbformat
import pytest

from autograder.grader import Assignment, grade
from autograder.sandbox import Limits, isolation
from tests.adversarial import CASES, COURSE, NOTEBOOK, RELEASE, SOURCE, WRITES, expected

LIMITS = Limits(call_seconds=2.0, cell_seconds=4.0, memory_mb=1024)
PROCESS_MODE = {
    "function never returns",
    "function calls sys.exit()",
    "function calls os._exit()",
    "function segfaults",
    "a cell kills its own process",
    "function allocates far too much memory",
    "megabytes of printed output",
    "stderr and warnings from correct code",
    "function changes its input in place",
    "monkeypatches numpy and builtins from inside the function",
    "function leaves a process running",
}


@pytest.fixture(scope="module")
def assignment():
    if not RELEASE.exists():
        pytest.skip("run `make course` first (the corpus is built from the release)")
    return Assignment.load(SOURCE, RELEASE)


def leftover_processes() -> str:
    """Processes started by the "leaves a process running" case (exactly `sleep 314159`)."""
    proc = subprocess.run(["pgrep", "-af", "^sleep 314159$"], capture_output=True, text=True)
    return proc.stdout.strip()


def check_case(case, assignment, folder):
    case.build(folder)
    result, nb = grade(assignment, folder, NOTEBOOK, LIMITS, COURSE)
    got = {t.grade_id: t.points for t in result.tests}
    why = {t.grade_id: t.message[:300] for t in result.tests if t.message}
    assert got == expected(case), f"{case.name}: {why}; notes: {result.notes}"
    assert result.status == case.status
    assert result.max_score == sum(expected(CASES[0]).values())
    if case.note:
        assert any(case.note in n for n in result.notes), result.notes
    nbformat.validate(nb)
    assert len(nbformat.writes(nb)) < 2 * 2**20, "the graded notebook keeps capped output only"
    assert not [p for p in WRITES if p.exists()], "student code wrote outside its scratch folder"
    assert not leftover_processes(), "student code left processes behind"
    return result


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case, assignment, tmp_path):
    if case.namespace_only and isolation() != "namespace":
        pytest.skip("this defence needs Linux namespaces")
    check_case(case, assignment, tmp_path / "submission")


@pytest.mark.parametrize("case", [c for c in CASES if c.name in PROCESS_MODE], ids=lambda c: c.name)
def test_corpus_case_without_namespaces(case, assignment, tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSGRADE_ISOLATION", "process")
    isolation.cache_clear()
    try:
        check_case(case, assignment, tmp_path / "submission")
    finally:
        isolation.cache_clear()


def test_the_corpus_covers_the_issue():
    names = {c.name for c in CASES}
    assert len(PROCESS_MODE & names) == len(PROCESS_MODE)
    assert len(CASES) >= 35
