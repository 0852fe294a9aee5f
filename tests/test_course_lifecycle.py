"""The whole nbgrader lifecycle of every assignment, in a temporary copy of the course.

Instructor steps go through ``lossgrade`` (so the CLI is tested end to end); student steps use
nbgrader's own ``fetch_assignment`` / ``submit`` against a temporary exchange. Per assignment:
the worked solution scores full marks, the blank release scores zero, each known-wrong
variant (variant k of every function in one notebook, collected from an LMS-style zip) loses
exactly the cells ``<function>_<part>`` it should, each right answer written differently scores
full marks, a function that calls a forbidden library loses its cells with the message
``check(...)`` gives on the student's machine, and no cell of the worked solution shows an error.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the case modules import `tests.course_cases`
    sys.path.insert(0, str(ROOT))

from tests.course_cases import all_cases  # noqa: E402

pytestmark = pytest.mark.slow

COURSE = ROOT / "course"
COURSE_ID = "loss-functions"
ASSIGNMENTS = sorted(
    p.name for p in (COURSE / "source").iterdir() if (p / f"{p.name}.ipynb").exists()
)
CASES = all_cases()
CORRECT = all_cases("CORRECT")
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)
BIN = Path(sys.executable).parent


def env(exchange: Path) -> dict[str, str]:
    e = dict(os.environ)
    e["PATH"] = os.pathsep.join([str(BIN), e.get("PATH", "")])
    e["LOSSGRADE_EXCHANGE"] = str(exchange)
    e["MPLBACKEND"] = "Agg"
    return e


def run(cmd: list[str], cwd: Path, exchange: Path) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env(exchange), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout + proc.stderr


def lossgrade(course: Path, *args: str) -> str:
    exe = BIN / "lossgrade"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "autograder.grading.lossgrade"]
    return run([*cmd, *args, "--course", str(course)], course.parent, course.parent / "exchange")


def student_nbgrader(home: Path, exchange: Path, *args: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    flags = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}"]
    run([sys.executable, "-m", "nbgrader", *args, *flags], home, exchange)


def source_cells(ps: str) -> tuple[dict[str, str], list[str], dict[str, list[str]]]:
    """Solution code by grade_id (markers removed), the autograded test cell ids, and the lines
    between the solution markers by grade_id."""
    nb = nbformat.read(COURSE / "source" / ps / f"{ps}.ipynb", as_version=4)
    solutions, tests, hidden = {}, [], {}
    region = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            solutions[meta["grade_id"]] = MARKERS.sub("", cell.source)
            hidden[meta["grade_id"]] = [
                ln.strip() for m in region.findall(cell.source) for ln in m.splitlines()
            ]
        elif meta.get("grade"):
            tests.append(meta["grade_id"])
    return solutions, tests, hidden


def fill(release_nb: Path, dest: Path, replace: dict[str, str]) -> None:
    """Write the release notebook with the solution cells in ``replace`` swapped in."""
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in replace:
            cell.source = replace[gid]
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


def variant_submissions(ps: str) -> dict[str, tuple[dict[str, str], set[str], dict]]:
    """student (a Canvas user id) -> (solution cells to use, grade cells that must score zero,
    the variant used for each function). Students 1000, 1001, ... hand in the known-wrong variants,
    students 2000, 2001, ... the right answers written differently (nothing may score zero)."""
    solutions, _, _ = source_cells(ps)
    out = {}
    for first, cases in (
        (1000, CASES.get(ps.split("_")[0], {})),
        (2000, CORRECT.get(ps.split("_")[0], {})),
    ):
        for k in range(max((len(v) for v in cases.values()), default=0)):
            cells, zero, used = dict(solutions), set(), {}
            for fn, variants in cases.items():
                if k < len(variants):
                    assert fn in cells, f"{ps}: no solution cell with grade_id {fn!r}"
                    cells[fn] = variants[k].source
                    zero |= {f"{fn}_{part}" for part in variants[k].fails}
                    used[fn] = variants[k]
            out[str(first + k)] = (cells, zero, used)
    return out


def scores(course: Path, ps: str, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ps, ps, student)
        return {g.name: (g.score, g.max_score) for g in nb.grades}


VALIDATE = """
import json, sys
from nbgrader.validator import Validator
print(json.dumps({path: Validator().validate(path) for path in sys.argv[1:]}))
"""


def validate_sources(names: list[str], base: Path) -> dict[str, dict]:
    """``nbgrader validate`` of the source notebooks in one process: {name: problems}."""
    base.mkdir(parents=True, exist_ok=True)
    paths = [str(COURSE / "source" / ps / f"{ps}.ipynb") for ps in names]
    proc = subprocess.run(
        [sys.executable, "-c", VALIDATE, *paths],
        cwd=base,
        env=env(base),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return {Path(path).stem: problems for path, problems in found.items()}


def pipeline(ps: str, base: Path) -> dict:
    """Release, submit, collect, autograde, feedback and export one assignment.

    Each assignment gets its own course copy (config and sources) and exchange in ``base``.
    """
    course, exchange = base / "course", base / "exchange"
    course.mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source", course / "source")
    exchange.mkdir()
    lossgrade(course, "release", ps)
    solutions, tests, _ = source_cells(ps)
    # two students through the exchange: the worked solution and the untouched release
    fetched = base / "students" / ps / "fetched"
    student_nbgrader(fetched, exchange, "fetch_assignment", ps)
    for student in ("solution", "blank"):
        home = base / "students" / ps / student
        shutil.copytree(fetched, home)
        if student == "solution":
            nb = home / ps / f"{ps}.ipynb"
            fill(nb, nb, solutions)
        student_nbgrader(home, exchange, "submit", ps, f"--student={student}")
    lossgrade(course, "collect", ps)
    # the known-wrong variants arrive as a Canvas zip: <lastfirst>_<userid>_<submissionid>_<file>
    variants = variant_submissions(ps)
    if variants:
        staging = base / "lms" / ps
        for student, (cells, _, _) in variants.items():
            name = f"variant{student}_{student}_{int(student) + 5000}_{ps}.ipynb"
            fill(course / "release" / ps / f"{ps}.ipynb", staging / name, cells)
        archive = base / "lms" / f"{ps}.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            for f in sorted(staging.iterdir()):
                zf.write(f, f.name)
        lossgrade(course, "collect", ps, "--zip", str(archive))
    log = lossgrade(course, "autograde", ps, "--jobs", "2")
    lossgrade(course, "feedback", ps)
    csv_path = base / f"grades_{ps}.csv"
    lossgrade(course, "export", "--to", str(csv_path))
    return {
        "ps": ps,
        "course": course,
        "tests": tests,
        "variants": variants,
        "log": log,
        "csv": csv_path,
    }


@pytest.fixture(scope="module")
def term(request, tmp_path_factory):
    """Every assignment through the pipeline, two assignments at a time.

    Only the assignments of the selected tests run (``-k ps01`` runs one). Returns
    ``{ps: result dict or the exception its pipeline raised}``.
    """
    selected = {
        item.callspec.params["graded"]
        for item in request.session.items
        if "graded" in getattr(getattr(item, "callspec", None), "params", {})
    }
    base = tmp_path_factory.mktemp("term")
    results: dict[str, object] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        validation = pool.submit(validate_sources, sorted(selected), base / "validate")
        futures = {pool.submit(pipeline, ps, base / ps): ps for ps in sorted(selected)}
        for fut in as_completed(futures):
            try:
                results[futures[fut]] = fut.result()
            except Exception as exc:  # reported by that assignment's tests only
                results[futures[fut]] = exc
        problems = validation.result() if selected else {}
    for ps, found in problems.items():
        if isinstance(results.get(ps), dict):
            results[ps]["validate"] = found
    return results


@pytest.fixture(params=ASSIGNMENTS)
def graded(request, term):
    result = term[request.param]
    if isinstance(result, Exception):
        raise result
    return result


def test_solution_scores_full_marks(graded):
    got = scores(graded["course"], graded["ps"], "solution")
    for cell in graded["tests"]:
        score, max_score = got[cell]
        assert score == max_score, f"{cell}: {score}/{max_score}"


def test_blank_release_scores_zero(graded):
    got = scores(graded["course"], graded["ps"], "blank")
    assert all(got[cell][0] == 0 for cell in graded["tests"]), got


def test_variants_lose_exactly_their_cells(graded):
    if not graded["variants"]:
        pytest.skip(f"no tests/course_cases for {graded['ps']}")
    for student, (_, zero, _) in graded["variants"].items():
        got = scores(graded["course"], graded["ps"], student)
        lost = {cell for cell in graded["tests"] if got[cell][0] < got[cell][1]}
        assert lost == zero, f"{student}: lost {sorted(lost)}, expected {sorted(zero)}"
        assert all(got[cell][0] == 0 for cell in zero), (
            f"{student}: partial score in a failing cell"
        )


def graded_messages(course: Path, ps: str, student: str) -> dict[str, str]:
    """What the grader said for each test cell of a student (empty where it passed)."""
    result = course / "lossgrade" / ps / "students" / student / "result.json"
    return {t["grade_id"]: t["message"] for t in json.loads(result.read_text())["tests"]}


def test_a_forbidden_library_loses_the_same_points_with_the_same_message(graded):
    """The library rule, graded: every cell of a function that calls a forbidden library scores
    zero, and its message is, word for word, what ``grade`` says on the student's machine."""
    from autograder import grade
    from tests.course_cases import compile_function

    ps, short = graded["ps"], graded["ps"].split("_")[0]
    compared = 0
    for student, (_, _, used) in graded["variants"].items():
        got = graded_messages(graded["course"], ps, student)
        for fn, variant in used.items():
            if not any("this exercise forbids" in words for words in variant.says):
                continue
            for part in variant.fails:
                with pytest.raises(AssertionError) as local:
                    grade(f"{short}.{fn}", compile_function(variant.source, fn), part=part)
                assert got[f"{fn}_{part}"] == str(local.value), f"{student} {fn}_{part}"
                compared += 1
    assert compared, f"{ps}: no course case calls a forbidden library"


def test_no_cell_of_the_worked_solution_shows_an_error(graded):
    """Instructor cells (demonstrations, plots) run in the grader too: none may fail there."""
    ps = graded["ps"]
    graded_nb = graded["course"] / "lossgrade" / ps / "students" / "solution" / f"{ps}.ipynb"
    nb = nbformat.read(graded_nb, as_version=4)
    errors = [
        (i, out.get("ename"), out.get("evalue"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors


def test_release_hides_solutions_and_hidden_tests(graded):
    ps, course = graded["ps"], graded["course"]
    text = (course / "release" / ps / f"{ps}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    release = nbformat.read(course / "release" / ps / f"{ps}.ipynb", as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in release.cells}
    _, _, hidden = source_cells(ps)
    for gid, lines in hidden.items():
        assert "raise NotImplementedError" in by_id[gid].source, gid
        leaked = [ln for ln in lines if len(ln) > 12 and ln in by_id[gid].source]
        assert not leaked, f"{gid}: solution lines in the release: {leaked}"


def test_feedback_shows_failures_not_hidden_code(graded):
    ps, course = graded["ps"], graded["course"]
    html = (course / "feedback" / "blank" / ps / f"{ps}.html").read_text()
    assert "HIDDEN TESTS" not in html
    source = nbformat.read(COURSE / "source" / ps / f"{ps}.ipynb", as_version=4)
    for cell in source.cells:
        m = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)\n### END HIDDEN TESTS", cell.source, re.S)
        if m:
            for line in m[1].splitlines():
                assert line.strip().replace('"', "&quot;") not in html, line
    assert "AssertionError" in html and "\u2717" in html  # the student sees what failed
    assert (course.parent / "exchange" / COURSE_ID / "feedback").is_dir()


def test_export_has_nbgrader_columns(graded):
    with graded["csv"].open() as f:
        rows = [r for r in csv.DictReader(f) if r["assignment"] == graded["ps"]]
    assert {"student_id", "raw_score", "score", "max_score", "timestamp"} <= set(rows[0])
    by_student = {r["student_id"]: r for r in rows}
    assert float(by_student["blank"]["score"]) == 0
    solution = scores(graded["course"], graded["ps"], "solution")
    auto_points = sum(solution[c][1] for c in graded["tests"])
    assert float(by_student["solution"]["raw_score"]) == pytest.approx(auto_points)
    assert {"solution", "blank", *graded["variants"]} <= set(by_student)


def test_source_validates(graded):
    assert graded["validate"] == {}, graded["validate"]


def test_a_broken_submission_scores_zero_with_the_reason_and_the_rest_is_kept(graded):
    if graded["ps"] != ASSIGNMENTS[0]:
        pytest.skip("checked on one assignment")
    ps, course = graded["ps"], graded["course"]
    before = scores(course, ps, "solution")
    broken = course / "submitted" / "broken" / ps
    broken.mkdir(parents=True)
    (broken / f"{ps}.ipynb").write_text("{ this is not a notebook")
    exe = [sys.executable, "-m", "autograder.grading.lossgrade"]
    args = ["autograde", ps, "--jobs", "2", "--student", "broken", "--student", "solution"]
    proc = subprocess.run(
        [*exe, *args, "--course", str(course)],
        env=env(course.parent / "exchange"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "autograded 2 of 2" in proc.stdout
    assert "broken: " in proc.stdout and "invalid JSON" in proc.stdout
    assert "(1 unchanged since the last run)" in proc.stdout  # the solution was not regraded
    assert scores(course, ps, "solution") == before
    assert all(score == 0 for score, _ in scores(course, ps, "broken").values())
