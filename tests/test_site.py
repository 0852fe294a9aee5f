"""The built site, checked as a reader sees it: headless Chromium on a local server, no network.

The site is what `make book` wrote to book/_build/html (built here if it is missing). Screenshots of
every chapter page are saved to artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "book" / "_build" / "html"
SHOTS = ROOT / "artifacts" / "screenshots"
CHAPTERS = [e["file"] for e in
            yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())["parts"][0]["chapters"]]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        jb = Path(sys.executable).with_name("jupyter-book")
        subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", str(ROOT / "book")], check=True)
    return SITE


@pytest.fixture(scope="session")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a, **k: None
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _wait(driver, predicate, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: predicate(d))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders(chapter, server, browser):
    browser.get_log("browser")  # drop messages from earlier pages
    browser.get(f"{server}/{chapter}.html")
    _wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    _wait(browser, lambda d: d.execute_script(
        "return document.querySelectorAll('mjx-container').length") > 0)
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])")
    assert len([src for src, _ in images if "_images" in src or "data:" in src]) >= 3
    assert all(ok for _, ok in images), [src for src, ok in images if not ok]
    text = browser.find_element("css selector", "main").text
    assert "$$" not in text, "raw $$ left in the page: math was not typeset"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{chapter}.png"))


def test_search_finds_focal(server, browser):
    browser.get(f"{server}/search.html?q=focal")
    results = _wait(browser, lambda d: d.find_elements("css selector", "ul.search li"), timeout=30)
    assert any("focal" in r.text.lower() for r in results)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "search.png"))


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.scripts = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "img", "link") and (a.get("src") or a.get("href")):
            self.scripts.append(a.get("src") or a.get("href"))


def _parse(path: Path) -> _Refs:
    refs = _Refs()
    refs.feed(path.read_text(encoding="utf-8"))
    return refs


def test_internal_links_resolve(site):
    pages = {p: _parse(p) for p in site.rglob("*.html")}
    broken = []
    for page, refs in pages.items():
        for href in refs.links:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "//")):
                continue
            target_path, anchor = urldefrag(href)
            target = (page.parent / unquote(target_path)).resolve() if target_path else page
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif anchor and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(anchor) not in ids:
                    broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, broken


def test_site_needs_no_network_to_render(site):
    """Scripts, styles and images are local files: math, search and figures work offline."""
    remote = {f"{p.name}: {src}" for p in site.rglob("*.html") for src in _parse(p).scripts
              if re.match(r"(https?:)?//", src)}
    assert not remote, sorted(remote)


def test_chapters_offer_notebook_downloads_and_launch_buttons(site):
    for chapter in CHAPTERS:
        html = (site / f"{chapter}.html").read_text(encoding="utf-8")
        assert f"_sources/{chapter}.ipynb" in html, f"{chapter}: no .ipynb download"
        assert "mybinder.org" in html and "colab.research.google.com" in html
        assert (site / "_sources" / f"{chapter}.ipynb").exists()


def test_exercise_solutions_start_collapsed(server, browser):
    browser.get(f"{server}/{CHAPTERS[1]}.html")
    _wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    solutions = browser.find_elements("css selector", "div.solution")
    assert solutions, "the chapter has no exercise solutions"
    for sol in solutions:
        assert "dropdown" in sol.get_attribute("class")
        body = [p for p in sol.find_elements("css selector", "section, p") if p.text.strip()
                and "Solution to" not in p.text]
        assert not any(p.is_displayed() for p in body), "a solution is shown before it is opened"


def test_figures_are_numbered_by_chapter(site):
    html = (site / f"{CHAPTERS[1]}.html").read_text(encoding="utf-8")
    assert re.search(r'caption-number">Fig\. 2\.1 ', html), "figures carry chapter numbers"
