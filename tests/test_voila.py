"""The live explorer runs as a Voila app: moving a widget re-runs daxsim.

Starts ``voila --template=daxsim notebooks/option-1a.ipynb`` (or
``DAXSIM_VOILA_NOTEBOOK``) on a free 127.0.0.1 port, as ``make live`` does, opens it in headless chromium, waits for the ipywidgets, then changes
dropdowns and moves sliders (the ones whose description matches
``DAXSIM_VOILA_WIDGET``, if set, first) until the displayed result changes. Timeouts are
generous: numba compiles the kernels on first use.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = os.environ.get("DAXSIM_VOILA_NOTEBOOK", "notebooks/option-1a.ipynb")

STARTUP_S = 120  # server up
RENDER_MS = 600_000  # notebook executed and widgets drawn (numba compiles)
REACT_MS = 300_000  # result changes after the first widget change

# What the app shows, minus the controls' own values: output text and chart marks.
RESULT_JS = """() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll(
        '.widget-readout, .widget-slider, .widget-dropdown, select, .vega-bindings, script, style'
    ).forEach(el => el.remove());
    const charts = Array.from(document.querySelectorAll('.daxsim-chart svg.marks'))
        .map(svg => svg.outerHTML).join('');
    return body.innerText + charts;
}"""

# `make live` installs it (python -m daxsim.bookassets --voila-template ...): Voila's
# lab template with Font Awesome served locally instead of from a CDN.
VOILA_TEMPLATE = Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates" / "daxsim"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url():
    notebook = REPO_ROOT / NOTEBOOK
    if not notebook.exists():
        pytest.fail(f"{NOTEBOOK} does not exist")
    if not (VOILA_TEMPLATE / "index.html.j2").exists():
        from daxsim.bookassets import write_voila_template

        write_voila_template(VOILA_TEMPLATE)
    port = _free_port()
    log = open(REPO_ROOT / ".pytest_cache" / "voila.log", "w") if (
        REPO_ROOT / ".pytest_cache"
    ).is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "voila", str(notebook), "--template=daxsim",
            "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--show_tracebacks=True",
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited with code {proc.returncode}")
            try:
                # any HTTP answer means the server is up (GET / would start a kernel)
                with urllib.request.urlopen(url + "voila/static/no-such-file", timeout=5):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"voila did not answer on {url} within {STARTUP_S} s")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not subprocess.DEVNULL:
            log.close()


def _controls(page):
    """Dropdowns and sliders as (kind, description, locator), preferred ones first."""
    wanted = os.environ.get("DAXSIM_VOILA_WIDGET", "").lower()
    found = []
    for kind, selector in (("dropdown", ".widget-dropdown"), ("slider", ".widget-slider")):
        widgets = page.locator(selector)
        for i in range(widgets.count()):
            w = widgets.nth(i)
            label = w.locator(".widget-label")
            desc = label.first.inner_text().strip() if label.count() else ""
            found.append((kind, desc, w))
    found.sort(key=lambda c: (wanted not in c[1].lower()) if wanted else 0)
    return found


def _change(kind, widget):
    if kind == "dropdown":
        select = widget.locator("select")
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex]?.text")
        others = [o for o in options if o != current]
        if not others:
            return False
        select.select_option(label=others[-1])
        return True
    handle = widget.locator(".noUi-handle").first
    if handle.count() == 0:
        return False
    handle.focus()
    before = handle.get_attribute("aria-valuenow")
    handle.press("End")
    if handle.get_attribute("aria-valuenow") == before:
        handle.press("Home")
    return handle.get_attribute("aria-valuenow") != before


def _stable_result(page, settle_ms=2000, timeout_ms=60_000):
    """The result once it has not changed for *settle_ms*."""
    deadline = time.monotonic() + timeout_ms / 1000
    last = page.evaluate(RESULT_JS)
    while time.monotonic() < deadline:
        page.wait_for_timeout(settle_ms)
        now = page.evaluate(RESULT_JS)
        if now == last:
            return now
        last = now
    return last


@pytest.mark.browser
@pytest.mark.slow
def test_moving_a_widget_changes_the_result(voila_url, open_page):
    page, log = open_page(voila_url, timeout_ms=RENDER_MS)
    page.wait_for_selector(".widget-slider, .widget-dropdown", timeout=RENDER_MS)
    # Voila has executed every cell once its spinner is gone
    page.wait_for_function(
        "() => !document.querySelector('#loading') || "
        "getComputedStyle(document.querySelector('#loading')).display === 'none' || "
        "document.querySelector('#rendered_cells')?.style.display !== 'none'",
        timeout=RENDER_MS,
    )
    before = _stable_result(page)
    controls = _controls(page)
    assert controls, "no ipywidgets slider or dropdown in the Voila app"
    tried = []
    for kind, desc, widget in controls:
        if not _change(kind, widget):
            continue
        tried.append(f"{kind} {desc!r}")
        try:
            page.wait_for_function(
                f"before => ({RESULT_JS})() !== before",
                arg=before,
                timeout=REACT_MS if len(tried) == 1 else 60_000,
            )
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; try the next widget
            continue
    else:
        pytest.fail(f"the result did not change after moving: {tried or 'no widget could move'}")
    # charts drawn by daxsim.charts render in Voila too, with no CDN
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.daxsim-chart'))"
        ".every(el => el.querySelector('svg.marks, canvas.marks'))",
        timeout=30_000,
    )
    assert not log.problems(), log.problems()


def test_voila_template_links_nothing_outside():
    """The `daxsim` template's pages (notebook and folder listing) load no CDN asset."""
    import re

    if not (VOILA_TEMPLATE / "index.html.j2").exists():
        from daxsim.bookassets import write_voila_template

        write_voila_template(VOILA_TEMPLATE)
    external = {
        f.name: hits
        for f in VOILA_TEMPLATE.glob("*.htm*")
        if (hits := re.findall(r'(?:href|src)="(?:https?:)?//[^"]*"', f.read_text()))
    }
    assert not external, f"Voila template pages link outside: {external}"
    assert (VOILA_TEMPLATE / "page.html").exists(), "folder listing frame not overridden"
