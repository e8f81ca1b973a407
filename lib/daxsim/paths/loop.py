"""The event loop every option shares: a queue of in-flight I/Os, truncates, stores, fsync.

I/Os are submitted in order; at most ``qd`` are in flight, and they complete in order
(FIFO): when the queue is full, the oldest completes before the next is submitted. The
device's DMA happens at completion. A truncate happens between submissions. For the
options that hold page references (``path.PINS``) it does what the kernel era's
``dax_layout_busy_page()`` does (``st.misc``, see :mod:`daxsim.model.eras`): nothing
before 4.18; from 4.18, unless nothing maps the file any more (4.18 to 6.14), unmap
every PTE of the file and wait (completing the oldest I/Os) until no page of the file is
busy. The other options wait by their own rule (``path.busy``): option 2 not at all,
unless guarded. A munmap takes pages out of the buffer's mapping; their pins stay.

``ALL_EVENTS`` is false in the loop compiled for events that are all reads and writes:
its truncate, munmap, store and fsync branches are left out (numba prunes a branch on a
constant), which halves the compile time of what most runs need.

``path`` below is the option's path module (``daxsim.paths.option1a`` and so on). It
supplies ``submit`` (translate the buffer and build the descriptor, taking whatever
references the option takes), ``complete`` (post the DMA, then drop them), ``busy`` (does an
in-flight I/O hold a block of this range?), ``dma_start`` and ``warm`` (host prefetch
hints) and ``BATCH``; ``st`` is its state (:mod:`daxsim.paths.state`). This file is not
imported as a module: :func:`daxsim.paths.registry.event_loop` runs it once per option
with ``path`` bound to that option's module, so numba compiles (and caches) one loop per
option with that option's functions called directly. ``submit`` and ``complete`` are
called from several places in the loop; they are compiled once each, as functions of
their own, not inlined at every call (inlining them made the loop's first compile about
3 s longer on two cores, and the data path not measurably faster).
"""

from __future__ import annotations

from daxsim.emu.daxfs import S_VMA_PAGES, munmap_range, punch_hole, unmap_file
from daxsim.emu.workload import OP_FSYNC, OP_MUNMAP, OP_STORE, OP_TRUNC, OP_WRITE
from daxsim.model.counters import (
    C_BYTES_REQUESTED,
    C_DESC_PEAK,
    C_INFLIGHT_LOST,
    C_IOS,
    C_MUNMAPS,
    C_POOL_STALLS,
    C_PTES_UNMAPPED,
    C_STALL_BYTES,
    C_STALL_IOS,
    C_TRANSIENT_PEAK,
    C_TRUNC_WAITS,
    C_TRUNCATES,
    C_VICTIM_BYTES,
    C_WAIT_BYTES,
    C_WAIT_IOS,
)
from daxsim.paths.common import (
    inflight_overlaps,
    plain_events,
    prefetch_dma,
    prefetch_source,
    queue_room,
    run_dma,
    store_fence,
    wrap,
)
from daxsim.paths.state import M_BUSY_FILE, M_BUSY_NEEDS_MAP, M_BUSY_WAIT, M_POOL_USED, M_UNIT_BYTES
from daxsim.paths.writeback import fsync, store

path = None  #: the option's path module, bound by daxsim.paths.registry.event_loop()
ALL_EVENTS = True  #: False in the loop compiled for reads and writes only (bound by event_loop)

NO_ROOM = -1  #: what a submit returns when the option has no room for the I/O yet (1b's pool)


def run(
    op,
    off,
    length,
    qd,
    fs,
    pmem,
    pmem_base_pfn,
    device,
    data,
    counters,
    slot_io,
    slot_n,
    maxp,
    bv,
    entry_bytes,
    entry_transient,
    st,
    dirty,
    drain,
    dq,
    stop,
    resume,
):
    """Run the events (I/Os, truncates, stores, fsyncs) through ``path``; count into ``counters``.

    ``slot_io`` and ``slot_n`` are a ring of ``2 * qd`` slots (each with ``maxp`` entries of
    ``bv``): at most ``qd`` I/Os are in flight, but with ``BATCH`` the loop takes a full
    queue's worth of plain reads and writes at once: it submits the next ``qd`` I/Os, then
    completes the ``qd`` oldest, in order. That is the same sequence of submissions and of
    completions as one at a time (and every counter, peaks included, comes out the same),
    because a submission of these options changes nothing a completion reads, and the
    reverse; the host overlaps the memory misses of many submissions this way.

    ``complete`` posts its DMAs to ``dq``, the device's queue
    (:func:`daxsim.paths.common.post_dma`), which runs them in order when it is full, before
    a piece returns and at the end. Only a run of reads and writes gets a queue with room
    for more than one (:func:`daxsim.study.stages.emulation.dma_room`); then the loop's own
    prefetch hints are left to the queue, which warms each transfer as the one before it streams.

    With ``drain`` false the run stops dead after the last event, as at a power loss: the
    I/Os still in flight never complete (``inflight_lost``); the DMAs of those that did are done.

    A run may be taken in pieces: it starts at event ``resume[3]`` with the queue that
    ``resume`` describes (head slot, I/Os in flight, their entries) and returns at the
    first event from ``stop`` on that no batch has taken, leaving the queue as it is and
    ``resume`` saying where it stopped; the piece that reaches the last event ends the run.
    The pieces submit and complete exactly what one call does (the verification releases
    the host memory of pages no later event touches, in between).
    """
    pte = fs.pte
    b0, b1, b2, b3 = bv
    misc = st.misc
    ring = len(slot_io)
    head = resume[0]
    count = resume[1]
    inflight_entries = resume[2]
    start = resume[3]
    e_next = len(op)
    ios = 0  # counted locally, stored once at the end (stores to counters[] in the loop cost)
    requested = 0
    desc_peak = counters[C_DESC_PEAK]
    held_peak = counters[C_TRANSIENT_PEAK]
    skip = start  # events before this one were run in a batch (or by an earlier piece)
    hints = data and queue_room(dq) == 1  # each DMA runs as it is posted: warm its first lines beforehand
    for e in range(start, len(op)):
        if e < skip:
            continue
        if e >= stop:  # this piece ends here; the queue stays as it is
            e_next = e
            break
        if (
            path.BATCH
            and misc[M_UNIT_BYTES] == 0
            and count == qd
            and qd > 1
            and e + qd <= len(op)
            and plain_events(op, e, qd)
        ):  # (descriptors in use change with more in flight: one at a time)
            for i in range(qd):  # start the PTE and struct page misses of the whole batch
                path.warm(e + i, off, pte, st)
            for i in range(qd):
                s = wrap(head + qd + i, ring)
                slot_io[s] = e + i
                slot_n[s] = path.submit(
                    e + i, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st
                )
                requested += length[e + i]
            for i in range(qd):  # in flight after each submission: the last qd submitted
                inflight_entries += slot_n[wrap(head + qd + i, ring)] - slot_n[wrap(head + i, ring)]
                desc = inflight_entries * entry_bytes
                desc_peak = max(desc_peak, desc)
                held_peak = max(
                    held_peak, desc + inflight_entries * entry_transient + misc[M_POOL_USED] * misc[M_UNIT_BYTES]
                )
            for i in range(qd):
                if e + qd + i < len(op):  # the next batch's misses, long before its submissions
                    path.warm(e + qd + i, off, pte, st)
                if hints:
                    nxt = wrap(head + 1, ring)
                    a = path.dma_start(nxt * maxp, b0, b1, pmem_base_pfn, st)
                    prefetch_dma(op[slot_io[nxt]] == OP_WRITE, device, b3[nxt * maxp], pmem, max(a, 0))
                path.complete(
                    slot_io[head],
                    head * maxp,
                    slot_n[head],
                    op,
                    fs,
                    pmem,
                    pmem_base_pfn,
                    device,
                    data,
                    counters,
                    b0,
                    b1,
                    b2,
                    b3,
                    st,
                    dq,
                )
                head = wrap(head + 1, ring)
            ios += qd
            skip = e + qd
            continue
        if ALL_EVENTS and op[e] == OP_TRUNC:
            waited = 0
            if path.PINS:  # the era's dax_layout_busy_page(), for the options that hold page references
                scan = misc[M_BUSY_WAIT] != 0 and not (misc[M_BUSY_NEEDS_MAP] and fs.state[S_VMA_PAGES] == 0)
                if scan and misc[M_BUSY_FILE]:
                    # the whole file: unmap every PTE first, then wait for every busy page of the
                    # file. Every in-flight I/O of these options holds pages of this file, so that
                    # is every I/O in flight (the oracle scans the file's pages to check it)
                    counters[C_PTES_UNMAPPED] += unmap_file(fs)
                    while count > 0:
                        path.complete(
                            slot_io[head],
                            head * maxp,
                            slot_n[head],
                            op,
                            fs,
                            pmem,
                            pmem_base_pfn,
                            device,
                            data,
                            counters,
                            b0,
                            b1,
                            b2,
                            b3,
                            st,
                            dq,
                        )
                        inflight_entries -= slot_n[head]
                        counters[C_WAIT_BYTES] += length[slot_io[head]]
                        head = wrap(head + 1, ring)
                        count -= 1
                        waited += 1
                elif scan:
                    while count > 0 and path.busy(
                        off[e],
                        length[e],
                        fs,
                        pmem_base_pfn,
                        off,
                        length,
                        slot_io,
                        slot_n,
                        head,
                        count,
                        ring,
                        maxp,
                        b0,
                        b2,
                        st,
                    ):
                        path.complete(
                            slot_io[head],
                            head * maxp,
                            slot_n[head],
                            op,
                            fs,
                            pmem,
                            pmem_base_pfn,
                            device,
                            data,
                            counters,
                            b0,
                            b1,
                            b2,
                            b3,
                            st,
                            dq,
                        )
                        inflight_entries -= slot_n[head]
                        counters[C_WAIT_BYTES] += length[slot_io[head]]
                        head = wrap(head + 1, ring)
                        count -= 1
                        waited += 1
            else:  # the option's own rule (the guard, extent references, the bounce copies)
                while count > 0 and path.busy(
                    off[e],
                    length[e],
                    fs,
                    pmem_base_pfn,
                    off,
                    length,
                    slot_io,
                    slot_n,
                    head,
                    count,
                    ring,
                    maxp,
                    b0,
                    b2,
                    st,
                ):
                    path.complete(
                        slot_io[head],
                        head * maxp,
                        slot_n[head],
                        op,
                        fs,
                        pmem,
                        pmem_base_pfn,
                        device,
                        data,
                        counters,
                        b0,
                        b1,
                        b2,
                        b3,
                        st,
                        dq,
                    )
                    inflight_entries -= slot_n[head]
                    counters[C_WAIT_BYTES] += length[slot_io[head]]
                    head = wrap(head + 1, ring)
                    count -= 1
                    waited += 1
            if waited:
                counters[C_TRUNC_WAITS] += 1
                counters[C_WAIT_IOS] += waited
            counters[C_TRUNCATES] += 1
            punch_hole(fs, off[e], length[e], pmem, pmem_base_pfn, data, counters, C_VICTIM_BYTES)
            continue
        if ALL_EVENTS and op[e] == OP_MUNMAP:  # the buffer's pages leave the VMA; their pins stay
            munmap_range(fs, off[e], length[e])
            counters[C_MUNMAPS] += 1
            continue
        if ALL_EVENTS and op[e] == OP_STORE:  # the application does not store into a buffer under I/O
            while count > 0 and inflight_overlaps(off[e], length[e], off, length, slot_io, head, count, ring):
                path.complete(
                    slot_io[head],
                    head * maxp,
                    slot_n[head],
                    op,
                    fs,
                    pmem,
                    pmem_base_pfn,
                    device,
                    data,
                    counters,
                    b0,
                    b1,
                    b2,
                    b3,
                    st,
                    dq,
                )
                inflight_entries -= slot_n[head]
                head = wrap(head + 1, ring)
                count -= 1
            store(e, off[e], length[e], pte, fs, pmem, pmem_base_pfn, data, counters, dirty)
            continue
        if ALL_EVENTS and op[e] == OP_FSYNC:
            fsync(counters, dirty)
            continue
        if count == qd:
            if hints and count > 1:  # warm the next completion's first lines (a host hint)
                nxt = wrap(head + 1, ring)
                a = path.dma_start(nxt * maxp, b0, b1, pmem_base_pfn, st)
                prefetch_dma(op[slot_io[nxt]] == OP_WRITE, device, b3[nxt * maxp], pmem, max(a, 0))
            path.complete(
                slot_io[head],
                head * maxp,
                slot_n[head],
                op,
                fs,
                pmem,
                pmem_base_pfn,
                device,
                data,
                counters,
                b0,
                b1,
                b2,
                b3,
                st,
                dq,
            )
            inflight_entries -= slot_n[head]
            head = wrap(head + 1, ring)
            count -= 1
        if e + qd < len(op):  # the misses of the I/O a queue ahead (a host hint)
            path.warm(e + qd, off, pte, st)
            if hints and qd == 1:  # and the first bytes its DMA reads: nothing else overlaps that miss
                prefetch_source(e + 1, op, off, pte, device, pmem, pmem_base_pfn)
        s = wrap(head + count, ring)
        n = path.submit(e, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st)
        if n == NO_ROOM:  # 1b's pool is full: wait for the oldest I/Os to complete, then retry
            counters[C_POOL_STALLS] += 1
            while n == NO_ROOM:
                path.complete(
                    slot_io[head],
                    head * maxp,
                    slot_n[head],
                    op,
                    fs,
                    pmem,
                    pmem_base_pfn,
                    device,
                    data,
                    counters,
                    b0,
                    b1,
                    b2,
                    b3,
                    st,
                    dq,
                )
                inflight_entries -= slot_n[head]
                counters[C_STALL_IOS] += 1
                counters[C_STALL_BYTES] += length[slot_io[head]]
                head = wrap(head + 1, ring)
                count -= 1
                s = wrap(head + count, ring)
                n = path.submit(
                    e, s * maxp, op, off, length, pte, fs, pmem, pmem_base_pfn, data, counters, b0, b1, b2, b3, st
                )
        slot_io[s] = e
        slot_n[s] = n
        count += 1
        ios += 1
        requested += length[e]
        inflight_entries += n
        desc = inflight_entries * entry_bytes
        desc_peak = max(desc_peak, desc)
        held_peak = max(held_peak, desc + inflight_entries * entry_transient + misc[M_POOL_USED] * misc[M_UNIT_BYTES])
    if e_next < len(op):
        resume[0], resume[1], resume[2], resume[3] = head, count, inflight_entries, e_next
        run_dma(dq, device, pmem)  # the pages of this piece are checked next
        store_fence()
        counters[C_IOS] += ios
        counters[C_BYTES_REQUESTED] += requested
        counters[C_DESC_PEAK] = desc_peak
        counters[C_TRANSIENT_PEAK] = held_peak
        return
    resume[3] = len(op)
    counters[C_INFLIGHT_LOST] += 0 if drain else count
    while drain and count > 0:
        path.complete(
            slot_io[head],
            head * maxp,
            slot_n[head],
            op,
            fs,
            pmem,
            pmem_base_pfn,
            device,
            data,
            counters,
            b0,
            b1,
            b2,
            b3,
            st,
            dq,
        )
        head = wrap(head + 1, ring)
        count -= 1
    run_dma(dq, device, pmem)
    store_fence()  # the DMAs' streaming stores are done before anyone reads the bytes
    counters[C_IOS] += ios
    counters[C_BYTES_REQUESTED] += requested
    counters[C_DESC_PEAK] = desc_peak
    counters[C_TRANSIENT_PEAK] = held_peak
