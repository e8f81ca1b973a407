"""Stage 1, prepare: the whole request checked, what the kernel would set aside
(accounting) and whether the machine can do it (feasibility, the host's memory too). No
numba, no emulation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from daxsim.emu import hugepages
from daxsim.emu.machine import Machine, NamespaceLayout
from daxsim.emu.memory import host_available_bytes
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, format_size
from daxsim.emu.workload import (
    DEFAULT_PRESET,
    OP_READ,
    OP_WRITE,
    Workload,
)
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE, CostModel, HardwareProfile, hardware_profile
from daxsim.model.eras import DEFAULT_ERA, Era, era
from daxsim.study.pieces import Touched
from daxsim.study.spec import Spec


class InvariantError(RuntimeError):
    """A run broke an invariant its option guarantees (a bug in daxsim, never an input error)."""


# --- 1. prepare ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything :func:`prepare` decided: the checked request, the accounting, the events."""

    spec: Spec
    machine: Machine  #: with the option's memmap placement (nvram: on pmem)
    workload: Workload  #: fitted to the namespace
    hardware: HardwareProfile
    cost: CostModel
    data: bool
    layout: NamespaceLayout  #: as the era's kernel lays it out (its struct page size)
    accounting: dict
    events: tuple  #: (op, off, length) arrays
    feasible: bool
    reason: str
    era: Era = None  #: the kernel release the run models
    iommu: bool = False  #: DMA mapped through an IOMMU (costed per page)
    cpus: int = 1  #: CPUs submitting at once (shared lines, and the queue the throughput is for)

    @property
    def design(self):
        return self.spec.design

    @property
    def huge(self) -> dict | None:
        """Option huge's parameters (page_size, memmap_variant, dirty_granularity), else None."""
        return huge_params(self.spec)


def huge_params(spec: Spec) -> dict | None:
    p = spec.params
    if "page_size" not in p:
        return None
    return {
        "page_size": p["page_size"],
        "memmap_variant": p["memmap_variant"],
        "dirty_granularity": p["dirty_granularity"],
    }


def accounting(option, machine: Machine, huge: dict | None = None, kernel=None) -> tuple[NamespaceLayout, dict]:
    """What the kernel would set aside for this option on this machine (no run needed).

    ``option`` is an id, a spec string or a :class:`Spec`; ``kernel`` the era (its struct
    page size). For option ``huge`` the memmap is the variant's (``huge``, its checked
    parameters, or the spec's); the namespace keeps the layout of a 4 KiB memmap reserve
    (simpler than the kernel).
    """
    spec = Spec.parse(option) if isinstance(option, str) and "+" in option else Spec.of(option)
    d = spec.design
    sp = era(kernel).struct_page_bytes
    huge = huge if huge is not None else huge_params(spec)
    if d.memmap:
        machine = machine.replace(memmap=d.memmap)
    layout = machine.layout(d.struct_pages, sp)
    extra = {}
    if huge:
        cost_bytes = hugepages.memmap_cost(machine.pmem, huge["page_size"], huge["memmap_variant"], sp)
        layout = dataclasses.replace(
            layout,
            memmap_dram_bytes=cost_bytes if layout.map == "mem" else 0,
            memmap_pmem_bytes=cost_bytes if layout.map == "dev" else 0,
        )
        # dirty tracking at 4 KiB inside a huge mapping needs a bit per 4 KiB page
        extra["dirty_tracking_bytes"] = (
            machine.pmem // PAGE_SIZE // 8 if huge["dirty_granularity"] == "4k" and huge["page_size"] > PAGE_SIZE else 0
        )
    return layout, {
        **extra,
        "memmap_dram_bytes": layout.memmap_dram_bytes,
        "memmap_pmem_bytes": layout.memmap_pmem_bytes,
        "pmem_capacity_lost_bytes": layout.capacity_lost,
        "struct_pages_boot": layout.struct_pages_initialised,
        "dram_managed_bytes": machine.managed_dram(layout, sp),
    }


def pages_per_io(off, length) -> np.ndarray:
    """The 4 KiB pages each I/O's buffer spans."""
    return ((off + length - 1) >> PAGE_SHIFT) - (off >> PAGE_SHIFT) + 1


def max_window_pages(pages, qd) -> int:
    """The most pages any ``qd`` consecutive I/Os span (what can be in flight at once)."""
    if len(pages) == 0:
        return 0
    c = np.concatenate(([0], np.cumsum(pages)))
    w = min(qd, len(pages))
    return int((c[w:] - c[:-w]).max())


def prepare(
    option,
    machine: Machine,
    workload: Workload | None = None,
    hardware=DEFAULT_HARDWARE,
    cost: CostModel | None = None,
    data: bool = True,
    kernel=DEFAULT_ERA,
    iommu: bool = False,
    cpus: int = 1,
    **params,
) -> Plan:
    """Check the request and plan the run: a :class:`Plan`, or a ValueError that names the
    parameter, the value and what is accepted. ``kernel`` is the era the run models
    (:mod:`daxsim.model.eras`); ``params`` are the option's own (see :class:`~daxsim.study.spec.Spec`)."""
    spec = Spec.of(option, **params)
    d = spec.design
    kernel = era(kernel)
    if not isinstance(machine, Machine):
        raise ValueError(f"machine: {machine!r} is not a daxsim.Machine")  # noqa: TRY004 (bad input: ValueError)
    workload = workload if workload is not None else Workload.from_preset(DEFAULT_PRESET)
    if not isinstance(workload, Workload):
        raise ValueError(f"workload: {workload!r} is not a daxsim.Workload")  # noqa: TRY004
    if not isinstance(data, (bool, np.bool_)):
        raise ValueError(f"data: {data!r} must be True or False")  # noqa: TRY004
    if not isinstance(iommu, (bool, np.bool_)):
        raise ValueError(f"iommu: {iommu!r} must be True or False")  # noqa: TRY004
    if isinstance(cpus, bool) or not isinstance(cpus, (int, np.integer)) or not 1 <= cpus <= 4096:
        raise ValueError(f"cpus: {cpus!r} must be an integer from 1 to 4096 (CPUs submitting at once)")
    huge = huge_params(spec)
    if huge and huge["page_size"] > machine.align:
        size = format_size(huge["page_size"])
        raise ValueError(
            f"page_size: {size} pages need the namespace aligned to {size} "
            f"(Machine(align={size!r}); it is aligned to {format_size(machine.align)})"
        )
    if d.memmap:
        machine = machine.replace(memmap=d.memmap)
    if huge and huge["memmap_variant"] in ("hvo", "devdax-dedup"):
        _check_variant(huge["memmap_variant"], machine, kernel)
    if not isinstance(hardware, (str, HardwareProfile)):
        raise ValueError(f"hardware: {hardware!r} is not a profile name; accepted: {', '.join(HARDWARE)}")
    hw = hardware_profile(hardware)
    if cost is not None and not isinstance(cost, CostModel):
        raise ValueError(f"cost: {cost!r} is not a daxsim CostModel; accepted: CostModel(...) or None")  # noqa: TRY004
    cost = cost if cost is not None else CostModel()
    layout, acct = accounting(spec, machine, kernel=kernel)
    _check_namespace(machine, machine.layout(True), layout, workload)
    workload = workload.fitted(machine.layout(True).npfns * PAGE_SIZE)  # the same file for every option
    if huge and workload.file_size % huge["page_size"]:
        raise ValueError(
            f"file_size: {format_size(workload.file_size)} is not a whole number of "
            f"{format_size(huge['page_size'])} pages; a huge mapping covers the file in whole pages"
        )
    if workload.file_size > layout.npfns * PAGE_SIZE:
        raise ValueError(
            f"file_size: {format_size(workload.file_size)} does not fit in the namespace's "
            f"{format_size(layout.npfns * PAGE_SIZE)} of data pages on {format_size(machine.pmem)} of pmem"
        )
    op, off, length = workload.generate()
    io = (op == OP_READ) | (op == OP_WRITE)
    pages = pages_per_io(off[io], length[io])
    most = int(pages.max(initial=1))
    if "pool_pages" in spec.params and spec.params["pool_pages"] < most:
        raise ValueError(
            f"pool_pages: {spec.params['pool_pages']!r} cannot hold one I/O of {most} pages; "
            f"accepted: an integer >= {most}"
        )
    _check_host(workload, op, off, length, bool(data))
    feasible, reason = machine.feasibility(layout, kernel.struct_page_bytes)
    window = max_window_pages(pages, workload.queue_depth)
    check = getattr(d.module, "infeasible", None)  # an option's own DRAM needs (option 0's bounce pages)
    if feasible and check is not None:
        why = check(machine, acct, workload, window, dict(spec.params))
        feasible, reason = (False, why) if why else (True, "")
    if feasible:
        why = _dram_shortfall(d, spec, machine, acct, window)
        feasible, reason = (False, why) if why else (True, "")
    return Plan(
        spec,
        machine,
        workload,
        hw,
        cost,
        bool(data),
        layout,
        acct,
        (op, off, length),
        feasible,
        reason,
        kernel,
        bool(iommu),
        int(cpus),
    )


#: host bytes per touched file page besides its data: its PTE, its block's struct page, the
#: twin's digests of its pmem and device pages, and the bookkeeping of the run in pieces
HOST_BYTES_PER_PAGE = 8 + 64 + 2 * 16 + 64


def host_bytes(workload: Workload, op, off, length, data: bool = True) -> int:
    """About the most host memory a run of these events holds at once, above the
    interpreter: the data pages still in use (a run in pieces gives each back once no later
    event touches it, see :mod:`daxsim.study.pieces`), each touched page's metadata, and
    the event arrays."""
    t = Touched.of(op, off, length)
    held = t.peak_pages(op, length, int(workload.queue_depth)) * PAGE_SIZE if data else 0
    return held + len(t.fpages) * HOST_BYTES_PER_PAGE + workload.event_bytes()


def _check_host(workload: Workload, op, off, length, data: bool) -> None:
    """A run whose memory would not fit this host is refused before it starts, with the figures."""
    need, avail = host_bytes(workload, op, off, length, data), host_available_bytes()
    if need > avail:
        what = workload.ops if workload.ops is not None else f"{workload.ios:,} I/Os of {format_size(workload.io_size)}"
        raise ValueError(
            f"ios: {what!r} would hold about {format_size(need)} of host memory at once (the pmem and device "
            f"pages still in use and each touched page's metadata), but this host has {format_size(avail)} "
            "available (MemAvailable); accepted: fewer I/Os, a smaller file_size, or data=False (--no-data)"
        )


def dram_needs(design, params: dict, accounting: dict, window_pages: int) -> dict[str, int]:
    """What an option takes from the DRAM the page allocator manages, besides the memmaps:
    by consumer (bytes). ``window_pages`` is the most pages in flight at once."""
    mod = design.module
    needs = {}
    reserved = getattr(mod, "reserved_dram", None)
    if reserved is not None:  # option 1b: the pool and its hash table, reserved whole at setup
        r = reserved(params)
        needs[f"the pool of {params['pool_pages']:,} transient struct pages and its hash table"] = r[
            "pool_reserved_bytes"
        ]
    if accounting.get("dirty_tracking_bytes"):
        needs["the 4 KiB dirty-tracking bitmap"] = accounting["dirty_tracking_bytes"]
    needs["the descriptors of the I/Os in flight"] = window_pages * mod.ENTRY_BYTES
    if getattr(mod, "ENTRY_TRANSIENT", 0) and params.get("bounce_node", "dram") == "dram":
        needs["the bounce pages of the I/Os in flight"] = window_pages * mod.ENTRY_TRANSIENT
    return needs


def _dram_shortfall(design, spec: Spec, machine: Machine, acct: dict, window_pages: int) -> str:
    """Why the option's DRAM consumers do not fit the managed DRAM, or ""."""
    needs = dram_needs(design, dict(spec.params), acct, window_pages)
    total, managed = sum(needs.values()), acct["dram_managed_bytes"]
    if total <= managed:
        return ""
    parts = ", ".join(f"{k} ({format_size(v)})" for k, v in needs.items() if v)
    return (
        f"{parts} need {format_size(total)} of DRAM, but only {format_size(managed)} of the "
        f"{format_size(machine.dram)} of DRAM is managed once the memmaps are placed"
    )


def _check_namespace(machine: Machine, fsdax: NamespaceLayout, layout: NamespaceLayout, workload: Workload) -> None:
    """A namespace with no room for the file: blame the alignment when it is what takes the room."""
    # a default file is fitted to the fsdax layout (the same file for every option)
    data = (min(fsdax.npfns, layout.npfns) if workload._auto_file_size else layout.npfns) * PAGE_SIZE
    need = workload.file_size if not workload._auto_file_size else max(2 * PAGE_SIZE, workload.io_size)
    if data >= need:
        return
    lost = format_size(machine.pmem - data)
    if machine.align > PMD_SIZE and machine.replace(align=PMD_SIZE).layout(True).npfns * PAGE_SIZE >= need:
        raise ValueError(
            f"align: {format_size(machine.align)} leaves {format_size(data)} of data pages in the "
            f"{format_size(machine.pmem)} namespace (the info block, the memmap and the padding to the "
            f"alignment take {lost}); accepted: align 2M or 4K, or more pmem"
        )
    if workload._auto_file_size:
        raise ValueError(
            f"pmem: {format_size(machine.pmem)} leaves {format_size(data)} of data pages once the "
            f"namespace is laid out ({lost} for the info block, the memmap and the alignment); "
            "accepted: more pmem"
        )


def _check_variant(variant: str, machine: Machine, kernel: Era) -> None:
    """The memmap-sharing variants exist only where the kernel has them."""
    if machine.memmap == "pmem":
        raise ValueError(
            f"memmap_variant: {variant!r} does not apply with the memmap on pmem (--map=dev): the kernel "
            "skips the vmemmap optimisation when an altmap holds the memmap (vmemmap_can_optimize()); "
            "accepted: base or superpage, or memmap='dram'"
        )
    if kernel.name in ("4.0", "4.19"):
        first = "5.19 (device-dax compound pages, 5.17)" if variant == "devdax-dedup" else "5.14"
        raise ValueError(
            f"memmap_variant: {variant!r} does not exist in Linux {kernel.name} (first in {first}); "
            "accepted there: base or superpage"
        )
