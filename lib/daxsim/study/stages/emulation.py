"""Stage 2, emulate: boot the machine and run the events through the option's path
(in pieces, so host memory follows the pages still in use)."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING
from dataclasses import dataclass

import numpy as np

from daxsim.emu.machine import Booted, Machine
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.emu.workload import (
    OP_READ,
    OP_STORE,
    OP_TRUNC,
    OP_WRITE,
    Workload,
    touched_file_pages,
)
from daxsim.model.counters import new_counters
from daxsim.model.eras import era
from daxsim.paths.common import boot_prefault, count_busy_pages, dma_queue, fill_pattern
from daxsim.paths.registry import announce_compile, compile_ideal_aside, event_loop
from daxsim.study.pieces import Pieces, Touched, digests
from daxsim.paths.writeback import dirty_state
from daxsim.study.spec import Spec
from daxsim.study.stages.planning import Plan, huge_params, max_window_pages, pages_per_io, prepare

if TYPE_CHECKING:  # stage 3 imports this stage; the twin's digests only pass through here
    from daxsim.study.stages.verification import Expected


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
        from daxsim.study.stages.costing import run_plan  # stage 4 runs them all; it imports this stage

        if twin is not None:
            run_plan(_tiny(key[0], io, data=False))  # the option's loop, meanwhile
            twin.wait()
        run_plan(_tiny(key[0], io, data))


def _tiny(option, io: bool, data: bool) -> Plan:
    """The plan of the tiny run that compiles the option's kernels (:func:`warm`)."""
    tiny = Workload(ops="w0:4k,r8k:8k" if io else "w0:4k,r8k:8k,t8k:4k", file_size="2M", queue_depth=2)
    return prepare(option, Machine("64M", "64M"), tiny, data=data)


def warm_twin(io: bool = False) -> None:
    """What another process compiles while a first run compiles its option's loop
    (:func:`~daxsim.paths.registry.compile_ideal_aside`): the page checks the run needs
    last, first, then the verification twin's ideal loop, called to stop before its first
    event. Numba's cache hands them to the first run; what both need early (the
    prefault, the page spans) that run compiles itself."""
    plan = _tiny("ideal", io, data=True)
    b = boot(plan)
    starts = np.zeros(1, np.int64)
    for buf, pattern in ((b.pmem, 0x1), (b.device, 0x2)):
        fill_pattern(buf, starts, pattern)
        digests(buf, starts)
    count_busy_pages(b.memmap, b.vmemmap_populated, plan.era.idle_refcount)
    op, off, length = plan.events
    loop, args, _st = loop_call(b, plan.spec, op, off, length, 2, True, new_counters(), kernel=plan.era)
    loop(*args, 0, np.zeros(4, np.int64))


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
    kernel = era(kernel)
    used = (op == OP_READ) | (op == OP_WRITE) | (op == OP_STORE)  # MAP_POPULATE: mapped before the run
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
    loop, args, st = loop_call(b, spec, op, off, length, qd, data, counters, drain, kernel)
    resume = np.zeros(4, np.int64)  # head, in flight, their entries, next event
    wall = 0.0
    for stop in pieces.stops if pieces is not None else (len(op),):
        if pieces is not None:
            pieces.before(int(resume[3]), stop)
        t0 = time.perf_counter()
        loop(*args, stop, resume)
        wall += time.perf_counter() - t0
    return wall, st


#: the DMAs the device queues before it runs them, in a run of reads and writes only
DMA_QUEUE = 64


def dma_room(option, op) -> int:
    """The room in the device's DMA queue (:func:`daxsim.paths.common.post_dma`) for a run of
    ``option`` over events ``op``. Only in a run of reads and writes alone may transfers
    wait: nothing else there moves bytes that a queued transfer reaches (no truncate frees
    a block, no store writes through the mapping; a fault fills a fresh block before any
    transfer to it is posted). The host then copies them back to back, as the floor in
    ``make bench`` does. Otherwise each one is done as its I/O completes. Option 0's transfers are CPU copies through its
    bounce pages and are never queued. The bytes and the counters are the same either way."""
    return DMA_QUEUE if io_only(op) and getattr(Spec.of(option).design.module, "QUEUE_DMA", True) else 1


def loop_call(b: Booted, spec, op, off, length, qd: int, data: bool, counters, drain: bool = True, kernel=None):
    """The option's event loop for the events on booted machine ``b``, the arguments of a
    call (all but ``stop`` and ``resume``) and the path's state among them."""
    spec = Spec.of(spec)
    d = spec.design
    kernel = era(kernel)
    io = (op == OP_READ) | (op == OP_WRITE)
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
        dma_queue(dma_room(spec, op)),
    )
    return event_loop(d.key, io_only=io_only(op)), args, st


def touched(plan: Plan) -> Touched:
    return Touched.of(*plan.events)


def emulate(plan: Plan, expected: Expected | None = None, release: bool = True) -> Emulation:
    """Boot the machine and run the plan's events through the option's path. With the
    twin's digests (:func:`expect`) and ``release``, each page is checked as soon as no
    later event touches it, and its host memory given back when it matches. The loops are
    compiled beforehand (:func:`warm`, by ``run_plan``, before the twin runs)."""
    if not plan.feasible:
        raise ValueError(f"option {plan.spec.key}: the machine cannot run it ({plan.reason})")
    op, off, length = plan.events
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
                differ.append(expected.check_pages(b, pm, dv, True))

        pieces = Pieces(b, t, plan.workload.queue_depth, pmem_starts, op, length, finished)
    counters = new_counters()
    wall, st = run_events(
        b, plan.spec, op, off, length, plan.workload.queue_depth, plan.data, counters, kernel=plan.era, pieces=pieces
    )
    setup = time.perf_counter() - t0 - wall
    return Emulation(b, counters, st, wall, pmem_starts, dev_starts, fpages, setup, t, pieces, expected, differ)
