"""The built book (``_build/html``) works offline, stays interactive, and keeps its style.

Static checks, on the HTML and the Vega-Lite specs embedded in it:

- no page loads a script, style or image from another site;
- every entity has one colour on every chart, every colour encoding names its colours
  (no default palette), and no two entities of one chart share a colour;
- dropdowns and legends list their values in the theme's numeric order;
- no raw Markdown in the rendered text (pipe tables, backticks, ``{role}`` syntax);
- no ipywidget in the static pages (they are live-only);
- every option chapter has a diagram, and opens with it.

Browser checks, for every page in ``_toc.yml``, served from 127.0.0.1:

- no failed request, no request leaving the site, no page error or console error;
- every ``.daxsim-chart`` draws its marks, and no text of a chart or diagram lies outside
  its SVG, is cut with an ellipsis, or runs past the page's text column;
- moving a chart's bound slider (or dropdown) changes the marks it draws, not only a title;
- MathJax typesets the page's math;
- each chapter's first screen states its question and answer; its page stays within the
  length budget written in ``book/status.md``; no output sits between a "Predict"
  paragraph and the reveal that answers it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def toc_parts() -> dict[str, list[str]]:
    """Part caption -> HTML paths of its chapters."""
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    return {
        part["caption"]: [re.sub(r"\.(md|ipynb)$", "", c["file"]) + ".html" for c in part.get("chapters", [])]
        for part in toc.get("parts", [])
    }


PAGES = toc_pages()
PARTS = toc_parts()
#: the chapters (notebooks)
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
#: chapters outside the appendices: each has at least one "what if" chart with bound controls
INTERACTIVE = [p for p in CHAPTERS if p not in PARTS.get("Appendices", [])]
#: the option chapters: each opens with its diagram
OPTION_CHAPTERS = PARTS["The options"]

# Charts inside an ipywidgets Output widget are live-only (the static page has no
# kernel and html-manager does not run their scripts), so they are not counted here.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.daxsim-chart'))
    .filter(el => !el.closest('.widget-output'))"""

CHARTS_DRAWN_JS = f"""() => ({CHARTS_JS})().every(
    el => el.querySelector('svg.marks, canvas.marks'))"""

# what a chart plots: its marks, not its title, axes or legends
FINGERPRINT_JS = """el => {
    const svg = el.querySelector('svg.marks');
    if (!svg) {
        const canvas = el.querySelector('canvas.marks');
        return canvas ? canvas.toDataURL() : '';
    }
    return Array.from(svg.querySelectorAll('g.role-mark'))
        .filter(g => !g.closest('.role-axis, .role-legend, .role-title'))
        .map(g => g.outerHTML).join('');
}"""

MOVE_SLIDER_JS = """input => {
    const lo = Number(input.min), hi = Number(input.max), v = Number(input.value);
    input.value = String(v === hi ? lo : hi);
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
    return 'slider ' + v + ' -> ' + input.value;
}"""

# puts a control back to its value before the move, so that each control is tried from
# the chart's first state (a control may rightly change nothing in some other state: the
# memmap's placement, on a medium as fast as DRAM)
RESTORE_JS = """([el, value]) => {
    el.value = value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
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
    for rel in ("vega-bundle.js", "require.js", "html-manager/embed-amd.js", "mathjax/tex-mml-chtml.js"):
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
    """Every chapter outside the appendices has a chart with bound controls; moving any
    bound slider (and picking another value in any bound dropdown) of any chart changes
    the marks it draws (not only its title or its axes)."""
    html = (book_html / path).read_text(encoding="utf-8")
    if "daxsim-chart" not in html and path not in INTERACTIVE:
        # an appendix without charts: nothing to move, and no control the static page could leave dead
        assert "vega-bindings" not in html and "jupyter-widgets" not in html, f"{path}: controls without a chart"
        return
    assert "daxsim-chart" in html, f"{path} has no chart"
    page, log = open_page(book_url + path)
    _wait_for_page(page, html)
    charts = page.locator(".daxsim-chart:not(.widget-output .daxsim-chart)")
    moved = []
    for i in range(charts.count()):
        chart = charts.nth(i)
        controls = [
            (chart.locator(".vega-bindings input[type=range]"), MOVE_SLIDER_JS),
            (chart.locator(".vega-bindings select"), PICK_OTHER_JS),
        ]
        for locator, move in controls:
            for j in range(locator.count()):
                before = chart.evaluate(FINGERPRINT_JS)
                value = locator.nth(j).evaluate("el => el.value")
                what = locator.nth(j).evaluate(move)
                if what is None:
                    continue  # a dropdown with a single choice
                page.wait_for_function(
                    f"([el, before]) => ({FINGERPRINT_JS})(el) !== before",
                    arg=[chart.element_handle(), before],
                    timeout=10_000,
                )
                moved.append(f"chart {i}: {what}")
                after = chart.evaluate(FINGERPRINT_JS)
                page.evaluate(RESTORE_JS, [locator.nth(j).element_handle(), value])
                page.wait_for_function(
                    f"([el, after]) => ({FINGERPRINT_JS})(el) !== after",
                    arg=[chart.element_handle(), after],
                    timeout=10_000,
                )
    assert not log.problems(), f"{path}: {log.problems()}"
    if path in INTERACTIVE:
        assert moved, f"{path}: no chart with a bound slider or dropdown"


@pytest.mark.browser
def test_the_book_has_interactive_charts(book_html):
    """At least one chapter has a "what if" chart with a bound slider or dropdown (the
    design asks one per option chapter)."""
    interactive = [
        p
        for p in PAGES
        if (book_html / p).exists()
        and "daxsim-chart" in (text := (book_html / p).read_text(encoding="utf-8"))
        and ('"input": "range"' in text or '"input": "select"' in text)
    ]
    assert interactive, "no page has a chart with a bound control (daxsim.book.charts.grid_chart)"


# ---------------------------------------------------------------------- the book's style

_SPEC_RE = re.compile(r"var spec = (\{.*?\});\n", re.DOTALL)


def page_specs(book_html: Path) -> dict[str, list[dict]]:
    """The Vega-Lite specs each built page embeds (daxsim.book.render writes them)."""
    out = {}
    for path in PAGES:
        f = book_html / path
        if f.exists():
            out[path] = [json.loads(m) for m in _SPEC_RE.findall(f.read_text(encoding="utf-8"))]
    return out


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def colour_scales(spec: dict):
    """``(field, domain, range)`` of every colour encoding of a spec with a field."""
    for node in _walk(spec):
        enc = node.get("encoding") if isinstance(node.get("encoding"), dict) else None
        if not enc or "color" not in enc:
            continue
        c = enc["color"]
        if not isinstance(c, dict) or "field" not in c or c.get("scale", {}) is None:
            continue
        scale = c.get("scale") or {}
        yield c["field"], scale.get("domain"), scale.get("range")


@pytest.mark.book
def test_every_entity_has_one_colour_on_every_chart(book_html):
    """An option, a cost part, a profile, an event kind ... has the same colour on every
    chart (Distill's rule); every colour encoding spells its colours out (a default
    palette would give a value whatever colour comes next), and within one chart no
    two values share one."""
    seen: dict[str, dict[str, str]] = {}
    problems = []
    for path, specs in page_specs(book_html).items():
        for i, spec in enumerate(specs):
            for field, domain, rng in colour_scales(spec):
                where = f"{path} chart {i} ({field})"
                if not (isinstance(domain, list) and isinstance(rng, list) and len(domain) == len(rng)):
                    problems.append(f"{where}: no explicit domain and range")
                    continue
                if len(set(rng)) != len(rng):
                    problems.append(f"{where}: two values share a colour: {dict(zip(domain, rng))}")
                for value, colour in zip(domain, rng):
                    seen.setdefault(str(value), {}).setdefault(colour, where)
    clashes = {v: c for v, c in seen.items() if len(c) > 1}
    assert not problems, problems
    assert not clashes, f"values drawn in different colours on different charts: {clashes}"
    assert seen, "no colour scale found in any chart"


@pytest.mark.book
def test_controls_and_legends_list_values_in_numeric_order(book_html):
    """Dropdowns and colour legends follow the theme's order: 16 GiB, 64 GiB, 192 GiB,
    1 TiB; pools of 256 before 1,024 pages; options in the thread's order."""
    from daxsim.book import theme

    bad = []
    for path, specs in page_specs(book_html).items():
        for i, spec in enumerate(specs):
            for p in spec.get("params", []):
                opts = (p.get("bind") or {}).get("options")
                if opts:
                    values = [o for o in opts if o != "all"]
                    if values != theme.order(values) and p["name"] != "p_option_label":
                        bad.append(f"{path} chart {i} {p['name']}: {values}")
            for field, domain, _ in colour_scales(spec):
                if domain and field not in ("part", "option_label") and domain != theme.order(domain):
                    bad.append(f"{path} chart {i} legend {field}: {domain}")
    assert not bad, bad


class _Text(HTMLParser):
    """The text a reader sees in the article: no code, scripts, styles, SVG or math."""

    SKIP = {"script", "style", "pre", "code", "svg", "math", "mjx-container", "kbd", "textarea", "select"}

    def __init__(self):
        super().__init__()
        self.depth, self.inside, self.lines = 0, 0, [""]

    def handle_starttag(self, tag, attrs):
        if self.inside:
            self.inside += tag not in ("br", "img", "input", "meta", "link", "hr", "wbr")
        elif tag in self.SKIP:
            self.inside = 1
        elif tag in ("p", "li", "tr", "td", "th", "div", "h1", "h2", "h3", "br", "dd", "dt"):
            self.lines.append("")

    def handle_endtag(self, tag):
        if self.inside:
            self.inside -= 1

    def handle_data(self, data):
        if not self.inside:
            self.lines[-1] += data


def article_text(html: str) -> list[str]:
    body = html.split('<article class="bd-article"', 1)[-1].split("</article>", 1)[0]
    parser = _Text()
    parser.feed(body)
    return [" ".join(line.split()) for line in parser.lines if line.strip()]


@pytest.mark.book
@pytest.mark.parametrize("path", PAGES)
def test_no_raw_markdown_in_the_rendered_text(path, book_html):
    """Markdown that did not render shows as text: a pipe table, backticks, a role."""
    lines = article_text((book_html / path).read_text(encoding="utf-8"))
    raw = [line for line in lines if re.match(r"^\|.*\|$", line) or "| ---" in line or "| —" in line]
    ticks = [line for line in lines if "`" in line]
    roles = [line for line in lines if re.search(r"\{(glue|cite|doc|ref)[:}]", line)]
    dashes = [line for line in lines if re.search(r"[–—]map=", line)]
    assert not (raw or ticks or roles or dashes), {
        "pipe tables": raw[:3],
        "backticks": ticks[:3],
        "roles": roles[:3],
        "--map as a dash": dashes[:3],
    }


@pytest.mark.book
@pytest.mark.parametrize("path", PAGES)
def test_no_ipywidget_in_the_static_pages(path, book_html):
    """Widgets need a kernel: the static book leaves them out (remove-cell), and says
    where they are."""
    html = (book_html / path).read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-view+json" not in html, f"{path} shows an ipywidget"


@pytest.mark.book
@pytest.mark.parametrize("path", OPTION_CHAPTERS)
def test_every_option_chapter_opens_with_its_diagram(path, book_html):
    """Before its first section, an option chapter shows its question, its answer and a
    diagram (daxsim.book.diagrams)."""
    html = (book_html / path).read_text(encoding="utf-8")
    article = html.split('<article class="bd-article"', 1)[-1]
    first_section = article.find("<h2")
    diagram = article.find('class="daxsim-diagram"')
    answer = article.find("admonition")
    assert 0 <= answer < first_section, f"{path}: no question-and-answer box before the first section"
    assert 0 <= diagram < first_section, f"{path}: no diagram before the first section"


def _budgets() -> dict[str, int]:
    """The length budget of each page, px at 1280 x 900, from the table in book/status.md."""
    text = (REPO_ROOT / "book" / "status.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| ([0-9,]+) \|", text, re.MULTILINE)
    return {page: int(px.replace(",", "")) for page, px in rows}


BUDGETS = _budgets()


@pytest.mark.book
def test_every_page_has_a_length_budget():
    missing = [p for p in PAGES if p not in BUDGETS]
    assert not missing, f"pages without a length budget in book/status.md: {missing}"


CHART_TEXT_JS = """() => {
    const out = [];
    const column = document.querySelector('article.bd-article').getBoundingClientRect();
    const svgs = Array.from(document.querySelectorAll('.daxsim-chart svg.marks, figure.daxsim-diagram svg'));
    svgs.forEach((svg, i) => {
        const box = svg.getBoundingClientRect();
        if (box.right > column.right + 2) out.push(`svg ${i}: ${Math.round(box.right - column.right)} px past the column`);
        svg.querySelectorAll('text').forEach(t => {
            const r = t.getBoundingClientRect();
            const s = t.textContent.trim();
            if (!s) return;
            if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
                out.push(`svg ${i}: "${s}" outside its SVG`);
            if (s.endsWith('…')) out.push(`svg ${i}: "${s}" cut short`);
        });
    });
    return out;
}"""

FIRST_SCREEN_JS = """() => {
    const box = document.querySelector('article.bd-article .admonition');
    if (!box) return null;
    const r = box.getBoundingClientRect();
    return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, text: box.innerText};
}"""

REVEALS_JS = """() => {
    // for each reveal (a dropdown), the elements between the "Predict" paragraph and it
    const out = [];
    document.querySelectorAll('article.bd-article details').forEach((d, i) => {
        let el = d.previousElementSibling, n = 0;
        while (el && n < 12 && !/Predict/.test(el.innerText || '')) {
            if (el.querySelector && (el.matches('.cell_output, .cell') && el.querySelector('.cell_output')))
                out.push(`reveal ${i}: output above it: ${(el.innerText || '').slice(0, 80)}`);
            el = el.previousElementSibling; n++;
        }
    });
    return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("path", PAGES)
def test_charts_keep_their_text_inside_and_pages_their_budget(path, book_html, book_url, open_page):
    """No chart or diagram text outside its SVG or cut with an ellipsis, no SVG past the
    text column; the page within its length budget; chapters open with the answer box
    on the first screen; nothing printed between a "Predict" and its reveal."""
    html = (book_html / path).read_text(encoding="utf-8")
    page, log = open_page(book_url + path)
    _wait_for_page(page, html)
    problems = page.evaluate(CHART_TEXT_JS)
    assert not problems, f"{path}: {problems}"
    assert not log.problems(), f"{path}: {log.problems()}"
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= BUDGETS[path], f"{path}: {height} px, over its budget of {BUDGETS[path]} px (book/status.md)"
    if path in CHAPTERS:
        box = page.evaluate(FIRST_SCREEN_JS)
        assert box and box["bottom"] < 900, f"{path}: the question and its answer are not on the first screen"
        assert re.search(r"\d", box["text"]), f"{path}: the first screen's answer has no number"
    assert not page.evaluate(REVEALS_JS), f"{path}: {page.evaluate(REVEALS_JS)}"
