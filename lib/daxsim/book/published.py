"""The kernel's published figures beside daxsim's: memmap size, vmemmap savings, memmap init, GUP cost.

:data:`PUBLISHED` holds the figures the kernel community published (the memmap's 1/64,
HVO's and device-dax's vmemmap savings, ``get_user_pages_fast`` / ``pin_user_pages_fast``
over 16 GiB as ``gup_test`` measured them), each with its BibTeX key.
:func:`published_vs_daxsim` sets them beside the same quantities computed by daxsim (and
the published memmap init rates, shown for scale), each with the tolerance within which
they should agree (:data:`TOPIC_TOLERANCE`, :data:`TOLERANCE`); :func:`side_by_side` is
that table as the book prints it. :func:`lab_vs_daxsim` does the same for the lab's
measurements on a real 6.1 kernel.
"""

from __future__ import annotations

import pandas as pd

from daxsim.book import grids
from daxsim.emu import hugepages
from daxsim.emu.machine import Machine
from daxsim.emu.units import PAGE_SIZE, PMD_SIZE, PUD_SIZE, GiB, MiB, TiB, format_size
from daxsim.emu.workload import Workload
from daxsim.model.cost import memmap_init_ns_per_page
from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.study.api import run
from daxsim.study.stages import accounting

__all__ = ["PUBLISHED", "TOLERANCE", "TOPIC_TOLERANCE", "lab_vs_daxsim", "published_vs_daxsim", "side_by_side"]

#: the kernel's published figures: (topic, quantity, value, unit, source, what the source says, short label)
#: GB/TB in a source are read as GiB/TiB, as the kernel's own 1/64 arithmetic does
PUBLISHED = (
    (
        "memmap size",
        "memmap share of memory, 4 KiB pages",
        1 / 64,
        "ratio",
        "linuxdoc2024memoryhotplug",
        'the memory map is "usually 1/64ths of memory"',
        "memmap / memory",
    ),
    (
        "memmap size",
        "memmap for 400 GB",
        6.4 * GiB,
        "bytes",
        "wilcox2015overhead",
        '"a 400GB DIMM ... occupies 6.4GB" (2015, rounded)',
        "400 GB",
    ),
    (
        "memmap size",
        "memmap for 1 TB",
        16 * GiB,
        "bytes",
        "ndctl2024createnamespace",
        '"64-bytes per 4K (16GB per 1TB) on x86"',
        "1 TB",
    ),
    ("memmap size", "memmap for 2 TB", 32 * GiB, "bytes", "oracle2021structpage", "32 GB per 2 TB", "2 TB"),
    (
        "memmap size",
        "memmap for 4 TB of PMEM",
        64 * GiB,
        "bytes",
        "linux2022kmsanstructpage",
        "\"4TB of PMEM consumes 64GB of space just for 'struct page'\"",
        "4 TB",
    ),
    ("memmap size", "memmap for 8 TB", 128 * GiB, "bytes", "oracle2021structpage", "128 GB per 8 TB", "8 TB"),
    (
        "vmemmap savings",
        "HVO: vmemmap pages freed per 2 MiB page",
        7,
        "pages",
        "linuxdoc2024vmemmapdedup",
        "8 vmemmap pages, 7 freed",
        "HVO, 2 MiB",
    ),
    (
        "vmemmap savings",
        "HVO: vmemmap pages freed per 1 GiB page",
        4095,
        "pages",
        "linuxdoc2024vmemmapdedup",
        "4,096 vmemmap pages, PAGE_SIZE - 1 = 4,095 freed",
        "HVO, 1 GiB",
    ),
    (
        "vmemmap savings",
        "device-dax dedup: memmap per TB, 2 MiB pages",
        4 * GiB,
        "bytes",
        "linux2022devdaxdedup",
        '"with 2M pages we lose 4G instead of 16G"',
        "dedup, 2 MiB",
    ),
    (
        "vmemmap savings",
        "device-dax dedup: memmap per TB, 1 GiB pages",
        40 * MiB,
        "bytes",
        "linux2022devdaxdedup",
        '"with 1G pages ... 40MB instead of 16G"',
        "dedup, 1 GiB",
    ),
    (
        "GUP cost",
        "get_user_pages_fast over 16 GiB of device-dax base pages, memmap in DRAM",
        59e-3,
        "s",
        "martins2021compounddevmapv4",
        "gup_test -u: 59 ms for 4 Mi pages",
        "get, DRAM",
    ),
    (
        "GUP cost",
        "get_user_pages_fast over 16 GiB, memmap on pmem (altmap)",
        494e-3,
        "s",
        "martins2021compounddevmapv4",
        "gup_test -u: 494 ms for 4 Mi pages",
        "get, altmap",
    ),
    (
        "GUP cost",
        "pin_user_pages_fast over 16 GiB of base pages, memmap in DRAM",
        87e-3,
        "s",
        "martins2021compounddevmapv4",
        "gup_test -a: 87 ms for 4 Mi pages",
        "pin, DRAM",
    ),
    (
        "GUP cost",
        "pin_user_pages_fast over 16 GiB, memmap on pmem (altmap)",
        524e-3,
        "s",
        "martins2021compounddevmapv7",
        "gup_test -a: 524 ms for 4 Mi pages",
        "pin, altmap",
    ),
    (
        "GUP cost",
        "unpin 16 GiB of base pages, memmap in DRAM",
        71e-3,
        "s",
        "martins2021compounddevmapv7",
        "71 ms for 4 Mi pages",
        "unpin, DRAM",
    ),
    (
        "GUP cost",
        "unpin 16 GiB, memmap on pmem (altmap)",
        525e-3,
        "s",
        "martins2021compounddevmapv7",
        "525 ms for 4 Mi pages",
        "unpin, altmap",
    ),
    (
        "GUP cost",
        "unpin 16 GiB of 2 MiB compound pages, memmap in DRAM",
        22e-3,
        "s",
        "martins2021compounddevmapv7",
        "22 ms for 4 Mi pages",
        "unpin, compound",
    ),
)
#: vmemmap pages exactly; GUP costs within 1 % (the cost model's per-page figures are rounded)
TOPIC_TOLERANCE = {"memmap size": 0.0, "vmemmap savings": 0.0, "GUP cost": 0.01}
#: ... and the figures that differ from their topic's
TOLERANCE = {
    "memmap for 400 GB": 0.05,  # the thread's figure is rounded (6.25 by the 1/64 rule)
    "device-dax dedup: memmap per TB, 2 MiB pages": 0.01,  # daxsim counts the page tables too
    "device-dax dedup: memmap per TB, 1 GiB pages": 0.01,
}
_GUP_PAGES = 16 * GiB // PAGE_SIZE  # gup_test pinned 16 GiB: 4 Mi pages


def _gup_costs() -> dict:
    """Seconds per 16 GiB for referencing and releasing, from daxsim runs of 1 MiB I/Os: the
    modelled GUP and put time per 4 KiB page, times 4 Mi pages, at the era whose GUP call the
    measurement used: get_user_pages_fast (6.1, FOLL_GET), pin_user_pages_fast (6.12, FOLL_PIN),
    one grab per compound folio (6.15, option huge)."""
    w = Workload(ios=64, io_size="1M", file_size="256M", seed=1)
    out = {}
    for option, memmap, kernel, kw in (
        ("1a", "dram", "6.1", {}),
        ("1a", "pmem", "6.1", {}),
        ("1a", "dram", "6.12", {}),
        ("1a", "pmem", "6.12", {}),
        ("huge", "dram", "6.15", {"page_size": "2M"}),
    ):
        r = run(option, Machine(pmem="64G", dram="16G", memmap=memmap), w, data=False, kernel=kernel, **kw)
        per_page = {
            p: r.modelled.breakdown[p] * r.metrics["ios_completed"] / r.metrics["gup_pages"] for p in ("gup", "put")
        }
        out[(option, memmap, kernel)] = {p: ns * _GUP_PAGES / 1e9 for p, ns in per_page.items()}
    return out


def _daxsim_values() -> dict:
    """daxsim's side of :data:`PUBLISHED`, by quantity."""

    def memmap(size):
        return accounting("1a", Machine(pmem=size, dram="16G"))[1]["memmap_dram_bytes"]

    vmemmap_per = {ps: hugepages.memmap_cost(ps, ps, "base") // PAGE_SIZE for ps in (PMD_SIZE, PUD_SIZE)}
    gup = _gup_costs()
    return {
        "memmap share of memory, 4 KiB pages": memmap("1T") / TiB,
        "memmap for 400 GB": memmap("400G"),
        "memmap for 1 TB": memmap("1T"),
        "memmap for 2 TB": memmap("2T"),
        "memmap for 4 TB of PMEM": memmap("4T"),
        "memmap for 8 TB": memmap("8T"),
        "HVO: vmemmap pages freed per 2 MiB page": vmemmap_per[PMD_SIZE] - hugepages.VMEMMAP_KEPT["hvo"],
        "HVO: vmemmap pages freed per 1 GiB page": vmemmap_per[PUD_SIZE] - hugepages.VMEMMAP_KEPT["hvo"],
        "device-dax dedup: memmap per TB, 2 MiB pages": hugepages.memmap_cost(TiB, PMD_SIZE, "devdax-dedup"),
        "device-dax dedup: memmap per TB, 1 GiB pages": hugepages.memmap_cost(TiB, PUD_SIZE, "devdax-dedup"),
        "get_user_pages_fast over 16 GiB of device-dax base pages, memmap in DRAM": gup[("1a", "dram", "6.1")]["gup"],
        "get_user_pages_fast over 16 GiB, memmap on pmem (altmap)": gup[("1a", "pmem", "6.1")]["gup"],
        "pin_user_pages_fast over 16 GiB of base pages, memmap in DRAM": gup[("1a", "dram", "6.12")]["gup"],
        "pin_user_pages_fast over 16 GiB, memmap on pmem (altmap)": gup[("1a", "pmem", "6.12")]["gup"],
        "unpin 16 GiB of base pages, memmap in DRAM": gup[("1a", "dram", "6.12")]["put"],
        "unpin 16 GiB, memmap on pmem (altmap)": gup[("1a", "pmem", "6.12")]["put"],
        "unpin 16 GiB of 2 MiB compound pages, memmap in DRAM": gup[("huge", "dram", "6.15")]["put"],
    }


def _show(value: float, unit: str) -> str:
    if unit == "bytes":
        return format_size(value)
    if unit == "ratio":
        return f"{value:.4%}"
    if unit == "s":
        return f"{value * 1e3:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    return f"{value:,.0f}"


def _row(topic, quantity, kernel, daxsim, unit, source, says, tolerance, how, label=None):
    ratio = daxsim / kernel
    return {
        "topic": topic,
        "quantity": quantity,
        "kernel": _show(kernel, unit),
        "daxsim": _show(daxsim, unit),
        "kernel_value": float(kernel),
        "daxsim_value": float(daxsim),
        "unit": unit,
        "ratio": ratio,
        "tolerance": tolerance,
        "agrees": None if tolerance is None else bool(abs(ratio - 1) <= tolerance),
        "source": source,
        "source_says": says,
        "daxsim_how": how,
        "label": label or quantity,
    }


_HOW = {
    "memmap size": "daxsim.accounting('1a', Machine(pmem=...)): the memmap option 1a keeps in DRAM",
    "vmemmap savings": "daxsim.emu.hugepages.memmap_cost and VMEMMAP_KEPT",
    "GUP cost": "daxsim.run of 64 x 1 MiB I/Os at the era of the measured call (6.1: get, 6.12: pin, 6.15: one grab "
    "per compound folio): modelled GUP or put time per 4 KiB page x 4 Mi pages",
}


def published_vs_daxsim(init_placement: str = "dram", hardware: str = "optane-pmem-100") -> pd.DataFrame:
    """The kernel's published figures beside daxsim's computed ones, one row each.

    ``tolerance`` is the relative difference within which the two should agree (0:
    exactly); ``None`` marks figures daxsim is not expected to reproduce (the memmap
    init measurements, whose setups differ from the model's), shown for scale.
    ``agrees`` is the verdict (None where no tolerance applies).
    """
    ours = _daxsim_values()
    rows = [
        _row(topic, q, value, ours[q], unit, src, says, TOLERANCE.get(q, TOPIC_TOLERANCE[topic]), _HOW[topic], label)
        for topic, q, value, unit, src, says, label in PUBLISHED
    ]
    ns = memmap_init_ns_per_page(init_placement, hardware_profile(hardware), CostModel())
    rates = grids.published_init_rates()
    series = rates["series"].where(rates["series"] != "").ffill()
    for (_, r), who in zip(rates.iterrows(), series):
        rows.append(
            _row(
                "memmap init",
                r["measurement"],
                r["reported_s"],
                r["pages"] * ns / 1e9,
                "s",
                r["source"],
                f"{r['reported_s']:g} s for {r['pages']:,} struct pages",
                None,
                f"struct pages x memmap_init_ns_per_page({init_placement!r}) = {ns:.1f} ns",
                " ".join([who, *_init_tags(r["measurement"])]),
            )
        )
    return pd.DataFrame(rows)


def _init_tags(measurement: str) -> list[str]:
    """The namespace mode and kernel release a published init measurement names."""
    return [t for t in ("fsdax", "devdax", "v7.1-rc3", "v7.2-rc1") if t in measurement]


def side_by_side(numbers: pd.DataFrame) -> pd.DataFrame:
    """:func:`published_vs_daxsim` as the book shows it: kernel and daxsim beside each
    other, the ratio, the tolerance and the verdict in words."""
    verdict = {True: "yes", False: "NO"}
    return pd.DataFrame(
        {
            "topic": numbers["topic"],
            "figure": numbers["quantity"],
            "the kernel's": numbers["kernel"],
            "daxsim's": numbers["daxsim"],
            "daxsim ÷ kernel": numbers["ratio"].round(3),
            "tolerance": [
                ("exact" if t == 0 else f"± {t:.0%}") if pd.notna(t) else "shown for scale"
                for t in numbers["tolerance"]
            ],
            "agree": [verdict.get(a, "—") for a in numbers["agrees"]],
            "source": numbers["source"],
        }
    )


def lab_vs_daxsim(results=None) -> pd.DataFrame:
    """The lab's measurements on a real kernel (Linux 6.1 in QEMU) beside daxsim's model
    and the model with the kernel's extra rules (:func:`daxsim.book.lab.kernel_layout`):
    DRAM taken by the memmap and pmem capacity lost, per namespace, in MiB."""
    from daxsim.book import lab

    results = lab.RESULTS_DIR if results is None else results
    if not any(r.get("test") == "ns_cost" for r in lab.load_results(results).values()):
        raise ValueError(
            f"results: {str(results)!r} holds no ns_cost results; accepted: a folder of lab results "
            "(lab/results, made by `make lab`)"
        )
    t = lab.ns_cost_table(results)
    t = t.assign(namespace=t["mode"] + " --map=" + t["map"] + " " + t["size"] + ", align " + t["align"])
    return t[
        [
            "namespace",
            "DRAM measured",
            "DRAM daxsim",
            "DRAM daxsim+kernel",
            "lost measured",
            "lost daxsim",
            "lost daxsim+kernel",
        ]
    ].round(3)
