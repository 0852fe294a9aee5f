"""What the grader records is safe to render and to write, whatever the submission held (fast)."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograder.grading import grader
from autograder.grading.grader import Assignment, Result, read_cells, record, safe_markdown
from tests.adversarial import RELEASE, SOURCE


@pytest.mark.parametrize(
    "attack",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](javascript\\:alert(1))",
        "[x]: vbscript:msgbox(1)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[x](&#106;avascript:alert(1))",
        "[x](javascript&#58;alert(1))",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_urls_are_defused(attack):
    safe = safe_markdown(attack).lower()
    for scheme in ("javascript:", "vbscript:", "data:", "&#", "<"):
        assert scheme not in safe.replace("\\", ""), safe


def test_plain_markdown_and_math_stay_readable():
    text = "**MAE** & *Huber*: $|u| < \\delta$ and $$\\sum_i u_i^2 < c$$, see [docs](https://x.org)"
    safe = safe_markdown(text)
    assert safe.startswith("**MAE** & *Huber*: ")
    assert "$|u| \\lt  \\delta$" in safe and "$$\\sum_i u_i^2 \\lt  c$$" in safe
    assert "[docs](https://x.org)" in safe
    assert safe_markdown("a <b>tag</b>") == "a &lt;b>tag&lt;/b>"


def test_the_record_of_odd_text_validates_and_writes(tmp_path):
    assignment = Assignment.load(SOURCE, RELEASE)
    path = tmp_path / "nb.ipynb"
    cells = [
        {"cell_type": "markdown", "source": ["lone \ud800", " <script>x</script>"]},
        {"cell_type": "raw", "source": "<b>raw</b>"},
        {"cell_type": "code", "source": 3},
    ]
    path.write_text(json.dumps({"cells": cells}))
    notes: list[str] = []
    read = read_cells(path, notes)
    assert len(read) == 2 and any("lone surrogates" in n for n in notes)
    result = Result("nb.ipynb", "graded", notes=[*notes, "file <i>\udcff</i>.ipynb"])
    result.tests = [grader.TestOutcome("mse_basic", 0.0, 2.0, "out \ud800", "msg \udfff")]
    nb = record(assignment, read, {}, result)
    text = nbformat.writes(nb)
    text.encode("utf-8")
    assert "&lt;script>" in text and "&lt;b&gt;raw&lt;/b&gt;" in text and "&lt;i>" in text
