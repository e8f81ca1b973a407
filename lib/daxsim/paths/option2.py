"""Option 2: the I/O layers deal in PFNs; no struct page, no reference.

Submission walks the DAX mapping to pfns and builds a pfn vector (a bio_vec whose page
pointer is a pfn, as in the 2015 ``__pfn_t`` series); completion DMAs by pfn. Cheapest
per I/O, and nothing pins the blocks: a truncate proceeds at once, the filesystem gives
the freed blocks to another file, and a DMA still in flight lands in that file's data.

With ``guard`` on, each I/O holds a filesystem range lock (a layout lease) on its file
range from submission to completion, and a truncate waits for it: safe, at a cost.

The same path, costed with no metadata, is the **ideal** bound (:mod:`daxsim.paths.ideal`).
"""

from __future__ import annotations

from numba import njit

from daxsim.emu.daxfs import dax_fault
from daxsim.model.counters import (
    C_DESC_ENTRIES,
    C_DMA_FROM_PMEM,
    C_DMA_TO_PMEM,
    C_FAULTS,
    C_PAGES_SPANNED,
    C_PFN_WALKS,
    C_RANGE_LOCKS,
    C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.paths.common import add_segment, inflight_overlaps, page_segment, post_dma
from daxsim.paths.state import M_BVEC_MERGE, M_GUARD, PfnState, new_misc
from daxsim.paths.common import warm_pte as warm  # noqa: F401 (the queue's batch hint)

STRUCT_PAGES = False
ENTRY_BYTES = 16  #: a pfn-based bio_vec: pfn, length, offset
BATCH = True  #: a submission never waits for a completion: the loop may run a full queue as one batch
PINS = False  #: nothing for truncate to wait for but the guard (busy below)


def make_state(b, params: dict) -> PfnState:
    """No state beyond the scalars; ``params["guard"]`` turns the filesystem range lock on."""
    return PfnState(new_misc(b, params, guard=bool(params.get("guard"))))


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """Walk the mapping to pfns and build the pfn vector (physically contiguous pfns share an
    entry where the era's bio_vecs merge); returns its length."""
    guard, merge = st.misc[M_GUARD], st.misc[M_BVEC_MERGE]
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
        n = add_segment(b0, b1, b2, b3, base, n, v - 1, in_page, seg, pos, merge)
        pages += 1
        pos += seg
    counters[C_PFN_WALKS] += pages
    counters[C_PAGES_SPANNED] += pages
    counters[C_DESC_ENTRIES] += n
    if guard:
        counters[C_RANGE_LOCKS] += 1
    return n


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """DMA by pfn, wherever those pfns now belong."""
    bv_pfn, bv_off, bv_len, bv_dev = b0, b1, b2, b3
    moved = 0
    for k in range(base, base + n):
        pa = (bv_pfn[k] - pmem_base_pfn) * PAGE_SIZE + bv_off[k]
        if data:
            post_dma(dq, op[e] == 1, device, bv_dev[k], pmem, pa, bv_len[k])
        moved += bv_len[k]
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """Plain option 2 never waits: nothing pins the blocks. With the guard, the range lock
    of any in-flight I/O on the file range makes the truncate wait."""
    if not st.misc[M_GUARD]:
        return False
    return inflight_overlaps(t_off, t_len, off, length, slot_io, head, count, ring)


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of pfn-vector entry ``k``."""
    return (b0[k] - pmem_base_pfn) * PAGE_SIZE + b1[k]
