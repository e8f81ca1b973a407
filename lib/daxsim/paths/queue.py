"""The event loop every option shares: a queue of in-flight I/Os, and truncate faults.

I/Os are submitted in order; at most ``qd`` are in flight, and they complete in order
(FIFO): when the queue is full, the oldest completes before the next is submitted. The
device's DMA happens at completion. A truncate fault happens between submissions; an
option that protects its pages makes it wait (completing the oldest I/Os) until no
in-flight I/O uses the range, as ``dax_layout_busy_page()`` does; option 2 does not wait.

Each option module supplies ``submit`` (translate the buffer and build the descriptor,
taking whatever references the option takes), ``complete`` (DMA, then drop them) and
``busy`` (does an in-flight I/O hold a block of this range?). ``run`` dispatches on the
option's code; the per-option state travels in one tuple.
"""

from __future__ import annotations

from numba import njit

from ..daxfs import punch_hole
from ..metrics import (
    C_BYTES_REQUESTED, C_DESC_PEAK, C_IOS, C_POOL_STALLS, C_STALL_BYTES, C_STALL_IOS, C_TRANSIENT_PEAK, C_TRUNC_WAITS,
    C_TRUNCATES, C_VICTIM_BYTES, C_WAIT_BYTES, C_WAIT_IOS,
)
from ..workload import OP_TRUNC
from . import option0, option1a, option1b, option2, option3
from .common import M_GUARD, M_POOL_USED, ST_MISC

OPT_0, OPT_1A, OPT_1B, OPT_2, OPT_3, OPT_IDEAL = 0, 1, 2, 3, 4, 5
NO_ROOM = -1  #: what a submit returns when the option has no room for the I/O yet (1b's pool)


@njit(cache=True)
def _submit(opt, e, base, op, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st):
    if opt == OPT_1A:
        return option1a.submit(e, base, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
    if opt == OPT_0:
        return option0.submit(e, base, op, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
    if opt == OPT_1B:
        return option1b.submit(e, base, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
    if opt == OPT_3:
        return option3.submit(e, base, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
    n = option2.submit(e, base, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
    return n


@njit(cache=True)
def _complete(opt, e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, bv, st):
    if opt == OPT_1A:
        option1a.complete(e, base, n, op, pmem, pmem_base_pfn, device, data, counters, bv, st)
    elif opt == OPT_0:
        option0.complete(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, bv, st)
    elif opt == OPT_1B:
        option1b.complete(e, base, n, op, pmem, pmem_base_pfn, device, data, counters, bv, st)
    elif opt == OPT_3:
        option3.complete(e, base, n, op, pmem, pmem_base_pfn, device, data, counters, bv, st)
    else:
        option2.complete(e, base, n, op, pmem, pmem_base_pfn, device, data, counters, bv, st)


@njit(cache=True)
def _busy(opt, t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, qd, maxp, bv, st):
    """Does an in-flight I/O hold a block of [t_off, t_off+t_len)? (what a truncate waits for)"""
    if opt == OPT_1A:
        return option1a.busy(t_off, t_len, fs, st)
    if opt == OPT_1B:
        return option1b.busy(t_off, t_len, fs, st)
    if opt == OPT_3:
        return option3.busy(t_off, t_len, fs, pmem_base_pfn, slot_n, head, count, qd, maxp, bv)
    if opt == OPT_IDEAL:
        return True  # the ideal order: a truncate comes after every earlier I/O
    if opt == OPT_2 and not st[ST_MISC][M_GUARD]:
        return False  # plain option 2: nothing pins the blocks
    # option 0, and option 2 with its filesystem guard: any in-flight I/O on the file range
    for k in range(count):
        e = slot_io[(head + k) % qd]
        if off[e] < t_off + t_len and t_off < off[e] + length[e]:
            return True
    return False


@njit(cache=True)
def run(opt, op, off, length, qd, fs, pmem, pmem_base_pfn, device, data, counters,
        slot_io, slot_n, maxp, bv, entry_bytes, entry_transient, st):
    """Run the events (I/Os and truncates) through option ``opt``; count into ``counters``."""
    head = 0
    count = 0
    inflight_entries = 0
    for e in range(len(op)):
        if op[e] == OP_TRUNC:
            waited = 0
            while count > 0 and _busy(opt, off[e], length[e], fs, pmem_base_pfn, off, length, slot_io, slot_n,
                                      head, count, qd, maxp, bv, st):
                s = head
                _complete(opt, slot_io[s], s * maxp, slot_n[s], op, fs, pmem, pmem_base_pfn, device, data,
                          counters, bv, st)
                inflight_entries -= slot_n[s]
                counters[C_WAIT_BYTES] += length[slot_io[s]]
                head = (head + 1) % qd
                count -= 1
                waited += 1
            if waited:
                counters[C_TRUNC_WAITS] += 1
                counters[C_WAIT_IOS] += waited
            counters[C_TRUNCATES] += 1
            punch_hole(fs, off[e], length[e], pmem, pmem_base_pfn, data, counters, C_VICTIM_BYTES)
            continue
        if count == qd:
            s = head
            _complete(opt, slot_io[s], s * maxp, slot_n[s], op, fs, pmem, pmem_base_pfn, device, data, counters, bv, st)
            inflight_entries -= slot_n[s]
            head = (head + 1) % qd
            count -= 1
        s = (head + count) % qd
        n = _submit(opt, e, s * maxp, op, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
        if n == NO_ROOM:  # 1b's pool is full: wait for the oldest I/Os to complete, then retry
            counters[C_POOL_STALLS] += 1
            while n == NO_ROOM:
                h = head
                _complete(opt, slot_io[h], h * maxp, slot_n[h], op, fs, pmem, pmem_base_pfn, device, data,
                          counters, bv, st)
                inflight_entries -= slot_n[h]
                counters[C_STALL_IOS] += 1
                counters[C_STALL_BYTES] += length[slot_io[h]]
                head = (head + 1) % qd
                count -= 1
                s = (head + count) % qd
                n = _submit(opt, e, s * maxp, op, off, length, fs, pmem, pmem_base_pfn, data, counters, bv, st)
        slot_io[s] = e
        slot_n[s] = n
        count += 1
        counters[C_IOS] += 1
        counters[C_BYTES_REQUESTED] += length[e]
        inflight_entries += n
        desc = inflight_entries * entry_bytes
        if desc > counters[C_DESC_PEAK]:
            counters[C_DESC_PEAK] = desc
        held = desc + inflight_entries * entry_transient + st[ST_MISC][M_POOL_USED] * 64
        if held > counters[C_TRANSIENT_PEAK]:
            counters[C_TRANSIENT_PEAK] = held
    while count > 0:
        s = head
        _complete(opt, slot_io[s], s * maxp, slot_n[s], op, fs, pmem, pmem_base_pfn, device, data, counters, bv, st)
        head = (head + 1) % qd
        count -= 1
