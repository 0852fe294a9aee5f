"""A learner's JupyterLab (`make lab`) shows the chapters as they read on the site.

The lab is started exactly as `make lab` starts it (the project's settings, on a free port with a
token, no browser), and headless Chromium opens every chapter and one assignment of
course/release/, scrolls through it and reads what jupyterlab-myst rendered: no raw role or
directive text, every markdown cell rendered, exercises as exercises and solutions collapsed,
citations as their keys, download links that work, no news prompt, no instructor tools and no
request that leaves 127.0.0.1. A screenshot of each notebook (at its exercises) is saved in
artifacts/lab/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
SHOTS = ROOT / "artifacts" / "lab"
CHAPTERS = [f"book/{e['file']}.ipynb" for e in
            yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())["parts"][0]["chapters"]]
RELEASE = "course/release/ps01_regression/ps01_regression.ipynb"
NOTEBOOKS = [*CHAPTERS, RELEASE]
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"]

pytestmark = pytest.mark.slow

# Markup that jupyterlab-myst leaves as text when it does not understand it. Roles and directive
# names in braces, fence lines and directive option lines.
RAW = [
    (re.compile(r"\{(cite(:\w+)?|numref|ref|download|doc|eq|term|exercise|solution|figure|"
                r"note|warning|admonition|math)\}"), "a role or directive name"),
    (re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})", re.M), "a fence line"),
    (re.compile(r"^[ \t]*:(label|class|name|nonumber|hidden|width|align):", re.M),
     "a directive option line"),
    (re.compile(r"\$\$"), "unrendered display math"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, base: str, token: str, log: Path):
        self.base, self.token, self.log = base, token, log

    def get(self, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.get(f"{self.base}/{path.lstrip('/')}", headers=headers, timeout=30,
                            **kwargs)

    def stop_kernels(self) -> None:
        """Shut down the kernels the opened notebooks started (two cores are shared)."""
        headers = {"Authorization": f"token {self.token}"}
        for session in self.get("api/sessions").json():
            requests.delete(f"{self.base}/api/sessions/{session['id']}", headers=headers,
                            timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a free port with a token; the person's own Jupyter folders left out."""
    home = tmp_path_factory.mktemp("lab-user")
    port, token = _free_port(), secrets.token_hex(16)
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} " \
           f"--IdentityProvider.token={token}"
    if os.geteuid() == 0:
        args += " --allow-root"
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    env.pop("JUPYTER_CONFIG_PATH", None)
    # the test's lab never writes a notebook (other people may be editing the chapters): no
    # autosave, and checkpoints in the test's own folder
    docmanager = home / "settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    args += f" --FileCheckpoints.checkpoint_dir={home / 'checkpoints'}"
    log = home / "lab.log"
    # -o: the environment is what it is (make test has just set it up); no pip run from here
    cmd = ["make", "-s", "-o", str(VENV / ".installed"), "lab", f"LAB_ARGS={args}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`make lab` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{base}/api/status", timeout=2,
                                headers={"Authorization": f"token {token}"}).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`make lab` did not answer in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Lab(base, token, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


@pytest.fixture(scope="module")
def lab_browser():
    """Headless Chromium as in conftest's `browser`, plus the performance log (every request)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver_path):
        pytest.fail("chromium and chromedriver are needed: `make browser` installs Debian's packages")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,1600"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


# What the page shows of every markdown cell in the DOM, keyed by the cell's index. The text
# leaves out KaTeX's copy of the TeX source (MathML annotations).
COLLECT = r"""
const out = {};
for (const cell of document.querySelectorAll('.jp-Notebook .jp-MarkdownCell')) {
  const index = cell.getAttribute('data-windowed-list-index');
  const myst = cell.querySelector('.jp-InputArea .myst');
  const editor = cell.querySelector('.jp-InputArea-editor');
  const shown = myst && editor && editor.classList.contains('lm-mod-hidden');
  let text = '';
  if (myst) {
    const copy = myst.cloneNode(true);
    copy.querySelectorAll('.katex-mathml, annotation, svg').forEach(e => e.remove());
    text = copy.textContent;
  }
  out[index] = {
    rendered: Boolean(shown && myst.childElementCount > 0),
    plain: Boolean(cell.querySelector('.jp-RenderedMarkdown')),
    text: text,
    katex: myst ? myst.querySelectorAll('.katex').length : 0,
    exercises: myst ? myst.querySelectorAll('aside.myst-exercise').length : 0,
    solutions: myst ? Array.from(myst.querySelectorAll('details.myst-exercise')).map(d => {
      const body = d.querySelector('.details-body');
      return {open: d.open, bodyShown: Boolean(body && body.checkVisibility()),
              height: d.getBoundingClientRect().height,
              summary: d.querySelector('summary').getBoundingClientRect().height};
    }) : [],
    cites: myst ? Array.from(myst.querySelectorAll('[title="Citation Not Found"], cite')).map(
      e => e.textContent.trim()) : [],
    unresolved: myst ? Array.from(myst.querySelectorAll('[title="Cross Reference Not Found"]'))
      .map(e => e.textContent.trim()) : [],
    links: myst ? Array.from(myst.querySelectorAll('a[href]')).map(
      a => ({href: a.href, text: a.textContent.trim()})) : [],
  };
}
return out;
"""

SCROLLER = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer"


def _wait(driver, predicate, timeout=60, message="timed out"):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: predicate(d))
    except TimeoutException:
        pytest.fail(message)


def _read_notebook(driver, expected: int) -> dict[int, dict]:
    """Scroll from top to bottom, collecting each markdown cell once it has rendered."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d):
        cells = d.execute_script(COLLECT)
        return cells if cells and all(c["rendered"] for c in cells.values()) else None

    seen: dict[int, dict] = {}
    patience = 30  # seconds for the cells in view to render; short once they did not
    driver.execute_script(f"document.querySelector('{SCROLLER}').scrollTop = 0")
    while True:
        try:
            cells = WebDriverWait(driver, patience, poll_frequency=0.25).until(settled)
        except TimeoutException:
            cells = driver.execute_script(COLLECT)  # the assertions say what is missing
            patience = 2
        seen.update({int(k): v for k, v in cells.items()})
        done = driver.execute_script(
            f"const s = document.querySelector('{SCROLLER}');"
            "if (s.scrollTop + s.clientHeight >= s.scrollHeight - 2) return true;"
            "s.scrollTop += s.clientHeight * 0.8; return false;")
        if done:
            break
        time.sleep(0.3)
    if len([c for c in seen.values() if c["rendered"]]) < expected:
        # a last look with everything laid out (late renders replace earlier ones)
        seen.update({int(k): v for k, v in driver.execute_script(COLLECT).items()})
    return seen


def _requests_seen(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls.append(params["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(params["url"])
    return urls


@pytest.fixture(scope="module")
def pages(lab, lab_browser):
    """Every notebook opened, scrolled through and read, and every request the page made."""
    release = ROOT / RELEASE
    if not release.exists():
        pytest.fail(f"{RELEASE} is missing: `make course` generates the student release")
    driver = lab_browser
    SHOTS.mkdir(parents=True, exist_ok=True)
    result = {"requests": [], "notebooks": {}}
    for path in NOTEBOOKS:
        # ?reset: a fresh workspace, so earlier notebooks are not reopened
        driver.get(f"{lab.base}/lab/tree/{path}?reset&token={lab.token}")
        nb = nbformat.read(ROOT / path, as_version=4)
        markdown = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and c.source.strip()]
        _wait(driver, lambda d: d.find_elements("css selector", SCROLLER), 90,
              f"{path}: the notebook did not open in the lab")
        cells = _read_notebook(driver, len(markdown))
        exercises = driver.find_elements("css selector", f"{SCROLLER} aside.myst-exercise")
        if exercises:
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", exercises[0])
        else:
            driver.execute_script(f"document.querySelector('{SCROLLER}').scrollTop = 0")
        time.sleep(1)
        driver.save_screenshot(str(SHOTS / f"{Path(path).stem}.png"))
        page = {
            "cells": cells,
            "markdown": markdown,
            "source": nb,
            "news": driver.execute_script(
                "return Array.from(document.querySelectorAll('.Toastify__toast, .jp-Notification-Toast'))"
                ".map(e => e.textContent).concat(document.body.innerText.includes('Jupyter news') ?"
                " ['Jupyter news'] : [])"),
            "toolbar": " ".join(e.text for e in driver.find_elements(
                "css selector", ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar")),
        }
        result["notebooks"][path] = page
        result["requests"] += _requests_seen(driver)
        lab.stop_kernels()
    # the Nbgrader menu of a learner: the Assignment List, no instructor tools
    def labels(d, css, text=None):
        return [e for e in d.find_elements("css selector", css)
                if e.text.strip() and (text is None or e.text.strip() == text)]

    _wait(driver, lambda d: labels(d, ".lm-MenuBar-itemLabel", "Nbgrader"), 30,
          "no Nbgrader menu in the lab")[0].click()
    items = _wait(driver, lambda d: labels(d, ".lm-Menu-itemLabel"), 30, "the Nbgrader menu is empty")
    result["nbgrader_menu"] = [e.text.strip() for e in items]
    result["requests"] += _requests_seen(driver)
    return result


def _source_text(nb, index: int) -> str:
    return nb.cells[index].source


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_markdown_reads_as_on_the_site(path, pages):
    page = pages["notebooks"][path]
    cells, nb = page["cells"], page["source"]
    # every markdown cell rendered by jupyterlab-myst (a lab that renders nothing fails here)
    missing = [i for i in page["markdown"] if not cells.get(i, {}).get("rendered")]
    assert not missing, f"{path}: markdown cells {missing} were not rendered in the lab"
    assert not any(c["plain"] for c in cells.values()), \
        f"{path}: JupyterLab's plain Markdown renderer was used, not jupyterlab-myst"
    # no raw MyST markup left in any rendered cell
    for i in page["markdown"]:
        text = cells[i]["text"]
        for pattern, what in RAW:
            hit = pattern.search(text)
            assert not hit, (f"{path}, cell {i}: {what} shows as text: "
                             f"{text[max(0, hit.start() - 80):hit.end() + 80]!r}")
        if "$" in _source_text(nb, i):
            assert cells[i]["katex"] > 0, f"{path}, cell {i}: its math was not typeset"
    # exercises read as exercises, solutions start collapsed
    source = "\n".join(nb.cells[i].source for i in page["markdown"])
    n_exercises = len(re.findall(r"^(`{3,}|:{3,})\{exercise\}", source, re.M))
    n_solutions = len(re.findall(r"^(`{3,}|:{3,})\{solution\}", source, re.M))
    assert sum(c["exercises"] for c in cells.values()) == n_exercises, path
    solutions = [s for c in cells.values() for s in c["solutions"]]
    assert len(solutions) == n_solutions, path
    assert all(not s["open"] and not s["bodyShown"] and s["height"] < s["summary"] + 10
               for s in solutions), \
        f"{path}: a worked solution is open under its exercise: {solutions}"
    # citations show the key they cite (jupyterlab-myst has no bibliography), never the role
    cited = {k.strip() for roles in re.findall(r"\{cite(?::\w+)?\}`([^`]*)`", source)
             for k in roles.split(",")}
    shown = {k for c in cells.values() for k in c["cites"]}
    assert shown == cited, f"{path}: citations shown {sorted(shown)}, cited {sorted(cited)}"
    # a learner's notebook toolbar keeps nbgrader's Validate button
    assert "Validate" in page["toolbar"], f"{path}: no Validate button: {page['toolbar']!r}"
    # no news prompt (nor any other notification)
    assert not page["news"], f"{path}: the lab shows {page['news']}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_local_links_work_from_the_lab(path, pages, lab):
    """Download links ({download}) and links to other notebooks answer 200 from the lab."""
    page = pages["notebooks"][path]
    source = "\n".join(page["source"].cells[i].source for i in page["markdown"])
    if re.search(r"\{download\}`[^`<]*\n[^`]*<[^`]*>`", source):
        pytest.xfail("a {download} role whose text and <target> are on two lines: "
                     "jupyterlab-myst reads the line break as part of the file name (keep "
                     "`text <target>` on one line)")
    links = [link for c in page["cells"].values() for link in c["links"]
             if link["href"].startswith(lab.base)]
    downloads = re.findall(r"\{download\}`", source)
    assert len([link for link in links if "/files/" in link["href"]]) >= len(downloads), links
    for link in links:
        url = urlparse(link["href"])
        if not url.path.startswith("/files/"):
            continue
        answer = lab.get(unquote(url.path))
        assert answer.status_code == 200, \
            f"{path}: the link {link['text']!r} -> {unquote(url.path)} answers {answer.status_code}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_figure_references_read_naturally(path, pages):
    """A reference shows its number or its own words, never a bare label such as fig-ch01-risk.

    jupyterlab-myst resolves references only between markdown cells; the chapters' figures are
    code cells (mystnb metadata), so a bare {numref}`fig-ch01-risk` cannot be resolved in the lab
    and shows its label. A reference with words of its own, {ref}`the risk curves
    <fig-ch01-risk>`, reads the same in the lab and on the site. ({numref} with words but no %s
    makes Sphinx warn, and the site builds with -W; with %s the lab shows "Figure %s".)
    """
    page = pages["notebooks"][path]
    source = "\n".join(page["source"].cells[i].source for i in page["markdown"])
    bare_numrefs = re.findall(r"\{numref\}`[^`<]*`", source)
    assert not bare_numrefs, (
        f"{path}: {bare_numrefs} without words of their own: jupyterlab-myst cannot resolve labels "
        "of code-cell figures and shows the bare label; write {ref}`words <label>`")
    bare = [label for c in page["cells"].values() for label in c["unresolved"]]
    assert not bare, f"{path}: references shown as bare labels: {bare}"
    for i in page["markdown"]:
        template = re.search(r"(%s|\{number\})", page["cells"][i]["text"])
        assert not template, f"{path}, cell {i}: a reference shows its template {template[0]!r}"


def test_no_request_leaves_the_machine(pages, lab):
    requests_made = pages["requests"]
    assert len(requests_made) > 50, "the performance log recorded (almost) nothing"
    ours = (lab.base, lab.base.replace("http://", "ws://"))
    away = sorted({u for u in requests_made
                   if not u.startswith(ours) and not u.startswith(("data:", "blob:", "about:"))})
    assert not away, f"requests that left the machine: {away}"


def test_learners_lab_settings(pages, lab):
    """No news, update checks or extension installs; the Assignment List but no instructor tools."""
    page = lab.get("lab").text
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["name"] == "read-only"
    disabled = set(config["disabledExtensions"])
    assert "@jupyterlab/apputils-extension:announcements" in disabled
    assert set(INSTRUCTOR_PLUGINS) <= disabled
    assert not any("@jupyter/nbgrader:assignment-list" in d or "validate" in d for d in disabled)
    assert lab.get("lab/api/news").json() == {"news": []}
    assert lab.get("formgrader/api/status").status_code == 404
    assert lab.get("assignments", params={"course_id": "loss-functions"}).status_code == 200
    assert "jupyterlab-myst" in {e["name"] for e in config["federated_extensions"]}
    menu = {item.lower() for item in pages["nbgrader_menu"]}
    assert "assignment list" in menu, menu
    assert not {"formgrader", "create assignment", "course list"} & menu, menu


def test_environment_holds_the_committed_lab_settings():
    """`make setup` copied deploy/jupyter/common's lab settings into .venv (none is stale)."""
    common = ROOT / "deploy" / "jupyter" / "common"
    installed = {
        common / "jupyter_lab_config.py": VENV / "etc" / "jupyter" / "jupyter_lab_config.py",
        common / "labconfig" / "page_config.json":
            VENV / "etc" / "jupyter" / "labconfig" / "page_config.d" / "lossfunctions.json",
    }
    for committed, copy in installed.items():
        assert copy.exists() and copy.read_text() == committed.read_text(), \
            f"{copy} is not {committed}: run `make setup`"
