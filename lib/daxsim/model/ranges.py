"""Every figure's range: a low and a high value with the reason for each.

For a figure labelled an assumption the range is what the sources and a cycle count allow;
for a cited figure it is the spread its source gives (a single measurement gives low =
high). Keys are CostModel figure names, or ``<profile>.<figure>`` for a hardware profile's.
Each reason starts with how it is known: ``[cited]``, ``[cited, weak]`` or ``[cited,
secondary]``, ``[reasoned]`` (a cycle count or a hardware limit, stated), ``[derived]``
(arithmetic on cited numbers). :mod:`daxsim.study.verdict` samples these ranges.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["RANGES", "Range", "range_of"]


class Range(NamedTuple):
    low: float
    high: float
    low_why: str
    high_why: str
    sources: tuple[str, ...]


RANGES: dict[str, Range] = {
    "io_fixed_ns": Range(
        100.0,
        5000.0,
        "[cited] 10M IOPS on one core (Ryzen 9 5950X, 2x Optane P5800X, io_uring polled + batched + registered buffers, Oct 2021) = 100 ns of CPU per I/O; the floor of the Linux block/NVMe/io_uring path. Mid-point: 2.58M IOPS/co…",
        "[cited, upper bound incl. device time] Synchronous 4 KiB O_DIRECT with polling gave 5-6 us per I/O on a DRAM-backed NVMe device (Axboe, blk-mq private O_DIRECT commit, 2016); QD1 polled 512 B reads on a P5800X took 3.4…",
        ("phoronix2021iouring10m", "axboe2020optane2", "axboe2016blkmqdio"),
    ),
    "bvec_ns": Range(
        0.3,
        5.0,
        "[reasoned] one 16-byte store into a descriptor array: about 1 store per cycle at 3.5 GHz = 0.29 ns when the loop is tight. Sanity anchor (cited): compound-page GUP fills the pages[] array at 1.45 ns per 4 KiB including…",
        "[reasoned] a per-entry function call with a merge test (bio_add_page style): ~15-20 cycles at 3-3.5 GHz = 4-7 ns; 5 ns taken.",
        ("martins2022gup",),
    ),
    "page_alloc_ns": Range(
        46.0,
        984.0,
        "[cited] page_bench01 single_page_alloc_free (alloc_page + __free_page, order-0) = 115.25 cycles on an i7-11850H, TSC 2.5 GHz = 46 ns (Tosatti, May 2023). Older figures: 231 cycles (~77 ns at ~3 GHz, Brouer Dec 2016); 18…",
        "[cited] with all 26 cores allocating 4 KiB frames in parallel the Linux allocator slowed from 94 ns to 984 ns per allocation (LLFree, USENIX ATC 2023, as quoted). Without that much contention: page_bench03 with 88 threa…",
        ("tosatti2023vmstat", "brouer2016txdp", "wang2017numastat", "wrenger2023llfree"),
    ),
    "device_bw": Range(
        3.5,
        14.7,
        "[cited] PCIe 3.0 x4 NVMe drives peak at ~3,500 MB/s (link limit 4 x 0.985 = 3.94 GB/s).",
        "[cited, vendor] Samsung 9100 PRO, PCIe 5.0 x4: 14,700 MB/s sequential read (link limit 4 x 3.94 = 15.75 GB/s). PCIe 4.0 x4 sits between: ~7-7.45 GB/s drives, 7.88 GB/s link.",
        ("custompc2023t700", "warptech2025samsung9100", "hpcnotes2024pcie"),
    ),
    "pfn_walk_ns": Range(
        1.0,
        14.1,
        "[reasoned] consecutive 4 KiB PTEs share a cache line (8 per 64 B), so a walk that moves to the next PTE costs a few cycles: ~1 ns. Cited anchor: compound-page GUP costs 1.45 ns per 4 KiB including its walk (martins2022g…",
        "[cited] get_user_pages_fast with the memmap in DRAM costs 14.1 ns per 4 KiB page including the walk AND the struct-page refcount atomic (martins2022gup); a walk that touches no struct page cannot cost more with warm pag…",
        ("martins2022gup", "nvsl2020optanestudy"),
    ),
    "lookup_ns": Range(
        4.0,
        203.0,
        "[reasoned] multiplicative hash of a pfn (~3-4 cycles) + an L1-hit bucket load (~5 cycles) + compare: ~15 cycles at 3.5 GHz = 4 ns.",
        "[reasoned from cited latency] a chained bucket (rhashtable style: bucket head, then entry) with both lines missing to DRAM = 2 x 101.5 ns (DDR4 random read, nvsl2020optanestudy). lwn2024rosebush: linked-list buckets are…",
        ("nvsl2020optanestudy", "lwn2024rosebush"),
    ),
    "pool_alloc_ns": Range(
        5.3,
        155.0,
        "[cited] SLUB per-CPU fast path, alloc+free = 42 cycles = 10.554 ns on an i7-4790K at 4 GHz (slub bulk alloc commit), i.e. ~5.3 ns per take or return.",
        "[reasoned from cited latency] a shared (not per-CPU) pool whose free-list head bounces between sockets: one atomic (~9 ns at 2.2 GHz, uopsinfo2023lockinc) + one cross-socket line transfer (up to 146 ns, Xeon Gold 6242,…",
        ("lameter2015slubbulk", "uopsinfo2023lockinc", "viennot2022c2c"),
    ),
    "extent_ref_ns": Range(
        5.1,
        155.0,
        "[cited] LOCK INC m32 = 18 cycles latency and throughput (uops.info, Alder Lake-P; 20 on Rocket Lake) = 5.1 ns at 3.5 GHz (8.2 ns at 2.2 GHz) on a line the CPU already owns.",
        "[cited] the extent's refcount line last written by a CPU on the other socket: 134-146 ns per transfer (median 136, dual Xeon Gold 6242, Cascade Lake) + the atomic. Same-socket Intel: 43-52 ns (median 48). AMD Rome 7742…",
        ("uopsinfo2023lockinc", "viennot2022c2c", "david2013sync"),
    ),
    "range_lock_ns": Range(
        20.0,
        600.0,
        "[reasoned] an uncontended rwsem-class lock + unlock: 2 atomics (2 x 5.1-8.2 ns, uopsinfo2023lockinc) + bookkeeping.",
        "[reasoned from cited structure + latency] Bueso's range lock serialises every lock/unlock on tree->lock and does an interval-tree insert/erase (bueso2018rangelock): >= 4 atomics on one shared line per lock+unlock; with…",
        ("bueso2018rangelock", "uopsinfo2023lockinc", "viennot2022c2c"),
    ),
    "clwb_line_ns": Range(
        1.0,
        28.0,
        "[reasoned] clwb of a line that is clean (or absent) needs no data movement; issue cost of a few cycles at 3 GHz = ~1 ns. Not measured; no published per-line figure found.",
        "[cited, upper bound] store+clwb over 4 KiB on Optane (dirty lines, pipelined) = 1774.2 ns / 64 lines = 27.7 ns per line (S2 Fig. 12 data); a single fenced store+clwb = 62.3 ns. A clean line should cost less than a dirty…",
        ("nvsl2020optanestudy",),
    ),
    "dirty_fault_ns": Range(
        575.0,
        10000.0,
        "[cited, weak: blog] anonymous minor page fault on Linux 6.6, i7 11th gen: min 575 ns, median 1,013 ns, p95 4 us (rdtsc). A write-protect upgrade of a present DAX entry should be near this floor.",
        "[cited] DAX page faults on ext4 over a ramdisk, file preallocated: min 9 us, avg 10 us per fault, 512 faults (Jan Kara, MAP_SYNC series v4/v5, Oct 2017). Empty file (block allocation): avg 22 us; with MAP_SYNC: avg 124…",
        ("ddumbying2025pagefault", "kara2017mapsync"),
    ),
    "page_walk_ns": Range(
        5.7,
        101.5,
        "[cited, secondary] ~20 cycles for an STLB miss whose walk hits the caches (Haswell, RightMark; hardware-figures §4.4) = 5.7 ns at 3.5 GHz. Intel's own VTune tuning rule charges 30 cycles per ITLB walk (8.6-13.6 ns at 3.…",
        "[cited latency, reasoned count] warm paging-structure caches but the leaf PTE line missing to DRAM: one DRAM access, 101.5 ns (nvsl2020optanestudy). Page tables on Optane (DaxVM-style persistent tables): 305 ns.",
        ("mynavi2013haswell", "inteltuning2009itlbwalk", "nvsl2020optanestudy", "alverti2022daxvm"),
    ),
    "gup_ns_dram": Range(
        14.1,
        14.9,
        "[cited] v4, 16 GiB: 59 ms / 4 Mi pages",
        "[cited] v4, 126 GiB get: 14.9 ns",
        ("martins2021compounddevmapv4",),
    ),
    "gup_ns_pmem": Range(
        118.0,
        122.0,
        "[cited] 16 GiB altmap: ~494 ms.",
        "[cited] 124 GiB altmap get/pin: 3.91-3.97 s = 120-122 ns.",
        ("martins2021compounddevmapv4",),
    ),
    "put_ns_dram": Range(
        15.5,
        16.9,
        "[cited] v7, 126 GiB: 15.5 ns",
        "[cited] v7, 16 GiB: 71 ms / 4 Mi pages",
        ("martins2021compounddevmapv7",),
    ),
    "put_ns_pmem": Range(
        125.0,
        126.7,
        "[cited] v7, 16 GiB altmap: 525 ms / 4 Mi pages",
        "[cited] v7, ~124 GiB altmap: 126.7 ns",
        ("martins2021compounddevmapv7",),
    ),
    "gup_compound_ns_dram": Range(
        1.45,
        1.5,
        "[cited] v4 with the unmerged patch 8: get 1.45, pin 1.48 ns (16 GiB)",
        "[cited] 126 GiB: 1.5 ns",
        ("martins2021compounddevmapv4",),
    ),
    "gup_compound_ns_pmem": Range(
        2.15,
        30.3,
        "[cited] v4 with the unmerged patch 8, altmap: 2.15 (get) to 2.38 (pin) ns",
        "[cited] the merged series (v7) grabbing each 4 KiB of a compound page: 127 ms / 4 Mi pages = 30.3 ns",
        ("martins2021compounddevmapv4", "martins2021compounddevmapv7"),
    ),
    "put_compound_ns_dram": Range(
        5.25, 5.7, "[cited] v7: 22 ms / 4 Mi pages", "[cited] v7, 126 GiB: 5.7 ns", ("martins2021compounddevmapv7",)
    ),
    "put_compound_ns_pmem": Range(
        16.9, 17.3, "[cited] v7: 71 ms / 4 Mi pages", "[cited] v7, ~124 GiB: 17.3 ns", ("martins2021compounddevmapv7",)
    ),
    "memmap_init_cpu_ns": Range(
        9.3,
        12.0,
        "[cited] nd_pmem rebind on v7.2-rc1: 244.3 ms / 100 GiB = 9.3 ns per 4 KiB pfn (3.7-4.5 ns with Li Zhe's series).",
        "[cited] devdax align 2M rebind on v7.1-rc3: 313.5 ms = 12.0 ns. First bind (vmemmap populated too): 55-58 ns.",
        ("lizhe2026zonedevice",),
    ),
    "optane-pmem-100.read_latency_ns": Range(
        277.0,
        350.0,
        "[cited] 305.0 - 27.9 (one s.d., S2 best-case random read).",
        "[cited, vendor] Intel: average idle read latency ~350 ns (pcper2018optane); S1 abstract 346 ns.",
        ("nvsl2020optanestudy", "pcper2018optane", "izraelevitz2019optane"),
    ),
    "optane-pmem-100.read_bw_1t": Range(
        2.8,
        2.92,
        "[cited, secondary] S1: random 1-thread 1-DIMM read 2.8 GB/s.",
        "[cited] S2 Optane-NI 1 thread: 2.92 GB/s.",
        ("izraelevitz2019optane", "nvsl2020optanestudy"),
    ),
    "optane-pmem-100.ntstore_bw_1t": Range(
        2.2,
        4.13,
        "[cited] S2 NI ntstore 1-4 threads: 2.20-2.22.",
        "[cited, label ambiguous] S2 6-DIMM file, 1 thread, column A: 4.13 GB/s (header says clwb; probably ntstore).",
        ("nvsl2020optanestudy",),
    ),
    "optane-pmem-100.clwb_bw_1t": Range(
        1.42,
        1.44,
        "[cited] S2 6-DIMM column B, 1 thread: 1.42.",
        "[cited] S2 NI clwb 1 thread: 1.44.",
        ("nvsl2020optanestudy",),
    ),
    "optane-pmem-100.read_bw": Range(
        37.6,
        39.4,
        "[cited] S2 peak 37.63 at 22 threads.",
        "[cited, secondary] S1 Observation 4: 39.4 GB/s.",
        ("nvsl2020optanestudy", "izraelevitz2019optane"),
    ),
    "optane-pmem-100.write_bw": Range(
        11.5,
        13.9,
        "[cited] S2 loaded-latency curve at maximum injection: 11.5 GB/s.",
        "[cited, secondary] S1: 13.9 GB/s (6 DIMMs, saturates at 4 threads).",
        ("nvsl2020optanestudy", "izraelevitz2019optane"),
    ),
    "ddr4-2666.read_latency_ns": Range(
        81.4,
        129.1,
        "[cited] sequential read 81.4 ns (S2).",
        "[cited] random 101.5 + 27.6 (one s.d.).",
        ("nvsl2020optanestudy",),
    ),
    "ddr4-2666.read_bw": Range(
        104.6,
        105.9,
        "[cited] S2 24 threads: 104.56.",
        "[cited, secondary] S1 loaded sequential read 105.9.",
        ("nvsl2020optanestudy", "izraelevitz2019optane"),
    ),
    "ddr4-2666.write_bw": Range(
        75.9,
        77.3,
        "[cited] S2 22 threads: 75.94.",
        "[cited] S2 Fig. 5 data, 64 KiB accesses: 77.3.",
        ("nvsl2020optanestudy",),
    ),
    "ddr4-2666.read_bw_1t": Range(
        7.38,
        19.9,
        "[cited] S2 LATTester 1 thread, Cascade Lake 8260: 7.38.",
        "[cited, other platform] single-core STREAM triad ~19.9 GB/s on a Haswell E5-2690 v3 (mccalpin2017singlecore); per-core bandwidth is platform dependent (latency x outstanding misses).",
        ("nvsl2020optanestudy", "mccalpin2017singlecore"),
    ),
    "nvdimm-n.read_latency_ns": Range(
        81.4,
        107.0,
        "[cited] DDR4 sequential read latency (S2); NVDIMM-N runs from its DRAM in normal operation (dell2021nvdimmn).",
        "[reasoned] DDR4 random 101.5 ns + ~5% for the lower speed grades Dell supports (2133/2400 MT/s); CAS time in ns barely changes across grades.",
        ("nvsl2020optanestudy", "dell2021nvdimmn"),
    ),
    "nvdimm-n.read_bw_1t": Range(
        7.0,
        7.38,
        "[reasoned] Little's law: 7.38 x 101.5/107.",
        "[cited] DDR4 1-thread figure (S2).",
        ("nvsl2020optanestudy",),
    ),
    "nvdimm-n.ntstore_bw_1t": Range(
        4.1, 4.31, "[reasoned] 4.31 x 101.5/107.", "[cited] DDR4 figure.", ("nvsl2020optanestudy",)
    ),
    "nvdimm-n.clwb_bw_1t": Range(
        1.37, 1.44, "[reasoned] 1.44 x 101.5/107.", "[cited] DDR4 figure.", ("nvsl2020optanestudy",)
    ),
    "nvdimm-n.read_bw": Range(
        14.0,
        105.31,
        "[reasoned] one NVDIMM-N per socket at DDR4-2133: 105.31/6 x 2133/2666 (one module per channel; bandwidth scales with the number of modules interleaved).",
        "[cited] six per socket (Dell maximum) = the 6-channel DDR4 figure of S2.",
        ("nvsl2020optanestudy", "dell2021nvdimmn"),
    ),
    "nvdimm-n.write_bw": Range(
        10.2,
        76.81,
        "[reasoned] 76.81/6 x 2133/2666.",
        "[cited] 6-channel DDR4 ntstore peak (S2).",
        ("nvsl2020optanestudy", "dell2021nvdimmn"),
    ),
    "nvdimm-n.media_granularity": Range(
        64.0, 64.0, "[reasoned] DRAM cache line.", "[reasoned] same.", ("dell2021nvdimmn",)
    ),
    "cxl-expander.read_latency_ns": Range(
        140.0,
        410.0,
        "[cited] Melody: measured CXL latencies 140-410 ns over 4 devices and 5 CPU platforms (lower end).",
        "[cited] same study, upper end.",
        ("liu2025melody", "li2023pond", "maruf2023tpp"),
    ),
    "cxl-expander.read_bw_1t": Range(
        1.83,
        5.35,
        "[derived] 7.38 x 101.5/410.",
        "[derived] 7.38 x 101.5/140.",
        ("mccalpin2023bandwidth", "liu2025melody"),
    ),
    "cxl-expander.ntstore_bw_1t": Range(
        1.07,
        3.12,
        "[derived] 4.31 x 101.5/410.",
        "[derived] 4.31 x 101.5/140.",
        ("mccalpin2023bandwidth", "liu2025melody"),
    ),
    "cxl-expander.clwb_bw_1t": Range(
        0.36,
        1.04,
        "[derived] 1.44 x 101.5/410.",
        "[derived] 1.44 x 101.5/140.",
        ("mccalpin2023bandwidth", "liu2025melody"),
    ),
    "cxl-expander.read_bw": Range(
        25.0,
        31.5,
        "[cited, vendor] SK hynix example: 4 x 96 GB CXL cards raise a server from 260-320 to 360-480 GB/s, i.e. 25-40 GB/s per card (Aug 2022).",
        "[reasoned, hardware limit] PCIe 5.0 x8 carries 8 x 3.94 = 31.5 GB/s per direction; the vendors' 35-36 GB/s are read+write mixes (2:1) and cannot be reached by reads alone.",
        ("blocksandfiles2022skhynix", "hpcnotes2024pcie", "tomshardware2023cz120"),
    ),
    "cxl-expander.write_bw": Range(
        12.0,
        31.5,
        "[derived] the write share of Micron's 36 GB/s 2:1 read/write figure (1/3 of 36).",
        "[reasoned, hardware limit] 31.5 GB/s per direction on PCIe 5.0 x8.",
        ("tomshardware2023cz120", "hpcnotes2024pcie"),
    ),
    "cxl-expander.media_granularity": Range(
        64.0, 64.0, "[reasoned] DRAM behind the controller.", "[reasoned] same.", ("li2023pond",)
    ),
    "pin_ns_dram": Range(
        20.7,
        20.7,
        "[cited] a single measurement: pin_user_pages_fast, 87 ms / 4 Mi pages (v4)",
        "[cited] no spread published",
        ("martins2021compounddevmapv4",),
    ),
    "pin_ns_pmem": Range(
        117.8,
        126.1,
        "[cited] v4: pin, altmap, 494 ms / 4 Mi pages",
        "[cited] v7: ~124 GiB altmap pin, 4.1 s",
        ("martins2021compounddevmapv4", "martins2021compounddevmapv7"),
    ),
    "putpage_ns_dram": Range(
        5.0,
        16.9,
        "[reasoned] put_page() on a cached struct page line: one uncontended atomic decrement",
        "[cited] the unpin figure it stands in for (v7, 71 ms / 4 Mi pages)",
        ("martins2021compounddevmapv7",),
    ),
    "putpage_ns_pmem": Range(
        17.0,
        125.0,
        "[cited] unpin on compound pages with the altmap (v7, after): the struct page line cached",
        "[cited] the unpin figure with the altmap (v7, before)",
        ("martins2021compounddevmapv7",),
    ),
    "desc_alloc_ns": Range(
        10.5,
        155.0,
        "[cited] SLUB per-CPU fast path, alloc + free, 42 cycles at 4 GHz",
        "[reasoned from cited latency] a shared free list whose head bounces between sockets",
        ("lameter2015slubbulk", "viennot2022c2c"),
    ),
    "dirty_page_ns": Range(
        5.0,
        60.0,
        "[reasoned] folio_test_dirty short-circuits an already dirty page: one load and one lock/unlock pair on a cached line",
        "[reasoned] lock, set, unlock as three atomics on a line another CPU wrote last (3 x 20 ns)",
        ("uopsinfo2023lockinc", "viennot2022c2c"),
    ),
    "dax_fault_ns": Range(
        575.0,
        10000.0,
        "[cited, weak: blog] a minor page fault on Linux 6.6: min 575 ns",
        "[cited] DAX page faults on ext4 over a ramdisk: about 10 us each",
        ("ddumbying2025pagefault", "kara2017mapsync"),
    ),
    "iommu_page_ns": Range(
        40.0,
        1550.0,
        "[cited] lazy IOTLB invalidation: 0.32 us per I/O (Optane, io_uring) over 8 pages",
        "[cited] strict mode: 1.55 us per I/O, taken as one 4 KiB page each",
        ("gupta2025dmabufiouring",),
    ),
    "line_transfer_ns": Range(
        16.0,
        146.0,
        "[cited] core-to-core cache-line transfer inside one AMD core complex: 16-25 ns",
        "[cited] across sockets on a dual Xeon: 134-146 ns",
        ("viennot2022c2c",),
    ),
}


def range_of(name: str, value: float | None = None) -> Range | None:
    """The range of figure ``name``; None where none is known. A default outside the range
    widens it (the range always holds the value the model uses)."""
    r = RANGES.get(name)
    if r is None or value is None:
        return r
    return r._replace(low=min(r.low, value), high=max(r.high, value))
