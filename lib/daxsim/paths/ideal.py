"""The ideal bound: option 2's path (no struct pages, no copies), costed with no metadata,
and a truncate that comes only after every earlier I/O. The verification twin of every
run is this path.
"""

from __future__ import annotations

from numba import njit

from daxsim.paths.option2 import BATCH, ENTRY_BYTES, PINS, STRUCT_PAGES, complete, dma_start, make_state, submit, warm

__all__ = [
    "BATCH",
    "ENTRY_BYTES",
    "PINS",
    "STRUCT_PAGES",
    "busy",
    "complete",
    "dma_start",
    "make_state",
    "submit",
    "warm",
]


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """The ideal order: a truncate comes after every earlier I/O."""
    return True
