"""Grade one submitted notebook: ``python -m autograder.grading.grader --source ... --submission ...``.

The grading happens in two processes that never share memory:

1. the student's code cells run in a sandboxed worker (:mod:`autograder.grading.sandbox`);
2. this process runs the *instructor's* test cells, from ``course/source``, with each name the
   student defined replaced by a stand-in that calls into the worker. The checks compare what
   comes back with the ``lossutils`` reference here, where student code cannot reach.

So a submission cannot change the tests (its own test cells are ignored), cannot patch what the
checks use (that happens in another process) and cannot read or write the course.

The output is a notebook in the shape nbgrader expects (the student's cells, the instructor's
test cells with their outcome as outputs, any missing graded cell restored from the release) and
``result.json`` with the scores. ``lossgrade autograde`` then writes the scores into the gradebook.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import io
import json
import os
import re
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder import core
from autograder.grading.collect import NOTES
from autograder.grading.sandbox import Crash, Limits, Sandbox, SandboxError, isolation

MAX_NOTEBOOK_MB = 100
MAX_COLLECT_NOTES = 20_000
CELL_TYPES = ("code", "markdown", "raw")


@dataclass
class TestOutcome:
    grade_id: str
    points: float
    max_points: float
    output: str = ""
    message: str = ""  # why it failed; empty when it passed


@dataclass
class Result:
    notebook: str
    status: str  # "graded", "no notebook", "unreadable notebook"
    score: float = 0.0
    max_score: float = 0.0
    tests: list[TestOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolation: str = ""


class Unreadable(Exception):
    """The submission is not a notebook the grader can read; the message says why."""


# ------------------------------------------------------------------------------ notebooks


def _nbgrader(cell) -> dict:
    md = cell.get("metadata") if isinstance(cell, dict) else None
    meta = md.get("nbgrader") if isinstance(md, dict) else None
    return meta if isinstance(meta, dict) else {}


def _is_test(meta: dict) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution")


def _source(value) -> str | None:
    """A cell's source as text (a string or a list of strings); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    """``text`` with every lone surrogate (not valid Unicode, unwritable as UTF-8) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


# ------------------------------------------------------------------------------ safe to show

# what nbconvert (and the notebook) render as math; inside it `<` is written `\lt`
_MATH = re.compile(
    r"(?<!\\)\$\$.*?(?<!\\)\$\$|(?<![$\\])\$.+?(?<![$\\])\$|\\{1,2}\[.*?\\{1,2}\]"
    r"|\\{1,2}\(.*?\\{1,2}\)|\\begin\{([a-z]*\*?)\}.*?\\end\{\1\}",
    re.DOTALL,
)
_CHAR_REF = re.compile(r"&(?=#?\w+;)")
_SCHEME = re.compile(
    r"\b(?:"
    + "|".join(r"[\s\\]*".join(word) for word in ("javascript", "vbscript", "data"))
    + r")[\s\\]*:",
    re.IGNORECASE,
)


def safe_markdown(text: str) -> str:
    """Markdown that renders as the text it was, never as HTML: no tags or character references
    (``<`` and ``&`` escaped; ``\\lt`` inside math, which stays math), and no ``javascript:``,
    ``vbscript:`` or ``data:`` URL (its colon becomes a full-width one)."""
    text = _CHAR_REF.sub("&amp;", _clean(text))
    text = _SCHEME.sub(lambda m: m[0][:-1] + "\uff1a", text)
    out, at = [], 0
    for m in _MATH.finditer(text):
        out += [text[at : m.start()].replace("<", "&lt;"), m[0].replace("<", "\\lt ")]
        at = m.end()
    out.append(text[at:].replace("<", "&lt;"))
    return "".join(out)


def _shown(kind: str, text: str, release_texts: set[str]) -> str:
    """A student's cell source as the record keeps it: code as it is (always shown as text),
    markdown and raw cells made safe to render unless they are the release's own."""
    if kind == "code" or text in release_texts:
        return text
    return safe_markdown(text) if kind == "markdown" else html.escape(text)


def find_notebook(folder: Path, name: str) -> tuple[Path | None, list[str]]:
    """The submitted notebook ``name`` in ``folder``, or the only other notebook there."""
    wanted = folder / name
    if wanted.is_symlink():  # it could point at the solutions
        return None, [f"{name} is a symbolic link, not a file; submit the notebook itself"]
    if wanted.is_file():
        return wanted, []
    others = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if len(others) == 1:
        return others[0], [f"graded {others[0].name}: the submission had no {name}"]
    found = ", ".join(p.name for p in others) or "no notebook at all"
    return None, [f"no {name} in the submission (found: {found})"]


def read_cells(path: Path, notes: list[str]) -> list[dict]:
    """The cells of a submitted notebook, read leniently (problems go to ``notes``); raises
    :class:`Unreadable` when there is no notebook to grade."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_MB * 2**20:
            raise Unreadable(
                f"{path.name} is {size / 2**20:.0f} MB (the limit is {MAX_NOTEBOOK_MB} MB)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"{path.name} could not be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", errors="replace")
        notes.append(
            f"{path.name} is not valid UTF-8 (first bad byte at {exc.start}); "
            "undecodable bytes were replaced by U+FFFD"
        )
    try:
        data = json.loads(text)
    except RecursionError:
        raise Unreadable(f"{path.name} is not a notebook: its JSON is nested too deeply") from None
    except ValueError as exc:  # invalid JSON, or a number with too many digits
        raise Unreadable(f"{path.name} is not a notebook: invalid JSON ({exc})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise Unreadable(f"{path.name} is not a notebook: it has no list of cells")
    good = [cell for cell in map(_read_cell, cells) if cell is not None]
    if len(good) < len(cells):
        notes.append(
            f"{len(cells) - len(good)} malformed cell(s) were ignored (a cell needs a cell_type "
            "of code, markdown or raw and a source made of text)"
        )
    odd_ids = sum(1 for c in cells if not isinstance(_nbgrader(c).get("grade_id", ""), str))
    if odd_ids:
        notes.append(f"{odd_ids} cell(s) had a grade_id that is not text; it was ignored")
    mended = sum(1 for c in good if c.pop("mended"))
    if mended:
        notes.append(
            f"{mended} cell(s) held lone surrogates (text that is not valid Unicode); "
            "they were replaced by U+FFFD"
        )
    return good


def _read_cell(cell) -> dict | None:
    """A submitted cell reduced to what the grader uses, or None when it is malformed."""
    kind = cell.get("cell_type") if isinstance(cell, dict) else None
    source = _source(cell.get("source")) if kind in CELL_TYPES else None
    if source is None:
        return None
    meta = _nbgrader(cell)
    gid = meta.get("grade_id")
    nbgrader = {k: bool(meta.get(k)) for k in ("grade", "solution", "locked")}
    if isinstance(gid, str):
        nbgrader["grade_id"] = _clean(gid)
    text = _clean(source)
    return {
        "cell_type": kind,
        "source": text,
        "metadata": {"nbgrader": nbgrader},
        "mended": text != source or gid != nbgrader.get("grade_id", gid),
    }


@dataclass
class Assignment:
    """What the grader trusts: the source notebook (tests) and the release (student version)."""

    source: nbformat.NotebookNode
    release: nbformat.NotebookNode

    @classmethod
    def load(cls, source: Path, release: Path) -> Assignment:
        return cls(nbformat.read(source, as_version=4), nbformat.read(release, as_version=4))

    @functools.cached_property
    def tests(self) -> list[tuple[str, float, str]]:
        """(grade_id, points, source) of every autograded test cell."""
        return [
            (_nbgrader(c)["grade_id"], float(_nbgrader(c).get("points", 0)), c.source)
            for c in self.source.cells
            if c.cell_type == "code" and _is_test(_nbgrader(c))
        ]

    @functools.cached_property
    def setup(self) -> list[str]:
        """Locked code cells that are not tests (imports the tests rely on)."""
        return [
            c.source
            for c in self.source.cells
            if c.cell_type == "code" and _nbgrader(c).get("locked") and not _is_test(_nbgrader(c))
        ]

    @functools.cached_property
    def graded_cells(self) -> dict[str, nbformat.NotebookNode]:
        """Release cells with a grade id, in order."""
        return {
            _nbgrader(c)["grade_id"]: c for c in self.release.cells if _nbgrader(c).get("grade_id")
        }


# ------------------------------------------------------------------------------ grading


def student_code(cells: list[dict], assignment: Assignment) -> list[tuple[int, str]]:
    """(index, source) of the code cells to run: every code cell except test cells."""
    test_ids = {gid for gid, _, _ in assignment.tests}
    out = []
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if cell.get("cell_type") != "code" or _is_test(meta) or meta.get("grade_id") in test_ids:
            continue
        out.append((i, cell["source"]))
    return out


def run_tests(assignment: Assignment, names: dict[str, object]) -> list[TestOutcome]:
    """Run the instructor's test cells here, with the student's names as stand-ins."""
    local, core.LOCAL_TIME_LIMIT = core.LOCAL_TIME_LIMIT, False  # the worker times each call
    try:
        return _run_tests(assignment, names)
    finally:
        core.LOCAL_TIME_LIMIT = local


def _run_tests(assignment: Assignment, names: dict[str, object]) -> list[TestOutcome]:
    trusted: dict[str, object] = {"__name__": "__grader__"}
    for source in assignment.setup:
        exec(compile(source, "<setup>", "exec"), trusted)  # noqa: S102 - the instructor's code
    outcomes = []
    for gid, points, source in assignment.tests:
        namespace = {**names, **trusted}
        sink = io.StringIO()
        message = ""
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(compile(source, f"<test {gid}>", "exec"), namespace)  # noqa: S102
        except AssertionError as exc:
            message = str(exc) or "assertion failed"
        except Crash as exc:
            message = f"your code {exc}"
        except Exception as exc:  # noqa: BLE001 - a missing name, a check that could not run
            message = f"{type(exc).__name__}: {exc}"
        outcomes.append(
            TestOutcome(gid, 0.0 if message else points, points, sink.getvalue(), message)
        )
    return outcomes


def collect_notes(folder: Path) -> list[str]:
    """What ``lossgrade collect`` left behind and why (its ``collect_notes.txt``)."""
    path = folder / NOTES
    if path.is_symlink() or not path.is_file():
        return []
    text = path.read_bytes()[:MAX_COLLECT_NOTES].decode("utf-8", errors="replace")
    return [f"collect: {line}" for line in text.splitlines() if line.strip()]


def grade(
    assignment: Assignment, folder: Path, notebook: str, limits: Limits
) -> tuple[Result, nbformat.NotebookNode]:
    """Grade the submission in ``folder``; the result and the notebook to record."""
    result = Result(notebook=notebook, status="graded", isolation=isolation())
    tests = assignment.tests
    result.max_score = sum(p for _, p, _ in tests)
    path, found = find_notebook(folder, notebook)
    result.notes = collect_notes(folder) + found
    cells: list[dict] = []
    try:
        if path is None:
            result.status = "no notebook"
            raise Unreadable(result.notes[-1])
        cells = read_cells(path, result.notes)
    except Unreadable as exc:
        result.status = "unreadable notebook" if path is not None else result.status
        if path is not None:
            result.notes.append(str(exc))
        result.tests = [TestOutcome(g, 0.0, p, "", f"not graded: {exc}") for g, p, _ in tests]
        _mend(result)
        return result, record(assignment, [], {}, result)

    code = student_code(cells, assignment)
    with Sandbox([src for _, src in code], limits) as sandbox:
        try:
            ran = sandbox.start()
            names = sandbox.remotes()
        except Crash as exc:
            ran, names = [], {}
            result.notes.append(f"the notebook's code could not be run: {exc}")
        executed = {i: r for (i, _), r in zip(code, ran, strict=False)}
        for i, r in executed.items():
            if not r.ok and ("took longer" in r.error or "Python process" in r.error):
                result.notes.append(f"cell {i + 1}: {r.error}; the grader skipped it")
        result.tests = run_tests(assignment, names)
    result.score = sum(t.points for t in result.tests)
    _mend(result)
    return result, record(assignment, cells, executed, result)


def _mend(result: Result) -> None:
    """Replace lone surrogates (a file name's undecodable bytes, the student's output) in the
    result's text, so that ``result.json`` is valid Unicode."""
    result.notes = [_clean(n) for n in result.notes]
    for t in result.tests:
        t.output, t.message = _clean(t.output), _clean(t.message)


# ------------------------------------------------------------------------------ the record


def _outputs(output: str, error: str = "") -> list:
    """A stream and an error output (nbconvert and the notebook show both as escaped text)."""
    outs = []
    output, error = _clean(output), _clean(error)
    if output:
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=output))
    if error:
        ename, _, evalue = error.partition(": ")
        outs.append(nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[error]))
    return outs


def _cell(cell_type: str, source: str, meta: dict | None = None):
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell_type]
    new = make(_clean(source))
    if meta:
        new.metadata["nbgrader"] = json.loads(json.dumps(meta))
    return new


def record(assignment: Assignment, cells: list[dict], executed: dict, result: Result):
    """The graded notebook: the student's cells with nbgrader metadata only where it matches the
    release (first copy of each id, same cell type), every release cell with a grade id that is
    missing put back where it belongs, and the outcome of each test as its output.

    Whatever came from the student is stored safe to render (feedback HTML, formgrader): their
    markdown and raw cells as text (see :func:`safe_markdown`), and no lone surrogates anywhere."""
    release = assignment.graded_cells
    release_texts = {c.source for c in assignment.release.cells if c.cell_type != "code"}
    order = list(release)
    out, placed = [], {}
    for i, cell in enumerate(cells):
        kind, gid = cell["cell_type"], _nbgrader(cell).get("grade_id")
        shown = _shown(kind, cell["source"], release_texts)
        ref = release.get(gid) if isinstance(gid, str) and gid not in placed else None
        if ref is not None and ref.cell_type == kind:
            meta = _nbgrader(ref)
            keep_student = not meta.get("locked") and not _is_test(meta)
            new = _cell(kind, shown if keep_student else ref.source, meta)
            placed[gid] = len(out)
        else:
            new = _cell(kind, shown)
        if kind == "code" and i in executed:
            new.outputs = _outputs(executed[i].output, executed[i].error)
        out.append(new)
    for k, gid in enumerate(order):
        if gid in placed:
            continue
        before = [placed[g] for g in order[:k] if g in placed]
        at = max(before) + 1 if before else 0
        for g in placed:
            placed[g] += placed[g] >= at
        ref = release[gid]
        out.insert(at, _cell(ref.cell_type, ref.source, _nbgrader(ref)))
        placed[gid] = at
    outcome = {t.grade_id: t for t in result.tests}
    for gid, at in placed.items():
        if gid in outcome:
            t = outcome[gid]
            out[at].outputs = _outputs(
                t.output, f"AssertionError: {t.message}" if t.message else ""
            )
    if result.notes:  # they quote file names and errors: shown as text, never as markup
        lines = "\n".join(f"- {safe_markdown(n)}" for n in result.notes)
        out.insert(0, _cell("markdown", f"**Notes from the grader**\n\n{lines}"))
    nb = nbformat.v4.new_notebook(cells=out, metadata=assignment.release.metadata)
    nbformat.validate(nb)
    return nb


# ------------------------------------------------------------------------------ CLI


def write(result: Result, nb, out: Path) -> None:
    """Write the notebook, then ``result.json`` (its presence means the grading finished)."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{result.notebook}.tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, out / result.notebook)
    tmp = out / ".result.json.tmp"
    tmp.write_text(json.dumps(asdict(result), indent=1))
    os.replace(tmp, out / "result.json")


def grade_to(source: Path, release: Path, submission: Path, out: Path) -> Result:
    """Grade ``submission`` and write the notebook and ``result.json`` to ``out``."""
    assignment = Assignment.load(source, release)
    result, nb = grade(assignment, submission, source.name, Limits.from_env())
    write(result, nb, out)
    return result


def serve() -> int:
    """Grade one submission per request line on stdin (JSON with the arguments of
    :func:`grade_to`), answering one JSON line each: ``{"ok": true}`` or the error.

    ``lossgrade`` keeps one such process per job, so the imports are paid once, not per
    submission. Replies go to the original stdout; anything else printed goes to stderr.
    """
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            grade_to(*(Path(req[k]) for k in ("source", "release", "submission", "out")))
            reply = {"ok": True}
        except (Exception, SandboxError) as exc:  # noqa: BLE001 - reported; nothing is cached
            traceback.print_exc()
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m autograder.grading.grader", description=__doc__.split("\n")[0]
    )
    p.add_argument("--serve", action="store_true", help="grade requests read from stdin")
    p.add_argument("--source", type=Path, help="the source notebook (with tests)")
    p.add_argument("--release", type=Path, help="the released notebook")
    p.add_argument("--submission", type=Path, help="the submission folder")
    p.add_argument("--out", type=Path, help="folder for the graded notebook")
    args = p.parse_args(argv)
    if args.serve:
        return serve()
    missing = [k for k in ("source", "release", "submission", "out") if getattr(args, k) is None]
    if missing:
        p.error("missing " + ", ".join(f"--{k}" for k in missing))
    try:
        result = grade_to(args.source, args.release, args.submission, args.out)
    except (Exception, SandboxError):  # noqa: BLE001 - lossgrade reports it, caches nothing
        traceback.print_exc()
        return 2
    print(json.dumps({"score": result.score, "max_score": result.max_score}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
