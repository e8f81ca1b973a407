"""Option 1a: a permanent struct page for every pmem page frame.

Submission: get_user_pages() walks the DAX mapping (faulting PTEs in), turns each pfn into
its struct page (pfn_to_page) and takes a reference on it: +1 (FOLL_GET) or +1024
(FOLL_PIN, from 6.5); the block layer builds a bio_vec per page, or one per physically
contiguous run (multi-page bio_vecs, from 5.1); a read dirties each page (lock, PG_dirty,
unlock). Completion: the device DMAs straight to or from pmem, and put_page() /
unpin_user_page() drops the references. What truncate waits for is the era's (see
daxsim/paths/loop.py): from 4.18, ``dax_layout_busy_page()`` keeps a late DMA from
reaching a reused block, unless (4.18 to 6.14) nothing maps the file any more.

As **NV-RAM as RAM** (``nvram``) the same path runs with the memmap on pmem (the
altmap) and counts every write a refcount change makes to a memmap line: the wear
concern of 2015.

In the proposed memdesc era with 8-byte memdescs, the first reference to an idle page
allocates its folio descriptor and the last put frees it (1b's idea, made general).

Simpler than the kernel: no compound (huge) pages (see :mod:`daxsim.paths.optionhuge`);
6.15's reference per mapping is not kept (idle is the era's idle refcount, and busy means
a GUP reference, which is what dax_layout_busy_page's refcount - mapcount test finds).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault, fs_lookup
from daxsim.emu.memory import sparse_array
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_WRITE
from daxsim.model.counters import (
    C_ALLOCATIONS,
    C_DESC_ENTRIES,
    C_DMA_FROM_PMEM,
    C_DMA_TO_PMEM,
    C_FAULTS,
    C_FREES,
    C_GUP_PAGES,
    C_MEMMAP_MAX_WRITES,
    C_MEMMAP_WRITES,
    C_PAGES_DIRTIED,
    C_PAGES_SPANNED,
    C_POOL_PEAK,
    C_PUT_PAGES,
    C_REFCOUNT_OPS,
    C_SP_INIT_IO,
    C_ZEROED,
)
from daxsim.paths.common import (
    PG_DIRTY,
    VMEMMAP_SHIFT,
    add_segment,
    entry_pages,
    page_segment,
    populate_vmemmap_page,
    post_dma,
    prefetch,
    prefetch_dma,
)
from daxsim.paths.state import (
    M_BVEC_MERGE,
    M_HUGE_SHIFT,
    M_IDLE_REF,
    M_MEMMAP_BASE,
    M_PIN_BIAS,
    M_POOL_USED,
    M_UNIT_BYTES,
    M_WEAR,
    PageState,
    new_misc,
)

STRUCT_PAGES = True  #: this option gives pmem a memmap
ENTRY_BYTES = 16  #: struct bio_vec
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch
PINS = True  #: truncate must wait for its references (dax_layout_busy_page, as the era does it)


def make_state(b, params: dict) -> PageState:
    """The memmap of booted machine ``b``; ``params["wear"]`` counts memmap line writes (nvram)."""
    misc = new_misc(b, params)
    misc[M_HUGE_SHIFT] = PAGE_SHIFT
    wear = bool(params.get("wear"))
    misc[M_WEAR] = int(wear)
    misc[M_UNIT_BYTES] = params["era"].folio_desc_bytes  # memdesc-8: a descriptor per folio in use
    return PageState(
        misc,
        b.memmap,
        b.memmap_words,
        b.vmemmap_populated,
        sparse_array(len(b.memmap) * 4, np.uint32) if wear else np.zeros(0, np.uint32),
    )


@njit(cache=True, inline="always")
def _wear(wear, page, counters):
    """A write to the struct page's cache line (a refcount change, a flag): on pmem, media wear."""
    wear[page] += 1
    counters[C_MEMMAP_WRITES] += 1
    counters[C_MEMMAP_MAX_WRITES] = max(counters[C_MEMMAP_MAX_WRITES], wear[page])


@njit(cache=True, inline="always")
def get_descriptor(misc, counters):
    """memdesc-8: the first reference to an idle page allocates and fills its folio descriptor."""
    misc[M_POOL_USED] += 1
    counters[C_ALLOCATIONS] += 1
    counters[C_SP_INIT_IO] += 1
    counters[C_POOL_PEAK] = max(counters[C_POOL_PEAK], misc[M_POOL_USED])


@njit(cache=True, inline="always")
def put_descriptor(misc, counters):
    """memdesc-8: the last reference gone, the folio descriptor is freed."""
    misc[M_POOL_USED] -= 1
    counters[C_FREES] += 1


@njit(cache=True, inline="always")
def dirty_page(memmap_words, wear, misc, page, counters):
    """set_page_dirty_lock() on a read's page: lock, PG_dirty (noop_dirty_folio), unlock."""
    memmap_words[8 * page] |= PG_DIRTY
    counters[C_PAGES_DIRTIED] += 1
    if misc[M_WEAR]:
        _wear(wear, page, counters)


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """get_user_pages() + the bio_vecs; returns the number of bio_vecs."""
    misc, memmap, memmap_words, populated, wear = st.misc, st.memmap, st.memmap_words, st.populated, st.wear
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    bias, idle, merge, desc = misc[M_PIN_BIAS], misc[M_IDLE_REF], misc[M_BVEC_MERGE], misc[M_UNIT_BYTES]
    read = op[e] == OP_READ
    pos = off[e]
    end = pos + length[e]
    n = 0
    pages = 0
    while pos < end:
        in_page, seg = page_segment(pos, end)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        page = v - 1 - memmap_base_pfn  # pfn_to_page()
        if populated[page >> VMEMMAP_SHIFT] == 0:
            populate_vmemmap_page(memmap_words, populated, page >> VMEMMAP_SHIFT, memmap_base_pfn, counters, idle)
        old = memmap[page].refcount
        memmap[page].refcount = old + bias  # try_grab_page()
        if desc and old == idle:
            get_descriptor(misc, counters)
        if misc[M_WEAR]:
            _wear(wear, page, counters)
        if read:
            dirty_page(memmap_words, wear, misc, page, counters)
        n = add_segment(b0, b1, b2, b3, base, n, page, in_page, seg, pos, merge)
        pages += 1
        pos += seg
    counters[C_GUP_PAGES] += pages
    counters[C_PAGES_SPANNED] += pages
    counters[C_REFCOUNT_OPS] += pages
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True, inline="always")
def warm(e, off, pte, st):
    """Before a batch of submissions: fetch the struct page of I/O ``e``'s first page (a host hint)."""
    v = pte[off[e] >> PAGE_SHIFT]
    if v:
        page = v - 1 - st.misc[M_MEMMAP_BASE]
        prefetch(st.populated, page >> VMEMMAP_SHIFT)  # is its vmemmap page populated?
        prefetch(st.memmap_words, page * 8)


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """The device DMAs each bio_vec (adjacent ones in one burst); then put_page() on each page."""
    misc, memmap, wear = st.misc, st.memmap, st.wear
    memmap_base_pfn = misc[M_MEMMAP_BASE]
    bias, idle, desc = misc[M_PIN_BIAS], misc[M_IDLE_REF], misc[M_UNIT_BYTES]
    bv_page, bv_off, bv_len, bv_dev = b0, b1, b2, b3
    pmem_base = (pmem_base_pfn - memmap_base_pfn) * PAGE_SIZE  # pfn_to_page offset, in bytes
    moved = 0
    k = base
    while k < base + n:
        pa = bv_page[k] * PAGE_SIZE + bv_off[k] - pmem_base
        burst = bv_len[k]
        j = k + 1
        while (
            j < base + n
            and bv_page[j] * PAGE_SIZE + bv_off[j] == bv_page[j - 1] * PAGE_SIZE + bv_off[j - 1] + bv_len[j - 1]
        ):
            burst += bv_len[j]
            j += 1
        if data:
            if j < base + n:
                prefetch_dma(op[e] == OP_WRITE, device, bv_dev[j], pmem, bv_page[j] * PAGE_SIZE + bv_off[j] - pmem_base)
            post_dma(dq, op[e] == OP_WRITE, device, bv_dev[k], pmem, pa, burst)
        moved += burst
        k = j
    counters[C_DMA_FROM_PMEM if op[e] == OP_WRITE else C_DMA_TO_PMEM] += moved
    pages = 0
    for k in range(base, base + n):
        for page in range(bv_page[k], bv_page[k] + entry_pages(bv_off, bv_len, k)):
            new = memmap[page].refcount - bias  # put_page() / unpin_user_page()
            memmap[page].refcount = new
            if desc and new == idle:
                put_descriptor(misc, counters)
            if misc[M_WEAR]:
                _wear(wear, page, counters)
            pages += 1
    counters[C_PUT_PAGES] += pages
    counters[C_REFCOUNT_OPS] += pages


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """dax_layout_busy_page() over the range: is any page referenced beyond idle?"""
    misc, memmap, populated = st.misc, st.memmap, st.populated
    base, idle = misc[M_MEMMAP_BASE], misc[M_IDLE_REF]
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn >= 0 and populated[(pfn - base) >> VMEMMAP_SHIFT] and memmap[pfn - base].refcount != idle:
            return True
    return False


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of bio_vec ``k``: page_to_phys(page) + offset."""
    return (b0[k] + st.misc[M_MEMMAP_BASE] - pmem_base_pfn) * PAGE_SIZE + b1[k]
