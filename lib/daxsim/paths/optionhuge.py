"""Huge pages: the DAX file mapped, and referenced, in 2 MiB or 1 GiB compound pages.

Option 1a with compound pages: the mapping is PMD (2 MiB) or PUD (1 GiB) sized, and
get_user_pages() takes one reference per compound page an I/O touches (on its head page,
as grab_folio() does) instead of one per 4 KiB; the block layer still builds one bio_vec
per 4 KiB page. What the memmap costs depends on the variant (see ``daxsim.emu.hugepages``);
the emulator keeps every struct page and reports what each variant would allocate.

The price is dirty tracking: a store dirties the whole mapping unit, and fsync flushes
each dirty unit whole (the event loop does the tracking for every option, at 4 KiB for
the others). A truncate waits while a compound page of its range is referenced.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault, fs_lookup
from daxsim.emu.machine import IDLE_REFCOUNT
from daxsim.model.counters import (
    C_COMPOUND_REFS, C_DESC_ENTRIES, C_DMA_FROM_PMEM, C_DMA_TO_PMEM, C_FAULTS, C_GUP_PAGES, C_PAGES_SPANNED, C_PUT_PAGES, C_REFCOUNT_OPS, C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.paths.common import VMEMMAP_SHIFT, dma, page_segment, populate_vmemmap_page, prefetch, prefetch_dma, set_entry
from daxsim.paths.state import M_HUGE_SHIFT, M_MEMMAP_BASE, PageState, new_misc

STRUCT_PAGES = True
ENTRY_BYTES = 16  #: struct bio_vec
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch


def make_state(b, params: dict) -> PageState:
    """The memmap of booted machine ``b``, referenced in compound pages of ``params["page_size"]``."""
    misc = new_misc(b)
    misc[M_HUGE_SHIFT] = params["page_size"].bit_length() - 1
    return PageState(misc, b.memmap, b.memmap_words, b.vmemmap_populated, np.zeros(0, np.uint32))


@njit(cache=True)
def _head(page, misc):
    """The head struct page of ``page``'s compound page (compound_head())."""
    order = misc[M_HUGE_SHIFT] - PAGE_SHIFT
    pfn = page + misc[M_MEMMAP_BASE]
    return ((pfn >> order) << order) - misc[M_MEMMAP_BASE]


@njit(cache=True, inline="always")
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """get_user_pages() on a huge mapping: a reference per compound page, a bio_vec per page."""
    misc, memmap, memmap_words, populated = st.misc, st.memmap, st.memmap_words, st.populated
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    pos = off[e]
    end = pos + length[e]
    n = 0
    refs = 0
    last_head = -1
    while pos < end:
        in_page, seg = page_segment(pos, end)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        page = v - 1 - memmap_base_pfn
        head = _head(page, misc)
        if head != last_head:
            if populated[head >> VMEMMAP_SHIFT] == 0:
                populate_vmemmap_page(memmap_words, populated, head >> VMEMMAP_SHIFT, memmap_base_pfn, counters)
            memmap[head].refcount += 1  # one reference on the folio
            refs += 1
            last_head = head
        set_entry(b0, b1, b2, b3, base + n, page, in_page, seg, pos)
        n += 1
        pos += seg
    counters[C_GUP_PAGES] += n
    counters[C_PAGES_SPANNED] += n
    counters[C_COMPOUND_REFS] += refs
    counters[C_REFCOUNT_OPS] += refs
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True)
def warm(e, off, pte, st):
    """Before a batch of submissions: fetch the head struct page of I/O ``e``'s first page (a host hint)."""
    v = pte[off[e] >> PAGE_SHIFT]
    if v:
        prefetch(st.memmap_words, _head(v - 1 - st.misc[M_MEMMAP_BASE], st.misc) * 8)


@njit(cache=True, inline="always")
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st):
    """DMA each bio_vec; drop one reference per compound page."""
    misc, memmap = st.misc, st.memmap
    pmem_base = (pmem_base_pfn - misc[M_MEMMAP_BASE]) * PAGE_SIZE
    moved = 0
    refs = 0
    last_head = -1
    for k in range(base, base + n):
        if data:
            pa = b0[k] * PAGE_SIZE + b1[k] - pmem_base
            if k + 1 < base + n:
                prefetch_dma(op[e] == 1, device, b3[k + 1], pmem, b0[k + 1] * PAGE_SIZE + b1[k + 1] - pmem_base)
            dma(op[e] == 1, device, b3[k], pmem, pa, b2[k])
        moved += b2[k]
        head = _head(b0[k], misc)
        if head != last_head:
            memmap[head].refcount -= 1
            refs += 1
            last_head = head
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved
    counters[C_PUT_PAGES] += n
    counters[C_REFCOUNT_OPS] += refs


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """dax_layout_busy_page(): is a compound page of the range referenced beyond idle?"""
    misc, memmap, populated = st.misc, st.memmap, st.populated
    base = misc[M_MEMMAP_BASE]
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn < 0:
            continue
        h = _head(pfn - base, misc)
        if populated[h >> VMEMMAP_SHIFT] and memmap[h].refcount != IDLE_REFCOUNT:
            return True
    return False


@njit(cache=True)
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of bio_vec ``k``."""
    return (b0[k] + st.misc[M_MEMMAP_BASE] - pmem_base_pfn) * PAGE_SIZE + b1[k]
