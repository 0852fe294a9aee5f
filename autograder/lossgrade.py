"""``lossgrade``: one command per step of the nbgrader lifecycle, for instructors.

    lossgrade release PS             generate the student version and release it to the exchange
    lossgrade collect PS             collect submissions from the exchange
    lossgrade collect PS --zip FILE  ... or from an LMS zip download (files <student>_<PS>.ipynb)
    lossgrade autograde PS [--jobs N]
    lossgrade feedback PS            feedback HTML (hidden test code left out), returned via exchange
    lossgrade export [--to FILE]     grades as CSV (nbgrader's columns)

Every subcommand takes ``--course DIR`` (default ``course``). Autograding runs each submission with
nbgrader in its own temporary copy of the course (so student code never runs next to ``source/``
or the gradebook, and ``--jobs`` can run several at once); the results are then written into the
real gradebook by one nbgrader process, without running student code again.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from autograder.build import nbgrader, tool_env

SUBMISSION_TIMEOUT = 3600  # seconds for one whole submission (cells have their own limit)
MAX_BATCH = 8  # submissions per nbgrader run in a worker


@dataclass
class Outcome:
    student: str
    ok: bool
    message: str = ""


def _course(path: str) -> Path:
    course = Path(path).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise SystemExit(f"{course} is not a course folder (no nbgrader_config.py)")
    return course


def _run(course: Path, *args: str) -> int:
    return nbgrader(course, *args, check=False).returncode


def _hide_hidden_test_source_class():
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Bool

    class HideHiddenTestSource(Preprocessor):
        """Feedback step: cut the traceback of a failed hidden-test cell down to its message.

        An IPython traceback quotes the lines of the cell, which would show the hidden test
        code; the ``AssertionError`` raised by :func:`autograder.grade` already says what failed
        and why. Runs before nbgrader's ``ClearHiddenTests`` (which still sees the markers).
        """

        enabled = Bool(True).tag(config=True)

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [f"{output.ename}: {output.evalue}"]
            return cell, resources

    HideHiddenTestSource.__module__ = __name__
    return HideHiddenTestSource


def __getattr__(name: str):
    # built on first use so that `lossgrade` starts without importing nbconvert
    if name == "HideHiddenTestSource":
        cls = _hide_hidden_test_source_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------ commands


def cmd_release(course: Path, ps: str) -> int:
    if _run(course, "generate_assignment", ps, "--force") != 0:
        return 1
    return _run(course, "release_assignment", ps, "--force")


def cmd_collect(course: Path, ps: str, zip_file: str | None) -> int:
    if zip_file is None:
        return _run(course, "collect", ps, "--update")
    archive = course / "downloaded" / ps / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir(parents=True)
    shutil.copy(zip_file, archive / Path(zip_file).name)
    return _run(course, "zip_collect", ps, "--force")


def submissions(course: Path, ps: str) -> list[str]:
    """Students with a submission of ``ps`` in ``course/submitted``."""
    root = course / "submitted"
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if (p / ps).is_dir())


def _grade_in_copy(course: Path, ps: str, students: list[str], work: Path) -> list[Outcome]:
    """Autograde some submissions with one nbgrader run inside ``work``, a copy of the course."""
    work.mkdir(parents=True)
    shutil.copy(course / "nbgrader_config.py", work)
    shutil.copy(course / "gradebook.db", work)
    if (course / "source" / ps).exists():
        shutil.copytree(course / "source" / ps, work / "source" / ps)
    for student in students:
        shutil.copytree(course / "submitted" / student / ps, work / "submitted" / student / ps)
    log = work / "autograde.log"
    cmd = [sys.executable, "-m", "nbgrader", "autograde", ps, "--force"]
    timeout = SUBMISSION_TIMEOUT * len(students)
    try:
        with log.open("w") as out:
            subprocess.run(
                cmd, cwd=work, env=tool_env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
    except subprocess.TimeoutExpired:
        pass  # whatever finished is kept; the rest is reported below
    errors = [line.strip() for line in log.read_text().splitlines() if "ERROR" in line]
    outcomes = []
    for student in students:
        # nbgrader removes the output of a submission it could not process
        if any((work / "autograded" / student / ps).glob("*.ipynb")):
            outcomes.append(Outcome(student, True))
        else:
            mine = [e for e in errors if student in e] or errors or ["nbgrader autograde failed"]
            outcomes.append(Outcome(student, False, mine[-1]))
    return outcomes


def _chunks(students: list[str], jobs: int) -> list[list[str]]:
    """About one batch per worker (at most MAX_BATCH each): few nbgrader start-ups, some progress."""
    size = max(1, min(MAX_BATCH, math.ceil(len(students) / jobs)))
    return [students[i : i + size] for i in range(0, len(students), size)]


MERGE_SCRIPT = """
import sys
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.apps import AutogradeApp
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, DeduplicateIds, LimitOutput, OverwriteCells,
    OverwriteKernelspec, SaveAutoGrades,
)
from traitlets.config import Config

ps, staged = sys.argv[1], sys.argv[2]
cfg = Config()
cfg.CourseDirectory.submitted_directory = staged
# the notebooks were executed already: keep their outputs, do not run them again
cfg.Autograde.sanitize_preprocessors = [
    DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata,
]
cfg.Autograde.autograde_preprocessors = [
    ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
app = AutogradeApp(config=cfg)
app.initialize([ps, "--force"])
app.start()
"""


def cmd_autograde(course: Path, ps: str, jobs: int = 1, students: list[str] | None = None) -> int:
    """Grade every submission of ``ps``; one failing submission never stops the others."""
    from tqdm.auto import tqdm

    todo = students or submissions(course, ps)
    if not todo:
        print(f"no submissions of {ps} in {course / 'submitted'}; run `lossgrade collect {ps}`")
        return 1
    if not (course / "gradebook.db").exists() or not (course / "release" / ps).exists():
        print(f"{ps} has not been released from this course yet; run `lossgrade release {ps}`")
        return 1
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="lossgrade-") as tmp:
        tmp_path = Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(_grade_in_copy, course, ps, batch, tmp_path / "work" / str(i)): batch
                for i, batch in enumerate(_chunks(todo, max(1, jobs)))
            }
            with tqdm(total=len(todo), desc=f"autograde {ps}", unit="submission") as bar:
                for fut in as_completed(futures):
                    try:
                        done = fut.result()
                    except Exception as exc:  # e.g. an unreadable submission folder
                        done = [
                            Outcome(s, False, f"{type(exc).__name__}: {exc}") for s in futures[fut]
                        ]
                    outcomes.extend(done)
                    bar.update(len(done))
        where = {
            o.student: src
            for src in (tmp_path / "work").iterdir()
            for o in outcomes
            if (src / "autograded" / o.student).exists()
        }
        graded = [o.student for o in outcomes if o.ok]
        staged = tmp_path / "executed"
        for student in graded:
            src = where[student] / "autograded" / student / ps
            shutil.copytree(src, staged / student / ps)
            stamp = course / "submitted" / student / ps / "timestamp.txt"
            if stamp.exists():
                shutil.copy(stamp, staged / student / ps / "timestamp.txt")
        merge_failed = False
        if graded:
            proc = subprocess.run(
                [sys.executable, "-c", MERGE_SCRIPT, ps, str(staged)],
                cwd=course,
                env=tool_env(),
                capture_output=True,
                text=True,
            )
            merge_failed = proc.returncode != 0
            if merge_failed:
                print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
    failed = [o for o in outcomes if not o.ok]
    print(f"autograded {len(graded)} of {len(todo)} submissions of {ps}")
    for o in sorted(failed, key=lambda o: o.student):
        print(f"  could not grade {o.student}: {o.message}")
    if merge_failed:
        print("  writing the scores to the gradebook failed (see above)")
    return 1 if failed or merge_failed else 0


def cmd_feedback(course: Path, ps: str) -> int:
    """Generate feedback HTML, then return it through the exchange where it came from there."""
    if _run(course, "generate_feedback", ps, "--force") != 0:
        return 1
    folders = sorted(p for p in (course / "feedback").glob(f"*/{ps}") if p.is_dir())
    # submissions collected from an LMS zip have no exchange timestamp: nothing to release to
    exchange = [p.parent.name for p in folders if (p / "timestamp.txt").exists()]
    lms = [p.parent.name for p in folders if not (p / "timestamp.txt").exists()]
    code = 0
    if exchange and not lms:
        code = _run(course, "release_feedback", ps)
    else:
        for student in exchange:
            code |= _run(course, "release_feedback", ps, "--student", student)
    if lms:
        print(
            f"{len(lms)} submission(s) came from an LMS zip; upload their feedback from "
            f"{course / 'feedback'}/<student>/{ps}/ to the LMS"
        )
    if code:
        print(f"feedback is in {course / 'feedback'}; returning it through the exchange failed")
    return 1 if code else 0


def cmd_export(course: Path, to: str | None) -> int:
    target = course / "grades.csv" if to is None else Path(to).resolve()
    code = _run(course, "export", f"--to={target}")
    if code == 0:
        print(f"grades written to {target}")
    return code


# ------------------------------------------------------------------------------ CLI


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", default="course", help="nbgrader course root (default: course)")
    top = argparse.ArgumentParser(
        prog="lossgrade",
        description="Run the nbgrader lifecycle for the Loss Functions course.",
        parents=[common],
    )
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", parents=[common], help="generate and release an assignment")
    p.add_argument("ps")
    p = sub.add_parser("collect", parents=[common], help="collect submissions")
    p.add_argument("ps")
    p.add_argument("--zip", metavar="FILE", help="an LMS zip of <student>_<PS>.ipynb files")
    p = sub.add_parser("autograde", parents=[common], help="autograde the collected submissions")
    p.add_argument("ps")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p = sub.add_parser("feedback", parents=[common], help="generate and return feedback")
    p.add_argument("ps")
    p = sub.add_parser("export", parents=[common], help="export grades as CSV")
    p.add_argument("--to", help="CSV file (default: grades.csv in the course folder)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    course = _course(args.course)
    if args.command == "release":
        return cmd_release(course, args.ps)
    if args.command == "collect":
        return cmd_collect(course, args.ps, args.zip)
    if args.command == "autograde":
        return cmd_autograde(course, args.ps, args.jobs, args.student)
    if args.command == "feedback":
        return cmd_feedback(course, args.ps)
    return cmd_export(course, args.to)


if __name__ == "__main__":
    raise SystemExit(main())
