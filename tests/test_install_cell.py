"""The install cell (tools/install_cell.py): every chapter and release notebook starts with it.

Fast: nothing here installs anything (tests/test_site_outside.py runs the cell for real).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
RELEASES = sorted((ROOT / "course" / "release").glob("*/*.ipynb"))

_spec = importlib.util.spec_from_file_location("install_cell", ROOT / "tools" / "install_cell.py")
install_cell = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_cell)


def _strict():
    """The publishing location, when the environment sets one: the cells must name it."""
    repository, branch = install_cell.location()
    return {"repository": repository, "branch": branch, "strict_location": repository is not None}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_starts_with_the_install_cell(path):
    why = install_cell.problem(nbformat.read(path, as_version=4), **_strict())
    assert why is None, f"{path.name}: {why}; run `.venv/bin/python tools/install_cell.py book/*.ipynb`"


def test_release_notebooks_start_with_the_install_cell():
    if not RELEASES:
        pytest.skip("no course/release: `make course` generates it")
    for path in RELEASES:
        why = install_cell.problem(nbformat.read(path, as_version=4), **_strict())
        assert why is None, f"{path}: {why}; `make course` writes it"


def test_cell_round_trips_its_location():
    for where in [(None, None), ("https://github.com/o/r", "main"), ("https://gitlab.com/o/r", "v2")]:
        assert install_cell.cell_location(install_cell.render(*where)) == where


def test_apply_inserts_updates_and_is_idempotent():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")]
    assert install_cell.problem(nb) is not None
    assert install_cell.apply(nb, None, None)
    assert install_cell.problem(nb) is None and nb.cells[0].metadata["tags"] == ["remove-cell"]
    assert [c.source for c in nb.cells[1:]] == ["# Title", "x = 1"]
    assert not install_cell.apply(nb, None, None)
    nb.cells[0].source = nb.cells[0].source.replace("--quiet", "--verbose")  # hand-edited
    assert "differs" in install_cell.problem(nb)
    assert install_cell.apply(nb, "https://github.com/o/r", "main")
    assert len(nb.cells) == 3 and install_cell.problem(nb) is None
    why = install_cell.problem(nb, "https://github.com/o/other", "main", strict_location=True)
    assert "publishing location" in why
    nb.cells.insert(0, nb.cells.pop(1))  # the install cell moved down
    assert "first cell" in install_cell.problem(nb)
    assert install_cell.apply(nb, None, None) and nb.cells[0].id == install_cell.CELL_ID
    assert len(nb.cells) == 3


def test_location_comes_from_the_same_variables_as_the_site():
    assert install_cell.location({}) == (None, None)
    assert install_cell.location({"BOOK_REPOSITORY_URL": "https://github.com/o/r.git"}) == (
        "https://github.com/o/r", "main")
    env = {"BOOK_REPOSITORY_URL": "https://github.com/o/r/", "BOOK_REPOSITORY_BRANCH": "term"}
    assert install_cell.location(env) == ("https://github.com/o/r", "term")
    with pytest.raises(SystemExit):
        install_cell.location({"BOOK_REPOSITORY_BRANCH": "main"})


def _run_cell(source: str, env: dict, monkeypatch) -> list:
    """Execute the cell's code with lossutils reported missing and pip replaced by a recorder."""
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "lossutils" else object())
    monkeypatch.setattr("subprocess.run", lambda cmd, check: calls.append(cmd))
    for key in ("LOSSUTILS_WHEEL",):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    exec(compile(source, "install-cell", "exec"), {})
    return calls


def test_cell_installs_the_wheel_when_named(monkeypatch):
    calls = _run_cell(install_cell.render("https://github.com/o/r", "main"),
                      {"LOSSUTILS_WHEEL": "/tmp/x-0.1-py3-none-any.whl"}, monkeypatch)
    assert calls and calls[0][-1] == "/tmp/x-0.1-py3-none-any.whl"
    assert calls[0][1:4] == ["-m", "pip", "install"]


def test_cell_installs_from_the_published_repository(monkeypatch):
    calls = _run_cell(install_cell.render("https://github.com/o/r", "term"), {}, monkeypatch)
    assert calls[0][-1] == "git+https://github.com/o/r@term"


def test_cell_without_a_location_says_how_to_install(monkeypatch):
    with pytest.raises(ModuleNotFoundError, match="LOSSUTILS_WHEEL"):
        _run_cell(install_cell.render(None, None), {}, monkeypatch)
    assert "example" not in install_cell.render(None, None)


def test_check_mode_names_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BOOK_REPOSITORY_URL", raising=False)
    monkeypatch.delenv("BOOK_REPOSITORY_BRANCH", raising=False)
    path = tmp_path / "n.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T")]
    nbformat.write(nb, path)
    assert install_cell.main(["--check", str(path)]) == 1
    assert "tools/install_cell.py" in capsys.readouterr().out
    assert install_cell.main([str(path)]) == 0
    assert install_cell.main(["--check", str(path)]) == 0
    assert os.path.getsize(path) > 0
