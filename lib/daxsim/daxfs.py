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

import numpy as np
from numba import njit

from .memory import sparse_array
from .units import PAGE_SIZE, format_size


@dataclass
class DaxFile:
    """One file: its extents (file page, pfn, length in pages) and its mapping's page table."""

    name: str
    size: int
    ext_fpage: np.ndarray
    ext_pfn: np.ndarray
    ext_len: np.ndarray
    pte: np.ndarray  # per file page: 0 = not present, else pfn + 1

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


def create_file(name: str, size: int, first_pfn: int, last_pfn: int, extent_size: int | None,
                rng: np.random.Generator) -> DaxFile:
    """Allocate a file of ``size`` bytes from data pfns [first_pfn, last_pfn)."""
    npages = size // PAGE_SIZE
    if npages > last_pfn - first_pfn:
        raise ValueError(
            f"file_size: {format_size(size)} does not fit in the filesystem's "
            f"{format_size((last_pfn - first_pfn) * PAGE_SIZE)} of data blocks")
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
    return DaxFile(name, npages * PAGE_SIZE, fpage, pfn, length, pte)


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


@njit(cache=True)
def dax_fault(pte, ext_fpage, ext_pfn, fpage, counters, c_faults):
    """The DAX fault handler: look file page ``fpage`` up in the extents, install its PTE.

    Returns the PTE value (pfn + 1). Kernels read ``pte[fpage]`` themselves and call this
    only when it is 0 (keeping the cold path out of the hot loop keeps numba's code fast).
    """
    e = extent_lookup(ext_fpage, fpage)
    v = ext_pfn[e] + (fpage - ext_fpage[e]) + 1
    pte[fpage] = v
    counters[c_faults] += 1
    return v
