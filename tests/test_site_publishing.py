"""Where the book is published (book/_ext/publishing.py): one place, the build's environment.

The fast tests call the extension's functions; the slow one builds a one-chapter book with the
project's own _config.yml settings and checks every launch link of the built page.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((BOOK / "_config.yml").read_text())

_spec = importlib.util.spec_from_file_location("publishing", BOOK / "_ext" / "publishing.py")
publishing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publishing)

REPO = "https://github.com/some-course/loss-book"
HUB = "https://hub.some-university.test"


def _options():
    """The theme options jupyter-book derives from book/_config.yml."""
    html = CONFIG["html"]
    return {"launch_buttons": dict(CONFIG["launch_buttons"]), "extra_footer": html["extra_footer"],
            "path_to_docs": CONFIG["repository"]["path_to_book"],
            **{k: html[k] for k in ("use_repository_button", "use_issues_button")}}


def test_config_names_no_repository_or_hub():
    text = (BOOK / "_config.yml").read_text()
    assert "url:" not in re.sub(r"(binderhub|colab)_url:.*", "", text)
    assert "example." not in text and "jupyterhub_url" not in text


def test_unset_location_turns_every_repository_and_launch_button_off():
    loc = publishing.publishing_location({})
    assert loc == {"url": None, "branch": None, "hub": None}
    opts = publishing.theme_options(_options(), loc)
    assert not opts["use_repository_button"] and not opts["use_issues_button"]
    assert "repository_url" not in opts
    assert not any(opts["launch_buttons"].get(k) for k in publishing.SERVICES)
    assert "href" not in opts["extra_footer"] and "repository" not in opts["extra_footer"]


def test_set_location_turns_them_on_with_the_branch():
    loc = publishing.publishing_location({"BOOK_REPOSITORY_URL": REPO + ".git"})
    assert loc == {"url": REPO, "branch": "main", "hub": None}
    opts = publishing.theme_options(_options(), loc)
    assert opts["repository_url"] == REPO and opts["repository_branch"] == "main"
    assert opts["use_repository_button"] and opts["use_issues_button"]
    assert opts["launch_buttons"]["binderhub_url"] and opts["launch_buttons"]["colab_url"]
    assert "jupyterhub_url" not in opts["launch_buttons"], "no hub URL, no hub button"
    assert f'href="{REPO}"' in opts["extra_footer"]
    env = {"BOOK_REPOSITORY_URL": REPO, "BOOK_REPOSITORY_BRANCH": "term", "BOOK_JUPYTERHUB_URL": HUB}
    opts = publishing.theme_options(_options(), publishing.publishing_location(env))
    assert opts["repository_branch"] == "term" and opts["launch_buttons"]["jupyterhub_url"] == HUB


def test_colab_only_for_github():
    loc = publishing.publishing_location({"BOOK_REPOSITORY_URL": "https://gitlab.com/o/r"})
    opts = publishing.theme_options(_options(), loc)
    assert "colab_url" not in opts["launch_buttons"] and opts["launch_buttons"]["binderhub_url"]


@pytest.mark.parametrize("env, says", [
    ({"BOOK_REPOSITORY_BRANCH": "main"}, "BOOK_REPOSITORY_URL is not"),
    ({"BOOK_JUPYTERHUB_URL": HUB}, "BOOK_REPOSITORY_URL is not"),
    ({"BOOK_REPOSITORY_URL": "github.com/o/r"}, "not an http"),
    ({"BOOK_REPOSITORY_URL": "https://github.com/o"}, "does not name a repository"),
])
def test_bad_location_is_an_error_that_says_what_to_set(env, says):
    with pytest.raises(ValueError, match=says):
        publishing.publishing_location(env)


def test_wheel_substitution(tmp_path):
    assert "make wheel" in publishing.wheel_substitution(BOOK, tmp_path)
    wheel = tmp_path / "loss_functions_for_deep_learning-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    link = publishing.wheel_substitution(tmp_path / "book", tmp_path)
    assert link == f"{{download}}`{wheel.name} <../{wheel.name}>`"


def _launch_links(html: str) -> dict:
    links = {}
    for tag in re.findall(r"<a [^>]*>", html):
        href = re.search(r'href="([^"]+)"', tag)
        title = re.search(r'title="([^"]+)"', tag)
        if href and title:
            links[unescape(title.group(1))] = unescape(href.group(1))
    return links


@pytest.mark.slow
def test_built_launch_links_open_the_chapter_on_the_branch(tmp_path):
    """A one-chapter book with the project's settings, built with the location set."""
    import nbformat

    book = tmp_path / "book"
    book.mkdir()
    config = {k: CONFIG[k] for k in ("title", "repository", "html", "launch_buttons")}
    config["html"] = {k: v for k, v in config["html"].items() if k != "favicon"}
    config["execute"] = {"execute_notebooks": "off"}
    config["parse"] = {"myst_enable_extensions": ["substitution"]}
    config["sphinx"] = {"local_extensions": {"publishing": str(BOOK / "_ext")}}
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: 02_regression\n")
    (book / "intro.md").write_text("# Intro\n\nThe wheel: {{ lossutils_wheel }}.\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Regression"), nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, book / "02_regression.ipynb")
    env = dict(os.environ, BOOK_REPOSITORY_URL=REPO, BOOK_REPOSITORY_BRANCH="term",
               BOOK_JUPYTERHUB_URL=HUB)
    jb = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", str(book)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = (book / "_build" / "html" / "02_regression.html").read_text()
    links = _launch_links(html)
    path = "book/02_regression.ipynb"
    assert links["Launch on Binder"] == (
        f"https://mybinder.org/v2/gh/some-course/loss-book/term?urlpath=lab/tree/{path}")
    assert links["Launch on Colab"] == (
        f"https://colab.research.google.com/github/some-course/loss-book/blob/term/{path}")
    hub = urlparse(links["Launch on JupyterHub"])
    assert f"{hub.scheme}://{hub.netloc}" == HUB
    query = parse_qs(hub.query)
    assert query["repo"] == [REPO] and query["branch"] == ["term"]
    assert query["urlpath"] == [f"lab/tree/loss-book/{path}"]
    assert links["Source repository"] == REPO
    assert links["Open an issue"].startswith(REPO + "/issues/new")
    assert f'href="{REPO}"' in html  # the footer
    intro = (book / "_build" / "html" / "intro.html").read_text()
    if publishing.wheel_path() is not None:
        assert re.search(r'href="_downloads/[^"]+\.whl"', intro), "no download link to the wheel"


def test_binder_environment_installs_the_project():
    """repo2docker (Binder) builds from the top-level environment.yml: its pip section must install
    the project itself, and a local reference (``-c``, ``.``) makes repo2docker copy the whole
    repository in before it installs the environment (repo2docker's is_local_pip_requirement)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert not (ROOT / "binder").exists(), "a binder/ folder would replace environment.yml"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    project = [line for line in pip if re.match(r"""(-e\s+)?["']?\.(\[|["']|$)""", line)]
    assert project, f"environment.yml's pip section does not install the project: {pip}"
    assert any(line.startswith(("-c", "-r", "-e", ".")) for line in pip)
