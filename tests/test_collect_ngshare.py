"""Collect with the ngshare exchange (issue 9): what ngshare-exchange downloads goes through the same
checks as an inbound folder, and a course configured for ngshare is not refused as an exchange
mismatch. The download itself (through a running ngshare) is tested on a hub in test_hub.py.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest

from autograder.grading import collect as c

PS = "ps01_regression"
NB = f"{PS}.ipynb"
STAMP = b"2025-01-02 03:04:05.678901 UTC"


def _staged(root: Path, student: str, files: dict[str, bytes]) -> Path:
    folder = root / student / PS
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _collect(tmp_path: Path, staging: Path) -> tuple[Path, list[c.Row]]:
    course = tmp_path / "course"
    course.mkdir(exist_ok=True)
    fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return course, c._collect_staged(course, PS, fd)
    finally:
        os.close(fd)


def test_a_download_gets_the_folder_checks(tmp_path):
    staging = tmp_path / "staging"
    good = _staged(staging, "alice", {NB: b"{}", "timestamp.txt": STAMP, "notes.py": b"x"})
    (good / "sub").mkdir()
    (good / ".ipynb_checkpoints").mkdir()  # the lab's, submitted by ngshare-exchange: no note
    (good / ".ipynb_checkpoints" / f"{PS}-checkpoint.ipynb").write_bytes(b"{}")
    (good / "link.ipynb").symlink_to("/etc/passwd")
    _staged(staging, "bob", {NB: b"x" * (c.NOTEBOOK_BYTES + 1), "timestamp.txt": STAMP,
                              "submission_secret.txt": b"not hex"})
    _staged(staging, "carol", {NB: b"{}"})  # no timestamp
    _staged(staging, "-dave", {NB: b"{}", "timestamp.txt": STAMP})  # not a student id
    (staging / "erin").mkdir()  # no assignment folder

    course, rows = _collect(tmp_path, staging)
    by = {r.student: r for r in rows}
    assert set(by) == {"alice", "bob", "carol", "-dave", "erin"}
    alice = by["alice"]
    assert (alice.status, alice.source) == ("collected", f"ngshare:alice+{PS}+{STAMP.decode()}")
    assert alice.notes == [
        "link.ipynb: not copied (a symbolic link; only the notebook is)",
        "notes.py: not copied (a file; only the notebook is)",
        "sub: not copied (a folder; only the notebook is)",
    ]
    kept = course / "submitted" / "alice" / PS
    assert sorted(p.name for p in kept.iterdir()) == sorted([NB, c.NOTES, "timestamp.txt"])
    assert by["bob"].status == "collected"
    assert by["bob"].notes == [
        f"{NB}: not copied (larger than {c.NOTEBOOK_BYTES} bytes)",
        "submission_secret.txt: not copied (not an nbgrader submission secret)",
    ]
    assert (by["carol"].status, by["carol"].notes) == ("rejected", ["no timestamp from ngshare"])
    assert by["-dave"].status == "rejected" and "not a valid student id" in by["-dave"].notes[0]
    assert by["erin"].status == "rejected" and by["erin"].notes[0].startswith(f"no {PS} folder")
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob"]

    # the same download again: nothing newer, nothing rewritten
    _, again = _collect(tmp_path, staging)
    assert {r.student: r.status for r in again}["alice"] == "unchanged"


def test_a_linked_student_folder_is_not_followed(tmp_path):
    staging = tmp_path / "staging"
    elsewhere = _staged(tmp_path / "elsewhere", "x", {NB: b"{}", "timestamp.txt": STAMP})
    staging.mkdir()
    (staging / "mallory").symlink_to(elsewhere.parent)
    course, rows = _collect(tmp_path, staging)
    assert [(r.student, r.status) for r in rows] == [("mallory", "rejected")]
    assert not (course / "submitted").exists()


@pytest.fixture
def ngshare_course(tmp_path):
    """A course whose nbgrader configuration outside it names ngshare-exchange's classes."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'loss-functions'\n"
    )
    config = tmp_path / "etc-jupyter"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(
        "c = get_config()\nc.ExchangeFactory.exchange = 'ngshare_exchange.exchange.Exchange'\n"
    )
    return course, config


def test_an_ngshare_course_is_no_exchange_mismatch(ngshare_course, monkeypatch):
    course, config = ngshare_course
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(config))
    monkeypatch.delenv("LOSSGRADE_EXCHANGE", raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent),
                                                os.environ.get("PATH", "")]))
    assert c.exchange_check(course) == ("ngshare", None)
    assert c.exchange_problem(course) is None


def test_collect_writes_the_csv_for_ngshare_rows(tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    _staged(staging, "alice", {NB: b"{}", "timestamp.txt": STAMP})
    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.setattr(c, "exchange_settings",
                        lambda course: ("loss-functions", Path("/x"), None, "ngshare"))

    def fake_ngshare(course, ps):
        fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return c._collect_staged(course, ps, fd)
        finally:
            os.close(fd)

    monkeypatch.setattr(c, "collect_ngshare", fake_ngshare)
    assert c.collect(course, PS) == 0
    with (course / "lossgrade" / PS / "collect.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["student"], r["status"]) for r in rows] == [("alice", "collected")]
