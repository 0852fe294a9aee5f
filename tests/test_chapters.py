"""Every chapter notebook keeps the book's contract and executes on a CPU without error."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parents[1] / "book"
TOC = yaml.safe_load((BOOK / "_toc.yml").read_text())
CHAPTERS = [BOOK / f"{entry['file']}.ipynb" for entry in TOC["parts"][0]["chapters"]
            if (BOOK / f"{entry['file']}.ipynb").exists()]
ASSIGNMENTS = {
    "02_regression": "ps01_regression", "03_cross_entropy": "ps02_cross_entropy",
    "04_multilabel": "ps03_multilabel", "05_imbalance_focal": "ps04_focal",
    "06_hinge": "ps05_hinge", "07_triplet": "ps06_triplet", "08_custom": "ps07_custom",
}


def test_all_eight_chapters_are_in_the_table_of_contents():
    assert len(CHAPTERS) == 8, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_keeps_the_book_contract(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not any(c.outputs or c.execution_count for c in code), "commit notebooks without outputs"
    figures = [c for c in code if c.metadata.get("mystnb", {}).get("figure", {}).get("name")]
    assert len(figures) >= 3, "a chapter has at least three numbered figures"
    for cell in figures:
        name = cell.metadata["mystnb"]["figure"]["name"]
        # {ref}`words <name>` reads the same on the site and in JupyterLab; a {numref} (the site's
        # "Fig. N") also counts as a reference here, but a bare one is refused below
        assert re.search(rf"\{{(ref|numref)\}}`[^`<]+<{re.escape(name)}>`"
                         rf"|\{{numref\}}`{re.escape(name)}`", markdown), (
            f"figure {name} is never referenced")
    bare = re.findall(r"\{numref\}`[^`<]*`", markdown)
    assert not bare, (f"{bare}: jupyterlab-myst cannot resolve a bare {{numref}} to a figure made "
                      "by a code cell and shows its label; write {ref}`words <label>`")
    assert "## Pitfalls" in markdown and "## Exercises" in markdown
    assert "{exercise}" in markdown and "{solution}" in markdown
    source = "\n".join(c.source for c in code)
    assert "lossutils" in source or "import lossutils as lu" in source
    assert ".device()" in source and "train(" in source, "a GPU-optional training cell"
    if path.stem in ASSIGNMENTS:
        assert ASSIGNMENTS[path.stem] in markdown, "exercises link to the chapter's assignment"


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_on_cpu(path, monkeypatch):
    monkeypatch.setenv("LOSSUTILS_DEVICE", "cpu")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # the site skips the interactive widgets; here they run too
        tags = cell.metadata.get("tags", [])
        if "skip-execution" in tags:
            tags.remove("skip-execution")
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    if os.environ.get("CI"):
        print(f"{path.stem}: executed in {seconds:.1f} s")
