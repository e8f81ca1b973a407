"""Option 3: a new descriptor for DRAM and PMEM, extent based (phyr / phys_vec).

Submission walks the mapping to pfns and merges physically contiguous pages into one
(physical address, length) extent: the descriptor follows the file's fragmentation, not
the number of bytes. Lifetime is held per extent, by a reference the filesystem keeps
on the extent; a truncate waits while an in-flight extent covers one of its blocks.
Completion DMAs each extent in one burst and drops the references.
"""

from __future__ import annotations

from numba import njit

from daxsim.emu.daxfs import dax_fault, fs_lookup
from daxsim.model.counters import (
    C_DESC_ENTRIES,
    C_DMA_FROM_PMEM,
    C_DMA_TO_PMEM,
    C_FAULTS,
    C_PAGES_SPANNED,
    C_PFN_WALKS,
    C_REFCOUNT_OPS,
    C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.paths.common import page_segment, post_dma, prefetch_dma
from daxsim.paths.state import PfnState, new_misc
from daxsim.paths.common import warm_pte as warm  # noqa: F401 (the queue's batch hint)

STRUCT_PAGES = False
ENTRY_BYTES = 16  #: struct phys_vec: physical address, length
PINS = False  #: truncate waits by this option's own rule (busy below), not the era's page scan
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch


def make_state(b, params: dict) -> PfnState:
    """No state beyond the scalars: the extents' references are the filesystem's."""
    return PfnState(new_misc(b, params))


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """Build the extent list (one entry per physically contiguous run); returns its length."""
    ex_addr, ex_len, ex_dev = b0, b2, b3  # b1 unused: an extent needs no page count
    # entries: pmem byte address, bytes, device offset
    pos = off[e]
    end = pos + length[e]
    n = 0
    pages = 0
    last_end = -1
    while pos < end:
        in_page, seg = page_segment(pos, end)
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        addr = (v - 1 - pmem_base_pfn) * PAGE_SIZE + in_page
        if addr == last_end:
            ex_len[base + n - 1] += seg
        else:
            ex_addr[base + n] = addr
            ex_len[base + n] = seg
            ex_dev[base + n] = pos
            n += 1
        last_end = addr + seg
        pages += 1
        pos += seg
    counters[C_PFN_WALKS] += pages
    counters[C_PAGES_SPANNED] += pages
    counters[C_DESC_ENTRIES] += n
    counters[C_REFCOUNT_OPS] += n  # a reference on each extent
    return n


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """DMA each extent in one burst; drop the extent references."""
    ex_addr, ex_len, ex_dev = b0, b2, b3  # b1 unused: an extent needs no page count
    moved = 0
    for k in range(base, base + n):
        if data:
            if k + 1 < base + n:
                prefetch_dma(op[e] == 1, device, ex_dev[k + 1], pmem, ex_addr[k + 1])
            post_dma(dq, op[e] == 1, device, ex_dev[k], pmem, ex_addr[k], ex_len[k])
        moved += ex_len[k]
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved
    counters[C_REFCOUNT_OPS] += n


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """Does an in-flight extent cover a block of the range? (the extent references)"""
    ex_addr, ex_len = b0, b2
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn < 0:
            continue
        a = (pfn - pmem_base_pfn) * PAGE_SIZE
        for q in range(count):
            s = (head + q) % ring
            for k in range(s * maxp, s * maxp + slot_n[s]):
                if ex_addr[k] < a + PAGE_SIZE and a < ex_addr[k] + ex_len[k]:
                    return True
    return False


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of extent ``k``."""
    return b0[k]
