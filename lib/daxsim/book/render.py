"""The altair renderer that draws the book's charts offline, in the book and live.

Chapters call :func:`enable_book_renderer` once (in their imports cell). Where a chart is
drawn:

- **the book** (Jupyter Book 1): ``text/html`` — a ``<div class="daxsim-chart">`` and a
  script calling ``window.vegaEmbed``, which the page gets from the vendored
  ``_static/vega-bundle.js`` (``python -m daxsim.book.bookassets``; ``html_js_files``).
- **Voila and JupyterLab**: they have no renderer for Vega-Lite 6's mimetype and show the
  ``text/html``; there the first chart of each kernel also carries the vega bundle inline
  (about 1 MB, once), so charts draw with no network. The kernel knows it is live from
  ``VOILA_KERNEL_ID`` (set by Voila) or ``JPY_SESSION_NAME`` (set by Jupyter Server).
- anywhere else without ``window.vegaEmbed``: a one-line note, never a CDN fetch.

Every spec gets the theme's ``config`` (fonts, greys: :func:`daxsim.book.theme.config`)
unless it has its own. The ``application/vnd.vegalite.v6+json`` spec is in the bundle
too, for frontends that learn to draw Vega-Lite 6 natively.
"""

from __future__ import annotations

import json
import os
import re
import uuid

import altair as alt

from daxsim.book import in_live_app, theme

__all__ = ["MAX_ROWS", "RENDERER", "VEGALITE_MIME", "enable_book_renderer", "themed"]

#: Name of the altair renderer registered by :func:`enable_book_renderer`.
RENDERER = "daxsim"
#: Chart data is inlined into the page: keep it small (altair's own default limit).
MAX_ROWS = 5000
#: The Vega-Lite mimetype of altair's major version (v6 with altair 6).
VEGALITE_MIME = f"application/vnd.vegalite.{alt.SCHEMA_VERSION.split('.')[0]}+json"

_EMBED_OPTIONS = {"actions": False, "renderer": "svg"}
_bundle_sent = False  # the live bundle goes out once per kernel
_bundle_cache: str | None = None


# --------------------------------------------------------------------------- renderer


def _live_frontend() -> bool:
    """True inside a Voila or Jupyter Server kernel (not a book build, not nbval)."""
    return bool(os.environ.get("VOILA_KERNEL_ID") or os.environ.get("JPY_SESSION_NAME"))


def _vega_bundle_js() -> str:
    """The vega bundle a live kernel's first chart carries, as a script's text. vl_convert
    builds it in about 2 s, in the live page's first view: it is read from the cache of
    :mod:`daxsim.book.precompute`, which builds it ahead."""
    global _bundle_cache
    if _bundle_cache is None:
        import vl_convert as vlc

        from daxsim.book.bookassets import vegalite_version
        from daxsim.book.precompute import cached

        version = vegalite_version()

        def build():
            bundle = vlc.javascript_bundle(vl_version=version)
            # The bundle goes inside a <script> element: never let it close that element
            # ("<\/script" means the same as "</script" in JS strings and regexes).
            bundle = re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)
            return "(function(){\n" + bundle + "\n})();"

        _bundle_cache = cached("vega_bundle", {"vega_lite": version, "vl_convert": vlc.__version__}, build)
    return _bundle_cache


def _script_json(obj) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _html(spec: dict, embed_options: dict) -> str:
    global _bundle_sent
    div_id = f"vega-{uuid.uuid4().hex}"
    bundle = ""
    if _live_frontend() and not _bundle_sent:
        bundle = f"<script>{_vega_bundle_js()}</script>\n"
        _bundle_sent = True
    note = (
        "Chart not drawn: this page has no Vega library (window.vegaEmbed). "
        "Open the built book or run the notebook in JupyterLab or Voila."
    )
    return (
        f'<div id="{div_id}" class="daxsim-chart"></div>\n'
        f"{bundle}"
        "<script>(function(){\n"
        f'  var el = document.getElementById("{div_id}");\n'
        f"  var spec = {_script_json(spec)};\n"
        f"  var opt = {_script_json(embed_options)};\n"
        "  if (typeof window.vegaEmbed !== 'function') {\n"
        f"    el.textContent = {json.dumps(note)};\n"
        "    return;\n"
        "  }\n"
        "  window.vegaEmbed(el, spec, opt).then(function (res) {\n"
        "    // sliders that step through positions: show the value, not the position\n"
        "    var um = spec.usermeta && spec.usermeta.daxsim;\n"
        "    var readouts = (um && um.readouts) || {};\n"
        "    Object.keys(readouts).forEach(function (name) {\n"
        "      var input = el.querySelector('input[name=\"' + name + '\"]');\n"
        "      var out = input && input.nextElementSibling;\n"
        "      if (!out) return;\n"
        "      var show = function (v) { out.textContent = readouts[name][v]; };\n"
        "      show(res.view.signal(name));\n"
        "      res.view.addSignalListener(name, function (n, v) { show(v); });\n"
        "    });\n"
        "  }).catch(function (err) {\n"
        "    el.textContent = 'Chart error: ' + err;\n"
        "    console.error(err);\n"
        "  });\n"
        "})();</script>"
    )


def themed(spec: dict) -> dict:
    """*spec* with the theme's config merged under its own (the spec's settings win)."""
    config = theme.config()
    for k, v in (spec.get("config") or {}).items():
        config[k] = {**config.get(k, {}), **v} if isinstance(v, dict) and isinstance(config.get(k), dict) else v
    return {**spec, "config": config}


def _render(spec: dict, **metadata) -> dict:
    spec = themed(spec)
    embed_options = dict(_EMBED_OPTIONS)
    embed_options.update(metadata.get("embed_options") or {})
    bundle = {
        "text/html": _html(spec, embed_options),
        "text/plain": "<daxsim chart: Vega-Lite; drawn in the book, JupyterLab and Voila>",
    }
    if not in_live_app():  # Voila draws the text/html: the spec again would only weigh
        bundle[VEGALITE_MIME] = spec
    return bundle


def enable_book_renderer() -> None:
    """Register and enable the ``"daxsim"`` altair renderer (idempotent).

    Each chart becomes a ``text/html`` output (div + ``vegaEmbed`` script, with the
    vega bundle inlined once per live kernel) plus the Vega-Lite 6 spec.
    """
    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
    alt.data_transformers.enable("default", max_rows=MAX_ROWS)
