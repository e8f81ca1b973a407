"""Option 1a: a permanent struct page for every pmem page frame.

Submission: get_user_pages() walks the DAX mapping (faulting PTEs in), turns each pfn into
its struct page (pfn_to_page) and takes a reference on it; the block layer builds one
bio_vec per page. Completion: the device DMAs straight to or from pmem, and put_page()
drops the references. A truncate waits while any page of its range has a reference
above idle (``dax_layout_busy_page()``), so a late DMA never reaches a reused block.

As **NV-RAM as RAM** (``nvram``) the same path runs with the memmap on pmem (the
altmap) and counts every write a refcount change makes to a memmap line: the wear
concern of 2015.

Simpler than the kernel: one bio_vec per 4 KiB page (the 2015 block layer; since Linux
5.1 a bio_vec may span physically contiguous pages), and no compound (huge) pages.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault, fs_lookup
from daxsim.emu.machine import IDLE_REFCOUNT
from daxsim.model.counters import (
    C_DESC_ENTRIES, C_DMA_FROM_PMEM, C_DMA_TO_PMEM, C_FAULTS, C_GUP_PAGES, C_MEMMAP_MAX_WRITES, C_MEMMAP_WRITES, C_PAGES_SPANNED, C_PUT_PAGES, C_REFCOUNT_OPS, C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.emu.memory import sparse_array
from daxsim.paths.common import VMEMMAP_SHIFT, dma, page_segment, populate_vmemmap_page, prefetch, prefetch_dma, set_entry
from daxsim.paths.state import M_HUGE_SHIFT, M_MEMMAP_BASE, M_WEAR, PageState, new_misc

STRUCT_PAGES = True  #: this option gives pmem a memmap
ENTRY_BYTES = 16  #: struct bio_vec
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch


def make_state(b, params: dict) -> PageState:
    """The memmap of booted machine ``b``; ``params["wear"]`` counts memmap line writes (nvram)."""
    misc = new_misc(b)
    misc[M_HUGE_SHIFT] = PAGE_SHIFT
    wear = bool(params.get("wear"))
    misc[M_WEAR] = int(wear)
    return PageState(misc, b.memmap, b.memmap_words, b.vmemmap_populated,
                     sparse_array(len(b.memmap) * 4, np.uint32) if wear else np.zeros(0, np.uint32))


@njit(cache=True)
def _wear(wear, page, counters):
    """A refcount change writes the struct page's cache line: on pmem, that is media wear."""
    wear[page] += 1
    counters[C_MEMMAP_WRITES] += 1
    counters[C_MEMMAP_MAX_WRITES] = max(counters[C_MEMMAP_MAX_WRITES], wear[page])


@njit(cache=True, inline="always")
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """get_user_pages() + a bio_vec per page; returns the number of bio_vecs."""
    misc, memmap, memmap_words, populated, wear = st.misc, st.memmap, st.memmap_words, st.populated, st.wear
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    pos = off[e]
    end = pos + length[e]
    n = 0
    while pos < end:
        in_page, seg = page_segment(pos, end)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        page = v - 1 - memmap_base_pfn  # pfn_to_page()
        if populated[page >> VMEMMAP_SHIFT] == 0:
            populate_vmemmap_page(memmap_words, populated, page >> VMEMMAP_SHIFT, memmap_base_pfn, counters)
        memmap[page].refcount += 1  # try_grab_page()
        if misc[M_WEAR]:
            _wear(wear, page, counters)
        set_entry(b0, b1, b2, b3, base + n, page, in_page, seg, pos)
        n += 1
        pos += seg
    counters[C_GUP_PAGES] += n
    counters[C_PAGES_SPANNED] += n
    counters[C_REFCOUNT_OPS] += n
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True)
def warm(e, off, pte, st):
    """Before a batch of submissions: fetch the struct page of I/O ``e``'s first page (a host hint)."""
    v = pte[off[e] >> PAGE_SHIFT]
    if v:
        page = v - 1 - st.misc[M_MEMMAP_BASE]
        prefetch(st.populated, page >> VMEMMAP_SHIFT)  # is its vmemmap page populated?
        prefetch(st.memmap_words, page * 8)


@njit(cache=True, inline="always")
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st):
    """The device DMAs each bio_vec (adjacent ones in one burst); then put_page() on each."""
    misc, memmap, wear = st.misc, st.memmap, st.wear
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    bv_page, bv_off, bv_len, bv_dev = b0, b1, b2, b3
    pmem_base = (pmem_base_pfn - memmap_base_pfn) * PAGE_SIZE  # pfn_to_page offset, in bytes
    moved = 0
    k = base
    while k < base + n:
        pa = bv_page[k] * PAGE_SIZE + bv_off[k] - pmem_base
        burst = bv_len[k]
        j = k + 1
        while j < base + n and bv_page[j] == bv_page[j - 1] + 1 and bv_off[j] == 0:
            burst += bv_len[j]
            j += 1
        if data:
            if j < base + n:
                prefetch_dma(op[e] == 1, device, bv_dev[j], pmem, bv_page[j] * PAGE_SIZE + bv_off[j] - pmem_base)
            dma(op[e] == 1, device, bv_dev[k], pmem, pa, burst)
        moved += burst
        k = j
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved
    for k in range(base, base + n):
        memmap[bv_page[k]].refcount -= 1  # put_page()
        if misc[M_WEAR]:
            _wear(wear, bv_page[k], counters)
    counters[C_PUT_PAGES] += n
    counters[C_REFCOUNT_OPS] += n


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """dax_layout_busy_page(): is any page of the range referenced beyond idle?"""
    misc, memmap, populated = st.misc, st.memmap, st.populated
    base = misc[M_MEMMAP_BASE]
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn >= 0 and populated[(pfn - base) >> VMEMMAP_SHIFT] and memmap[pfn - base].refcount != IDLE_REFCOUNT:
            return True
    return False


@njit(cache=True)
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of bio_vec ``k``: page_to_phys(page) + offset."""
    return (b0[k] + st.misc[M_MEMMAP_BASE] - pmem_base_pfn) * PAGE_SIZE + b1[k]
