"""Stores through the DAX mapping, dirty tracking and fsync (dax_writeback_mapping_range).

The kernel tracks a DAX mapping's dirty state per mapping entry: per 4 KiB PTE, or per
2 MiB PMD / 1 GiB PUD when the file is mapped huge. The first store to a clean entry
faults (the entry is write-protected after each writeback) and marks it dirty; fsync
flushes every dirty entry whole, with clwb over all of its cache lines. What reaches the
media is the lines that really changed, in the medium's units (256 bytes on Optane).

``dirty`` is a tuple of arrays: the dirty map per unit, per 64-byte line and per
256-byte line (sparse, one byte each), the lists of what is dirty, and a state array.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from daxsim.emu.daxfs import dax_fault
from daxsim.emu.memory import sparse_array
from daxsim.model.counters import (
    C_BYTES_FLUSHED,
    C_DIRTY_FAULTS,
    C_DIRTY_UNITS,
    C_FAULTS,
    C_FSYNCS,
    C_LINES64,
    C_LINES256,
    C_STORE_BYTES,
    C_STORES,
    C_ZEROED,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE

D_UNITS, D_LINES, D_XPLINES, D_SHIFT = 0, 1, 2, 3


def dirty_state(file_size: int, unit_shift: int, max_units: int, max_lines: int) -> tuple:
    """Dirty tracking for a file mapped in units of ``1 << unit_shift`` bytes."""
    st = np.zeros(4, np.int64)
    st[D_SHIFT] = unit_shift
    return (
        sparse_array(max(file_size >> unit_shift, 1)),
        sparse_array(max(file_size >> 6, 1)),
        sparse_array(max(file_size >> 8, 1)),
        np.zeros(max(max_units, 1), np.int64),
        np.zeros(max(max_lines, 1), np.int64),
        np.zeros(max(max_lines, 1), np.int64),
        st,
    )


@njit(cache=True, inline="always")
def store_byte(e, i):
    """The byte event ``e`` stores at position ``i`` of its range (any fixed function will do)."""
    return np.uint8((e * 131 + i * 7 + 1) & 0xFF)


@njit(cache=True)
def store(e, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, dirty):
    """The application stores ``length`` bytes at file offset ``off`` through its mapping."""
    unit_map, line_map, xp_map, units, lines, xplines, st = dirty
    shift = st[D_SHIFT]
    for i in range(length):
        pos = off + i
        fp = pos >> PAGE_SHIFT
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, data, counters, C_FAULTS, C_ZEROED)
        if data:
            pmem[(v - 1 - pmem_base_pfn) * PAGE_SIZE + (pos & (PAGE_SIZE - 1))] = store_byte(e, i)
        u = pos >> shift
        if unit_map[u] == 0:  # a write fault marks the entry dirty
            unit_map[u] = 1
            units[st[D_UNITS]] = u
            st[D_UNITS] += 1
            counters[C_DIRTY_FAULTS] += 1
        if line_map[pos >> 6] == 0:
            line_map[pos >> 6] = 1
            lines[st[D_LINES]] = pos >> 6
            st[D_LINES] += 1
        if xp_map[pos >> 8] == 0:
            xp_map[pos >> 8] = 1
            xplines[st[D_XPLINES]] = pos >> 8
            st[D_XPLINES] += 1
    counters[C_STORES] += 1
    counters[C_STORE_BYTES] += length


@njit(cache=True)
def fsync(counters, dirty):
    """Write back every dirty unit whole; count the lines that changed; clean everything."""
    unit_map, line_map, xp_map, units, lines, xplines, st = dirty
    for k in range(st[D_UNITS]):
        unit_map[units[k]] = 0
    for k in range(st[D_LINES]):
        line_map[lines[k]] = 0
    for k in range(st[D_XPLINES]):
        xp_map[xplines[k]] = 0
    counters[C_DIRTY_UNITS] += st[D_UNITS]
    counters[C_BYTES_FLUSHED] += st[D_UNITS] << st[D_SHIFT]
    counters[C_LINES64] += st[D_LINES]
    counters[C_LINES256] += st[D_XPLINES]
    counters[C_FSYNCS] += 1
    st[D_UNITS] = 0
    st[D_LINES] = 0
    st[D_XPLINES] = 0
