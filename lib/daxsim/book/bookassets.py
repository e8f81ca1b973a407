"""Vendored JavaScript for the offline book.

``python -m daxsim.book.bookassets DEST`` writes everything the built HTML loads from its
own site instead of a CDN (see ``_config.yml``):

- ``vega-bundle.js``: Vega, Vega-Lite and vega-embed from ``vl_convert``, for the
  Vega-Lite version altair emits, wrapped in an IIFE so that its top-level names do not
  clash with Sphinx's scripts; it sets ``window.vegaEmbed``, ``window.vega``,
  ``window.vegaLite``.
- ``require.js`` and ``html-manager/embed-amd.js`` (+ its font files): what myst-nb
  loads to draw ipywidgets from their saved state.
- ``mathjax/``: MathJax 3 ``es5/``, trimmed to ``tex-mml-chtml.js`` and the pieces it
  loads (CHTML fonts, TeX extensions for autoload, the menu and its accessibility
  components).

It also writes ``favicon.svg``. ``--voila-template`` writes instead a Voila template
(``voila --template=daxsim``) that serves Font Awesome itself rather than from a CDN.

As a Sphinx extension (``_config.yml``: ``sphinx: extra_extensions``) it adds a
MathJax 2 -> 3 shim for widget labels to every page (``PAGE_JS``), tells require.js
where html-manager's font files are, and removes the duplicate script tags that make a
Jupyter Book 1 page throw an error in the console.

npm packages are fetched with ``npm pack NAME@VERSION`` (the npm registry is reachable
where CDNs are not). Existing files are left alone; delete DEST to refresh.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: npm packages and the versions we vendor. html-manager 1.0.x is the series that
#: ipywidgets 8.1 / @jupyter-widgets/controls 5 expects (myst-nb's default is 1.0.6).
NPM_PINS = {
    "requirejs": "2.3.8",
    "@jupyter-widgets/html-manager": "1.0.15",
    "mathjax": "3.2.2",
    "@fortawesome/fontawesome-free": "5.15.4",  # Voila's lab template asks for ^5
}

#: Parts of mathjax/es5 kept next to tex-mml-chtml.js (the whole es5/ is 24 MB).
MATHJAX_KEEP = [
    "tex-mml-chtml.js",
    "input",  # TeX extensions loaded by autoload / \require
    "output/chtml",  # CHTML fonts (woff-v2)
    "ui",  # the context menu and its lazy/safe helpers
    "a11y",  # accessibility components the menu can switch on
    "sre",  # speech rule engine the a11y explorer loads
]

#: File name endings of the font files embed-amd.js references.
FONT_SUFFIXES = (".woff2", ".woff", ".eot", ".ttf", ".svg")


class AssetError(RuntimeError):
    """Raised when the vendored assets cannot be produced."""


def vegalite_version() -> str:
    """The ``vl_version`` for vl_convert matching altair's Vega-Lite, e.g. ``"6.4"``."""
    import altair as alt
    import vl_convert as vlc

    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    wanted = f"{major}.{minor}"
    available = vlc.get_vegalite_versions()
    if wanted not in available:
        raise AssetError(
            f"vl-convert-python {vlc.__version__} has no Vega-Lite {wanted} "
            f"(altair {alt.__version__} needs it); available: {', '.join(available)}. "
            "Upgrade vl-convert-python."
        )
    return wanted


def write_vega_bundle(dest: Path) -> Path:
    """Write ``vega-bundle.js`` (vega + vega-lite + vega-embed, IIFE-wrapped)."""
    import vl_convert as vlc

    out = dest / "vega-bundle.js"
    if out.exists():
        return out
    bundle = vlc.javascript_bundle(vl_version=vegalite_version())
    out.write_text("(function(){\n" + bundle + "\n})();\n", encoding="utf-8")
    return out


def npm_pack(name: str, version: str, workdir: Path) -> Path:
    """``npm pack name@version`` into *workdir*, untar, return the ``package/`` dir."""
    if shutil.which("npm") is None:
        raise AssetError("npm is not installed; install Node.js/npm (apt-get install -y npm).")
    spec = f"{name}@{version}"
    try:
        proc = subprocess.run(
            ["npm", "pack", spec, "--loglevel=error"],
            check=False,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssetError(f"npm pack {spec} timed out: is the npm registry reachable?") from exc
    if proc.returncode != 0:
        raise AssetError(
            f"npm pack {spec} failed (exit {proc.returncode}); is the npm registry "
            f"reachable from this machine?\n{proc.stderr.strip()}"
        )
    tgz = workdir / proc.stdout.strip().splitlines()[-1]
    target = workdir / re.sub(r"[^A-Za-z0-9.]+", "-", spec)
    with tarfile.open(tgz) as tar:
        tar.extractall(target, filter="data")
    return target / "package"


def write_requirejs(dest: Path, workdir: Path) -> Path:
    out = dest / "require.js"
    if not out.exists():
        pkg = npm_pack("requirejs", NPM_PINS["requirejs"], workdir)
        shutil.copyfile(pkg / "require.js", out)
    return out


def write_html_manager(dest: Path, workdir: Path) -> Path:
    out = dest / "html-manager"
    if (out / "embed-amd.js").exists():
        return out
    name = "@jupyter-widgets/html-manager"
    dist = npm_pack(name, NPM_PINS[name], workdir) / "dist"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dist / "embed-amd.js", out / "embed-amd.js")
    for f in dist.iterdir():
        if f.name.endswith(FONT_SUFFIXES):
            shutil.copyfile(f, out / f.name)
    return out


def write_mathjax(dest: Path, workdir: Path) -> Path:
    out = dest / "mathjax"
    if (out / "tex-mml-chtml.js").exists():
        return out
    es5 = npm_pack("mathjax", NPM_PINS["mathjax"], workdir) / "es5"
    for rel in MATHJAX_KEEP:
        src, dst = es5 / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.map"))
        else:
            shutil.copyfile(src, dst)
    return out


def write_assets(dest: str | Path) -> list[Path]:
    """Write every vendored asset into *dest* (created if missing); skip what exists."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    favicon = dest / "favicon.svg"
    if not favicon.exists():
        favicon.write_text(FAVICON_SVG, encoding="utf-8")
    written = [favicon, write_vega_bundle(dest)]
    with tempfile.TemporaryDirectory(prefix="daxsim-npm-") as tmp:
        work = Path(tmp)
        written.append(write_requirejs(dest, work))
        written.append(write_html_manager(dest, work))
        written.append(write_mathjax(dest, work))
    return written


# ------------------------------------------------------------------ Voila template

#: ``voila --template=daxsim``: Voila's lab template with Font Awesome served by Voila
#: itself (its lab template links the CSS from cdn.jsdelivr.net).
VOILA_INDEX = """{#- daxsim: Voila's lab template, Font Awesome served locally, not from a CDN. -#}
{%- extends 'voila/templates/lab/index.html.j2' -%}
{% import "spinner.macro.html.j2" as spinner %}

{%- block notebook_css -%}
  {% if frontend == "voila" %}
    {{ resources.include_js("static/voila-style.js") }}
  {% endif %}
  {{ spinner.css() }}
  <style>
    .jp-mod-noOutputs.jp-mod-noInput { display: none; }
  </style>
{% if resources.show_margins %}
  <style>
    body { background: var(--jp-layout-color1); }
    #rendered_cells {
      padding-left: calc(calc(100% - 1200px) * 0.5);
      padding-right: calc( calc( 100% - 1200px - 20px ) * 0.5 );
    }
    #rendered_cells > div {
      background: var(--jp-layout-color0);
      padding: 6ex 12ex 8ex 12ex;
      border-radius: var(--jp-border-radius);
      box-shadow: var(--jp-elevation-z4);
    }
  </style>
{% endif %}
  <link rel="stylesheet" href="{{ resources.base_url }}voila/templates/daxsim/static/fontawesome/css/all.min.css" type="text/css" />
  <link rel="stylesheet" href="{{ resources.base_url }}voila/templates/daxsim/static/fontawesome/css/v4-shims.min.css" type="text/css" />
  {{ super.super() }}
{%- endblock notebook_css -%}
"""


def write_voila_template(dest: str | Path) -> Path:
    """Write the ``daxsim`` Voila template into *dest* (``.../voila/templates/daxsim``)."""
    dest = Path(dest)
    if (dest / "index.html.j2").exists():
        return dest
    name = "@fortawesome/fontawesome-free"
    with tempfile.TemporaryDirectory(prefix="daxsim-npm-") as tmp:
        pkg = npm_pack(name, NPM_PINS[name], Path(tmp))
        fa = dest / "static" / "fontawesome"
        (fa / "css").mkdir(parents=True, exist_ok=True)
        for css in ("all.min.css", "v4-shims.min.css"):
            shutil.copyfile(pkg / "css" / css, fa / "css" / css)
        shutil.copytree(pkg / "webfonts", fa / "webfonts", dirs_exist_ok=True)
    _write_voila_pages(dest)
    (dest / "conf.json").write_text('{"base_template": "lab"}\n', encoding="utf-8")
    (dest / "index.html.j2").write_text(VOILA_INDEX, encoding="utf-8")
    return dest


def _write_voila_pages(dest: Path) -> None:
    """``page.html`` (the frame of Voila's folder listing) without its CDN link.

    Voila's ``base/page.html`` links Font Awesome 4 from jsdelivr outside any block, so
    it is copied with local links (Font Awesome 5 + its v4 shims draw the same icons),
    and ``lab/page.html`` is copied to extend that copy.
    """
    from jupyter_core.paths import jupyter_path

    roots = [Path(p) for p in jupyter_path("voila", "templates")]
    base = next((r / "base" / "page.html" for r in roots if (r / "base" / "page.html").exists()), None)
    lab = next((r / "lab" / "page.html" for r in roots if (r / "lab" / "page.html").exists()), None)
    if base is None or lab is None:
        raise AssetError(f"Voila's base/page.html and lab/page.html not found under {roots}")
    local = (
        '<link rel="stylesheet" href="{{ base_url }}voila/templates/daxsim/static/'
        'fontawesome/css/%s" type="text/css" />'
    )
    links = "\n    ".join(local % css for css in ("all.min.css", "v4-shims.min.css"))
    base_text, n = re.subn(
        r'<link[^>]*href="https?://[^"]*font-?awesome[^"]*"[^>]*>', links, base.read_text(encoding="utf-8")
    )
    lab_text, m = re.subn(
        r"extends\s+'voila/templates/base/page.html'", "extends 'base-page.html'", lab.read_text(encoding="utf-8")
    )
    if n != 1 or m != 1:
        raise AssetError(f"unexpected Voila page templates ({base}, {lab}): update bookassets")
    (dest / "base-page.html").write_text(base_text, encoding="utf-8")
    (dest / "page.html").write_text(lab_text, encoding="utf-8")


# ------------------------------------------------------------- Sphinx extension


#: Runs first on every page (inline, in <head>).
PAGE_JS = """(function () {
  // html-manager typesets widget labels with the MathJax 2 call MathJax.Hub.Queue;
  // the book loads MathJax 3, so map that call onto MathJax.typesetPromise.
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {Queue: function (job) {
      var el = Array.isArray(job) ? job[2] : undefined;
      var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
      ready.then(function () {
        if (mj.typesetPromise) return mj.typesetPromise(el ? [el] : undefined);
      }).catch(function (err) { console.warn("MathJax:", err); });
    }};
  });
})();"""

#: A small page icon, so that browsers do not ask the server for /favicon.ico.
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#2a5d8f"/>'
    '<path d="M4 4h3a4 4 0 0 1 0 8H4z" fill="#fff"/></svg>\n'
)


#: Before require.js, on pages with widgets: html-manager derives the URL of its font
#: files from the AMD module names (``@jupyter-widgets/...``), which require.js resolves
#: against the page's folder (404s); map those names to _static/html-manager.
REQUIRE_CONFIG_JS = """var require = (function () {
  var dir = new URL((document.documentElement.dataset.content_root || "") +
                    "_static/html-manager", document.baseURI).href;
  return {paths: {"@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir}};
})();"""


def _page_scripts(app, pagename, templatename, context, doctree):
    """Fix a page's <script> list: drop repeats, configure require.js.

    sphinx-thebe and sphinx-togglebutton (always loaded by Jupyter Book 1) register
    their inline scripts twice, and the second ``const THEBE_JS_URL = ...`` throws
    "Identifier 'THEBE_JS_URL' has already been declared" on every page.
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for js in scripts:
        # the same inline script is registered once as filename None, once as ""
        attrs = getattr(js, "attributes", {}) or {}
        key = (
            str(getattr(js, "filename", js) or ""),
            tuple(sorted((k, str(v)) for k, v in attrs.items())),
        )
        if key in seen:
            continue
        seen.add(key)
        if key[0].endswith("require.js"):
            unique.append(type(js)("", priority=js.priority, body=REQUIRE_CONFIG_JS))
        unique.append(js)
    context["script_files"] = unique


def setup(app):
    """Sphinx extension (``_config.yml``: ``sphinx: extra_extensions``)."""
    app.add_js_file(None, body=PAGE_JS, priority=100)
    app.connect("html-page-context", _page_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m daxsim.book.bookassets",
        description="Write the JavaScript the offline book loads (vega, require.js, "
        "ipywidgets html-manager, MathJax) into DEST.",
    )
    parser.add_argument("dest", help="folder to write into, e.g. _vendor")
    parser.add_argument(
        "--voila-template",
        action="store_true",
        help="write the `daxsim` Voila template into DEST instead (e.g. .venv/share/jupyter/voila/templates/daxsim)",
    )
    args = parser.parse_args(argv)
    try:
        if args.voila_template:
            print(f"bookassets: {write_voila_template(args.dest)}")
            return 0
        for path in write_assets(args.dest):
            print(f"bookassets: {path}")
    except AssetError as exc:
        print(f"bookassets: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
