"""The built site, checked as a reader sees it: headless Chromium on a local server, no network.

The site is what `make book` wrote to book/_build/html (built here if it is missing). Screenshots of
every chapter page are saved to artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import os
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
# BOOK_SITE_DIR: check another build of the site (e.g. one built with --path-output)
SITE = Path(os.environ.get("BOOK_SITE_DIR") or ROOT / "book" / "_build" / "html")
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


def test_chapters_offer_notebook_downloads(site):
    for chapter in CHAPTERS:
        html = (site / f"{chapter}.html").read_text(encoding="utf-8")
        assert f"_sources/{chapter}.ipynb" in html, f"{chapter}: no .ipynb download"
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


# ---------------------------------------------------------------------------------------------
# Every reader (issue 11): accessibility, phones, the publishing location. The pages are every
# HTML page of the site but index.html (a redirect to intro.html).

A11Y = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
PLACEHOLDERS = ("example.edu", "example.com", "example.org", "loss-functions-book/",
                "hub.example", "mybinder.org", "colab.research.google.com")


def _pages(site):
    return sorted(p.stem for p in site.glob("*.html") if p.name != "index.html")


def _load(browser, url, mode="light"):
    """Open ``url`` in the given colour mode and wait until fonts, MathJax and images are ready."""
    browser.get(url)
    browser.execute_script(
        "localStorage.setItem('mode', arguments[0]); localStorage.setItem('theme', arguments[0]);",
        mode)
    browser.get(url)
    _wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    browser.set_script_timeout(60)
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const math = window.MathJax && MathJax.startup && MathJax.startup.promise;
        const images = Array.from(document.images).map(i => i.decode().catch(() => null));
        Promise.all([document.fonts.ready, math || null, ...images])
          .then(() => setTimeout(done, 400), () => setTimeout(done, 400));
    """)
    assert browser.execute_script("return document.documentElement.dataset.mode") == mode


def _axe(browser):
    browser.execute_script(A11Y.read_text(encoding="utf-8"))
    return browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
          .then(r => done(r.violations.filter(v => ['critical', 'serious'].includes(v.impact))
            .map(v => `${v.id} (${v.impact}): ` + v.nodes.slice(0, 5).map(n =>
              n.target.join(' ') + ' -- ' + n.failureSummary.replace(/\\s+/g, ' ')).join(' | '))),
                e => done(['axe failed: ' + e]));
    """, WCAG_TAGS)


def test_every_page_passes_axe_in_light_and_dark_mode(site, server, browser):
    """WCAG 2.0/2.1 A and AA rules of axe-core (pinned in tests/a11y/): no serious or critical."""
    if not A11Y.exists():
        pytest.fail("axe-core is missing: `make axe` installs it (npm ci in tests/a11y)")
    found = {}
    (SHOTS / "desktop").mkdir(parents=True, exist_ok=True)
    for page in _pages(site):
        for mode in ("light", "dark"):
            _load(browser, f"{server}/{page}.html", mode)
            violations = _axe(browser)
            if violations:
                found[f"{page} ({mode})"] = violations
            browser.save_screenshot(str(SHOTS / "desktop" / f"{page}-{mode}.png"))
    assert not found, found


# empty, a file name, or a path (a word with a slash that ends in an image's extension, _images/)
BAD_ALT = re.compile(r"^\s*$|\.(png|jpe?g|gif|svg|webp)\b|^[\w.-]+\.\w{2,4}$|_images/|^\S*/\S*$",
                     re.I)


def test_content_images_have_real_alt_text(site):
    """axe accepts a path as alt text; readers do not. No empty alt, file name or path."""
    bad = []
    for page in _pages(site):
        html = (site / f"{page}.html").read_text(encoding="utf-8")
        for tag in re.findall(r"<img\b[^>]*>", html):
            if "_images/" not in tag:
                continue  # the theme's own icons (launch menu logos) are not content
            alt = re.search(r'\balt="([^"]*)"', tag)
            alt = alt.group(1) if alt else ""
            if BAD_ALT.search(alt) or len(alt.split()) < 4:
                bad.append(f"{page}: alt={alt!r}")
        for figure in re.findall(r"<figure\b.*?</figure>", html, re.S):
            alt = re.search(r'<img\b[^>]*\balt="([^"]*)"', figure)
            caption = re.search(r'class="caption-text">(.*?)</span>\s*(<a|</p>)', figure, re.S)
            if alt and caption:
                text = re.sub(r"<[^>]+>", "", caption.group(1)).strip()
                if alt.group(1).strip().rstrip(".") == text.rstrip("."):
                    bad.append(f"{page}: alt is the caption alone: {text[:60]!r}")
    assert not bad, f"{len(bad)} figures without alt text that says what they show: {bad[:10]}"


def _phone(browser):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)


def _desktop(browser):
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


PHONE_JS = """
const vw = document.documentElement.clientWidth;
const scrolls = (el, axis) => ['auto', 'scroll'].includes(getComputedStyle(el)[axis]);
const inScroller = el => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
    if (scrolls(a, 'overflowX')) return true;
  return false;
};
const out = {vw, pageWidth: document.documentElement.scrollWidth, wide: [], clipped: [], figures: []};
for (const el of document.querySelectorAll('main *')) {
  const r = el.getBoundingClientRect();
  if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
  if (el.closest('mjx-assistive-mml')) continue;
  if (r.right > vw + 1 && !inScroller(el))
    out.wide.push(`${el.tagName}.${el.className} right edge at ${Math.round(r.right)} px: `
                  + (el.textContent || '').trim().slice(0, 50));
}
for (const m of document.querySelectorAll('mjx-container mjx-math')) {
  if (m.closest('.toggle-hidden, details:not([open])')) continue;  // folded away: not shown
  const r = m.getBoundingClientRect();
  for (let a = m.parentElement; a && a !== document.body; a = a.parentElement) {
    const cs = getComputedStyle(a), b = a.getBoundingClientRect();
    const outX = r.left < b.left - 1 || r.right > b.right + 1;
    const outY = r.top < b.top - 1 || r.bottom > b.bottom + 1;
    if ((outX && cs.overflowX !== 'visible' && !scrolls(a, 'overflowX')) ||
        (outY && cs.overflowY !== 'visible' && !scrolls(a, 'overflowY'))) {
      out.clipped.push(`${a.tagName}.${a.className} clips ${outX ? 'width' : 'height'} of `
                       + (m.textContent || '').slice(0, 50));
      break;
    }
    if (scrolls(a, 'overflowX')) break;
  }
}
for (const img of document.querySelectorAll('.bd-article img')) {
  if (!img.getAttribute('src').includes('_images/')) continue;
  out.figures.push([img.getAttribute('src'), img.naturalWidth, img.getBoundingClientRect().width]);
}
return out;
"""


def _png_dpi(path: Path, default: float) -> float:
    from PIL import Image

    with Image.open(path) as im:
        dpi = im.info.get("dpi")
    return float(dpi[0]) if dpi else default


def test_pages_fit_a_phone(site, server, browser):
    """At 390 x 844: no math clipped, nothing that scrolls the page sideways, figure text >= 8 px.

    A figure's smallest axis text is the plot style's tick label size (points) at the figure's
    resolution, scaled by the width the page shows the figure at over its pixel width.
    """
    from lossutils.plotting import FIGURE_DPI, MIN_AXIS_TEXT_PT

    problems = []
    (SHOTS / "phone").mkdir(parents=True, exist_ok=True)
    _phone(browser)
    try:
        for page in _pages(site):
            _load(browser, f"{server}/{page}.html")
            got = browser.execute_script(PHONE_JS)
            assert got["vw"] <= PHONE["width"], got["vw"]
            if got["pageWidth"] > got["vw"]:
                problems.append(f"{page}: the page is {got['pageWidth']} px wide on a "
                                f"{got['vw']} px screen")
            problems += [f"{page}: sticks out: {w}" for w in got["wide"]]
            problems += [f"{page}: clipped math: {c}" for c in got["clipped"]]
            for src, natural, shown in got["figures"]:
                dpi = _png_dpi(site / src.split("?")[0], FIGURE_DPI)
                text_px = MIN_AXIS_TEXT_PT * dpi / 72 * shown / natural
                if text_px < 8:
                    problems.append(f"{page}: {src} shown at {shown:.0f} of {natural} px: axis "
                                    f"text {text_px:.1f} CSS px tall (< 8)")
            browser.save_screenshot(str(SHOTS / "phone" / f"{page}.png"))
            figure = browser.find_elements("css selector", ".bd-article figure")
            if figure:
                browser.execute_script("arguments[0].scrollIntoView()", figure[0])
                browser.save_screenshot(str(SHOTS / "phone" / f"{page}-figure.png"))
    finally:
        _desktop(browser)
    assert not problems, "\n".join(problems[:40])


def test_wide_figures_and_formulas_scroll_by_keyboard(server, browser):
    """A box that scrolls on a phone is focusable and named (WCAG 2.1.1): reader.js marks it."""
    _phone(browser)
    try:
        _load(browser, f"{server}/{CHAPTERS[1]}.html")
        boxes = browser.execute_script("""
            return Array.from(document.querySelectorAll('.figure-scroll, span.math, div.math mjx-container'))
              .filter(b => getComputedStyle(b).overflowX !== 'visible' && b.scrollWidth > b.clientWidth + 1
                           && (b.querySelector('mjx-math, img').getBoundingClientRect().width > b.clientWidth + 1))
              .map(b => [b.className, b.getAttribute('tabindex'), b.getAttribute('aria-label')]);
        """)
    finally:
        _desktop(browser)
    assert boxes, "no figure scrolls sideways on a phone in chapter 2 (its 4-panel figure should)"
    assert all(tab == "0" and label for _, tab, label in boxes), boxes


def test_theme_controls_are_named_by_their_visible_text(server, browser):
    _load(browser, f"{server}/intro.html", "dark")
    names = browser.execute_script("""
        return Array.from(document.querySelectorAll('.search-button-field, .theme-switch-button'))
          .map(b => [b.innerText.replace(/\\s+/g, ' ').trim(), b.getAttribute('aria-label')]);
    """)
    assert names
    for text, label in names:
        assert label and text.replace(" ", "") in label.replace(" ", ""), (text, label)
    assert ["", "Color mode: Dark"] in names


def test_no_page_links_to_a_placeholder_or_an_unset_repository(site):
    """With BOOK_REPOSITORY_URL unset no page has a repository, issue or launch link; with it set
    (the site built in this environment), every launch link opens the page's notebook on the
    branch (book/_ext/publishing.py)."""
    import os

    url = os.environ.get("BOOK_REPOSITORY_URL", "").strip().rstrip("/")
    bad = []
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        links = re.findall(r'href="([^"]+)"', html)
        if not url:
            bad += [f"{page.name}: {h}" for h in links if any(p in h for p in PLACEHOLDERS)
                    or "github.com" in h]
            for word in ("Launch on Binder", "Launch on Colab", "Launch on JupyterHub",
                         "Source repositories", "open an issue"):
                if word.lower() in html.lower():
                    bad.append(f"{page.name}: shows {word!r}")
        else:
            bad += [f"{page.name}: {h}" for h in links if any(p in h for p in PLACEHOLDERS[:5])]
    assert not bad, bad[:20]
