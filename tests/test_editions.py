"""Editions of the site: the course edition hands out no worked solution until it is published.

The filter (book/_ext/editions.py) is tested on its own, fast. The slow test builds the course
edition once, with one assignment published, into a temporary folder (reusing the execution cache
of the self-study build) and searches every page, download and source copy of both editions for
the material a course keeps back: the solution code and model answers of course/source, the
chapters' exercise solutions and their links to the worked solution notebooks. Each piece is found
by word sequences of its own that no public page (student release, filtered chapter) contains;
the self-study edition must show every piece, so the search cannot pass by finding nothing.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SELF_STUDY = BOOK / "_build" / "html"
CHAPTERS = [e["file"] for e in
            yaml.safe_load((BOOK / "_toc.yml").read_text())["parts"][0]["chapters"]]
# the assignment each chapter links (tests/test_chapters.py; chapter 1 links the first one)
ASSIGNMENT = {"01_what_is_a_loss": "ps01_regression", "02_regression": "ps01_regression",
              "03_cross_entropy": "ps02_cross_entropy", "04_multilabel": "ps03_multilabel",
              "05_imbalance_focal": "ps04_focal", "06_hinge": "ps05_hinge",
              "07_triplet": "ps06_triplet", "08_custom": "ps07_custom"}
PUBLISHED = "ps03_multilabel"  # published in the course build of the slow test


def _load_editions():
    spec = importlib.util.spec_from_file_location("editions", BOOK / "_ext" / "editions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


E = _load_editions()


def _md(source: str, tags=(), cell_id="c") -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {"tags": list(tags)},
            "source": source}


def _code(source: str, cell_id="k") -> dict:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source,
            "outputs": [], "execution_count": None}


def _nb(*cells) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _chapter(name: str) -> dict:
    return json.loads((BOOK / f"{name}.ipynb").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the filter


EXERCISE = """\
## Exercises

````{exercise}
:label: ex-a

Prove it.
````

````{solution} ex-a
:class: dropdown

The proof, with code:

```python
print("secret")
```
````

After the solution.
"""


def test_strip_removes_a_solution_and_keeps_the_exercise():
    text, gated = E.strip_solutions(EXERCISE)
    assert not gated
    assert "{solution}" not in text and "The proof" not in text and "secret" not in text
    assert "````{exercise}\n:label: ex-a\n\nProve it.\n````\n" in text
    assert text.endswith("````\n\nAfter the solution.\n")  # one blank line where it was


@pytest.mark.parametrize("block", [
    "```{solution} ex-a\n:class: dropdown\n\nthe answer\n```\n",
    ":::{solution} ex-a\n:class: dropdown\n\nthe answer\n:::\n",
    "::::{solution}\n:::{note}\nthe answer\n:::\n::::\n",
    "  ````{solution} ex-a\n  the answer\n  ```\n  still the answer\n  ```\n  ````\n",
    "```{solution} ex-a\nthe answer, never closed\n",
])
def test_strip_handles_every_fence(block):
    text, _ = E.strip_solutions(f"before\n\n{block}\nafter\n")
    assert "answer" not in text and "{solution}" not in text
    assert text.startswith("before\n") and ("after" in text or "never closed" in block)


def test_strip_looks_inside_directives_but_not_inside_code():
    nested = "````{admonition} Try it\n```{solution} ex-a\nthe answer\n```\n````\n"
    assert "answer" not in E.strip_solutions(nested)[0]
    # how to write a solution, shown as code, is not a solution
    shown = "````markdown\n```{solution} ex-a\nan example\n```\n````\n"
    assert E.strip_solutions(shown)[0] == shown
    bare = "```\n```{solution} ex-a\n```\n"
    assert E.strip_solutions(bare)[0] == bare


def test_gated_solutions_may_span_cells():
    nb = _nb(_md("Intro.\n\n```{solution-start} ex-a\n:class: dropdown\n```\nWe compute:\n", cell_id="m1"),
             _code("x = solve()", cell_id="k1"),
             _md("which gives 3.\n```{solution-end}\n```\nMore prose.\n", cell_id="m2"),
             _code("y = 1", cell_id="k2"),
             _md("Worked solutions: ../solutions/ps01_regression/ps01_regression.ipynb",
                 tags=["solutions"], cell_id="solutions-ps01_regression"))
    out = E.filter_notebook(nb)
    assert [c["id"] for c in out["cells"]] == ["m1", "m2", "k2"]
    assert out["cells"][0]["source"] == "Intro.\n\n"
    assert out["cells"][1]["source"] == "More prose.\n"
    assert E.filter_notebook(nb, ["ps01_regression"]) == nb


def test_filter_notebook_keeps_what_is_published_and_nothing_else():
    link = _md("Worked solutions: {download}`notebook <../solutions/ps02_cross_entropy/ps02_cross_entropy.ipynb>`",
               tags=["solutions"], cell_id="solutions-ps02_cross_entropy")
    nb = _nb(_md(EXERCISE, cell_id="ex"), _code("print(1)"), link)
    before = json.dumps(nb)
    course = E.filter_notebook(nb, [])
    assert json.dumps(nb) == before, "the filter changed its input"
    assert [c["id"] for c in course["cells"]] == ["ex", "k"]
    assert "{exercise}" in course["cells"][0]["source"]
    assert "{solution}" not in course["cells"][0]["source"]
    assert course["cells"][1] == nb["cells"][1]
    # another assignment published: still nothing of this chapter
    assert E.filter_notebook(nb, ["ps01_regression"]) == course
    assert E.filter_notebook(nb, ["ps02_cross_entropy"]) == nb
    # a chapter that links no assignment keeps its exercise solutions only in self-study
    orphan = _nb(_md(EXERCISE, cell_id="ex"))
    assert "{solution}" not in E.filter_notebook(orphan, E.assignments())["cells"][0]["source"]


def test_the_assignment_of_a_solutions_cell_comes_from_its_id_or_its_link():
    assert E.cell_assignments({"id": "solutions-ps05_hinge", "source": ""}) == {"ps05_hinge"}
    assert E.cell_assignments({"id": "x", "source": "see ../solutions/ps06_triplet/ps06_triplet.ipynb"}) \
        == {"ps06_triplet"}


def test_a_reference_to_solutions_outside_the_tagged_cell_is_reported():
    assert E.leaked_references("{download}`x <../solutions/ps01_regression/ps01_regression.ipynb>`") \
        == ["solutions/ps01_regression"]
    assert E.leaked_references("../solutions/ps01_regression/a.ipynb", ["ps01_regression"]) == []
    assert E.leaked_references("the repository's `solutions/` folder; ../course/release/ps01_regression") == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_course_edition_of_each_chapter(chapter):
    nb = _chapter(chapter)
    assert E.chapter_assignments(nb) == {ASSIGNMENT[chapter]}, \
        "each chapter's link to its solutions sits in a markdown cell tagged 'solutions'"
    course = E.filter_notebook(nb, [])
    text = json.dumps(course)
    assert E.leaked_references(text) == []
    assert not any("solutions" in c.get("metadata", {}).get("tags", []) for c in course["cells"])
    for cell in course["cells"]:
        if cell["cell_type"] == "markdown":
            assert E.strip_solutions(cell["source"])[0] == cell["source"], cell["id"]
    assert text.count("{exercise}") == json.dumps(nb).count("{exercise}") > 0
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c for c in course["cells"] if c["cell_type"] == "code"] == code, \
        "code cells changed: the course edition would miss the execution cache"
    assert E.filter_notebook(nb, [ASSIGNMENT[chapter]]) == nb
    assert E.filter_source(f"{chapter}.ipynb", json.dumps(nb), "self-study") == json.dumps(nb)


def test_unknown_edition_names_the_valid_ones():
    with pytest.raises(E.EditionError, match="'lecture'.*self-study, course"):
        E.edition_from_env({"BOOK_EDITION": "lecture"})
    assert E.edition_from_env({}) == "self-study"
    assert E.edition_from_env({"BOOK_EDITION": "course"}) == "course"


def test_make_rejects_an_unknown_edition():
    run = subprocess.run(["make", "-n", "book", "EDITION=lecture"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert "EDITION=lecture is not an edition of the site; valid editions: self-study course" \
        in run.stderr


# --------------------------------------------------------------------------- publishing


VALID = ["ps01_regression", "ps02_cross_entropy", "ps03_multilabel"]


def test_publish_is_idempotent_and_undone_by_unpublish(tmp_path):
    listing = tmp_path / "published.txt"
    assert E.read_published(listing) == []
    assert E.publish("ps02_cross_entropy", listing, VALID) is True
    assert E.publish("ps01_regression", listing, VALID) is True
    first = listing.read_text()
    assert E.publish("ps01_regression", listing, VALID) is False
    assert listing.read_text() == first
    assert E.read_published(listing) == ["ps01_regression", "ps02_cross_entropy"]
    assert first.startswith("#"), "the file explains itself"
    assert E.unpublish("ps01_regression", listing, VALID) is True
    assert E.unpublish("ps01_regression", listing, VALID) is False
    assert E.read_published(listing) == ["ps02_cross_entropy"]


def test_publish_rejects_unknown_assignments_with_the_valid_ones(tmp_path):
    listing = tmp_path / "published.txt"
    with pytest.raises(E.EditionError, match="'ps09_attention'.*valid assignments: "
                                             "ps01_regression, ps02_cross_entropy, ps03_multilabel"):
        E.publish("ps09_attention", listing, VALID)
    assert not listing.exists()
    listing.write_text("ps01_regression\nps1_regression  # a typo\n")
    with pytest.raises(E.EditionError, match="'ps1_regression'"):
        E.published_from({}, listing, VALID)
    with pytest.raises(E.EditionError, match="BOOK_SOLUTIONS_PUBLISHED.*'nope'"):
        E.published_from({"BOOK_SOLUTIONS_PUBLISHED": "ps01_regression,nope"}, listing, VALID)
    assert E.published_from({"BOOK_SOLUTIONS_PUBLISHED": "ps03_multilabel ps01_regression"},
                            listing, VALID) == ["ps03_multilabel", "ps01_regression"]
    assert E.published_from({"BOOK_SOLUTIONS_PUBLISHED": ""}, listing, VALID) == []


def test_publish_command_line(tmp_path, capsys):
    listing = tmp_path / "published.txt"
    src = tmp_path / "source"
    for ps in VALID:
        (src / ps).mkdir(parents=True)
        (src / ps / f"{ps}.ipynb").write_text("{}")
    args = ["--file", str(listing), "--course-source", str(src)]
    assert E.main([*args, "publish", "ps03_multilabel"]) == 0
    assert "ps03_multilabel: published" in capsys.readouterr().out
    assert E.main([*args, "publish", "ps03_multilabel"]) == 0
    assert "already published" in capsys.readouterr().out
    assert E.main([*args, "list"]) == 0
    assert capsys.readouterr().out.split() == ["ps03_multilabel"]
    assert E.main([*args, "publish", "ps3"]) == 2
    assert "valid assignments: ps01_regression, ps02_cross_entropy, ps03_multilabel" \
        in capsys.readouterr().err
    assert E.main([*args, "unpublish", "ps03_multilabel"]) == 0
    assert E.read_published(listing) == []


def test_the_committed_list_names_real_assignments():
    assert E.assignments() == sorted(set(ASSIGNMENT.values()))
    E.published_from({}, E.PUBLISHED_FILE)  # raises for a name that is not an assignment


# --------------------------------------------------------------------------- the built sites

WINDOW = 6  # words in a row that identify a piece of hidden material


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _windows(text: str) -> set[str]:
    w = _words(text)
    return {" ".join(w[i:i + WINDOW]) for i in range(len(w) - WINDOW + 1)}


def _prose(markdown: str) -> str:
    """Roughly what a reader sees of MyST markdown: no fences, options, roles or link targets."""
    lines = [ln for ln in markdown.splitlines()
             if not re.match(r"\s*(`{3,}|:{3,}|~{3,})", ln) and not re.match(r"\s*:\w+:", ln)]
    text = "\n".join(lines)
    text = re.sub(r"\{[\w:-]+\}`([^`<]*)(<[^>]*>)?`", r"\1", text)  # {role}`text <target>`
    return re.sub(r"\]\([^)]*\)", "]", text)  # [text](url)


def _source_cells(ps: str) -> list[dict]:
    nb = json.loads((ROOT / "course" / "source" / ps / f"{ps}.ipynb").read_text(encoding="utf-8"))
    return nb["cells"]


def _hidden_material() -> dict[tuple[str, str], str]:
    """(assignment, what) -> text a course keeps back until the assignment is published."""
    items = {}
    for ps in E.assignments():
        for i, cell in enumerate(_source_cells(ps)):
            src = E._source(cell)
            if not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                continue
            if cell["cell_type"] == "code":
                for j, code in enumerate(re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION",
                                                    src, re.S)):
                    items[ps, f"solution code, cell {i}.{j}"] = code
            else:
                items[ps, f"model answer, cell {i}"] = _prose(src)
    for chapter in CHAPTERS:
        nb = _chapter(chapter)
        (ps,) = E.chapter_assignments(nb)
        for cell in nb["cells"]:
            src = E._source(cell)
            if "solutions" in cell.get("metadata", {}).get("tags", []):
                items[ps, f"{chapter}: link to the solutions"] = _prose(src)
                continue
            if cell["cell_type"] != "markdown":
                continue
            kept = E.strip_solutions(src)[0]
            if kept != src:  # the cell has exercise solutions: what the filter takes out
                removed = [ln for ln in src.splitlines() if ln not in set(kept.splitlines())]
                items[ps, f"{chapter}: exercise solutions in cell {cell['id']}"] = \
                    _prose("\n".join(removed))
    return items


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # (not the pictures)
        value = [v for k, v in value.items() if not str(k).startswith("image/")]
    return [s for v in value for s in _strings(v)] if isinstance(value, list) else []


def _public_text() -> str:
    """What every edition may show: the student releases, the filtered book pages, and the
    chapters' code cells with their metadata (captions, alt text) and outputs (from the cache)."""
    from jupyter_cache import get_cache
    from nbformat import from_dict

    cache = get_cache(str(BOOK / "_build" / ".jupyter_cache"))
    parts = []
    for chapter in CHAPTERS:
        nb = E.filter_notebook(_chapter(chapter), [])
        parts += [E._source(cell) for cell in nb["cells"]]
        try:
            record = cache.match_cache_notebook(from_dict(nb))
        except KeyError:
            pytest.fail(f"{chapter} is not in the execution cache: did it change during the test?")
        executed = cache.get_cache_bundle(record.pk).nb
        for cell in executed.cells:
            if cell.cell_type == "code":
                parts += _strings(cell.metadata) + _strings(cell.get("outputs", []))
    parts += [p.read_text(encoding="utf-8") for p in BOOK.glob("*.md")]
    for nb in (ROOT / "course" / "release").glob("*/*.ipynb"):
        parts += [E._source(c) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]]
    return "\n".join(parts)


def _site_text(site: Path) -> dict[str, set[str]]:
    """Windows of every page, download and source copy of a built site, by file."""
    found = {}
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if not path.is_file() or not (path.suffix == ".html" or rel.startswith(("_downloads/", "_sources/"))):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
            text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        elif path.suffix == ".ipynb":
            text = "\n".join(E._source(c) for c in json.loads(text).get("cells", []))
        found[rel] = _windows(text)
    return found


def _where(fingerprints: set[str], site: dict[str, set[str]]) -> dict[str, set[str]]:
    return {rel: hits for rel, windows in site.items() if (hits := fingerprints & windows)}


def _build_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOK_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def self_study() -> Path:
    if not (SELF_STUDY / "index.html").exists():
        jb = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", str(BOOK)], check=True,
                       env=_build_env())
    return SELF_STUDY


@pytest.fixture(scope="module")
def course(self_study, tmp_path_factory) -> Path:
    """The course edition with one assignment published, built once (the self-study cache)."""
    out = tmp_path_factory.mktemp("course-edition")
    jb = Path(sys.executable).with_name("jupyter-book")
    # a repository and a hub, so that the launch buttons would be there if the edition kept them
    env = _build_env(BOOK_EDITION="course", BOOK_SOLUTIONS_PUBLISHED=PUBLISHED,
                     BOOK_REPOSITORY_URL="https://github.com/example-org/loss-functions",
                     BOOK_JUPYTERHUB_URL="https://hub.example.edu")
    run = subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", "--path-output", str(out),
                          str(BOOK)], env=env, capture_output=True, text=True)
    problems = [ln for ln in (run.stdout + run.stderr).splitlines() if re.search(r"WARNING|ERROR|Error", ln)]
    assert run.returncode == 0, "\n".join(problems[:40]) or run.stderr[-4000:]
    return out / "_build" / "html"


@pytest.mark.slow
def test_course_edition_hides_every_unpublished_solution(self_study, course):
    public = _windows(_public_text())
    material = {key: _windows(text) - public for key, text in _hidden_material().items()}
    # what two assignments share (a reduction, a phrase) says nothing about which one is shown
    owners: dict[str, set[str]] = {}
    for (ps, _), prints in material.items():
        for window in prints:
            owners.setdefault(window, set()).add(ps)
    material = {key: {w for w in prints if len(owners[w]) == 1} for key, prints in material.items()}
    material = {key: prints for key, prints in material.items() if prints}
    assert {ps for ps, _ in material} == set(E.assignments())
    for kind in ("solution code", "model answer", "link to the solutions", "exercise solutions"):
        assert any(kind in what for _, what in material), f"no {kind} to look for"
    study, lecture = _site_text(self_study), _site_text(course)
    missing = [key for key, prints in material.items() if not _where(prints, study)]
    assert not missing, f"the self-study edition lacks (is it stale? make book): {missing}"
    leaks, absent = {}, []
    for (ps, what), prints in material.items():
        where = _where(prints, lecture)
        if ps != PUBLISHED and where:
            leaks[ps, what] = {rel: sorted(hits)[:2] for rel, hits in where.items()}
        if ps == PUBLISHED and not where:
            absent.append(what)
    assert not leaks, f"the course edition shows unpublished material: {leaks}"
    assert not absent, f"published {PUBLISHED} but the course edition lacks: {absent}"


def _count(page: Path, cls: str) -> int:
    return len(re.findall(rf'<div class="{cls}[ "]', page.read_text(encoding="utf-8")))


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_solutions_per_edition(chapter, self_study, course):
    src = json.dumps(_chapter(chapter))
    n_solutions = len(re.findall(r"(?:`{3,}|:{3,})\{solution\}", src))
    page_study, page_course = self_study / f"{chapter}.html", course / f"{chapter}.html"
    assert _count(page_study, "solution") == n_solutions > 0
    assert _count(page_study, "solution dropdown") == n_solutions, "self-study: not collapsed"
    published = ASSIGNMENT[chapter] == PUBLISHED
    assert _count(page_course, "solution") == (n_solutions if published else 0)
    assert _count(page_course, "exercise") == _count(page_study, "exercise") > 0


@pytest.mark.slow
def test_course_edition_links_no_solution_notebook(self_study, course):
    links = []
    for page in course.glob("*.html"):
        links += re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8"))
    assert not [h for h in links if "solutions/" in h]
    assert not [h for h in links if re.search(r"mybinder|colab\.research|git-pull", h)], \
        "launch buttons open the unfiltered chapter from the repository"
    downloads = {p.relative_to(course).as_posix() for p in (course / "_downloads").rglob("*")
                 if p.is_file()}
    linked = {h.split("#")[0] for h in links if "_downloads/" in h}
    assert downloads == linked, "a file in _downloads/ that no page links"
    worked = {nb.read_bytes(): nb.parent.name for nb in (ROOT / "solutions").glob("*/*.ipynb")}
    assert set(worked.values()) == set(E.assignments()), "make solutions first"
    offered = sorted(worked[b] for rel in downloads if (b := (course / rel).read_bytes()) in worked)
    assert offered == [PUBLISHED], f"solution notebooks offered for download: {offered}"
    sources = sorted((course / "_sources").glob("*.ipynb"))
    assert [p.stem for p in sources] == sorted(CHAPTERS)
    for path in sources:  # the "download .ipynb" copy is the filtered chapter
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb == E.filter_notebook(_chapter(path.stem), [PUBLISHED]), path.name


# --------------------------------------------------------------------------- a small book, built


def _small_book(tmp_path: Path) -> Path:
    """book/ with a chapter notebook and a page, beside course/source and solutions/."""
    for ps in ("ps01_regression", "ps02_cross_entropy"):
        for folder in ("course/source", "solutions"):
            (tmp_path / folder / ps).mkdir(parents=True)
            (tmp_path / folder / ps / f"{ps}.ipynb").write_text(json.dumps(_nb(_md(f"{ps} {folder}"))))
    book = tmp_path / "book"
    book.mkdir()
    (book / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        "extensions = ['myst_nb', 'sphinx_exercise', 'editions']\n"
        "nb_execution_mode = 'off'\nhtml_theme = 'basic'\nroot_doc = 'index'\n"
        "html_sourcelink_suffix = ''\n")
    (book / "index.md").write_text(
        "# Index\n\n```{toctree}\nchapter\n```\n\n"
        "```{only} edition_course\nThis is the course edition.\n```\n\n"
        "```{only} edition_self_study\nThis is the self-study edition.\n```\n")
    link = _md("Worked solutions: {download}`notebook <../solutions/ps01_regression/ps01_regression.ipynb>`.",
               tags=["solutions"], cell_id="solutions-ps01_regression")
    chapter = _nb(_md("# Chapter\n\nProse.\n", cell_id="m0"), _md(EXERCISE, cell_id="ex"), link)
    chapter["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                          "language": "python"}}
    (book / "chapter.ipynb").write_text(json.dumps(chapter))
    return book


def _sphinx(book: Path, out: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(book), str(out)],
                          env=_build_env(**env), capture_output=True, text=True)


@pytest.mark.slow
def test_a_small_book_in_both_editions(tmp_path):
    book = _small_book(tmp_path)
    out = tmp_path / "course"

    def page(name):
        return (out / f"{name}.html").read_text(encoding="utf-8")

    def downloads():
        return sorted(p.name for p in (out / "_downloads").rglob("*.ipynb"))

    run = _sphinx(book, out, BOOK_EDITION="course")
    assert run.returncode == 0, run.stderr
    assert _count(out / "chapter.html", "exercise") == 1
    assert _count(out / "chapter.html", "solution") == 0 and "The proof" not in page("chapter")
    assert "Worked solutions" not in page("chapter") and downloads() == []
    source = json.loads((out / "_sources" / "chapter.ipynb").read_text())
    assert source == E.filter_notebook(json.loads((book / "chapter.ipynb").read_text()))
    assert "course edition" in page("index") and "self-study edition" not in page("index")

    # publishing, and taking it back, in the same output folder (an incremental build)
    run = _sphinx(book, out, BOOK_EDITION="course", BOOK_SOLUTIONS_PUBLISHED="ps01_regression")
    assert run.returncode == 0, run.stderr
    assert _count(out / "chapter.html", "solution dropdown") == 1
    assert "Worked solutions" in page("chapter") and downloads() == ["ps01_regression.ipynb"]
    assert "{solution}" in (out / "_sources" / "chapter.ipynb").read_text()
    run = _sphinx(book, out, BOOK_EDITION="course", BOOK_SOLUTIONS_PUBLISHED="ps02_cross_entropy")
    assert run.returncode == 0, run.stderr
    assert _count(out / "chapter.html", "solution") == 0 and downloads() == []
    assert "{solution}" not in (out / "_sources" / "chapter.ipynb").read_text()

    # the self-study edition, in the same folder too: everything, the source copied as it is
    run = _sphinx(book, out)
    assert run.returncode == 0, run.stderr
    assert _count(out / "chapter.html", "solution dropdown") == 1
    assert downloads() == ["ps01_regression.ipynb"]
    assert (out / "_sources" / "chapter.ipynb").read_text() == (book / "chapter.ipynb").read_text()
    assert "self-study edition" in page("index")

    # mistakes are refused with what would be right
    run = _sphinx(book, tmp_path / "x", BOOK_EDITION="lecture")
    assert run.returncode != 0 and "valid editions: self-study, course" in run.stderr
    run = _sphinx(book, tmp_path / "x", BOOK_EDITION="course", BOOK_SOLUTIONS_PUBLISHED="ps9")
    assert run.returncode != 0 and "valid assignments: ps01_regression, ps02_cross_entropy" in run.stderr
    (book / "index.md").write_text((book / "index.md").read_text()
                                   + "\nSee {download}`this <../solutions/ps02_cross_entropy/ps02_cross_entropy.ipynb>`.\n")
    run = _sphinx(book, tmp_path / "x", BOOK_EDITION="course")
    assert run.returncode != 0
    assert "index still refers to solutions/ps02_cross_entropy outside a markdown cell tagged" in run.stderr


def test_make_publish_solutions_records_then_rebuilds_the_course_edition():
    run = subprocess.run(["make", "-n", "publish-solutions", "PS=ps02_cross_entropy"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    record = lines.index(".venv/bin/python book/_ext/editions.py publish ps02_cross_entropy")
    assert any("BOOK_EDITION=course" in ln and "--path-output book/_build/course" in ln
               for ln in lines[record:])
    run = subprocess.run(["make", "-n", "unpublish-solutions", "PS=ps02_cross_entropy"], cwd=ROOT,
                         capture_output=True, text=True)
    assert ".venv/bin/python book/_ext/editions.py unpublish ps02_cross_entropy" in run.stdout
