"""Grids the chapters compute at build time for their offline-interactive charts.

Each function returns a tidy DataFrame (one row per grid point) that
:func:`daxsim.charts.grid_chart` or :func:`daxsim.charts.bar_breakdown` draws.
Infeasible grid points stay in the frame with their reason: charts mark them, tables
list them, nothing drops them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from .hardware import CostModel, hardware_profile
from .machine import Machine
from .metrics import memmap_init_ns_per_page
from .study import accounting, frame, run
from .units import GiB, PAGE_SIZE, parse_size
from .workload import Workload

__all__ = ["io_grid", "breakdown_long", "memmap_grid", "published_init_rates", "init_time_grid", "PARTS"]

#: the parts of the modelled time per I/O, in the order of the I/O path
PARTS = ("fixed", "gup", "put", "descriptor", "page_alloc", "cpu_copy", "dma")

_MEMMAP_LABEL = {"dram": "memmap in DRAM (--map=mem)", "pmem": "memmap on pmem (--map=dev)"}


def io_grid(options=("0", "1a"), io_sizes=(4096, 65536, 1 << 20), hardware=("optane-pmem-100",),
            queue_depths=(1,), memmaps=("dram",), pmem="400G", dram="16G", ios=64, file_size="256M",
            read_fraction=0.5, seed=1, data=False, cost=None) -> pd.DataFrame:
    """Every option at every (I/O size, hardware, queue depth, memmap placement) point.

    ``data=False`` runs the metadata path only: the counters, and so the modelled time,
    are the same as with ``data=True`` (the chapters check that on one point), and the
    grid stays fast. Columns are those of :func:`daxsim.frame` plus ``io_size_kib``,
    ``series`` (option and memmap placement) and ``bytes_copied_per_io``.
    """
    results = []
    for io_size, hw, qd, mm in itertools.product(io_sizes, hardware, queue_depths, memmaps):
        machine = Machine(pmem=pmem, dram=dram, memmap=mm)
        w = Workload(ios=ios, io_size=io_size, queue_depth=qd, read_fraction=read_fraction, file_size=file_size,
                     seed=seed)
        for o in options:
            results.append(run(o, machine, w, hardware=hw, cost=cost, data=data))
    df = frame(results)
    df["io_size_kib"] = df["io_size"] / 1024
    df["series"] = [f"option {o}" + ("" if o == "0" else f", {_MEMMAP_LABEL[m]}")
                    for o, m in zip(df["option"], df["memmap"])]
    df["bytes_copied_per_io"] = df["bytes_cpu_copied"] / df["ios"].where(df["ios"] > 0)
    return df


def breakdown_long(df: pd.DataFrame, keys) -> pd.DataFrame:
    """The ``ns_<part>`` columns of ``df`` as rows ``(keys..., part, ns)`` for a stacked bar."""
    keys = list(keys)
    cols = [f"ns_{p}" for p in PARTS]
    long = df[keys + cols].melt(id_vars=keys, value_vars=cols, var_name="part", value_name="ns")
    long["part"] = long["part"].str.removeprefix("ns_")
    return long


def memmap_grid(pmem_sizes=("8G", "16G", "64G", "128G", "256G", "400G", "512G", "1T", "2T", "3T", "4T", "6T"),
                dram_sizes=("16G", "64G", "192G", "384G", "768G", "1T"), placements=("dram", "pmem"),
                hardware="optane-pmem-100", cost: CostModel | None = None) -> pd.DataFrame:
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
        layout, acct = accounting("1a", m)
        ok, reason = m.feasibility(layout)
        ns = memmap_init_ns_per_page(pl, hw, cost)
        rows.append({
            "pmem": pm, "dram": dr, "memmap": pl,
            "pmem_gib": m.pmem / GiB, "dram_gib": m.dram / GiB,
            "placement": _MEMMAP_LABEL[pl],
            "feasible": ok, "reason": reason,
            "status": f"{'feasible' if ok else 'infeasible'}, {_MEMMAP_LABEL[pl]}",
            "memmap_dram_gib": acct["memmap_dram_bytes"] / GiB,
            "memmap_pmem_gib": acct["memmap_pmem_bytes"] / GiB,
            "pmem_lost_gib": acct["pmem_capacity_lost_bytes"] / GiB,
            "dram_left_gib": (m.dram - m.dram_own_memmap - acct["memmap_dram_bytes"]) / GiB,
            "memmap_share_of_dram_pct": 100 * acct["memmap_dram_bytes"] / m.dram,
            "struct_pages": acct["struct_pages_boot"],
            "init_s_modelled": acct["struct_pages_boot"] * ns / 1e9,
        })
    return pd.DataFrame(rows)


def published_init_rates() -> pd.DataFrame:
    """Per-struct-page init costs derived from the kernel's published raw figures.

    Each row: the bib key, what was measured, the reported time, the pages it covered
    and the derived ns per page (time / pages). Regions in GB are read as GiB, as the
    derivations in the book's sources do.
    """
    gib_pages = GiB // PAGE_SIZE
    raw = [
        ("gorman2015parallel", "Gorman 2015: deferred init",
         "deferred init of one node of a 1 TB, 4-node machine (init and free to the buddy allocator)",
         1.148, 254 * gib_pages),
        ("linux2020memmapdefer", "2020 commit: memmap_init_zone",
         "memmap_init_zone of a 328 GiB region that should have been deferred (init only)", 2.0, 85_983_232),
        ("lizhe2026zonedevice", "Li Zhe 2026: first bind",
         "ZONE_DEVICE first bind, 100 GB fsdax, map=dev (populates the vmemmap)", 1.486, 100 * gib_pages),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE first bind, 100 GB devdax", 1.515, 100 * gib_pages),
        ("lizhe2026zonedevice", "Li Zhe 2026: rebind",
         "ZONE_DEVICE rebind, 100 GB fsdax (v7.1-rc3)", 0.2735, 100 * gib_pages),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE rebind, 100 GB devdax (v7.1-rc3)", 0.3135, 100 * gib_pages),
        ("lizhe2026zonedevice", "", "ZONE_DEVICE rebind, 100 GB fsdax (v7.2-rc1)", 0.2443, 100 * gib_pages),
    ]
    df = pd.DataFrame(raw, columns=["source", "series", "measurement", "reported_s", "pages"])
    df["ns_per_page"] = df["reported_s"] * 1e9 / df["pages"]
    return df


def init_time_grid(pmem_sizes=("8G", "64G", "400G", "1T", "3T", "6T"), hardware="optane-pmem-100",
                   cost: CostModel | None = None) -> pd.DataFrame:
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
            _, acct = accounting("1a", Machine(pmem=pm, dram="1T", memmap=pl))
            n = acct["struct_pages_boot"]
            rows.append({"pmem_gib": size / GiB, "series": f"daxsim model, {_MEMMAP_LABEL[pl]}",
                         "ns_per_page": memmap_init_ns_per_page(pl, hw, cost), "init_s": n * memmap_init_ns_per_page(pl, hw, cost) / 1e9})
        n = size // PAGE_SIZE
        for _, r in rates.iterrows():
            rows.append({"pmem_gib": size / GiB, "series": r["series"], "ns_per_page": r["ns_per_page"],
                         "init_s": n * r["ns_per_page"] / 1e9})
    return pd.DataFrame(rows)


_ = np
