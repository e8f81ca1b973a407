"""A run in four stages, each a function with one job.

1. :func:`prepare` checks the whole request and decides what the kernel would set aside
   and whether the machine can do it at all (accounting, feasibility). No numba.
2. :func:`emulate` boots the machine and runs the events through the option's path.
3. :func:`verify` runs the same events through the ideal path on a twin machine and
   compares every touched byte; checks that every reference, bounce page and pool slot
   came back. A broken invariant raises :class:`InvariantError`.
4. :func:`cost` turns the counters into modelled time; only this stage sees the hardware.

:func:`daxsim.run` is the four in a row; the sweep re-costs (stage 4 alone) for other
hardware; the power-loss experiment calls :func:`boot` and :func:`run_events` itself.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from daxsim.emu import hugepages
from daxsim.emu.buddy import B_ALLOCATED
from daxsim.emu.daxfs import S_BUMP, S_NMAPPED, S_NVICTIM
from daxsim.emu.machine import Booted, Machine, NamespaceLayout
from daxsim.emu.memory import host_available_bytes
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, format_size
from daxsim.emu.workload import (
    DEFAULT_PRESET,
    OP_MUNMAP,
    OP_READ,
    OP_STORE,
    OP_TRUNC,
    OP_WRITE,
    Workload,
    touched_file_pages,
)
from daxsim.model.hardware import DDR4, DEFAULT_HARDWARE, HARDWARE, CostModel, HardwareProfile, hardware_profile
from daxsim.model.counters import counters_dict, new_counters
from daxsim.model.cost import Modelled, model
from daxsim.model.eras import DEFAULT_ERA, Era, era
from daxsim.paths.common import boot_prefault, count_busy_pages, count_diff
from daxsim.paths.registry import announce_compile, compile_ideal_aside, event_loop
from daxsim.study.pieces import Pieces, Touched, digests, release
from daxsim.paths.state import M_POOL_USED
from daxsim.paths.writeback import dirty_state
from daxsim.study.spec import Spec

__all__ = [
    "Emulation",
    "Expected",
    "InvariantError",
    "Plan",
    "accounting",
    "boot",
    "cost",
    "emulate",
    "expect",
    "metrics_of",
    "prepare",
    "run_events",
    "verify",
    "warm",
]


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


# --- 2. emulate ----------------------------------------------------------------------------


@dataclass
class Emulation:
    """A run of the events on a booted machine: its counters, the path's state, the wall time."""

    booted: Booted
    counters: np.ndarray
    state: tuple
    wall_s: float  #: the event loop alone
    pmem_starts: np.ndarray  #: pmem byte offsets of every file page the events touch (``touched.fpages``)
    dev_starts: np.ndarray  #: device byte offsets of every file page the I/Os touch
    fpages: np.ndarray  #: the file pages the I/Os touch
    setup_s: float = 0.0  #: boot, host memory populated, patterns filled, PTEs prefaulted (before wall_s)
    touched: Touched | None = None  #: the file pages the events use, and when
    pieces: Pieces | None = None  #: how the run went in pieces (the pages not yet checked)
    expected: Expected | None = None  #: the twin's digests the pages were checked against
    differ: list = dataclasses.field(default_factory=list)  #: (pmem, device) offsets of pages that differ


_WARM: set[tuple] = set()


def io_only(op) -> bool:
    """Are the events all reads and writes? (Then a smaller event loop runs them.)"""
    return not bool(((op != OP_READ) & (op != OP_WRITE)).any())


def warm(option, data: bool = True, io: bool = False) -> None:
    """Compile (or load from numba's cache) what a run of the option needs, outside any
    timed region: its event loop (for reads and writes only with ``io``) and, with
    ``data``, the ideal loop of the verification twin. Says so on stderr when it compiles."""
    key = (Spec.of(option).option, bool(data), bool(io))
    if key not in _WARM:
        _WARM.update((key, (key[0], False, key[2])))  # the tiny runs below warm both
        announce_compile(key[0], data, io)
        twin = compile_ideal_aside(io) if data and key[0] != "ideal" else None
        tiny = Workload(ops="w0:4k,r8k:8k" if io else "w0:4k,r8k:8k,t8k:4k", file_size="2M", queue_depth=2)
        if twin is not None:
            run_plan(prepare(key[0], Machine("64M", "64M"), tiny, data=False))  # the option's loop, meanwhile
            twin.wait()
        run_plan(prepare(key[0], Machine("64M", "64M"), tiny, data=data))


def boot(plan: Plan, machine: Machine | None = None, memmap: bool = True) -> Booted:
    """The plan's machine, booted: memory, memmap (unless not ``memmap``), page allocator, the DAX file."""
    op, _off, length = plan.events
    truncated = int(length[op == OP_TRUNC].sum()) // PAGE_SIZE
    w = plan.workload
    m = machine or plan.machine
    # the emulator's struct pages are 64-byte records whatever the era: lay the namespace out for them
    return Booted(m, m.layout(plan.design.struct_pages), w.file_size, w.extent_size, w.seed, truncated, memmap)


def dirty_shift(huge: dict | None) -> int:
    """log2 of the unit the mapping's dirty state is tracked in."""
    if huge and huge["dirty_granularity"] == "mapping":
        return huge["page_size"].bit_length() - 1
    return PAGE_SHIFT


def run_events(
    b: Booted,
    spec,
    op,
    off,
    length,
    qd: int,
    data: bool,
    counters,
    drain: bool = True,
    kernel=None,
    pieces: Pieces | None = None,
):
    """Prefault, then run the events through the option's event loop on booted machine
    ``b``, as the ``kernel`` era does it; returns the wall time of the loop and the path's state.
    With ``pieces`` (:class:`~daxsim.study.pieces.Pieces`) the loop runs piece by piece,
    ``pieces.before`` filling and checking pages in between; the counters are the same."""
    spec = Spec.of(spec)
    d = spec.design
    kernel = era(kernel)
    io = (op == OP_READ) | (op == OP_WRITE)
    used = io | (op == OP_STORE)  # MAP_POPULATE: the buffer's pages are mapped before the run
    boot_prefault(
        touched_file_pages(off[used], length[used]),
        b.fs,
        b.pmem,
        b.pmem_base_pfn,
        b.memmap_words,
        b.vmemmap_populated,
        b.memmap_base_pfn,
        counters,
        kernel.idle_refcount,
    )
    pages = pages_per_io(off[io], length[io])
    maxp = int(pages.max(initial=1))
    ring = 2 * qd  # see daxsim/paths/loop.py: a queue's worth in flight, and the next batch
    bv = tuple(np.zeros(ring * maxp, np.int64) for _ in range(4))
    st = d.make_state(b, {**spec.params, "era": kernel, "window_pages": max_window_pages(pages, qd)})
    nstores = int((op == OP_STORE).sum())
    dirty = dirty_state(
        len(b.device), dirty_shift(huge_params(spec)), 2 * nstores, int(((length[op == OP_STORE] + 127) // 64).sum())
    )
    mod = d.module
    args = (
        op,
        off,
        length,
        qd,
        b.fs,
        b.pmem,
        b.pmem_base_pfn,
        b.device,
        data,
        counters,
        np.zeros(ring, np.int64),
        np.zeros(ring, np.int64),
        maxp,
        bv,
        mod.ENTRY_BYTES,
        getattr(mod, "ENTRY_TRANSIENT", 0),
        st,
        dirty,
        drain,
    )
    loop = event_loop(d.key, io_only=io_only(op))
    resume = np.zeros(4, np.int64)  # head, in flight, their entries, next event
    wall = 0.0
    for stop in pieces.stops if pieces is not None else (len(op),):
        if pieces is not None:
            pieces.before(int(resume[3]), stop)
        t0 = time.perf_counter()
        loop(*args, stop, resume)
        wall += time.perf_counter() - t0
    return wall, st


def touched(plan: Plan) -> Touched:
    return Touched.of(*plan.events)


def emulate(plan: Plan, expected: Expected | None = None, release: bool = True) -> Emulation:
    """Boot the machine and run the plan's events through the option's path. With the
    twin's digests (:func:`expect`) and ``release``, each page is checked as soon as no
    later event touches it, and its host memory given back when it matches."""
    if not plan.feasible:
        raise ValueError(f"option {plan.spec.key}: the machine cannot run it ({plan.reason})")
    op, off, length = plan.events
    warm(plan.spec.option, plan.data, io_only(op))
    t0 = time.perf_counter()
    b = boot(plan)
    t = touched(plan)
    fpages = t.fpages[t.io]
    b.advise_host_hugepages(len(fpages) * PAGE_SIZE)
    refills = int(length[op == OP_TRUNC].sum()) // PAGE_SIZE
    # the host memory of PTEs and struct pages up front; the data pages piece by piece (Pieces)
    b.populate(t.fpages, False, refills)
    if plan.data and refills:  # the fresh blocks truncate faults refill
        b.populate(np.zeros(0, np.int64), True, refills)
    pmem_starts = (
        b.pmem_index(0) + b.file.pfn_of(t.fpages) * PAGE_SIZE
    )  # truncated blocks too: others' data lands there
    dev_starts = fpages * PAGE_SIZE
    differ: list = []
    pieces = None
    if plan.data:
        finished = None
        if expected is not None and release:

            def finished(idx):
                pm, dv = pmem_starts[idx], t.fpages[idx[t.io[idx]]] * PAGE_SIZE
                differ.append(_check_pages(b, expected, pm, dv, True))

        pieces = Pieces(b, t, plan.workload.queue_depth, pmem_starts, op, length, finished)
    counters = new_counters()
    wall, st = run_events(
        b, plan.spec, op, off, length, plan.workload.queue_depth, plan.data, counters, kernel=plan.era, pieces=pieces
    )
    setup = time.perf_counter() - t0 - wall
    return Emulation(b, counters, st, wall, pmem_starts, dev_starts, fpages, setup, t, pieces, expected, differ)


# --- 3. verify -----------------------------------------------------------------------------

CHECKS = (
    "corrupted_bytes",
    "corrupted_victim_bytes",
    "corrupted_device_bytes",
    "corrupted_buffer_bytes",
    "files_corrupted",
    "leaked_pages",
    "verified_bytes",
    "pool_table_bytes",
    "pool_reserved_bytes",
)


@dataclass(frozen=True)
class Expected:
    """What the ideal run leaves in every page a run touches: digests by byte offset."""

    pmem_keys: np.ndarray  #: pmem byte offsets, sorted
    pmem_digests: np.ndarray
    dev_keys: np.ndarray  #: device byte offsets, sorted
    dev_digests: np.ndarray
    fs_state: np.ndarray  #: the block allocator's state after the run

    def match(self, keys, digests, pmem: bool) -> np.ndarray:
        """Which pages (by offset) have the digest the ideal run left (False for an unknown page)."""
        k, dg = (self.pmem_keys, self.pmem_digests) if pmem else (self.dev_keys, self.dev_digests)
        i = np.minimum(np.searchsorted(k, keys), max(len(k) - 1, 0))
        if not len(k):
            return np.zeros(len(keys), bool)
        return (k[i] == keys) & (dg[i] == digests).all(axis=1)


def _twin(plan: Plan, keep: tuple | None = None):
    """Run the events through the ideal path on a twin of the machine (no memmap needed), in
    pieces; record the digest of every page and give its memory back once it is final.
    ``keep`` (pmem, device offsets): return the twin with these pages still held, too."""
    op, off, length = plan.events
    twin = boot(plan, plan.machine.replace(pmem_file=None), memmap=False)
    t = touched(plan)
    pmem_starts = twin.pmem_index(0) + twin.file.pfn_of(t.fpages) * PAGE_SIZE
    log = {True: [], False: []}

    def record(pm, dv):
        for is_pmem, buf, starts in ((True, twin.pmem, pm), (False, twin.device, dv)):
            log[is_pmem].append((starts, digests(buf, starts)))
            if keep is not None:
                starts = starts[~np.isin(starts, keep[0] if is_pmem else keep[1])]
            release(buf, starts)

    pieces = Pieces(
        twin, t, 1, pmem_starts, op, length, lambda idx: record(pmem_starts[idx], t.fpages[idx[t.io[idx]]] * PAGE_SIZE)
    )
    run_events(twin, "ideal", op, off, length, 1, True, new_counters(), kernel=plan.era, pieces=pieces)
    rest = pieces.remaining()
    if keep is not None:
        for buf, starts, kept in (
            (twin.pmem, pmem_starts[rest], keep[0]),
            (twin.device, t.fpages[rest[t.io[rest]]] * PAGE_SIZE, keep[1]),
        ):
            release(buf, starts[~np.isin(starts, kept)])
        return twin
    record(np.concatenate((pmem_starts[rest], _bump_starts(twin))), t.fpages[rest[t.io[rest]]] * PAGE_SIZE)
    out = []
    for is_pmem in (True, False):
        keys = np.concatenate([k for k, _ in log[is_pmem]] or [np.zeros(0, np.int64)])
        dig = np.concatenate([d for _, d in log[is_pmem]] or [np.zeros((0, 2), np.uint64)])
        order = np.argsort(keys, kind="stable")
        out += [keys[order], dig[order]]
    return Expected(*out, twin.fs.state[:S_NMAPPED].copy())


def expect(plan: Plan) -> Expected:
    """Stage 2a: the ideal run of the plan's events on a twin machine, as page digests (its
    memory given back as it goes: a twin holds only the pages still in use)."""
    return _twin(plan)


def _check_pages(b: Booted, expected: Expected, pm: np.ndarray, dv: np.ndarray, give_back: bool = True) -> tuple:
    """Compare the run's pages at pmem offsets ``pm`` and device offsets ``dv`` with the
    twin's digests; give the memory of those that match back; return those that differ."""
    out = []
    for is_pmem, buf, starts in ((True, b.pmem, pm), (False, b.device, dv)):
        ok = expected.match(starts, digests(buf, starts), is_pmem)
        if give_back:
            release(buf, starts[ok])
        out.append(starts[~ok])
    return tuple(out)


def verify(plan: Plan, emu: Emulation, capture: dict | None = None) -> dict:
    """The run's checks (:data:`CHECKS`): leaked references, pages and pool slots; with data,
    every touched byte against the ideal path on a twin machine (pages already checked while
    the run went, the rest now), what differs attributed to the buffer, the device or another
    file. Raises :class:`InvariantError` on a leak, or on corruption where the option's design
    does not allow the hazard. ``verified_bytes`` is the bytes of the I/Os checked (with data,
    every I/O: ``bytes_requested``).

    ``capture``, a dict, receives the final bytes of the touched pages (``pmem_pages``:
    pfn -> bytes, ``dev_pages``: file page -> bytes), for :mod:`daxsim.oracle`; give it to
    :func:`emulate` too (``release=False``), or early-checked pages read as zeros."""
    d, b = plan.design, emu.booted
    checks = dict.fromkeys(CHECKS, 0)
    if counters_dict(emu.counters)["alloc_failures"]:
        raise InvariantError(f"option {d.key}: the page allocator ran dry although the run was judged feasible")
    if d.struct_pages:
        checks["leaked_pages"] = int(count_busy_pages(b.memmap, b.vmemmap_populated, plan.era.idle_refcount))
    checks["leaked_pages"] += int(b.buddy[B_ALLOCATED]) + int(emu.state.misc[M_POOL_USED])
    reserved = getattr(d.module, "reserved_dram", None)
    if reserved is not None:
        checks.update(reserved(dict(plan.spec.params)))
    if plan.data:
        op, off, length = plan.events
        expected = emu.expected if emu.expected is not None else expect(plan)
        if not np.array_equal(b.fs.state[:S_NMAPPED], expected.fs_state):  # the block allocator's state
            raise InvariantError("the filesystem handed out different blocks than in the ideal run")
        t = emu.touched
        rest = emu.pieces.remaining() if emu.pieces is not None else np.arange(len(t.fpages))
        if capture is not None:
            capture["pmem_pages"] = _pages_of(b.pmem, np.concatenate((emu.pmem_starts, _bump_starts(b))), b)
            capture["dev_pages"] = {
                int(fp): b.device[s : s + PAGE_SIZE].tobytes() for fp, s in zip(emu.fpages, emu.dev_starts)
            }
        differ = [
            *emu.differ,
            _check_pages(
                b,
                expected,
                np.concatenate((emu.pmem_starts[rest], _bump_starts(b))),
                t.fpages[rest[t.io[rest]]] * PAGE_SIZE,
                True,
            ),
        ]
        bad_pmem = np.unique(np.concatenate([x[0] for x in differ]))
        bad_dev = np.unique(np.concatenate([x[1] for x in differ]))
        if len(bad_pmem) or len(bad_dev):
            _count_corrupted(plan, b, bad_pmem, bad_dev, checks)
        io = (op == OP_READ) | (op == OP_WRITE)
        checks["verified_bytes"] = int(length[io].sum())  # every I/O's bytes, on both sides, were checked
    munmapped = bool((plan.events[0] == OP_MUNMAP).any())
    if checks["leaked_pages"] or (checks["corrupted_bytes"] and not hazardous(d, plan.era, munmapped)):
        raise InvariantError(
            f"option {d.key}: {checks['corrupted_bytes']} corrupted bytes, "
            f"{checks['leaked_pages']} leaked pages on {plan.machine!r} with {plan.workload!r}"
        )
    return checks


def hazardous(design, kernel: Era, munmapped: bool = True) -> bool:
    """Can this option corrupt data in this era? Option 2 by design; the options that hold
    page references where the era's truncate does not wait for them (before 4.18), or skips
    the wait once nothing maps the file (4.18 to 6.14) and the workload munmaps its buffer."""
    return bool(design.hazard) or (
        bool(design.module.PINS) and (not kernel.truncate_wait or (kernel.truncate_needs_mapping and munmapped))
    )


def _bump_starts(b: Booted) -> np.ndarray:
    """Byte offsets in pmem of the blocks handed out since boot (hole refills)."""
    used = np.arange(b.bump_start, b.fs.state[S_BUMP], dtype=np.int64)
    return (used - b.pmem_base_pfn) * PAGE_SIZE


def _pages_of(buf, starts, b: Booted) -> dict:
    return {int(s // PAGE_SIZE + b.pmem_base_pfn): buf[s : s + PAGE_SIZE].tobytes() for s in np.unique(starts)}


def _count_corrupted(plan: Plan, b: Booted, bad_pmem, bad_dev, checks: dict) -> None:
    """The bytes that differ from the ideal run in the pages whose digests differ (a second
    twin keeps just those pages), attributed to the buffer, the device or another file."""
    twin = _twin(plan, keep=(bad_pmem, bad_dev))
    nv = int(b.fs.state[S_NVICTIM])
    victims = b.fs.victim[: 2 * nv].reshape(-1, 2)
    victim_starts = (victims[:, 0] - b.pmem_base_pfn) * PAGE_SIZE
    is_victim = np.isin(bad_pmem, victim_starts)
    checks["corrupted_victim_bytes"] = int(count_diff(b.pmem, twin.pmem, bad_pmem[is_victim]))
    checks["corrupted_buffer_bytes"] = int(count_diff(b.pmem, twin.pmem, bad_pmem[~is_victim]))
    checks["corrupted_device_bytes"] = int(count_diff(b.device, twin.device, bad_dev))
    checks["corrupted_bytes"] = (
        checks["corrupted_victim_bytes"] + checks["corrupted_buffer_bytes"] + checks["corrupted_device_bytes"]
    )
    if checks["corrupted_victim_bytes"]:
        bad = set(bad_pmem.tolist())
        hit = {
            int(ev)
            for (pfn, ev), s in zip(victims, victim_starts)
            if int(s) in bad and count_diff(b.pmem, twin.pmem, np.array([s]))
        }
        checks["files_corrupted"] = len(hit)
    del twin


def metrics_of(plan: Plan, counters: np.ndarray | None, checks: dict | None) -> dict:
    """A run's metrics: the accounting, every counter, the checks, and what derives from them
    (an infeasible run has only the accounting; its counters are zero)."""
    c = counters_dict(counters if counters is not None else new_counters())
    checks = checks if checks is not None else dict.fromkeys(CHECKS, 0)
    c["transient_dram_peak_bytes"] += checks["pool_table_bytes"]  # 1b's hash table is DRAM held under I/O
    m = {**plan.accounting, **c, **checks}
    m["bytes_dma"] = c["dma_to_pmem"] + c["dma_from_pmem"] + c["dma_to_dram"] + c["dma_from_dram"]
    m["bytes_cpu_copied"] = c["copy_pmem_to_dram"] + c["copy_dram_to_pmem"]
    m["struct_pages_initialised"] = plan.accounting["struct_pages_boot"] + c["struct_pages_initialised_io"]
    return m


# --- 4. cost -------------------------------------------------------------------------------


def cost(
    plan_or_spec,
    metrics: dict,
    hardware=None,
    cost_model: CostModel | None = None,
    machine: Machine | None = None,
    workload: Workload | None = None,
    kernel=None,
    iommu: bool | None = None,
    cpus: int | None = None,
) -> Modelled:
    """The cost model over a run's metrics: the only stage that sees the hardware profile.

    Given a :class:`Plan`, its hardware, cost figures, machine and workload are the
    defaults; given a spec, ``hardware``, ``machine`` and ``workload`` must be passed."""
    if isinstance(plan_or_spec, Plan):
        plan = plan_or_spec
        spec, machine, workload = plan.spec, machine or plan.machine, workload or plan.workload
        hardware = plan.hardware if hardware is None else hardware
        cost_model = cost_model or plan.cost
        kernel = plan.era if kernel is None else kernel
        iommu = plan.iommu if iommu is None else iommu
        cpus = plan.cpus if cpus is None else cpus
    else:
        spec = Spec.of(plan_or_spec)
    hw = hardware_profile(hardware)
    cost_model = cost_model if cost_model is not None else CostModel()
    d = spec.design
    huge = huge_params(spec)
    miss = hugepages.tlb_miss_rate(huge["page_size"] if huge else PAGE_SIZE, workload.file_size)
    bounce = hw if spec.params.get("bounce_node") == "pmem" else DDR4
    return model(
        metrics,
        d,
        machine.memmap if d.struct_pages else None,
        hw,
        cost_model,
        metrics["struct_pages_initialised"],
        miss,
        1 << dirty_shift(huge),
        bounce,
        era(kernel),
        bool(iommu),
        int(workload.queue_depth),
        int(cpus or 1),
    )


def run_plan(plan: Plan, capture: dict | None = None):
    """The stages after prepare: (emulate, verify, metrics, cost); for an infeasible plan
    only the metrics of the accounting. Returns (metrics, modelled or None, wall_s, setup_s)."""
    if not plan.feasible:
        return metrics_of(plan, None, None), None, 0.0, 0.0
    expected = expect(plan) if plan.data else None
    emu = emulate(plan, expected, release=capture is None)
    checks = verify(plan, emu, capture)
    metrics = metrics_of(plan, emu.counters, checks)
    return metrics, cost(plan, metrics), emu.wall_s, emu.setup_s
