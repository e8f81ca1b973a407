"""Option 1a: a permanent struct page for every pmem page frame.

Each O_DIRECT I/O: get_user_pages() walks the DAX mapping (faulting PTEs in), turns
each pfn into its struct page (pfn_to_page) and takes a reference on it; the block layer
builds one bio_vec per page; the device DMAs straight to or from pmem; completion drops
the references (put_page). A queue of ``qd`` I/Os is submitted together and then
completed together.

Simpler than the kernel: one bio_vec per 4 KiB page (the 2015 block layer; since Linux
5.1 a bio_vec may span physically contiguous pages), and no compound (huge) pages.
"""

from __future__ import annotations

from numba import njit

from ..daxfs import dax_fault
from ..metrics import (
    BIO_VEC_SIZE, C_BYTES_REQUESTED, C_DESC_ENTRIES, C_DESC_PEAK, C_DMA_FROM_PMEM, C_DMA_TO_PMEM, C_FAULTS,
    C_GUP_PAGES, C_IOS, C_PAGES_SPANNED, C_PUT_PAGES, C_REFCOUNT_OPS, C_TRANSIENT_PEAK,
)
from ..units import PAGE_SHIFT, PAGE_SIZE
from .common import VMEMMAP_SHIFT, memcpy, populate_vmemmap_page, prefetch_burst

STRUCT_PAGES = True  #: this option gives pmem a memmap


@njit(cache=True)
def run_1a(op, off, length, qd, pte, ext_fpage, ext_pfn, pmem, pmem_base_pfn, device,
           memmap, memmap_words, populated, memmap_base_pfn, data, counters, bv_page, bv_off, bv_len, bv_dev):
    """Run the workload through option 1a's path, counting into ``counters``.

    ``bv_*`` are scratch bio_vec arrays large enough for ``qd`` I/Os.
    """
    n = len(op)
    pmem_base = pmem_base_pfn * PAGE_SIZE
    gup = 0
    dma_to = 0
    dma_from = 0
    for batch in range(0, n, qd):
        last = min(batch + qd, n)
        # submission: get_user_pages() + one bio_vec per page, for every I/O in the queue
        nvec = 0
        for i in range(batch, last):
            pos = off[i]
            end = off[i] + length[i]
            while pos < end:
                in_page = pos & (PAGE_SIZE - 1)
                seg = min(PAGE_SIZE - in_page, end - pos)
                fp = pos >> PAGE_SHIFT
                v = pte[fp]
                if v == 0:
                    v = dax_fault(pte, ext_fpage, ext_pfn, fp, counters, C_FAULTS)
                page = v - 1 - memmap_base_pfn  # pfn_to_page()
                if populated[page >> VMEMMAP_SHIFT] == 0:
                    populate_vmemmap_page(memmap_words, populated, page >> VMEMMAP_SHIFT, memmap_base_pfn, counters)
                memmap[page].refcount += 1  # try_grab_page()
                bv_page[nvec] = page
                bv_off[nvec] = in_page
                bv_len[nvec] = seg
                bv_dev[nvec] = pos
                nvec += 1
                pos += seg
        gup += nvec
        held = nvec * BIO_VEC_SIZE
        if held > counters[C_DESC_PEAK]:
            counters[C_DESC_PEAK] = held
        # the device works through each bio: DMA straight to or from pmem,
        # adjacent segments in one burst
        k = 0
        for i in range(batch, last):
            remaining = length[i]
            while remaining > 0:
                pa = (memmap_base_pfn + bv_page[k]) * PAGE_SIZE + bv_off[k] - pmem_base
                burst = bv_len[k]
                j = k + 1
                remaining -= bv_len[k]
                while remaining > 0 and bv_page[j] == bv_page[j - 1] + 1 and bv_off[j] == 0:
                    burst += bv_len[j]
                    remaining -= bv_len[j]
                    j += 1
                if data and j < nvec:
                    nxt = (memmap_base_pfn + bv_page[j]) * PAGE_SIZE + bv_off[j] - pmem_base
                    prefetch_burst(device, bv_dev[j], pmem, nxt)
                if op[i] == 1:
                    if data:
                        memcpy(device, bv_dev[k], pmem, pa, burst)
                    dma_from += burst
                else:
                    if data:
                        memcpy(pmem, pa, device, bv_dev[k], burst)
                    dma_to += burst
                k = j
        # completion: put_page() on every page of every bio
        for k in range(nvec):
            memmap[bv_page[k]].refcount -= 1
    counters[C_IOS] += n
    counters[C_BYTES_REQUESTED] += length.sum()
    counters[C_PAGES_SPANNED] += gup
    counters[C_GUP_PAGES] += gup
    counters[C_PUT_PAGES] += gup
    counters[C_REFCOUNT_OPS] += 2 * gup
    counters[C_DESC_ENTRIES] += gup
    counters[C_DMA_TO_PMEM] += dma_to
    counters[C_DMA_FROM_PMEM] += dma_from
    if counters[C_DESC_PEAK] > counters[C_TRANSIENT_PEAK]:
        counters[C_TRANSIENT_PEAK] = counters[C_DESC_PEAK]


def kernel_args(b, op, off, length, qd, data, counters, scratch):
    """Arguments of :func:`run_1a` for a booted machine ``b``."""
    return (op, off, length, qd, b.file.pte, b.file.ext_fpage, b.file.ext_pfn, b.pmem, b.pmem_base_pfn, b.device,
            b.memmap, b.memmap_words, b.vmemmap_populated, b.memmap_base_pfn, data, counters, *scratch)


KERNEL = run_1a
