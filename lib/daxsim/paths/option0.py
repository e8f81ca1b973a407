"""Option 0: pmem has no struct pages, so every O_DIRECT I/O bounces through DRAM.

get_user_pages() cannot hand out pages for a page-less DAX mapping, so the kernel copies
through DRAM page-cache pages instead: for each 4 KiB of the buffer it allocates a page
from the buddy allocator; a write first copies the buffer into it (copy_from_user) and
the device DMAs from it; a read DMAs into it and then copies it into the buffer
(copy_to_user, stores to pmem that must be flushed to be durable). Completion frees the
pages. No memmap for pmem at all.
"""

from __future__ import annotations

from numba import njit

from ..buddy import alloc_pages, free_pages
from ..daxfs import dax_fault
from ..metrics import (
    BIO_VEC_SIZE, C_ALLOC_FAIL, C_ALLOCATIONS, C_BYTES_FLUSHED, C_BYTES_REQUESTED, C_COPY_DRAM_TO_PMEM,
    C_COPY_PMEM_TO_DRAM, C_DESC_ENTRIES, C_DESC_PEAK, C_DMA_FROM_DRAM, C_DMA_TO_DRAM, C_FAULTS, C_FREES, C_IOS,
    C_PAGES_SPANNED, C_REFCOUNT_OPS, C_TRANSIENT_PEAK,
)
from ..units import PAGE_SHIFT, PAGE_SIZE
from .common import memcpy

STRUCT_PAGES = False


@njit(cache=True)
def run_0(op, off, length, qd, pte, ext_fpage, ext_pfn, pmem, pmem_base_pfn, device,
          dram, dram_pages, buddy, data, counters, bv_page, bv_off, bv_len, bv_dev):
    """Run the workload through option 0's bounce path, counting into ``counters``.

    Stops early (counting an allocation failure) if DRAM runs out of bounce pages.
    """
    n = len(op)
    for batch in range(0, n, qd):
        last = min(batch + qd, n)
        nvec = 0
        # submission: allocate a bounce page per buffer page; writes copy the data in
        for i in range(batch, last):
            pos = off[i]
            end = off[i] + length[i]
            counters[C_BYTES_REQUESTED] += length[i]
            while pos < end:
                fp = pos >> PAGE_SHIFT
                in_page = pos & (PAGE_SIZE - 1)
                seg = min(PAGE_SIZE - in_page, end - pos)
                v = pte[fp]
                if v == 0:
                    v = dax_fault(pte, ext_fpage, ext_pfn, fp, counters, C_FAULTS)
                pfn = v - 1
                bounce = alloc_pages(dram_pages, buddy, 0)
                if bounce < 0:
                    counters[C_ALLOC_FAIL] += 1
                    return
                counters[C_ALLOCATIONS] += 1
                counters[C_REFCOUNT_OPS] += 1
                if op[i] == 1:  # copy_from_user(): DAX buffer -> bounce page
                    if data:
                        memcpy(dram, bounce * PAGE_SIZE + in_page, pmem, (pfn - pmem_base_pfn) * PAGE_SIZE + in_page, seg)
                    counters[C_COPY_PMEM_TO_DRAM] += seg
                bv_page[nvec] = bounce
                bv_off[nvec] = in_page
                bv_len[nvec] = seg
                bv_dev[nvec] = pos
                nvec += 1
                counters[C_PAGES_SPANNED] += 1
                pos += seg
        counters[C_DESC_ENTRIES] += nvec
        desc = nvec * BIO_VEC_SIZE
        if desc > counters[C_DESC_PEAK]:
            counters[C_DESC_PEAK] = desc
        held = desc + nvec * PAGE_SIZE
        if held > counters[C_TRANSIENT_PEAK]:
            counters[C_TRANSIENT_PEAK] = held
        # the device DMAs to or from the bounce pages; completion copies reads out and frees
        v = 0
        for i in range(batch, last):
            remaining = length[i]
            while remaining > 0:
                k = v
                d = bv_page[k] * PAGE_SIZE + bv_off[k]
                if op[i] == 1:
                    if data:
                        memcpy(device, bv_dev[k], dram, d, bv_len[k])
                    counters[C_DMA_FROM_DRAM] += bv_len[k]
                else:
                    if data:
                        memcpy(dram, d, device, bv_dev[k], bv_len[k])
                    counters[C_DMA_TO_DRAM] += bv_len[k]
                remaining -= bv_len[k]
                v += 1
        v = 0
        for i in range(batch, last):
            remaining = length[i]
            while remaining > 0:
                k = v
                if op[i] == 0:  # copy_to_user(): bounce page -> DAX buffer, then flush
                    fp = bv_dev[k] >> PAGE_SHIFT
                    pfn = pte[fp] - 1
                    if data:
                        memcpy(pmem, (pfn - pmem_base_pfn) * PAGE_SIZE + bv_off[k], dram,
                               bv_page[k] * PAGE_SIZE + bv_off[k], bv_len[k])
                    counters[C_COPY_DRAM_TO_PMEM] += bv_len[k]
                    counters[C_BYTES_FLUSHED] += bv_len[k]
                free_pages(dram_pages, buddy, bv_page[k], 0)
                counters[C_FREES] += 1
                counters[C_REFCOUNT_OPS] += 1
                remaining -= bv_len[k]
                v += 1
        counters[C_IOS] += last - batch


def kernel_args(b, op, off, length, qd, data, counters, scratch):
    """Arguments of :func:`run_0` for a booted machine ``b``."""
    return (op, off, length, qd, b.file.pte, b.file.ext_fpage, b.file.ext_pfn, b.pmem, b.pmem_base_pfn, b.device,
            b.dram, b.dram_pages, b.buddy, data, counters, *scratch)


KERNEL = run_0
