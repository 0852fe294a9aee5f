"""Hostile and broken submissions of ps01_regression, each with the score it must get.

A case starts from a correct submission (the release with the worked solutions filled in) and
breaks it one way: code that hangs, exits, crashes or eats memory; floods of output; wrong return
types; tampered test cells and metadata; attempts to cheat; files that are not notebooks.
``lose`` names the functions whose test cells must all score zero (the others keep full marks);
``zero`` means the whole submission scores zero. ``note`` is a phrase the grader's notes must
contain, so the instructor learns what happened; ``message`` one that the reason of every lost
test must contain. ``PAYLOADS`` are markup the student wrote: none may survive as markup in the
graded notebook rendered as feedback HTML.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
PS = "ps01_regression"
NOTEBOOK = f"{PS}.ipynb"
COURSE = ROOT / "course"
SOURCE = COURSE / "source" / PS / NOTEBOOK
RELEASE = COURSE / "release" / PS / NOTEBOOK
FUNCTIONS = ("mse", "mae", "huber", "quantile")
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def filled(ps: str = PS, course: Path = COURSE) -> nbformat.NotebookNode:
    """The released notebook of ``ps`` with every answer cell holding the worked solution."""
    name = f"{ps}.ipynb"
    source = nbformat.read(course / "source" / ps / name, as_version=4)
    answers = {grade_id(c): c.source for c in source.cells if grade_id(c)}
    nb = nbformat.read(course / "release" / ps / name, as_version=4)
    for cell in nb.cells:
        gid = grade_id(cell)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and gid in answers:
            cell.source = MARKERS.sub("", answers[gid])
    return nb


def replace(nb, name: str, code: str) -> None:
    """Put ``code`` in the answer cell of function ``name``."""
    (cell,) = [c for c in nb.cells if grade_id(c) == name]
    cell.source = code


def add(nb, code: str, at: int | None = None) -> None:
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.insert(len(nb.cells) if at is None else at, cell)


def save(nb, folder: Path, name: str = NOTEBOOK) -> None:
    """Write ``nb`` as it is (no validation: some cases are invalid on purpose)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(nb, indent=1))


WRONG_MSE = 'def mse(pred, target, *, reduction="mean"):\n    return 0.0\n'


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]  # writes the submission into the folder
    lose: frozenset[str] = frozenset()
    zero: bool = False
    note: str = ""
    status: str = "graded"
    namespace_only: bool = False  # the defence needs Linux namespaces
    message: str = ""


CASES: list[Case] = []


def case(name: str, **expect):
    """Register ``build(nb) -> nb | None`` (edits a filled notebook) as a case."""

    def register(edit):
        def build(folder: Path):
            nb = filled()
            save(edit(nb) or nb, folder)

        CASES.append(Case(name, build, frozenset(expect.pop("lose", ())), **expect))
        return edit

    return register


def raw_case(name: str, **expect):
    """Register ``build(folder)`` (writes whatever files it likes) as a case."""

    def register(build):
        CASES.append(Case(name, build, frozenset(expect.pop("lose", ())), **expect))
        return build

    return register


# ------------------------------------------------------------------ correct, as a baseline


@case("correct")
def _correct(nb):
    pass


# ------------------------------------------------------------------ hangs, exits, crashes


@case("function never returns", lose={"mse"})
def _hang(nb):
    replace(
        nb, "mse", 'def mse(pred, target, *, reduction="mean"):\n    while True:\n        pass\n'
    )


@case("cell never finishes", note="took longer")
def _hang_cell(nb):
    add(nb, "while True:\n    pass", at=2)


@case("function calls sys.exit()", lose={"mae"})
def _sys_exit(nb):
    replace(
        nb, "mae", 'import sys\n\ndef mae(pred, target, *, reduction="mean"):\n    sys.exit(0)\n'
    )


@case("function calls os._exit()", lose={"huber"})
def _os_exit(nb):
    replace(
        nb,
        "huber",
        'import os\n\ndef huber(pred, target, *, delta=1.0, reduction="mean"):\n    os._exit(0)\n',
    )


@case("function segfaults", lose={"quantile"})
def _segfault(nb):
    replace(
        nb,
        "quantile",
        'import ctypes\n\ndef quantile(pred, target, *, q=0.5, reduction="mean"):\n'
        "    return ctypes.string_at(0)\n",
    )


@case("a cell calls os._exit()", note="ended the Python process")
def _exit_cell(nb):
    add(nb, "import os\nos._exit(1)", at=1)


@case("a cell kills its own process", note="crashed the Python process")
def _kill_cell(nb):
    add(nb, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")


@case("a cell raises SystemExit")
def _system_exit_cell(nb):
    add(nb, "raise SystemExit('bye')")


@case("function recurses forever", lose={"mse"})
def _recursion(nb):
    replace(
        nb,
        "mse",
        'def mse(pred, target, *, reduction="mean"):\n'
        "    return mse(pred, target, reduction=reduction)\n",
    )


# ------------------------------------------------------------------ memory, output, processes


@case("function allocates far too much memory", lose={"mse"})
def _memory(nb):
    replace(
        nb,
        "mse",
        'def mse(pred, target, *, reduction="mean"):\n'
        "    big = np.ones((200_000, 100_000))\n    return big.sum()\n",
    )


@case("function grows memory until it runs out", lose={"mae"})
def _memory_grow(nb):
    replace(
        nb,
        "mae",
        'def mae(pred, target, *, reduction="mean"):\n    hoard = []\n'
        "    while True:\n        hoard.append(np.ones(10**7))\n",
    )


@case("megabytes of printed output")
def _output(nb):
    add(nb, "for i in range(200_000):\n    print('spam ' * 10)")
    for name in FUNCTIONS:
        (cell,) = [c for c in nb.cells if grade_id(c) == name]
        body = cell.source.replace("    ### BEGIN SOLUTION", "")
        cell.source = body.replace('"""\n', '"""\n    print("x" * 1_000_000)\n', 1)


@case("stderr and warnings from correct code")
def _stderr(nb):
    for name in FUNCTIONS:
        (cell,) = [c for c in nb.cells if grade_id(c) == name]
        cell.source = "import sys, warnings\n" + cell.source.replace(
            '"""\n',
            '"""\n    print("debug", file=sys.stderr)\n    warnings.warn("careful")\n',
            1,
        )


@case("function leaves a process running", lose={"mse"})
def _background(nb):
    replace(
        nb,
        "mse",
        'import subprocess\n\ndef mse(pred, target, *, reduction="mean"):\n'
        '    subprocess.Popen(["sleep", "314159"])\n    return 0.0\n',
    )


# ------------------------------------------------------------------ wrong answers


@case("wrong return types and exceptions", lose=set(FUNCTIONS))
def _types(nb):
    replace(
        nb,
        "mse",
        'def mse(pred, target, *, reduction="mean"):\n    ((pred - target) ** 2).mean()\n',
    )
    replace(nb, "mae", 'def mae(pred, target, *, reduction="mean"):\n    return "0.5"\n')
    replace(
        nb,
        "huber",
        'def huber(pred, target, *, delta=1.0, reduction="mean"):\n    return [0.5, 0.5]\n',
    )
    replace(
        nb,
        "quantile",
        'def quantile(pred, target, *, q=0.5, reduction="mean"):\n'
        '    raise RuntimeError("not today")\n',
    )


@case("function changes its input in place", lose={"mse"})
def _mutation(nb):
    replace(
        nb,
        "mse",
        'def mse(pred, target, *, reduction="mean"):\n    pred -= target\n'
        "    pred **= 2\n    return pred.mean() if reduction == 'mean' else "
        "pred.sum() if reduction == 'sum' else pred\n",
    )


@case("a name bound to a number instead of a function", lose={"mse"})
def _not_callable(nb):
    replace(nb, "mse", "mse = 0.0\n")


@case("answer cells left empty", lose=set(FUNCTIONS))
def _blank(nb):
    return nbformat.read(RELEASE, as_version=4)


# ------------------------------------------------------------------ tampering with the notebook


@case("test cells edited to pass", lose={"mse"})
def _edited_tests(nb):
    replace(nb, "mse", WRONG_MSE)
    for cell in nb.cells:
        if is_test(cell):
            cell.source = "pass"


@case("test cells deleted")
def _deleted_tests(nb):
    nb.cells = [c for c in nb.cells if not is_test(c)]


@case("test cells duplicated")
def _duplicated_tests(nb):
    cells = []
    for cell in nb.cells:
        cells += [cell, copy.deepcopy(cell)] if is_test(cell) else [cell]
    nb.cells = cells


@case("test cells turned into markdown")
def _retyped_tests(nb):
    nb.cells = [
        nbformat.v4.new_markdown_cell(c.source, metadata=c.metadata) if is_test(c) else c
        for c in nb.cells
    ]


@case("ids and metadata changed, points inflated")
def _metadata(nb):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta and meta.get("solution"):
            meta["grade_id"] = meta["grade_id"] + "_renamed"
        if meta and is_test(cell):
            meta["points"] = 100
        cell["id"] = "same-id"
    add(nb, "x = 1")
    nb.cells[-1].metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "points": 50,
        "grade_id": "bonus",
        "locked": False,
        "schema_version": 3,
    }
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}


@case("test cell swapped for one that always passes, wrong function", lose={"mse"})
def _test_swap(nb):
    replace(nb, "mse", WRONG_MSE)
    (cell,) = [c for c in nb.cells if grade_id(c) == "mse_basic"]
    cell.source = "assert True"


# ------------------------------------------------------------------ cheating


@case("monkeypatches numpy at the top level", lose={"mse"})
def _patch_numpy(nb):
    replace(nb, "mse", WRONG_MSE)
    add(
        nb,
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.isfinite = lambda x: np.ones(np.shape(x), bool)",
    )


@case("monkeypatches numpy and builtins from inside the function", lose={"mse"})
def _patch_in_call(nb):
    replace(
        nb,
        "mse",
        'import builtins\n\ndef mse(pred, target, *, reduction="mean"):\n'
        "    np.allclose = lambda *a, **k: True\n"
        "    builtins.isinstance = lambda *a: True\n"
        "    builtins.AssertionError = type('Nope', (Exception,), {})\n"
        "    return 0.0\n",
    )


@case("monkeypatches the autograder", lose={"mse"})
def _patch_autograder(nb):
    replace(nb, "mse", WRONG_MSE)
    add(
        nb,
        "import sys, autograder\nautograder.grade = autograder.check = lambda *a, **k: None\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    if name.startswith('autograder'):\n"
        "        for attr in ('grade', 'check', 'expect_close', '_matches', 'call'):\n"
        "            if hasattr(mod, attr):\n"
        "                setattr(mod, attr, lambda *a, **k: True)\n"
        "try:\n    import autograder.core as core\n    core.expect_close = lambda *a, **k: None\n"
        "except Exception:\n    pass",
    )


@case("imports the reference from lossutils", lose={"mse"})
def _lossutils(nb):
    replace(nb, "mse", "from lossutils import mse\n")


READ_SECRETS = f"""
import glob, json, re

def _steal():
    paths = [{str(SOURCE)!r}, {str(ROOT / "solutions" / PS / NOTEBOOK)!r}]
    paths += glob.glob({str(COURSE)!r} + "/**/*.ipynb", recursive=True)
    for path in paths:
        try:
            cells = json.load(open(path))["cells"]
        except Exception:
            continue
        for cell in cells:
            text = "".join(cell["source"])
            if text.startswith("def mse"):
                scope = {{"np": np}}
                exec(re.sub("### (BEGIN|END) SOLUTION", "", text), scope)
                return scope["mse"]
    return None

def mse(pred, target, *, reduction="mean"):
    stolen = _steal()
    return 0.0 if stolen is None else stolen(pred, target, reduction=reduction)
"""


@case("reads the source, solutions and other notebooks", lose={"mse"}, namespace_only=True)
def _read_source(nb):
    replace(nb, "mse", READ_SECRETS)


@case("reads the gradebook", lose={"mse"}, namespace_only=True)
def _read_gradebook(nb):
    replace(
        nb,
        "mse",
        f'def mse(pred, target, *, reduction="mean"):\n'
        f"    open({str(COURSE / 'gradebook.db')!r}, 'rb').read(16)\n"
        "    return ((pred - target) ** 2).mean()\n",
    )


WRITES = (
    COURSE / "pwned.txt",
    ROOT / "pwned.txt",
    ROOT / "solutions" / "pwned.txt",
    Path("/tmp/lossgrade-pwned.txt"),
)


@case("writes outside its scratch folder", namespace_only=True)
def _write(nb):
    targets = ", ".join(repr(str(p)) for p in WRITES)
    add(
        nb,
        f"for path in [{targets}]:\n    try:\n        open(path, 'w').write('x')\n"
        "    except OSError:\n        pass\nopen('scratch.txt', 'w').write('mine')",
    )


@case("opens a network connection", namespace_only=True)
def _network(nb):
    add(
        nb,
        "import socket\ntry:\n    socket.create_connection(('pypi.org', 443), timeout=2)\n"
        "except OSError as exc:\n    print('no network:', exc)",
    )


# ------------------------------------------------------------------ files that are not notebooks


@raw_case("not JSON", zero=True, status="unreadable notebook", note="invalid JSON")
def _not_json(folder: Path):
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text("{ this is not a notebook")


@raw_case("binary garbage", zero=True, status="unreadable notebook", note="not valid UTF-8")
def _binary(folder: Path):
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(bytes(range(256)) * 40)


@raw_case(
    "JSON that is not a notebook", zero=True, status="unreadable notebook", note="no list of cells"
)
def _json_list(folder: Path):
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text(json.dumps([1, 2, 3]))


@raw_case("non-UTF-8 bytes in a comment", note="not valid UTF-8")
def _latin1(folder: Path):
    save(filled(), folder)
    path = folder / NOTEBOOK
    data = path.read_bytes().replace(b"def mse(", b"# caf\xe9 na\xefve\\ndef mse(", 1)
    path.write_bytes(data)


@raw_case("no notebook", zero=True, status="no notebook", note="no ps01_regression.ipynb")
def _missing(folder: Path):
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("forgot to attach it")


@raw_case("notebook renamed", note="graded my_ps01.ipynb")
def _renamed(folder: Path):
    save(filled(), folder, "my_ps01.ipynb")


@raw_case(
    "notebook is a link to the solution", zero=True, status="no notebook", note="symbolic link"
)
def _symlink(folder: Path):
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).symlink_to(SOURCE)


# ------------------------------------------------------------------ markup and odd JSON

XSS = "<img src=x onerror=alert(1)>"
PAYLOADS = (
    XSS,
    "<script>alert(2)</script>",
    "[a link](javascript:alert(3))",
    "![an image](data:text/html;base64,PHNjcmlwdD4=)",
    "<a href='vbscript:msgbox(4)'>vb</a>",
    "&#60;img src=x onerror=alert(5)&#62;",
)
XSS_NOTEBOOK = f"{XSS}.ipynb"


@case("markdown, raw cells and output with HTML, scripts and javascript: links")
def _markdown_xss(nb):
    text = "Some working, with math: $y s < 1$ and **bold**.\n\n" + "\n\n".join(PAYLOADS)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    nb.cells.append(nbformat.v4.new_raw_cell("\n".join(PAYLOADS)))
    add(nb, f"print({PAYLOADS!r})")
    add(nb, f"raise ValueError({XSS!r})")


@case("written answer with HTML and scripts")
def _written_xss(nb):
    (cell,) = [c for c in nb.cells if grade_id(c) == "written_outliers"]
    cell.source = "MAE, because outliers count linearly.\n\n" + "\n".join(PAYLOADS)


@raw_case("notebook file name with HTML in it", note=f"graded {XSS_NOTEBOOK}")
def _xss_name(folder: Path):
    save(filled(), folder, XSS_NOTEBOOK)


@case("grade ids that are a list, an object and a number", note="grade_id that is not text")
def _odd_grade_ids(nb):
    for gid, odd in (("mse", ["mse"]), ("mae_basic", {"id": "mae"}), ("written_outliers", 7)):
        (cell,) = [c for c in nb.cells if grade_id(c) == gid]
        cell.metadata["nbgrader"]["grade_id"] = odd


@raw_case(
    "JSON nested 100000 levels deep", zero=True, status="unreadable notebook", note="too deeply"
)
def _deep_json(folder: Path):
    save(filled(), folder)
    path = folder / NOTEBOOK
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(path.read_text().replace('"metadata": {', f'"metadata": {{"deep": {deep},', 1))


@case("lone surrogates in a source and in metadata", note="lone surrogates")
def _surrogates(nb):
    (cell,) = [c for c in nb.cells if grade_id(c) == "mse"]
    cell.source = "# caf\ud800\n" + cell.source
    cell.metadata["nbgrader"]["grade_id"] = "mse\udfff"
    nb.cells.append(nbformat.v4.new_markdown_cell("lonely \udc80 surrogate"))
    add(nb, "print('out\\ud800put')")


@case("cells with a source that is not text or a cell_type that is not a string", note="malformed")
def _odd_cells(nb):
    nb.cells.append({"cell_type": "code", "metadata": {}, "source": 42, "outputs": []})
    nb.cells.append({"cell_type": "markdown", "metadata": {}, "source": ["a", ["b"]]})
    nb.cells.append({"cell_type": ["code"], "metadata": {}, "source": "mse = None"})
    nb.cells.append({"cell_type": {"x": 1}, "metadata": {}, "source": "mse = None"})


# ------------------------------------------------------------------ the library rule

TORCH_MSE = """import torch
import torch.nn.functional as F

def mse(pred, target, *, reduction="mean"):
    loss = F.mse_loss(torch.as_tensor(pred), torch.as_tensor(target), reduction=reduction)
    return loss.numpy()
"""


# Needs the sandbox side of the rule (the worker runs each call in core.watch_calls): until that
# lands, this torch mse scores full marks when graded.
@case(
    "mse written with torch.nn.functional",
    lose={"mse"},
    message="mse called torch.as_tensor, but this exercise forbids lossutils, torch and sklearn",
)
def _torch_mse(nb):
    replace(nb, "mse", TORCH_MSE)


def points() -> dict[str, dict[str, float]]:
    """Points of each test cell, by function: ``{"mse": {"mse_basic": 2.0, ...}, ...}``."""
    out: dict[str, dict[str, float]] = {f: {} for f in FUNCTIONS}
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        if is_test(cell):
            gid = grade_id(cell)
            fn = next(f for f in FUNCTIONS if gid.startswith(f + "_"))
            out[fn][gid] = float(cell.metadata["nbgrader"]["points"])
    return out


def expected(c: Case) -> dict[str, float]:
    """The score each test cell must get in case ``c``."""
    return {
        gid: 0.0 if c.zero or fn in c.lose else pts
        for fn, cells in points().items()
        for gid, pts in cells.items()
    }
