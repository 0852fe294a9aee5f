"""The grader run by an ordinary account, as on a course hub: a real second Linux account.

The account gets a course folder of its own, an exchange with a classmate's notebook and a
home folder, all readable to it. Its sandbox (a user namespace) must show student code none of
them, and the account must still grade a correct submission to full marks. Needs root (to
create the account); the account is removed in a ``finally``.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from autograder.grading.sandbox import isolation
from tests.adversarial import NOTEBOOK, PS, RELEASE, SOURCE, filled, save
from tests.adversarial.test_sandbox_attacks import FACTS, ways_to_interpreter

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creating a second account needs root"),
    pytest.mark.skipif(isolation() != "namespace", reason="needs Linux namespaces (unshare)"),
]

# Run as root in a private mount namespace: make the interpreter and the checkout reachable
# for the account (their parents may be private, e.g. /root or a mktemp folder), become the
# account, then run the given script with this interpreter.
BECOME = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)

def mount(source, target, fstype, flags, data):
    args = [None if a is None else a.encode() for a in (source, target, fstype, data)]
    if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}")

uid, gid, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
needed = [os.path.realpath(p) for p in sys.argv[4:]]

def blocked(path):
    parts = path.split("/")
    for i in range(2, len(parts) + 1):
        anc = "/".join(parts[:i])
        st = os.stat(anc)
        if not st.st_mode & 0o001 and st.st_uid != uid:
            return anc
    return None

covers = {}
for path in needed:
    anc = blocked(path)
    if anc is not None:
        covers.setdefault(anc, []).append(path)
for anc in sorted(covers, key=len):
    held = [(p, os.open(p, os.O_PATH)) for p in covers[anc] if p != anc]
    mount("none", anc, "tmpfs", 0, "mode=0755")
    for path, fd in held:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, 4096 | 16384, None)  # MS_BIND | MS_REC
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.execv(sys.executable, [sys.executable, "-c", script])
"""

PROBE = """
import json, sys
from autograder.grading.sandbox import Limits, Sandbox
with Sandbox([%(facts)r], Limits()) as box:
    (ran,) = box.start()
    assert ran.ok, ran.error
    print(box.call("facts", (%(paths)r, %(sock)r), {}))
"""

GRADE = """
from pathlib import Path
from autograder.grading.grader import grade_to
result = grade_to(Path(%(source)r), Path(%(release)r), Path(%(submission)r), Path(%(out)r))
print(result.score, result.max_score, result.isolation)
"""


@pytest.fixture
def account():
    """A throwaway Linux account with a home folder in a fresh temporary directory."""
    name = f"lgt{uuid.uuid4().hex[:8]}"
    top = Path(tempfile.mkdtemp(prefix="lossgrade-account-"))
    top.chmod(0o755)
    home = top / name
    subprocess.run(
        ["useradd", "--home-dir", str(home), "--create-home", "--shell", "/bin/sh", name],
        check=True,
        capture_output=True,
    )
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-9", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


def as_account(user, script: str) -> str:
    """Run ``script`` with this interpreter as ``user`` (see ``BECOME``)."""
    needed = [sys.prefix, sys.base_prefix, str(ROOT)]
    cmd = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", BECOME]
    cmd += [str(user.pw_uid), str(user.pw_gid), script, *needed]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": user.pw_dir}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def own(user, *paths: Path) -> None:
    for path in paths:
        for p in [path, *path.rglob("*")]:
            os.chown(p, user.pw_uid, user.pw_gid)


def test_an_ordinary_account_grades_with_an_allow_list_sandbox(account):
    home = Path(account.pw_dir)
    course = home / "course"
    (course / "source" / PS).mkdir(parents=True)
    shutil.copy(SOURCE, course / "source" / PS)
    (course / "release" / PS).mkdir(parents=True)
    shutil.copy(RELEASE, course / "release" / PS)
    (course / "gradebook.db").write_text("grades")
    inbound = home / "exchange" / "inbound" / f"bob+{PS}+2026-01-01 00:00:00.000000 UTC"
    save(filled(), inbound)
    save(filled(), home / "submission")
    own(account, home)
    secrets = [
        str(course / "source" / PS / NOTEBOOK),
        str(course / "gradebook.db"),
        str(inbound / NOTEBOOK),
        str(home),
    ]

    sock = str(home / "agent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(sock)
    server.listen()
    try:
        facts = json.loads(
            as_account(account, PROBE % {"facts": FACTS, "paths": secrets, "sock": sock})
        )
    finally:
        server.close()
    assert facts["socket"] == "FileNotFoundError"
    assert facts["readable"] == {p: ways_to_interpreter(p) for p in facts["readable"]}
    assert not set(facts["readable"]) & set(secrets[:3])
    assert str(course) not in facts["proc"] and "exchange" not in facts["proc"]
    assert facts["uid"] == 0  # root of its own user namespace, with every capability dropped
    assert account.pw_name not in facts["passwd"]

    out = home / "graded"
    printed = as_account(
        account,
        GRADE
        % {
            "source": str(course / "source" / PS / NOTEBOOK),
            "release": str(course / "release" / PS / NOTEBOOK),
            "submission": str(home / "submission"),
            "out": str(out),
        },
    )
    score, max_score, mode = printed.split()
    assert float(score) == float(max_score) > 0 and mode == "namespace"
    assert (out / "result.json").stat().st_uid == account.pw_uid  # nothing left owned by root
