"""The buddy allocator for DRAM page frames (mm/page_alloc.c, much simplified).

Free blocks of 2**order pages sit on per-order free lists threaded through
``page->lru`` of their first struct page, with ``PageBuddy`` set and the order in
``page->private``; freeing a block merges it with its buddy (pfn ^ (1 << order)) while
the buddy is free and of the same order. One zone, one migrate type, no per-CPU lists.

To stay cheap on a 1 TiB DRAM machine, max-order blocks that have never been allocated
are not threaded onto the list at boot: they sit above ``frontier`` and are taken from
there when the lists run dry (the free pages are counted all the same).

State is a small int64 array (see the ``B_*`` indices) so that numba kernels can carry it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.memory import PG_BUDDY, STRUCT_PAGE

MAX_ORDER = 10  #: MAX_PAGE_ORDER: the largest block is 2**10 pages (4 MiB)
NIL = -1

B_HEAD = 0  # free_area[order].free_list head, orders 0..MAX_ORDER
B_NR_FREE = B_HEAD + MAX_ORDER + 1  # free_area[order].nr_free
B_FRONTIER = B_NR_FREE + MAX_ORDER + 1  # first never-used max-order block
B_LIMIT = B_FRONTIER + 1  # end of the managed pfns
B_START = B_LIMIT + 1  # first managed pfn
B_ALLOCATED = B_START + 1  # pages handed out and not yet freed
B_ALLOC_FAILS = B_ALLOCATED + 1
B_LEN = B_ALLOC_FAILS + 1


def buddy_init(start_pfn: int, end_pfn: int) -> np.ndarray:
    """State of an allocator managing pfns [start_pfn, end_pfn), all free.

    ``start_pfn`` is rounded up and ``end_pfn`` down to a max-order block.
    """
    block = 1 << MAX_ORDER
    start = -(-start_pfn // block) * block
    end = max(start, end_pfn // block * block)
    st = np.zeros(B_LEN, np.int64)
    st[B_HEAD : B_HEAD + MAX_ORDER + 1] = NIL
    st[B_FRONTIER] = start
    st[B_LIMIT] = end
    st[B_START] = start
    return st


def buddy_free_pages(st: np.ndarray) -> int:
    """Free pages, counting the untouched blocks above the frontier."""
    listed = sum(int(st[B_NR_FREE + o]) << o for o in range(MAX_ORDER + 1))
    return listed + int(st[B_LIMIT] - st[B_FRONTIER])


@njit(cache=True)
def _list_add(pages, st, pfn, order):
    head = st[B_HEAD + order]
    pages[pfn].lru_next = head
    pages[pfn].lru_prev = NIL
    if head != NIL:
        pages[head].lru_prev = pfn
    st[B_HEAD + order] = pfn
    pages[pfn].flags |= PG_BUDDY
    pages[pfn].private = order
    st[B_NR_FREE + order] += 1


@njit(cache=True)
def _list_del(pages, st, pfn, order):
    nxt = pages[pfn].lru_next
    prv = pages[pfn].lru_prev
    if prv != NIL:
        pages[prv].lru_next = nxt
    else:
        st[B_HEAD + order] = nxt
    if nxt != NIL:
        pages[nxt].lru_prev = prv
    pages[pfn].flags &= ~PG_BUDDY
    pages[pfn].private = 0
    st[B_NR_FREE + order] -= 1


@njit(cache=True)
def alloc_pages(pages, st, order):
    """__alloc_pages(): a free block of 2**order pages (its first pfn), or -1 if none.

    The block's head page gets refcount 1.
    """
    o = order
    while o <= MAX_ORDER and st[B_HEAD + o] == NIL:
        o += 1
    if o > MAX_ORDER:
        if st[B_FRONTIER] + (1 << MAX_ORDER) > st[B_LIMIT]:
            st[B_ALLOC_FAILS] += 1
            return NIL
        pfn = st[B_FRONTIER]
        st[B_FRONTIER] += 1 << MAX_ORDER
        o = MAX_ORDER
    else:
        pfn = st[B_HEAD + o]
        _list_del(pages, st, pfn, o)
    while o > order:  # expand(): hand the upper halves back
        o -= 1
        _list_add(pages, st, pfn + (1 << o), o)
    pages[pfn].refcount = 1
    st[B_ALLOCATED] += 1 << order
    return pfn


@njit(cache=True)
def free_pages(pages, st, pfn, order):
    """__free_pages(): drop the last reference and merge the block with its buddies."""
    pages[pfn].refcount = 0
    st[B_ALLOCATED] -= 1 << order
    base = st[B_START]
    while order < MAX_ORDER:
        buddy = base + ((pfn - base) ^ (1 << order))
        if buddy >= st[B_FRONTIER] or buddy + (1 << order) > st[B_LIMIT]:
            break
        if not (pages[buddy].flags & PG_BUDDY) or pages[buddy].private != order:
            break
        _list_del(pages, st, buddy, order)
        pfn = min(pfn, buddy)
        order += 1
    _list_add(pages, st, pfn, order)


__all__ = ["MAX_ORDER", "STRUCT_PAGE", "alloc_pages", "buddy_free_pages", "buddy_init", "free_pages"]
