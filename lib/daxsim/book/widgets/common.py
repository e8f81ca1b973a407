"""What the explorers share: the values their sliders offer, the machine's controls, and small helpers.

The sizes are strings as :func:`daxsim.parse_size` reads them; :data:`BYTE_BUDGET` bounds
what one update copies (above it an explorer runs the metadata path: the same counters,
no bytes). :func:`_machine_controls` draws the machine (pmem, DRAM, memmap placement:
``--map=mem`` or ``--map=dev``), :func:`_kernel_control` the kernel era
(:data:`daxsim.model.eras.ERAS`, the newest release first chosen), :func:`_set_quietly` moves several controls with one
re-run, :func:`_file_for` grows the DAX file to what the queue keeps in flight.
"""

from __future__ import annotations

import ipywidgets as widgets

from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import queue_file_size
from daxsim.model.eras import DEFAULT_ERA, ERAS, era

__all__ = [
    "BYTE_BUDGET",
    "DRAM_SIZES",
    "EDITABLE_COSTS",
    "EXTENT_SIZES",
    "IO_SIZES",
    "PMEM_SIZES",
    "POOL_SIZES",
    "QUEUE_DEPTHS",
    "STATIC_NOTE",
    "TRUNCATE_RATES",
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


def _kernel_control(kernel=DEFAULT_ERA) -> widgets.Dropdown:
    """The kernel era as a dropdown: every era of :data:`daxsim.model.eras.ERAS` (as ``--kernel``
    takes them), labelled with its release date or "proposed"; ``kernel`` is checked here."""
    chosen = era(kernel).name
    return widgets.Dropdown(
        options=[(f"{e.name} ({e.released})", e.name) for e in ERAS.values()],
        value=chosen,
        description="kernel era",
        style=_STYLE,
    )


def _set_quietly(explorer, values: dict) -> None:
    """Set several of an explorer's controls, then update once (not once per control)."""
    explorer._quiet = True
    try:
        for name, value in values.items():
            explorer.controls[name].value = value
    finally:
        explorer._quiet = False
    explorer.update()


def _with(values, extra):
    """``values`` with ``extra`` added (kept sorted by size) if it is not already there."""
    if extra is None or extra in values:
        return tuple(values)
    return tuple(sorted((*values, extra), key=lambda v: parse_size(v) if isinstance(v, str) else v))


def _file_for(file_size, io_size: int, queue_depth: int) -> int:
    """The explorers' DAX file: ``file_size``, grown to :func:`daxsim.emu.workload.queue_file_size`
    when the queue needs more. The reader moves the sliders; the file follows."""
    return max(parse_size(file_size, "file_size"), queue_file_size(io_size, queue_depth))


def _size(b) -> str:
    return format_size(int(b)) if b else "0"
