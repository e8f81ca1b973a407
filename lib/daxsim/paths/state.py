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
# the kernel era's mechanisms (daxsim.model.eras.Era.scalars)
M_BVEC_MERGE = 7  #: physically contiguous pages share one bio_vec (5.1+)
M_PIN_BIAS = 8  #: what a GUP reference adds to an order-0 page's refcount: 1 (FOLL_GET) or 1024 (FOLL_PIN)
M_FOLIO_GRAB = 9  #: GUP takes one reference per compound folio, not one per 4 KiB page (6.15+)
M_IDLE_REF = 10  #: refcount of an idle ZONE_DEVICE page: 1, or 0 from 6.15
M_BUSY_WAIT = 11  #: truncate waits for pages with references (dax_layout_busy_page, 4.18+)
M_BUSY_FILE = 12  #: truncate unmaps and scans the whole file, not the punched range
M_BUSY_NEEDS_MAP = 13  #: truncate skips the wait when nothing maps the file (4.18-6.14)
M_DIRTY_FOLIO = 14  #: a read's completion dirties per folio (6.15+), else per 4 KiB page
M_UNIT_BYTES = 15  #: DRAM bytes per unit in use (misc[M_POOL_USED]): 1b's transient page, memdesc's descriptor
M_LEN = 16

_ERA = {
    "bvec_merge": M_BVEC_MERGE,
    "pin_bias": M_PIN_BIAS,
    "folio_grab": M_FOLIO_GRAB,
    "idle_ref": M_IDLE_REF,
    "busy_wait": M_BUSY_WAIT,
    "busy_file": M_BUSY_FILE,
    "busy_needs_mapping": M_BUSY_NEEDS_MAP,
    "dirty_folio": M_DIRTY_FOLIO,
}


def new_misc(booted, params: dict, guard: bool = False) -> np.ndarray:
    """The scalars every state starts with: the memmap base, the guard, and the kernel era's
    mechanisms (``params["era"]``, a :class:`daxsim.model.eras.Era`)."""
    misc = np.zeros(M_LEN, np.int64)
    misc[M_MEMMAP_BASE] = booted.memmap_base_pfn
    misc[M_GUARD] = int(guard)
    for name, value in params["era"].scalars().items():
        if name in _ERA:
            misc[_ERA[name]] = value
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
