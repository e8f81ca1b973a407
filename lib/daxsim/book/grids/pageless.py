"""Grids of the options without a permanent memmap: 1b (transient struct pages), 2 (pfns,
no struct page) and 3 (extent references).

:func:`pool_grid` sizes option 1b's pool of transient struct pages against queue depth;
:func:`truncate_grid` and :func:`race_trace` show option 2's truncate/DMA race (nothing
pins the block) against ``2 + guard`` (a filesystem range lock that truncate waits on);
:func:`contiguous_runs` and :func:`extent_grid` count the physically contiguous runs an
I/O covers on a fragmented file: what option 3's extent descriptors cost.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from daxsim.emu.machine import Machine
from daxsim.paths.registry import design
from daxsim.study.api import run
from daxsim.study.rows import frame
from daxsim.study.spec import Spec
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.units import PAGE_SIZE, format_size, parse_size
from daxsim.emu.workload import OP_READ, OP_TRUNC, Workload


__all__ = ["contiguous_runs", "extent_grid", "pool_grid", "race_trace", "series_label", "truncate_grid"]


def series_label(option: str, guard: bool = False) -> str:
    """How the chapters name a run: ``"option 2 + guard"`` for option 2 with its range lock."""
    return f"option {option}" + (" + guard" if guard else "")


def pool_grid(
    queue_depths=(1, 4, 16, 64),
    pool_pages=(256, 1024, 4096, 16384),
    io_sizes=(4096, 65536, 262144, 1 << 20),
    pmem="400G",
    dram="16G",
    ios=128,
    file_size="256M",
    read_fraction=0.5,
    seed=1,
    hardware="optane-pmem-100",
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Option 1b over queue depth x pool size x I/O size, with option 1a at each (depth, size).

    Metadata path only (the counters do not depend on the bytes). Columns are those of
    :func:`daxsim.frame` plus ``io_size_kib``, ``pool`` (a label; 1a's rows say
    "option 1a (permanent memmap)"), ``pool_pages``, ``pool_reserved_bytes`` (a run's metric:
    what the pool and its hash table reserve, 64 B per transient struct page plus the table),
    ``stalls_per_io`` and ``stall_ns_per_io``.
    """
    machine = Machine(pmem=pmem, dram=dram, memmap="dram")
    results, pools = [], []
    for qd, io_size in itertools.product(queue_depths, io_sizes):
        w = Workload(
            ios=ios, io_size=io_size, queue_depth=qd, read_fraction=read_fraction, file_size=file_size, seed=seed
        )
        results.append(run("1a", machine, w, hardware=hardware, cost=cost, data=False, kernel=kernel))
        pools.append(0)
        for pp in pool_pages:
            results.append(
                run("1b", machine, w, hardware=hardware, cost=cost, data=False, pool_pages=int(pp), kernel=kernel)
            )
            pools.append(int(pp))
    df = frame(results)
    df["io_size_kib"] = df["io_size"] / 1024
    df["pool_pages"] = pools
    df["pool"] = [
        f"option 1b, pool of {p:,} pages ({format_size(p * PAGE_SIZE)} under I/O)"
        if p
        else "option 1a (permanent memmap)"
        for p in pools
    ]
    df["stalls_per_io"] = df["pool_stalls"] / df["ios_completed"]
    df["stall_ns_per_io"] = df["ns_stall"]
    return df


def truncate_grid(
    options=("1a", "1b", "2", "2+guard", "3"),
    truncate_rates=(0.0, 0.02, 0.05, 0.1, 0.2),
    queue_depths=(1, 4, 16, 64),
    io_size=16384,
    ios=256,
    file_size="64M",
    read_fraction=0.5,
    pmem="400G",
    dram="16G",
    seed=1,
    hardware="optane-pmem-100",
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Every option (``"2+guard"`` is option 2 with its range lock) under truncate faults.

    Data is copied and checked byte by byte (corruption can only be seen in the bytes),
    so keep the grid small. Columns: those of :func:`daxsim.frame` plus ``series``,
    ``guard``, ``truncate_rate``, ``corrupted_kib`` and ``truncate_wait_ns``. Every grid
    point is kept, zero corruption included.
    """
    machine = Machine(pmem=pmem, dram=dram, memmap="dram")
    specs = [Spec.parse(str(o)) for o in options]
    results = []
    for rate, qd in itertools.product(truncate_rates, queue_depths):
        w = Workload(
            ios=ios,
            io_size=io_size,
            queue_depth=qd,
            read_fraction=read_fraction,
            file_size=file_size,
            seed=seed,
            truncate_rate=float(rate),
        )
        results += [run(s, machine, w, hardware=hardware, cost=cost, kernel=kernel) for s in specs]
    df = frame(results)
    df["series"] = df["label"]
    df["truncate_rate"] = [r.workload.truncate_rate for r in results]
    df["corrupted_kib"] = df["corrupted_bytes"] / 1024
    df["truncate_wait_ns"] = [r.modelled.truncate_wait_ns for r in results]
    return df


def contiguous_runs(workload: Workload, machine: Machine | None = None) -> np.ndarray:
    """Per I/O of ``workload``, the physically contiguous runs of pmem its buffer spans.

    Computed from the file's extents alone (the filesystem's view, not an I/O path), for
    checking option 3's descriptor: one entry per run. Truncate faults are skipped.
    """
    from daxsim.emu.daxfs import create_file

    machine = machine or Machine(pmem="400G", dram="16G")
    layout = machine.layout(False)
    first = machine.pmem_base_pfn + layout.dataoff // PAGE_SIZE
    f = create_file(
        "buffer",
        workload.file_size,
        first,
        machine.pmem_base_pfn + machine.pmem // PAGE_SIZE,
        workload.extent_size,
        np.random.default_rng(workload.seed),
    )
    op, off, length = workload.generate()
    io = op != OP_TRUNC
    runs = []
    for o, n in zip(off[io], length[io]):
        pfns = f.pfn_of(np.arange(o // PAGE_SIZE, (o + n - 1) // PAGE_SIZE + 1))
        runs.append(1 + int((np.diff(pfns) != 1).sum()))
    return np.array(runs, np.int64)


def extent_grid(
    options=("1a", "2", "3"),
    io_sizes=(4096, 16384, 65536, 262144, 1 << 20),
    extent_sizes=(None, "1M", "256k", "64k", "16k", "4k"),
    queue_depth=4,
    ios=128,
    file_size="64M",
    read_fraction=0.5,
    pmem="400G",
    dram="16G",
    seed=1,
    hardware="optane-pmem-100",
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Descriptor entries and bytes per I/O over I/O size x file extent size x option.

    Metadata path only. ``fragmentation`` labels the extent size (``None``: one extent);
    ``contiguous_runs_per_io`` is :func:`contiguous_runs` averaged, what option 3's
    entries per I/O must equal.
    """
    machine = Machine(pmem=pmem, dram=dram, memmap="dram")
    results, runs, labels, ext_kib = [], [], [], []
    for io_size, ext in itertools.product(io_sizes, extent_sizes):
        w = Workload(
            ios=ios,
            io_size=io_size,
            queue_depth=queue_depth,
            read_fraction=read_fraction,
            file_size=file_size,
            seed=seed,
            extent_size=ext,
        )
        r = contiguous_runs(w, machine).mean()
        for o in options:
            results.append(run(o, machine, w, hardware=hardware, cost=cost, data=False, kernel=kernel))
            runs.append(r)
            labels.append("one extent" if ext is None else f"{format_size(parse_size(ext))} extents")
            ext_kib.append(w.file_size / 1024 if ext is None else parse_size(ext) / 1024)
    df = frame(results)
    df["io_size_kib"] = df["io_size"] / 1024
    df["series"] = [series_label(o) for o in df["option"]]
    df["fragmentation"] = labels
    df["extent_kib"] = ext_kib
    df["contiguous_runs_per_io"] = runs
    df["entries_per_io"] = df["descriptor_entries"] / df["ios_completed"]
    df["descriptor_bytes_per_io"] = df["entries_per_io"] * 16
    return df


def race_trace(option, workload: Workload, guard: bool = False, machine: Machine | None = None) -> pd.DataFrame:
    """The events of ``workload`` under ``option``, one row each, for a hand-traced schedule.

    A readable replay of the shared queue (daxsim/paths/loop.py): at most
    ``queue_depth`` I/Os in flight, completed in order, DMA at completion; a truncate
    waits for in-flight I/Os on its file range unless the option is 2 without ``guard``;
    the freed blocks go at once to another file, which writes them. Which pfns each event
    touches comes from the file's extents. The chapters check it against the counters of
    :func:`daxsim.run` on the same schedule (waits, waited I/Os, corrupted bytes).
    Columns: ``step``, ``event``, ``file range``, ``pfns``, ``blocks belong to``.
    """
    from daxsim.emu.daxfs import create_file

    d = design(str(option))
    machine = machine or Machine(pmem="400G", dram="16G")
    layout = machine.layout(d.struct_pages)
    first = machine.pmem_base_pfn + layout.dataoff // PAGE_SIZE
    f = create_file(
        "buffer",
        workload.file_size,
        first,
        machine.pmem_base_pfn + machine.pmem // PAGE_SIZE,
        workload.extent_size,
        np.random.default_rng(workload.seed),
    )
    fmap = {}  # file page -> pfn, for pages moved since creation (None: a hole)
    owner = {}  # pfn -> the file that owns it now, for blocks handed to another file
    bump = int((f.ext_pfn + f.ext_len).max())
    waits = d.hazard is None or guard
    op, off, length = workload.generate()
    rows, inflight, ntrunc = [], [], 0

    def pfns_of(o, n, alloc):
        nonlocal bump
        out = []
        for fp in range(o // PAGE_SIZE, (o + n - 1) // PAGE_SIZE + 1):
            if fp not in fmap:
                out.append(int(f.pfn_of(np.array([fp]))[0]))
            elif fmap[fp] is None and alloc:
                fmap[fp] = bump
                bump += 1
                out.append(fmap[fp])
            else:
                out.append(fmap[fp])
        return out

    def span(pfns):
        pfns = [p for p in pfns if p is not None]
        if not pfns:
            return "(hole)"
        return (
            f"{pfns[0]:,}"
            if len(pfns) == 1
            else f"{pfns[0]:,}–{pfns[-1]:,}"
            if pfns == list(range(pfns[0], pfns[-1] + 1))
            else ", ".join(f"{p:,}" for p in pfns)
        )

    def rng(o, n):
        return f"{format_size(int(n))} at {format_size(int(o))}"

    def who(pfns):
        names = sorted({owner.get(p, "this file (the buffer)") for p in pfns})
        return ", ".join(names)

    def complete(why=""):
        k, o_, o, n, pfns = inflight.pop(0)
        kind = "read: device → pmem" if o_ == OP_READ else "write: pmem → device"
        rows.append((f"I/O {k} completes{why}: DMA ({kind})", rng(o, n), span(pfns), who(pfns)))

    nio = 0
    for e in range(len(op)):
        if op[e] == OP_TRUNC:
            if waits:
                while any(o < off[e] + length[e] and off[e] < o + n for _, _, o, n, _ in inflight):
                    complete(" (the truncate waits for it)")
            freed = [p for p in pfns_of(off[e], length[e], False) if p is not None]
            for fp in range(off[e] // PAGE_SIZE, (off[e] + length[e]) // PAGE_SIZE):
                fmap[fp] = None
            rows.append(("truncate: unmap, free the blocks", rng(off[e], length[e]), span(freed), "the free list"))
            for p in freed:
                owner[p] = f"another file (truncate {ntrunc + 1})"
            ntrunc += 1
            rows.append(("another file gets the blocks and writes them", "", span(freed), who(freed)))
            continue
        if len(inflight) == workload.queue_depth:
            complete(" (the queue is full)")
        nio += 1
        pfns = pfns_of(off[e], length[e], True)
        inflight.append((nio, op[e], off[e], length[e], pfns))
        rows.append(
            (
                f"submit I/O {nio}: {'read' if op[e] == OP_READ else 'write'}",
                rng(off[e], length[e]),
                span(pfns),
                who(pfns),
            )
        )
    while inflight:
        complete()
    df = pd.DataFrame(rows, columns=["event", "file range", "pfns", "blocks belong to"])
    df.insert(0, "step", np.arange(1, len(df) + 1))
    return df
