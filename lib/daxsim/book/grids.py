"""Grids the chapters compute at build time for their offline-interactive charts.

Each function returns a tidy DataFrame (one row per grid point) that
:func:`daxsim.book.charts.grid_chart` or :func:`daxsim.book.charts.bar_breakdown` draws.
Infeasible grid points stay in the frame with their reason: charts mark them, tables
list them, nothing drops them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.emu.machine import Machine
from daxsim.model.cost import memmap_init_ns_per_page
from daxsim.paths.registry import design
from daxsim.study.api import run
from daxsim.study.rows import frame
from daxsim.study.spec import Spec
from daxsim.study.stages import accounting
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.units import GiB, PAGE_SIZE, format_size, parse_size
from daxsim.emu.workload import OP_READ, OP_TRUNC, Workload

__all__ = [
    "PARTS",
    "breakdown_long",
    "contiguous_runs",
    "extent_grid",
    "init_time_grid",
    "io_grid",
    "memmap_grid",
    "pool_grid",
    "published_init_rates",
    "race_trace",
    "series_label",
    "truncate_grid",
]

#: the parts of the modelled time per I/O, in the order of the I/O path
PARTS = (
    "fixed",
    "gup",
    "put",
    "pfn_walk",
    "descriptor",
    "alloc",
    "init",
    "lookup",
    "extent_ref",
    "range_lock",
    "cpu_copy",
    "dma",
    "stall",
)  # the keys of Modelled.breakdown

_MEMMAP_LABEL = {"dram": "memmap in DRAM (--map=mem)", "pmem": "memmap on pmem (--map=dev)"}


def io_grid(
    options=("0", "1a"),
    io_sizes=(4096, 65536, 1 << 20),
    hardware=("optane-pmem-100",),
    queue_depths=(1,),
    memmaps=("dram",),
    pmem="400G",
    dram="16G",
    ios=64,
    file_size="256M",
    read_fraction=0.5,
    seed=1,
    data=False,
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Every option at every (I/O size, hardware, queue depth, memmap placement) point.

    ``data=False`` runs the metadata path only: the counters, and so the modelled time,
    are the same as with ``data=True`` (the chapters check that on one point), and the
    grid stays fast. Columns are those of :func:`daxsim.frame` plus ``io_size_kib``,
    ``series`` (option and memmap placement) and ``bytes_copied_per_io``.
    """
    results = []
    for io_size, hw, qd, mm in itertools.product(io_sizes, hardware, queue_depths, memmaps):
        machine = Machine(pmem=pmem, dram=dram, memmap=mm)
        w = Workload(
            ios=ios, io_size=io_size, queue_depth=qd, read_fraction=read_fraction, file_size=file_size, seed=seed
        )
        for o in options:
            results.append(run(o, machine, w, hardware=hw, cost=cost, data=data, kernel=kernel))
    df = frame(results)
    df["io_size_kib"] = df["io_size"] / 1024
    df["series"] = [
        f"option {o}" + ("" if o == "0" else f", {_MEMMAP_LABEL[m]}") for o, m in zip(df["option"], df["memmap"])
    ]
    df["bytes_copied_per_io"] = df["bytes_cpu_copied"] / df["ios_completed"].where(df["ios_completed"] > 0)
    return df


def breakdown_long(df: pd.DataFrame, keys) -> pd.DataFrame:
    """The ``ns_<part>`` columns of ``df`` as rows ``(keys..., part, ns)`` for a stacked bar."""
    keys = list(keys)
    cols = [f"ns_{p}" for p in PARTS]
    long = df[keys + cols].melt(id_vars=keys, value_vars=cols, var_name="part", value_name="ns")
    long["part"] = long["part"].str.removeprefix("ns_")
    return long


def memmap_grid(
    pmem_sizes=("8G", "16G", "64G", "128G", "256G", "400G", "512G", "1T", "2T", "3T", "4T", "6T"),
    dram_sizes=("16G", "64G", "192G", "384G", "768G", "1T"),
    placements=("dram", "pmem"),
    hardware="optane-pmem-100",
    cost: CostModel | None = None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Option 1a's static cost over DIMM size x DRAM size x memmap placement (no I/O run).

    Uses :func:`daxsim.accounting`, so a 6 TiB point costs no more than an 8 GiB one.
    ``status`` says whether the kernel could boot it; infeasible points keep their
    ``reason``.
    """
    hw = hardware_profile(hardware)
    cost = cost or CostModel()
    rows = []
    for pm, dr, pl in itertools.product(pmem_sizes, dram_sizes, placements):
        m = Machine(pmem=pm, dram=dr, memmap=pl)
        layout, acct = accounting("1a", m, kernel=kernel)
        ok, reason = m.feasibility(layout)
        ns = memmap_init_ns_per_page(pl, hw, cost)
        rows.append(
            {
                "pmem": pm,
                "dram": dr,
                "memmap": pl,
                "pmem_gib": m.pmem / GiB,
                "dram_gib": m.dram / GiB,
                "placement": _MEMMAP_LABEL[pl],
                "feasible": ok,
                "reason": reason,
                "status": f"{'feasible' if ok else 'infeasible'}, {_MEMMAP_LABEL[pl]}",
                "memmap_dram_gib": acct["memmap_dram_bytes"] / GiB,
                "memmap_pmem_gib": acct["memmap_pmem_bytes"] / GiB,
                "pmem_lost_gib": acct["pmem_capacity_lost_bytes"] / GiB,
                "dram_left_gib": (m.dram - m.dram_own_memmap - acct["memmap_dram_bytes"]) / GiB,
                "memmap_share_of_dram_pct": 100 * acct["memmap_dram_bytes"] / m.dram,
                "struct_pages": acct["struct_pages_boot"],
                "init_s_modelled": acct["struct_pages_boot"] * ns / 1e9,
            }
        )
    return pd.DataFrame(rows)


def published_init_rates() -> pd.DataFrame:
    """Per-struct-page init costs derived from the kernel's published raw figures.

    Each row: the bib key, what was measured, the reported time, the pages it covered
    and the derived ns per page (time / pages). Regions in GB are read as GiB, as the
    derivations in the book's sources do.
    """
    gib_pages = GiB // PAGE_SIZE
    raw = [
        (
            "gorman2015parallel",
            "Gorman 2015: deferred init",
            "deferred init of one node of a 1 TB, 4-node machine (init and free to the buddy allocator)",
            1.148,
            254 * gib_pages,
        ),
        (
            "linux2020memmapdefer",
            "2020 commit: memmap_init_zone",
            "memmap_init_zone of a 328 GiB region that should have been deferred (init only)",
            2.0,
            85_983_232,
        ),
        (
            "lizhe2026zonedevice",
            "Li Zhe 2026: first bind",
            "ZONE_DEVICE first bind, 100 GB fsdax, map=dev (populates the vmemmap)",
            1.486,
            100 * gib_pages,
        ),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE first bind, 100 GB devdax", 1.515, 100 * gib_pages),
        (
            "lizhe2026zonedevice",
            "Li Zhe 2026: rebind",
            "ZONE_DEVICE rebind, 100 GB fsdax (v7.1-rc3)",
            0.2735,
            100 * gib_pages,
        ),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE rebind, 100 GB devdax (v7.1-rc3)", 0.3135, 100 * gib_pages),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE rebind, 100 GB fsdax (v7.2-rc1)", 0.2443, 100 * gib_pages),
    ]
    df = pd.DataFrame(raw, columns=["source", "series", "measurement", "reported_s", "pages"])
    df["ns_per_page"] = df["reported_s"] * 1e9 / df["pages"]
    return df


def init_time_grid(
    pmem_sizes=("8G", "64G", "400G", "1T", "3T", "6T"),
    hardware="optane-pmem-100",
    cost: CostModel | None = None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Memmap init time vs DIMM size: daxsim's model (both placements) and each published rate.

    Rows ``(pmem_gib, series, init_s)``; published rates are applied to the same number
    of struct pages, single-threaded.
    """
    hw = hardware_profile(hardware)
    cost = cost or CostModel()
    rates = published_init_rates()
    rates = rates[rates["series"] != ""]
    rows = []
    for pm in pmem_sizes:
        size = parse_size(pm)
        for pl in ("dram", "pmem"):
            _, acct = accounting("1a", Machine(pmem=pm, dram="1T", memmap=pl), kernel=kernel)
            n = acct["struct_pages_boot"]
            rows.append(
                {
                    "pmem_gib": size / GiB,
                    "series": f"daxsim model, {_MEMMAP_LABEL[pl]}",
                    "ns_per_page": memmap_init_ns_per_page(pl, hw, cost),
                    "init_s": n * memmap_init_ns_per_page(pl, hw, cost) / 1e9,
                }
            )
        n = size // PAGE_SIZE
        for _, r in rates.iterrows():
            rows.append(
                {
                    "pmem_gib": size / GiB,
                    "series": r["series"],
                    "ns_per_page": r["ns_per_page"],
                    "init_s": n * r["ns_per_page"] / 1e9,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- options 1b, 2, 3


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


# --------------------------------------------------------------------------- huge pages, NV-RAM as RAM

_PAGE_LABEL = {PAGE_SIZE: "4 KiB", 2 << 20: "2 MiB", 1 << 30: "1 GiB"}


def memmap_variant_grid(
    pmem_sizes=("8G", "16G", "64G", "128G", "256G", "400G", "512G", "1T", "2T", "3T", "4T", "6T"),
    page_sizes=("4K", "2M", "1G"),
    variants=None,
) -> pd.DataFrame:
    """The memmap of each variant (:data:`daxsim.emu.hugepages.VARIANTS`) over DIMM size x page size.

    No run needed: :func:`daxsim.emu.hugepages.memmap_cost`. Columns: ``pmem``, ``pmem_gib``,
    ``page_size`` (bytes), ``page`` (a label), ``variant``, ``variant_text``,
    ``memmap_bytes``, ``memmap_mib``, ``memmap_pct`` (of the pmem) and ``saved_pct``
    (against one struct page per 4 KiB).
    """
    from daxsim.emu import hugepages

    variants = hugepages.VARIANTS if variants is None else tuple(variants)
    rows = []
    for pm, ps, v in itertools.product(pmem_sizes, page_sizes, variants):
        size, page = parse_size(pm), hugepages.check_page_size(ps)
        cost = hugepages.memmap_cost(size, page, v)
        base = hugepages.memmap_cost(size, page, "base")
        rows.append(
            {
                "pmem": pm,
                "pmem_gib": size / GiB,
                "page_size": page,
                "page": _PAGE_LABEL[page],
                "variant": v,
                "variant_text": hugepages.VARIANT_TEXT[v],
                "memmap_bytes": cost,
                "memmap_mib": cost / (1 << 20),
                "memmap_pct": 100 * cost / size,
                "saved_pct": 100 * (1 - cost / base),
            }
        )
    return pd.DataFrame(rows)


def amplification_grid(
    page_sizes=("4K", "2M", "1G"),
    store_sizes=(2, 64, 256, 4096),
    fsync_every=(1, 8, 64, 512),
    dirty_4k=("2M",),
    stores=1024,
    file_size="1G",
    pmem="8G",
    dram="16G",
    seed=1,
    hardware="optane-pmem-100",
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Write amplification of scattered stores over page size x store size x fsync interval.

    Option ``huge`` with every event a store of ``store_size`` bytes at a random offset of
    a ``file_size`` file, and an fsync after every ``fsync_every`` stores (metadata path:
    the dirty tracking counts the same without the bytes). Page sizes in ``dirty_4k`` are
    also run with 4 KiB dirty tracking inside the huge mapping. Columns: those of
    :func:`daxsim.frame` plus ``page``, ``series``, ``store_size``, ``fsync_every``,
    ``flush_amplification`` (bytes flushed / bytes stored), ``media_amplification``
    (media bytes / bytes stored), ``fsync_ns``, ``store_ns`` and ``dirty_tracking_bytes``.
    """
    from daxsim.emu import hugepages

    machine = Machine(pmem=pmem, dram=dram, align="1G")
    results, meta = [], []
    for ps, ss, fe in itertools.product(page_sizes, store_sizes, fsync_every):
        w = Workload(
            ios=stores, store_fraction=1.0, store_size=int(ss), fsync_every=int(fe), file_size=file_size, seed=seed
        )
        page = hugepages.check_page_size(ps)
        for dg in ("mapping", "4k") if ps in dirty_4k else ("mapping",):
            results.append(
                run(
                    "huge",
                    machine,
                    w,
                    hardware=hardware,
                    cost=cost,
                    data=False,
                    kernel=kernel,
                    page_size=ps,
                    dirty_granularity=dg,
                )
            )
            label = f"{_PAGE_LABEL[page]} pages" + (", 4 KiB dirty tracking" if dg == "4k" else "")
            meta.append((_PAGE_LABEL[page], label, int(ss), int(fe)))
    df = frame(results)
    df["page"], df["series"], df["store_size"], df["fsync_every"] = zip(*meta)
    df["flush_amplification"] = df["bytes_flushed"] / df["store_bytes"]
    df["media_bytes"] = [r.modelled.media_bytes for r in results]
    df["media_amplification"] = df["media_bytes"] / df["store_bytes"]
    df["fsync_ns"] = [r.modelled.fsync_ns for r in results]
    df["store_ns"] = [r.modelled.store_ns for r in results]
    return df


#: the per-page GUP / put costs with the memmap on each medium. Optane's are measured
#: (gup_test, memmap on pmem); the others are labelled assumptions: NVDIMM-N is DRAM to the
#: CPU (its vendor's claim), a CXL expander scales the DRAM figures by its latency ratio.
def memmap_medium_cost(hardware, cost: CostModel | None = None, kernel=DEFAULT_ERA) -> CostModel:
    """The cost model with ``gup_ns_pmem`` / ``put_ns_pmem`` as the cost model itself prices a
    memmap on ``hardware`` for the era (:func:`daxsim.model.cost.gup_figures`: interpolated
    by the medium's read latency between the DRAM and the Optane measurements). For showing
    the figures; every run already uses them."""
    from daxsim.model.cost import gup_figures
    from daxsim.model.eras import era
    from daxsim.paths.registry import design

    cost = cost or CostModel()
    gup, put = gup_figures(design("nvram"), True, cost, era(kernel), hardware_profile(hardware))
    return cost.replace(gup_ns_pmem=gup, put_ns_pmem=put)


def _gup_in_dram(cost, kernel) -> float:
    from daxsim.model.cost import gup_figures
    from daxsim.model.eras import era
    from daxsim.paths.registry import design

    return gup_figures(design("1a"), False, cost or CostModel(), era(kernel))[0]


def ratio_grid(
    ratios=(1, 2, 4, 8, 16, 32, 64),
    dram_sizes=("16G", "64G", "256G", "768G"),
    hardware=("optane-pmem-100", "nvdimm-n", "cxl-expander"),
    ios=64,
    file_size="64M",
    seed=1,
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """DRAM:pmem ratios x DRAM size x medium x memmap placement, option 1a against nvram.

    ``placement`` ``"dram"`` is option 1a with ``--map=mem``; ``"pmem"`` is option
    ``nvram`` (the memmap on the device). Each point is a run (metadata path, ``ios``
    random 4 KiB I/Os); the cost model prices the memmap on the medium (the figure used is
    :func:`memmap_medium_cost`'s). Infeasible points
    stay, with their reason and no modelled time. Columns: those of :func:`daxsim.frame`
    plus ``ratio`` (pmem per DRAM), ``ratio_label``, ``pmem_tib``, ``placement``,
    ``status``, ``dram_left_gib`` (DRAM left for the kernel after both memmaps),
    ``dram_left_pct`` and ``gup_ns_memmap`` (the per-page GUP cost used).
    """
    results, meta = [], []
    for r, dr, hw in itertools.product(ratios, dram_sizes, hardware):
        d = parse_size(dr)
        c = memmap_medium_cost(hw, cost, kernel)
        w = Workload(ios=ios, io_size=4096, file_size=file_size, seed=seed)
        for pl, o in (("dram", "1a"), ("pmem", "nvram")):
            m = Machine(pmem=d * r, dram=d, memmap=pl)
            results.append(run(o, m, w, hardware=hw, cost=cost, data=False, kernel=kernel))
            meta.append((r, pl, float(c.gup_ns_pmem) if pl == "pmem" else _gup_in_dram(cost, kernel)))
    df = frame(results)
    df["ratio"], df["placement"], df["gup_ns_memmap"] = zip(*meta)
    df["ratio_label"] = [f"1:{r}" for r in df["ratio"]]
    df["pmem_tib"] = df["pmem"] / (1 << 40)
    df["dram_gib"] = df["dram"] / GiB
    df["dram_size"] = [format_size(d) for d in df["dram"]]
    own = df["dram"] // 64
    df["dram_left_gib"] = (df["dram"] - own - df["memmap_dram_bytes"]) / GiB
    df["dram_left_pct"] = 100 * (df["dram"] - own - df["memmap_dram_bytes"]) / df["dram"]
    df["status"] = [
        f"{'feasible' if ok else 'infeasible'}, {_MEMMAP_LABEL[pl]}" for ok, pl in zip(df["feasible"], df["placement"])
    ]
    return df


__all__ += ["amplification_grid", "memmap_medium_cost", "memmap_variant_grid", "ratio_grid"]
