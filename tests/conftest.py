"""Shared fixtures: the repository, the built book, a local web server, headless Chromium.

Browser tests carry ``@pytest.mark.browser``; ``make test`` runs them after the book
build (``pytest tests/ -m browser``). They use Debian's chromium through playwright
(``/usr/bin/chromium``, or ``DAXSIM_CHROMIUM``); ``playwright install`` is never needed.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    path = os.environ.get("DAXSIM_CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def book_html(repo_root) -> Path:
    """``_build/html`` (or ``DAXSIM_BOOK_HTML``); ``make test`` builds it first.

    Missing: skipped, unless ``DAXSIM_REQUIRE_BOOK=1`` (set by ``make test``) makes it
    a failure.
    """
    html = Path(os.environ.get("DAXSIM_BOOK_HTML", repo_root / "_build" / "html"))
    if not (html / "index.html").exists():
        message = f"no built book at {html}: run `make book` first"
        if os.environ.get("DAXSIM_REQUIRE_BOOK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def book_url(book_html):
    """Base URL (ending in ``/``) of the built book served on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by playwright."""
    exe = chromium_path()
    if exe is None:
        message = "chromium not found (apt-get install -y chromium; make test does it)"
        if os.environ.get("DAXSIM_REQUIRE_BOOK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class PageLog:
    """What a page did on the network and in its console."""

    origin: str
    outside: list[str] = field(default_factory=list)  # requests that left the site
    failed: list[str] = field(default_factory=list)  # request failures and HTTP >= 400
    errors: list[str] = field(default_factory=list)  # page errors and console errors

    def problems(self) -> dict[str, list[str]]:
        return {
            k: v
            for k, v in {
                "requests leaving the site": self.outside,
                "failed requests": self.failed,
                "page/console errors": self.errors,
            }.items()
            if v
        }


def _same_site(url: str, origin: str) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return True
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == origin


@pytest.fixture
def open_page(browser):
    """``open_page(url) -> (page, log)``: a fresh context that refuses any request
    leaving the URL's origin (recorded in ``log.outside``) and records failures and
    errors. Contexts are closed at teardown."""
    contexts = []

    def _open(url: str, *, wait_until: str = "load", timeout_ms: int = 60_000):
        parts = urlsplit(url)
        log = PageLog(origin=f"{parts.scheme}://{parts.netloc}")
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)

        def route(r):
            if _same_site(r.request.url, log.origin):
                r.continue_()
            else:
                log.outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.on(
            "requestfailed",
            lambda req: req.url in log.outside or log.failed.append(f"{req.url}: {req.failure}"),
        )
        page.on(
            "response",
            lambda resp: resp.status >= 400 and log.failed.append(f"{resp.url}: HTTP {resp.status}"),
        )
        page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: msg.type == "error" and log.errors.append(f"console: {msg.text}"),
        )
        page.goto(url, wait_until=wait_until, timeout=timeout_ms)
        return page, log

    yield _open
    for context in contexts:
        context.close()
