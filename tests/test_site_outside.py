"""Each chapter and the ps01 assignment run outside this repository (issue 11).

A fresh virtual environment in a temporary folder gets only a Jupyter kernel; the project comes
from the wheel that `make wheel` built, installed by the notebooks' own first cell
(tools/install_cell.py) through ``LOSSUTILS_WHEEL``, with pip honouring ``PIP_CONSTRAINT`` so torch
stays the pinned CPU build. Then every chapter notebook, as the built site offers it for
download, runs there from top to bottom, and so does the ps01 release notebook with a correct
solution in its answer cells and its own ``check(...)`` cells.

Slow (several minutes: the install once per session, then every chapter).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("BOOK_SITE_DIR") or ROOT / "book" / "_build" / "html")
SOURCES = SITE / "_sources"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
PS = "ps01_regression"
MARKER = re.compile(r"^[ \t]*###? (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)

_spec = importlib.util.spec_from_file_location("install_cell", ROOT / "tools" / "install_cell.py")
install_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_cell)

pytestmark = pytest.mark.slow

RUNNER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    path, cwd = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": cwd}}).execute()
    nbformat.write(nb, path)
""")


@pytest.fixture(scope="session")
def outside(tmp_path_factory):
    """A venv outside the repository with a kernel and, after the install cell ran, the wheel."""
    wheels = sorted((ROOT / "dist").glob("*.whl"))
    if not wheels:
        pytest.fail("no wheel in dist/: `make wheel` builds it")
    home = tmp_path_factory.mktemp("outside")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PIP_CONSTRAINT=str(ROOT / "constraints.txt"),
        LOSSUTILS_WHEEL=str(wheels[-1]),
        JUPYTER_PATH=str(venv / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        PYTHONNOUSERSITE="1",
    )
    # a bare Jupyter kernel and notebook runner: what Colab or a reader's lab already has
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ipykernel", "nbclient",
                    "nbformat"], check=True, env=env, cwd=home)
    subprocess.run([str(python), "-m", "ipykernel", "install", "--sys-prefix", "--name",
                    "python3"], check=True, env=env, cwd=home, capture_output=True)
    probe = [str(python), "-c", "import importlib.util as u; print(u.find_spec('lossutils'))"]
    assert subprocess.run(probe, env=env, cwd=home, capture_output=True,
                          text=True).stdout.strip() == "None", "lossutils is visible before install"
    # the install cell itself, exactly as tools/install_cell.py writes it, installs the wheel
    nb = nbformat.v4.new_notebook()
    nb.cells = [install_cell.make_cell(None, None),
                nbformat.v4.new_code_cell("import lossutils, autograder\n"
                                          "print(lossutils.__file__)")]
    runner = home / "run_notebook.py"
    runner.write_text(RUNNER)
    path = home / "install.ipynb"
    nbformat.write(nb, path)
    subprocess.run([str(python), str(runner), str(path), str(home)], check=True, env=env,
                   cwd=home, timeout=1800)
    done = nbformat.read(path, as_version=4)
    where = "".join(o.get("text", "") for o in done.cells[1].outputs)
    assert str(venv) in where and str(ROOT) not in where, where
    return {"python": python, "env": env, "home": home, "runner": runner}


def _run(outside, nb, name: str) -> nbformat.NotebookNode:
    work = outside["home"] / name
    work.mkdir(exist_ok=True)
    path = work / f"{name}.ipynb"
    nbformat.write(nb, path)
    run = subprocess.run([str(outside["python"]), str(outside["runner"]), str(path), str(work)],
                         env=outside["env"], cwd=work, capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, f"{name} failed outside the repository:\n{run.stderr[-4000:]}"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_downloaded_chapter_runs_outside_the_repository(chapter, outside):
    path = SOURCES / f"{chapter}.ipynb"
    assert path.exists(), f"the site offers no {path.name} for download (build the site)"
    nb = nbformat.read(path, as_version=4)
    why = install_cell.problem(nb)
    assert why is None, f"downloaded {chapter}: {why}; run tools/install_cell.py on book/*.ipynb"
    _run(outside, nb, chapter)


def test_ps01_release_runs_with_check_outside_the_repository(outside):
    release = ROOT / "course" / "release" / PS / f"{PS}.ipynb"
    if not release.exists():
        pytest.fail("no course/release: `make course` generates it")
    nb = nbformat.read(release, as_version=4)
    assert install_cell.problem(nb) is None, "the release does not start with the install cell"
    source = nbformat.read(ROOT / "course" / "source" / PS / f"{PS}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: MARKER.sub("", c.source)
               for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    filled = 0
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
            filled += 1
    assert filled, "no answer cells found in the release"
    checks = [c for c in nb.cells if c.cell_type == "code" and "check(" in c.source]
    assert checks, "the release calls no check(...)"
    done = _run(outside, nb, PS)
    text = json.dumps([c.get("outputs", []) for c in done.cells])
    assert "ModuleNotFoundError" not in text and "Traceback" not in text
