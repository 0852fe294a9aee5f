"""Every case of the adversarial corpus (tests/adversarial) gets exactly its expected score.

The grader runs in this process, as `lossgrade` runs it, with small limits so that the hanging
cases stay quick. The cases that need Linux namespaces are skipped where there are none; a
subset runs again with plain-process isolation, the fallback for machines without them.
"""

from __future__ import annotations

import copy
import re
import subprocess
import time
from html.parser import HTMLParser

import nbformat
import pytest

from autograder.grading.grader import Assignment, grade, write
from autograder.grading.sandbox import Limits, isolation
from tests.adversarial import (
    CASES,
    COURSE,
    NOTEBOOK,
    PAYLOADS,
    RELEASE,
    SOURCE,
    WRITES,
    XSS,
    expected,
)

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


def leftover_processes(wait: float = 5.0) -> str:
    """Processes started by the "leaves a process running" case (exactly `sleep 314159`).

    The grader's SIGKILL takes effect when the process is next scheduled, which on a busy
    machine can be after the grader returns: a process still there after ``wait`` s is left over.
    """
    deadline = time.monotonic() + wait
    while True:
        proc = subprocess.run(["pgrep", "-af", "^sleep 314159$"], capture_output=True, text=True)
        if not proc.stdout.strip() or time.monotonic() > deadline:
            return proc.stdout.strip()
        time.sleep(0.05)


def check_case(case, assignment, folder):
    case.build(folder)
    result, nb = grade(assignment, folder, NOTEBOOK, LIMITS)
    got = {t.grade_id: t.points for t in result.tests}
    why = {t.grade_id: t.message[:300] for t in result.tests if t.message}
    assert got == expected(case), f"{case.name}: {why}; notes: {result.notes}"
    assert result.status == case.status
    assert result.max_score == sum(expected(CASES[0]).values())
    if case.note:
        assert any(case.note in n for n in result.notes), result.notes
    for t in result.tests:
        if case.message and t.points < t.max_points:
            assert case.message in t.message, t.message
    nbformat.validate(nb)
    write(result, nb, folder.parent / "graded")  # no lone surrogate or odd name stops it
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


class Markup(HTMLParser):
    """What a browser would act on (event handlers, URLs, script bodies) and the visible text."""

    def __init__(self):
        super().__init__()
        self.handlers, self.urls, self.scripts, self.text = [], [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(value or "")
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                self.urls.append(re.sub(r"[\x00-\x20]", "", value or "").lower())
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def feedback_html(nb) -> str:
    """``nb`` as `lossgrade feedback` renders it (nbgrader's feedback template, the course's
    preprocessors) except for the scores, which come from the gradebook."""
    from nbconvert import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE)).load_config()
    exporter = HTMLExporter(config=GenerateFeedback(config=config).config)  # its template
    for pre in config.GenerateFeedback.preprocessors:
        if pre is not GetGrades:
            exporter.register_preprocessor(pre, enabled=True)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # what GetGrades adds
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader.score = 0
    scores = {"notebook": NOTEBOOK, "score": 0, "max_score": 0, "late_penalty": 0}
    body, _ = exporter.from_notebook_node(nb, resources={"nbgrader": scores})
    return body


MARKUP_CASES = [
    c for c in CASES if c.name.startswith(("markdown, raw", "written answer", "notebook file"))
]


@pytest.mark.parametrize("case", MARKUP_CASES, ids=[c.name for c in MARKUP_CASES])
def test_student_markup_is_shown_as_text_in_the_feedback(case, assignment, tmp_path):
    result = check_case(case, assignment, tmp_path / "submission")
    _, nb = grade(assignment, tmp_path / "submission", NOTEBOOK, LIMITS)
    page = Markup()
    page.feed(feedback_html(nb))
    code = "\n".join(page.handlers + page.scripts)
    assert "alert(" not in code and "msgbox(" not in code, "student script survived as markup"
    bad = [u for u in page.urls if u.startswith(("javascript:", "vbscript:", "data:"))]
    assert not bad, f"dangerous URLs survived: {bad}"
    shown = "".join(page.text)
    assert XSS in shown, "the student's text stays readable"
    if case.name.startswith("markdown"):
        assert all(p in shown for p in PAYLOADS if p.startswith(("<", "&"))), shown
        assert "$y s \\lt  1$" in shown, "math stays math"
    assert result.status == "graded"


def test_the_corpus_covers_the_issue():
    names = {c.name for c in CASES}
    assert len(PROCESS_MODE & names) == len(PROCESS_MODE)
    assert len(CASES) >= 35
