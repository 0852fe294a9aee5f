"""Collect submissions into ``course/submitted/<student>/<PS>/``, trusting no name a student chose.

From nbgrader's exchange (``lossgrade collect PS``): the latest inbound folder of each student is
opened without following links and only ``<PS>.ipynb``, ``timestamp.txt`` and
``submission_secret.txt`` are copied, each checked to be a regular file of sane size. A folder
named for an account of this machine that the account does not own is rejected.

From the ngshare exchange (a course hub without a shared disk; nbgrader's configuration uses
ngshare-exchange's classes): ngshare-exchange's own collect downloads each student's latest
submission through ngshare's API into a private staging folder, and every student's folder there
then goes through the same checks as an inbound folder (the files kept, their kinds and sizes, the
timestamp, the student id). ngshare names the student by the hub login that submitted, so there
is no folder owner to compare.

From an LMS zip (``lossgrade collect PS --zip FILE``): the student is named by the LMS's own part
of each path, never by the uploaded file's name.

* Canvas ("Download submissions"): flat files ``<lastfirst>[_LATE]_<userid>_<submissionid>_<file>``;
  the student id is the Canvas user id ``userid``.
* Moodle ("Download all submissions", in folders):
  ``<Full Name>_<participantid>_assignsubmission_file_/<file>``; the student id is the
  participant id.

A student's latest ``.ipynb`` (by the zip entry's date, ties: the last name) becomes
``<PS>.ipynb``; nothing else is extracted. Every problem is written to
``submitted/<student>/<PS>/collect_notes.txt`` (when the submission is kept) and to
``course/lossgrade/<PS>/collect.csv``; one bad submission never stops the others.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.grading.build import tool_env

NOTES = "collect_notes.txt"  # beside the notebook; the grader puts its lines in the notes
NOTEBOOK_BYTES = 100 * 2**20
ZIP_TOTAL_BYTES = 4 * 2**30  # all the notebooks read from one zip
ZIP_ENTRIES = 100_000
# left out without a note: folders nbgrader's own submit leaves out (CourseDirectory.ignore);
# ngshare-exchange leaves out files by name only, so its submissions carry the lab's checkpoints
UNNOTED = (".ipynb_checkpoints", "__pycache__")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
CANVAS = re.compile(r"(?P<name>[^_/]*)(?:_LATE)?_(?P<student>\d+)_\d+_(?P<file>.+)")
MOODLE = re.compile(r"(?P<name>.*)_(?P<student>\d+)_assignsubmission_(?P<kind>[a-z]+)_")
LAYOUTS = (
    "Canvas (flat files <lastfirst>_<userid>_<submissionid>_<file>) and Moodle (folders "
    "<Full Name>_<participantid>_assignsubmission_file_/<file>)"
)


class CollectError(Exception):
    """Nothing could be collected (no exchange, an unreadable zip, an unknown layout)."""


@dataclass
class Row:
    """One line of ``collect.csv``: a submission and what became of it."""

    student: str
    source: str
    status: str  # collected, unchanged, rejected, superseded, skipped
    notes: list[str] = field(default_factory=list)


def safe(text: object) -> str:
    """``text`` with control and format characters (ESC, C1, bidi overrides...) made visible."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch)[0] == "C":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def id_problem(student: str) -> str | None:
    """Why ``student`` cannot be a student id (a folder name in the course), or None."""
    if not STUDENT_ID.fullmatch(student):
        return (
            "not a valid student id (1-64 letters, digits, '_', '.', '@', '-', starting with a "
            "letter or digit)"
        )
    if student.endswith("."):
        return "not a valid student id (ends with '.')"
    return None


# ------------------------------------------------------------------------------ output


def _install(dest: Path, files: dict[str, bytes], notes: list[str]) -> None:
    """Replace the folder ``dest`` by one holding ``files`` (built beside it, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        new.chmod(0o755)
        for name, data in files.items():
            (new / name).write_bytes(data)
        if notes:
            (new / NOTES).write_text("".join(f"{n}\n" for n in notes))
    except OSError:
        shutil.rmtree(new)
        raise
    old = None
    if dest.exists() or dest.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.replace(dest, old / dest.name)
    os.replace(new, dest)
    if old is not None:
        shutil.rmtree(old)


def _write_csv(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "source", "status", "notes"])
        for r in rows:
            out.writerow([safe(r.student), safe(r.source), r.status, "; ".join(r.notes)])


def _summary(ps: str, rows: list[Row], csv_path: Path) -> None:
    counts = {s: sum(r.status == s for r in rows) for s in ("collected", "unchanged", "rejected")}
    print(
        f"{ps}: {counts['collected']} collected, {counts['unchanged']} unchanged, "
        f"{counts['rejected']} rejected"
    )
    for r in rows:
        if r.notes and r.status != "superseded":
            who = safe(r.student) or "?"
            print(f"  {who} ({safe(r.source)}): {r.status}: {'; '.join(r.notes)}")
    print(f"details: {csv_path}")


# ------------------------------------------------------------------------------ exchange


def exchange_settings(course: Path) -> tuple[str, Path, Path | None, str]:
    """Course id and exchange root, read by nbgrader itself from the course folder, the
    exchange root that nbgrader's configuration outside the course sets (None if none does), and
    the kind of exchange: ``folder`` (nbgrader's own) or ``ngshare`` (ngshare-exchange's classes).

    nbgrader's own configuration loader runs (in a subprocess, from ``course``), so
    ``course/nbgrader_config.py`` and any user or system nbgrader config count exactly as they do
    for every nbgrader command.
    """
    script = (
        "import json, os\n"
        "from jupyter_core.paths import jupyter_config_path\n"
        "from traitlets.config import Config\n"
        "from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader\n"
        "from nbgrader.apps.baseapp import NbGrader\n"
        "from nbgrader.exchange.default.exchange import Exchange\n"
        "app = NbGrader()\n"
        "app.initialize([])\n"
        "ex = Exchange(config=app.config, coursedir=app.coursedir)\n"
        "outside = Config()\n"
        "for folder in reversed(jupyter_config_path()):\n"
        "    for name, loader in (('nbgrader_config.json', JSONFileConfigLoader),\n"
        "                         ('nbgrader_config.py', PyFileConfigLoader)):\n"
        "        if os.path.isfile(os.path.join(folder, name)):\n"
        "            outside.merge(loader(name, path=folder).load_config())\n"
        "shared = outside.Exchange.root if 'root' in outside.Exchange else None\n"
        "factory = app.config.ExchangeFactory.get('exchange', '')\n"
        "name = factory if isinstance(factory, str) else factory.__module__\n"
        "kind = 'ngshare' if name.startswith('ngshare_exchange') else 'folder'\n"
        "print(json.dumps([app.coursedir.course_id, ex.root, shared, kind]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=course,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise CollectError(f"reading the nbgrader configuration failed:\n{proc.stderr[-2000:]}")
    course_id, root, shared, kind = json.loads(proc.stdout.strip().splitlines()[-1])
    if not course_id:
        raise CollectError("the nbgrader configuration sets no CourseDirectory.course_id")
    return course_id, Path(root), None if shared is None else Path(shared), kind


def exchange_problem(course: Path) -> str | None:
    """Why releasing or collecting through this course's exchange would miss the students: a
    shared exchange is configured for everyone, and the course would use another one."""
    return exchange_check(course)[1]


def exchange_check(course: Path) -> tuple[str, str | None]:
    """The kind of exchange (``folder`` or ``ngshare``) and :func:`exchange_problem`'s answer.

    ngshare has no exchange folder to get wrong: every account reaches the one service."""
    _, root, shared, kind = exchange_settings(course)
    return kind, None if kind == "ngshare" else _mismatch(root, shared)


def _mismatch(root: Path, shared: Path | None) -> str | None:
    if shared is None or root.resolve() == shared.resolve():
        return None
    return (
        f"the course would use the exchange {root}, but nbgrader's configuration outside the "
        f"course sets Exchange.root = {shared} for everyone, and the students look there. Set "
        f"LOSSGRADE_EXCHANGE={shared} (the hub gives every server this variable) and run again"
    )


def _read_at(dir_fd: int, name: str, limit: int) -> bytes:
    """The contents of regular file ``name`` in ``dir_fd``, never through a link."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        raise ValueError("a symbolic link" if exc.errno == errno.ELOOP else exc.strerror) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_nlink != 1:
            raise ValueError("a hard link to another file")
        if st.st_size > limit:
            raise ValueError(f"larger than {limit} bytes")
        chunks, size = [], 0
        while chunk := os.read(fd, 2**20):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(dir_fd: int, name: str) -> str:
    mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a file" if stat.S_ISREG(mode) else "not a regular file"


def _timestamp(data: bytes) -> datetime | None:
    """An nbgrader timestamp (``timestamp.txt``, a part of an inbound name), or None."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(data.decode("ascii").strip())
    except (ValueError, OverflowError):
        return None


def _valid_secret(data: bytes) -> bool:
    return re.fullmatch(rb"[0-9a-f]{1,1024}", data) is not None


def _open_submission(inbound_fd: int, name: str, student: str) -> int:
    """An fd on the inbound folder ``name``, after checking what it is and who owns it."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=inbound_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError(f"the submission folder cannot be opened: {exc.strerror}") from None
        kind = _kind(inbound_fd, name)
        if kind == "a symbolic link":
            raise ValueError("the submission folder is a symbolic link") from None
        raise ValueError(f"the submission is {kind}, not a folder") from None
    try:
        account = pwd.getpwnam(student)
    except KeyError:
        return fd  # no such account here (e.g. one pod per student): nothing to compare with
    owner = os.fstat(fd).st_uid
    if owner != account.pw_uid:
        os.close(fd)
        try:
            who = pwd.getpwuid(owner).pw_name
        except KeyError:
            who = f"uid {owner}"
        raise ValueError(f"the folder belongs to {safe(who)}, not to the account {student}")
    return fd


def _copy_submission(fd: int, ps: str) -> tuple[dict[str, bytes], list[str]]:
    """The files to keep from an opened inbound folder, and a note per thing left behind."""
    wanted = {f"{ps}.ipynb": NOTEBOOK_BYTES, "timestamp.txt": 100, "submission_secret.txt": 1024}
    files, notes = {}, []
    for name in sorted(os.listdir(fd)):
        if name in UNNOTED:
            continue
        if name not in wanted:
            notes.append(f"{safe(name)}: not copied ({_kind(fd, name)}; only the notebook is)")
            continue
        try:
            data = _read_at(fd, name, wanted[name])
        except ValueError as exc:
            notes.append(f"{name}: not copied ({exc})")
            continue
        if name == "timestamp.txt" and _timestamp(data) is None:
            notes.append(f"{name}: not copied (not a timestamp)")
        elif name == "submission_secret.txt" and not _valid_secret(data):
            notes.append(f"{name}: not copied (not an nbgrader submission secret)")
        else:
            files[name] = data
    if f"{ps}.ipynb" not in files and not any(n.startswith(f"{ps}.ipynb:") for n in notes):
        notes.append(f"no {ps}.ipynb in the submission")
    return files, notes


def _existing_timestamp(folder: Path) -> datetime | None:
    try:
        return _timestamp((folder / "timestamp.txt").read_bytes())
    except OSError:
        return None


def collect_exchange(course: Path, ps: str) -> list[Row]:
    """Copy the latest acceptable exchange submission of each student into ``submitted/``."""
    course_id, root, shared, kind = exchange_settings(course)
    if kind == "ngshare":
        return collect_ngshare(course, ps)
    problem = _mismatch(root, shared)
    if problem:
        raise CollectError(problem)
    inbound = root / course_id / "inbound"
    try:
        inbound_fd = os.open(inbound, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise CollectError(f"no exchange inbound folder {inbound}: {exc.strerror}") from None
    try:
        return _collect_inbound(course, ps, inbound_fd)
    finally:
        os.close(inbound_fd)


def _collect_inbound(course: Path, ps: str, inbound_fd: int) -> list[Row]:
    rows: list[Row] = []
    found: dict[str, list[tuple[datetime, str]]] = {}
    for name in sorted(os.listdir(inbound_fd)):
        parts = name.split("+")
        if ps not in parts[1:]:
            continue  # another assignment
        if len(parts) not in (3, 4) or parts[1] != ps:
            rows.append(Row("", name, "rejected", ["not an nbgrader submission name"]))
            continue
        student = parts[0]
        why = id_problem(student)
        if why:
            rows.append(Row(student, name, "rejected", [why]))
            continue
        when = _timestamp(parts[2].encode(errors="replace"))
        if when is None:
            rows.append(Row(student, name, "rejected", ["no timestamp in the name"]))
            continue
        found.setdefault(student, []).append((when, name))
    for student, entries in sorted(found.items()):
        kept = None
        for when, name in sorted(entries, reverse=True):
            if kept is not None:
                rows.append(Row(student, name, "superseded", ["a later submission was kept"]))
                continue
            try:
                fd = _open_submission(inbound_fd, name, student)
            except ValueError as exc:
                rows.append(Row(student, name, "rejected", [str(exc)]))
                continue
            kept = name
            try:
                rows.append(_take(course, ps, student, name, when, fd))
            except OSError as exc:
                rows.append(Row(student, name, "rejected", [f"copying failed: {exc.strerror}"]))
            finally:
                os.close(fd)
    return rows


def collect_ngshare(course: Path, ps: str) -> list[Row]:
    """Each student's latest ngshare submission, downloaded by ngshare-exchange's collect into a
    private staging folder, then checked and copied like an inbound folder."""
    work = course / "lossgrade" / ps
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ngshare-", dir=work) as staging:  # 0700
        proc = subprocess.run(
            [sys.executable, "-m", "nbgrader", "collect", ps,
             f"--CourseDirectory.submitted_directory={staging}"],
            cwd=course,
            env=tool_env(),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=3600,
        )
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise CollectError(f"nbgrader collect through ngshare failed:\n{log[-3000:]}")
        # ngshare-exchange logs a submission it could not download and goes on
        rows = [Row("", "ngshare", "rejected", [line.strip()])
                for line in log.splitlines() if "| ERROR]" in line]
        staging_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            return rows + _collect_staged(course, ps, staging_fd)
        finally:
            os.close(staging_fd)


def _collect_staged(course: Path, ps: str, staging_fd: int) -> list[Row]:
    """``staging/<student>/<ps>/`` (ngshare-exchange's download) into ``submitted/``."""
    rows: list[Row] = []
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    for student in sorted(os.listdir(staging_fd)):
        why = id_problem(student)
        if why:
            rows.append(Row(student, "ngshare", "rejected", [why]))
            continue
        try:
            student_fd = os.open(student, flags, dir_fd=staging_fd)
            try:
                fd = os.open(ps, flags, dir_fd=student_fd)
            finally:
                os.close(student_fd)
        except OSError as exc:
            rows.append(Row(student, "ngshare", "rejected", [f"no {ps} folder: {exc.strerror}"]))
            continue
        try:
            try:
                stamp = _read_at(fd, "timestamp.txt", 100)
            except ValueError:
                stamp = b""
            when = _timestamp(stamp)
            source = f"ngshare:{student}+{ps}+{stamp.decode(errors='replace').strip()}"
            if when is None:
                rows.append(Row(student, source, "rejected", ["no timestamp from ngshare"]))
            else:
                rows.append(_take(course, ps, student, source, when, fd))
        except OSError as exc:
            rows.append(Row(student, "ngshare", "rejected", [f"copying failed: {exc.strerror}"]))
        finally:
            os.close(fd)
    return rows


def ngshare_released(course: Path, ps: str) -> list[str] | None:
    """The files of ``ps`` that ngshare holds for the course (what students fetch), asked through
    the course's own exchange configuration; None when ngshare does not answer with them."""
    script = (
        "import json, sys\n"
        "from nbgrader.apps.baseapp import NbGrader\n"
        "from traitlets.utils.importstring import import_item\n"
        "app = NbGrader()\n"
        "app.initialize([])\n"
        "cls = app.config.ExchangeFactory.exchange\n"
        "cls = import_item(cls) if isinstance(cls, str) else cls\n"
        "ex = cls(config=app.config, coursedir=app.coursedir)\n"
        "url = f'/assignment/{app.coursedir.course_id}/{sys.argv[1]}'\n"
        "answer = ex.ngshare_api_get(url, params={'list_only': 'true'})\n"
        "print(json.dumps(None if answer is None else [f['path'] for f in answer['files']]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, ps], cwd=course, env=tool_env(),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _take(course: Path, ps: str, student: str, name: str, when: datetime, fd: int) -> Row:
    dest = course / "submitted" / student / ps
    before = _existing_timestamp(dest)
    if before is not None and when <= before:
        return Row(student, name, "unchanged")
    files, notes = _copy_submission(fd, ps)
    _install(dest, files, notes)
    return Row(student, name, "collected", notes)


# ------------------------------------------------------------------------------ LMS zip


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry is not extracted, whoever it belongs to."""
    name = info.filename
    parts = name.split("/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or "\\" in name:
        return "an absolute or Windows path"
    if ".." in parts:
        return "a path with '..'"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.file_size > NOTEBOOK_BYTES:
        return f"larger than {NOTEBOOK_BYTES} bytes"
    return None


def _owner(info: zipfile.ZipInfo, layout: str) -> tuple[str, str, str] | None:
    """(student, submission kind, file name) from the LMS's part of an entry's path."""
    if layout == "canvas":
        m = CANVAS.fullmatch(info.filename)
        return (m["student"], "file", m["file"]) if m else None
    top, _, rest = info.filename.partition("/")
    m = MOODLE.fullmatch(top)
    return (m["student"], m["kind"], rest) if m and rest else None


def _layout(infos: list[zipfile.ZipInfo]) -> str:
    files = [i for i in infos if not i.is_dir()]
    canvas = sum(CANVAS.fullmatch(i.filename) is not None for i in files)
    moodle = sum(_owner(i, "moodle") is not None for i in files)
    if not canvas and not moodle:
        raise CollectError(f"the zip is not an LMS download this knows: supported are {LAYOUTS}")
    return "canvas" if canvas > moodle else "moodle"


def collect_zip(course: Path, ps: str, zip_path: Path) -> list[Row]:
    """Copy each student's latest notebook from a Canvas or Moodle zip into ``submitted/``."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise CollectError(f"cannot read {zip_path}: {exc}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > ZIP_ENTRIES:
            raise CollectError(f"{zip_path} has more than {ZIP_ENTRIES} entries")
        layout = _layout(infos)
        rows: list[Row] = []
        uploads: dict[str, list[tuple[zipfile.ZipInfo, str]]] = {}
        notes: dict[str, list[str]] = {}
        for info in infos:
            if info.is_dir():
                continue
            owner = _owner(info, layout)
            if owner is None:
                rows.append(Row("", info.filename, "skipped", [f"not in the {layout} layout"]))
                continue
            student, kind, file = owner
            why = _entry_problem(info)
            if kind != "file":
                why = f"a Moodle {kind} submission, not a file"
            elif why is None and not file.lower().endswith(".ipynb"):
                why = "not a notebook"
            if why:
                notes.setdefault(student, []).append(f"{safe(file)}: not copied ({why})")
            else:
                uploads.setdefault(student, []).append((info, file))
        budget = [ZIP_TOTAL_BYTES]
        for student in sorted(set(uploads) | set(notes)):
            try:
                rows += _take_upload(
                    course,
                    ps,
                    zf,
                    student,
                    uploads.get(student, []),
                    notes.get(student, []),
                    budget,
                )
            except OSError as exc:
                rows.append(Row(student, "", "rejected", [f"writing failed: {exc.strerror}"]))
    return rows


def _take_upload(
    course: Path,
    ps: str,
    zf: zipfile.ZipFile,
    student: str,
    uploads: list[tuple[zipfile.ZipInfo, str]],
    notes: list[str],
    budget: list[int],
) -> list[Row]:
    """Install one student's latest uploaded notebook; ``budget`` is the zip's bytes left."""
    why = id_problem(student)
    if why:
        return [Row(student, "", "rejected", [why])]
    order = sorted(uploads, key=lambda u: (u[0].date_time, u[0].filename))
    rows, files = [], {}
    for info, file in order[:-1]:
        rows.append(Row(student, info.filename, "superseded", ["a later upload was kept"]))
        notes.append(f"{safe(file)}: not used (a later upload was kept)")
    source = order[-1][0].filename if order else ""
    if order:
        info, file = order[-1]
        try:
            if info.file_size > budget[0]:
                raise ValueError(f"the zip holds more than {ZIP_TOTAL_BYTES} bytes of notebooks")
            with zf.open(info) as f:
                data = f.read(NOTEBOOK_BYTES + 1)
            if len(data) > NOTEBOOK_BYTES:
                raise ValueError(f"larger than {NOTEBOOK_BYTES} bytes")
            budget[0] -= len(data)
            files[f"{ps}.ipynb"] = data
        except (
            ValueError,
            OSError,
            RuntimeError,
            NotImplementedError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            notes.append(f"{safe(file)}: not copied ({exc})")
    if f"{ps}.ipynb" not in files:
        notes.append("no notebook (.ipynb) in the upload")
    _install(course / "submitted" / student / ps, files, notes)
    return [*rows, Row(student, source, "collected", notes)]


# ------------------------------------------------------------------------------ command


def collect(course: Path, ps: str, zip_file: str | None = None) -> int:
    """``lossgrade collect``: collect, write ``collect.csv``, print a summary."""
    try:
        if zip_file is None:
            rows = collect_exchange(course, ps)
        else:
            rows = collect_zip(course, ps, Path(zip_file))
    except CollectError as exc:
        print(f"collect {ps}: {safe(exc)}")
        return 1
    csv_path = course / "lossgrade" / ps / "collect.csv"
    _write_csv(csv_path, rows)
    _summary(ps, rows, csv_path)
    return 0
