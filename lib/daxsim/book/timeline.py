"""Two charts beside :mod:`daxsim.book.charts`: events along time, and one dot per row.

- :func:`timeline_chart`: events as points along the years, a lane per option, a
  year slider and a highlight dropdown; kinds keep their theme colour whatever the
  slider shows.
- :func:`dot_chart`: one row per category (labels in full on the left), its value as a
  dot on a log or linear axis, a reference rule (say, 1 for "the same"), a dropdown
  that picks the group of rows; for ratios and single figures, where an x axis of text
  labels would collide.
"""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from daxsim.book import theme
from daxsim.book.charts import CHAR_PX, MAX_ROWS, axis_title, finish, _domain_expr, _per_key_domains
from daxsim.book.controls import KEY, Binding, check_columns, labels, param_name

__all__ = ["dot_chart", "timeline_chart"]


def timeline_chart(
    df: pd.DataFrame,
    when: str,
    lane: str,
    color: str | None = None,
    *,
    title: str,
    highlight: str | None = None,
    upto: str | None = None,
    lane_order=None,
    lane_title: str | None = None,
    color_title: str | None = None,
    upto_title: str | None = None,
    tooltip=None,
    width: int = 600,
    height: int | None = None,
) -> alt.Chart:
    """Events as points along time, one row (lane) per category, offline-interactive.

    *when* is a column of ISO dates; *lane* the rows, in *lane_order*; *color* (e.g. the
    kind of event) keeps one colour per value whatever the year slider shows (the domain
    is every value of the column); *highlight* binds a dropdown that fades the other
    lanes; *upto* (numeric, e.g. the year) a slider that hides later rows.
    """
    tips = labels(tooltip) or {c: c for c in (when, lane, color) if c}
    check_columns(df, [c for c in (when, lane, color, highlight, upto) if c] + list(tips))
    if len(df) > MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {MAX_ROWS}")
    dates = pd.to_datetime(df[when], format="ISO8601", errors="coerce")
    if dates.isna().any():
        bad = df[when][dates.isna()].iloc[0]
        raise ValueError(f"when: column {when!r} holds {bad!r}, not an ISO date (YYYY-MM-DD)")
    lanes = list(lane_order) if lane_order else theme.order(df[lane])
    missing = sorted(set(df[lane]) - set(lanes))
    if missing:
        raise ValueError(f"lane_order: {missing} are in column {lane!r} but not in lane_order {lanes}")
    keep = list(dict.fromkeys([c for c in (when, lane, color, highlight, upto) if c] + list(tips)))
    first, last = dates.min().year, dates.max().year
    label_px = int(max(len(str(v)) for v in lanes) * CHAR_PX) + 16
    plot_w = width - label_px
    enc = {
        "x": alt.X(
            when,
            type="temporal",
            title=None,
            scale=alt.Scale(
                domain=[alt.DateTime(year=first, month=1, date=1), alt.DateTime(year=last, month=12, date=31)]
            ),
            axis=alt.Axis(format="%Y", tickCount={"interval": "year", "step": 2}, labelAngle=0),
        ),
        "y": alt.Y(
            lane,
            type="nominal",
            title=lane_title or lane,
            sort=lanes,
            scale=alt.Scale(domain=lanes),
            axis=alt.Axis(labelLimit=0),
        ),
        "tooltip": [alt.Tooltip(c, title=t) for c, t in tips.items()],
    }
    if color:
        enc["color"] = alt.Color(
            color,
            type="nominal",
            title=color_title or color,
            scale=theme.color_scale(df[color]),
            legend=alt.Legend(orient="bottom", direction="horizontal"),
        )
    params, filters = [], []
    if upto:
        if not pd.api.types.is_numeric_dtype(df[upto]):
            raise ValueError(f"upto: column {upto!r} must be numeric")
        lo, hi = int(df[upto].min()), int(df[upto].max())
        if lo == hi:
            raise ValueError(f"upto: column {upto!r} needs at least 2 distinct values")
        params.append(
            alt.param(
                name=param_name(upto),
                value=hi,
                bind=alt.binding_range(min=lo, max=hi, step=1, name=(upto_title or upto) + " "),
            )
        )
        filters.append(f"datum[{_q(upto)}] <= {param_name(upto)}")
    if highlight:
        values = theme.order(df[highlight].dropna().unique())
        if highlight == lane:
            values = [v for v in lanes if v in values]
        hl = param_name(highlight)
        params.append(
            alt.param(
                name=hl,
                value="all",
                bind=alt.binding_select(
                    options=["all", *values], name=((lane_title or lane) if highlight == lane else highlight) + " "
                ),
            )
        )
        enc["opacity"] = alt.condition(
            f"{hl} == 'all' || datum[{_q(highlight)}] == {hl}", alt.value(1.0), alt.value(0.12)
        )
    height = height or max(160, 34 * len(lanes))
    band = height / len(lanes)
    group = df.groupby([lane, when])
    spread = group.cumcount() - (group[lane].transform("size") - 1) / 2
    data = df[keep].assign(**{"(same day)": spread})
    enc["yOffset"] = alt.YOffset(
        "(same day)", type="quantitative", scale=alt.Scale(domain=[-2, 2], range=[0.1 * band, 0.9 * band])
    )
    chart = alt.Chart(data).mark_point(filled=True, size=110).encode(**enc)
    for f in filters:
        chart = chart.transform_filter(f)
    return finish(chart, title, params, None, plot_w, height)


def _q(column: str) -> str:
    return json.dumps(column)


def dot_chart(
    df: pd.DataFrame,
    y: str,
    x: str,
    color: str | None = None,
    dropdowns=None,
    *,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    tooltip=None,
    defaults=None,
    x_scale: str = "linear",
    rule: float | None = None,
    group: bool = False,
    width: int = 640,
) -> alt.LayerChart:
    """One row per value of *y* (its label in full on the left), *x* as a dot, written
    beside it; the rows of the dropdown's selection only, the x axis following them.

    *rule* draws a vertical reference line (e.g. 1 for a ratio); *color* colours the dots
    with the theme (default: ink). With *group*, each value of *color* gets its own line
    inside a row (a measurement under its predictions, never on top of them), and a legend.
    """
    dropdowns = labels(dropdowns)
    check_columns(df, [y, x, *([color] if color else []), *dropdowns, *(tooltip or [])])
    if len(df) > MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {MAX_ROWS}")
    keep = list(dict.fromkeys([y, x, *([color] if color else []), *dropdowns, *(tooltip or [])]))
    b = Binding(df[keep].reset_index(drop=True), None, dropdowns, defaults)
    data = b.data.assign(_lt=[f"{v:,.3g}" for v in b.data[x]])
    xdom = _per_key_domains(data, x, x_scale, x_scale == "linear", pad=0.12)
    if rule is not None:
        for k, (lo, hi) in xdom.items():
            xdom[k] = [
                min(lo, rule * 0.9 if x_scale == "log" else rule),
                max(hi, rule * 1.1 if x_scale == "log" else rule),
            ]
    label_px = int(max(len(str(v)) for v in data[y]) * CHAR_PX) + 12
    plot_w = max(200, width - label_px - 60)
    rows = data.groupby(KEY)[y].nunique().max()
    series = theme.order(data[color]) if color else []
    step = 14 * len(series) + 10 if group and color else 24
    yenc = alt.Y(y, type="nominal", title=y_title, sort=None, axis=alt.Axis(labelLimit=0, ticks=False, grid=group))
    xscale = alt.Scale(type=x_scale, domain=_domain_expr("dom_x"), nice=False, zero=False)
    xenc = alt.X(x, type="quantitative", title=axis_title(x_title or x, plot_w), scale=xscale)
    tips = [alt.Tooltip(c) for c in dict.fromkeys([y, x, *(tooltip or [])])]
    legend = alt.Legend(orient="bottom", direction="horizontal", title=None) if group else None
    col = (
        alt.Color(color, type="nominal", scale=theme.color_scale(data[color]), legend=legend)
        if color
        else alt.value(theme.INK)
    )
    enc = {"x": xenc, "y": yenc}
    if group and color:
        enc["yOffset"] = alt.YOffset(color, type="nominal", sort=series)
    dots = alt.Chart(data).mark_point(filled=True, size=60 if group else 80).encode(**enc, color=col, tooltip=tips)
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=8, fontSize=10.5 if group else 11, color=theme.INK)
        .encode(**enc, text="_lt")
    )
    layers = [dots.transform_filter(b.filter), text.transform_filter(b.filter)]
    if rule is not None:
        layers.insert(
            0,
            alt.Chart(pd.DataFrame({"_r": [rule]}))
            .mark_rule(color="#999999", strokeDash=[3, 3])
            .encode(x=alt.X("_r", type="quantitative", scale=xscale, title=xenc.to_dict().get("title"))),
        )
    return finish(alt.layer(*layers), title, [*b.params, b.lookup("dom_x", xdom)], b, plot_w, step * int(rows))
