"""The emulated machine: DRAM and pmem, the pmem namespace, its memmap, and boot.

Physical layout: DRAM holds pfns [0, dram pages); the pmem range starts at the next
128 MiB section boundary above it and is one fsdax namespace. ``--map=mem`` puts the
namespace's memmap in DRAM; ``--map=dev`` reserves it on pmem itself (the vmem_altmap),
right after the 8 KiB info block, exactly as ``nd_pfn_init()`` lays it out. Options that
give pmem no struct pages (0, and later 2 and 3) use the namespace raw.

The memmap is sparse like SPARSEMEM's vmemmap: the accounting counts every struct page
the kernel would allocate and initialise at boot, while the emulator builds a vmemmap
page (64 struct pages) only when a run first touches it, and reports how many it built.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from daxsim.emu.buddy import buddy_free_pages, buddy_init
from daxsim.emu.daxfs import DaxFile, create_file, fs_tuple
from daxsim.emu.memory import HOST_VIRTUAL_LIMIT, advise_hugepages, populate, sparse_array, struct_pages
from daxsim.emu.units import (
    align_down,
    KiB,
    MiB,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    PMD_SIZE,
    PUD_SIZE,
    SECTION_SIZE,
    STRUCT_PAGE_SIZE,
    STRUCT_PAGES_PER_VMEMMAP_PAGE,
    align_up,
    format_size,
    memmap_bytes,
    parse_size,
)

MEMMAP_PLACEMENTS = ("dram", "pmem")
INFO_BLOCK_SIZE = 8 * KiB  #: SZ_8K: the pfn info block (struct nd_pfn_sb) at the start of the namespace
ALIGNMENTS = (PAGE_SIZE, PMD_SIZE, PUD_SIZE)
#: struct pages of ZONE_DEVICE pmem are idle at refcount 1 (fsdax before Linux 6.15)
IDLE_REFCOUNT = 1


@dataclass(frozen=True)
class NamespaceLayout:
    """How a pmem namespace of ``size`` bytes is laid out (drivers/nvdimm/pfn_devs.c).

    ``mode`` is ``"raw"`` (no struct pages) or ``"fsdax"``; ``map`` is where the memmap
    lives (``"mem"``: DRAM, ``"dev"``: the namespace itself).
    """

    size: int
    mode: str
    map: str | None
    align: int
    dataoff: int  #: bytes before the first data page (info block, altmap memmap, padding)
    npfns: int  #: data pages
    memmap_dram_bytes: int
    memmap_pmem_bytes: int
    struct_pages_initialised: int
    end_trunc: int = 0  #: bytes at the end left out of the mapping, to end on the alignment (nd_pfn_sb.end_trunc)

    @property
    def capacity_lost(self) -> int:
        """pmem bytes the namespace cannot give to data."""
        return self.size - self.npfns * PAGE_SIZE


def namespace_layout(
    size: int, mode: str = "fsdax", map: str = "mem", align: int = PMD_SIZE, struct_page_size: int = STRUCT_PAGE_SIZE
) -> NamespaceLayout:
    """Lay out a namespace as nd_pfn_init() does.

    ``map="dev"``: offset = ALIGN(8K + struct_page_size * PHYS_PFN(size - 8K), a);
    ``map="mem"``: offset = ALIGN(8K, a), with a = max(align, 2 MiB): x86's compatible
    alignment, as the real-kernel lab measured with --align=4K. The end is truncated to
    the alignment too (``end_trunc``), and npfns = PHYS_PFN(size - offset - end_trunc).
    With the memmap in DRAM the kernel maps struct pages for the whole range.
    """
    if mode == "raw":
        return NamespaceLayout(size, "raw", None, align, 0, size // PAGE_SIZE, 0, 0, 0)
    # the mapping ends on the alignment: end_trunc = start + size - ALIGN_DOWN(start + size, align),
    # with the namespace's start section-aligned here
    end_trunc = size - align_down(size, max(align, PMD_SIZE))
    if map == "dev":
        page_map_size = struct_page_size * ((size - INFO_BLOCK_SIZE) // PAGE_SIZE)
        offset = align_up(INFO_BLOCK_SIZE + page_map_size, max(align, PMD_SIZE))
        npfns = max(0, size - offset - end_trunc) // PAGE_SIZE
        return NamespaceLayout(size, mode, "dev", align, offset, npfns, 0, page_map_size, npfns, end_trunc)
    if map == "mem":
        offset = align_up(INFO_BLOCK_SIZE, max(align, PMD_SIZE))
        npfns = max(0, size - offset - end_trunc) // PAGE_SIZE
        return NamespaceLayout(
            size,
            mode,
            "mem",
            align,
            offset,
            npfns,
            size // PAGE_SIZE * struct_page_size,
            0,
            size // PAGE_SIZE,
            end_trunc,
        )
    raise ValueError(f"map: {map!r} is not one of mem, dev")


@dataclass(frozen=True)
class Machine:
    """An emulated machine: ``pmem`` bytes of persistent memory, ``dram`` bytes of DRAM.

    Parameters
    ----------
    pmem, dram : sizes (``"400G"``, ``"16 GiB"`` or bytes; suffixes are binary).
    memmap : where a permanent pmem memmap lives, ``"dram"`` (ndctl ``--map=mem``) or
        ``"pmem"`` (``--map=dev``, the vmem_altmap).
    align : namespace alignment (ndctl ``--align``): 4K, 2M or 1G.
    pmem_file : back pmem with this sparse file so its contents persist across runs.
    """

    pmem: int
    dram: int
    memmap: str = "dram"
    align: int = PMD_SIZE
    pmem_file: str | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)
        set_("pmem", parse_size(self.pmem, "pmem"))
        set_("dram", parse_size(self.dram, "dram"))
        set_("align", parse_size(self.align, "align"))
        if self.align not in ALIGNMENTS:
            raise ValueError(f"align: {format_size(self.align)} is not one of 4 KiB, 2 MiB, 1 GiB")
        if not isinstance(self.memmap, str) or self.memmap not in MEMMAP_PLACEMENTS:
            raise ValueError(f"memmap: {self.memmap!r} is not one of {', '.join(MEMMAP_PLACEMENTS)}")
        if self.pmem % PMD_SIZE or self.pmem < 16 * MiB:
            raise ValueError(f"pmem: {format_size(self.pmem)} must be a multiple of 2 MiB and at least 16 MiB")
        if self.dram % (4 * MiB) or self.dram < 64 * MiB:
            raise ValueError(f"dram: {format_size(self.dram)} must be a multiple of 4 MiB and at least 64 MiB")
        if self.pmem + 2 * self.dram > HOST_VIRTUAL_LIMIT:
            raise ValueError(
                f"pmem + dram: {format_size(self.pmem)} + {format_size(self.dram)} is more than this host can map "
                f"(the emulator accepts up to {format_size(HOST_VIRTUAL_LIMIT)} of emulated memory in all)"
            )
        if self.pmem_file is not None:
            if not isinstance(self.pmem_file, (str, os.PathLike)) or not isinstance(os.fspath(self.pmem_file), str):
                raise ValueError(
                    f"pmem_file: {self.pmem_file!r} is not a path; accepted: a file path (created if missing) or None"
                )
            set_("pmem_file", os.fspath(self.pmem_file))
            check_writable_file("pmem_file", self.pmem_file)
            check_writable_file("pmem_file", self.pmem_file + ".device", "the block device's file beside it, ")

    def __repr__(self) -> str:
        extra = "" if self.align == PMD_SIZE else f", align={format_size(self.align)!r}"
        extra += "" if self.pmem_file is None else f", pmem_file={self.pmem_file!r}"
        return (
            f"Machine(pmem={format_size(self.pmem)!r}, dram={format_size(self.dram)!r}, memmap={self.memmap!r}{extra})"
        )

    def replace(self, **changes) -> Machine:
        return dataclasses.replace(self, **changes)

    def params(self) -> dict:
        return {
            "pmem": self.pmem,
            "dram": self.dram,
            "memmap": self.memmap,
            "align": self.align,
            "pmem_file": self.pmem_file,
        }

    @property
    def dram_pages(self) -> int:
        return self.dram // PAGE_SIZE

    @property
    def pmem_base_pfn(self) -> int:
        return align_up(self.dram_pages, PAGES_PER_SECTION)

    @property
    def dram_own_memmap(self) -> int:
        """DRAM's own memmap (1/64 of DRAM), always in DRAM."""
        return memmap_bytes(self.dram)

    def layout(self, struct_pages: bool, struct_page_size: int = STRUCT_PAGE_SIZE) -> NamespaceLayout:
        """The pmem namespace for an option with (fsdax) or without (raw) struct pages, of
        ``struct_page_size`` bytes each (64 on x86-64; the memdesc eras propose less)."""
        if not struct_pages:
            return namespace_layout(self.pmem, "raw", align=self.align)
        return namespace_layout(
            self.pmem, "fsdax", "mem" if self.memmap == "dram" else "dev", self.align, struct_page_size
        )

    def own_memmap(self, struct_page_size: int = STRUCT_PAGE_SIZE) -> int:
        """DRAM's own memmap: a struct page per 4 KiB of DRAM, always in DRAM."""
        return self.dram // PAGE_SIZE * struct_page_size

    def feasibility(self, layout: NamespaceLayout, struct_page_size: int = STRUCT_PAGE_SIZE) -> tuple[bool, str]:
        """Can the kernel enable this namespace? Its memmap placed in DRAM must fit beside
        DRAM's own; if not, enabling the namespace fails with ENOMEM."""
        avail = self.dram - self.own_memmap(struct_page_size)
        if layout.memmap_dram_bytes > avail:
            return False, (
                f"the memmap of {format_size(self.pmem)} of pmem needs "
                f"{format_size(layout.memmap_dram_bytes)} of DRAM, but only {format_size(avail)} "
                f"of the {format_size(self.dram)} of DRAM is left after DRAM's own memmap: enabling "
                "the namespace fails with ENOMEM"
            )
        return True, ""

    def managed_dram(self, layout: NamespaceLayout, struct_page_size: int = STRUCT_PAGE_SIZE) -> int:
        """DRAM left for the page allocator once the memmaps are placed."""
        return max(0, self.dram - self.own_memmap(struct_page_size) - layout.memmap_dram_bytes)


def check_writable_file(name: str, path: str, what: str = "") -> None:
    """Can ``path`` be opened for writing, or created? A ValueError names ``name`` if not
    (a directory, a missing folder, no permission, a read-only filesystem)."""
    if not path:
        raise ValueError(f"{name}: {path!r} is empty; accepted: a file path (created if missing)")
    if os.path.isdir(path):
        raise ValueError(f"{name}: {what}{path!r} is a directory; accepted: a file path (created if missing)")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise ValueError(f"{name}: {what}{path!r}: the folder {parent!r} does not exist")
    try:
        if os.path.exists(path):
            os.close(os.open(path, os.O_RDWR))
        else:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(path)
    except OSError as e:
        raise ValueError(f"{name}: {what}{path!r} cannot be opened for writing ({e.strerror})") from None


class Booted:
    """A booted machine: memory arrays, the pmem memmap, the page allocator, the DAX file.

    Attributes are the kernel's objects, as arrays a numba kernel can take:
    ``dram``/``pmem`` (bytes), ``dram_pages`` (DRAM's memmap, struct page records),
    ``buddy`` (allocator state), ``memmap`` (pmem struct pages, indexed by
    ``pfn - memmap_base_pfn``), ``vmemmap_populated`` (one byte per vmemmap page of it),
    ``file`` (the DAX file) and ``device`` (the block device file's bytes).
    """

    def __init__(
        self,
        machine: Machine,
        layout: NamespaceLayout,
        file_size: int,
        extent_size,
        seed: int,
        truncated_pages: int = 0,
        memmap: bool = True,
    ):
        self.machine = machine
        self.layout = layout
        self.dram = sparse_array(machine.dram)
        self.pmem = sparse_array(machine.pmem, path=machine.pmem_file)
        self.dram_pages = struct_pages(sparse_array(machine.dram_pages * STRUCT_PAGE_SIZE))
        reserved_pages = -(-(machine.dram_own_memmap + layout.memmap_dram_bytes) // PAGE_SIZE)
        self.buddy = buddy_init(reserved_pages, machine.dram_pages)
        self.pmem_base_pfn = machine.pmem_base_pfn
        ns_pfn = self.pmem_base_pfn
        self.first_data_pfn = ns_pfn + layout.dataoff // PAGE_SIZE
        self.end_pfn = ns_pfn + machine.pmem // PAGE_SIZE
        # The emulated memmap always has a struct page per 4 KiB pfn, indexed by pfn: a
        # huge-page memmap variant (hvo, devdax-dedup) shrinks what is accounted, not the
        # array the path indexes (its struct pages are the compound pages' heads).
        full = namespace_layout(machine.pmem, "fsdax", layout.map, machine.align) if layout.map else layout
        if not memmap:  # the same layout, no struct pages built (the verification's twin needs none)
            self.memmap_base_pfn = ns_pfn
            self.memmap = struct_pages(np.zeros(0, np.uint8))
        elif layout.map == "dev":  # the altmap: struct pages stored on pmem after the info block
            self.memmap_base_pfn = ns_pfn + INFO_BLOCK_SIZE // PAGE_SIZE
            raw = self.pmem[INFO_BLOCK_SIZE : INFO_BLOCK_SIZE + full.memmap_pmem_bytes]
            self.memmap = struct_pages(raw)
        elif layout.map == "mem":
            self.memmap_base_pfn = ns_pfn
            self.memmap = struct_pages(sparse_array(full.memmap_dram_bytes))
        else:
            self.memmap_base_pfn = ns_pfn
            self.memmap = struct_pages(np.zeros(0, np.uint8))
        self.memmap_words = self.memmap.view(np.uint64)  # the same struct pages, eight words each
        nvm = -(-len(self.memmap) // STRUCT_PAGES_PER_VMEMMAP_PAGE)
        self.vmemmap_populated = sparse_array(max(nvm, 1))
        rng = np.random.default_rng(seed)
        self.file: DaxFile = create_file("buffer", file_size, self.first_data_pfn, self.end_pfn, extent_size, rng)
        # the block device is persistent too when pmem is (a power loss keeps both)
        self.device = sparse_array(file_size, path=None if machine.pmem_file is None else machine.pmem_file + ".device")
        f = self.file
        self.bump_start = int((f.ext_pfn + f.ext_len).max())  # new blocks come from past the file
        if truncated_pages > self.end_pfn - self.bump_start:
            raise ValueError(
                f"file_size: {format_size(file_size)} leaves {format_size((self.end_pfn - self.bump_start) * PAGE_SIZE)}"
                f" free, too little for the {format_size(truncated_pages * PAGE_SIZE)} the truncate faults refill"
            )
        self.fs = fs_tuple(f, self.bump_start, self.end_pfn, truncated_pages)
        self.host_thp: dict[str, bool] = {}  #: which arrays advise_host_hugepages() backed with huge pages

    def advise_host_hugepages(self, touched_bytes: int) -> None:
        """Back the file's working set with host huge pages when the run touches most of it
        (a host speed hint; see memory.HOST_THP_LIMIT)."""
        f = self.file
        lo = int(f.ext_pfn.min())
        span = (self.bump_start - lo) * PAGE_SIZE
        if touched_bytes * 3 >= span * 2:  # huge pages back the whole span: at most 1.5 times the bytes touched
            t = self.host_thp
            t["pmem"] = advise_hugepages(self.pmem, self.pmem_index(lo), span)
            t["device"] = advise_hugepages(self.device)
            t["pte"] = advise_hugepages(f.pte)
            if len(self.memmap):  # the struct pages of the file's blocks
                t["memmap"] = advise_hugepages(
                    self.memmap_words,
                    (lo - self.memmap_base_pfn) * STRUCT_PAGE_SIZE,
                    span // PAGE_SIZE * STRUCT_PAGE_SIZE,
                )

    def populate(self, fpages, data: bool, refills: int = 0) -> int:
        """Fault in, on the host, what a run over file pages ``fpages`` will touch: their PTEs
        and blocks' struct pages and, with ``data``, their blocks on pmem and on the device,
        and ``refills`` fresh blocks past the file (truncated pages faulted in again).
        The emulated machine's memory is always present; the host's sparse arrays are not,
        and their first-touch faults are set-up, not the data path. Returns bytes populated.
        """
        f = self.file
        fpages = np.asarray(fpages, np.int64)
        pfns = f.pfn_of(fpages) if len(fpages) else fpages
        fresh = np.arange(self.bump_start, min(self.bump_start + refills, self.end_pfn), dtype=np.int64)
        pfns = np.concatenate((pfns, fresh))

        def unit(name):  # the host page: 2 MiB where advise_host_hugepages() got huge pages
            return 2 << 20 if self.host_thp.get(name) else PAGE_SIZE

        done = populate(f.pte, fpages * 8, 8, unit("pte"))
        if refills:
            done += populate(f.fmap, fpages * 8, 8)
        if len(self.memmap):
            done += populate(
                self.memmap_words, (pfns - self.memmap_base_pfn) * STRUCT_PAGE_SIZE, STRUCT_PAGE_SIZE, unit("memmap")
            )
        if data:
            done += populate(self.pmem, (pfns - self.pmem_base_pfn) * PAGE_SIZE, PAGE_SIZE, unit("pmem"))
            done += populate(self.device, fpages * PAGE_SIZE, PAGE_SIZE, unit("device"))
        return done

    def pmem_index(self, pfn: int) -> int:
        """Byte index into ``pmem`` of page frame ``pfn``."""
        return (pfn - self.pmem_base_pfn) * PAGE_SIZE

    def populate_memmap(self, counters, idle: int = IDLE_REFCOUNT) -> None:
        """Initialise the whole pmem memmap, as the kernel does when the namespace is enabled
        (``idle``: the era's refcount of an idle page)."""
        from daxsim.paths.common import populate_memmap

        advise_hugepages(self.memmap_words, limit=None)  # all of it will be written anyway
        populate_memmap(self.memmap_words, self.vmemmap_populated, self.memmap_base_pfn, counters, idle)

    def sections(self) -> int:
        """SPARSEMEM sections the pmem range spans."""
        return -(-self.machine.pmem // SECTION_SIZE)

    def free_dram_pages(self) -> int:
        return buddy_free_pages(self.buddy)
