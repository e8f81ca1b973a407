"""The state an option's path keeps across I/Os, as named tuples of arrays.

Every state's first field is ``misc``, an int64 array of scalars indexed by the ``M_*``
constants below (an array, so a path can change them); the rest are the option's own
arrays. Each path module's ``make_state(booted, params)`` builds its state for a booted
machine (:class:`daxsim.emu.machine.Booted`) and the option's checked parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Scalars of an option's state (``st.misc``), by index.
M_MEMMAP_BASE = 0  #: pfn of memmap[0]
M_GUARD = 1  #: option 2: filesystem guard (range lock / layout lease) on
M_POOL_USED = 2  #: option 1b: pool slots in use
M_POOL_CAP = 3  #: option 1b: pool slots
M_HT_MASK = 4  #: option 1b: hash-table slots - 1
M_HUGE_SHIFT = 5  #: huge pages: log2 of the mapping size (12, 21, 30)
M_WEAR = 6  #: nvram: count writes to memmap lines
M_LEN = 7


def new_misc(booted, guard: bool = False) -> np.ndarray:
    """The scalars every state starts with."""
    misc = np.zeros(M_LEN, np.int64)
    misc[M_MEMMAP_BASE] = booted.memmap_base_pfn
    misc[M_GUARD] = int(guard)
    return misc


class PfnState(NamedTuple):
    """Options 2, 3 and the ideal bound: nothing beyond the scalars."""

    misc: np.ndarray


class PageState(NamedTuple):
    """Options 1a, nvram and huge: pmem's permanent memmap."""

    misc: np.ndarray
    memmap: np.ndarray  #: struct pages (:data:`daxsim.emu.memory.STRUCT_PAGE`), by ``pfn - misc[M_MEMMAP_BASE]``
    memmap_words: np.ndarray  #: the same struct pages as uint64, eight words each
    populated: np.ndarray  #: one byte per vmemmap page (64 struct pages): built yet?
    wear: np.ndarray  #: nvram: writes per struct page (its memmap line on pmem); empty otherwise


class BounceState(NamedTuple):
    """Option 0: DRAM and its page allocator, for the bounce pages."""

    misc: np.ndarray
    dram: np.ndarray  #: DRAM's bytes
    dram_pages: np.ndarray  #: DRAM's memmap (struct pages)
    buddy: np.ndarray  #: the buddy allocator's state (:mod:`daxsim.emu.buddy`)


class PoolState(NamedTuple):
    """Option 1b: the pool of transient struct pages and the pfn -> slot hash table."""

    misc: np.ndarray
    pool: np.ndarray  #: transient struct pages
    free: np.ndarray  #: free slots, a stack below ``misc[M_POOL_USED]``
    ht_key: np.ndarray  #: hash table keys: pfn + 1 (0 = empty)
    ht_val: np.ndarray  #: hash table values: pool slot
