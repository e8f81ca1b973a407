"""Chart helpers: "what if" charts over grids that daxsim computed at build time.

Sliders and dropdowns are Vega-Lite params that pick one selection of the inlined rows in
the browser (:class:`daxsim.book.controls.Binding`), so the static book stays interactive
without a kernel. Every chart here follows the book's visual language:

- colours from :mod:`daxsim.book.theme` (one per entity, the same on every chart),
  legends and dropdowns in its numeric order;
- titles and axis titles wrapped to the chart's width, never cut;
- axes whose domain follows the selection, computed per selection at build time, with
  tick marks at the grid's own values on log axes (no "1,0002,000");
- direct labels at the end of each line, moved apart where lines meet, instead of a
  legend; ``relative_to`` draws each series against a baseline where absolute values
  coincide.

The renderer (:func:`enable_book_renderer`) lives in :mod:`daxsim.book.render`.
"""

from __future__ import annotations

import re
import textwrap

import altair as alt
import numpy as np
import pandas as pd

from daxsim.book import theme
from daxsim.book.controls import KEY, Binding, check_columns, dodge, from_pixels, labels, padded_domain, to_pixels
from daxsim.book.render import MAX_ROWS, RENDERER, VEGALITE_MIME, enable_book_renderer

__all__ = [
    "MAX_ROWS",
    "RENDERER",
    "VEGALITE_MIME",
    "axis_title",
    "bar_breakdown",
    "chart_title",
    "dot_chart",
    "enable_book_renderer",
    "grid_chart",
    "timeline_chart",
    "wrap",
]

#: average width of a character of the chart font at 11-12 px, for wrapping and room
CHAR_PX = 6.4


def wrap(text: str | None, px: float, char_px: float = CHAR_PX) -> list[str] | str | None:
    """*text* as lines that fit *px* pixels (a list when it needs more than one)."""
    if text is None:
        return None
    lines = textwrap.wrap(str(text), max(12, int(px / char_px)), break_on_hyphens=False) or [str(text)]
    return lines if len(lines) > 1 else lines[0]


def chart_title(text: str, width: float) -> alt.TitleParams:
    """A chart title wrapped to *width*, left-aligned, in the theme's style."""
    return alt.TitleParams(text=wrap(text, width, 7.6), anchor="start")


def axis_title(text: str | None, length: float):
    """An axis title wrapped to the axis' *length* (Vega would cut it with an ellipsis)."""
    return wrap(text, length)


def _domain_expr(name: str) -> list[dict]:
    return [{"expr": f"{name}[0]"}, {"expr": f"{name}[1]"}]


def _ticks(values, scale: str):
    """Tick values for a quantitative axis: the grid's own values on a log axis (up to
    12), else Vega's choice."""
    v = sorted({float(x) for x in values if x is not None and np.isfinite(x)})
    if scale == "log" and 1 < len(v) <= 12:
        return v
    return alt.Undefined


def _number_format(values) -> str:
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    if v and all(abs(x - round(x)) < 1e-9 for x in v):
        return ",.0f"
    return ",.4~r"


def _per_key_domains(data, col, scale, zero, pad=0.06, single=False):
    if single:
        d = padded_domain(data[col].tolist(), scale, zero, pad)
        return {k: d for k in data[KEY].unique()}
    return {k: padded_domain(g[col].tolist(), scale, zero, pad) for k, g in data.groupby(KEY, sort=False)}


def _relative(data, x, y, color, base, how, key_cols):
    """y of each series against the *base* series at the same x and selection."""
    if base not in set(data[color]):
        raise ValueError(f"relative_to: {base!r} is not a value of column {color!r}")
    ref = data[data[color] == base].set_index([KEY, x])[y]
    ref = ref[~ref.index.duplicated()]
    idx = pd.MultiIndex.from_arrays([data[KEY], data[x]])
    b = ref.reindex(idx).to_numpy()
    out = data[y].to_numpy() / b if how == "ratio" else data[y].to_numpy() - b
    return data.assign(**{y: out})


def _end_labels(data, x, y, color, ydom, y_scale, height, text_of=theme.short):
    """One label per series and selection, at the series' last point, moved apart.

    Series that coincide (the same y at every x of the selection) share one label that
    names them all, drawn in ink, so four lines lying on each other read as one line
    with four names rather than as one hidden line."""
    rows = []
    finite = data[np.isfinite(data[y].astype(float))]
    for k, g in finite.groupby(KEY, sort=False):
        groups: dict[tuple, list] = {}
        for name, s in g.sort_values(x).groupby(color, sort=False):
            sig = tuple(np.round(s[y].astype(float).to_numpy(), 9)) + tuple(s[x])
            groups.setdefault(sig, []).append((name, s.iloc[-1]))
        ends = [(names, [n for n, _ in names][0]) for names in groups.values()]
        if not ends:
            continue
        last = [members[0][1] for members, _ in ends]
        px = to_pixels([float(r[y]) for r in last], ydom[k], y_scale, height)
        placed = dodge(px, gap=12.5, lo=4, hi=height - 4)
        ly = from_pixels(placed, ydom[k], y_scale, height)
        for (members, first), r, yy in zip(ends, last, ly):
            names = theme.order([n for n, _ in members])
            text = _merged([text_of(n) for n in names])
            rows.append(
                {
                    KEY: k,
                    x: r[x],
                    "_ly": float(yy),
                    color: first,
                    "_lt": text,
                    "_lc": theme.color(first) if len(names) == 1 else theme.INK,
                }
            )
    return pd.DataFrame(rows)


def _fold(text: str, limit: int = 32) -> str:
    """A long end label on two lines or more, broken after its separators."""
    if len(text) <= limit:
        return text
    parts = re.split(r"(?<=/ )|(?<=; )" if "; " in text else r"(?<=/ )|(?<=, )", text)
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur) + len(p) > limit:
            lines.append(cur.rstrip())
            cur = ""
        cur += p
    lines.append(cur.rstrip())
    return "\n".join(lines)


def _merged(names: list[str]) -> str:
    """One label for series that coincide: ``"1a, 2"``, or with a shared start written
    once, ``"1b, pool 4,096 / 16,384"``; names that hold commas are joined by "; "."""
    if len(names) == 1:
        return names[0]
    first = names[0]
    cut = max(i for i in range(len(first) + 1) if all(n.startswith(first[:i]) for n in names))
    cut = first.rfind(" ", 0, cut + 1) + 1  # at a word boundary
    if cut > 2:
        return first[:cut] + " / ".join(n[cut:] for n in names)
    return ("; " if any(", " in n for n in names) else ", ").join(names)


def grid_chart(
    df: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    sliders=None,
    dropdowns=None,
    *,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    color_title: str | None = None,
    tooltip=None,
    defaults=None,
    mark: str = "line",
    x_scale: str = "linear",
    y_scale: str = "linear",
    fixed_y: bool = False,
    width: int = 640,
    height: int = 280,
    direct_labels: bool | None = None,
    relative_to: str | None = None,
    relative: str = "ratio",
    shape: str | None = None,
    shape_title: str | None = None,
    zero: bool = True,
) -> alt.LayerChart | alt.Chart:
    """A "what if" chart over a grid that daxsim computed at build time.

    Parameters
    ----------
    df : DataFrame
        Tidy results, one row per grid point (e.g. from ``daxsim.study.sweep``); at most
        :data:`MAX_ROWS` rows, so aggregate first.
    x, y : str
        Columns on the axes. Numeric *x* is quantitative, anything else nominal.
    color : str, optional
        Column that splits the data into series, coloured by the theme.
    sliders : list of str, or dict column -> label
        Numeric columns bound to a slider that steps through their distinct values.
    dropdowns : list of str, or dict column -> label
        Columns bound to a dropdown of their distinct values, in the theme's order.
    title, x_title, y_title, color_title : str
        Titles, **with units**; wrapped to fit.
    tooltip : list of str, optional
        Columns in the tooltip; default *x*, *y*, *color* and the bound columns.
    defaults : dict, optional
        Initial value per bound column (default: the smallest / first value).
    mark : {"line", "point", "bar"}
    x_scale, y_scale : {"linear", "log", "symlog"}
    fixed_y : bool
        One y domain for the whole grid; by default the domain follows the selection.
    width, height : int
        Size of the whole chart in pixels (labels included), and of the plot.
    direct_labels : bool, optional
        Label each series at its last point instead of a legend (default: for lines and
        points with a colour column of at most 9 series).
    relative_to : str, optional
        A value of *color*: draw every series as its ratio to that one (``relative="ratio"``)
        or its difference from it (``"difference"``), at the same x and selection.
    shape, shape_title : str, optional
        A column drawn as the points' shape (e.g. feasible or not).
    zero : bool
        Start a linear y axis at zero.
    """
    sliders, dropdowns = labels(sliders), labels(dropdowns)
    color_cols = [color] if color else []
    shape_cols = [shape] if shape else []
    check_columns(df, [x, y, *color_cols, *shape_cols, *sliders, *dropdowns, *(tooltip or [])])
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"df has {len(df)} rows; charts inline their data, keep it <= {MAX_ROWS} (aggregate or coarsen the grid)"
        )
    if mark not in ("line", "point", "bar"):
        raise ValueError(f"mark must be 'line', 'point' or 'bar', got {mark!r}")
    keep = list(dict.fromkeys([x, y, *color_cols, *shape_cols, *sliders, *dropdowns, *(tooltip or [])]))
    b = Binding(df[keep], sliders, dropdowns, defaults)
    data = b.data
    if relative_to is not None:
        if not color:
            raise ValueError("relative_to needs a color column (the series to compare)")
        data = _relative(data, x, y, color, relative_to, relative, b.key_cols)
    quantitative_x = pd.api.types.is_numeric_dtype(df[x]) and mark != "bar"
    n_series = data[color].nunique() if color else 0
    if direct_labels is None:
        direct_labels = bool(color) and mark in ("line", "point") and quantitative_x and n_series <= 9
    ydom = _per_key_domains(data, y, y_scale, zero and y_scale == "linear", single=fixed_y)
    label_px, lab = 0, None
    if direct_labels and color:
        lab = _end_labels(data, x, y, color, ydom, y_scale, height)
        if len(lab):
            lab["_lt"] = [_fold(t) for t in lab["_lt"]]
            label_px = int(max(len(line) for t in lab["_lt"] for line in t.split("\n")) * CHAR_PX) + 14
    plot_w = max(200, width - 60 - label_px)
    params = [*b.params, b.lookup("dom_y", ydom)]
    y_axis = alt.Axis(
        format=_number_format(data[y]) if y_scale == "log" else alt.Undefined,
        values=_ticks(data[y], y_scale)
        if y_scale == "log" and data[y].nunique() <= 8 and np.allclose(data[y].dropna(), data[y].dropna().round())
        else alt.Undefined,
    )
    yscale = alt.Scale(type=y_scale, domain=_domain_expr("dom_y"), nice=False, zero=False)
    ytitle = axis_title(y_title or y, height)
    y_enc = alt.Y(y, type="quantitative", title=ytitle, scale=yscale, axis=y_axis)
    if quantitative_x:
        xdom = _per_key_domains(data, x, x_scale, False, pad=0.04)
        params.append(b.lookup("dom_x", xdom))
        xscale = alt.Scale(type=x_scale, domain=_domain_expr("dom_x"), nice=False, zero=False)
        xtitle = axis_title(x_title or x, plot_w)
        x_enc = alt.X(
            x,
            type="quantitative",
            title=xtitle,
            scale=xscale,
            axis=alt.Axis(values=_ticks(data[x], x_scale), format=_number_format(data[x])),
        )
    else:
        x_enc = alt.X(
            x,
            type="nominal",
            title=axis_title(x_title or x, plot_w),
            sort=theme.order(data[x]),
            axis=alt.Axis(labelAngle=0, labelLimit=0),
        )
    tips = [
        alt.Tooltip(c, title=t)
        for c, t in _tooltip_titles(
            tooltip or [x, y, *color_cols, *sliders, *dropdowns],
            {x: x_title, y: y_title, color: color_title, **sliders, **dropdowns},
        )
    ]
    enc = {"x": x_enc, "y": y_enc, "tooltip": tips}
    if color:
        legend = (
            None
            if direct_labels
            else alt.Legend(orient="bottom", direction="vertical", title=wrap(color_title or color, plot_w))
        )
        enc["color"] = alt.Color(
            color, type="nominal", title=color_title or color, scale=theme.color_scale(data[color]), legend=legend
        )
    if shape:
        dom = theme.order(data[shape])
        enc["shape"] = alt.Shape(
            shape,
            type="nominal",
            title=shape_title or shape,
            scale=alt.Scale(domain=dom, range=["circle", "cross", "triangle-up", "diamond"][: len(dom)]),
            legend=alt.Legend(orient="bottom", direction="vertical"),
        )
    base = alt.Chart(data)
    if mark == "line":
        base = base.mark_line(point=alt.OverlayMarkDef(filled=True, size=60 if shape else 36), strokeWidth=2)
    elif mark == "point":
        base = base.mark_point(filled=True, size=70, opacity=0.9)
    else:
        base = base.mark_bar()
        if color:
            enc["xOffset"] = alt.XOffset(color, type="nominal", sort=theme.order(data[color]))
    chart = base.encode(**enc).transform_filter(b.filter)
    layers = [chart]
    if lab is not None and len(lab):
        layers.append(
            alt.Chart(lab)
            .mark_text(align="left", baseline="middle", dx=8, fontSize=11, lineBreak="\n")
            .encode(
                x=alt.X(x, type="quantitative", scale=xscale, title=xtitle),
                y=alt.Y("_ly", type="quantitative", scale=yscale, title=ytitle),
                text=alt.Text("_lt"),
                color=alt.Color("_lc", type="nominal", scale=None, legend=None),
            )
            .transform_filter(b.filter)
        )
    out = alt.layer(*layers) if len(layers) > 1 else chart
    return finish(out, title, params, b, plot_w, height)


def finish(chart, text: str, params, binding: Binding | None, width, height):
    """Title, params (top level), slider readouts and size of a chart."""
    chart = chart.properties(title=chart_title(text, width + 60), width=width, height=height)
    chart.params = [p.param if isinstance(p, alt.Parameter) else p for p in params]
    if binding is not None and binding.readouts:
        chart = chart.properties(usermeta={"daxsim": {"readouts": binding.readouts}})
    return chart


def _tooltip_titles(columns, titles):
    for c in dict.fromkeys(columns):
        yield c, titles.get(c) or c


def bar_breakdown(
    df: pd.DataFrame,
    category: str,
    component: str,
    value: str,
    sliders=None,
    dropdowns=None,
    *,
    title: str,
    value_title: str | None = None,
    category_title: str | None = None,
    component_title: str | None = None,
    component_order=None,
    defaults=None,
    width: int = 640,
    height: int | None = None,
) -> alt.LayerChart:
    """Stacked horizontal bars: where the time of one I/O goes, per option.

    Each bar is labelled with its total; the x axis follows the selection. Segments keep
    the theme's colour per part and the order of *component_order* (the I/O path's).
    Parts that are zero everywhere are left out of the legend.
    """
    sliders, dropdowns = labels(sliders), labels(dropdowns)
    check_columns(df, [category, component, value, *sliders, *dropdowns])
    if len(df) > MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {MAX_ROWS}")
    keep = list(dict.fromkeys([category, component, value, *sliders, *dropdowns]))
    used = df.groupby(component)[value].apply(lambda s: (s.abs() > 0).any())
    src = df[df[component].isin(used[used].index)][keep]
    b = Binding(src, sliders, dropdowns, defaults)
    data = b.data
    order = [c for c in (component_order or theme.order(data[component])) if c in set(data[component])]
    data = data.assign(_o=data[component].map({c: i for i, c in enumerate(order)}))
    totals = data.groupby([KEY, category], sort=False)[value].sum().rename("_total").reset_index()
    totals["_lt"] = totals["_total"].map(lambda t: f"{t:,.0f}")
    xdom = {k: [0.0, float(g["_total"].max()) * 1.18 or 1.0] for k, g in totals.groupby(KEY)}
    cats = theme.order(data[category])
    height = height or max(90, 34 * len(cats))
    xscale = alt.Scale(domain=_domain_expr("dom_x"), nice=False, zero=False)
    xtitle = axis_title(value_title or value, width - 80)
    x = alt.X(value, type="quantitative", aggregate="sum", title=xtitle, scale=xscale)
    y = alt.Y(category, type="nominal", title=category_title or category, sort=cats, axis=alt.Axis(labelLimit=0))
    bars = (
        alt.Chart(data)
        .mark_bar(height={"band": 0.72})
        .encode(
            y=y,
            x=x,
            color=alt.Color(
                component,
                type="nominal",
                title=component_title or component,
                scale=alt.Scale(domain=order, range=[theme.color(c) for c in order]),
                legend=alt.Legend(orient="bottom", columns=4, title=component_title or component),
            ),
            order=alt.Order("_o", type="quantitative"),
            tooltip=[
                alt.Tooltip(category, title=category_title or category),
                alt.Tooltip(component, title=component_title or component),
                alt.Tooltip(value, title=value_title or value, format=",.4~g"),
            ],
        )
        .transform_filter(b.filter)
    )
    text = (
        alt.Chart(totals)
        .mark_text(align="left", dx=5, fontSize=11, color=theme.INK)
        .encode(
            y=y,
            x=alt.X("_total", type="quantitative", scale=xscale, title=xtitle),
            text="_lt",
        )
        .transform_filter(b.filter)
    )
    return finish(alt.layer(bars, text), title, [*b.params, b.lookup("dom_x", xdom)], b, width - 80, height)


# the event timeline and the dot chart live beside (each module stays short); re-exported
from daxsim.book.timeline import dot_chart, timeline_chart  # noqa: E402 (a cycle: timeline uses the helpers above)
