"""Huge pages: the DAX file mapped, and referenced, in 2 MiB or 1 GiB compound pages.

Option 1a with a huge mapping: the DAX file is mapped with PMDs (2 MiB) or PUDs (1 GiB).
Before 6.15 a PMD of fsdax maps 512 order-0 struct pages, and get_user_pages() takes a
reference on each 4 KiB page (the lab counted 16 per 64 KiB I/O on 6.1 and 6.12); from
6.15 the PMD is one compound folio and GUP takes one reference per folio an I/O touches
(on its head, ``record_subpages()`` + one grab), and a read dirties it once. The bio_vecs
follow the era as option 1a's do. What the memmap costs depends on the variant (see
``daxsim.emu.hugepages``); the emulator keeps every struct page and reports what each
variant would allocate.

The price is dirty tracking: a store dirties the whole mapping unit, and fsync flushes
each dirty unit whole (the event loop does the tracking for every option, at 4 KiB for
the others). A truncate waits while a compound page of its range is referenced.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault_huge, fs_lookup
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_WRITE
from daxsim.model.counters import (
    C_COMPOUND_REFS,
    C_DESC_ENTRIES,
    C_DMA_FROM_PMEM,
    C_DMA_TO_PMEM,
    C_FAULTS,
    C_GUP_PAGES,
    C_PAGES_SPANNED,
    C_PUT_PAGES,
    C_REFCOUNT_OPS,
    C_ZEROED,
)
from daxsim.paths.common import (
    VMEMMAP_SHIFT,
    add_segment,
    entry_pages,
    page_segment,
    populate_vmemmap_page,
    post_dma,
    prefetch,
    prefetch_dma,
)
from daxsim.paths.option1a import dirty_page, get_descriptor, put_descriptor
from daxsim.paths.state import (
    M_BVEC_MERGE,
    M_FOLIO_GRAB,
    M_HUGE_SHIFT,
    M_IDLE_REF,
    M_MEMMAP_BASE,
    M_PIN_BIAS,
    M_UNIT_BYTES,
    PageState,
    new_misc,
)

STRUCT_PAGES = True
ENTRY_BYTES = 16  #: struct bio_vec
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch
PINS = True  #: truncate must wait for its references (dax_layout_busy_page, as the era does it)


def make_state(b, params: dict) -> PageState:
    """The memmap of booted machine ``b``, referenced in compound pages of ``params["page_size"]``."""
    misc = new_misc(b, params)
    misc[M_HUGE_SHIFT] = params["page_size"].bit_length() - 1
    misc[M_UNIT_BYTES] = params["era"].folio_desc_bytes  # memdesc-8: a descriptor per folio in use
    return PageState(misc, b.memmap, b.memmap_words, b.vmemmap_populated, np.zeros(0, np.uint32))


@njit(cache=True, inline="always")
def _head(page, misc):
    """The head struct page of ``page``'s compound page (compound_head())."""
    order = misc[M_HUGE_SHIFT] - PAGE_SHIFT
    pfn = page + misc[M_MEMMAP_BASE]
    return ((pfn >> order) << order) - misc[M_MEMMAP_BASE]


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """get_user_pages() on a huge mapping; returns the bio_vecs built."""
    misc, memmap, memmap_words, populated, wear = st.misc, st.memmap, st.memmap_words, st.populated, st.wear
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    bias, idle, merge, desc = misc[M_PIN_BIAS], misc[M_IDLE_REF], misc[M_BVEC_MERGE], misc[M_UNIT_BYTES]
    folio = misc[M_FOLIO_GRAB]
    read = op[e] == OP_READ
    pos = off[e]
    end = pos + length[e]
    n = 0
    pages = 0
    refs = 0
    last_head = -1
    while pos < end:
        in_page, seg = page_segment(pos, end)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:  # one fault maps the whole PMD (PUD)
            v = dax_fault_huge(
                fs, fp, 1 << (misc[M_HUGE_SHIFT] - PAGE_SHIFT), pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED
            )
        page = v - 1 - memmap_base_pfn
        ref = _head(page, misc) if folio else page  # the struct page the reference goes to
        if populated[ref >> VMEMMAP_SHIFT] == 0:
            populate_vmemmap_page(memmap_words, populated, ref >> VMEMMAP_SHIFT, memmap_base_pfn, counters, idle)
        if folio:  # one grab per folio: folio_ref_add(refs) once its pages are counted
            old = memmap[ref].refcount
            memmap[ref].refcount = old + 1
            if ref != last_head:
                refs += 1
                last_head = ref
                if desc and old == idle:
                    get_descriptor(misc, counters)
                if read:
                    dirty_page(memmap_words, wear, misc, ref, counters)
        else:  # order-0 pages in the PMD: a reference on each, as option 1a
            old = memmap[ref].refcount
            memmap[ref].refcount = old + bias
            refs += 1
            if desc and old == idle:
                get_descriptor(misc, counters)
            if read:
                dirty_page(memmap_words, wear, misc, ref, counters)
        n = add_segment(b0, b1, b2, b3, base, n, page, in_page, seg, pos, merge)
        pages += 1
        pos += seg
    counters[C_GUP_PAGES] += pages
    counters[C_PAGES_SPANNED] += pages
    if folio:
        counters[C_COMPOUND_REFS] += refs
    counters[C_REFCOUNT_OPS] += refs
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True, inline="always")
def warm(e, off, pte, st):
    """Before a batch of submissions: fetch the struct page I/O ``e``'s first page is referenced
    through (a host hint)."""
    v = pte[off[e] >> PAGE_SHIFT]
    if v:
        page = v - 1 - st.misc[M_MEMMAP_BASE]
        prefetch(st.memmap_words, (_head(page, st.misc) if st.misc[M_FOLIO_GRAB] else page) * 8)


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """DMA each bio_vec; drop the references: per folio from 6.15 (unpin_user_folio), else per page."""
    misc, memmap = st.misc, st.memmap
    bias, idle, desc, folio = misc[M_PIN_BIAS], misc[M_IDLE_REF], misc[M_UNIT_BYTES], misc[M_FOLIO_GRAB]
    pmem_base = (pmem_base_pfn - misc[M_MEMMAP_BASE]) * PAGE_SIZE
    moved = 0
    for k in range(base, base + n):
        if data:
            pa = b0[k] * PAGE_SIZE + b1[k] - pmem_base
            if k + 1 < base + n:
                prefetch_dma(op[e] == OP_WRITE, device, b3[k + 1], pmem, b0[k + 1] * PAGE_SIZE + b1[k + 1] - pmem_base)
            post_dma(dq, op[e] == OP_WRITE, device, b3[k], pmem, pa, b2[k])
        moved += b2[k]
    counters[C_DMA_FROM_PMEM if op[e] == OP_WRITE else C_DMA_TO_PMEM] += moved
    pages = 0
    refs = 0
    last_head = -1
    for k in range(base, base + n):
        for page in range(b0[k], b0[k] + entry_pages(b1, b2, k)):
            pages += 1
            if folio:
                head = _head(page, misc)
                new = memmap[head].refcount - 1
                memmap[head].refcount = new
                if head != last_head:
                    refs += 1
                    last_head = head
                if desc and new == idle:
                    put_descriptor(misc, counters)
            else:
                new = memmap[page].refcount - bias
                memmap[page].refcount = new
                refs += 1
                if desc and new == idle:
                    put_descriptor(misc, counters)
    counters[C_PUT_PAGES] += pages
    counters[C_REFCOUNT_OPS] += refs


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """dax_layout_busy_page() over the range: is a page (a folio, from 6.15) referenced beyond idle?"""
    misc, memmap, populated = st.misc, st.memmap, st.populated
    base, idle = misc[M_MEMMAP_BASE], misc[M_IDLE_REF]
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn < 0:
            continue
        h = _head(pfn - base, misc) if misc[M_FOLIO_GRAB] else pfn - base
        if populated[h >> VMEMMAP_SHIFT] and memmap[h].refcount != idle:
            return True
    return False


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of bio_vec ``k``."""
    return (b0[k] + st.misc[M_MEMMAP_BASE] - pmem_base_pfn) * PAGE_SIZE + b1[k]
