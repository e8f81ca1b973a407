"""Option 2: the I/O layers deal in PFNs; no struct page, no reference.

Submission walks the DAX mapping to pfns and builds a pfn vector (a bio_vec whose page
pointer is a pfn, as in the 2015 ``__pfn_t`` series); completion DMAs by pfn. Cheapest
per I/O, and nothing pins the blocks: a truncate proceeds at once, the filesystem gives
the freed blocks to another file, and a DMA still in flight lands in that file's data.

With ``guard`` on, each I/O holds a filesystem range lock (a layout lease) on its file
range from submission to completion, and a truncate waits for it: safe, at a cost.

The same kernel, counting no metadata, is the **ideal** bound: no struct pages, no
copies, and a truncate that comes only after every earlier I/O.
"""

from __future__ import annotations

from numba import njit

from ..daxfs import F_PTE, dax_fault
from ..metrics import (
    C_DESC_ENTRIES, C_DMA_FROM_PMEM, C_DMA_TO_PMEM, C_FAULTS, C_PAGES_SPANNED, C_PFN_WALKS, C_RANGE_LOCKS, C_ZEROED,
)
from ..units import PAGE_SHIFT, PAGE_SIZE
from .common import M_GUARD, ST_MISC, memcpy

STRUCT_PAGES = False
ENTRY_BYTES = 16  #: a pfn-based bio_vec: pfn, length, offset


@njit(cache=True)
def submit(e, base, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st):
    """Walk the mapping to pfns and build the pfn vector; returns its length."""
    pte = fs[F_PTE]
    bv_pfn, bv_off, bv_len, bv_dev = bv
    pos = off[e]
    end = pos + length[e]
    n = 0
    while pos < end:
        in_page = pos & (PAGE_SIZE - 1)
        seg = min(PAGE_SIZE - in_page, end - pos)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        bv_pfn[base + n] = v - 1
        bv_off[base + n] = in_page
        bv_len[base + n] = seg
        bv_dev[base + n] = pos
        n += 1
        pos += seg
    counters[C_PFN_WALKS] += n
    counters[C_PAGES_SPANNED] += n
    counters[C_DESC_ENTRIES] += n
    if st[ST_MISC][M_GUARD]:
        counters[C_RANGE_LOCKS] += 1
    return n


@njit(cache=True)
def complete(e, base, n, op, pmem, pmem_base_pfn, device, data, counters, bv, st):
    """DMA by pfn, wherever those pfns now belong."""
    bv_pfn, bv_off, bv_len, bv_dev = bv
    moved = 0
    for k in range(base, base + n):
        pa = (bv_pfn[k] - pmem_base_pfn) * PAGE_SIZE + bv_off[k]
        if data:
            if op[e] == 1:
                memcpy(device, bv_dev[k], pmem, pa, bv_len[k])
            else:
                memcpy(pmem, pa, device, bv_dev[k], bv_len[k])
        moved += bv_len[k]
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved
