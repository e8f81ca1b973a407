"""The chapters' explorer: a few options side by side, every counter of their runs.

:func:`explorer` returns an :class:`Explorer`: controls for the machine (pmem and DRAM
size, memmap placement), the workload (preset, I/O size, queue depth, seed), the kernel
era, the hardware profile, a few cost-model figures, and each chapter's knobs (option
1b's pool, truncate faults, fragmentation, huge pages' page size, vmemmap variant and
dirty tracking), and a result that re-runs :func:`daxsim.run` for each option whenever a
control changes: one table row per option (infeasible runs with the kernel's reason,
never dropped), the stores table for huge and nvram, and the OSTEP-style text report.
"""

from __future__ import annotations

import html
import time

import ipywidgets as widgets

from daxsim.emu import hugepages
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE, CostModel
from daxsim.emu.machine import Machine
from daxsim.study.spec import Spec
from daxsim.study.report import text_report
from daxsim.study.api import run
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import PRESETS, Workload, preset_values
from daxsim.book.widgets.common import (
    BYTE_BUDGET,
    EDITABLE_COSTS,
    EXTENT_SIZES,
    IO_SIZES,
    POOL_SIZES,
    QUEUE_DEPTHS,
    STATIC_NOTE,
    TRUNCATE_RATES,
    _STYLE,
    _file_for,
    _kernel_control,
    _machine_controls,
    _set_quietly,
    _with,
)

from daxsim.model.eras import DEFAULT_ERA
from daxsim.book.widgets.tables import result_table, store_table

__all__ = ["Explorer", "explorer"]


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
        kernel=DEFAULT_ERA,
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
            "kernel": _kernel_control(kernel),
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
                    kernel=self.controls["kernel"].value,
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
            f"seed={workload.seed}; hardware={hw}; kernel={self.controls['kernel'].value}"
            + (f"; truncate_rate={workload.truncate_rate:g}" if workload.truncate_rate else "")
            + (f"; extent_size={format_size(workload.extent_size)}" if workload.extent_size else "")
            + (
                ""
                if data
                else "; metadata path only (bytes not copied, same counters"
                + (", corruption not checked)" if workload.truncate_rate else ")")
            )
        )
        more = store_table(results) if (self.huge or self.nvram) else ""
        self.result.value = f"<p><small>{what}</small></p>{result_table(results, self.extra)}{more}{flag}{reports}"
        self.timings.append(time.perf_counter() - t0)


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
    kernel=DEFAULT_ERA,
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
    kernel : the kernel era modelled (:data:`daxsim.model.eras.ERAS`, as ``--kernel`` takes
        them; default the newest release); a dropdown changes it.

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
        kernel,
    )
