"""Sphinx extension: where the book is published, read from the environment at build time.

One place sets the publishing location, the environment of the build:

    BOOK_REPOSITORY_URL     the public repository, e.g. https://github.com/ORG/REPO (no default)
    BOOK_REPOSITORY_BRANCH  the branch the launch links open (default ``main``, only once a URL is set)
    BOOK_JUPYTERHUB_URL     a JupyterHub that can pull the repository (optional; no default)

With no ``BOOK_REPOSITORY_URL`` the site has no repository, issues, Binder, Colab or JupyterHub
button, so no page links to a repository that does not exist. With it, every launch link opens the
chapter's notebook (``book/<chapter>.ipynb``) on that branch; the JupyterHub button appears only
when ``BOOK_JUPYTERHUB_URL`` is set too. Binder and Colab are public services with fixed addresses,
kept in ``book/_config.yml``'s ``launch_buttons``; Colab only opens GitHub repositories.

The extension also offers the project's wheel (``dist/*.whl``, built by ``make wheel``) for
download: the substitution ``{{ lossutils_wheel }}`` in the book's pages becomes a download link.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
SERVICES = ("binderhub_url", "colab_url", "jupyterhub_url")
FOOTER_REPOSITORY = ' The notebooks, exercises and solutions are in the <a href="{url}">repository</a>.'


def publishing_location(environ=None) -> dict:
    """The repository URL, branch and hub URL from the environment (``None`` where unset).

    Raises ``ValueError`` for a URL that is not an http(s) address or a branch without a URL.
    """
    environ = os.environ if environ is None else environ
    url = environ.get("BOOK_REPOSITORY_URL", "").strip().rstrip("/") or None
    branch = environ.get("BOOK_REPOSITORY_BRANCH", "").strip() or None
    hub = environ.get("BOOK_JUPYTERHUB_URL", "").strip().rstrip("/") or None
    for name, value in (("BOOK_REPOSITORY_URL", url), ("BOOK_JUPYTERHUB_URL", hub)):
        if value and (urlparse(value).scheme not in ("http", "https") or not urlparse(value).netloc):
            raise ValueError(f"{name}={value!r} is not an http(s) URL; set it to the address a "
                             "reader's browser opens, e.g. https://github.com/ORG/REPO")
    if url and url.endswith(".git"):
        url = url[: -len(".git")]
    if url is None and branch:
        raise ValueError("BOOK_REPOSITORY_BRANCH is set but BOOK_REPOSITORY_URL is not: set the "
                         "repository URL too, or unset the branch")
    if url is None and hub:
        raise ValueError("BOOK_JUPYTERHUB_URL is set but BOOK_REPOSITORY_URL is not: a hub pulls "
                         "the notebooks from the repository, so set its URL too")
    if url is not None and len(urlparse(url).path.strip("/").split("/")) < 2:
        raise ValueError(f"BOOK_REPOSITORY_URL={url!r} does not name a repository: use "
                         "https://HOST/OWNER/REPO")
    return {"url": url, "branch": (branch or "main") if url else None, "hub": hub}


def theme_options(options: dict, location: dict) -> dict:
    """sphinx-book-theme's options with the repository and launch buttons set from ``location``."""
    options = dict(options)
    launch = dict(options.get("launch_buttons") or {})
    for key in ("repository_url", "repository_branch"):
        options.pop(key, None)
    if location["url"] is None:
        for service in SERVICES:
            launch.pop(service, None)
        options.update(use_repository_button=False, use_issues_button=False,
                       use_edit_page_button=False)
    else:
        options.update(repository_url=location["url"], repository_branch=location["branch"],
                       use_repository_button=True, use_issues_button=True)
        if urlparse(location["url"]).netloc.lower() != "github.com":
            launch.pop("colab_url", None)  # Colab opens notebooks from GitHub only
        if location["hub"]:
            launch["jupyterhub_url"] = location["hub"]
        else:
            launch.pop("jupyterhub_url", None)
    options["launch_buttons"] = launch
    footer = re.sub(r"\s*<a [^>]*>repository</a>\.?", "", options.get("extra_footer", ""))
    if location["url"]:
        footer += FOOTER_REPOSITORY.format(url=location["url"])
    options["extra_footer"] = footer
    return options


def wheel_path(dist: Path = DIST) -> Path | None:
    """The newest wheel in ``dist/`` (``make wheel`` writes it), or ``None``."""
    wheels = sorted(dist.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1] if wheels else None


def wheel_substitution(srcdir: Path, dist: Path = DIST) -> str:
    """Markdown for ``{{ lossutils_wheel }}``: a download link to the wheel, or how to build it."""
    wheel = wheel_path(dist)
    if wheel is None:
        return "the project's wheel (not in this build: `make wheel` writes it to `dist/`)"
    rel = os.path.relpath(wheel, srcdir).replace(os.sep, "/")
    return f"{{download}}`{wheel.name} <{rel}>`"


def _configure(app, config):
    location = publishing_location()
    config.html_theme_options = theme_options(config.html_theme_options or {}, location)
    subs = dict(getattr(config, "myst_substitutions", {}) or {})
    subs["lossutils_wheel"] = wheel_substitution(Path(app.srcdir))
    config.myst_substitutions = subs


def _figure_scale_script() -> str:
    """The inline script that hands reader.js the plot style's smallest figure scale."""
    from lossutils.plotting import MIN_DISPLAY_SCALE

    return f"window.LOSSBOOK = {{figureMinScale: {MIN_DISPLAY_SCALE!r}}};"


def setup(app):
    app.add_js_file(None, body=_figure_scale_script())
    # before sphinx-book-theme reads its options on builder-inited
    app.connect("config-inited", _configure, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
