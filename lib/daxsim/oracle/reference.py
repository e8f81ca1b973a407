"""The test oracle: a slow, plain-Python version of every I/O path.

It shares only the set-up with the numba paths (the namespace layout and the file's
extents); the queue, the filesystem's block map and allocator, truncates, struct pages,
the pool of option 1b, extents and every byte copy are written again with dicts, lists
and bytearrays, one step at a time, so that a kernel bug cannot hide in shared code.
Each option is a class in :mod:`daxsim.oracle.options` that the design registry names as
the option's oracle, over the shared :mod:`daxsim.oracle.world`; :func:`run_reference`
runs the queue with it. Tests
run both on small seeded workloads and compare every counter and every byte.
"""

from __future__ import annotations

import importlib

from daxsim.emu.machine import Machine
from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import OP_FSYNC, OP_MUNMAP, OP_READ, OP_STORE, OP_TRUNC, OP_WRITE, Workload
from daxsim.model.counters import COUNTERS
from daxsim.model.eras import era
from daxsim.oracle.world import DESC_BYTES, ReferenceResult, World, pattern_page, segments
from daxsim.paths.registry import design

__all__ = ["ReferenceResult", "oracle_of", "pattern_page", "run_reference"]


def oracle_of(option) -> type:
    """The reference class the design registry names for ``option``."""
    module, _, name = design(option).oracle.partition(":")
    return getattr(importlib.import_module(module), name)


def run_reference(
    option,
    machine: Machine,
    workload: Workload,
    pool_pages: int = 4096,
    guard: bool = False,
    queue_depth: int | None = None,
    page_size: int = 2 << 20,
    dirty_granularity: str = "mapping",
    kernel=None,
) -> ReferenceResult:
    """Run ``workload`` through ``option`` the slow way (data always moved), as the ``kernel``
    era does it (default the newest)."""
    d = design(str(option))
    kernel = era(kernel)
    if d.memmap:
        machine = machine.replace(memmap=d.memmap)
    params = {"pool_pages": pool_pages, "guard": guard, "page_size": page_size}
    unit = page_size if d.key == "huge" and dirty_granularity == "mapping" else PAGE_SIZE
    layout = machine.layout(d.struct_pages)
    c = dict.fromkeys(COUNTERS, 0)
    w = World(machine, layout, workload, c, params, kernel)
    path = oracle_of(d.key)(w)
    op, off, length = (a.tolist() for a in workload.generate())
    w.op, w.off, w.length = op, off, length
    qd = int(queue_depth or workload.queue_depth)
    io_pages = sorted(
        {
            p
            for o, a, n in zip(op, off, length)
            if o in (OP_READ, OP_WRITE)
            for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)
        }
    )
    used_pages = sorted(
        {
            p
            for o, a, n in zip(op, off, length)
            if o in (OP_READ, OP_WRITE, OP_STORE)
            for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)
        }
    )
    all_pages = sorted(
        {p for a, n in zip(off, length) if n for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)}
    )
    for fp in all_pages:
        pfn = w.fs.map[fp]
        w.pmem[pfn] = pattern_page((pfn - w.pmem_base) * PAGE_SIZE, 0x1)
    w.dev.update({fp: pattern_page(fp * PAGE_SIZE, 0x2) for fp in io_pages})
    for fp in used_pages:  # set-up: the buffer is faulted in (MAP_POPULATE); with a memmap the touched part built
        if fp not in w.fs.pte:
            c["setup_faults"] += 1
        pfn = w.fs.fault(fp)
        if path.struct_page_memmap:
            w.touch_memmap(pfn)

    def submit(e):
        """The I/O's descriptor entries, or None if there is no room for it yet."""
        segs = list(segments(off[e], length[e]))
        if not path.admit(e, segs):
            return None
        entries = []
        for pos, seg in segs:
            c["pages_spanned"] += 1
            path.page(e, pos, seg, entries)
        c["descriptor_entries"] += len(entries)
        path.submitted(e, entries)
        return entries

    def complete_oldest(kind):
        e, ents = w.inflight.popleft()
        path.complete(e, ents)
        if kind:
            c[kind + "_ios"] += 1
            c[kind + "_bytes"] += length[e]

    dirty_units, lines64, lines256 = set(), set(), set()
    for e in range(len(op)):
        if op[e] == OP_STORE:
            while w.inflight and w.overlaps_inflight(off[e], length[e]):
                complete_oldest(None)
            for i in range(length[e]):
                pos = off[e] + i
                w.pmem[w.fs.fault(pos // PAGE_SIZE)][pos % PAGE_SIZE] = (e * 131 + i * 7 + 1) & 0xFF
                if pos // unit not in dirty_units:
                    dirty_units.add(pos // unit)
                    c["dirty_faults"] += 1
                lines64.add(pos // 64)
                lines256.add(pos // 256)
            c["stores"] += 1
            c["store_bytes"] += length[e]
            continue
        if op[e] == OP_FSYNC:
            c["dirty_units"] += len(dirty_units)
            c["bytes_flushed"] += len(dirty_units) * unit
            c["cache_lines_dirtied"] += len(lines64)
            c["xplines_dirtied"] += len(lines256)
            c["fsyncs"] += 1
            dirty_units, lines64, lines256 = set(), set(), set()
            continue
        if op[e] == OP_MUNMAP:
            w.fs.munmap(off[e], length[e])
            c["munmaps"] += 1
            continue
        if op[e] == OP_TRUNC:
            waited = 0
            if path.pins:  # dax_layout_busy_page(), as the era does it
                if kernel.truncate_wait and not (kernel.truncate_needs_mapping and not w.fs.mapped()):
                    t_off, t_len = off[e], length[e]
                    if kernel.truncate_scope == "file":
                        c["ptes_unmapped"] += w.fs.unmap_all()  # the whole file (4.18+)
                        t_off, t_len = 0, workload.file_size
                    while w.inflight and path.busy(t_off, t_len):  # every busy page of the file
                        complete_oldest("wait")
                        waited += 1
            else:
                while w.inflight and path.busy(off[e], length[e]):
                    complete_oldest("wait")
                    waited += 1
            c["truncate_waits"] += waited > 0
            c["truncates"] += 1
            w.fs.punch(off[e], length[e])
            continue
        if len(w.inflight) == qd:
            complete_oldest(None)
        ents = submit(e)
        if ents is None:
            c["pool_stalls"] += 1
            while ents is None:
                complete_oldest("stall")
                ents = submit(e)
        w.inflight.append((e, ents))
        c["ios_completed"] += 1
        c["bytes_requested"] += length[e]
        n_entries = sum(len(x) for _, x in w.inflight)
        c["descriptor_bytes_peak"] = max(c["descriptor_bytes_peak"], n_entries * DESC_BYTES)
        held = n_entries * DESC_BYTES + path.held_bytes(n_entries)
        c["transient_dram_peak_bytes"] = max(c["transient_dram_peak_bytes"], held)
    while w.inflight:
        complete_oldest(None)
    path.finish()
    return ReferenceResult(c, {k: bytes(v) for k, v in w.pmem.items()}, {k: bytes(v) for k, v in w.dev.items()})
