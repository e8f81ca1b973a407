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
:func:`explorer_chart` draws it (DRAM held against time per I/O) with the grid's
parameters bound to sliders and dropdowns, so the static book's page stays interactive;
the live explorer (:func:`daxsim.book.widgets.live_explorer`) draws the same chart for one point.
"""

from __future__ import annotations

import itertools

import altair as alt
import numpy as np
import pandas as pd

from daxsim.book import charts
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


def compare_specs(specs, machine: Machine, workload: Workload, hardware=DEFAULT_HARDWARE, cost=None,
                  data: bool = True, pool_pages: int | None = None, huge: dict | None = None,
                  kernel=DEFAULT_ERA) -> list:
    """Run every spec in ``specs`` on the same machine and workload (see :func:`daxsim.run`).

    ``pool_pages`` goes to option 1b only, ``huge`` (page_size, memmap_variant,
    dirty_granularity) to option huge only. An empty ``specs`` is an error.
    """
    specs = [parse_spec(s) for s in specs]
    if not specs:
        raise ValueError(f"options: none chosen; accepted: any of {', '.join(SPECS)}")
    given = {"pool_pages": pool_pages, **(huge or {})}
    return [run(Spec.of(s, **{k: v for k, v in given.items() if s.design.param(k)}), machine, workload,
                hardware=hardware, cost=cost, data=data, kernel=kernel) for s in specs]


def comparison_frame(results) -> pd.DataFrame:
    """One row per result (:func:`daxsim.study.rows.row`), and ``dram_held_mib``."""
    df = frame(results)
    df["dram_held_mib"] = df["dram_held_bytes"] / MiB
    return df


def explorer_grid(specs=SPECS, pmem_sizes=("8G", "400G", "6T"), dram_sizes=("16G", "1T"),
                  hardware=("ddr4-2666", "optane-pmem-100", "nvdimm-n", "cxl-expander"),
                  workloads=("rand-4k", "oltp-4k", "seq-1m"), truncate_rates=(0.0, 0.1), ios=128,
                  byte_budget="2M", file_size="64M", seed=1) -> pd.DataFrame:
    """:func:`comparison_frame` at every grid point (the static book's explorer).

    The workloads are presets over a ``file_size`` DAX file with ``ios`` I/Os, cut to
    what fits in ``byte_budget`` (never below one queue), data copied and checked (the
    truncate/DMA hazard only shows in the bytes); each run is re-costed for every
    hardware profile (:func:`daxsim.study.sweep.remodel`). Adds the columns ``pmem_size``
    and ``dram_size`` (labels such as ``"400 GiB"``) and ``pmem_gib``; ``workload`` is the
    preset's name. Computed once per daxsim source and arguments, then read back
    (:func:`daxsim.book.precompute.cached_frame`): the live explorer's page needs it at once.
    """
    from daxsim.book.precompute import cached_frame

    arguments = dict(specs=tuple(map(str, specs)), pmem_sizes=pmem_sizes, dram_sizes=dram_sizes, hardware=hardware,
                     workloads=workloads, truncate_rates=truncate_rates, ios=ios, byte_budget=byte_budget,
                     file_size=file_size, seed=seed)
    return cached_frame("explorer_grid", arguments, lambda: _explorer_grid(**arguments))


def _explorer_grid(specs, pmem_sizes, dram_sizes, hardware, workloads, truncate_rates, ios, byte_budget, file_size,
                   seed) -> pd.DataFrame:
    from daxsim.study.sweep import remodel

    budget = parse_size(byte_budget, "byte_budget")
    huge = "huge" in [str(s) for s in specs]
    frames = []
    for pm, dr, wl, tr in itertools.product(pmem_sizes, dram_sizes, workloads, truncate_rates):
        machine = Machine(pmem=pm, dram=dr, align="1G" if huge else "2M")
        preset = preset_values(wl)
        n = max(preset["queue_depth"], min(int(ios), budget // preset["io_size"]))
        w = Workload.from_preset(wl, ios=n, file_size=file_size, seed=seed, truncate_rate=tr)
        runs = compare_specs(specs, machine, w, hardware=hardware[0])
        for hw in hardware:  # only the cost model sees the hardware: re-cost the same counters
            df = comparison_frame([remodel(r, hw) for r in runs])
            frames.append(df.assign(pmem_size=format_size(machine.pmem), dram_size=format_size(machine.dram),
                                    pmem_gib=machine.pmem / 2**30, workload=wl))
    return pd.concat(frames, ignore_index=True)


_PLOTTED = ("label", "status", "y", "time", "held", "why", "dram_held_mib")


def _plot_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, float, list[float]]:
    """The columns the chart draws (infeasible rows get y = the top band), the x maximum
    and the y domain (log scale: from under the fastest time to the top band)."""
    times = df["per_io_ns"].dropna()
    top = float(times.max()) * 1.25 if len(times) else 10.0
    low = float(times.min()) / 1.25 if len(times) else 1.0
    plot = df.assign(
        y=df["per_io_ns"].fillna(top),
        time=[f"{t:,.0f} ns" if np.isfinite(t) else "none: infeasible" for t in df["per_io_ns"]],
        held=[format_size(int(b)) if b else "0" for b in df["dram_held_bytes"]],
        why=df["reason"].where(df["reason"] != "", df["status"]),
    )
    return plot, max(float(df["dram_held_mib"].max()), 1.0) * 1.5, [low, top * 1.1]


_live_template: dict | None = None


def live_chart_spec(df: pd.DataFrame, title: str) -> dict:
    """``explorer_chart(df, title=title)`` (no bound controls) as a Vega-Lite dict, fast.

    The live explorer redraws at every change: altair builds and validates the spec once,
    later calls only put in the rows, the title and the axis maxima (about 30 ms less).
    """
    global _live_template
    if _live_template is None:
        _live_template = explorer_chart(df, title=title).to_dict()
    plot, x_max, y_domain = _plot_frame(df)
    spec = {k: v for k, v in _live_template.items() if k != "datasets"}
    spec["data"] = {"values": plot[list(_PLOTTED)].to_dict("records")}
    spec["title"] = {**spec["title"], "text": title}
    enc = spec["encoding"] = dict(spec["encoding"])
    enc["x"] = {**enc["x"], "scale": {**enc["x"]["scale"], "domain": [0, x_max]}}
    enc["y"] = {**enc["y"], "scale": {**enc["y"]["scale"], "domain": y_domain}}
    return spec


def explorer_chart(df: pd.DataFrame, sliders=None, dropdowns=None, *, title: str, defaults=None,
                   width: int = 480, height: int = 300) -> alt.Chart:
    """DRAM held (x, MiB, symlog) against modelled time per I/O (y, log), one point per option.

    Shape gives the status: hazards are triangles; infeasible options have no time and
    are drawn as crosses along the top of the chart, at the DRAM they would need. The
    y domain is the whole frame's, so moving a bound control moves the points.
    ``sliders``, ``dropdowns`` and ``defaults`` bind columns as in
    :func:`daxsim.book.charts.grid_chart`.
    """
    sliders, dropdowns = charts._labels(sliders), charts._labels(dropdowns)
    charts._check_columns(df, ["label", "status", "per_io_ns", "dram_held_mib", *sliders, *dropdowns])
    if len(df) > charts.MAX_ROWS:
        raise ValueError(f"df has {len(df)} rows; keep it <= {charts.MAX_ROWS}")
    plot, x_max, y_domain = _plot_frame(df)
    keep = list(dict.fromkeys([*_PLOTTED, *sliders, *dropdowns]))
    data, params, filters, shown, readouts = charts._bind(plot[keep], sliders, dropdowns, defaults or {})
    base = alt.Chart(data).mark_point(filled=True, size=90, opacity=0.9).encode(
        x=alt.X("dram_held_mib", type="quantitative", title="DRAM held: memmap + transient peak (MiB, symlog)",
                scale=alt.Scale(type="symlog", domain=[0, x_max])),
        y=alt.Y("y", type="quantitative", title="modelled time per I/O (ns, log)",
                scale=alt.Scale(type="log", domain=y_domain)),
        color=alt.Color("label", type="nominal", title="option",
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=480)),
        shape=alt.Shape("status", type="nominal", title="status",
                        scale=alt.Scale(domain=list(STATUSES), range=["circle", "triangle-up", "cross"]),
                        legend=alt.Legend(orient="bottom", direction="vertical")),
        tooltip=[alt.Tooltip("label", title="option"), alt.Tooltip("status"), alt.Tooltip("time", title="modelled time per I/O"),
                 alt.Tooltip("held", title="DRAM held"), alt.Tooltip("why", title="why"),
                 *[alt.Tooltip(c, title=t) for c, t in {**sliders, **dropdowns}.items()]],
    )
    return charts._finish(base, title, params, filters, shown, readouts, width, height)
