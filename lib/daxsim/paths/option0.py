"""Option 0: pmem has no struct pages, so every O_DIRECT I/O bounces through DRAM.

get_user_pages() cannot hand out pages for a page-less DAX mapping, so the kernel copies
through DRAM page-cache pages instead. Submission: for each 4 KiB of the buffer a page
from the buddy allocator; a write first copies the buffer into it (copy_from_user).
The buffer is faulted in at submission (fault_in_iov_iter_*), reads included.
Completion: the device DMAs from or into the bounce page; a read then copies it into the
buffer (copy_to_user: stores to pmem that must be flushed to be durable); the pages are
freed. No memmap for pmem at all.

Simpler than the kernel: a truncate waits for in-flight I/Os on its range (the bounce
copies go through the mapping, which the kernel serialises with truncate).
"""

from __future__ import annotations

from numba import njit

from daxsim.emu.buddy import alloc_pages, free_pages
from daxsim.emu.daxfs import dax_fault
from daxsim.model.counters import (
    C_ALLOC_FAIL,
    C_ALLOCATIONS,
    C_BYTES_FLUSHED,
    C_COPY_DRAM_TO_PMEM,
    C_COPY_PMEM_TO_DRAM,
    C_DESC_ENTRIES,
    C_DMA_FROM_DRAM,
    C_DMA_TO_DRAM,
    C_FAULTS,
    C_FREES,
    C_PAGES_SPANNED,
    C_REFCOUNT_OPS,
    C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, format_size
from daxsim.paths.common import inflight_overlaps, memcpy, page_segment, set_entry
from daxsim.paths.state import BounceState, new_misc
from daxsim.paths.common import warm_pte as warm  # noqa: F401 (the queue's batch hint)

STRUCT_PAGES = False
ENTRY_BYTES = 16  #: struct bio_vec (of the bounce page)
ENTRY_TRANSIENT = PAGE_SIZE  #: each entry also holds a DRAM bounce page
BATCH = False  #: a submission may wait for completions (the page allocator)
QUEUE_DMA = False  #: its transfers are CPU copies through the bounce pages, never left in the device's queue
PINS = False  #: truncate waits by this option's own rule (busy below), not the era's page scan


def infeasible(machine, accounting: dict, workload, pages_in_flight: int, params: dict) -> str:
    """Why the machine cannot run the workload (bounce pages for the most pages ever in
    flight at once must come from managed memory), or "" if it can."""
    managed = (
        accounting["dram_managed_bytes"] if params["bounce_node"] == "dram" else machine.pmem - workload.file_size
    ) // PAGE_SIZE
    if pages_in_flight <= managed:
        return ""
    return (
        f"{workload.queue_depth} I/Os in flight need {format_size(pages_in_flight * PAGE_SIZE)} "
        f"of bounce pages, but only {format_size(managed * PAGE_SIZE)} of DRAM is managed"
    )


def make_state(b, params: dict) -> BounceState:
    """DRAM, its memmap and its page allocator: where the bounce pages come from."""
    return BounceState(new_misc(b, params), b.dram, b.dram_pages, b.buddy)


@njit(cache=True, inline="always")
def _pfn(fs, fp, pmem, pmem_base_pfn, data, counters):
    """The pfn mapped at file page ``fp``, faulting it in first if its PTE is empty (inlined:
    the other options spell the same lookup out in their submissions)."""
    v = fs.pte[fp]
    if v == 0:
        v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
    return v - 1


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """A bounce page per buffer page; writes copy the buffer in. Returns the bio_vecs built."""
    dram, dram_pages, buddy = st.dram, st.dram_pages, st.buddy
    pos = off[e]
    end = pos + length[e]
    n = 0
    while pos < end:
        in_page, seg = page_segment(pos, end)
        bounce = alloc_pages(dram_pages, buddy, 0)
        if bounce < 0:
            counters[C_ALLOC_FAIL] += 1
            return n
        pfn = _pfn(fs, pos >> PAGE_SHIFT, pmem, pmem_base_pfn, data, counters)  # fault_in_iov_iter_*()
        if op[e] == 1:  # copy_from_user(): DAX buffer -> bounce page
            if data:
                memcpy(dram, bounce * PAGE_SIZE + in_page, pmem, (pfn - pmem_base_pfn) * PAGE_SIZE + in_page, seg)
            counters[C_COPY_PMEM_TO_DRAM] += seg
        set_entry(b0, b1, b2, b3, base + n, bounce, in_page, seg, pos)
        n += 1
        pos += seg
    counters[C_ALLOCATIONS] += n
    counters[C_REFCOUNT_OPS] += n
    counters[C_PAGES_SPANNED] += n
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """DMA to or from the bounce pages; reads copy out to the buffer; free the pages.
    ``dq``, the device's DMA queue, is not used: these copies are done at once (QUEUE_DMA)."""
    dram, dram_pages, buddy = st.dram, st.dram_pages, st.buddy
    bv_page, bv_off, bv_len, bv_dev = b0, b1, b2, b3
    for k in range(base, base + n):
        d = bv_page[k] * PAGE_SIZE + bv_off[k]
        seg = bv_len[k]
        if op[e] == 1:  # the DMA goes through the host's caches (memcpy, not paths.common.dma):
            if data:  # the CPU copy next to it reads or wrote the bounce page, and on this host that is faster
                memcpy(device, bv_dev[k], dram, d, seg)
            counters[C_DMA_FROM_DRAM] += seg
        else:
            if data:
                memcpy(dram, d, device, bv_dev[k], seg)
            counters[C_DMA_TO_DRAM] += seg
            pfn = _pfn(fs, bv_dev[k] >> PAGE_SHIFT, pmem, pmem_base_pfn, data, counters)  # copy_to_user()
            if data:
                memcpy(pmem, (pfn - pmem_base_pfn) * PAGE_SIZE + bv_off[k], dram, d, seg)
            counters[C_COPY_DRAM_TO_PMEM] += seg
            counters[C_BYTES_FLUSHED] += seg
        free_pages(dram_pages, buddy, bv_page[k], 0)
    counters[C_FREES] += n
    counters[C_REFCOUNT_OPS] += n


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """A truncate waits for in-flight I/Os on its file range."""
    return inflight_overlaps(t_off, t_len, off, length, slot_io, head, count, ring)


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset entry ``k`` will DMA from or to: none, the DMA is to DRAM."""
    return -1
