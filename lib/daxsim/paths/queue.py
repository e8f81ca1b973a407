"""The event loop every option shares: a queue of in-flight I/Os, and truncate faults.

I/Os are submitted in order; at most ``qd`` are in flight, and they complete in order
(FIFO): when the queue is full, the oldest completes before the next is submitted. The
device's DMA happens at completion. A truncate fault happens between submissions; an
option that protects its pages makes it wait (completing the oldest I/Os) until no
in-flight I/O uses the range, as ``dax_layout_busy_page()`` does; option 2 does not wait.

Each option module supplies ``submit`` (translate the buffer and build the descriptor,
taking whatever references the option takes), ``complete`` (DMA, then drop them) and
``busy`` (does an in-flight I/O hold a block of this range?), all with the same
arguments; ``ost`` is the option's own state tuple, whose first element is an int64
array of scalars (``M_*``). The option is chosen by the dtype of an empty ``token``
array (:data:`TOKENS`): numba compiles, and caches, one loop per option with that
option's functions inlined (passing the functions themselves would defeat numba's cache).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from daxsim.emu.daxfs import F_PTE, punch_hole
from daxsim.model.metrics import (
    C_BYTES_REQUESTED, C_DESC_PEAK, C_IOS, C_POOL_STALLS, C_STALL_BYTES, C_STALL_IOS, C_TRANSIENT_PEAK, C_TRUNC_WAITS,
    C_INFLIGHT_LOST, C_TRUNCATES, C_VICTIM_BYTES, C_WAIT_BYTES, C_WAIT_IOS,
)
from daxsim.emu.workload import OP_FSYNC, OP_READ, OP_STORE, OP_TRUNC, OP_WRITE
from daxsim.paths import option0, option1a, option1b, option2, option3, optionhuge
from daxsim.paths.common import M_POOL_USED, inflight_overlaps, prefetch_dma, store_fence
from daxsim.paths.writeback import fsync, store

#: option -> the dtype of the token that selects it
TOKENS = {"0": np.int8, "1a": np.int16, "1b": np.int32, "2": np.uint8, "3": np.uint16, "ideal": np.uint32,
          "huge": np.int64, "nvram": np.int16}
_FUNCS = {
    types.int8: (option0.submit, option0.complete, option0.busy, option0.dma_start, option0.warm),
    types.int16: (option1a.submit, option1a.complete, option1a.busy, option1a.dma_start, option1a.warm),
    types.int32: (option1b.submit, option1b.complete, option1b.busy, option1b.dma_start, option1b.warm),
    types.uint8: (option2.submit, option2.complete, option2.busy, option2.dma_start, option2.warm),
    types.uint16: (option3.submit, option3.complete, option3.busy, option3.dma_start, option3.warm),
    types.uint32: (option2.submit, option2.complete, option2.busy_ideal, option2.dma_start, option2.warm),
    types.int64: (optionhuge.submit, optionhuge.complete, optionhuge.busy, optionhuge.dma_start, optionhuge.warm),
}


def token(option) -> np.ndarray:
    """The empty array whose dtype selects ``option``'s loop."""
    return np.zeros(0, TOKENS[str(option)])


def _submit(token, e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, ost):
    raise NotImplementedError  # only called from numba; see the overload below


def _complete(token, e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, ost):
    raise NotImplementedError


def _busy(token, t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, qd, maxp, b0, b2, ost):
    raise NotImplementedError


def _dma_start(token, k, b0, b1, pmem_base_pfn, ost):
    raise NotImplementedError


def _warm(token, e, off, pte, ost):
    raise NotImplementedError


@overload(_warm)
def _warm_for(token, e, off, pte, ost):
    fn = _FUNCS[token.dtype][4]

    def impl(token, e, off, pte, ost):
        fn(e, off, pte, ost)
    return impl


@overload(_dma_start)
def _dma_start_for(token, k, b0, b1, pmem_base_pfn, ost):
    fn = _FUNCS[token.dtype][3]

    def impl(token, k, b0, b1, pmem_base_pfn, ost):
        return fn(k, b0, b1, pmem_base_pfn, ost)
    return impl


@overload(_submit)
def _submit_for(token, e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, ost):
    fn = _FUNCS[token.dtype][0]

    def impl(token, e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, ost):
        return fn(e, base, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, ost)
    return impl


@overload(_complete)
def _complete_for(token, e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, ost):
    fn = _FUNCS[token.dtype][1]

    def impl(token, e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, ost):
        fn(e, base, n, op, fs, pmem, pmem_base_pfn, device, data, counters, b0, b1, b2, b3, ost)
    return impl


@overload(_busy)
def _busy_for(token, t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, qd, maxp, b0, b2,
              ost):
    fn = _FUNCS[token.dtype][2]

    def impl(token, t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, qd, maxp, b0, b2,
             ost):
        return fn(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, qd, maxp, b0, b2, ost)
    return impl

NO_ROOM = -1  #: what a submit returns when the option has no room for the I/O yet (1b's pool)

#: Whether the loop may run a full queue's worth of plain I/Os as one batch (below). The
#: generated per-option loops set it for the options whose submission never waits for a
#: completion (all but 0's page allocator and 1b's pool).
BATCH = False


@njit(cache=True)
def run(token, op, off, length, qd, fs, pmem, pmem_base_pfn, device, data, counters,
        slot_io, slot_n, maxp, bv, entry_bytes, entry_transient, ost, dirty, drain):
    """Run the events (I/Os and truncates) through the option ``token`` selects; count into ``counters``.

    ``slot_io`` and ``slot_n`` are a ring of ``2 * qd`` slots (each with ``maxp`` entries of
    ``bv``): at most ``qd`` I/Os are in flight, but with ``BATCH`` the loop takes a full
    queue's worth of plain reads and writes at once: it submits the next ``qd`` I/Os, then
    completes the ``qd`` oldest, in order. That is the same sequence of submissions and of
    completions as one at a time (and every counter, peaks included, comes out the same),
    because a submission of these options changes nothing a completion reads, and the
    reverse; the host overlaps the memory misses of many submissions this way.

    With ``drain`` false the run stops dead after the last event, as at a power loss: the
    I/Os still in flight never complete (``inflight_lost``).
    """
    pte = fs[F_PTE]
    b0, b1, b2, b3 = bv
    misc = ost[0]
    ring = len(slot_io)
    head = 0
    count = 0
    inflight_entries = 0
    ios = 0  # counted locally, stored once at the end (stores to counters[] in the loop cost)
    requested = 0
    desc_peak = counters[C_DESC_PEAK]
    held_peak = counters[C_TRANSIENT_PEAK]
    skip = 0  # events before this one were run in a batch
    for e in range(len(op)):
        if e < skip:
            continue
        if BATCH and count == qd and qd > 1 and e + qd <= len(op) and _plain(op, e, qd):
            for i in range(qd):  # start the PTE and struct page misses of the whole batch
                _warm(token, e + i, off, pte, ost)
            for i in range(qd):
                s = _wrap(head + qd + i, ring)
                slot_io[s] = e + i
                slot_n[s] = _submit(token, e + i, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data,
                                    counters, b0, b1, b2, b3, ost)
                requested += length[e + i]
            for i in range(qd):  # in flight after each submission: the last qd submitted
                inflight_entries += slot_n[_wrap(head + qd + i, ring)] - slot_n[_wrap(head + i, ring)]
                desc = inflight_entries * entry_bytes
                desc_peak = max(desc_peak, desc)
                held_peak = max(held_peak, desc + inflight_entries * entry_transient + misc[M_POOL_USED] * 64)
            for i in range(qd):
                if e + qd + i < len(op):  # the next batch's misses, long before its submissions
                    _warm(token, e + qd + i, off, pte, ost)
                if data:
                    nxt = _wrap(head + 1, ring)
                    a = _dma_start(token, nxt * maxp, b0, b1, pmem_base_pfn, ost)
                    prefetch_dma(op[slot_io[nxt]] == OP_WRITE, device, b3[nxt * maxp], pmem, max(a, 0))
                _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device,
                          data, counters, b0, b1, b2, b3, ost)
                head = _wrap(head + 1, ring)
            ios += qd
            skip = e + qd
            continue
        if op[e] == OP_TRUNC:
            waited = 0
            while count > 0 and _busy(token, off[e], length[e], fs, pmem_base_pfn, off, length, slot_io, slot_n, head,
                                     count, ring, maxp, b0, b2, ost):
                _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device, data,
                         counters, b0, b1, b2, b3, ost)
                inflight_entries -= slot_n[head]
                counters[C_WAIT_BYTES] += length[slot_io[head]]
                head = _wrap(head + 1, ring)
                count -= 1
                waited += 1
            if waited:
                counters[C_TRUNC_WAITS] += 1
                counters[C_WAIT_IOS] += waited
            counters[C_TRUNCATES] += 1
            punch_hole(fs, off[e], length[e], pmem, pmem_base_pfn, data, counters, C_VICTIM_BYTES)
            continue
        if op[e] == OP_STORE:  # the application does not store into a buffer under I/O
            while count > 0 and inflight_overlaps(off[e], length[e], off, length, slot_io, head, count, ring):
                _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device,
                          data, counters, b0, b1, b2, b3, ost)
                inflight_entries -= slot_n[head]
                head = _wrap(head + 1, ring)
                count -= 1
            store(e, off[e], length[e], pte, fs, pmem, pmem_base_pfn, data, counters, dirty)
            continue
        if op[e] == OP_FSYNC:
            fsync(counters, dirty)
            continue
        if count == qd:
            if data and count > 1:  # warm the next completion's first lines (a host hint)
                nxt = _wrap(head + 1, ring)
                a = _dma_start(token, nxt * maxp, b0, b1, pmem_base_pfn, ost)
                prefetch_dma(op[slot_io[nxt]] == OP_WRITE, device, b3[nxt * maxp], pmem, max(a, 0))
            _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device, data,
                     counters, b0, b1, b2, b3, ost)
            inflight_entries -= slot_n[head]
            head = _wrap(head + 1, ring)
            count -= 1
        if e + qd < len(op):  # the misses of the I/O a queue ahead (a host hint)
            _warm(token, e + qd, off, pte, ost)
        s = _wrap(head + count, ring)
        n = _submit(token, e, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, ost)
        if n == NO_ROOM:  # 1b's pool is full: wait for the oldest I/Os to complete, then retry
            counters[C_POOL_STALLS] += 1
            while n == NO_ROOM:
                _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device, data,
                         counters, b0, b1, b2, b3, ost)
                inflight_entries -= slot_n[head]
                counters[C_STALL_IOS] += 1
                counters[C_STALL_BYTES] += length[slot_io[head]]
                head = _wrap(head + 1, ring)
                count -= 1
                s = _wrap(head + count, ring)
                n = _submit(token, e, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters,
                           b0, b1, b2, b3, ost)
        slot_io[s] = e
        slot_n[s] = n
        count += 1
        ios += 1
        requested += length[e]
        inflight_entries += n
        desc = inflight_entries * entry_bytes
        desc_peak = max(desc_peak, desc)
        held_peak = max(held_peak, desc + inflight_entries * entry_transient + misc[M_POOL_USED] * 64)
    counters[C_INFLIGHT_LOST] += 0 if drain else count
    while drain and count > 0:
        _complete(token, slot_io[head], head * maxp, slot_n[head], op, fs, pmem, pmem_base_pfn, device, data, counters,
                 b0, b1, b2, b3, ost)
        head = _wrap(head + 1, ring)
        count -= 1
    store_fence()  # the DMAs' streaming stores are done before anyone reads the bytes
    counters[C_IOS] += ios
    counters[C_BYTES_REQUESTED] += requested
    counters[C_DESC_PEAK] = desc_peak
    counters[C_TRANSIENT_PEAK] = held_peak


@njit(cache=True)
def _wrap(x, ring):
    """``x % ring`` for 0 <= x < 2 * ring, without a division."""
    return x - ring if x >= ring else x


@njit(cache=True)
def _plain(op, e, k):
    """Are events e .. e+k-1 all reads and writes (no truncate, store or fsync among them)?"""
    for i in range(e, e + k):
        if op[i] != OP_READ and op[i] != OP_WRITE:
            return False
    return True


# --- one loop per option, with direct calls -------------------------------------------------
# The overload dispatch above costs about 0.2 us per I/O (numba does not inline through
# it well). So the loop is also compiled once per option from its own source: ``run``'s
# text with the option's functions called directly, written to a real file (numba caches
# only functions defined in files) under numba's cache folder, keyed on daxsim's source.

_UNBATCHED = ("0", "1b")  #: their submissions can wait on completions (page allocator, pool)
_MODULES = {"0": "option0", "1a": "option1a", "1b": "option1b", "2": "option2", "3": "option3",
            "ideal": "option2", "huge": "optionhuge", "nvram": "option1a"}


def _loop_source(option: str) -> str:
    import inspect

    mod = _MODULES[option]
    busy = "busy_ideal" if option == "ideal" else "busy"
    body = inspect.getsource(run)
    for generic, direct in (("_submit(token, ", "submit("), ("_complete(token, ", "complete("),
                            ("_busy(token, ", "busy("), ("_dma_start(token, ", "dma_start("), ("_warm(token, ", "warm(")):
        body = body.replace(generic, direct)
    return (f'"""Generated by daxsim.paths.queue from run(): option {option}. Do not edit."""\n'
            "from daxsim.paths.queue import *  # noqa: F401,F403\n"
            "from daxsim.paths.queue import _plain, _wrap  # noqa: F401\n"
            f"BATCH = {option not in _UNBATCHED}\n"
            f"from daxsim.paths.{mod} import submit, complete, dma_start, warm  # noqa: F401\n"
            f"from daxsim.paths.{mod} import {busy} as busy  # noqa: F401\n\n\n" + body)


def _load_loops() -> dict:
    """Write (once) and import the per-option loops; {} if the cache folder is not writable."""
    import importlib.util
    import os
    import sys
    import tempfile
    from pathlib import Path

    from numba.core import config

    from daxsim._numba_cache import source_hash

    root = Path(config.CACHE_DIR or tempfile.gettempdir()) / "daxsim-loops" / source_hash()
    loops = {}
    try:
        root.mkdir(parents=True, exist_ok=True)
        for option in _MODULES:
            path = root / f"loop_{option}.py"
            src = _loop_source(option)
            if not path.exists() or path.read_text() != src:
                tmp = root / f".loop_{option}.{os.getpid()}.tmp"
                tmp.write_text(src)
                os.replace(tmp, path)
            name = f"daxsim_loop_{option}"  # registered, so numba's cache can find it again by name
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            loops[option] = module.run
    except OSError:
        return {}
    return loops


LOOPS = _load_loops()


def loop(option):
    """The compiled event loop of ``option`` (the generated one, else the generic ``run``)."""
    return LOOPS.get(str(option), run)
