"""What Linux did, 2015 to today: the timeline as data, and the kernel's published figures.

:data:`EVENTS` lists the events from the March 2015 thread to today, each mapped to the
option of the study it realised (or argued for, or retired), with the BibTeX key of its
source in ``book/references.bib``. A date is as precise as its source: ``"2015-08-27"``,
``"2015-08"`` or ``"2015"``; where a release or a date could not be checked, the event
says so in ``uncertain`` and never guesses.

:func:`published_vs_daxsim` sets the figures the kernel community published (memmap
size, HVO and device-dax savings, memmap init rates, GUP cost) beside the same
quantities computed by daxsim, each with the tolerance within which they should agree.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from daxsim.book import grids
from daxsim.emu import hugepages
from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.emu.machine import Machine
from daxsim.model.cost import memmap_init_ns_per_page
from daxsim.paths.registry import designs
from daxsim.study.api import run
from daxsim.study.stages import accounting
from daxsim.emu.units import PAGE_SIZE, PMD_SIZE, PUD_SIZE, GiB, MiB, TiB, format_size
from daxsim.emu.workload import Workload

#: the options of the study, in the book's order (``ideal`` is a bound, not an option)
OPTIONS = designs()
OPTION_TEXT = {
    "0": "0: page cache and copy",
    "1a": "1a: permanent struct page",
    "1b": "1b: struct page under I/O",
    "2": "2: PFNs in the I/O layers",
    "3": "3: a new descriptor",
    "huge": "huge pages",
    "nvram": "NV-RAM as RAM",
}
#: what kind of event: said in a discussion, posted as code, merged, taken back, or outside the kernel
KINDS = ("discussion", "posted", "merged", "setback", "industry")

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class Event:
    """One step of the history.

    ``date`` is ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; ``ref`` the kernel commit,
    release, tag or mailing-list message; ``option`` the study's option it realised;
    ``sources`` BibTeX keys; ``uncertain`` what could not be confirmed ("" if nothing).
    """

    date: str
    event: str
    option: str
    kind: str
    ref: str
    sources: tuple[str, ...]
    note: str
    uncertain: str = ""

    def __post_init__(self):
        parse_date(self.date)
        if self.option not in OPTIONS:
            raise ValueError(f"option: {self.option!r} is not one of {', '.join(OPTIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if not self.sources:
            raise ValueError(f"sources: event {self.event!r} has no source")

    @property
    def when(self) -> dt.date:
        """The middle of the period the date names (mid-month, mid-year): where the
        timeline places the event and how events are ordered."""
        return midpoint(self.date)


def parse_date(date: str) -> tuple[int, int | None, int | None]:
    """``"2015-08-27"`` -> ``(2015, 8, 27)``; ``"2015-08"`` -> ``(2015, 8, None)``."""
    m = _DATE_RE.match(date) if isinstance(date, str) else None
    if not m:
        raise ValueError(f"date: {date!r} is not YYYY-MM-DD, YYYY-MM or YYYY")
    year, month, day = (int(g) if g else None for g in m.groups())
    dt.date(year, month or 1, day or 1)  # raises on a month or day that does not exist
    return year, month, day


def midpoint(date: str) -> dt.date:
    """The middle day of the period a date names."""
    year, month, day = parse_date(date)
    if day:
        return dt.date(year, month, day)
    if month:
        return dt.date(year, month, (calendar.monthrange(year, month)[1] + 1) // 2)
    return dt.date(year, 7, 2)


_E = Event
#: the timeline, in date order (by :attr:`Event.when`)
EVENTS: tuple[Event, ...] = (
    _E(
        "2015-03-16",
        "Dan Williams opens the thread: evacuate struct page from the block layer",
        "2",
        "discussion",
        "[RFC PATCH 0/7] evacuate struct page from the block layer",
        ("williams2015evacuate",),
        "Avoid requiring struct page coverage for ever larger persistent memory: the block layer would carry PFNs.",
    ),
    _E(
        "2015-03-18",
        "Wilcox: a struct page per 4k of a 400GB DIMM occupies 6.4GB",
        "1a",
        "discussion",
        "lkml 1503.2/02705",
        ("wilcox2015overhead",),
        '"That\'s an unacceptable amount of overhead."',
    ),
    _E(
        "2015-03-19",
        "Wilcox lists the options, from 0 (page cache and copy) to 3",
        "0",
        "discussion",
        "lkml 1503.2/03596",
        ("wilcox2015options",),
        'Option 0 "feels like a nasty performance hit"; he is "personally a fan of #3".',
    ),
    _E(
        "2015-03-19",
        "Harrosh: #1b might have merit, pages allocated on demand",
        "1b",
        "discussion",
        "lkml 1503.2/03745",
        ("harrosh2015options",),
        "A SPARSEMEM-derived memory model with a GP_emulated_page type.",
    ),
    _E(
        "2015-03-20",
        "Wilcox: a 128-byte struct superpage per 2 MB",
        "huge",
        "discussion",
        "lkml 1503.2/04854",
        ("wilcox2015payoff",),
        '"only a 25MB overhead per 400GB NV-DIMM"',
    ),
    _E(
        "2015-03-22",
        "Harrosh: struct page already knows how to be a super-page",
        "huge",
        "discussion",
        "lkml 1503.2/05431",
        ("harrosh2015superpage",),
        'Huge pages through the THP mechanics; #1b as the long-term "full audit" path.',
    ),
    _E(
        "2015-04-14",
        "Molnar: put struct page into the pmem device itself?",
        "nvram",
        "discussion",
        "lkml 1504.1/04601 (quoted)",
        ("molnar2015pmemdevice",),
        "The idea that became vmem_altmap and --map=dev.",
    ),
    _E(
        "2015-05-07",
        "Molnar's four problems with struct page on the device",
        "nvram",
        "discussion",
        "lkml 1505.1/00382 (quoted by Rik van Riel)",
        ("molnar2015problems",),
        "struct page becomes an ABI, init at boot, 1.5% of storage lost, wear of hot pages.",
    ),
    _E(
        "2015-05",
        'Torvalds rejects the PFN approach: "I detest this approach"',
        "2",
        "discussion",
        "Re: [PATCH v2 00/10] ... introduce __pfn_t",
        ("torvalds2015detest",),
        "He would \"much rather ... do the dynamic 'struct page' instead\" (option 1b).",
    ),
    _E(
        "2015",
        "DAX PMD mappings disabled: the PMD paths assumed a struct page",
        "huge",
        "setback",
        "commit ee82c9ed41e8, for 4.4-rc and -stable",
        ("linux2015daxpmddisable",),
        "Disabled again for 4.7 until PMD locking was implemented.",
    ),
    _E(
        "2015-08",
        'The turnaround: page-backed persistent memory "seems to be a requirement"',
        "1a",
        "posted",
        "[RFC PATCH] ZONE_DEVICE and vmem_altmap",
        ("williams2015pagebacked",),
        'The page-less approach "left too many I/O scenarios off the table"; where the memmap lives is left to '
        "userspace (RAM or PMEM).",
    ),
    _E(
        "2015-08",
        "vmem_altmap: the memmap stored on the pmem device (ndctl --map=dev)",
        "nvram",
        "posted",
        "the same RFC; commit 4b94ffdc4163",
        ("williams2015pagebacked", "linux2015vmemaltmap", "ndctl2024createnamespace"),
        "\"it may not be feasible to store the memmap in 'System Memory'\"; ndctl's default is --map=dev.",
        "merge release (4.5) inferred: the same -mm batch as pfn_t; not confirmed against a tag",
    ),
    _E(
        "2015-08-27",
        "ZONE_DEVICE and devm_memremap_pages: permanent struct pages for pmem",
        "1a",
        "merged",
        "commits 033fbae988fc, 41e94a851304; Linux 4.3",
        ("linux2015zonedevice", "linux2015devmmemremap"),
        "Option 1a won: every pmem page gets a struct page in a ZONE_DEVICE zone.",
    ),
    _E(
        "2015-10-09",
        "DAX-GUP: DAX mappings become direct-I/O targets; __pfn_t renamed pfn_t",
        "1a",
        "posted",
        "[PATCH v2 00/20] get_user_pages() for dax pte and pmd mappings; commit 5c2c2587b132",
        ("williams2015daxgup", "linux2016getdevpagemap"),
        "GUP on a DAX mapping finds the struct page through get_dev_pagemap().",
        "merge release (4.5) inferred: the -mm batch of December 2015 that also carried pfn_t; not confirmed "
        "against a tag",
    ),
    _E(
        "2016",
        "pfn_t: a PFN with flags, kept inside DAX",
        "2",
        "merged",
        "commit 34c0fd540e79 (git describe: v4.4-6466, so Linux 4.5)",
        ("linux2016pfnt",),
        "Option 2 survives only as a DAX-internal type saying whether a pfn has a struct page.",
    ),
    _E(
        "2016",
        "DAX fsync tracks dirty PTE and PMD entries",
        "huge",
        "merged",
        "commit 9973c98ecfda",
        ("linux2016daxfsync",),
        "A dirty PMD entry is written back whole: the 2 MiB flush daxsim models.",
    ),
    _E(
        "2016",
        "DAX PMD support returns, built on struct iomap",
        "huge",
        "merged",
        "commit 642261ac995e",
        ("linux2016daxpmdiomap",),
        "2 MiB DAX mappings for filesystems.",
        "release (4.10) inferred: in the mmotm shortlog based on v4.9; not confirmed against a tag",
    ),
    _E(
        "2017",
        "1 GiB device-dax: PUD-sized transparent huge pages",
        "huge",
        "merged",
        "commit a00cc7d9dd93; ndctl tests need 4.11+ for alignments above 2M",
        ("linux2017pudthp",),
        "device-dax can map 1 GiB pages.",
    ),
    _E(
        "2017",
        "get_user_pages_longterm: fsdax refuses long-term pins",
        "1a",
        "merged",
        "commits 2bb6d2837083, 94db151dc892 (4.15 cycle, tagged for stable)",
        ("linux2017guplongterm", "linux2017longtermfsdax"),
        "\"Filesystem-DAX is incompatible with 'longterm' page pinning\": a stop-gap for the truncate race.",
    ),
    _E(
        "2017-10",
        "Hellwig: GUP on DAX does not pin the block; truncate can corrupt a new file",
        "2",
        "discussion",
        "linux-xfs, October 2017",
        ("hellwig2017gupdax",),
        "fsdax pages had struct pages idle at refcount 1, so a pin did not hold the block: option 2's hazard "
        "inside option 1a.",
    ),
    _E(
        "2017-10",
        'Hellwig on page-less DAX: "it was you Intel guys that heavily pushed for" it',
        "0",
        "discussion",
        "linux-fsdevel, October 2017",
        ("hellwig2017pageless",),
        "The reaction to requiring struct page for fsdax; page-less DAX had left direct I/O failing or bouncing "
        "through the page cache (option 0).",
    ),
    _E(
        "2018",
        "Struct page required by default for filesystem DAX",
        "1a",
        "merged",
        "tag libnvdimm-for-4.16",
        ("libnvdimm2018tag416",),
        '"to remove a number of surprising failure cases ... direct I/O, gdb and fork(2)".',
    ),
    _E(
        "2018",
        "The truncate/DMA fix: dax_layout_busy_page() and xfs_break_dax_layouts()",
        "1a",
        "merged",
        "tags libnvdimm-for-4.17 (detect), libnvdimm-for-4.18 (wait); commit d6dc57e251a4",
        ("libnvdimm2018tag417", "libnvdimm2018tag418", "linux2018xfsbreakdaxlayouts"),
        "Filesystems wait for pinned DAX pages before reusing their blocks: daxsim's option 2 guard, done "
        "with struct page refcounts.",
    ),
    _E(
        "2018",
        "DAX read(2) never uses the page cache: dax_direct_access() + copy_to_iter()",
        "0",
        "merged",
        "tag libnvdimm-for-4.18",
        ("libnvdimm2018tag418",),
        "Plain read/write on DAX copies straight from pmem: option 0 was never the DAX path.",
    ),
    _E(
        "2018",
        "ZONE_DEVICE pages initialised once, not twice",
        "1a",
        "merged",
        "commit 966cf44f637e (Alexander Duyck)",
        ("linux2018deferzonedevice",),
        'Initialising twice was "nearly doubling the memory initialization time".',
        "release (4.20) inferred: in linux-next during v4.19-rc6; not confirmed against a tag",
    ),
    _E(
        "2018-07",
        "Asynchronous, multithreaded memmap init for ZONE_DEVICE",
        "1a",
        "posted",
        "[PATCH 0/9] mm: Asynchronous + multithreaded memmap init for ZONE_DEVICE",
        ("williams2018asyncmemmap",),
        "Pmem namespaces on an 8-socket system: ~4 minutes down to ~4 seconds (capacity not stated).",
        "whether it merged as posted is not confirmed",
    ),
    _E(
        "2018-11",
        "Salvador: allocate the memmap from the hot-added memory itself",
        "nvram",
        "posted",
        "RFC, lkml 1811.2/00162",
        ("salvador2018memmaponmemory", "linuxdoc2024memoryhotplug"),
        "Became memory_hotplug.memmap_on_memory.",
        "merge release of memmap_on_memory not confirmed",
    ),
    _E(
        "2019-04",
        "Hot-remove of kmem memory",
        "nvram",
        "posted",
        "lkml 2019/4/20/138 (Pavel Tatashin)",
        ("tatashin2019hotremove",),
        "pmem onlined as RAM can be given back.",
    ),
    _E(
        "2019-05-03",
        "daxctl reconfigure-device --mode=system-ram",
        "nvram",
        "merged",
        "ndctl v66",
        ("ndctl2019reconfigure",),
        "The userspace side of kmem.",
    ),
    _E(
        "2019",
        "kmem: pmem hot-plugged as System RAM",
        "nvram",
        "merged",
        "merge f67e3fb48912, tag devdax-for-5.1; Linux 5.1",
        ("linux2019kmem",),
        "Part of an NVDIMM becomes a slower NUMA node of ordinary RAM.",
    ),
    _E(
        "2021",
        "Folios: a new descriptor for memory, in the core mm and page cache",
        "3",
        "merged",
        "Linux 5.16",
        ("phoronix2021folios",),
        "The first step away from struct page as the unit of everything.",
    ),
    _E(
        "2021",
        "HugeTLB Vmemmap Optimization: the tail pages' vmemmap of HugeTLB pages freed",
        "huge",
        "merged",
        "Linux 5.14, per Joao Martins's cover letter",
        ("martins2022gup", "linuxdoc2024vmemmapdedup"),
        "The first version kept two vmemmap pages per huge page and freed the rest.",
    ),
    _E(
        "2021-08",
        "HVO frees the second vmemmap page of each HugeTLB page",
        "huge",
        "posted",
        "linux-mm, August 2021",
        ("muchun2021hvo", "linuxdoc2024vmemmapdedup"),
        "Today HVO frees 7 of 8 vmemmap pages per 2 MiB page and 4,095 of 4,096 per 1 GiB page.",
        "merged as e7d324850bfc; release (5.18) inferred, not confirmed against a tag",
    ),
    _E(
        "2021-08-27",
        'Retrospective: "Page-less DAX left more problems than it solved"',
        "1a",
        "discussion",
        "Re: [GIT PULL] Memory folios for v5.15 (lkml 2108.3/04608)",
        ("wilcox2021retrospective",),
        'Wilcox: "I\'m not particularly happy about this change of direction."',
    ),
    _E(
        "2022-01-10",
        "phyr: a physical address and a length, to replace bio_vec and GUP's page arrays",
        "3",
        "discussion",
        "dri-devel",
        ("wilcox2022phyr",),
        "Extent-like descriptors: 2^18 entries for one 1 GB page is the waste it removes.",
    ),
    _E(
        "2022",
        "Device-dax compound pages: one reference per compound page, vmemmap deduplicated",
        "huge",
        "merged",
        "commit 4917f55b4ef9 and the compound devmap series",
        ("linux2022devdaxdedup", "martins2022gup"),
        '"with 2M pages we lose 4G instead of 16G" per TB; altmap not supported.',
        "release (5.19) inferred: v9 posted on 20 April 2022; not confirmed against a tag",
    ),
    _E(
        "2022",
        "ZONE_DEVICE loses its extra page refcount, except fsdax",
        "1a",
        "merged",
        "commit 27674ef6c73f",
        ("hellwig2022zonedevicerefcount",),
        "Device pages move towards normal refcounting; fsdax stays special.",
    ),
    _E(
        "2022",
        "MAX_STRUCT_PAGE_SIZE doubled to 128 bytes (KMSAN)",
        "nvram",
        "setback",
        "commit 6e9f05dc66f9; namespaces created on v6.1+",
        ("linux2022kmsanstructpage",),
        "Molnar's ABI worry came true: struct page's size is recorded on the device.",
    ),
    _E(
        "2022-07-28",
        "Intel winds down Optane",
        "nvram",
        "industry",
        "Intel Q2 2022 results",
        ("tomshardware2022optane",),
        "A $559M inventory impairment; Gelsinger cited an industry shift to CXL.",
    ),
    _E(
        "2023-01",
        "Williams proposes going back to 64 bytes: 4TB of PMEM costs 64GB of struct page",
        "nvram",
        "discussion",
        "linux-arch, [PATCH v4 10/45] libnvdimm/pfn_dev: increase MAX_STRUCT_PAGE_SIZE",
        ("linux2022kmsanstructpage",),
        "The metadata on the device fixes the size of struct page.",
    ),
    _E(
        "2023-03",
        "Wilcox: struct page to shrink from 64 bytes to 8 (memdescs)",
        "3",
        "discussion",
        "linux-mm, reply to Pasha Tatashin",
        ("wilcox2023memdesc", "wilcox2024memdescpath"),
        "Dynamically allocated memdescs: in spirit, option 1b's struct only where needed.",
    ),
    _E(
        "2023-06",
        "dax/kmem: memmap_on_memory for hot-plugged device memory (CXL)",
        "nvram",
        "posted",
        "lkml 2306.2/00203 (Vishal Verma)",
        ("verma2023kmemmemmap", "verma2023daxkmem"),
        "Device memory may be too large for DRAM to hold its memmap: place it on the new memory.",
        "merge release not confirmed",
    ),
    _E(
        "2024-05",
        "LWN: Fleshing out memory descriptors",
        "3",
        "discussion",
        "lwn.net/Articles/974937",
        ("lwn2024memdesc",),
        "An eight-byte memory descriptor.",
    ),
    _E(
        "2025-01",
        "Wilcox: a 32-byte struct page, halving the memmap",
        "3",
        "discussion",
        "linux-mm, January 2025",
        ("wilcox2025memdesc32",),
        "A step on the memdesc path.",
    ),
    _E(
        "2025-05-29",
        "pfn_t and the pte_devmap bit to be removed",
        "2",
        "posted",
        "[PATCH 00/12] mm: Remove pXX_devmap page table bit and pfn_t type",
        ("popple2025pfntremoval",),
        '"All users of dax now require a ZONE_DEVICE page": option 2\'s last type retires. Merged for Linux 6.17 '
        "(MM updates for 6.17-rc1).",
    ),
    _E(
        "2025-06-23",
        "nvme-pci converted to blk_rq_dma_map: per segment just a DMA address and a length",
        "2",
        "posted",
        "linux-nvme, June 2025",
        ("hellwig2025blkrqdmamap",),
        "PFN-style descriptors return below the block layer.",
        "release (6.17) inferred: listed after the for-6.17/block merge in linux-next; not confirmed against a tag",
    ),
    _E(
        "2025-06-25",
        "dma_map_phys: DMA mapping by physical address",
        "2",
        "posted",
        "[PATCH 0/8] dma-mapping: migrate to physical address-based API",
        ("romanovsky2025dmamapphys",),
        "Its first user is the block layer's struct phys_vec (paddr, len).",
        "merge release not confirmed",
    ),
    _E(
        "2025",
        "fsdax pages get normal reference counts",
        "1a",
        "merged",
        "commit 7851bf649d42; Linux 6.15 (MM updates for 6.15-rc1)",
        ("popple2025refcount",),
        "DAX pages no longer count as free at refcount one.",
    ),
    _E(
        "2026-05",
        "Faster ZONE_DEVICE memmap initialisation",
        "1a",
        "posted",
        "[PATCH 0/4] mm: speed up ZONE_DEVICE memmap initialization (Li Zhe)",
        ("lizhe2026zonedevice",),
        "Eleven years on, the cost of a permanent memmap is still being cut.",
        "merge not confirmed",
    ),
)
del _E


def events_frame(events=EVENTS) -> pd.DataFrame:
    """The events as a tidy frame: one row per event, with the year and the date the
    timeline plots (``when``, ISO text), the option's label and the sources joined."""
    rows = []
    for e in events:
        rows.append(
            {
                "date": e.date,
                "when": e.when.isoformat(),
                "year": e.when.year,
                "event": e.event,
                "option": e.option,
                "option_label": OPTION_TEXT[e.option],
                "kind": e.kind,
                "ref": e.ref,
                "sources": ", ".join(e.sources),
                "note": e.note,
                "uncertain": e.uncertain or "—",
            }
        )
    return pd.DataFrame(rows)


def scorecard(events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per option, in the book's order: how many events, how many merged into Linux,
    posted as code, or set back, and the first and latest dates."""
    df = events_frame() if events is None else events
    rows = []
    for o in OPTIONS:
        e = df[df["option"] == o]
        kinds = e["kind"].value_counts()
        rows.append(
            {
                "option": OPTION_TEXT[o],
                "events": len(e),
                **{k: int(kinds.get(k, 0)) for k in KINDS},
                "first": e["date"].iloc[0] if len(e) else "—",
                "latest": e["date"].iloc[-1] if len(e) else "—",
            }
        )
    return pd.DataFrame(rows).set_index("option")


# --------------------------------------------------------------------------- the numbers

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


__all__ = [
    "EVENTS",
    "KINDS",
    "OPTIONS",
    "OPTION_TEXT",
    "PUBLISHED",
    "TOLERANCE",
    "TOPIC_TOLERANCE",
    "Event",
    "events_frame",
    "lab_vs_daxsim",
    "midpoint",
    "parse_date",
    "published_vs_daxsim",
    "scorecard",
    "side_by_side",
]
