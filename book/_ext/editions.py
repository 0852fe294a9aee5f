"""Editions of the site: self-study (everything) and course (no worked solution during term).

The book is built in one of two editions, chosen by the environment variable ``BOOK_EDITION``
(``make book EDITION=course`` sets it):

``self-study`` (the default)
    The site as the chapters are written: exercise solutions folded under a button, and each
    chapter's link to the worked solutions of its assignment.
``course``
    For a course during term. Every chapter is read through a filter that leaves out

    * markdown cells tagged ``solutions`` (each chapter's link to its assignment's worked
      solution notebook, so the notebook is not copied to ``_downloads/`` either), and
    * ``{solution}`` directives (backtick or colon fences, and the gated
      ``{solution-start}`` ... ``{solution-end}`` form, which may span cells),

    except for the assignments named in ``_solutions_published.txt`` beside this book (see
    ``publish`` below). Code cells are never touched by the filter, so the course edition reuses
    the execution cache of the self-study build. The page's "download .ipynb" copy in
    ``_sources/`` is the filtered notebook, and the launch buttons are left out (Binder, Colab and
    JupyterHub would open the unfiltered chapter from the repository).

A published assignment gets its solutions link back, and so do the exercise solutions of every
chapter that links only published assignments (a chapter's assignment is the one its
``solutions`` cell names: chapter 2 and chapter 1 link ps01_regression, chapter 3 ps02, ...).
A reference to ``solutions/psNN_...`` left outside a ``solutions`` cell fails the course build.
Text for one edition only goes in an ``{only}`` directive with the tag ``edition_course`` or
``edition_self_study`` (the intro page does this).

Publishing after a deadline, from the repository root (``make publish-solutions PS=...`` runs the
first line and rebuilds the course edition)::

    python book/_ext/editions.py publish ps01_regression
    python book/_ext/editions.py unpublish ps01_regression
    python book/_ext/editions.py list

``BOOK_SOLUTIONS_PUBLISHED`` (names separated by commas or spaces; empty for none) overrides the
file for one build, e.g. to preview the site after the next deadline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

EDITIONS = ("self-study", "course")
DEFAULT_EDITION = "self-study"
EDITION_VAR = "BOOK_EDITION"
PUBLISHED_VAR = "BOOK_SOLUTIONS_PUBLISHED"
SOLUTIONS_TAG = "solutions"
BOOK = Path(__file__).resolve().parents[1]
PUBLISHED_FILE = BOOK / "_solutions_published.txt"
COURSE_SOURCE = BOOK.parent / "course" / "source"

_HEADER = """\
# Assignments whose worked solutions the course edition of the site shows
# (make book EDITION=course). One assignment per line. Edit it with
#   make publish-solutions PS=<assignment>     (after the assignment's deadline)
#   make unpublish-solutions PS=<assignment>   (to take them down again)
"""

# an opening fence of a directive: up to any indentation, 3+ backticks/tildes/colons, {name}
_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})\s*\{(?P<name>[\w:-]+)\}")
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
# a path into the worked solutions folder: ../solutions/ps01_regression/...
_SOLUTIONS_REF = re.compile(r"(?<![\w.-])solutions/(?P<ps>ps\d\d[\w-]*)")
_CELL_ID = re.compile(rf"^{SOLUTIONS_TAG}-(?P<ps>ps\d\d[\w-]*)$")


class EditionError(ValueError):
    """A bad edition, assignment name or list of published assignments."""


# --------------------------------------------------------------------------- the filter


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a fence opened with ``fence`` (same character, at least as long)."""
    m = _FENCE.match(line)
    return bool(m and m["fence"][0] == fence[0] and len(m["fence"]) >= len(fence)
                and not m["info"].strip())


def strip_solutions(markdown: str, gated: bool = False) -> tuple[str, bool]:
    """Remove every ``{solution}`` directive from MyST markdown.

    Returns the text without them and whether a gated ``{solution-start}`` is still open at the
    end (pass it as ``gated`` for the next cell: a gated solution may span cells). Code fences
    (```` ```python ````, a bare ```` ``` ````) are literal text and kept whole; directive fences
    (```` ````{exercise} ````, ``:::{note}``) are scanned inside, since MyST parses their content.
    """
    lines = markdown.splitlines(keepends=True)
    out: list[str] = []
    open_fences: list[tuple[str, bool]] = []  # (fence, literal) of the blocks we are inside
    i = 0
    while i < len(lines):
        line = lines[i]
        if open_fences and open_fences[-1][1]:  # inside a code block: nothing to see
            if _closes(line, open_fences[-1][0]):
                open_fences.pop()
            out.append(line)
            i += 1
            continue
        d = _DIRECTIVE.match(line)
        if gated:
            # inside {solution-start} ... {solution-end}: drop up to and including the end fence
            if d and d["name"] == "solution-end":
                gated = False
                i = _skip_block(lines, i, d["fence"])
            else:
                i += 1
            continue
        if d and d["name"] in ("solution", "solution-start"):
            i = _skip_block(lines, i, d["fence"])
            gated = d["name"] == "solution-start"
            # do not leave two blank lines where the block was
            if out and not out[-1].strip() and i < len(lines) and not lines[i].strip():
                i += 1
            continue
        if open_fences and _closes(line, open_fences[-1][0]):
            open_fences.pop()
        elif d:
            open_fences.append((d["fence"], False))
        elif (f := _FENCE.match(line)) and f["fence"][0] != ":":
            open_fences.append((f["fence"], True))
        out.append(line)
        i += 1
    return "".join(out), gated


def _skip_block(lines: list[str], start: int, fence: str) -> int:
    """Index of the line after the fenced block opened at ``start`` (the end if never closed)."""
    for j in range(start + 1, len(lines)):
        if _closes(lines[j], fence):
            return j + 1
    return len(lines)


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return src if isinstance(src, str) else "".join(src)


def _tags(cell: dict) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def cell_assignments(cell: dict) -> set[str]:
    """The assignments a ``solutions`` cell links: from its id ``solutions-psNN_...``, else its links."""
    m = _CELL_ID.match(str(cell.get("id", "")))
    return {m["ps"]} if m else {r["ps"] for r in _SOLUTIONS_REF.finditer(_source(cell))}


def chapter_assignments(nb: dict) -> set[str]:
    """The assignments a chapter belongs to: those its ``solutions`` cells link."""
    found: set[str] = set()
    for cell in nb.get("cells", []):
        if SOLUTIONS_TAG in _tags(cell):
            found |= cell_assignments(cell)
    return found


def filter_notebook(nb: dict, published: Iterable[str] = ()) -> dict:
    """The course edition of a chapter notebook (a new dict; ``nb`` is not changed).

    Cells tagged ``solutions`` stay only if every assignment they link is published; the
    chapter's ``{solution}`` directives stay only if the chapter links at least one assignment
    and all of them are published. Everything else, code cells included, is kept as it is.
    """
    published = set(published)
    own = chapter_assignments(nb)
    keep_exercise_solutions = bool(own) and own <= published
    cells, gated = [], False
    for cell in nb.get("cells", []):
        if SOLUTIONS_TAG in _tags(cell):
            links = cell_assignments(cell)
            if links and links <= published:
                cells.append(cell)
            continue
        if keep_exercise_solutions:
            cells.append(cell)
            continue
        if cell.get("cell_type") != "markdown":
            if not gated:
                cells.append(cell)
            continue
        text, gated_after = strip_solutions(_source(cell), gated)
        gated = gated_after
        if text.strip() or not _source(cell).strip():
            cells.append({**cell, "source": text})
    return {**nb, "cells": cells}


def filter_markdown(text: str) -> str:
    """The course edition of a markdown page: no ``{solution}`` directives (it links no assignment)."""
    return strip_solutions(text)[0]


def filter_source(path: str | os.PathLike, text: str, edition: str,
                  published: Iterable[str] = ()) -> str:
    """The text the edition reads for the source file ``path`` whose content is ``text``."""
    check_edition(edition)
    if edition == "self-study":
        return text
    suffix = Path(path).suffix
    if suffix == ".ipynb":
        nb = json.loads(text)
        return json.dumps(filter_notebook(nb, published), indent=1, ensure_ascii=False) + "\n"
    if suffix == ".md":
        return filter_markdown(text)
    return text


def leaked_references(text: str, published: Iterable[str] = ()) -> list[str]:
    """References to the worked solutions of unpublished assignments left in a filtered source."""
    published = set(published)
    return sorted({m.group(0) for m in _SOLUTIONS_REF.finditer(text) if m["ps"] not in published})


# --------------------------------------------------------------------------- configuration


def check_edition(edition: str) -> str:
    if edition not in EDITIONS:
        raise EditionError(f"unknown edition of the site {edition!r}; valid editions: "
                           f"{', '.join(EDITIONS)} (make book EDITION=course)")
    return edition


def edition_from_env(environ=os.environ) -> str:
    return check_edition(environ.get(EDITION_VAR, "").strip() or DEFAULT_EDITION)


def assignments(course_source: Path = COURSE_SOURCE) -> list[str]:
    """The course's assignments: the folders of ``course/source`` holding ``<name>/<name>.ipynb``."""
    return sorted(p.name for p in Path(course_source).iterdir()
                  if (p / f"{p.name}.ipynb").is_file()) if Path(course_source).is_dir() else []


def check_assignments(names: Iterable[str], valid: list[str], where: str) -> list[str]:
    names = list(names)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise EditionError(f"{where}: unknown assignment {', '.join(map(repr, unknown))}; "
                           f"valid assignments: {', '.join(valid) or '(none: course/source is empty)'}")
    return names


def read_published(path: Path = PUBLISHED_FILE) -> list[str]:
    """The assignments listed in the published file (one per line, ``#`` starts a comment)."""
    if not Path(path).exists():
        return []
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    return names


def published_from(environ=os.environ, path: Path = PUBLISHED_FILE,
                   valid: list[str] | None = None) -> list[str]:
    """The published assignments: ``BOOK_SOLUTIONS_PUBLISHED`` if set, else the file; checked."""
    valid = assignments() if valid is None else valid
    if PUBLISHED_VAR in environ:
        names = [n for n in re.split(r"[\s,]+", environ[PUBLISHED_VAR]) if n]
        return check_assignments(names, valid, PUBLISHED_VAR)
    return check_assignments(read_published(path), valid, str(path))


def write_published(names: Iterable[str], path: Path = PUBLISHED_FILE) -> None:
    body = "".join(f"{n}\n" for n in names)
    Path(path).write_text(_HEADER + body, encoding="utf-8")


def publish(name: str, path: Path = PUBLISHED_FILE, valid: list[str] | None = None) -> bool:
    """Add ``name`` to the published file; False (and nothing written) if it is already there."""
    valid = assignments() if valid is None else valid
    check_assignments([name], valid, "publish")
    current = check_assignments(read_published(path), valid, str(path))
    if name in current:
        return False
    order = {n: i for i, n in enumerate(valid)}
    write_published(sorted([*current, name], key=order.__getitem__), path)
    return True


def unpublish(name: str, path: Path = PUBLISHED_FILE, valid: list[str] | None = None) -> bool:
    """Remove ``name`` from the published file; False (and nothing written) if it is not there."""
    valid = assignments() if valid is None else valid
    check_assignments([name], valid, "unpublish")
    current = read_published(path)
    if name not in current:
        return False
    write_published([n for n in current if n != name], path)
    return True


# --------------------------------------------------------------------------- Sphinx extension


def _state(app) -> tuple[str, list[str]]:
    return app.config.book_edition, app.config.book_solutions_published


def _config_inited(app, config) -> None:
    from sphinx.errors import ConfigError

    try:
        edition = edition_from_env()
        published = []
        if edition == "course":  # the self-study edition shows everything and reads no list
            valid = assignments(Path(app.srcdir).parent / "course" / "source")
            published = published_from(path=Path(app.srcdir) / PUBLISHED_FILE.name, valid=valid)
    except EditionError as exc:
        raise ConfigError(str(exc)) from None
    config.book_edition = edition
    config.book_solutions_published = published
    app.tags.add("edition_" + edition.replace("-", "_"))
    if edition == "course":
        # the chapters' code cells are unchanged, so the self-study build's cache serves them
        if "nb_execution_cache_path" in config and not config.nb_execution_cache_path:
            config.nb_execution_cache_path = str(Path(app.srcdir) / "_build" / ".jupyter_cache")
        # launch buttons open the unfiltered chapter notebook from the repository
        options = dict(config.html_theme_options or {})
        if options.get("launch_buttons"):
            config.html_theme_options = {**options, "launch_buttons": {}}


def _filtered(app, docname: str, text: str) -> str:
    edition, published = _state(app)
    return filter_source(app.env.doc2path(docname), text, edition, published)


def _source_read(app, docname: str, source: list[str]) -> None:
    from sphinx.util import logging

    edition, published = _state(app)
    source[0] = _filtered(app, docname, source[0])
    if not hasattr(app.env, "book_edition_hashes"):
        app.env.book_edition_hashes = {}
    app.env.book_edition_hashes[docname] = _digest(edition, source[0])
    if edition == "course":
        for ref in leaked_references(source[0], published):
            logging.getLogger(__name__).warning(
                "course edition: %s still refers to %s outside a markdown cell tagged %r; "
                "move the link into that cell (or publish the assignment)",
                docname, ref, SOLUTIONS_TAG, location=docname, type="editions")


def _digest(edition: str, text: str) -> str:
    return hashlib.sha256(f"{edition}\0{text}".encode()).hexdigest()


def _outdated(app, env, added, changed, removed) -> list[str]:
    """Documents whose filtered text changed although the file did not (edition or list changed)."""
    hashes = getattr(env, "book_edition_hashes", {})
    edition, _ = _state(app)
    stale = []
    for docname in env.found_docs - set(added) - set(changed) - set(removed):
        try:
            text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        except OSError:
            continue
        if hashes.get(docname) != _digest(edition, _filtered(app, docname, text)):
            stale.append(docname)
    return stale


def _purge(app, env, docname) -> None:
    getattr(env, "book_edition_hashes", {}).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    theirs = getattr(other, "book_edition_hashes", {})
    if not hasattr(env, "book_edition_hashes"):
        env.book_edition_hashes = {}
    env.book_edition_hashes.update({d: theirs[d] for d in docnames if d in theirs})


def _builder_inited(app) -> None:
    # the HTML builder would copy the unfiltered source to _sources/; _page_context writes it
    if app.config.book_edition != "self-study" and hasattr(app.builder, "copysource"):
        app.builder.copysource = False


def _page_context(app, pagename, templatename, context, doctree) -> None:
    sourcename = context.get("sourcename")
    if app.config.book_edition == "self-study" or not sourcename or pagename not in app.env.found_docs:
        return
    text = Path(app.env.doc2path(pagename)).read_text(encoding="utf-8")
    target = Path(app.outdir) / "_sources" / sourcename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_filtered(app, pagename, text), encoding="utf-8")


def _prune_downloads(app, exc) -> None:
    """Delete files in ``_downloads/`` that no page links any more (an unpublished solution)."""
    if app.config.book_edition == "self-study" or app.builder.format != "html":
        return
    root = Path(app.outdir) / "_downloads"
    keep = {root / dest for _, dest in app.env.dlfiles.values()}
    for path in sorted(root.rglob("*"), reverse=True) if root.is_dir() else []:
        if path.is_file() and path not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def setup(app):
    app.add_config_value("book_edition", DEFAULT_EDITION, "", [str])
    app.add_config_value("book_solutions_published", [], "", [list])
    # after every other config-inited handler (publishing.py sets the launch buttons there)
    app.connect("config-inited", _config_inited, priority=900)
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read, priority=100)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("html-page-context", _page_context)
    app.connect("build-finished", _prune_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python book/_ext/editions.py",
        description="Publish an assignment's worked solutions in the course edition of the site "
                    "(after its deadline), take them down again, or list what is published.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("publish", "show its solutions in the course edition"),
                       ("unpublish", "leave its solutions out of the course edition again")):
        p = sub.add_parser(name, help=what)
        p.add_argument("assignment", help="e.g. ps01_regression")
    sub.add_parser("list", help="the published assignments")
    parser.add_argument("--file", type=Path, default=PUBLISHED_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--course-source", type=Path, default=COURSE_SOURCE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    valid = assignments(args.course_source)
    try:
        if args.command == "list":
            names = check_assignments(read_published(args.file), valid, str(args.file))
            print("\n".join(names) if names else "(no assignment is published)")
        elif args.command == "publish":
            changed = publish(args.assignment, args.file, valid)
            print(f"{args.assignment}: {'published' if changed else 'already published'} "
                  f"({args.file.name}); rebuild with: make book EDITION=course")
        else:
            changed = unpublish(args.assignment, args.file, valid)
            print(f"{args.assignment}: {'unpublished' if changed else 'was not published'} "
                  f"({args.file.name}); rebuild with: make book EDITION=course")
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
