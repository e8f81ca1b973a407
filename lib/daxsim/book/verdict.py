"""Which option when: the Pareto front of DRAM held against time per I/O, computed from a sweep.

:func:`annotate` adds to a :func:`daxsim.study.sweep.sweep` table what the comparison needs:
the **DRAM held** by each point (memmap in DRAM, plus the peak of transient structures:
bounce pages, descriptors, 1b's pool table; plus, for huge pages tracked per 4 KiB, the
dirty bitmap), its **safety** (feasible and safe; a hazard; infeasible), and the
**regime**: how large a permanent 4 KiB memmap (option 1a's) would be against the DRAM.

:func:`pareto` marks, on each machine and workload, the feasible and safe points that no
other feasible and safe point beats on both DRAM held and time per I/O.
:func:`which_option_when` reads the verdict off the table: per regime and workload, the
fastest feasible and safe option at each point, the leanest option on the front, and why
the others lost. Nothing in it is typed in; every cell comes from the sweep.

A point is *safe* when its option's design pins what it DMAs to (option 2's does not:
its design record's ``hazard``; it is unsafe whenever a truncate can race with its I/O,
whether or not one did in that run) and the run corrupted no byte.
"""

from __future__ import annotations


import altair as alt
import numpy as np
import pandas as pd

from daxsim.book import charts, controls, theme
from daxsim.model.cost import dram_held_bytes
from daxsim.paths import registry
from daxsim.study.sweep import AXES, DESIGNS
from daxsim.emu.units import PAGE_SIZE, STRUCT_PAGE_SIZE, GiB, KiB, format_size

__all__ = ["REGIMES", "SLICE", "STATUSES", "annotate", "pareto", "pareto_chart", "which_option_when", "winners"]

#: a point's safety, in the order the chart's legend lists them
STATUSES = ("feasible, safe", "hazard: corrupted data", "hazard: nothing pins the block", "infeasible")
#: regimes by the size of a permanent 4 KiB memmap against DRAM (upper edges, as shares of DRAM)
REGIMES = {
    "memmap under 10% of DRAM": 0.1,
    "memmap 10% to 100% of DRAM": 1.0,
    "memmap as large as DRAM or larger": np.inf,
}
#: the axes that make one machine and workload: the options compete within each slice
SLICE = tuple(a for a in AXES if a != "option")


def memmap_share(pmem, dram) -> np.ndarray:
    """A permanent memmap (64 bytes per 4 KiB of pmem) as a share of DRAM."""
    return np.asarray(pmem, dtype=float) / PAGE_SIZE * STRUCT_PAGE_SIZE / np.asarray(dram, dtype=float)


def regime(share: float) -> str:
    """The regime of a memmap share (see :data:`REGIMES`)."""
    return next(name for name, edge in REGIMES.items() if share < edge)


def annotate(df: pd.DataFrame) -> pd.DataFrame:
    """A sweep table with ``dram_held_bytes`` (and ``_kib``), ``safety``, ``safe``,
    ``memmap_share``, ``regime``, and size labels ``pmem_label``, ``dram_label``,
    ``pmem_gib``, ``dram_gib``. Infeasible points hold what they would need."""
    out = df.copy()
    out["dram_held_bytes"] = dram_held_bytes(out).astype("int64")
    out["dram_held_kib"] = out["dram_held_bytes"] / KiB
    guarded = out["guard"].fillna(False).astype(bool) if "guard" in out else False
    hazardous = out["option"].isin([k for k, d in registry.DESIGNS.items() if d.hazard]) & ~guarded
    corrupted = out["corrupted_bytes"] > 0
    out["safety"] = np.select(
        [~out["feasible"], corrupted, hazardous], [STATUSES[3], STATUSES[1], STATUSES[2]], STATUSES[0]
    )
    out["safe"] = out["feasible"] & ~hazardous & ~corrupted
    out["memmap_share"] = memmap_share(out["pmem"], out["dram"])
    out["regime"] = [regime(s) for s in out["memmap_share"]]
    out["pmem_label"] = [format_size(int(b)) for b in out["pmem"]]
    out["dram_label"] = [format_size(int(b)) for b in out["dram"]]
    out["pmem_gib"] = out["pmem"] / GiB
    out["dram_gib"] = out["dram"] / GiB
    return out


def pareto(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (annotated) with a boolean ``pareto``: within each slice, the feasible and
    safe points that no other feasible and safe point beats on DRAM held and on time per
    I/O (at least as good on both, better on one)."""
    out = df.copy()
    front = np.zeros(len(out), bool)
    ok = np.flatnonzero(out["safe"].to_numpy())
    group = out.groupby(list(SLICE), sort=False).ngroup().to_numpy()[ok]
    held = out["dram_held_bytes"].to_numpy()[ok]
    t = out["per_io_ns"].to_numpy()[ok]
    order = np.lexsort((t, held, group))  # by slice, then DRAM held, then time
    best, last = np.inf, None
    for i in order:  # walking up in DRAM held, a point is on the front if it is faster than all before it
        if group[i] != last:
            best, last = np.inf, group[i]
        if t[i] < best:
            front[ok[i]], best = True, t[i]
    out["pareto"] = front
    return out


def _first(df: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """The first row of each slice after sorting by ``by`` (the slice columns plus ``cols``)."""
    return df.sort_values([*SLICE, *by], kind="stable").drop_duplicates(list(SLICE))[[*SLICE, *cols]]


def winners(df: pd.DataFrame) -> pd.DataFrame:
    """One row per slice: the fastest feasible and safe option (``winner``, ``winner_ns``,
    ``winner_held_bytes``), the option on the front holding the least DRAM (``leanest``,
    ``leanest_ns``, ``leanest_held_bytes``), the options on the front (``front``), the
    fastest unsafe option if it is faster than the winner (``unsafe``, ``unsafe_ns``; else
    ``""`` and NaN), and the options that cannot boot (``infeasible``)."""
    if "pareto" not in df:
        df = pareto(df)
    df = df.assign(_order=df["option"].map({o: i for i, o in enumerate(DESIGNS)}).fillna(len(DESIGNS)))
    keys = list(SLICE)
    base = df.drop_duplicates(keys)[[*keys, "regime", "memmap_share"]]
    join = lambda s: ", ".join(s)
    infeasible = df[~df["feasible"]].sort_values("_order").groupby(keys, sort=False)["option"].agg(join)
    front = df[df["pareto"]].sort_values("dram_held_bytes").groupby(keys, sort=False)["option"].agg(join)
    best = _first(df[df["safe"]], ["per_io_ns", "_order"], ["option", "per_io_ns", "dram_held_bytes"]).rename(
        columns={"option": "winner", "per_io_ns": "winner_ns", "dram_held_bytes": "winner_held_bytes"}
    )
    lean = _first(
        df[df["pareto"]], ["dram_held_bytes", "per_io_ns", "_order"], ["option", "per_io_ns", "dram_held_bytes"]
    ).rename(columns={"option": "leanest", "per_io_ns": "leanest_ns", "dram_held_bytes": "leanest_held_bytes"})
    unsafe = _first(df[df["feasible"] & ~df["safe"]], ["per_io_ns", "_order"], ["option", "per_io_ns"]).rename(
        columns={"option": "unsafe", "per_io_ns": "unsafe_ns"}
    )
    out = (
        base.merge(best, on=keys, how="left")
        .merge(lean, on=keys, how="left")
        .merge(unsafe, on=keys, how="left")
        .merge(front.rename("front").reset_index(), on=keys, how="left")
        .merge(infeasible.rename("infeasible").reset_index(), on=keys, how="left")
    )
    slower = ~(out["unsafe_ns"] < out["winner_ns"])
    out.loc[slower, "unsafe"], out.loc[slower, "unsafe_ns"] = "", np.nan
    return out.fillna({"infeasible": "", "front": "", "unsafe": ""}).reset_index(drop=True)


def _tally(values, n: int | None = None) -> str:
    """``"3 (10 of 12), huge (2 of 12)"``: how often each value occurs (out of ``n``, by
    default the number of values), most frequent first."""
    counts = pd.Series(list(values)).value_counts(sort=True)
    n = int(counts.sum()) if n is None else n
    return ", ".join(f"{v} ({c} of {n})" if c < n else f"{v} (all {n})" for v, c in counts.items())


def which_option_when(df: pd.DataFrame) -> pd.DataFrame:
    """The verdict table: one row per (regime, workload), computed from the sweep.

    Columns: ``regime``, ``workload``, ``points`` (machines x hardware x truncate rates),
    ``fastest safe option`` (how often each option was the fastest feasible and safe one),
    ``time per I/O (ns)`` (the winners' range), ``leanest on the front`` (the option on
    the Pareto front holding the least DRAM) and ``why`` (what the others lacked: the
    options that could not boot, the unsafe option that was faster, by how much; the
    DRAM the winner holds beyond the leanest option, for how much time).
    """
    w = winners(df)
    rows = []
    for (reg, wl), g in w.groupby(["regime", "workload"], sort=False):
        why = []
        cannot = [o for s in g["infeasible"] for o in s.split(", ") if o]
        if cannot:
            why.append(f"{_tally(cannot, len(g))} cannot boot: a memmap in DRAM does not fit")
        unsafe = g[g["unsafe"] != ""]
        if len(unsafe):
            gain = (unsafe["winner_ns"] - unsafe["unsafe_ns"]) / unsafe["winner_ns"]
            why.append(
                f"{_tally(unsafe['unsafe'])} faster by at most {gain.max():.1%}, "
                "but nothing pins its blocks under truncate"
            )
        extra = g[g["leanest"] != g["winner"]]
        if len(extra):
            held = (extra["winner_held_bytes"] - extra["leanest_held_bytes"]).max()
            save = ((extra["leanest_ns"] - extra["winner_ns"]) / extra["leanest_ns"]).max()
            why.append(
                f"the fastest holds up to {format_size(int(held))} more DRAM than {_tally(extra['leanest'])} "
                f"to save at most {save:.1%} per I/O"
            )
        else:
            why.append("the fastest safe option is also the leanest on the front")
        rows.append(
            {
                "regime": reg,
                "workload": wl,
                "points": len(g),
                "fastest safe option": _tally(g["winner"]),
                "time per I/O (ns)": f"{g['winner_ns'].min():,.0f} to {g['winner_ns'].max():,.0f}"
                if g["winner_ns"].min() != g["winner_ns"].max()
                else f"{g['winner_ns'].min():,.0f}",
                "leanest on the front": _tally(g["leanest"]),
                "why": "; ".join(why),
            }
        )
    out = pd.DataFrame(rows)
    out["regime"] = pd.Categorical(out["regime"], categories=list(REGIMES), ordered=True)
    return out.sort_values(["regime"], kind="stable").reset_index(drop=True)


def _cluster_labels(points: pd.DataFrame, xdom, ydom, width, height, gap=10.0) -> list[dict]:
    """Labels for points that sit within *gap* pixels of each other: one label per
    cluster naming every option in it, placed right of the cluster and moved apart."""
    px = controls.to_pixels(points["bytes"], xdom, "log", width)  # measured from the right
    px = width - px
    py = controls.to_pixels(points["y"], ydom, "log", height)
    pts = sorted(zip(px, py, points["option"], points["bytes"]), key=lambda p: (p[0], p[1]))
    clusters: list[list] = []
    for x, y, o, b in pts:
        for c in clusters:
            if abs(c[0] - x) < gap and abs(c[1] - y) < gap:
                c[2].append(o)
                c[3] = max(c[3], b)
                break
        else:
            clusters.append([x, y, [o], b])
    wanted = np.array([c[1] for c in clusters])
    placed = controls.dodge(wanted, gap=12.5, lo=4, hi=height - 4) if len(clusters) else wanted
    # dodge keeps labels apart only within one column: labels of distant clusters may share a line
    out = []
    for c, y in zip(clusters, placed):
        names = [o for o in DESIGNS if o in c[2]]
        out.append(
            {
                "bytes": float(c[3]),
                "ly": float(controls.from_pixels([y], ydom, "log", height)[0]),
                "text": ", ".join(names),
            }
        )
    return out


def pareto_chart(
    df: pd.DataFrame, sliders=None, dropdowns=None, *, title: str, defaults=None, width: int = 440, height: int = 320
) -> alt.LayerChart:
    """DRAM held (x, bytes, log) against modelled time per I/O (y, ns, log), one point per option.

    Colour is the option (the theme's), shape the safety (:data:`STATUSES`); every point
    is labelled with its option, and points that coincide share one label ("2, 3,
    nvram"), so no option hides behind another. The Pareto front of the feasible and
    safe points is joined by a dashed line; infeasible points have no time and are drawn
    as crosses along the top, at the DRAM they would need; a dotted rule marks the DRAM
    installed. Both axes follow the selection. The bound controls pick the precomputed
    rows as :func:`daxsim.book.charts.grid_chart` does.
    """
    sliders, dropdowns = controls.labels(sliders), controls.labels(dropdowns)
    need = ["option", "safety", "per_io_ns", "dram_held_bytes", "dram", "pareto", *sliders, *dropdowns]
    controls.check_columns(df, need)
    if len(df) > charts.MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; charts inline their data, keep it <= {charts.MAX_ROWS}")
    plot = pd.DataFrame(
        {
            "option": df["option"],
            "s": df["safety"].map({s: i for i, s in enumerate(STATUSES)}),
            "t": df["per_io_ns"].round(1),
            "bytes": np.maximum(df["dram_held_bytes"], 1).astype(float),
            "installed": df["dram"].astype(float),
            "front": df["pareto"].astype(int),
        }
    )
    for c in (*sliders, *dropdowns):
        plot[c] = df[c]
    plot = plot.sort_values("s", kind="stable")  # hazards and infeasible points drawn last, on top
    b = controls.Binding(plot, sliders, dropdowns, defaults)
    data = b.data
    ys, xdoms, ydoms, labels = pd.Series(np.nan, index=data.index), {}, {}, []
    for k, g in data.groupby(controls.KEY, sort=False):
        times = g["t"].dropna()
        top = float(times.max()) * 1.35 if len(times) else 1000.0
        y = g["t"].fillna(top)
        ys[g.index] = y
        xd = controls.padded_domain([*g["bytes"], float(g["installed"].max())], "log", pad=0.05)
        yd = controls.padded_domain([*times, top], "log", pad=0.08)
        xdoms[k], ydoms[k] = [xd, controls.size_ticks(xd)], yd
        labels += [{controls.KEY: k, **lab} for lab in _cluster_labels(g.assign(y=y), xd, yd, width, height)]
    data = data.assign(y=ys, status=[STATUSES[int(i)] for i in data["s"]]).drop(columns="s")
    label_df = pd.DataFrame(labels)
    x_title = "DRAM held: memmap + transient peak (log scale)"
    y_title = charts.axis_title("modelled time per I/O (ns, log scale)", height)
    x = alt.X(
        "bytes",
        type="quantitative",
        title=x_title,
        scale=alt.Scale(type="log", domain=[{"expr": "dom_x[0][0]"}, {"expr": "dom_x[0][1]"}], nice=False),
        axis=alt.Axis(values={"expr": "dom_x[1]"}, labelExpr=controls.BYTES_LABEL),
    )
    y = alt.Y(
        "y",
        type="quantitative",
        title=y_title,
        scale=alt.Scale(type="log", domain=[{"expr": "dom_y[0]"}, {"expr": "dom_y[1]"}], nice=False),
        axis=alt.Axis(format=",.0f", tickCount=5),
    )
    options = [o for o in DESIGNS if o in set(df["option"])]
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=100, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=alt.Color("option", type="nominal", title="option", scale=theme.color_scale(options), legend=None),
            shape=alt.Shape(
                "status",
                type="nominal",
                title="status",
                scale=alt.Scale(domain=list(STATUSES), range=["circle", "triangle-up", "diamond", "cross"]),
                legend=alt.Legend(orient="bottom", direction="vertical"),
            ),
            tooltip=[
                alt.Tooltip("option", type="nominal"),
                alt.Tooltip("status", type="nominal"),
                alt.Tooltip(
                    "t", type="quantitative", title="modelled time per I/O (ns; none: cannot boot)", format=",.0f"
                ),
                alt.Tooltip("bytes", type="quantitative", title="DRAM held (bytes)", format=",.0f"),
                *[alt.Tooltip(c, type="quantitative", title=t) for c, t in sliders.items()],
                *[alt.Tooltip(c, type="nominal", title=t) for c, t in dropdowns.items()],
            ],
        )
        .transform_filter(b.filter)
    )
    front = (
        alt.Chart(data)
        .transform_filter(b.filter)
        .transform_filter("datum.front == 1")
        .mark_line(color="#555555", strokeDash=[5, 4], point=False)
        .encode(x=x, y=y, order=alt.Order("bytes"))
    )
    installed = (
        alt.Chart(data)
        .transform_filter(b.filter)
        .mark_rule(color="#999999", strokeDash=[2, 2])
        .encode(x=alt.X("installed", type="quantitative", aggregate="max", title=x_title))
    )
    names = (
        alt.Chart(label_df)
        .transform_filter(b.filter)
        .mark_text(align="left", baseline="middle", dx=9, fontSize=11, color=theme.INK)
        .encode(
            x=alt.X("bytes", type="quantitative", title=x_title),
            y=alt.Y("ly", type="quantitative", title=y_title),
            text="text",
        )
    )
    chart = alt.layer(installed, front, points, names)
    return charts.finish(
        chart, title, [*b.params, b.lookup("dom_x", xdoms), b.lookup("dom_y", ydoms)], b, width, height
    )
