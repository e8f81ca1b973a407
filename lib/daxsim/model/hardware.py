"""Hardware profiles and kernel cost figures, each with its source.

Every value is a :class:`Figure`: the number, its unit, where it comes from and whether
it is an *assumption* (no published figure was found; the book labels it so and lets the
reader change it). Source keys (``yang2020optane`` ...) are the book's bibliography keys.

A :class:`HardwareProfile` describes one memory medium (DRAM, Optane PMem 100, NVDIMM-N,
a CXL expander). The machine's DRAM is always the ``ddr4-2666`` profile; ``--hardware``
chooses the medium behind the pmem range. :class:`CostModel` holds the kernel's
per-operation costs (GUP, put_page, page allocation, ...).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """A number with its unit, its source and whether it is an assumption."""

    value: float
    unit: str
    source: str
    note: str = ""
    assumption: bool = False

    def __float__(self) -> float:
        return float(self.value)

    def label(self) -> str:
        tag = " (assumption)" if self.assumption else ""
        return f"{self.value:g} {self.unit}{tag}"


def _f(value, unit, source, note="", assumption=False) -> Figure:
    return Figure(float(value), unit, source, note, assumption)


@dataclass(frozen=True)
class HardwareProfile:
    """One memory medium, as the cost model sees it.

    Bandwidths are in GB/s (10^9 B/s, as the sources give them); latencies in ns.
    ``*_1t`` figures are what a single CPU thread reaches (kernel copies run on one
    thread); the others are per socket with all DIMMs interleaved (what DMA can reach).
    """

    name: str
    description: str
    read_latency_ns: Figure
    read_bw_1t: Figure
    ntstore_bw_1t: Figure
    clwb_bw_1t: Figure
    read_bw: Figure
    write_bw: Figure
    media_granularity: Figure
    persistent: bool = True

    def figures(self) -> dict[str, Figure]:
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if isinstance(getattr(self, f.name), Figure)
        }

    def replace(self, **values) -> HardwareProfile:
        """A copy with some figures replaced; plain numbers become labelled assumptions."""
        return dataclasses.replace(self, **_as_figures(self, values))


def _as_figures(obj, values):
    out = {}
    for k, v in values.items():
        old = getattr(obj, k)
        if isinstance(v, Figure) or not isinstance(old, Figure):
            out[k] = v
        else:
            if not (float(v) > 0):
                raise ValueError(f"{k}: {v!r} must be a positive number ({old.unit})")
            out[k] = Figure(float(v), old.unit, "reader", f"changed from {old.value:g}", True)
    return out


_S2 = "yang2020optane"
_S2D = "nvsl2020optanestudy"
_S1 = "izraelevitz2019optane"

DDR4 = HardwareProfile(
    name="ddr4-2666",
    description="DDR4-2666 DRAM, 6 channels per socket (Cascade Lake; the platform of the Optane studies)",
    read_latency_ns=_f(101.5, "ns", _S2D, "random read, idle, graphs/02-best_case_latency.csv"),
    read_bw_1t=_f(7.38, "GB/s", _S2D, "1 thread, graphs/04-bandwidth_thcount_dram.csv"),
    ntstore_bw_1t=_f(4.31, "GB/s", _S2D, "1 thread, ntstore"),
    clwb_bw_1t=_f(1.44, "GB/s", _S2D, "1 thread, store+clwb"),
    read_bw=_f(105.31, "GB/s", _S2D, "peak over thread counts"),
    write_bw=_f(76.81, "GB/s", _S2D, "ntstore, 24 threads"),
    media_granularity=_f(64, "B", _S2, "a cache line"),
    persistent=False,
)

OPTANE_PMEM_100 = HardwareProfile(
    name="optane-pmem-100",
    description="Intel Optane DC PMem 100 (256 GB modules, 6 interleaved per socket, App Direct)",
    read_latency_ns=_f(305.0, "ns", _S2D, "random read, idle, graphs/02-best_case_latency.csv"),
    read_bw_1t=_f(2.88, "GB/s", _S2D, "1 thread, 6 DIMMs, graphs/04-bandwidth_thcount_optane.csv"),
    ntstore_bw_1t=_f(2.22, "GB/s", _S2D, "1 thread, 1 DIMM ntstore (the 6-DIMM file's write columns are ambiguous)"),
    clwb_bw_1t=_f(1.44, "GB/s", _S2D, "1 thread, 1 DIMM store+clwb"),
    read_bw=_f(37.63, "GB/s", _S2D, "peak, 22 threads, 6 DIMMs"),
    write_bw=_f(12.50, "GB/s", _S2D, "peak, 4 threads, 6 DIMMs"),
    media_granularity=_f(256, "B", _S2, "XPLine: the media works in 256-byte units"),
)

NVDIMM_N = HardwareProfile(
    name="nvdimm-n",
    description="NVDIMM-N (DRAM with flash backup): vendors state DRAM speed; no independent measurement found",
    read_latency_ns=_f(101.5, "ns", "dell2021nvdimmn", "DRAM-speed vendor claim; DDR4 figure reused", True),
    read_bw_1t=_f(7.38, "GB/s", "dell2021nvdimmn", "DDR4 figure reused", True),
    ntstore_bw_1t=_f(4.31, "GB/s", "dell2021nvdimmn", "DDR4 figure reused", True),
    clwb_bw_1t=_f(1.44, "GB/s", "dell2021nvdimmn", "DDR4 figure reused", True),
    read_bw=_f(105.31, "GB/s", "dell2021nvdimmn", "DDR4 figure reused", True),
    write_bw=_f(76.81, "GB/s", "dell2021nvdimmn", "DDR4 figure reused", True),
    media_granularity=_f(64, "B", "dell2021nvdimmn", "DRAM", True),
)

CXL_EXPANDER = HardwareProfile(
    name="cxl-expander",
    description="A direct-attached CXL 2.0 Type-3 DRAM expander (PCIe 5.0 x8 module), not persistent",
    read_latency_ns=_f(
        101.5 + 80, "ns", "li2023pond", "DRAM + 70-90 ns (Pond) / 50-100 ns (TPP); midpoint 80 ns", True
    ),
    read_bw_1t=_f(
        7.38 * 101.5 / 181.5,
        "GB/s",
        "mccalpin2023bandwidth",
        "Little's law: DDR4 single-thread bandwidth scaled by the latency ratio",
        True,
    ),
    ntstore_bw_1t=_f(4.31 * 101.5 / 181.5, "GB/s", "mccalpin2023bandwidth", "scaled like read_bw_1t", True),
    clwb_bw_1t=_f(1.44 * 101.5 / 181.5, "GB/s", "mccalpin2023bandwidth", "scaled like read_bw_1t", True),
    read_bw=_f(
        28.0,
        "GB/s",
        "tomshardware2023cz120",
        "Micron CZ120's 36 GB/s is a 2:1 read/write mix; reads alone "
        "are held under PCIe 5.0 x8's 31.5 GB/s per direction",
        True,
    ),
    write_bw=_f(
        24.0,
        "GB/s",
        "tomshardware2023cz120",
        "between the write share of the 2:1 mix (12 GB/s) and the "
        "link's 31.5 GB/s per direction; no write figure published",
        True,
    ),
    media_granularity=_f(64, "B", "li2023pond", "DRAM behind the CXL controller", True),
    persistent=False,
)

HARDWARE: dict[str, HardwareProfile] = {p.name: p for p in (DDR4, OPTANE_PMEM_100, NVDIMM_N, CXL_EXPANDER)}
DEFAULT_HARDWARE = "optane-pmem-100"


def hardware_profile(name) -> HardwareProfile:
    """Return the profile called ``name`` (or ``name`` itself if it is a profile)."""
    if isinstance(name, HardwareProfile):
        return name
    if name not in HARDWARE:
        raise ValueError(f"hardware: {name!r} is not a known profile; accepted: {', '.join(HARDWARE)}")
    return HARDWARE[name]


_V4 = "martins2021compounddevmapv4"  #: gup_test on device-dax, v4 cover letter (27 Aug 2021)
_V7 = "martins2021compounddevmapv7"  #: gup_test on device-dax, v7 cover letter: the merged series (5.17)


@dataclass(frozen=True)
class CostModel:
    """Per-operation costs of the kernel's I/O path, in ns (and GB/s for the device).

    The formula that turns counters into modelled time is :func:`daxsim.model.cost.model`.
    The GUP figures are per 4 KiB page, measured by gup_test on device-dax with the memmap
    in DRAM (``--map=mem``) or on pmem (``--map=dev``), each labelled by what it measured:
    ``gup_ns_*`` get_user_pages_fast (FOLL_GET), ``pin_ns_*`` pin_user_pages_fast
    (FOLL_PIN), ``put_ns_*`` unpinning, all on base pages; ``*_compound_*`` on compound
    pages. The kernel era decides which apply (:mod:`daxsim.model.eras`).
    """

    io_fixed_ns: Figure = field(
        default_factory=lambda: _f(
            1000, "ns", "daxsim", "syscall, bio allocation, submission and completion of one O_DIRECT I/O", True
        )
    )
    gup_ns_dram: Figure = field(
        default_factory=lambda: _f(
            14.1,
            "ns",
            _V4,
            "get_user_pages_fast (FOLL_GET) per 4 KiB on device-dax base pages, memmap in DRAM: "
            "59 ms / 4 Mi pages (v4, before); applied to fsdax 4 KiB pages",
        )
    )
    gup_ns_pmem: Figure = field(
        default_factory=lambda: _f(
            118.0, "ns", _V4, "get_user_pages_fast per 4 KiB, base pages, memmap on pmem (altmap): 494 ms / 4 Mi pages"
        )
    )
    pin_ns_dram: Figure = field(
        default_factory=lambda: _f(
            20.7, "ns", _V4, "pin_user_pages_fast (FOLL_PIN) per 4 KiB, base pages, memmap in DRAM: 87 ms / 4 Mi pages"
        )
    )
    pin_ns_pmem: Figure = field(
        default_factory=lambda: _f(
            124.9, "ns", _V7, "pin_user_pages_fast per 4 KiB, base pages, altmap: 524 ms / 4 Mi pages (v7, before)"
        )
    )
    put_ns_dram: Figure = field(
        default_factory=lambda: _f(
            16.9, "ns", _V7, "unpin per 4 KiB, base pages, memmap in DRAM: 71 ms / 4 Mi pages (v7, before)"
        )
    )
    put_ns_pmem: Figure = field(
        default_factory=lambda: _f(
            125.0, "ns", _V7, "unpin per 4 KiB, base pages, altmap: 525 ms / 4 Mi pages (v7, before)"
        )
    )
    putpage_ns_dram: Figure = field(
        default_factory=lambda: _f(
            16.9, "ns", _V7, "put_page() per 4 KiB after FOLL_GET: no published figure; the unpin figure reused", True
        )
    )
    putpage_ns_pmem: Figure = field(
        default_factory=lambda: _f(125.0, "ns", _V7, "put_page() per 4 KiB, altmap: the unpin figure reused", True)
    )
    bvec_ns: Figure = field(
        default_factory=lambda: _f(2.0, "ns", "daxsim", "filling one descriptor entry (a 16-byte store)", True)
    )
    page_alloc_ns: Figure = field(
        default_factory=lambda: _f(60.0, "ns", "daxsim", "buddy allocation plus free of one order-0 page", True)
    )
    device_bw: Figure = field(
        default_factory=lambda: _f(
            7.0, "GB/s", "daxsim", "the block device's DMA bandwidth (a PCIe 4.0 x4 NVMe class device)", True
        )
    )
    pfn_walk_ns: Figure = field(
        default_factory=lambda: _f(
            5.0, "ns", "daxsim", "reading one PTE to a pfn with no struct page touched (options 2, 3)", True
        )
    )
    lookup_ns: Figure = field(
        default_factory=lambda: _f(
            10.0, "ns", "daxsim", "one pfn -> transient struct page hash lookup (option 1b)", True
        )
    )
    pool_alloc_ns: Figure = field(
        default_factory=lambda: _f(
            5.0, "ns", "daxsim", "taking or returning a transient struct page slot (option 1b)", True
        )
    )
    desc_alloc_ns: Figure = field(
        default_factory=lambda: _f(
            30.0,
            "ns",
            "daxsim",
            "allocating and freeing a folio descriptor from a slab (the proposed memdesc-8 era)",
            True,
        )
    )
    extent_ref_ns: Figure = field(
        default_factory=lambda: _f(
            6.0,
            "ns",
            "daxsim",
            "taking or dropping a reference on an extent: one uncontended atomic on the extent holder "
            "(lock inc, ~20 cycles at 3.5 GHz)",
            True,
        )
    )
    range_lock_ns: Figure = field(
        default_factory=lambda: _f(
            100.0,
            "ns",
            "daxsim",
            "taking and releasing a filesystem range lock / layout lease (option 2 guarded)",
            True,
        )
    )
    gup_compound_ns_dram: Figure = field(
        default_factory=lambda: _f(
            1.48,
            "ns",
            _V4,
            "pin per 4 KiB with one grab per compound folio, memmap in DRAM: 6.2 ms / 4 Mi pages, "
            "measured with the unmerged v4 patch 8; the algorithm GUP uses on fsdax PMDs from 6.15 (inferred)",
            True,
        )
    )
    gup_compound_ns_pmem: Figure = field(
        default_factory=lambda: _f(
            2.38, "ns", _V4, "the same with the memmap on pmem (altmap): 10 ms / 4 Mi pages (unmerged v4 patch 8)", True
        )
    )
    put_compound_ns_dram: Figure = field(
        default_factory=lambda: _f(
            5.25, "ns", _V7, "unpin per 4 KiB on compound pages, memmap in DRAM: 22 ms / 4 Mi pages (v7, after)"
        )
    )
    put_compound_ns_pmem: Figure = field(
        default_factory=lambda: _f(
            16.9, "ns", _V7, "unpin per 4 KiB on compound pages, altmap: 71 ms / 4 Mi pages (v7, after)"
        )
    )
    dirty_page_ns: Figure = field(
        default_factory=lambda: _f(
            15.0,
            "ns",
            "daxsim",
            "set_page_dirty_lock() on a read's page: lock, PG_dirty, unlock on a cached struct page "
            "line (three uncontended atomics)",
            True,
        )
    )
    dax_fault_ns: Figure = field(
        default_factory=lambda: _f(
            1000.0,
            "ns",
            "daxsim",
            "a DAX page fault taken on the I/O path (after a truncate unmapped the file): iomap "
            "lookup and the PTE install",
            True,
        )
    )
    iommu_page_ns: Figure = field(
        default_factory=lambda: _f(
            338.0,
            "ns",
            "xia2025dmamapbenchmark",
            "dma_map_sg + unmap per 4 KiB through an IOMMU: 1.4 + 1.3 us for 8 "
            "pages (dma_map_benchmark; the platform is not stated): charged only with iommu on",
            True,
        )
    )
    line_transfer_ns: Figure = field(
        default_factory=lambda: _f(
            48.0,
            "ns",
            "viennot2022c2c",
            "moving a cache line between two cores of one socket (the median of a Xeon "
            "Gold 6242's core-to-core latencies): what an atomic on a line another CPU wrote last adds",
            True,
        )
    )
    clwb_line_ns: Figure = field(
        default_factory=lambda: _f(
            5.0, "ns", "daxsim", "issuing clwb on one 64-byte line during writeback (lines that did not change)", True
        )
    )
    dirty_fault_ns: Figure = field(
        default_factory=lambda: _f(1000.0, "ns", "daxsim", "the write fault that marks a clean DAX entry dirty", True)
    )
    page_walk_ns: Figure = field(
        default_factory=lambda: _f(
            15.0,
            "ns",
            "daxsim",
            "a TLB miss whose page walk hits the caches: ~20-50 cycles, a rule of thumb "
            "(mccalpin2022tlb gives only the TLB sizes)",
            True,
        )
    )
    memmap_init_cpu_ns: Figure = field(
        default_factory=lambda: _f(
            10.4,
            "ns",
            "lizhe2026zonedevice",
            "memmap_init_zone_device rebind: 273.5 ms for 100 GiB of 4 KiB pfns, "
            "the struct page writes included (map=dev, in a VM)",
        )
    )

    def figures(self) -> dict[str, Figure]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **values) -> CostModel:
        """A copy with some costs replaced; plain numbers become labelled assumptions."""
        unknown = set(values) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"cost: unknown parameter(s) {sorted(unknown)}; accepted: {', '.join(self.figures())}")
        return dataclasses.replace(self, **_as_figures(self, values))
