"""`lossgrade autograde` on the adversarial corpus: the right score in the gradebook for every
case with ``--jobs 2``, the same grades on a second run, and no submission lost when a run is
killed half-way and started again."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.sandbox import isolation
from tests.adversarial import CASES, COURSE, PS, RELEASE, expected

pytestmark = pytest.mark.slow

LIMITS = {
    "LOSSGRADE_CALL_SECONDS": "2",
    "LOSSGRADE_CELL_SECONDS": "4",
    "LOSSGRADE_MEMORY_MB": "1024",
}


def slug(name: str) -> str:
    """A student id for a case: at most 64 characters, as lossgrade requires."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def env(course: Path) -> dict[str, str]:
    e = {**os.environ, **LIMITS, "LOSSGRADE_EXCHANGE": str(course.parent / "exchange")}
    e["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")])
    return e


def lossgrade(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.grading.lossgrade", *args, "--course", str(course)]
    proc = subprocess.run(cmd, env=env(course), capture_output=True, text=True, timeout=1200)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def gradebook(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        out = {}
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(PS, PS, student.id)
            except Exception:  # noqa: BLE001 - no submission for this student yet
                continue
            out[student.id] = {g.name: g.score for g in nb.grades}
        return out


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    if not RELEASE.exists():
        pytest.skip("run `make course` first")
    course = tmp_path_factory.mktemp("integrity") / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / PS, course / "source" / PS)
    lossgrade(course, "release", PS)
    return course


def usable(cases):
    return [c for c in cases if not (c.namespace_only and isolation() != "namespace")]


def test_corpus_scores_in_the_gradebook_and_reruns_are_idempotent(course):
    cases = usable(CASES)
    assert len({slug(c.name) for c in cases}) == len(cases), "two cases share a student id"
    for c in cases:
        c.build(course / "submitted" / slug(c.name) / PS)
    first = lossgrade(course, "autograde", PS, "--jobs", "2")
    assert f"autograded {len(cases)} of {len(cases)}" in first.stdout
    got = gradebook(course)
    for c in cases:
        want = expected(c)
        assert {k: got[slug(c.name)].get(k) for k in want} == want, c.name
    lossgrade(course, "export", "--to", str(course / "first.csv"))

    again = lossgrade(course, "autograde", PS, "--jobs", "2")
    assert f"({len(cases)} unchanged since the last run)" in again.stdout
    lossgrade(course, "export", "--to", str(course / "second.csv"))
    assert (course / "first.csv").read_text() == (course / "second.csv").read_text()
    report = (course / "lossgrade" / PS / "report.csv").read_text()
    assert "unreadable notebook" in report and "no notebook" in report


def test_a_killed_run_resumes_without_losing_a_submission(course):
    correct, wrong = CASES[0], next(c for c in CASES if c.name == "function never returns")
    students = [f"late{i}" for i in range(6)]
    for i, s in enumerate(students):
        (correct if i % 2 == 0 else wrong).build(course / "submitted" / s / PS)
    picks = [arg for s in students for arg in ("--student", s)]
    cmd = [
        sys.executable,
        "-m",
        "autograder.grading.lossgrade",
        "autograde",
        PS,
        *picks,
        "--course",
        str(course),
    ]
    run = subprocess.Popen(
        cmd,
        env=env(course),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = course / "lossgrade" / PS / "students"
    deadline = time.monotonic() + 300
    while sum((results / s / "result.json").exists() for s in students) < 2:
        assert run.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    finished = sum((results / s / "result.json").exists() for s in students)
    assert 2 <= finished < len(students)

    resumed = lossgrade(course, "autograde", PS, *picks)
    assert f"({finished} unchanged since the last run)" in resumed.stdout
    got = gradebook(course)
    for i, s in enumerate(students):
        want = expected(correct if i % 2 == 0 else wrong)
        assert {k: got[s].get(k) for k in want} == want, s
