"""The memmap's grids: its size against DIMM and DRAM size, and the time to initialise it.

:func:`memmap_grid` accounts one struct page per 4 KiB of pmem (64 bytes: 1/64 of the
device) with the memmap in DRAM (``--map=mem``) or on the device (``--map=dev``, the
altmap) and says where it no longer fits; :func:`init_time_grid` models
``memmap_init_zone_device`` against the published measurements that
:func:`published_init_rates` lists.
"""

from __future__ import annotations

import itertools

import pandas as pd

from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.emu.machine import Machine
from daxsim.model.cost import memmap_init_ns_per_page
from daxsim.study.stages import accounting
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.units import GiB, PAGE_SIZE, parse_size


__all__ = ["init_time_grid", "memmap_grid", "published_init_rates"]

_MEMMAP_LABEL = {"dram": "memmap in DRAM (--map=mem)", "pmem": "memmap on pmem (--map=dev)"}


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
