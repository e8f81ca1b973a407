"""The live explorer: every option on one machine, its status, DRAM held and time, a chart and a power cut.

:func:`live_explorer` returns a :class:`LiveExplorer`: a checkbox per option spec
(:data:`daxsim.book.explore.SPECS`), the machine, the kernel era, the medium, a workload
(a preset or an operation string) and truncate faults. Each change re-runs the ticked
options (:func:`daxsim.book.explore.compare_specs`) and redraws a table (the CSS class
``daxsim-result``; a browser test reads it), a one-line verdict ranked as
:mod:`daxsim.book.verdict` ranks (time per operation, the same safety rule) and the
chart of DRAM held against time. "Cut the power" crashes the options that take it
(:mod:`daxsim.study.powerloss`) half-way and checks every byte of every completed I/O.
"""

from __future__ import annotations

import html
import tempfile
import time
from pathlib import Path

import ipywidgets as widgets

from daxsim.book import explore
from daxsim.model.eras import DEFAULT_ERA
from daxsim.book.precompute import cached
from daxsim.study import powerloss
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE
from daxsim.emu.machine import Machine
from daxsim.paths.registry import DESIGNS
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import OP_TRUNC, PRESETS, Workload, preset_values
from daxsim.book.widgets.common import (
    BYTE_BUDGET,
    IO_SIZES,
    QUEUE_DEPTHS,
    TRUNCATE_RATES,
    _STYLE,
    _file_for,
    _kernel_control,
    _machine_controls,
    _set_quietly,
    _with,
)

from daxsim.book.widgets.tables import live_table, power_table, verdict_line

__all__ = ["POWERLOSS_MACHINE", "POWERLOSS_OPTIONS", "LiveExplorer", "live_explorer"]


#: what power-loss runs take (:mod:`daxsim.study.powerloss`), and the pmem they run on: recovery
#: initialises the whole memmap again, so the machine is kept small (its memmap is 16 MiB)
POWERLOSS_OPTIONS = tuple(k for k, d in DESIGNS.items() if d.power_loss)
POWERLOSS_MACHINE = ("1G", "1G")
_LIVE_NOTE = (
    "Live only: every change re-runs daxsim in this page's Python kernel (JupyterLab, Voila, Binder). "
    "In the static book these controls do nothing; the precomputed chart below them is interactive."
)


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
        self,
        options,
        pmem,
        dram,
        memmap,
        workload,
        ops,
        hardware,
        truncate_rate,
        seed,
        ios,
        file_size,
        chart,
        kernel=DEFAULT_ERA,
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
            "kernel": _kernel_control(kernel),
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

    @property
    def kernel(self) -> str:
        """The kernel era chosen (a name of :data:`daxsim.model.eras.ERAS`)."""
        return self.controls["kernel"].value

    def _error(self, e: Exception, where):
        where.value = f"<p class='daxsim-error'><b>error:</b> {html.escape(str(e))}</p>"

    def _view_key(self, machine, workload, hw, data) -> dict:
        return {
            "machine": sorted(machine.params().items()),
            "workload": sorted(workload.params().items()),
            "hardware": hw,
            "kernel": self.kernel,
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
                    explore.compare_specs(self.chosen(), machine, workload, hardware=hw, data=data, kernel=self.kernel)
                )

            # the first view comes from the precomputed cache (daxsim.book.precompute): the same
            # frame this code computes, without loading every kernel before the page shows
            key = self._view_key(machine, workload, hw, data) if first else None
            df = cached("live_comparison", key, compare) if key is not None else compare()
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
            + f" queue_depth={workload.queue_depth} seed={workload.seed}; hardware={hw}; kernel={self.kernel}"
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
            f"<p><small>{html.escape(what)}</small></p>{live_table(df)}"
            f"<p class='daxsim-verdict'>{html.escape(verdict_line(df))}</p>"
        )
        if self.chart:
            self._draw(df, machine, workload, hw, key)
        self.timings.append(time.perf_counter() - t0)

    def _draw(self, df, machine, workload, hw, first: dict | None = None):
        """The chart as SVG drawn here by Vega (vl_convert): no script in the page, so it shows
        in Voila, JupyterLab and the static book's saved widget state alike. ``first``: the
        first view's key (``_view_key``), whose SVG is read from the precomputed cache: the
        view and the title fix the frame and so the chart, which is then not even built."""
        import vl_convert

        from daxsim.book.bookassets import vegalite_version
        from daxsim.book.render import themed

        title = (
            f"{format_size(machine.pmem)} pmem, {format_size(machine.dram)} "
            f"DRAM, {hw}, {workload.ops or workload.preset}, Linux {self.kernel}"
        )

        def draw():
            spec = explore.live_chart_spec(df, title=title)
            return vl_convert.vegalite_to_svg(themed(spec), vl_version=vegalite_version())

        svg = cached("live_chart", {**first, "title": title}, draw) if first is not None else draw()
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
                    before = powerloss.crash(option, m, workload, stop_after=stop, kernel=self.kernel)
                    after = powerloss.recover(option, m, workload, completed=before["completed"], kernel=self.kernel)
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
        self.power.value = (
            f"<p><small>{html.escape(repr(machine))} with file-backed pmem; power cut after event {stop} of {events}"
            f"</small></p>{power_table(rows)}"
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
    kernel=DEFAULT_ERA,
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
    chart : draw the chart (DRAM held against modelled time per operation) under the table.
    kernel : the kernel era modelled (:data:`daxsim.model.eras.ERAS`; default the newest
        release, :data:`~daxsim.model.eras.DEFAULT_ERA`); a dropdown changes it.

    The table gives each option's status (feasible, hazard, infeasible with the reason),
    modelled time per operation (I/Os, stores and fsyncs), DRAM held and its parts, copies,
    truncate waits and corrupted bytes; a line under it names the fastest and the leanest
    feasible, safe option as :mod:`daxsim.book.verdict` judges them (option 2 without its
    guard never is). The "cut the power" button runs :mod:`daxsim.study.powerloss` for the
    options it takes, at the chosen era.
    """
    return LiveExplorer(
        options, pmem, dram, memmap, workload, ops, hardware, truncate_rate, seed, ios, file_size, chart, kernel
    )
