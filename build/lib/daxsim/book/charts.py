"""Altair charts for the book, and the renderer that draws them offline.

Chapters call :func:`enable_book_renderer` once (in their imports cell), then build
"what if" charts with :func:`grid_chart` or :func:`bar_breakdown` from a tidy DataFrame
that daxsim computed at build time. Sliders and dropdowns are Vega-Lite params that
filter the inlined data in the browser, so the static book stays interactive without a
kernel.

Where the chart is drawn:

- **the book** (Jupyter Book 1): ``text/html`` — a ``<div class="daxsim-chart">`` and a
  script calling ``window.vegaEmbed``, which the page gets from the vendored
  ``_static/vega-bundle.js`` (``python -m daxsim.book.bookassets``; ``html_js_files``).
- **Voila and JupyterLab**: they have no renderer for Vega-Lite 6's mimetype and show the
  ``text/html``; there the first chart of each kernel also carries the vega bundle inline
  (about 1 MB, once), so charts draw with no network. The kernel knows it is live from
  ``VOILA_KERNEL_ID`` (set by Voila) or ``JPY_SESSION_NAME`` (set by Jupyter Server).
- anywhere else without ``window.vegaEmbed``: a one-line note, never a CDN fetch.

The ``application/vnd.vegalite.v6+json`` spec is in the bundle too, for frontends that
learn to draw Vega-Lite 6 natively.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

__all__ = [
    "MAX_ROWS",
    "RENDERER",
    "bar_breakdown",
    "enable_book_renderer",
    "grid_chart",
    "timeline_chart",
]

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
    global _bundle_cache
    if _bundle_cache is None:
        import vl_convert as vlc

        from daxsim.book.bookassets import vegalite_version

        bundle = vlc.javascript_bundle(vl_version=vegalite_version())
        # The bundle goes inside a <script> element: never let it close that element
        # ("<\/script" means the same as "</script" in JS strings and regexes).
        bundle = re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)
        _bundle_cache = "(function(){\n" + bundle + "\n})();"
    return _bundle_cache


def _script_json(obj) -> str:
    """JSON safe to place inside a <script> element."""
    return (
        json.dumps(obj)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


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


def _render(spec: dict, **metadata) -> dict:
    embed_options = dict(_EMBED_OPTIONS)
    embed_options.update(metadata.get("embed_options") or {})
    return {
        VEGALITE_MIME: spec,
        "text/html": _html(spec, embed_options),
        "text/plain": "<daxsim chart: Vega-Lite; drawn in the book, JupyterLab and Voila>",
    }


def enable_book_renderer() -> None:
    """Register and enable the ``"daxsim"`` altair renderer (idempotent).

    Each chart becomes a ``text/html`` output (div + ``vegaEmbed`` script, with the
    vega bundle inlined once per live kernel) plus the Vega-Lite 6 spec.
    """
    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
    alt.data_transformers.enable("default", max_rows=MAX_ROWS)


# ------------------------------------------------------------------------ chart helpers


def _param_name(column: str) -> str:
    """A Vega signal name for a bound column; the prefix keeps clear of Vega's own
    signals (``width``, ``height``, ``padding``, ...)."""
    return "p_" + re.sub(r"\W+", "_", column).strip("_")


def _js(value) -> str:
    """A Vega expression literal for a value from a DataFrame column."""
    return json.dumps(_py(value))


def _py(value):
    """A plain Python value (JSON-serialisable) from a numpy scalar."""
    return value.item() if isinstance(value, np.generic) else value


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"columns {missing} are not in the DataFrame; it has {list(df.columns)}"
        )


def _labels(items) -> dict[str, str]:
    """``["col", ...]`` or ``{"col": "label", ...}`` -> ``{"col": "label"}``."""
    if items is None:
        return {}
    if isinstance(items, str):
        return {items: items}
    if isinstance(items, Mapping):
        return dict(items)
    return {c: c for c in items}


def _evenly_spaced(values: np.ndarray) -> float | None:
    """The step if *values* (sorted, numeric, >= 2) are evenly spaced, else None."""
    steps = np.diff(values.astype(float))
    if len(steps) and np.allclose(steps, steps[0], rtol=1e-9, atol=0) and steps[0] > 0:
        return float(steps[0])
    return None


def _bind(
    df: pd.DataFrame,
    sliders: Mapping[str, str],
    dropdowns: Mapping[str, str],
    defaults: Mapping[str, object],
):
    """Params, filter expressions and title fragments for the bound columns.

    A slider over evenly spaced numbers steps through them directly; over uneven ones
    (powers of two, say) it steps through their positions, and its readout (set by the
    renderer's script from ``usermeta``) and the chart title show the value picked.
    """
    params, filters, shown, readouts = [], [], [], {}
    data = df
    for col, label in sliders.items():
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise ValueError(f"slider column {col!r} must be numeric; use dropdowns for it")
        values = np.sort(df[col].dropna().unique())
        if len(values) < 2:
            raise ValueError(f"slider column {col!r} needs at least 2 distinct values")
        name = _param_name(col)
        default = defaults.get(col, values[0])
        step = _evenly_spaced(values)
        if step is not None:
            # integer-valued columns compare exactly; float ones within half a step
            params.append(
                alt.param(
                    name=name,
                    value=_py(default),
                    bind=alt.binding_range(
                        min=_py(values[0]), max=_py(values[-1]), step=step, name=label + " "
                    ),
                )
            )
            filters.append(f"abs(datum[{_js(col)}] - {name}) < {step / 2!r}")
            shown.append(f"'{label} = ' + format({name}, ',')")
        else:
            idx_col = f"{col} (position)"
            lookup = {_py(v): i for i, v in enumerate(values)}
            data = data.assign(**{idx_col: data[col].map(lookup)})
            position = lookup.get(_py(default), 0)
            params.append(
                alt.param(
                    name=name,
                    value=position,
                    bind=alt.binding_range(min=0, max=len(values) - 1, step=1, name=label + " "),
                )
            )
            readouts[name] = [_readout(v) for v in values]
            filters.append(f"datum[{_js(idx_col)}] == {name}")
            names = "[" + ", ".join(_js(v) for v in values) + "]"
            shown.append(f"'{label} = ' + format({names}[{name}], ',')")
    for col, label in dropdowns.items():
        values = sorted(df[col].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
        name = _param_name(col)
        default = defaults.get(col, values[0])
        params.append(
            alt.param(
                name=name,
                value=_py(default),
                bind=alt.binding_select(
                    options=[_py(v) for v in values], name=label + " "
                ),
            )
        )
        filters.append(f"datum[{_js(col)}] == {name}")
        shown.append(f"'{label}: ' + {name}")
    return data, params, filters, shown, readouts


def _readout(value) -> str:
    value = _py(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.6g}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def _finish(chart, title: str, params, filters, shown, readouts, width, height):
    if shown:
        expr = _js(title + " — ") + " + " + " + ', ' + ".join(shown)
        chart = chart.properties(title=alt.TitleParams(text=alt.expr(expr), anchor="start"))
    else:
        chart = chart.properties(title=alt.TitleParams(text=title, anchor="start"))
    if params:
        chart = chart.add_params(*params)
    for f in filters:
        chart = chart.transform_filter(f)
    if readouts:
        chart = chart.properties(usermeta={"daxsim": {"readouts": readouts}})
    return chart.properties(width=width, height=height)


def grid_chart(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    sliders: Sequence[str] | Mapping[str, str] | None = None,
    dropdowns: Sequence[str] | Mapping[str, str] | None = None,
    *,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    color_title: str | None = None,
    tooltip: Sequence[str] | None = None,
    defaults: Mapping[str, object] | None = None,
    mark: str = "line",
    x_scale: str = "linear",
    y_scale: str = "linear",
    fixed_y: bool = True,
    width: int = 480,
    height: int = 280,
) -> alt.Chart:
    """A "what if" chart over a grid that daxsim computed at build time.

    Parameters
    ----------
    df : DataFrame
        Tidy results, one row per grid point (e.g. from ``daxsim.study.sweep``); at most
        :data:`MAX_ROWS` rows, so aggregate first.
    x, y : str
        Columns on the axes. Numeric *x* is quantitative, anything else nominal.
    color : str, optional
        Column that splits the data into coloured series (e.g. ``"option"``).
    sliders : list of str, or dict column -> label
        Numeric columns bound to a slider that steps through their distinct values.
    dropdowns : list of str, or dict column -> label
        Columns bound to a dropdown of their distinct values.
    title : str
        Chart title; the current slider/dropdown values are appended to it.
    x_title, y_title, color_title : str, optional
        Axis and legend titles, **with units** (e.g. ``"memmap in DRAM (GiB)"``).
    tooltip : list of str, optional
        Columns in the tooltip; default *x*, *y*, *color* and the bound columns.
    defaults : dict, optional
        Initial value per bound column (default: the smallest / first value).
    mark : {"line", "point", "bar"}
    x_scale, y_scale : {"linear", "log", "symlog"}
    fixed_y : bool
        Keep the y domain of the whole grid, so moving a slider moves the marks
        instead of rescaling the axis.
    width, height : int
        Size in pixels.

    Returns
    -------
    altair.Chart
    """
    sliders, dropdowns = _labels(sliders), _labels(dropdowns)
    color_cols = [color] if color else []
    _check_columns(df, [x, y, *color_cols, *sliders, *dropdowns, *(tooltip or [])])
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"df has {len(df)} rows; charts inline their data, keep it <= {MAX_ROWS} "
            "(aggregate or coarsen the grid)"
        )
    if mark not in ("line", "point", "bar"):
        raise ValueError(f"mark must be 'line', 'point' or 'bar', got {mark!r}")
    keep = list(dict.fromkeys([x, y, *color_cols, *sliders, *dropdowns, *(tooltip or [])]))
    data, params, filters, shown, readouts = _bind(df[keep], sliders, dropdowns, defaults or {})

    x_type = "quantitative" if pd.api.types.is_numeric_dtype(df[x]) and mark != "bar" else "nominal"
    y_domain = None
    if fixed_y:
        lo, hi = float(df[y].min()), float(df[y].max())
        if y_scale == "log":
            y_domain = [lo, hi] if lo > 0 else None
        else:
            y_domain = [min(lo, 0.0), hi if hi > min(lo, 0.0) else min(lo, 0.0) + 1]
    y_scale_kw = {"type": y_scale}
    if y_domain is not None:
        y_scale_kw["domain"] = y_domain

    enc = {
        "x": alt.X(
            x, type=x_type, title=x_title or x,
            scale=alt.Scale(type=x_scale) if x_type == "quantitative" else alt.Undefined,
            axis=alt.Axis(labelAngle=0) if x_type == "nominal" else alt.Undefined,
        ),
        "y": alt.Y(y, type="quantitative", title=y_title or y, scale=alt.Scale(**y_scale_kw)),
        "tooltip": [
            alt.Tooltip(c, title=t)
            for c, t in _tooltip_titles(
                tooltip or [x, y, *color_cols, *sliders, *dropdowns],
                {x: x_title, y: y_title, color: color_title, **sliders, **dropdowns},
            )
        ],
    }
    if color:
        # legend under the chart: a book's text column is narrow, series names are long
        enc["color"] = alt.Color(
            color, type="nominal", title=color_title or color,
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=480),
        )
    base = alt.Chart(data)
    if mark == "line":
        base = base.mark_line(point=True)
    elif mark == "point":
        base = base.mark_point(filled=True)
    else:
        base = base.mark_bar()
        if color:
            enc["xOffset"] = alt.XOffset(color, type="nominal")
    return _finish(base.encode(**enc), title, params, filters, shown, readouts, width, height)


def bar_breakdown(
    df: pd.DataFrame,
    category: str,
    component: str,
    value: str,
    sliders: Sequence[str] | Mapping[str, str] | None = None,
    dropdowns: Sequence[str] | Mapping[str, str] | None = None,
    *,
    title: str,
    value_title: str | None = None,
    category_title: str | None = None,
    component_title: str | None = None,
    component_order: Sequence[str] | None = None,
    defaults: Mapping[str, object] | None = None,
    width: int = 480,
    height: int | None = None,
) -> alt.Chart:
    """Stacked horizontal bars: where the time of one I/O goes, per option.

    Parameters
    ----------
    df : DataFrame
        Tidy rows ``(category, component, value, bound columns...)``, e.g. option,
        step of the I/O path (``"GUP"``, ``"descriptor"``, ``"DMA"``, ``"copy"``, ...),
        modelled nanoseconds.
    category : str
        One bar per distinct value (e.g. ``"option"``).
    component : str
        The stacked segments (e.g. ``"step"``), in *component_order* if given.
    value : str
        Segment length; *value_title* should carry the unit (``"time per I/O (ns)"``).
    sliders, dropdowns, defaults :
        As in :func:`grid_chart`.
    """
    sliders, dropdowns = _labels(sliders), _labels(dropdowns)
    _check_columns(df, [category, component, value, *sliders, *dropdowns])
    if len(df) > MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {MAX_ROWS}")
    keep = list(dict.fromkeys([category, component, value, *sliders, *dropdowns]))
    data, params, filters, shown, readouts = _bind(df[keep], sliders, dropdowns, defaults or {})
    order = list(component_order) if component_order else sorted(df[component].unique())
    data = data.assign(**{f"{component} (order)": data[component].map({c: i for i, c in enumerate(order)})})
    n_categories = df[category].nunique()
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(category, type="nominal", title=category_title or category),
            x=alt.X(value, type="quantitative", aggregate="sum", title=value_title or value),
            color=alt.Color(
                component, type="nominal", title=component_title or component,
                scale=alt.Scale(domain=order),
                legend=alt.Legend(orient="bottom", columns=4),
            ),
            order=alt.Order(f"{component} (order)", type="quantitative"),
            tooltip=[
                alt.Tooltip(category, title=category_title or category),
                alt.Tooltip(component, title=component_title or component),
                alt.Tooltip(value, title=value_title or value, format=",.4~g"),
            ],
        )
    )
    return _finish(
        chart, title, params, filters, shown, readouts, width,
        height or max(120, 28 * n_categories),
    )


def _tooltip_titles(columns, titles):
    for c in dict.fromkeys(columns):
        yield c, titles.get(c) or c


def timeline_chart(
    df: pd.DataFrame,
    when: str,
    lane: str,
    color: str | None = None,
    *,
    title: str,
    highlight: str | None = None,
    upto: str | None = None,
    lane_order: Sequence[str] | None = None,
    lane_title: str | None = None,
    color_title: str | None = None,
    upto_title: str | None = None,
    tooltip: Sequence[str] | Mapping[str, str] | None = None,
    width: int = 460,
    height: int | None = None,
) -> alt.Chart:
    """Events as points along time, one row (lane) per category, offline-interactive.

    Parameters
    ----------
    df : DataFrame
        One row per event; at most :data:`MAX_ROWS` rows.
    when : str
        Column of ISO dates (``"2015-08-27"``): the x axis, fixed to whole years.
    lane : str
        Column whose values are the rows of the timeline, in *lane_order* if given.
    color : str, optional
        Column coloured by (e.g. the kind of event).
    highlight : str, optional
        Column bound to a dropdown of ``"all"`` and its values: rows with the picked
        value are drawn solid, the others faint.
    upto : str, optional
        Numeric column (e.g. ``"year"``) bound to a slider: only rows whose value is at
        most the slider's are drawn. The slider starts at the largest value.
    tooltip : list of str, or dict column -> title, optional
        Columns in the tooltip (default: *when*, *lane*, *color*).
    """
    tips = _labels(tooltip) or {c: c for c in (when, lane, color) if c}
    _check_columns(df, [c for c in (when, lane, color, highlight, upto) if c] + list(tips))
    if len(df) > MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {MAX_ROWS}")
    dates = pd.to_datetime(df[when], format="ISO8601", errors="coerce")
    if dates.isna().any():
        bad = df[when][dates.isna()].iloc[0]
        raise ValueError(f"when: column {when!r} holds {bad!r}, not an ISO date (YYYY-MM-DD)")
    lanes = list(lane_order) if lane_order else sorted(df[lane].unique().tolist())
    missing = sorted(set(df[lane]) - set(lanes))
    if missing:
        raise ValueError(f"lane_order: {missing} are in column {lane!r} but not in lane_order {lanes}")
    keep = list(dict.fromkeys([c for c in (when, lane, color, highlight, upto) if c] + list(tips)))
    first, last = dates.min().year, dates.max().year
    enc = {
        "x": alt.X(when, type="temporal", title=None,
                   scale=alt.Scale(domain=[alt.DateTime(year=first, month=1, date=1),
                                           alt.DateTime(year=last, month=12, date=31)]),
                   axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 1}, labelAngle=0,
                                 labelFontSize=9, labelOverlap="greedy")),
        "y": alt.Y(lane, type="nominal", title=lane_title or lane, sort=lanes, scale=alt.Scale(domain=lanes)),
        "tooltip": [alt.Tooltip(c, title=t) for c, t in tips.items()],
    }
    if color:
        enc["color"] = alt.Color(color, type="nominal", title=color_title or color,
                                 legend=alt.Legend(orient="bottom", direction="horizontal"))
    params, filters, shown = [], [], []
    if upto:
        if not pd.api.types.is_numeric_dtype(df[upto]):
            raise ValueError(f"upto: column {upto!r} must be numeric")
        lo, hi = _py(df[upto].min()), _py(df[upto].max())
        if lo == hi:
            raise ValueError(f"upto: column {upto!r} needs at least 2 distinct values")
        name = _param_name(upto)
        params.append(alt.param(name=name, value=hi, bind=alt.binding_range(
            min=lo, max=hi, step=1, name=(upto_title or upto) + " ")))
        filters.append(f"datum[{_js(upto)}] <= {name}")
        shown.append(f"'up to ' + {name}")
    if highlight:
        name = _param_name(highlight)
        values = sorted(df[highlight].dropna().unique().tolist(), key=str)
        if highlight == lane:
            values = [v for v in lanes if v in values]
        params.append(alt.param(name=name, value="all", bind=alt.binding_select(
            options=["all", *[_py(v) for v in values]],
            name=((lane_title or lane) if highlight == lane else highlight) + " ")))
        enc["opacity"] = alt.condition(f"{name} == 'all' || datum[{_js(highlight)}] == {name}",
                                       alt.value(1.0), alt.value(0.12))
        shown.append(f"'highlight: ' + {name}")
    # events on the same day of the same lane sit side by side, not on top of each other
    # (with an offset the lanes become bands, and the offset is measured from a band's top)
    height = height or max(160, 34 * len(lanes))
    band = height / len(lanes)
    group = df.groupby([lane, when])
    spread = group.cumcount() - (group[lane].transform("size") - 1) / 2
    data = df[keep].assign(**{"(same day)": spread})
    enc["yOffset"] = alt.YOffset("(same day)", type="quantitative",
                                 scale=alt.Scale(domain=[-2, 2], range=[0.1 * band, 0.9 * band]))
    chart = alt.Chart(data).mark_point(filled=True, size=110).encode(**enc)
    return _finish(chart, title, params, filters, shown, {}, width, height)

