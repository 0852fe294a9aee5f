"""``lossgrade``: one command per step of the nbgrader lifecycle, for instructors.

    lossgrade release PS             generate the student version and release it to the exchange
    lossgrade collect PS             collect submissions from the exchange
    lossgrade collect PS --zip FILE  ... or from a Canvas or Moodle zip download
    lossgrade autograde PS [--jobs N]
    lossgrade feedback PS            feedback HTML (hidden test code left out), returned via exchange
    lossgrade export [--to FILE]     grades as CSV (nbgrader's columns)

Every subcommand takes ``--course DIR`` (default ``course``). Autograding grades each submission
in its own grader process (:mod:`autograder.grading.grader`: student code in a sandbox, the instructor's
tests outside it), ``--jobs`` at a time, keeps each result under
``course/lossgrade/<PS>/students/<student>/``, and then writes the scores into the gradebook with
nbgrader, one process at a time. What a student named (ids, file names, notes) is printed through
:func:`autograder.grading.collect.safe`.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.grading.build import tool_env
from autograder.grading.collect import collect, id_problem, safe
from autograder.grading.sandbox import Limits, die_with_parent

GRADER_MARGIN = 300  # seconds a grader may take beyond the sandbox's submission limit
RESTART_EVERY = 50  # submissions per grader process
MERGE_CHUNK = 50  # graded notebooks written to the gradebook per nbgrader run
GRADER_MEMORY_MB = 4096  # address space of a grader process (LOSSGRADE_GRADER_MEMORY_MB)


@dataclass
class Outcome:
    student: str
    ok: bool  # a result exists (whatever the score)
    message: str = ""  # notes from the grader, or why there is no result
    result: dict | None = None
    cached: bool = False


def _course(path: str) -> Path:
    course = Path(path).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise SystemExit(f"{course} is not a course folder (no nbgrader_config.py)")
    return course


def _run(course: Path, *args: str) -> int:
    """An nbgrader command, its output (which quotes student ids and file names) made safe."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    for line in proc.stdout:
        print(safe(line.rstrip("\n")), flush=True)
    return proc.wait()


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
    from autograder.grading.collect import CollectError, exchange_check

    try:
        kind, problem = exchange_check(course)
    except CollectError as exc:
        kind, problem = "folder", str(exc)
    if problem:
        print(f"lossgrade release: {problem}")
        return 1
    if _run(course, "generate_assignment", ps, "--force") != 0:
        return 1
    if _run(course, "release_assignment", ps, "--force") != 0:
        return 1
    return _check_ngshare_release(course, ps) if kind == "ngshare" else 0


def _check_ngshare_release(course: Path, ps: str) -> int:
    """ngshare-exchange's release reports success whatever ngshare answered (and ngshare under
    SQLAlchemy 2 answers success and keeps nothing): ask ngshare for what students would fetch."""
    from autograder.grading.collect import ngshare_released

    release = course / "release" / ps
    wanted = sorted(str(p.relative_to(release)) for p in release.rglob("*") if p.is_file())
    held = ngshare_released(course, ps)
    missing = wanted if held is None else sorted(set(wanted) - set(held))
    if missing:
        print(
            f"lossgrade release: nbgrader reported success, but ngshare does not hold "
            f"{', '.join(safe(m) for m in missing)} of {ps}: students cannot fetch it. Check "
            f"that ngshare runs with its own pinned environment (SQLAlchemy 1.4) and that this "
            f"account is an instructor of the course there"
        )
        return 1
    print(f"{ps}: ngshare holds the release ({len(held)} files); students can fetch it")
    return 0


def submissions(course: Path, ps: str) -> list[str]:
    """Students with a submission of ``ps`` in ``course/submitted``; other names are reported."""
    root = course / "submitted"
    if not root.exists():
        return []
    found = []
    for p in sorted(root.iterdir()):
        why = id_problem(p.name)
        if why:
            print(f"  skipped {safe(root / p.name)}: {why}")
        elif (p / ps).is_dir():
            found.append(p.name)
    return found


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _folder_bytes(folder: Path) -> bytes:
    """Names and contents of the files in a submission folder (what its grade depends on)."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out += [str(p.relative_to(folder)).encode(), p.read_bytes()]
    return b"\0".join(out)


def _grader_version() -> bytes:
    """The grading code itself: a new check or a fix invalidates earlier results."""
    here = Path(__file__).resolve().parents[1]  # the whole autograder package, checks included
    return b"".join(p.read_bytes() for p in sorted(here.rglob("*.py")))


class GraderServer:
    """A ``python -m autograder.grading.grader --serve`` process, used by one thread at a time.

    It is restarted after ``RESTART_EVERY`` submissions (memory stays bounded) and whenever it
    dies or takes longer than ``timeout`` seconds on one submission (a backstop: the sandbox
    stops student code at ``LOSSGRADE_SUBMISSION_SECONDS``).
    """

    def __init__(self, timeout: float):
        self.proc: subprocess.Popen | None = None
        self.served = 0
        self.timeout = timeout

    def _start(self) -> None:
        self.close()
        memory = int(os.environ.get("LOSSGRADE_GRADER_MEMORY_MB", GRADER_MEMORY_MB)) * 2**20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            memory = min(memory, hard)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.grader", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=tool_env(),
            text=True,
            preexec_fn=functools.partial(_bind_grader, os.getpid(), memory),
        )
        self.served = 0

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
            self.proc.stdout.close()
            self.proc = None

    def grade(self, request: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None or self.served >= RESTART_EVERY:
            self._start()
        self.served += 1
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
            line = self.proc.stdout.readline() if ready else None
        except OSError as exc:
            line, ready = "", [exc]
        if not line:
            self.close()
            why = "took longer than" if not ready else "stopped while grading; limit"
            return {"ok": False, "error": f"the grader {why} {self.timeout:g} s"}
        return json.loads(line)


def _bind_grader(parent: int, memory: int) -> None:
    """In a grader server before exec: bounded memory, killed when its parent goes.

    The parent is the thread that started it: a pool thread, alive until grading is done. Only
    the soft limit is set, so the sandbox may still give a worker ``LOSSGRADE_MEMORY_MB``.
    """
    die_with_parent()
    if os.getppid() != parent:  # lossgrade died before prctl took effect
        os._exit(1)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard))


def _stop_on_signals(servers: list[GraderServer]) -> dict:
    """SIGTERM and SIGINT kill every grader server, then exit with 128 + the signal."""

    def stop(signum, frame):
        for server in list(servers):
            proc = server.proc
            if proc is not None:
                proc.kill()
        os.write(2, f"\nlossgrade: stopped by signal {signum}; results so far are kept\n".encode())
        os._exit(128 + signum)

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}


def _grade_one(
    course: Path, ps: str, student: str, base_key: str, cache: Path, server: GraderServer
) -> Outcome:
    """Grade one submission, unless an identical one was graded before."""
    folder = course / "submitted" / student / ps
    key = _digest(base_key.encode(), _folder_bytes(folder))
    done = cache / "students" / student
    if (done / "key").is_file() and (done / "key").read_text() == key:
        return _outcome(student, done, cached=True)
    work = cache / "work" / student
    shutil.rmtree(work, ignore_errors=True)
    reply = server.grade(
        {
            "source": str(course / "source" / ps / f"{ps}.ipynb"),
            "release": str(course / "release" / ps / f"{ps}.ipynb"),
            "submission": str(folder),
            "out": str(work),
        }
    )
    if not reply.get("ok") or not (work / "result.json").is_file():
        return Outcome(student, False, f"the grader failed: {reply.get('error', 'no result')}")
    (work / "key").write_text(key)
    done.parent.mkdir(exist_ok=True)
    shutil.rmtree(done, ignore_errors=True)  # killed here? the student is just graded again
    os.replace(work, done)
    return _outcome(student, done, cached=False)


def _outcome(student: str, done: Path, cached: bool) -> Outcome:
    result = json.loads((done / "result.json").read_text())
    return Outcome(student, True, "; ".join(result["notes"]), result, cached)


def _merge(course: Path, ps: str, outcomes: list[Outcome], cache: Path, tmp: Path) -> bool:
    """Write the graded notebooks into the gradebook (one nbgrader process at a time)."""
    from tqdm.auto import tqdm

    graded = [o for o in outcomes if o.ok]
    chunks = [graded[i : i + MERGE_CHUNK] for i in range(0, len(graded), MERGE_CHUNK)]
    ok = True
    with tqdm(total=len(graded), desc="gradebook", unit="submission") as bar:
        for n, chunk in enumerate(chunks):
            staged = tmp / f"staged-{n}"
            for o in chunk:
                dest = staged / o.student / ps
                dest.mkdir(parents=True)
                # the exchange's files (timestamp, submission secret) travel with the notebook
                for extra in (course / "submitted" / o.student / ps).iterdir():
                    if extra.is_file() and not extra.is_symlink() and extra.suffix != ".ipynb":
                        shutil.copy(extra, dest / extra.name)
                name = o.result["notebook"]
                shutil.copy(cache / "students" / o.student / name, dest / name)
            proc = subprocess.run(
                [sys.executable, "-c", MERGE_SCRIPT, ps, str(staged)],
                cwd=course,
                env=tool_env(),
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                ok = False
                print(safe(proc.stdout[-3000:]), safe(proc.stderr[-3000:]), sep="\n")
            bar.update(len(chunk))
    return ok


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
# the notebooks were graded already: keep their outputs, do not run them again
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


def _report(course: Path, ps: str, outcomes: list[Outcome], cache: Path) -> None:
    """``report.csv`` beside the results, and a summary of what needs an instructor's eye."""
    rows = sorted(outcomes, key=lambda o: o.student)
    with (cache / "report.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "score", "max_score", "status", "notes"])
        for o in rows:
            r = o.result or {}
            status = r.get("status", "not graded") if o.ok else "not graded"
            out.writerow([o.student, r.get("score", ""), r.get("max_score", ""), status, o.message])
    flagged = [o for o in rows if not o.ok or o.message]
    for o in flagged:
        who, why = safe(o.student), safe(o.message)
        print(f"  {who}: {why}" if o.ok else f"  could not grade {who}: {why}")
    print(f"per-submission results: {cache / 'report.csv'}")


def _grade_all(
    course: Path, ps: str, todo: list[str], jobs: int, base_key: str, cache: Path
) -> list[Outcome]:
    """Grade ``todo`` with ``jobs`` grader servers, all of them killed by SIGTERM or SIGINT."""
    from tqdm.auto import tqdm

    outcomes: list[Outcome] = []
    servers: list[GraderServer] = []
    local = threading.local()

    def grade_one(student: str) -> Outcome:
        if not hasattr(local, "server"):
            local.server = GraderServer(Limits.from_env().submission_seconds + GRADER_MARGIN)
            servers.append(local.server)
        return _grade_one(course, ps, student, base_key, cache, local.server)

    previous = _stop_on_signals(servers)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(grade_one, s): s for s in todo}
            with tqdm(total=len(todo), desc=f"autograde {ps}", unit="submission") as bar:
                for fut in as_completed(futures):
                    try:
                        outcomes.append(fut.result())
                    except Exception as exc:  # noqa: BLE001 - e.g. an unreadable folder
                        why = f"{type(exc).__name__}: {exc}"
                        outcomes.append(Outcome(futures[fut], False, why))
                    bar.update(1)
    finally:
        for server in servers:
            server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return outcomes


def cmd_autograde(course: Path, ps: str, jobs: int = 1, students: list[str] | None = None) -> int:
    """Grade every submission of ``ps``; one bad submission never stops the others.

    Results are kept per submission in ``course/lossgrade/<ps>/students/``, keyed by the
    submission's contents and the grading code: a run that was stopped picks up where it left
    off, and a second run regrades nothing and writes the same scores.
    """
    from autograder.grading.sandbox import isolation

    todo = students or submissions(course, ps)
    invalid = [s for s in todo if id_problem(s)]
    if invalid:
        print(f"not a student id: {', '.join(safe(s) for s in invalid)}")
        return 1
    if not todo:
        print(f"no submissions of {ps} in {course / 'submitted'}; run `lossgrade collect {ps}`")
        return 1
    release = course / "release" / ps / f"{ps}.ipynb"
    if not (course / "gradebook.db").exists() or not release.exists():
        print(f"{ps} has not been released from this course yet; run `lossgrade release {ps}`")
        return 1
    if isolation() == "process":
        print(
            "warning: Linux namespaces are not available, so student code runs as a plain "
            "process (time and memory limits, no file-system or network isolation); see the "
            "README's instructor section"
        )
    cache = course / "lossgrade" / ps
    cache.mkdir(parents=True, exist_ok=True)
    source = course / "source" / ps / f"{ps}.ipynb"
    limits = json.dumps(asdict(Limits.from_env()), sort_keys=True).encode()
    base_key = _digest(source.read_bytes(), release.read_bytes(), _grader_version(), limits)
    outcomes = _grade_all(course, ps, todo, jobs, base_key, cache)
    with tempfile.TemporaryDirectory(prefix="lossgrade-") as tmp:
        merged = _merge(course, ps, outcomes, cache, Path(tmp))
    graded = [o for o in outcomes if o.ok]
    reused = sum(o.cached for o in graded)
    print(
        f"autograded {len(graded)} of {len(todo)} submissions of {ps}"
        + (f" ({reused} unchanged since the last run)" if reused else "")
    )
    _report(course, ps, outcomes, cache)
    if not merged:
        print("  writing the scores to the gradebook failed (see above)")
    return 0 if merged and len(graded) == len(todo) else 1


FEEDBACK_READ = ("timestamp.txt", "submission_secret.txt")  # read by release_feedback, not sent


def _clean_feedback(folder: Path, ps: str) -> list[str]:
    """Delete all but the grader's ``<ps>.html`` (and what release_feedback reads) from a
    feedback folder, links included; returns the names removed."""
    removed = []
    for p in sorted(folder.iterdir()):
        if p.name in (f"{ps}.html", *FEEDBACK_READ) and p.is_file() and not p.is_symlink():
            continue
        removed.append(p.name)
        _remove(p)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def cmd_feedback(course: Path, ps: str) -> int:
    """Generate feedback HTML, then return it through the exchange where it came from there."""
    if _run(course, "generate_feedback", ps, "--force") != 0:
        return 1
    folders = []
    for p in sorted((course / "feedback").glob(f"*/{ps}")):
        if id_problem(p.parent.name) or p.parent.is_symlink() or p.is_symlink():
            print(f"  removed {safe(p)}: not a student's feedback folder")
            _remove(p.parent)
            continue
        removed = _clean_feedback(p, ps)
        if removed:
            print(f"  {safe(p.parent.name)}: removed from the feedback: {safe(', '.join(removed))}")
        folders.append(p)
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
    p.add_argument("--zip", metavar="FILE", help="a Canvas or Moodle zip of the submissions")
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
        return collect(course, args.ps, args.zip)
    if args.command == "autograde":
        return cmd_autograde(course, args.ps, args.jobs, args.student)
    if args.command == "feedback":
        return cmd_feedback(course, args.ps)
    return cmd_export(course, args.to)


if __name__ == "__main__":
    raise SystemExit(main())
