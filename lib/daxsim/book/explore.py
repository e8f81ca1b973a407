"""The explorer's comparison: chosen options on one machine and workload, as rows and a chart.

:func:`compare_specs` runs option specs (``"2+guard"`` is option 2 with its filesystem
range lock; see :class:`daxsim.Spec`) on one machine and workload; :func:`comparison_frame`
turns the results into rows (:func:`daxsim.study.rows.row`: ``label`` names the option as
the book does, ``dram_held_bytes`` is the memmap in DRAM plus the peak of transient
structures plus, for huge pages tracked per 4 KiB, the dirty bitmap; ``status`` is
``feasible``, ``hazard`` (the run corrupted data: option 2's truncate/DMA race) or
``infeasible``, with the kernel's reason, and the DRAM held is then what the option
would need). Nothing is dropped.

:func:`explorer_grid` precomputes that frame over a small grid at build time, and
:func:`explorer_chart` draws it (DRAM held against time per operation) with the grid's
parameters bound to sliders and dropdowns, so the static book's page stays interactive;
the live explorer (:func:`daxsim.book.widgets.live_explorer`) draws the same chart for one point.
"""

from __future__ import annotations

import itertools
import json

import altair as alt
import numpy as np
import pandas as pd

from daxsim.book import charts, controls, theme
from daxsim.book.verdict import TIME
from daxsim.model.eras import DEFAULT_ERA
from daxsim.model.hardware import DEFAULT_HARDWARE
from daxsim.emu.machine import Machine
from daxsim.paths.registry import DESIGNS
from daxsim.study.api import run
from daxsim.study.rows import STATUSES, frame
from daxsim.study.spec import Spec
from daxsim.emu.units import MiB, format_size, parse_size
from daxsim.emu.workload import Workload, preset_values

__all__ = [
    "GRID_KERNELS",
    "SPECS",
    "STATUSES",
    "compare_specs",
    "comparison_frame",
    "explorer_chart",
    "explorer_grid",
    "live_chart_spec",
    "parse_spec",
    "spec_label",
]

#: what the explorer compares: every option's explorer specs (option 2 also with its range lock)
SPECS = tuple(spec for d in DESIGNS.values() if not d.bound for spec in d.explorer)
#: the kernel eras of the static book's grid: the long-term 4.19 (FOLL_GET, a bvec per page),
#: the newest release (the default everywhere) and the memdesc plan's 8-byte descriptor
GRID_KERNELS = ("4.19", DEFAULT_ERA, "memdesc-8")


def parse_spec(spec) -> Spec:
    """One of the explorer's option specs (:data:`SPECS`, or any spec of a design option)."""
    try:
        s = Spec.parse(str(spec))
    except ValueError:
        s = None
    if s is None or s.design.bound:
        raise ValueError(f"options: {str(spec)!r} is not an option; accepted: {', '.join(SPECS)}")
    return s


def spec_label(spec) -> str:
    """The row label: ``"option 2 + guard"``."""
    return parse_spec(spec).label


def compare_specs(
    specs,
    machine: Machine,
    workload: Workload,
    hardware=DEFAULT_HARDWARE,
    cost=None,
    data: bool = True,
    pool_pages: int | None = None,
    huge: dict | None = None,
    kernel=DEFAULT_ERA,
) -> list:
    """Run every spec in ``specs`` on the same machine and workload (see :func:`daxsim.run`).

    ``pool_pages`` goes to option 1b only, ``huge`` (page_size, memmap_variant,
    dirty_granularity) to option huge only. An empty ``specs`` is an error.
    """
    specs = [parse_spec(s) for s in specs]
    if not specs:
        raise ValueError(f"options: none chosen; accepted: any of {', '.join(SPECS)}")
    given = {"pool_pages": pool_pages, **(huge or {})}
    return [
        run(
            Spec.of(s, **{k: v for k, v in given.items() if s.design.param(k)}),
            machine,
            workload,
            hardware=hardware,
            cost=cost,
            data=data,
            kernel=kernel,
        )
        for s in specs
    ]


def comparison_frame(results) -> pd.DataFrame:
    """One row per result (:func:`daxsim.study.rows.row`), and ``dram_held_mib``."""
    df = frame(results)
    df["dram_held_mib"] = df["dram_held_bytes"] / MiB
    return df


def explorer_grid(
    specs=SPECS,
    pmem_sizes=("8G", "400G", "6T"),
    dram_sizes=("16G", "1T"),
    hardware=("ddr4-2666", "optane-pmem-100", "nvdimm-n", "cxl-expander"),
    workloads=("rand-4k", "oltp-4k", "seq-1m"),
    truncate_rates=(0.0, 0.1),
    ios=128,
    byte_budget="2M",
    file_size="64M",
    seed=1,
    kernels=GRID_KERNELS,
) -> pd.DataFrame:
    """:func:`comparison_frame` at every grid point (the static book's explorer).

    The workloads are presets over a ``file_size`` DAX file with ``ios`` I/Os, cut to
    what fits in ``byte_budget`` (never below one queue), data copied and checked (the
    truncate/DMA hazard only shows in the bytes); each run is re-costed for every
    hardware profile (:func:`daxsim.study.sweep.remodel`), and run again for every kernel era
    of ``kernels`` (the era changes the counters: bvecs, pinning, the struct page's size).
    Adds the columns ``pmem_size`` and ``dram_size`` (labels such as ``"400 GiB"``) and
    ``pmem_gib``; ``workload`` is the preset's name. Computed once per daxsim source and
    arguments, then read back (:func:`daxsim.book.precompute.cached_frame`): the live
    explorer's page needs it at once.
    """
    from daxsim.book.precompute import cached_frame

    arguments = dict(
        specs=tuple(map(str, specs)),
        pmem_sizes=pmem_sizes,
        dram_sizes=dram_sizes,
        hardware=hardware,
        workloads=workloads,
        truncate_rates=truncate_rates,
        ios=ios,
        byte_budget=byte_budget,
        file_size=file_size,
        seed=seed,
        kernels=tuple(map(str, kernels)),
    )
    return cached_frame("explorer_grid", arguments, lambda: _explorer_grid(**arguments))


def _explorer_grid(
    specs, pmem_sizes, dram_sizes, hardware, workloads, truncate_rates, ios, byte_budget, file_size, seed, kernels
) -> pd.DataFrame:
    from daxsim.study.sweep import remodel

    budget = parse_size(byte_budget, "byte_budget")
    huge = "huge" in [str(s) for s in specs]
    frames = []
    for pm, dr, wl, tr, k in itertools.product(pmem_sizes, dram_sizes, workloads, truncate_rates, kernels):
        machine = Machine(pmem=pm, dram=dr, align="1G" if huge else "2M")
        preset = preset_values(wl)
        n = max(preset["queue_depth"], min(int(ios), budget // preset["io_size"]))
        w = Workload.from_preset(wl, ios=n, file_size=file_size, seed=seed, truncate_rate=tr)
        runs = compare_specs(specs, machine, w, hardware=hardware[0], kernel=k)
        for hw in hardware:  # only the cost model sees the hardware: re-cost the same counters
            df = comparison_frame([remodel(r, hw) for r in runs])
            frames.append(
                df.assign(
                    pmem_size=format_size(machine.pmem),
                    dram_size=format_size(machine.dram),
                    pmem_gib=machine.pmem / 2**30,
                    workload=wl,
                )
            )
    return pd.concat(frames, ignore_index=True)


_OPTION_LABELS = tuple(spec_label(s) for s in SPECS)
_STATUS_SHAPES = {"feasible": "circle", "hazard: corrupted data": "triangle-up", "infeasible": "cross"}


def _plot_frame(df: pd.DataFrame) -> pd.DataFrame:
    """What the chart draws, one row per option: DRAM held in KiB (at least 1 B), the time
    per operation (``op_ns``: I/Os, stores and fsyncs, what the verdict ranks by; NaN when
    infeasible), and the texts beside the points."""
    held = df["dram_held_bytes"].astype(float)
    note = []
    for r in df.itertuples():
        if r.status == STATUSES[2]:
            note.append("infeasible")
        elif r.status == STATUSES[1]:
            note.append(f"{getattr(r, TIME):,.0f} ns, corrupted {format_size(int(r.corrupted_bytes))}")
        else:
            note.append(f"{getattr(r, TIME):,.0f} ns")
    return pd.DataFrame(
        {
            "option": df["label"],
            "status": df["status"],
            "bytes": np.maximum(held, 1.0),
            "t": df[TIME].round(1),
            "held": [format_size(int(b)) if b else "0" for b in df["dram_held_bytes"]],
            "time": note,
            "why": df["reason"].where(df["reason"] != "", df["status"]),
        },
        index=df.index,
    )


def _domains(plot: pd.DataFrame, keys: pd.Series):
    """Per selection key (in order of first appearance): the DRAM axis's domain and ticks,
    and the time axis's domain, over that selection's rows."""
    codes, uniq = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")  # the rows of each key together, in their order
    ends = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    nbytes, t = plot["bytes"].to_numpy()[order], plot["t"].to_numpy()[order]
    held, time = {}, {}
    for i, k in enumerate(uniq):
        lo, hi = ends[i], ends[i + 1]
        dom = controls.padded_domain(nbytes[lo:hi].tolist(), "log", pad=0.08)
        held[k] = [dom, controls.size_ticks(dom)]
        ts = t[lo:hi]
        time[k] = controls.padded_domain(ts[~np.isnan(ts)].tolist() or [1.0], "log", pad=0.08)
    return held, time


_live_template: dict | None = None


def live_chart_spec(df: pd.DataFrame, title: str) -> dict:
    """``explorer_chart(df, title=title)`` (no bound controls) as a Vega-Lite dict, fast.

    The live explorer redraws at every change: altair builds and validates the spec once,
    later calls only put in the rows, the title and the axis domains (about 30 ms less).
    """
    global _live_template
    if _live_template is None:
        _live_template = explorer_chart(df, title=title).to_dict()
    plot = _plot_frame(df)
    b = controls.Binding(plot)
    held, time = _domains(plot, b.data[controls.KEY])
    fresh = {
        p["name"]: p for p in (b.lookup("dom_held", held).param.to_dict(), b.lookup("dom_time", time).param.to_dict())
    }
    spec = {k: v for k, v in _live_template.items() if k != "datasets"}
    spec["data"] = {"values": json.loads(b.data.to_json(orient="records"))}
    spec["title"] = {**spec["title"], "text": charts.wrap(title, _WIDTH, 7.6)}
    spec["params"] = [fresh.get(p["name"], p) for p in spec["params"]]
    return spec


_WIDTH = 600


def explorer_chart(
    df: pd.DataFrame, sliders=None, dropdowns=None, *, title: str, defaults=None, width: int = _WIDTH, height=None
) -> alt.HConcatChart:
    """Each option on its own row: the DRAM it holds (left, KiB, log) and its modelled time
    per operation (right, ns, log: ``op_ns``, the workload's I/Os, stores and fsyncs), with
    the values written beside the points.

    One row per option, so no option hides another (five options hold almost no DRAM, and
    several take the same time). Colour is the option (the theme's), shape the status:
    hazards are triangles, infeasible options crosses, drawn at the DRAM they would need
    and marked "infeasible" where their time would be. Both axes follow the selection.
    ``sliders``, ``dropdowns`` and ``defaults`` bind columns as in
    :func:`daxsim.book.charts.grid_chart`.
    """
    sliders, dropdowns = controls.labels(sliders), controls.labels(dropdowns)
    controls.check_columns(
        df, ["label", "status", TIME, "dram_held_bytes", "reason", "corrupted_bytes", *sliders, *dropdowns]
    )
    if len(df) > charts.MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {charts.MAX_ROWS}")
    plot = _plot_frame(df)
    for c in (*sliders, *dropdowns):
        plot[c] = df[c]
    b = controls.Binding(plot, sliders, dropdowns, defaults)
    held, time = _domains(plot, b.data[controls.KEY])
    options = [o for o in _OPTION_LABELS if o in set(df["label"])] + sorted(set(df["label"]) - set(_OPTION_LABELS))
    y = alt.Y("option", type="nominal", title=None, sort=list(options), axis=alt.Axis(labelLimit=0, ticks=False))
    color = alt.Color("option", type="nominal", scale=theme.color_scale(options), legend=None)
    shape = alt.Shape(
        "status",
        type="nominal",
        title="status",
        scale=alt.Scale(domain=list(STATUSES), range=[_STATUS_SHAPES[s] for s in STATUSES]),
        legend=alt.Legend(orient="bottom", direction="horizontal", title=None),
    )
    tips = [
        alt.Tooltip("option"),
        alt.Tooltip("status"),
        alt.Tooltip("time", title="modelled time per operation"),
        alt.Tooltip("held", title="DRAM held"),
        alt.Tooltip("why", title="why"),
        *[alt.Tooltip(c, title=t) for c, t in {**sliders, **dropdowns}.items()],
    ]
    panel = (width - 300) // 2
    step = 22

    y_bare = alt.Y("option", type="nominal", title=None, sort=list(options), axis=None)

    def dots(field, dom, title_text, legend):
        if field == "bytes":
            domain = [{"expr": f"{dom}[0][0]"}, {"expr": f"{dom}[0][1]"}]
            axis = alt.Axis(values={"expr": f"{dom}[1]"}, labelExpr=controls.BYTES_LABEL)
        else:
            domain = [{"expr": f"{dom}[0]"}, {"expr": f"{dom}[1]"}]
            axis = alt.Axis(format=",.0f", tickCount=4)
        return (
            alt.Chart()
            .mark_point(filled=True, size=90, opacity=0.95)
            .encode(
                x=alt.X(
                    field,
                    type="quantitative",
                    title=charts.axis_title(title_text, panel),
                    scale=alt.Scale(type="log", domain=domain, nice=False),
                    axis=axis,
                ),
                y=y if legend else y_bare,
                color=color,
                shape=shape
                if legend
                else alt.Shape(
                    "status",
                    type="nominal",
                    scale=alt.Scale(domain=list(STATUSES), range=[_STATUS_SHAPES[s] for s in STATUSES]),
                    legend=None,
                ),
                tooltip=tips,
            )
        )

    def values(field, first):
        return (
            alt.Chart()
            .mark_text(align="left", baseline="middle", fontSize=11, color=theme.INK)
            .encode(x=alt.value(panel + 8), y=y if first else y_bare, text=alt.Text(field), tooltip=tips)
        )

    left = alt.layer(
        dots("bytes", "dom_held", "DRAM held: memmap + transient peak (log scale)", True), values("held", True)
    ).properties(width=panel, height={"step": step})
    right = alt.layer(
        dots("t", "dom_time", "modelled time per operation (ns, log scale)", False), values("time", False)
    ).properties(width=panel, height={"step": step})
    chart = (
        alt.hconcat(left, right, data=b.data, spacing=80)
        .transform_filter(b.filter)
        .properties(title=charts.chart_title(title, width))
    )
    chart.params = [p.param for p in (*b.params, b.lookup("dom_held", held), b.lookup("dom_time", time))]
    if b.readouts:
        chart = chart.properties(usermeta={"daxsim": {"readouts": b.readouts}})
    return chart
