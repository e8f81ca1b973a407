"""The built book (``_build/html``) works offline and stays interactive.

Static check: no page loads a script, style or image from another site.
Browser checks, for every page in ``_toc.yml``, served from 127.0.0.1:

- no failed request, no request leaving the site, no page error or console error;
- every ``.daxsim-chart`` draws its marks (SVG or canvas);
- moving a chart's bound slider (or dropdown) changes what the chart draws;
- MathJax typesets the page's math; ipywidgets render from their saved state.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


def toc_pages() -> list[str]:
    """HTML paths of every file in ``_toc.yml`` (root first), e.g. ``book/intro.html``."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", f) + ".html" for f in files]


PAGES = toc_pages()
#: the chapters (notebooks): each has at least one "what if" chart with bound controls
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]

# Charts inside an ipywidgets Output widget are live-only (the static page has no
# kernel and html-manager does not run their scripts), so they are not counted here.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.daxsim-chart'))
    .filter(el => !el.closest('.widget-output'))"""

CHARTS_DRAWN_JS = f"""() => ({CHARTS_JS})().every(
    el => el.querySelector('svg.marks, canvas.marks'))"""

FINGERPRINT_JS = """el => {
    const svg = el.querySelector('svg.marks');
    if (svg) return svg.outerHTML;
    const canvas = el.querySelector('canvas.marks');
    return canvas ? canvas.toDataURL() : '';
}"""

MOVE_SLIDER_JS = """input => {
    const lo = Number(input.min), hi = Number(input.max), v = Number(input.value);
    input.value = String(v === hi ? lo : hi);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
    return 'slider ' + v + ' -> ' + input.value;
}"""

PICK_OTHER_JS = """select => {
    if (select.options.length < 2) return null;
    const from = select.value;
    select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
    select.dispatchEvent(new Event('input', {bubbles: true}));
    select.dispatchEvent(new Event('change', {bubbles: true}));
    return 'dropdown ' + from + ' -> ' + select.value;
}"""


# --------------------------------------------------------------------------- static


class _AssetRefs(HTMLParser):
    """Collects the URLs a page loads: script src, link href, img/source/iframe src."""

    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "embed", "audio", "video") and a.get("src"):
            self.refs.append(f"<{tag} src={a['src']}>")
        if tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "icon", "preload", "modulepreload", "prefetch")):
                self.refs.append(f"<link rel={rel} href={a['href']}>")
        if tag == "img" and a.get("srcset"):
            self.refs.append(f"<img srcset={a['srcset']}>")


def _external(ref: str) -> bool:
    url = ref.split("=", 1)[1].rstrip(">").strip()
    return url.lower().startswith(("http:", "https:", "//"))


@pytest.mark.book
def test_no_page_loads_assets_from_another_site(book_html):
    offenders = {}
    pages = sorted(book_html.rglob("*.html"))
    assert pages, f"no HTML under {book_html}"
    for page in pages:
        parser = _AssetRefs()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        bad = [r for r in parser.refs if _external(r)]
        if bad:
            offenders[str(page.relative_to(book_html))] = bad
    assert not offenders, f"pages loading assets from outside the site: {offenders}"


@pytest.mark.book
def test_every_toc_page_was_built(book_html):
    missing = [p for p in PAGES if not (book_html / p).exists()]
    assert not missing, f"TOC pages missing from the build: {missing}"


@pytest.mark.book
def test_vendored_assets_are_in_the_build(book_html):
    static = book_html / "_static"
    for rel in ("vega-bundle.js", "require.js", "html-manager/embed-amd.js",
                "mathjax/tex-mml-chtml.js"):
        assert (static / rel).exists(), f"_static/{rel} missing: run `make book`"
    assert not (REPO_ROOT / "_static").exists(), (
        "a root _static/ makes Jupyter Book 1 inject every .js/.css in it into every page"
    )


# -------------------------------------------------------------------------- browser


def _wait_for_page(page, html: str):
    """Wait until the page's charts, widgets and math have had their chance to draw."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(CHARTS_DRAWN_JS, timeout=30_000)
    if "application/vnd.jupyter.widget-view+json" in html:
        page.wait_for_selector(".jupyter-widgets", state="attached", timeout=30_000)
    if 'class="math' in html:
        page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
        page.wait_for_load_state("networkidle")


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_and_draws(path, book_html, book_url, open_page):
    html = (book_html / path).read_text(encoding="utf-8")
    page, log = open_page(book_url + path)
    _wait_for_page(page, html)
    assert not log.problems(), f"{path}: {log.problems()}"
    assert "Error loading script" not in page.content()
    if 'class="math' in html:
        assert page.locator("mjx-container").count() > 0, f"{path}: math not typeset"


@pytest.mark.browser
@pytest.mark.parametrize("path", CHAPTERS)
def test_bound_controls_change_their_chart(path, book_html, book_url, open_page):
    """Every chapter has a chart with bound controls; moving any bound slider (and
    picking another value in any bound dropdown) of a chart changes what it draws."""
    html = (book_html / path).read_text(encoding="utf-8")
    assert "daxsim-chart" in html, f"{path} has no chart"
    page, log = open_page(book_url + path)
    _wait_for_page(page, html)
    charts = page.locator(".daxsim-chart:not(.widget-output .daxsim-chart)")
    moved = []
    for i in range(charts.count()):
        chart = charts.nth(i)
        controls = [(chart.locator(".vega-bindings input[type=range]"), MOVE_SLIDER_JS),
                    (chart.locator(".vega-bindings select"), PICK_OTHER_JS)]
        for locator, move in controls:
            for j in range(locator.count()):
                before = chart.evaluate(FINGERPRINT_JS)
                what = locator.nth(j).evaluate(move)
                if what is None:
                    continue  # a dropdown with a single choice
                page.wait_for_function(
                    f"([el, before]) => ({FINGERPRINT_JS})(el) !== before",
                    arg=[chart.element_handle(), before],
                    timeout=10_000,
                )
                moved.append(f"chart {i}: {what}")
    assert not log.problems(), f"{path}: {log.problems()}"
    assert moved, f"{path}: no chart with a bound slider or dropdown"


@pytest.mark.browser
def test_the_book_has_interactive_charts(book_html):
    """At least one chapter has a "what if" chart with a bound slider or dropdown (the
    design asks one per option chapter)."""
    interactive = [
        p for p in PAGES
        if (book_html / p).exists()
        and "daxsim-chart" in (text := (book_html / p).read_text(encoding="utf-8"))
        and ('"input": "range"' in text or '"input": "select"' in text)
    ]
    assert interactive, "no page has a chart with a bound control (daxsim.book.charts.grid_chart)"
