"""Live ipywidgets explorers shared by the chapters.

:func:`explorer` builds a small app: controls for the machine (pmem and DRAM size,
memmap placement), the workload (preset, I/O size, queue depth, seed), the hardware
profile and a few cost-model figures, and a result that re-runs :func:`daxsim.compare`
whenever a control changes. The result is an ``HTML`` widget with the CSS class
``daxsim-result`` (a browser test reads it): one table row per option, infeasible
configurations shown with their reason, never dropped, and the OSTEP-style text report
of each run under it.

:func:`predict` is the OSTEP "predict, then reveal" helper: the reader types a guess,
a button reveals the number daxsim computed.

Widgets need a running kernel (JupyterLab, Voila, Binder). In the static book they are
drawn but their callbacks do nothing; each explorer says so in a one-line note above it.
"""

from __future__ import annotations

import html
import json
import tempfile
import time
from pathlib import Path

import ipywidgets as widgets

from daxsim.book import explore
from daxsim.book.precompute import cached
from daxsim.emu import hugepages
from daxsim.study import powerloss
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE, CostModel
from daxsim.emu.machine import Machine
from daxsim.paths.registry import DESIGNS
from daxsim.study.rows import STATUSES
from daxsim.study.spec import Spec
from daxsim.study.report import text_report
from daxsim.study.api import run
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import OP_TRUNC, PRESETS, Workload, preset_values, queue_file_size

__all__ = [
    "DRAM_SIZES",
    "PMEM_SIZES",
    "STATIC_NOTE",
    "Explorer",
    "LiveExplorer",
    "explorer",
    "live_explorer",
    "predict",
]

STATIC_NOTE = (
    "Live only: these controls re-run daxsim in a Python kernel (JupyterLab, Voila, Binder); "
    "in the static book they do nothing, use the charts above instead."
)

PMEM_SIZES = ("8G", "16G", "64G", "128G", "400G", "512G", "1T", "2T", "3T", "6T")
DRAM_SIZES = ("64M", "256M", "1G", "4G", "16G", "64G", "192G", "384G", "1T")
IO_SIZES = (512, 4096, 16384, 65536, 262144, 1 << 20)
QUEUE_DEPTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
POOL_SIZES = (256, 1024, 4096, 16384, 65536)  #: option 1b's pool, in transient struct pages
TRUNCATE_RATES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
EXTENT_SIZES = ("4k", "16k", "64k", "256k", "1M", None)  #: None: the file is one extent
#: cost-model figures the explorer lets the reader edit (the others keep their cited values)
EDITABLE_COSTS = ("io_fixed_ns", "gup_ns_dram", "gup_ns_pmem", "page_alloc_ns", "device_bw")
#: bytes a single update copies at most: bounds the update time for large I/Os. Above it
#: (deep queues of large I/Os) the update runs the metadata path only: same counters.
BYTE_BUDGET = 16 << 20

_STYLE = {"description_width": "initial"}


def _size_options(sizes):
    return [(format_size(parse_size(s)), s) for s in sizes]


def _machine_controls(pmem, dram, memmap, pmem_label: str) -> dict:
    """The machine's three controls, shared by both explorers: pmem and DRAM sizes, memmap placement."""
    return {
        "pmem": widgets.SelectionSlider(
            options=_size_options(_with(PMEM_SIZES, pmem)),
            value=pmem,
            description=pmem_label,
            style=_STYLE,
            continuous_update=False,
        ),
        "dram": widgets.SelectionSlider(
            options=_size_options(_with(DRAM_SIZES, dram)),
            value=dram,
            description="DRAM size",
            style=_STYLE,
            continuous_update=False,
        ),
        "memmap": widgets.Dropdown(
            options=[("DRAM (--map=mem)", "dram"), ("pmem (--map=dev)", "pmem")],
            value=memmap,
            description="memmap placement",
            style=_STYLE,
        ),
    }


def _set_quietly(explorer, values: dict) -> None:
    """Set several of an explorer's controls, then update once (not once per control)."""
    explorer._quiet = True
    try:
        for name, value in values.items():
            explorer.controls[name].value = value
    finally:
        explorer._quiet = False
    explorer.update()


def _label(r) -> str:
    """A result's name in the chapters' tables: ``"2 + guard"``."""
    return r.spec.label.removeprefix("option ")


def _result_table(results, extra=False) -> str:
    rows = []
    for r in results:
        m = r.metrics
        more = ""
        if extra:
            more = (
                f"<td>{m['descriptor_entries']:,}</td><td>{m['pool_stalls']:,}</td>"
                f"<td>{m['truncate_waits']:,}</td>"
                f"<td>{format_size(m['corrupted_bytes']) if m['corrupted_bytes'] else '0'}</td>"
            )
        if r.feasible:
            t = f"{r.modelled.per_io_ns:,.0f}"
            status = "feasible"
        else:
            t = "&ndash;"
            status = "infeasible: " + html.escape(r.reason)
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(_label(r))}</b></td>"
            f"<td>{t}</td>"
            f"<td>{format_size(m['bytes_cpu_copied']) if m['bytes_cpu_copied'] else '0'}</td>"
            f"<td>{format_size(m['bytes_dma']) if m['bytes_dma'] else '0'}</td>"
            f"<td>{m['allocations']:,}</td>"
            f"<td>{m['gup_pages']:,}</td>"
            f"<td>{format_size(m['memmap_dram_bytes']) if m['memmap_dram_bytes'] else '0'}</td>"
            f"<td>{format_size(m['memmap_pmem_bytes']) if m['memmap_pmem_bytes'] else '0'}</td>"
            f"<td>{format_size(m['transient_dram_peak_bytes']) if m['transient_dram_peak_bytes'] else '0'}</td>"
            f"{more}<td class='daxsim-status'>{status}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>option</th><th>modelled ns per I/O</th><th>CPU-copied</th><th>DMA</th>"
        "<th>page allocations</th><th>GUP pages</th><th>memmap in DRAM</th><th>memmap on pmem</th>"
        "<th>transient DRAM peak</th>"
        + ("<th>descriptor entries</th><th>pool stalls</th><th>truncate waits</th><th>corrupted</th>" if extra else "")
        + "<th>status</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


def _store_table(results) -> str:
    """Option huge's and nvram's extra columns: references, stores, flushes, media lines, memmap wear."""
    rows = []
    for r in results:
        m = r.metrics
        mod = r.modelled
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(_label(r))}</b></td>"
            f"<td>{m['refcount_ops']:,}</td><td>{m['compound_refs']:,}</td>"
            f"<td>{m['stores']:,}</td><td>{format_size(m['bytes_flushed']) if m['bytes_flushed'] else '0'}</td>"
            f"<td>{m['xplines_dirtied']:,}</td>"
            f"<td>{f'{mod.fsync_ns:,.0f}' if mod else '&ndash;'}</td>"
            f"<td>{m['memmap_line_writes']:,}</td><td>{m['memmap_line_max_writes']:,}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>option</th><th>refcount changes</th><th>compound refs</th><th>stores</th>"
        "<th>bytes flushed</th><th>XPLines dirtied</th><th>modelled ns per fsync</th>"
        "<th>memmap line writes</th><th>most writes to one line</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


class Explorer(widgets.VBox):
    """The widget :func:`explorer` returns; ``update()`` re-runs, ``timings`` holds update times (s)."""

    def __init__(
        self,
        options,
        pmem,
        dram,
        memmap,
        workload,
        io_size,
        queue_depth,
        hardware,
        seed,
        ios,
        file_size,
        cost,
        show_report,
        pool_pages=None,
        truncate_rate=None,
        extent_size=False,
        page_size=None,
        memmap_variant=None,
        dirty_granularity=None,
    ):
        self.options = [str(o) for o in options]
        self.specs = [Spec.parse(o) for o in self.options]  # checked here, before any control is drawn
        self.extra = (
            any(s.option in ("1b", "2", "3") for s in self.specs)
            or truncate_rate is not None
            or extent_size is not False
        )
        if workload not in PRESETS:
            raise ValueError(f"workload: {workload!r} is not a preset; accepted: {', '.join(PRESETS)}")
        self.ios = int(ios)
        self.file_size = file_size
        self.base_cost = cost if cost is not None else CostModel()
        self.show_report = show_report
        self.timings: list[float] = []
        self.last_results = []
        self._quiet = False
        preset = preset_values(workload)
        c = self.controls = {
            **_machine_controls(pmem, dram, memmap, "pmem size"),
            "workload": widgets.Dropdown(
                options=list(PRESETS), value=workload, description="workload preset", style=_STYLE
            ),
            "io_size": widgets.SelectionSlider(
                options=[(format_size(s), s) for s in _with(IO_SIZES, io_size or preset["io_size"])],
                value=parse_size(io_size or preset["io_size"]),
                description="I/O size",
                style=_STYLE,
                continuous_update=False,
            ),
            "queue_depth": widgets.SelectionSlider(
                options=list(_with(QUEUE_DEPTHS, queue_depth or preset["queue_depth"])),
                value=queue_depth or preset["queue_depth"],
                description="queue depth",
                style=_STYLE,
                continuous_update=False,
            ),
            "hardware": widgets.Dropdown(
                options=list(HARDWARE), value=hardware, description="hardware (pmem medium)", style=_STYLE
            ),
            "seed": widgets.BoundedIntText(
                value=seed, min=0, max=2**31 - 1, description="seed", style=_STYLE, layout=widgets.Layout(width="180px")
            ),
        }
        if "1b" in self.options:
            pp = 4096 if pool_pages is None else int(pool_pages)
            c["pool_pages"] = widgets.SelectionSlider(
                options=[(f"{p:,} pages", p) for p in _with(POOL_SIZES, pp)],
                value=pp,
                description="1b pool (struct pages)",
                style=_STYLE,
                continuous_update=False,
            )
        if truncate_rate is not None:
            c["truncate_rate"] = widgets.SelectionSlider(
                options=list(_with(TRUNCATE_RATES, float(truncate_rate))),
                value=float(truncate_rate),
                description="truncate rate (per I/O)",
                style=_STYLE,
                continuous_update=False,
            )
        if extent_size is not False:
            ext = None if extent_size is None else format_size(parse_size(extent_size))
            sizes = [None if e is None else format_size(parse_size(e)) for e in EXTENT_SIZES]
            c["extent_size"] = widgets.Dropdown(
                options=[
                    ("one extent" if e is None else f"{e} extents", e)
                    for e in (sizes if ext in sizes else [*sizes, ext])
                ],
                value=ext,
                description="file fragmentation",
                style=_STYLE,
            )
        self.huge = "huge" in self.options
        self.nvram = "nvram" in self.options
        if self.huge:
            c["page_size"] = widgets.Dropdown(
                options=[("4 KiB", "4K"), ("2 MiB", "2M"), ("1 GiB", "1G")],
                value=page_size or "2M",
                description="huge: page size",
                style=_STYLE,
            )
            c["memmap_variant"] = widgets.Dropdown(
                options=list(hugepages.VARIANTS),
                value=memmap_variant or "base",
                description="huge: memmap variant",
                style=_STYLE,
            )
            c["dirty_granularity"] = widgets.Dropdown(
                options=[("per mapping unit", "mapping"), ("per 4 KiB", "4k")],
                value=dirty_granularity or "mapping",
                description="huge: dirty tracking",
                style=_STYLE,
            )
        figs = self.base_cost.figures()
        self.cost_controls = {
            k: widgets.BoundedFloatText(
                value=figs[k].value,
                min=1e-3,
                max=1e9,
                description=f"{k} ({figs[k].unit})",
                style=_STYLE,
                layout=widgets.Layout(width="300px"),
            )
            for k in EDITABLE_COSTS
        }
        self.result = widgets.HTML(value="")
        self.result.add_class("daxsim-result")
        note = widgets.HTML(value=f"<small><i>{html.escape(STATIC_NOTE)}</i></small>")
        cost_box = widgets.Accordion(
            children=[
                widgets.VBox(
                    [
                        widgets.HTML("<small>Changed values are labelled assumptions in the report.</small>"),
                        *self.cost_controls.values(),
                    ]
                )
            ]
        )
        cost_box.set_title(0, "cost-model figures (editable)")
        cost_box.selected_index = None
        grid = widgets.GridBox(
            list(c.values()), layout=widgets.Layout(grid_template_columns="repeat(2, minmax(300px, 1fr))")
        )
        super().__init__([note, grid, cost_box, self.result])
        for k, w in c.items():
            w.observe(self._on_preset if k == "workload" else self._on_change, names="value")
        for w in self.cost_controls.values():
            w.observe(self._on_change, names="value")
        self.update()

    # --- callbacks -----------------------------------------------------------------------

    def _on_preset(self, change):
        preset = preset_values(change["new"])
        _set_quietly(self, {"io_size": preset["io_size"], "queue_depth": preset["queue_depth"]})

    def _on_change(self, change):
        if not self._quiet:
            self.update()

    # --- the run -------------------------------------------------------------------------

    def settings(self):
        """The machine, workload, hardware and cost model the controls describe."""
        c = {k: w.value for k, w in self.controls.items()}
        machine = Machine(pmem=c["pmem"], dram=c["dram"], memmap=c["memmap"], align="1G" if self.huge else "2M")
        io_size = int(c["io_size"])
        qd = int(c["queue_depth"])
        ios = max(qd, min(self.ios, BYTE_BUDGET // io_size))
        more = {k: c[k] for k in ("truncate_rate", "extent_size") if k in c}
        workload = Workload.from_preset(
            c["workload"],
            ios=ios,
            io_size=io_size,
            queue_depth=qd,
            seed=int(c["seed"]),
            file_size=_file_for(self.file_size, io_size, qd),
            **more,
        )
        figs = self.base_cost.figures()
        changed = {k: w.value for k, w in self.cost_controls.items() if w.value != figs[k].value}
        cost = self.base_cost.replace(**changed) if changed else self.base_cost
        return machine, workload, c["hardware"], cost

    def update(self):
        """Re-run every option with the current settings and redraw the result."""
        t0 = time.perf_counter()
        try:
            machine, workload, hw, cost = self.settings()
            data = workload.ios * workload.io_size <= BYTE_BUDGET
            pool = self.controls["pool_pages"].value if "pool_pages" in self.controls else None
            given = {
                "pool_pages": pool,
                **{
                    k: self.controls[k].value
                    for k in ("page_size", "memmap_variant", "dirty_granularity")
                    if k in self.controls
                },
            }
            results = [
                run(
                    Spec.of(s, **{k: v for k, v in given.items() if s.design.param(k)}),
                    machine,
                    workload,
                    hardware=hw,
                    cost=cost,
                    data=data,
                )
                for s in self.specs
            ]
        except ValueError as e:
            self.last_results = []
            self.result.value = f"<p class='daxsim-error'><b>error:</b> {html.escape(str(e))}</p>"
            self.timings.append(time.perf_counter() - t0)
            return
        self.last_results = results
        reports = ""
        if self.show_report:
            text = "\n\n".join(
                "\n".join(line for line in text_report(r).splitlines() if "emulator wall time" not in line)
                for r in results
            )
            reports = (
                f"<details><summary>text report (parameters first)</summary><pre>{html.escape(text)}</pre></details>"
            )
        assumed = [k for k, f in cost.figures().items() if f.source == "reader"]
        flag = f"<p><small>Assumptions changed by you: {html.escape(', '.join(assumed))}</small></p>" if assumed else ""
        what = html.escape(
            f"{machine!r}; {workload.preset} ios={workload.ios} io_size={format_size(workload.io_size)} "
            f"file_size={format_size(workload.file_size)} queue_depth={workload.queue_depth} "
            f"seed={workload.seed}; hardware={hw}"
            + (f"; truncate_rate={workload.truncate_rate:g}" if workload.truncate_rate else "")
            + (f"; extent_size={format_size(workload.extent_size)}" if workload.extent_size else "")
            + (
                ""
                if data
                else "; metadata path only (bytes not copied, same counters"
                + (", corruption not checked)" if workload.truncate_rate else ")")
            )
        )
        more = _store_table(results) if (self.huge or self.nvram) else ""
        self.result.value = f"<p><small>{what}</small></p>{_result_table(results, self.extra)}{more}{flag}{reports}"
        self.timings.append(time.perf_counter() - t0)


def _with(values, extra):
    """``values`` with ``extra`` added (kept sorted by size) if it is not already there."""
    if extra is None or extra in values:
        return tuple(values)
    return tuple(sorted((*values, extra), key=lambda v: parse_size(v) if isinstance(v, str) else v))


def explorer(
    options=("0", "1a"),
    pmem="400G",
    dram="16G",
    memmap="dram",
    workload="rand-4k",
    io_size=None,
    queue_depth=None,
    hardware=DEFAULT_HARDWARE,
    seed=1,
    ios=200,
    file_size="64M",
    cost=None,
    show_report=True,
    pool_pages=None,
    truncate_rate=None,
    extent_size=False,
    page_size=None,
    memmap_variant=None,
    dirty_granularity=None,
) -> Explorer:
    """A live explorer: controls that re-run :func:`daxsim.compare` for ``options``.

    Parameters
    ----------
    options : the option specs compared side by side (``daxsim.OPTIONS`` lists the options).
    pmem, dram : initial sizes (strings as :func:`daxsim.parse_size` reads them).
    memmap : ``"dram"`` (``--map=mem``) or ``"pmem"`` (``--map=dev``).
    workload : a preset name (:data:`daxsim.PRESETS`); its I/O size and queue depth
        become the sliders' values unless ``io_size`` / ``queue_depth`` are given.
    hardware : the pmem medium's profile (:data:`daxsim.HARDWARE`).
    seed, ios, file_size : the workload's seed, number of I/Os and DAX file size. Kept
        small so that an update takes well under 150 ms: with large I/Os the number of
        I/Os is cut to what fits in 16 MiB (never below one queue), and a queue that
        still moves more runs the metadata path only (the same counters, no bytes copied).
        The file grows when the queue needs more (twice the bytes in flight).
    cost : the starting :class:`~daxsim.CostModel` (its editable figures get fields).
    show_report : add the text report of each run under the table.
    pool_pages : option 1b's starting pool size; with 1b among ``options`` a slider sets it.
    truncate_rate : if given, a slider for the workload's truncate rate (truncate faults
        racing with the I/O); ``"2+guard"`` in ``options`` is option 2 with its range lock.
    extent_size : if given (``None`` = one extent), a dropdown for the file's fragmentation.
    page_size, memmap_variant, dirty_granularity : option ``huge``'s starting knobs; with
        ``"huge"`` among ``options`` dropdowns set them (the machine is then aligned to 1 GiB).

    With any of options 1b, 2, 3 or these knobs, the table adds descriptor entries, pool
    stalls, truncate waits and corrupted bytes. With ``"huge"`` or ``"nvram"``, a second
    table gives references, stores, bytes flushed, XPLines, fsync time and memmap wear.
    """
    return Explorer(
        options,
        pmem,
        dram,
        memmap,
        workload,
        io_size,
        queue_depth,
        hardware,
        seed,
        ios,
        file_size,
        cost,
        show_report,
        pool_pages,
        truncate_rate,
        extent_size,
        page_size,
        memmap_variant,
        dirty_granularity,
    )


#: what power-loss runs take (:mod:`daxsim.study.powerloss`), and the pmem they run on: recovery
#: initialises the whole memmap again, so the machine is kept small (its memmap is 16 MiB)
POWERLOSS_OPTIONS = tuple(k for k, d in DESIGNS.items() if d.power_loss)
POWERLOSS_MACHINE = ("1G", "1G")
_LIVE_NOTE = (
    "Live only: every change re-runs daxsim in this page's Python kernel (JupyterLab, Voila, Binder). "
    "In the static book these controls do nothing; the precomputed chart below them is interactive."
)


def _file_for(file_size, io_size: int, queue_depth: int) -> int:
    """The explorers' DAX file: ``file_size``, grown to :func:`daxsim.emu.workload.queue_file_size`
    when the queue needs more. The reader moves the sliders; the file follows."""
    return max(parse_size(file_size, "file_size"), queue_file_size(io_size, queue_depth))


def _size(b) -> str:
    return format_size(int(b)) if b else "0"


class LiveExplorer(widgets.VBox):
    """The widget :func:`live_explorer` returns.

    ``update()`` re-runs the chosen options and redraws the table (an ``HTML`` widget
    with the CSS class ``daxsim-result``) and the chart (an ``HTML`` widget holding an
    SVG, ``daxsim-live-chart``); ``cut_power()`` runs the power-loss check into
    ``daxsim-powerloss``. ``timings`` holds the update times (s), ``last_frame`` the
    :func:`daxsim.book.explore.comparison_frame` last shown (None after an error),
    ``last_power`` the power-loss outcome per option (``crash`` and ``recover``'s keys).
    """

    def __init__(
        self, options, pmem, dram, memmap, workload, ops, hardware, truncate_rate, seed, ios, file_size, chart
    ):
        chosen = [str(o) for o in options]
        for o in chosen:
            explore.parse_spec(o)
        if workload not in PRESETS:
            raise ValueError(f"workload: {workload!r} is not a preset; accepted: {', '.join(PRESETS)}")
        if hardware not in HARDWARE:
            raise ValueError(f"hardware: {hardware!r} is not a known profile; accepted: {', '.join(HARDWARE)}")
        self.ios = int(ios)
        self.file_size = file_size
        self.chart = chart
        self.timings: list[float] = []
        self.last_frame = None
        self.last_power = None
        self._quiet = False
        preset = preset_values(workload)
        self.option_boxes = {
            spec: widgets.Checkbox(
                value=spec in chosen,
                description=explore.spec_label(spec),
                indent=False,
                layout=widgets.Layout(width="150px"),
            )
            for spec in explore.SPECS
        }
        tr = float(truncate_rate)
        c = self.controls = {
            **_machine_controls(pmem, dram, memmap, "pmem (DIMM) size"),
            "hardware": widgets.Dropdown(
                options=list(HARDWARE), value=hardware, description="hardware (pmem medium)", style=_STYLE
            ),
            "workload": widgets.Dropdown(
                options=list(PRESETS), value=workload, description="workload preset", style=_STYLE
            ),
            "io_size": widgets.SelectionSlider(
                options=[(format_size(s), s) for s in _with(IO_SIZES, preset["io_size"])],
                value=preset["io_size"],
                description="I/O size",
                style=_STYLE,
                continuous_update=False,
            ),
            "queue_depth": widgets.SelectionSlider(
                options=list(_with(QUEUE_DEPTHS, preset["queue_depth"])),
                value=preset["queue_depth"],
                description="queue depth",
                style=_STYLE,
                continuous_update=False,
            ),
            "truncate_rate": widgets.SelectionSlider(
                options=list(_with(TRUNCATE_RATES, tr)),
                value=tr,
                description="truncate faults (per I/O)",
                style=_STYLE,
                continuous_update=False,
            ),
            "ops": widgets.Text(
                value=ops or "",
                placeholder="e.g. w0:8k,r8k:4k,t0:4k (overrides the preset)",
                description="operation string",
                style=_STYLE,
                continuous_update=False,
                layout=widgets.Layout(width="420px"),
            ),
            "seed": widgets.BoundedIntText(
                value=seed, min=0, max=2**31 - 1, description="seed", style=_STYLE, layout=widgets.Layout(width="180px")
            ),
        }
        c["ops"].add_class("daxsim-ops")
        self.result = widgets.HTML(value="")
        self.result.add_class("daxsim-result")
        self.chart_view = widgets.HTML(value="")
        self.chart_view.add_class("daxsim-live-chart")
        self.power_button = widgets.Button(
            description="cut the power",
            button_style="warning",
            tooltip="crash half-way through the workload, boot again, check the bytes",
        )
        self.power_button.add_class("daxsim-cut-power")
        self.power = widgets.HTML(value="")
        self.power.add_class("daxsim-powerloss")
        power_box = widgets.VBox(
            [
                widgets.HTML(
                    f"<small>Power loss: options {', '.join(POWERLOSS_OPTIONS)} on a "
                    f"{format_size(parse_size(POWERLOSS_MACHINE[0]))} file-backed pmem (recovery initialises "
                    "the whole memmap again), the workload's I/Os without truncates, stopped dead half-way. "
                    "Every byte of every completed I/O must survive.</small>"
                ),
                self.power_button,
                self.power,
            ]
        )
        grid = widgets.GridBox(
            list(c.values()), layout=widgets.Layout(grid_template_columns="repeat(2, minmax(300px, 1fr))")
        )
        options_box = widgets.VBox(
            [
                widgets.HTML("<b>options</b>"),
                widgets.HBox(list(self.option_boxes.values()), layout=widgets.Layout(flex_flow="row wrap")),
            ]
        )
        note = widgets.HTML(value=f"<small><i>{html.escape(_LIVE_NOTE)}</i></small>")
        super().__init__([note, options_box, grid, self.result, self.chart_view, power_box])
        for k, w in c.items():
            w.observe(self._on_preset if k == "workload" else self._on_change, names="value")
        for w in self.option_boxes.values():
            w.observe(self._on_change, names="value")
        self.power_button.on_click(lambda _: self.cut_power())
        self.update(first=True)

    def _on_preset(self, change):
        preset = preset_values(change["new"])
        _set_quietly(self, {"io_size": preset["io_size"], "queue_depth": preset["queue_depth"], "ops": ""})

    def _on_change(self, change):
        if not self._quiet:
            self.update()

    def chosen(self) -> list[str]:
        """The option specs ticked, in :data:`daxsim.book.explore.SPECS` order."""
        return [s for s, box in self.option_boxes.items() if box.value]

    def settings(self):
        """The machine, workload and hardware the controls describe (ValueError if they are bad)."""
        c = {k: w.value for k, w in self.controls.items()}
        machine = Machine(
            pmem=c["pmem"], dram=c["dram"], memmap=c["memmap"], align="1G" if "huge" in self.chosen() else "2M"
        )
        qd = int(c["queue_depth"])
        ops = c["ops"].strip()
        if ops:
            workload = Workload(ops=ops, queue_depth=qd, file_size=self.file_size, seed=int(c["seed"]))
        else:
            io_size = int(c["io_size"])
            workload = Workload.from_preset(
                c["workload"],
                ios=max(qd, min(self.ios, BYTE_BUDGET // io_size)),
                io_size=io_size,
                queue_depth=qd,
                seed=int(c["seed"]),
                file_size=_file_for(self.file_size, io_size, qd),
                truncate_rate=float(c["truncate_rate"]),
            )
        return machine, workload, c["hardware"]

    def _error(self, e: Exception, where):
        where.value = f"<p class='daxsim-error'><b>error:</b> {html.escape(str(e))}</p>"

    def _view_key(self, machine, workload, hw, data) -> dict:
        return {
            "machine": sorted(machine.params().items()),
            "workload": sorted(workload.params().items()),
            "hardware": hw,
            "data": data,
            "options": tuple(self.chosen()),
        }

    def update(self, first: bool = False):
        """Re-run every chosen option with the current settings; redraw the table and the chart.
        ``first``: the explorer's first view, read from the precomputed cache when it is there."""
        t0 = time.perf_counter()
        try:
            machine, workload, hw = self.settings()
            op, _, length = workload.generate()
            # bytes can only go astray when a truncate races with the I/O: copy and check
            # them then; otherwise the metadata path gives the same counters, faster
            faults = bool((op == OP_TRUNC).any())
            data = faults and int(length.sum()) <= BYTE_BUDGET

            def compare():
                return explore.comparison_frame(
                    explore.compare_specs(self.chosen(), machine, workload, hardware=hw, data=data)
                )

            # the first view comes from the precomputed cache (daxsim.book.precompute): the same
            # frame this code computes, without loading every kernel before the page shows
            df = cached("live_comparison", self._view_key(machine, workload, hw, data), compare) if first else compare()
        except ValueError as e:
            self.last_frame = None
            self._error(e, self.result)
            self.chart_view.value = ""
            self.timings.append(time.perf_counter() - t0)
            return
        self.last_frame = df
        what = (
            f"{machine!r}; "
            + (
                f"ops={workload.ops!r}"
                if workload.ops
                else f"{workload.preset} ios={workload.ios} io_size={format_size(workload.io_size)}"
                f" file_size={format_size(workload.file_size)}"
            )
            + f" queue_depth={workload.queue_depth} seed={workload.seed}; hardware={hw}"
            + (f"; truncate_rate={workload.truncate_rate:g}" if workload.truncate_rate else "")
            + ("; the operation string sets the faults (the truncate slider is ignored)" if workload.ops else "")
            + (
                "; data copied and checked"
                if data
                else "; metadata path only (bytes not copied, corruption not checked)"
                if faults
                else "; metadata path (no truncate fault: no byte can go astray, the counters are the data path's)"
            )
        )
        self.result.value = (
            f"<p><small>{html.escape(what)}</small></p>{_live_table(df)}"
            f"<p class='daxsim-verdict'>{html.escape(_verdict(df))}</p>"
        )
        if self.chart:
            self._draw(df, machine, workload, hw, first)
        self.timings.append(time.perf_counter() - t0)

    def _draw(self, df, machine, workload, hw, first=False):
        """The chart as SVG drawn here by Vega (vl_convert): no script in the page, so it shows
        in Voila, JupyterLab and the static book's saved widget state alike."""
        import vl_convert

        from daxsim.book.bookassets import vegalite_version
        from daxsim.book.render import themed

        spec = explore.live_chart_spec(
            df,
            title=f"{format_size(machine.pmem)} pmem, {format_size(machine.dram)} "
            f"DRAM, {hw}, {workload.ops or workload.preset}",
        )

        def draw():
            return vl_convert.vegalite_to_svg(themed(spec), vl_version=vegalite_version())

        svg = cached("live_chart", {"spec": json.dumps(spec, sort_keys=True, default=str)}, draw) if first else draw()
        self.chart_view.value = f"<div class='daxsim-live-svg'>{svg}</div>"

    def cut_power(self):
        """Crash each chosen power-loss option half-way through the workload, boot again, check."""
        try:
            machine, workload, _ = self.settings()
            machine = Machine(*POWERLOSS_MACHINE, memmap=machine.memmap)
            if not workload.ops:
                workload = workload.replace(truncate_rate=0.0)
            events = len(workload.generate()[0])
            stop = max(1, events // 2)
            rows = []
            with tempfile.TemporaryDirectory(prefix="daxsim-powerloss-") as tmp:
                for spec in self.chosen():
                    s = explore.parse_spec(spec)
                    option = s.option
                    if not s.design.power_loss or s.non_default():
                        continue
                    m = machine.replace(pmem_file=str(Path(tmp) / f"pmem-{option}.img"))
                    before = powerloss.crash(option, m, workload, stop_after=stop)
                    after = powerloss.recover(option, m, workload, completed=before["completed"])
                    rows.append((explore.spec_label(spec), before, after))
        except ValueError as e:
            self.last_power = None
            self._error(e, self.power)
            return
        self.last_power = {label: {**b, **a} for label, b, a in rows}
        if not rows:
            self.power.value = (
                f"<p class='daxsim-error'>Tick one of options {', '.join(POWERLOSS_OPTIONS)} to run power loss.</p>"
            )
            return
        body = "".join(
            f"<tr><td><b>{html.escape(label)}</b></td><td>{b['submitted']}</td><td>{b['completed']}</td>"
            f"<td>{b['inflight_lost']}</td><td>{_size(a['bytes_checked'])}</td>"
            f"<td class='daxsim-lost'>{a['bytes_lost']:,}</td><td>{a['stale_struct_pages']:,}</td>"
            f"<td>{a['memmap_reinit_s'] * 1e3:,.1f}</td></tr>"
            for label, b, a in rows
        )
        self.power.value = (
            f"<p><small>{html.escape(repr(machine))} with file-backed pmem; power cut after event {stop} of {events}"
            "</small></p><table class='daxsim-result-table'><tr><th>option</th><th>I/Os submitted</th>"
            "<th>completed</th><th>lost in flight</th><th>bytes checked</th><th>bytes lost</th>"
            "<th>stale struct pages (memmap on pmem)</th><th>memmap re-init (ms, emulator)</th></tr>"
            f"{body}</table>"
        )


def _live_table(df) -> str:
    rows = []
    for r in df.itertuples():
        t = "&ndash;" if r.status == "infeasible" else f"{r.per_io_ns:,.0f}"
        status = html.escape(r.status + (f": {r.reason}" if r.reason else ""))
        rows.append(
            f"<tr class='daxsim-row' data-option='{html.escape(r.label)}'><td><b>{html.escape(r.label)}</b></td>"
            f"<td class='daxsim-status'>{status}</td><td class='daxsim-ns'>{t}</td><td>{_size(r.dram_held_bytes)}</td>"
            f"<td>{_size(r.memmap_dram_bytes)}</td><td>{_size(r.memmap_pmem_bytes)}</td>"
            f"<td>{_size(r.transient_dram_peak_bytes)}</td><td>{_size(r.bytes_cpu_copied)}</td>"
            f"<td class='daxsim-truncates'>{r.truncates:,}</td><td>{r.truncate_waits:,}</td>"
            f"<td class='daxsim-corrupted'>{_size(r.corrupted_bytes)}</td></tr>"
        )
    head = (
        "<tr><th>option</th><th>status</th><th>modelled ns per I/O</th><th>DRAM held</th><th>memmap in DRAM</th>"
        "<th>memmap on pmem</th><th>transient DRAM peak</th><th>CPU-copied</th><th>truncates</th>"
        "<th>truncate waits</th><th>corrupted</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


def _verdict(df) -> str:
    """One line: the fastest and the leanest option among the feasible, safe ones."""
    ok = df[df["status"] == STATUSES[0]]
    if ok.empty:
        return "No option chosen is both feasible and safe here."
    fast = ok.loc[ok["per_io_ns"].idxmin()]
    lean = ok.loc[ok["dram_held_bytes"].idxmin()]
    return (
        f"Fastest feasible and safe: {fast['label']} ({fast['per_io_ns']:,.0f} ns per I/O). "
        f"Least DRAM held: {lean['label']} ({_size(lean['dram_held_bytes'])})."
    )


def live_explorer(
    options=explore.SPECS,
    pmem="400G",
    dram="16G",
    memmap="dram",
    workload="rand-4k",
    ops=None,
    hardware=DEFAULT_HARDWARE,
    truncate_rate=0.0,
    seed=1,
    ios=200,
    file_size="64M",
    chart=True,
) -> LiveExplorer:
    """The live explorer: every option side by side, re-run whenever a control changes.

    Parameters
    ----------
    options : the option specs ticked at first (:data:`daxsim.book.explore.SPECS`; ``"2+guard"``
        is option 2 with its range lock); every spec gets a checkbox.
    pmem, dram, memmap : the machine (sizes as :func:`daxsim.parse_size` reads them;
        memmap ``"dram"`` or ``"pmem"``).
    workload : a preset (:data:`daxsim.PRESETS`); it sets the I/O size and queue depth sliders.
    ops : an operation string (``"w0:8k,r8k:4k,t0:4k"``) that replaces the preset; a bad
        one shows its one-line error in place of the table.
    hardware : the pmem medium's profile (:data:`daxsim.HARDWARE`).
    truncate_rate : truncate faults racing with each I/O (0..1).
    seed, ios, file_size : the workload's seed, number of I/Os (cut to what fits in 16 MiB
        of data) and DAX file size: kept small so an update stays well under 150 ms; the
        file grows when the queue needs more (twice the bytes in flight).
    chart : draw the chart (DRAM held against modelled time per I/O) under the table.

    The table gives each option's status (feasible, hazard, infeasible with the reason),
    modelled time per I/O, DRAM held and its parts, copies, truncate waits and corrupted
    bytes; a line under it names the fastest and the leanest feasible, safe option. The
    "cut the power" button runs :mod:`daxsim.study.powerloss` for the options it takes.
    """
    return LiveExplorer(
        options, pmem, dram, memmap, workload, ops, hardware, truncate_rate, seed, ios, file_size, chart
    )


def predict(question: str, answer: float, unit: str = "", explanation: str = "") -> widgets.VBox:
    """OSTEP's "predict, then reveal": type a guess, press the button, see daxsim's number.

    Live only (the button needs a kernel); chapters also give the answer in a
    ``{dropdown}`` for the static book.
    """
    guess = widgets.FloatText(description="your guess", style=_STYLE, layout=widgets.Layout(width="240px"))
    button = widgets.Button(description="reveal", button_style="info")
    out = widgets.HTML(value="")
    out.add_class("daxsim-reveal")

    def reveal(_):
        g = guess.value
        ratio = f" (your guess is {g / answer:.2g}&times; that)" if answer and g else ""
        out.value = f"<p><b>daxsim: {answer:,.6g} {html.escape(unit)}</b>{ratio}</p>" + (
            f"<p>{html.escape(explanation)}</p>" if explanation else ""
        )

    button.on_click(reveal)
    note = widgets.HTML(value=f"<small><i>{html.escape(STATIC_NOTE)}</i></small>")
    return widgets.VBox([note, widgets.HTML(f"<p>{html.escape(question)}</p>"), widgets.HBox([guess, button]), out])
