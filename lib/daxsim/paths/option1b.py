"""Option 1b: struct pages only while a page is under I/O.

A pool of transient struct pages (in DRAM) with a fixed capacity, and a hash table from
pfn to the transient page. Submission looks each pfn up: a page another in-flight I/O
already holds is shared (its refcount raised); otherwise a pool slot is allocated,
initialised (flags, pfn, refcount) and inserted. Completion DMAs, drops the references
and frees the pages whose count falls to zero. When the pool cannot hold an I/O's new
pages, the I/O waits until earlier I/Os complete (a stall). A truncate waits while a
page of its range has a transient struct page, as ``dax_layout_busy_page()`` would.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault, fs_lookup
from daxsim.emu.memory import PG_RESERVED, ZONE_DEVICE, ZONE_SHIFT
from daxsim.model.counters import (
    C_ALLOCATIONS,
    C_DESC_ENTRIES,
    C_DMA_FROM_PMEM,
    C_DMA_TO_PMEM,
    C_FAULTS,
    C_FREES,
    C_GUP_PAGES,
    C_LOOKUPS,
    C_PAGES_DIRTIED,
    C_PAGES_SPANNED,
    C_POOL_PEAK,
    C_PUT_PAGES,
    C_REFCOUNT_OPS,
    C_SP_INIT_IO,
    C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, STRUCT_PAGE_SIZE
from daxsim.emu.workload import OP_READ
from daxsim.emu.memory import STRUCT_PAGE
from daxsim.paths.common import PGMAP_COOKIE, page_segment, post_dma, set_entry
from daxsim.paths.state import M_HT_MASK, M_POOL_CAP, M_POOL_USED, M_UNIT_BYTES, PoolState, new_misc
from daxsim.paths.common import warm_pte as warm  # noqa: F401 (the queue's batch hint)

STRUCT_PAGES = False
ENTRY_BYTES = 16  #: struct bio_vec (of the transient page)
HT_ENTRY_BYTES = 16  #: one hash-table slot: key and value
NO_ROOM = -1
BATCH = False  #: a submission may wait for completions (a full pool)
PINS = True  #: truncate must wait for its transient pages (dax_layout_busy_page, as the era does it)


def table_slots(pool_pages: int) -> int:
    """Hash-table size for a pool: a power of two, at least twice the pool (load <= 1/2)."""
    return 1 << max(4, (2 * pool_pages - 1).bit_length())


def reserved_dram(params: dict) -> dict:
    """DRAM set aside at setup: the pool's struct pages and the hash table (held whole)."""
    table = table_slots(params["pool_pages"]) * HT_ENTRY_BYTES
    return {"pool_table_bytes": table, "pool_reserved_bytes": params["pool_pages"] * STRUCT_PAGE_SIZE + table}


def make_state(b, params: dict) -> PoolState:
    """An empty pool of ``params["pool_pages"]`` transient struct pages and its hash table.

    The emulator's arrays hold at most ``params["window_pages"]`` slots (the most pages
    the run ever has in flight): a larger pool never fills, so its other slots would never
    be used; the counters are the same, and host memory follows the I/O, not the pool.
    The DRAM accounting (:func:`reserved_dram`) is the whole pool's."""
    pool_pages = min(params["pool_pages"], max(int(params.get("window_pages", params["pool_pages"])), 1))
    slots = table_slots(pool_pages)
    misc = new_misc(b, params)
    misc[M_POOL_CAP], misc[M_HT_MASK] = pool_pages, slots - 1
    misc[M_UNIT_BYTES] = STRUCT_PAGE_SIZE  # each pool slot in use is a transient struct page
    return PoolState(
        misc,
        np.zeros(pool_pages, STRUCT_PAGE),
        np.arange(pool_pages, dtype=np.int64),
        np.zeros(slots, np.int64),
        np.zeros(slots, np.int64),
    )


@njit(cache=True, inline="always")
def _hash(pfn, mask):
    return ((np.uint64(pfn) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)) & np.uint64(mask)


@njit(cache=True, inline="always")
def lookup(key, val, mask, pfn):
    """The pool slot of ``pfn``'s transient page, or -1 (linear probing)."""
    i = _hash(pfn, mask)
    while key[i] != 0:
        if key[i] == pfn + 1:
            return val[i]
        i = (i + np.uint64(1)) & np.uint64(mask)
    return -1


@njit(cache=True, inline="always")
def _insert(key, val, mask, pfn, slot):
    i = _hash(pfn, mask)
    while key[i] != 0:
        i = (i + np.uint64(1)) & np.uint64(mask)
    key[i] = pfn + 1
    val[i] = slot


@njit(cache=True, inline="always")
def _delete(key, val, mask, pfn):
    """Remove ``pfn`` and shift later entries back (no tombstones)."""
    m = np.uint64(mask)
    i = _hash(pfn, mask)
    while key[i] != pfn + 1:
        i = (i + np.uint64(1)) & m
    j = i
    while True:
        j = (j + np.uint64(1)) & m
        if key[j] == 0:
            break
        h = _hash(key[j] - 1, mask)
        if (j > i and (h <= i or h > j)) or (j < i and h <= i and h > j):
            key[i] = key[j]
            val[i] = val[j]
            i = j
    key[i] = 0


@njit(cache=True)
def submit(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st):
    """Look up or create a transient struct page per buffer page; NO_ROOM if the pool is short."""
    misc, pool, free, key, val = st.misc, st.pool, st.free, st.ht_key, st.ht_val
    mask = misc[M_HT_MASK]
    first = off[e] >> PAGE_SHIFT
    last = (off[e] + length[e] - 1) >> PAGE_SHIFT
    need = 0
    for fp in range(first, last + 1):  # first pass: pages that need a new transient page
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        if lookup(key, val, mask, v - 1) < 0:
            need += 1
    counters[C_LOOKUPS] += last - first + 1
    if need > len(free) - misc[M_POOL_USED]:
        return NO_ROOM
    pos = off[e]
    end = pos + length[e]
    n = 0
    while pos < end:
        in_page, seg = page_segment(pos, end)
        pfn = pte[pos >> PAGE_SHIFT] - 1  # faulted in by the first pass
        slot = lookup(key, val, mask, pfn)
        if slot >= 0:
            pool[slot].refcount += 1  # shared with another in-flight I/O
        else:
            slot = free[misc[M_POOL_USED]]
            misc[M_POOL_USED] += 1
            pool[slot].flags = PG_RESERVED | np.uint64(ZONE_DEVICE << ZONE_SHIFT)
            pool[slot].lru_next = PGMAP_COOKIE
            pool[slot].lru_prev = 0
            pool[slot].mapping = 0
            pool[slot].index = 0
            pool[slot].private = pfn  # page_to_pfn() of a transient page
            pool[slot].mapcount = -1
            pool[slot].refcount = 1
            pool[slot].memcg_data = 0
            _insert(key, val, mask, pfn, slot)
            counters[C_SP_INIT_IO] += 1
            counters[C_ALLOCATIONS] += 1
        set_entry(b0, b1, b2, b3, base + n, slot, in_page, seg, pos)  # transient pages: never contiguous
        n += 1
        pos += seg
    counters[C_POOL_PEAK] = max(counters[C_POOL_PEAK], misc[M_POOL_USED])
    if op[e] == OP_READ:  # a read dirties each (transient) page: lock, PG_dirty, unlock
        counters[C_PAGES_DIRTIED] += n
    counters[C_GUP_PAGES] += n
    counters[C_PAGES_SPANNED] += n
    counters[C_REFCOUNT_OPS] += n
    counters[C_DESC_ENTRIES] += n
    return n


@njit(cache=True)
def complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, st, dq):
    """DMA by the transient pages' pfns; put each; free those that fall idle."""
    misc, pool, free, key, val = st.misc, st.pool, st.free, st.ht_key, st.ht_val
    bv_slot, bv_off, bv_len, bv_dev = b0, b1, b2, b3
    moved = 0
    for k in range(base, base + n):
        slot = bv_slot[k]
        pa = (np.int64(pool[slot].private) - pmem_base_pfn) * PAGE_SIZE + bv_off[k]
        if data:
            post_dma(dq, op[e] == 1, device, bv_dev[k], pmem, pa, bv_len[k])
        moved += bv_len[k]
        pool[slot].refcount -= 1
        if pool[slot].refcount == 0:
            _delete(key, val, misc[M_HT_MASK], np.int64(pool[slot].private))
            misc[M_POOL_USED] -= 1
            free[misc[M_POOL_USED]] = slot
            counters[C_FREES] += 1
    counters[C_DMA_FROM_PMEM if op[e] == 1 else C_DMA_TO_PMEM] += moved
    counters[C_PUT_PAGES] += n
    counters[C_REFCOUNT_OPS] += n


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """dax_layout_busy_page(): does any page of the range have a transient struct page?"""
    misc, key, val = st.misc, st.ht_key, st.ht_val
    mask = misc[M_HT_MASK]
    for fp in range(t_off >> PAGE_SHIFT, (t_off + t_len) >> PAGE_SHIFT):
        pfn = fs_lookup(fs, fp)
        if pfn >= 0 and lookup(key, val, mask, pfn) >= 0:
            return True
    return False


@njit(cache=True, inline="always")
def dma_start(k, b0, b1, pmem_base_pfn, st):
    """pmem byte offset of bio_vec ``k``: the transient page's pfn + offset."""
    return (np.int64(st.pool[b0[k]].private) - pmem_base_pfn) * PAGE_SIZE + b1[k]
