"""What a student controls cannot reach what ``lossgrade`` collects, prints or releases.

Exchange folders with links in them, LMS zips whose uploads name a classmate, student ids that
are paths or escape sequences, planted feedback files, and a ``lossgrade`` killed mid-run.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.grading.collect import id_problem, safe
from autograder.grading.grader import Assignment, grade
from autograder.grading.sandbox import Limits
from tests.adversarial import COURSE, PS, RELEASE, add, filled, replace, save

NOTEBOOK = f"{PS}.ipynb"
COURSE_ID = "loss-functions"
LIMITS = {"LOSSGRADE_CALL_SECONDS": "2", "LOSSGRADE_CELL_SECONDS": "4"}


def env(course: Path, **extra: str) -> dict[str, str]:
    e = {**os.environ, **LIMITS, **extra, "LOSSGRADE_EXCHANGE": str(course.parent / "exchange")}
    e["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")])
    return e


def lossgrade(course: Path, *args: str, code: int = 0) -> str:
    """Run ``lossgrade``; its output, which must hold no raw escape character."""
    cmd = [sys.executable, "-m", "autograder.grading.lossgrade", *args, "--course", str(course)]
    proc = subprocess.run(cmd, env=env(course), capture_output=True, timeout=600)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == code, out[-3000:]
    assert b"\x1b" not in proc.stdout, out[-3000:]
    return out


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("released")
    course = base / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / PS, course / "source" / PS)
    lossgrade(course, "release", PS)
    return base


@pytest.fixture
def course(released, tmp_path) -> Path:
    """A released course of its own, with its own exchange."""
    shutil.copytree(released, tmp_path, dirs_exist_ok=True)
    return tmp_path / "course"


def notebook_bytes(course: Path, marker: str = "") -> bytes:
    nb = filled(PS, course)
    nb.metadata["marker"] = marker  # tells submissions apart
    return nbformat.writes(nb).encode()


def inbound(course: Path, student: str, day: int = 1, files: dict | None = None) -> Path:
    """An exchange submission as ``nbgrader submit`` leaves it."""
    stamp = f"2025-01-{day:02d} 10:00:00.000000 UTC"
    name = f"{student}+{PS}+{stamp}+{secrets.token_urlsafe(9)}"
    folder = course.parent / "exchange" / COURSE_ID / "inbound" / name
    folder.mkdir()
    files = files or {NOTEBOOK: notebook_bytes(course, f"{student}{day}")}
    files = {"timestamp.txt": stamp.encode(), "submission_secret.txt": b"ab" * 64, **files}
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def rows(course: Path) -> dict[str, list[dict]]:
    with (course / "lossgrade" / PS / "collect.csv").open() as f:
        out: dict[str, list[dict]] = {}
        for row in csv.DictReader(f):
            out.setdefault(row["student"], []).append(row)
        return out


def submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / PS


# ------------------------------------------------------------------------------ ids and output


def test_ids_and_safe_output():
    for good in ("alice", "a.b-c_d@uni", "12345", "report.csv"):
        assert id_problem(good) is None, good
    for bad in ("", ".", "..", ".work-alice", "a/b", "../x", "x.", "a\x1b[31m", "-rf", "a" * 65):
        assert id_problem(bad), bad
    assert safe("a\x1b[2Jb\x9b\x7f\u202e") == "a\\x1b[2Jb\\x9b\\x7f\\u202e"


# ------------------------------------------------------------------------------ exchange


def test_exchange_collect_copies_the_notebook_and_nothing_a_link_points_at(course):
    source = course / "source" / PS / NOTEBOOK
    inbound(course, "alice", day=1)
    latest = inbound(course, "alice", day=2)
    mallory = inbound(course, "mallory")
    (mallory / NOTEBOOK).unlink()
    (mallory / NOTEBOOK).symlink_to(source)
    (mallory / "grades.html").symlink_to(course / "gradebook.db")
    (mallory / "feedback.html").write_text("<p>planted</p>")
    real = inbound(course, "eve")
    os.rename(real, real.with_name("eve-real"))
    real.symlink_to(real.with_name("eve-real"))
    carol = inbound(course, "carol", files={"timestamp.txt": b"not a time"})
    os.mkfifo(carol / NOTEBOOK)
    inbound(course, "a\x1bb")

    out = lossgrade(course, "collect", PS)
    assert "a\\x1bb" in out
    got = rows(course)
    assert (submitted(course, "alice") / NOTEBOOK).read_bytes() == (latest / NOTEBOOK).read_bytes()
    assert [r["status"] for r in got["alice"]] == ["collected", "superseded"]
    assert sorted(p.name for p in submitted(course, "mallory").iterdir()) == [
        "collect_notes.txt",
        "submission_secret.txt",
        "timestamp.txt",
    ]
    notes = (submitted(course, "mallory") / "collect_notes.txt").read_text().splitlines()
    assert notes == [
        "feedback.html: not copied (a file; only the notebook is)",
        "grades.html: not copied (a symbolic link; only the notebook is)",
        f"{NOTEBOOK}: not copied (a symbolic link)",
    ]
    assert got["mallory"][0]["status"] == "collected"
    assert "symbolic link" in got["mallory"][0]["notes"]
    assert got["eve"][0]["status"] == "rejected"
    assert got["eve"][0]["notes"] == "the submission folder is a symbolic link"
    assert not submitted(course, "eve").exists()
    carol_notes = (submitted(course, "carol") / "collect_notes.txt").read_text()
    assert f"{NOTEBOOK}: not copied (not a regular file)" in carol_notes
    assert "timestamp.txt: not copied (not a timestamp)" in carol_notes
    assert got["a\\x1bb"][0]["status"] == "rejected"

    lossgrade(course, "collect", PS)
    assert rows(course)["alice"][0]["status"] == "unchanged"

    # the grader scores what was left behind as no notebook, and says why
    assignment = Assignment.load(
        course / "source" / PS / NOTEBOOK, course / "release" / PS / NOTEBOOK
    )
    result, _ = grade(assignment, submitted(course, "mallory"), NOTEBOOK, Limits())
    assert result.status == "no notebook" and result.score == 0
    assert f"collect: {NOTEBOOK}: not copied (a symbolic link)" in result.notes


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a Linux account needs root")
def test_exchange_collect_rejects_a_folder_its_student_does_not_own(course):
    name = f"lgt{secrets.token_hex(4)}"
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True
    )
    try:
        uid = pwd.getpwnam(name).pw_uid
        own = inbound(course, name, day=1)
        for p in [own, *own.iterdir()]:
            os.chown(p, uid, -1)
        inbound(course, name, day=2)  # later, but made by root
        lossgrade(course, "collect", PS)
        got = rows(course)[name]
        assert [r["status"] for r in got] == ["rejected", "collected"]
        assert got[0]["notes"] == f"the folder belongs to root, not to the account {name}"
        assert (submitted(course, name) / NOTEBOOK).read_bytes() == (own / NOTEBOOK).read_bytes()
    finally:
        subprocess.run(["userdel", name], check=True)


# ------------------------------------------------------------------------------ LMS zips


def symlink_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2025, 1, 1, 0, 0, 0))
    info.external_attr = 0o120777 << 16
    return info


def lms_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, tuple, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, when, data in entries:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, when)
            zf.writestr(info, data)
    return path


LAYOUTS = {
    "canvas": lambda person, uid, n, file: f"{person}_{uid}_{9000 + n}_{file}",
    "moodle": lambda person, uid, n, file: f"{person.title()}_{uid}_assignsubmission_file_/{file}",
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_lms_zip_names_the_student_by_the_lms_not_by_the_upload(course, layout, tmp_path):
    name = LAYOUTS[layout]
    early, late, other = (notebook_bytes(course, m) for m in ("early", "late", "bob"))
    day1, day2 = (2025, 1, 1, 9, 0, 0), (2025, 1, 2, 9, 0, 0)
    archive = lms_zip(
        tmp_path / "download.zip",
        [
            (name("smithalice", 101, 1, "bob_ps01_regression.ipynb"), day1, early),
            (name("smithalice", 101, 2, "bob_ps01_regression-1.ipynb"), day2, late),
            (name("jonesbob", 102, 3, NOTEBOOK), day1, other),
            (symlink_entry(name("evilcarol", 103, 4, "link.ipynb")), day1, b"/etc/passwd"),
            (name("evilcarol", 103, 5, "../../evil.ipynb"), day1, early),
        ],
    )
    out = lossgrade(course, "collect", PS, "--zip", str(archive))
    assert "101" in out
    got = rows(course)
    assert not (course / "submitted" / "bob").exists()
    assert (submitted(course, "101") / NOTEBOOK).read_bytes() == late
    assert (submitted(course, "102") / NOTEBOOK).read_bytes() == other
    assert [r["status"] for r in got["101"]] == ["superseded", "collected"]
    assert "bob_ps01_regression.ipynb: not used (a later upload was kept)" in got["101"][1]["notes"]
    carol = (submitted(course, "103") / "collect_notes.txt").read_text()
    assert "link.ipynb: not copied (a symbolic link)" in carol
    assert "../../evil.ipynb: not copied (a path with '..')" in carol
    assert "no notebook (.ipynb) in the upload" in carol
    assert not list(course.parent.rglob("evil.ipynb"))


def test_an_unknown_zip_layout_is_a_clear_error(course, tmp_path):
    archive = lms_zip(
        tmp_path / "x.zip", [("bob_ps01_regression.ipynb", (2025, 1, 1, 0, 0, 0), b"")]
    )
    out = lossgrade(course, "collect", PS, "--zip", str(archive), code=1)
    assert "Canvas" in out and "Moodle" in out
    assert not (course / "submitted").exists()


# ------------------------------------------------------------------------------ grading


def result(course: Path, student: str) -> dict:
    return json.loads(
        (course / "lossgrade" / PS / "students" / student / "result.json").read_text()
    )


@pytest.mark.slow
def test_folders_that_are_not_student_ids_are_skipped_and_the_class_grades(course):
    correct = notebook_bytes(course)
    for student in ("alice", ".work-alice", "report.csv", "..x", "red\x1b[31m", "trailing."):
        submitted(course, student).mkdir(parents=True)
        (submitted(course, student) / NOTEBOOK).write_bytes(correct)
    (submitted(course, ".work-alice") / NOTEBOOK).write_text("{ not a notebook")
    out = lossgrade(course, "autograde", PS, "--jobs", "2")
    assert "autograded 2 of 2" in out
    assert "red\\x1b[31m" in out and "skipped" in out and ".work-alice" in out
    for student in ("alice", "report.csv"):
        assert result(course, student)["score"] == result(course, student)["max_score"] > 0
    with (course / "lossgrade" / PS / "report.csv").open() as f:
        assert sorted(r["student"] for r in csv.DictReader(f)) == ["alice", "report.csv"]


@pytest.mark.slow
def test_feedback_releases_only_the_graders_html(course):
    inbound(course, "alice")
    lossgrade(course, "collect", PS)
    lossgrade(course, "autograde", PS)
    graded = course / "autograded" / "alice" / PS
    (graded / "gradebook.html").symlink_to(course / "gradebook.db")
    (graded / "solutions.html").symlink_to(course / "source" / PS / NOTEBOOK)
    (graded / "extra.html").write_text("<p>planted</p>")
    out = lossgrade(course, "feedback", PS)
    assert "removed from the feedback" in out
    folder = course / "feedback" / "alice" / PS
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{PS}.html",
        "submission_secret.txt",
        "timestamp.txt",
    ]
    released = list((course.parent / "exchange" / COURSE_ID / "feedback").iterdir())
    assert [p.read_bytes() for p in released] == [(folder / f"{PS}.html").read_bytes()]


# ------------------------------------------------------------------------------ liveness


def marked(marker: str, what: str) -> list[int]:
    """Processes whose environment holds ``marker`` and whose command line holds ``what``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone, or not a process
            continue
        if marker.encode() in environ and what.encode() in cmdline:
            found.append(int(proc.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.skipif(not RELEASE.exists(), reason="the corpus needs `make course`")
def test_killing_lossgrade_kills_its_grader_servers(course, sig):
    nap = str(400_000 + uuid.uuid4().int % 500_000)  # a process each submission leaves running
    for student in ("h1", "h2"):
        nb = filled()
        add(nb, f"import subprocess\nsubprocess.Popen(['sleep', '{nap}'])", at=1)
        replace(nb, "mse", 'def mse(pred, target, *, reduction="mean"):\n    while True:\n        pass\n')
        save(nb, submitted(course, student))
    marker = f"LOSSGRADE_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    cmd = [sys.executable, "-m", "autograder.grading.lossgrade", "autograde", PS, "--jobs", "2"]
    run = subprocess.Popen(
        [*cmd, "--course", str(course)],
        env=env(course, LOSSGRADE_CALL_SECONDS="60", **{key: value}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(marked(marker, "autograder.grading.grader --serve")) < 2:
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        while not sleeping(nap):  # the servers are grading, in sandboxes
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        os.kill(run.pid, sig)
        assert run.wait(timeout=10) == (128 + sig if sig == signal.SIGTERM else -sig)
        deadline = time.monotonic() + 5
        while marked(marker, "autograder.grading.grader --serve") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marked(marker, "autograder.grading.grader --serve") == []
        # and so do the sandboxes, with everything the students' code started
        deadline = time.monotonic() + 10
        while sleeping(nap) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sleeping(nap)
    finally:
        for pid in marked(marker, ""):
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["pkill", "-9", "-f", f"^sleep {nap}$"])


def sleeping(nap: str) -> bool:
    return bool(subprocess.run(["pgrep", "-f", f"^sleep {nap}$"], capture_output=True).stdout)
