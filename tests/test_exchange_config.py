"""A course that would miss its students' exchange refuses to release or collect (issue 9, point 1).

On a hub, nbgrader's global configuration names the exchange every student uses. The course's own
`nbgrader_config.py` falls back to a private `course/exchange` when `LOSSGRADE_EXCHANGE` is not
set, and nbgrader reads it last, so `release` would "succeed" where no student looks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversarial import COURSE, PS

pytestmark = pytest.mark.skipif(not (COURSE / "release" / PS).exists(), reason="run `make course`")


@pytest.fixture
def setup(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / PS, course / "source" / PS)
    shared = tmp_path / "srv-exchange"
    shared.mkdir(mode=0o777)
    config = tmp_path / "etc-jupyter"
    config.mkdir()
    (config / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(shared)!r}\n")
    env = {k: v for k, v in os.environ.items() if k != "LOSSGRADE_EXCHANGE"}
    env["JUPYTER_CONFIG_PATH"] = str(config)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return course, shared, env


def lossgrade(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder.grading.lossgrade", *args, "--course", str(course)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_release_and_collect_refuse_a_private_exchange(setup):
    course, shared, env = setup
    for args in (("release", PS), ("collect", PS)):
        proc = lossgrade(course, env, *args)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"LOSSGRADE_EXCHANGE={shared}" in proc.stdout + proc.stderr
    assert not (course / "exchange").exists()


def test_with_the_shared_exchange_set_release_reaches_it(setup):
    course, shared, env = setup
    env["LOSSGRADE_EXCHANGE"] = str(shared)
    proc = lossgrade(course, env, "release", PS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (shared / "loss-functions" / "outbound" / PS / f"{PS}.ipynb").is_file()
