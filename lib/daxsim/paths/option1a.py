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
from .common import memcpy, pfn_to_page

STRUCT_PAGES = True  #: this option gives pmem a memmap


@njit(cache=True)
def run_1a(op, off, length, qd, pte, ext_fpage, ext_pfn, pmem, pmem_base_pfn, device,
           memmap, populated, memmap_base_pfn, data, counters, bv_page, bv_off, bv_len, bv_dev):
    """Run the workload through option 1a's path; returns nothing, counts into ``counters``.

    ``bv_*`` are scratch bio_vec arrays large enough for ``qd`` I/Os.
    """
    n = len(op)
    pmem_base = pmem_base_pfn * PAGE_SIZE
    for batch in range(0, n, qd):
        last = min(batch + qd, n)
        nvec = 0
        io_first = batch
        # submission: GUP + bio construction for every I/O in the batch
        starts = nvec
        for i in range(io_first, last):
            pos = off[i]
            end = off[i] + length[i]
            counters[C_BYTES_REQUESTED] += length[i]
            while pos < end:
                fp = pos >> PAGE_SHIFT
                in_page = pos & (PAGE_SIZE - 1)
                seg = min(PAGE_SIZE - in_page, end - pos)
                pfn = dax_fault(pte, ext_fpage, ext_pfn, fp, counters, C_FAULTS)
                page = pfn_to_page(pfn, memmap, populated, memmap_base_pfn, counters)
                memmap[page].refcount += 1  # try_grab_page()
                counters[C_GUP_PAGES] += 1
                counters[C_REFCOUNT_OPS] += 1
                bv_page[nvec] = page
                bv_off[nvec] = in_page
                bv_len[nvec] = seg
                bv_dev[nvec] = pos
                nvec += 1
                counters[C_PAGES_SPANNED] += 1
                pos += seg
        counters[C_DESC_ENTRIES] += nvec - starts
        held = nvec * BIO_VEC_SIZE
        if held > counters[C_DESC_PEAK]:
            counters[C_DESC_PEAK] = held
        if held > counters[C_TRANSIENT_PEAK]:
            counters[C_TRANSIENT_PEAK] = held
        # the device works through the bio_vecs: DMA straight to or from pmem
        v = 0
        for i in range(io_first, last):
            end_v = v
            remaining = length[i]
            while remaining > 0:
                remaining -= bv_len[end_v]
                end_v += 1
            for k in range(v, end_v):
                pa = (memmap_base_pfn + bv_page[k]) * PAGE_SIZE + bv_off[k] - pmem_base
                if op[i] == 1:
                    if data:
                        memcpy(device, bv_dev[k], pmem, pa, bv_len[k])
                    counters[C_DMA_FROM_PMEM] += bv_len[k]
                else:
                    if data:
                        memcpy(pmem, pa, device, bv_dev[k], bv_len[k])
                    counters[C_DMA_TO_PMEM] += bv_len[k]
            v = end_v
        # completion: put_page() on every page of every bio
        for k in range(nvec):
            memmap[bv_page[k]].refcount -= 1
            counters[C_PUT_PAGES] += 1
            counters[C_REFCOUNT_OPS] += 1
        counters[C_IOS] += last - io_first


def kernel_args(b, op, off, length, qd, data, counters, scratch):
    """Arguments of :func:`run_1a` for a booted machine ``b``."""
    return (op, off, length, qd, b.file.pte, b.file.ext_fpage, b.file.ext_pfn, b.pmem, b.pmem_base_pfn, b.device,
            b.memmap, b.vmemmap_populated, b.memmap_base_pfn, data, counters, *scratch)


KERNEL = run_1a
