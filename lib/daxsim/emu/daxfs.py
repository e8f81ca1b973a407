"""A minimal DAX filesystem: files as extent lists over pmem, and the DAX fault.

A file is a sorted list of extents ``(file page, pfn, pages)``: each extent maps a run
of file pages onto physically contiguous pmem page frames (what ext4/xfs keep in their
extent trees and what iomap hands to the DAX code). A mapping of the file has a page
table, one entry per file page, filled on first touch by :func:`dax_fault` (the DAX
fault handler installs the pfn in the PTE; no page cache is involved).

Blocks are handed out from the namespace's data area. ``extent_size`` sets the file's
fragmentation: the file is cut into extents of that size placed in a seeded random
order, and runs that happen to be physically adjacent are merged, as a filesystem would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from daxsim.emu.memory import sparse_array
from daxsim.emu.units import PAGE_SIZE, format_size


@dataclass
class DaxFile:
    """One file: its extents (file page, pfn, length in pages) and its mapping's page table."""

    name: str
    size: int
    ext_fpage: np.ndarray
    ext_pfn: np.ndarray
    ext_len: np.ndarray
    pte: np.ndarray  # per file page: 0 = not present, else pfn + 1
    fmap: np.ndarray  # per file page: 0 = as the extents say, -1 = hole, else pfn + 1

    @property
    def span_pages(self) -> int:
        """Data blocks from the file's first to just past its last (fragmented files spread out)."""
        return int((self.ext_pfn + self.ext_len).max() - self.ext_pfn.min())

    @property
    def pages(self) -> int:
        return self.size // PAGE_SIZE

    @property
    def extents(self) -> int:
        return len(self.ext_fpage)

    def pfn_of(self, fpage: np.ndarray) -> np.ndarray:
        """The pfn behind each file page (the filesystem's answer; no PTE involved)."""
        fpage = np.asarray(fpage, np.int64)
        i = np.searchsorted(self.ext_fpage, fpage, side="right") - 1
        return self.ext_pfn[i] + (fpage - self.ext_fpage[i])


def create_file(
    name: str, size: int, first_pfn: int, last_pfn: int, extent_size: int | None, rng: np.random.Generator
) -> DaxFile:
    """Allocate a file of ``size`` bytes from data pfns [first_pfn, last_pfn)."""
    npages = size // PAGE_SIZE
    if npages > last_pfn - first_pfn:
        raise ValueError(
            f"file_size: {format_size(size)} does not fit in the filesystem's "
            f"{format_size((last_pfn - first_pfn) * PAGE_SIZE)} of data blocks"
        )
    if extent_size is None or extent_size >= size:
        fpage = np.array([0], np.int64)
        pfn = np.array([first_pfn], np.int64)
        length = np.array([npages], np.int64)
    else:
        ext_pages = extent_size // PAGE_SIZE
        nblocks = -(-npages // ext_pages)
        slots = rng.permutation(nblocks).astype(np.int64)  # where each extent of the file lands
        lens = np.full(nblocks, ext_pages, np.int64)
        lens[-1] = npages - ext_pages * (nblocks - 1)
        starts = first_pfn + slots * ext_pages
        # merge physically adjacent neighbours into one extent
        brk = np.ones(nblocks, bool)
        brk[1:] = starts[1:] != starts[:-1] + lens[:-1]
        idx = np.flatnonzero(brk)
        fpage = (idx * ext_pages).astype(np.int64)
        pfn = starts[idx]
        length = np.add.reduceat(lens, idx)
    pte = sparse_array(npages * 8, np.int64)
    fmap = sparse_array(npages * 8, np.int64)
    return DaxFile(name, npages * PAGE_SIZE, fpage, pfn, length, pte, fmap)


@njit(cache=True)
def extent_lookup(ext_fpage, fpage):
    """Index of the extent holding file page ``fpage`` (binary search, like the extent tree)."""
    lo, hi = 0, len(ext_fpage)
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if ext_fpage[mid] <= fpage:
            lo = mid
        else:
            hi = mid
    return lo


class DaxFs(NamedTuple):
    """The filesystem as a numba kernel sees it (int64 arrays; ``state`` by the S_* indices below)."""

    pte: np.ndarray  #: the buffer mapping's page table: per file page, 0 = not present, else pfn + 1
    fmap: np.ndarray  #: blocks moved since creation: per file page, 0 = as the extents say, -1 = hole, else pfn + 1
    ext_fpage: np.ndarray  #: extents: first file page
    ext_pfn: np.ndarray  #: extents: first pfn
    state: np.ndarray  #: allocator state, S_* indices below
    free: np.ndarray  #: freed blocks, a stack (reused last-freed first)
    victim: np.ndarray  #: (pfn, truncate number) of every block handed to another file
    mapped: np.ndarray  #: file pages whose PTE was installed since the last whole-file unmap (a list)
    unmapped: np.ndarray  #: per file page: 1 once munmap took it out of the buffer's VMA


S_BUMP = 0  # next never-used data block
S_BUMP_END = 1  # end of the data area
S_TOP = 2  # entries on the free stack
S_NVICTIM = 3  # entries in DaxFs.victim
S_TRUNCATES = 4  # truncates so far
S_NMAPPED = 5  # entries in DaxFs.mapped
S_VMA_PAGES = 6  # file pages the buffer's VMA still maps (mapping_mapped() is this > 0)
S_LEN = 7

VICTIM_SALT = 0x100  #: the data another file writes into the blocks it gets (salt + truncate number)


def fs_tuple(f: DaxFile, bump_start: int, bump_end: int, truncated_pages: int) -> DaxFs:
    """The kernel-side filesystem for file ``f``; room for ``truncated_pages`` freed blocks."""
    state = np.zeros(S_LEN, np.int64)
    state[S_BUMP], state[S_BUMP_END] = bump_start, bump_end
    state[S_VMA_PAGES] = f.pages
    cap = max(truncated_pages, 1)
    # a page is faulted in at most once between unmaps, and refaulted once per truncated page
    mapped = sparse_array((f.pages + truncated_pages + 1) * 8, np.int64)
    return DaxFs(
        f.pte,
        f.fmap,
        f.ext_fpage,
        f.ext_pfn,
        state,
        np.zeros(cap, np.int64),
        np.zeros(2 * cap, np.int64),
        mapped,
        sparse_array(max(f.pages, 1)),
    )


@njit(cache=True)
def fs_block(fs, fpage, pmem, pmem_base_pfn, data, counters, c_zeroed):
    """The block behind file page ``fpage`` now: iomap_begin(). A hole gets a new, zeroed block."""
    fmap = fs.fmap
    v = fmap[fpage]
    if v > 0:
        return v - 1
    if v == 0:
        e = extent_lookup(fs.ext_fpage, fpage)
        return fs.ext_pfn[e] + (fpage - fs.ext_fpage[e])
    st = fs.state  # a hole: allocate (freed blocks first, then never-used ones)
    if st[S_TOP] > 0:
        st[S_TOP] -= 1
        pfn = fs.free[st[S_TOP]]
    else:
        pfn = st[S_BUMP]
        st[S_BUMP] += 1
    if data:  # DAX zeroes a new block before mapping it
        pmem[(pfn - pmem_base_pfn) * 4096 : (pfn - pmem_base_pfn + 1) * 4096] = 0
    counters[c_zeroed] += 4096
    fmap[fpage] = pfn + 1
    return pfn


@njit(cache=True)
def fs_lookup(fs, fpage):
    """The block behind file page ``fpage`` now, or -1 for a hole (no allocation)."""
    v = fs.fmap[fpage]
    if v > 0:
        return v - 1
    if v < 0:
        return -1
    e = extent_lookup(fs.ext_fpage, fpage)
    return fs.ext_pfn[e] + (fpage - fs.ext_fpage[e])


@njit(cache=True)
def dax_fault(fs, fpage, pmem, pmem_base_pfn, data, counters, c_faults, c_zeroed):
    """The DAX fault handler: find (or allocate) the block of file page ``fpage``, install its PTE.

    Returns the PTE value (pfn + 1). Kernels read the PTE themselves and call this only
    when it is 0 (keeping the cold path out of the hot loop keeps numba's code fast).
    """
    pfn = fs_block(fs, fpage, pmem, pmem_base_pfn, data, counters, c_zeroed)
    fs.pte[fpage] = pfn + 1
    fs.mapped[fs.state[S_NMAPPED]] = fpage
    fs.state[S_NMAPPED] += 1
    counters[c_faults] += 1
    return pfn + 1


@njit(cache=True)
def dax_fault_huge(fs, fpage, unit_pages, pmem, pmem_base_pfn, data, counters, c_faults, c_zeroed):
    """A DAX fault on a huge (PMD or PUD) mapping: one fault installs the whole mapping unit
    around file page ``fpage`` (``unit_pages`` 4 KiB pages). Returns ``fpage``'s PTE value."""
    pfn = fs_block(fs, fpage, pmem, pmem_base_pfn, data, counters, c_zeroed)
    fs.pte[fpage] = pfn + 1
    fs.mapped[fs.state[S_NMAPPED]] = fpage
    fs.state[S_NMAPPED] += 1
    first = fpage - fpage % unit_pages
    for fp in range(first, min(first + unit_pages, len(fs.pte))):
        if fs.pte[fp] == 0:
            b = fs_lookup(fs, fp)  # a hole in the unit is left to fault on its own (simpler than the kernel)
            if b >= 0:
                fs.pte[fp] = b + 1
                fs.mapped[fs.state[S_NMAPPED]] = fp
                fs.state[S_NMAPPED] += 1
    counters[c_faults] += 1
    return pfn + 1


@njit(cache=True)
def unmap_file(fs) -> int:
    """unmap_mapping_pages() over the whole file: every PTE of the buffer's mapping zapped (the
    next touch faults again); returns the PTEs that were present."""
    n = 0
    for i in range(fs.state[S_NMAPPED]):
        fp = fs.mapped[i]
        if fs.pte[fp] != 0:
            fs.pte[fp] = 0
            n += 1
    fs.state[S_NMAPPED] = 0
    return n


@njit(cache=True)
def munmap_range(fs, off, length) -> None:
    """munmap() of the buffer's [off, off+length): its PTEs go, and the VMA no longer covers it
    (mapping_mapped() is false once no page of the file is covered). Pins stay: munmap does
    not wait for I/O in flight."""
    for fp in range(off >> 12, (off + length) >> 12):
        fs.pte[fp] = 0
        if fs.unmapped[fp] == 0:
            fs.unmapped[fp] = 1
            fs.state[S_VMA_PAGES] -= 1


@njit(cache=True)
def punch_hole(fs, off, length, pmem, pmem_base_pfn, data, counters, c_victim_bytes):
    """Truncate / hole punch of [off, off+length): unmap, free the blocks, and let another
    file take them and write them at once (the reuse that makes a late DMA dangerous)."""
    st = fs.state
    free = fs.free
    for fp in range(off >> 12, (off + length) >> 12):
        pfn = fs_lookup(fs, fp)
        if pfn < 0:
            continue  # already a hole
        fs.pte[fp] = 0  # unmap_mapping_range()
        fs.fmap[fp] = -1
        free[st[S_TOP]] = pfn
        st[S_TOP] += 1
    event = st[S_TRUNCATES]
    st[S_TRUNCATES] += 1
    victims = fs.victim
    salt = np.uint64(VICTIM_SALT + event)
    while st[S_TOP] > 0:  # another file allocates the freed blocks and writes them
        st[S_TOP] -= 1
        pfn = free[st[S_TOP]]
        victims[2 * st[S_NVICTIM]] = pfn
        victims[2 * st[S_NVICTIM] + 1] = event
        st[S_NVICTIM] += 1
        if data:
            words = pmem.view(np.uint64)
            w0 = (pfn - pmem_base_pfn) * 512
            for j in range(512):
                x = np.uint64(w0 + j) * np.uint64(0x9E3779B97F4A7C15) ^ salt
                x ^= x >> np.uint64(29)
                words[w0 + j] = x * np.uint64(0xBF58476D1CE4E5B9)
        counters[c_victim_bytes] += 4096
