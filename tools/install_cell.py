"""The first cell of every chapter and assignment notebook: install the project when it is missing.

A notebook opened outside this checkout (Colab, Binder, a download from the site) has no
``lossutils``. Its first cell, written here and nowhere else, installs the project:

1. from the wheel named by the environment variable ``LOSSUTILS_WHEEL`` when it is set (``make
   wheel`` builds it; the site offers it for download), else
2. from the published repository, ``pip install "git+<repository>@<branch>"``, when the cell
   knows where the project is published, else
3. it stops with an error that says how to install the project.

pip honours ``PIP_CONSTRAINT`` (and the rest of its environment), so a caller can pin torch.

Where the project is published reaches the cell through this script: it writes
``BOOK_REPOSITORY_URL`` and ``BOOK_REPOSITORY_BRANCH`` (the same variables the site's build reads,
see book/_ext/publishing.py) into the cell when they are set, and ``None`` when they are not, so a
notebook opened in Colab from the repository installs the project from that same repository.
tests/test_install_cell.py fails when a notebook's first cell is not the one this script writes
(and, when the variables are set, when it names another repository).

    python tools/install_cell.py book/*.ipynb          # insert or update the cell in place
    python tools/install_cell.py --check book/*.ipynb  # exit 1, naming each notebook out of step

The cell is tagged ``remove-cell``, so the site does not show it; its id is ``install-lossutils``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

CELL_ID = "install-lossutils"
TAGS = ["remove-cell"]

# The cell's code; REPOSITORY and BRANCH are filled in by render().
TEMPLATE = '''\
# Installs the book's library when it is missing (Colab, Binder, a downloaded notebook).
# Written by tools/install_cell.py: edit that script, not this cell.
import importlib.util
import os
import subprocess
import sys

REPOSITORY = {repository!r}  # where the project is published (None: not published)
BRANCH = {branch!r}
if importlib.util.find_spec("lossutils") is None:
    if os.environ.get("LOSSUTILS_WHEEL"):
        source = os.environ["LOSSUTILS_WHEEL"]  # a wheel built by `make wheel` or downloaded
    elif REPOSITORY:
        source = f"git+{{REPOSITORY}}@{{BRANCH}}"
    else:
        raise ModuleNotFoundError(
            "lossutils is not installed. Download the project's wheel from the book's "
            "introduction page and run `pip install <wheel file>`, or set LOSSUTILS_WHEEL to "
            "its path, then restart the kernel and run this notebook again."
        )
    print(f"installing the book's library from {{source}} ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
    importlib.invalidate_caches()
'''

_ASSIGN = re.compile(r"^(REPOSITORY|BRANCH) = (.*?)(?:  #.*)?$", re.MULTILINE)


def location(environ=None) -> tuple[str | None, str | None]:
    """(repository URL, branch) from ``BOOK_REPOSITORY_URL`` / ``BOOK_REPOSITORY_BRANCH``."""
    environ = os.environ if environ is None else environ
    url = environ.get("BOOK_REPOSITORY_URL", "").strip().rstrip("/") or None
    if url and url.endswith(".git"):
        url = url[: -len(".git")]
    branch = environ.get("BOOK_REPOSITORY_BRANCH", "").strip() or None
    if url is None:
        if branch:
            raise SystemExit("BOOK_REPOSITORY_BRANCH is set but BOOK_REPOSITORY_URL is not")
        return None, None
    return url, branch or "main"


def render(repository: str | None, branch: str | None) -> str:
    """The cell's source for a project published at ``repository`` on ``branch`` (or nowhere)."""
    if (repository is None) != (branch is None):
        raise ValueError("give both the repository URL and the branch, or neither")
    return TEMPLATE.format(repository=repository, branch=branch)


def cell_location(source: str) -> tuple[str | None, str | None] | None:
    """The (repository, branch) written in a cell's source, or ``None`` if it has no such lines."""
    import ast

    found = dict(_ASSIGN.findall(source))
    if set(found) != {"REPOSITORY", "BRANCH"}:
        return None
    try:
        return ast.literal_eval(found["REPOSITORY"]), ast.literal_eval(found["BRANCH"])
    except (ValueError, SyntaxError):
        return None


def make_cell(repository: str | None, branch: str | None):
    import nbformat

    cell = nbformat.v4.new_code_cell(render(repository, branch))
    cell.id = CELL_ID
    cell.metadata["tags"] = list(TAGS)
    return cell


def is_install_cell(cell) -> bool:
    return cell.get("id") == CELL_ID


def problem(nb, repository: str | None = None, branch: str | None = None,
            *, strict_location: bool = False) -> str | None:
    """What is wrong with ``nb``'s first cell, or ``None`` when it is the install cell.

    The cell may name any repository unless ``strict_location``; then it must name
    ``repository``/``branch`` (the publishing location the caller has).
    """
    if not nb.cells or not is_install_cell(nb.cells[0]):
        return f"the first cell is not the install cell (id {CELL_ID!r})"
    cell = nb.cells[0]
    if cell.cell_type != "code":
        return "the install cell is not a code cell"
    if sorted(cell.metadata.get("tags", [])) != sorted(TAGS):
        return f"the install cell's tags are {cell.metadata.get('tags')}, not {TAGS}"
    written = cell_location(cell.source)
    if written is None:
        return "the install cell has no REPOSITORY / BRANCH lines"
    if cell.source != render(*written):
        return "the install cell's code differs from tools/install_cell.py's"
    if strict_location and written != (repository, branch):
        return (f"the install cell installs from {written[0]!r} @ {written[1]!r}, but the "
                f"publishing location is {repository!r} @ {branch!r}")
    return None


def apply(nb, repository: str | None, branch: str | None) -> bool:
    """Insert or update the install cell as ``nb``'s first cell; True if ``nb`` changed."""
    new = make_cell(repository, branch)
    old = [c for c in nb.cells if is_install_cell(c)]
    rest = [c for c in nb.cells if not is_install_cell(c)]
    if (len(old) == 1 and nb.cells[0] is old[0] and old[0].source == new.source
            and old[0].metadata.get("tags") == new.metadata["tags"]
            and old[0].cell_type == "code"):
        return False
    if old and old[0].cell_type == "code":
        cell = old[0]
        cell.source = new.source
        cell.metadata["tags"] = new.metadata["tags"]
        cell.outputs, cell.execution_count = [], None
    else:
        cell = new
    nb.cells = [cell, *rest]
    return True


def update_file(path: Path, repository: str | None, branch: str | None) -> bool:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    if not apply(nb, repository, branch):
        return False
    nbformat.write(nb, path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook's first cell is out of step")
    args = parser.parse_args(argv)
    import nbformat

    repository, branch = location()
    bad = 0
    for path in args.notebooks:
        if args.check:
            nb = nbformat.read(path, as_version=4)
            why = problem(nb, repository, branch, strict_location=repository is not None)
            if why:
                bad += 1
                print(f"{path}: {why}; run: python tools/install_cell.py {path}")
        elif update_file(path, repository, branch):
            print(f"{path}: install cell written ({repository or 'no repository'})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
