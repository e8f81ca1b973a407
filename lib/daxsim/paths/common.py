"""Pieces every I/O path shares: memcpy, streaming DMA and prefetch, the bio_vec store,
the lazily built vmemmap, set-up (pattern fill, prefault) and the post-run checks.
"""

from __future__ import annotations

from llvmlite import ir
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from daxsim.emu.memory import PG_RESERVED, SECTION_SHIFT_IN_FLAGS, ZONE_DEVICE, ZONE_SHIFT
from daxsim.emu.daxfs import dax_fault
from daxsim.model.counters import C_FAULTS, C_SETUP_FAULTS, C_SP_MATERIALISED, C_ZEROED
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, STRUCT_PAGES_PER_VMEMMAP_PAGE
from daxsim.emu.workload import OP_READ, OP_WRITE

PGMAP_COOKIE = 0x5A5A0000  #: stands for page->pgmap, the dev_pagemap of the namespace
SECTION_PAGE_SHIFT = 15  #: pfn >> 15 is the section number (128 MiB / 4 KiB)
VMEMMAP_SHIFT = 6  #: struct page index >> 6 is its vmemmap page (64 struct pages per 4 KiB)


def _element_ptr(context, builder, arrtype, arr, off):
    """The LLVM pointer to ``arr[off]`` of a contiguous 1-D array (for the intrinsics below)."""
    return builder.gep(context.make_array(arrtype)(context, builder, arr).data, [off])


@intrinsic
def memcpy(typingctx, dst, dst_off, src, src_off, n):
    """``memcpy(dst + dst_off, src + src_off, n)`` on uint8 arrays: LLVM's memcpy (the C library's)."""
    sig = types.void(dst, dst_off, src, src_off, n)

    def codegen(context, builder, signature, args):
        d, doff, s, soff, count = args
        dptr = _element_ptr(context, builder, signature.args[0], d, doff)
        sptr = _element_ptr(context, builder, signature.args[2], s, soff)
        cgutils.raw_memcpy(builder, dptr, sptr, count, 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch(typingctx, arr, off):
    """Hint the host CPU to fetch the cache line at ``arr[off]`` (llvm.prefetch); no effect on results."""
    sig = types.void(arr, off)

    def codegen(context, builder, signature, args):
        a, o = args
        i8p = ir.IntType(8).as_pointer()
        ptr = builder.bitcast(_element_ptr(context, builder, signature.args[0], a, o), i8p)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8"
        )
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _stream_line(typingctx, dst, dst_off, src, src_off):
    """Copy the 64 bytes at ``src[src_off]`` to the 64-byte aligned ``dst[dst_off]`` with a
    non-temporal (streaming) store, which bypasses the host's caches."""
    sig = types.void(dst, dst_off, src, src_off)

    def codegen(context, builder, signature, args):
        d, doff, s, soff = args
        line = ir.VectorType(ir.IntType(64), 8).as_pointer()
        src_line = builder.bitcast(_element_ptr(context, builder, signature.args[2], s, soff), line)
        dst_line = builder.bitcast(_element_ptr(context, builder, signature.args[0], d, doff), line)
        st = builder.store(builder.load(src_line, align=1), dst_line, align=64)
        st.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _address(typingctx, arr, off):
    """The host address of ``arr[off]``."""
    sig = types.int64(arr, off)

    def codegen(context, builder, signature, args):
        a, o = args
        return builder.ptrtoint(_element_ptr(context, builder, signature.args[0], a, o), ir.IntType(64))

    return sig, codegen


@intrinsic
def store_fence(typingctx):
    """Order the streaming stores before everything after (a full fence: mfence on x86)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


STREAM_MIN = 256  #: shorter transfers are copied with memcpy (the streaming loop would not pay)


@njit(cache=True)
def stream_copy(dst, dst_off, src, src_off, n):
    """Copy ``n`` bytes as a DMA engine writes memory: streaming stores that do not pass
    through (or pollute) the host's caches. The unaligned head and tail go by memcpy.
    Callers issue :func:`store_fence` before anything else reads the bytes on another CPU."""
    if n < STREAM_MIN:
        memcpy(dst, dst_off, src, src_off, n)
        return
    head = (-_address(dst, dst_off)) & 63
    memcpy(dst, dst_off, src, src_off, head)
    body = (n - head) & ~63
    for line in range(head, head + body, 64):
        _stream_line(dst, dst_off + line, src, src_off + line)
    memcpy(dst, dst_off + head + body, src, src_off + head + body, n - head - body)


@njit(cache=True, inline="always")
def dma(to_device, device, dev_off, pmem, pmem_off, n):
    """The device's DMA of ``n`` bytes between its blocks at ``dev_off`` and pmem at
    ``pmem_off``: from pmem to the device when ``to_device`` (an O_DIRECT write), else back."""
    if to_device:
        stream_copy(device, dev_off, pmem, pmem_off, n)
    else:
        stream_copy(pmem, pmem_off, device, dev_off, n)


def dma_queue(capacity: int) -> np.ndarray:
    """The device's DMA queue (:func:`post_dma`): room for ``capacity`` transfers. Word 0
    counts those posted; each takes four words: to the device?, device offset, pmem offset, bytes."""
    return np.zeros(1 + 4 * int(capacity), np.int64)


@njit(cache=True, inline="always")
def queue_room(dq):
    """How many transfers queue ``dq`` holds before it runs them (1: each at once)."""
    return (len(dq) - 1) // 4


@njit(cache=True, inline="always")
def post_dma(dq, to_device, device, dev_off, pmem, pmem_off, n):
    """A completion hands its DMA to the device's queue ``dq`` (:func:`dma_queue`); a full
    queue is run (:func:`run_dma`). The transfers happen in the order posted, and the event
    loop runs the queue before anything else touches the bytes (see daxsim/paths/loop.py);
    with room for one, each is done at once."""
    q = dq[0]
    dq[1 + 4 * q] = to_device
    dq[2 + 4 * q] = dev_off
    dq[3 + 4 * q] = pmem_off
    dq[4 + 4 * q] = n
    dq[0] = q + 1
    if q + 1 == queue_room(dq):
        run_dma(dq, device, pmem)


@njit(cache=True)
def run_dma(dq, device, pmem):
    """The device runs the transfers queued in ``dq``, in order, and the queue empties. Each
    one's first lines are fetched while the one before it streams (a host hint)."""
    n = dq[0]
    for q in range(n):
        w = 1 + 4 * q
        if q + 1 < n:
            prefetch_dma(dq[w + 4] != 0, device, dq[w + 5], pmem, dq[w + 6])
        dma(dq[w] != 0, device, dq[w + 1], pmem, dq[w + 2], dq[w + 3])
    dq[0] = 0


@njit(cache=True)
def prefetch_dma(to_device, device, dev_off, pmem, pmem_off, nbytes=512):
    """Prefetch the first ``nbytes`` the next DMA will read (a host hint; measured best of
    256 B to 1 KiB). Its destination is written with streaming stores, so it is not fetched."""
    for line in range(0, nbytes, 64):
        if to_device:
            prefetch(pmem, pmem_off + line)
        else:
            prefetch(device, dev_off + line)


@njit(cache=True)
def prefetch_source(e, op, off, pte, device, pmem, pmem_base_pfn, nbytes=512):
    """Before I/O ``e`` is submitted: prefetch the first ``nbytes`` its DMA will read, on
    pmem through the mapping's PTE for a write, on the device for a read (a host hint;
    at queue depth 1 it makes a random 4 KiB I/O about 7 % faster, 1 KiB as good, 4 KiB worse)."""
    if op[e] == OP_WRITE:
        v = pte[off[e] >> PAGE_SHIFT]
        if v:
            prefetch_dma(
                True, device, 0, pmem, (v - 1 - pmem_base_pfn) * PAGE_SIZE + (off[e] & (PAGE_SIZE - 1)), nbytes
            )
    elif op[e] == OP_READ:
        prefetch_dma(False, device, off[e], pmem, 0, nbytes)


@njit(cache=True, inline="always")
def page_segment(pos, end):
    """The part of [pos, end) in pos's page: (offset in the page, bytes)."""
    in_page = pos & (PAGE_SIZE - 1)
    return in_page, min(PAGE_SIZE - in_page, end - pos)


@njit(cache=True)
def set_entry(b0, b1, b2, b3, k, page, in_page, seg, pos):
    """Descriptor entry ``k``: a bio_vec (page, offset, length) and the device offset it goes to."""
    b0[k] = page
    b1[k] = in_page
    b2[k] = seg
    b3[k] = pos


@njit(cache=True, inline="always")
def add_segment(b0, b1, b2, b3, base, n, frame, in_page, seg, pos, merge):
    """Describe ``seg`` bytes at ``in_page`` of page frame ``frame`` (a struct page index or a
    pfn): a new entry, or, with ``merge`` (the multi-page bio_vecs of 5.1+), more bytes in
    the last one when this page continues it physically. Returns the entries now used."""
    if merge and n > 0:
        k = base + n - 1
        if b0[k] * PAGE_SIZE + b1[k] + b2[k] == frame * PAGE_SIZE + in_page:
            b2[k] += seg
            return n
    set_entry(b0, b1, b2, b3, base + n, frame, in_page, seg, pos)
    return n + 1


@njit(cache=True, inline="always")
def entry_pages(b1, b2, k):
    """The 4 KiB pages entry ``k`` spans (more than one when bio_vecs merge)."""
    return ((b1[k] + b2[k] - 1) >> PAGE_SHIFT) + 1


@njit(cache=True)
def warm_pte(e, off, pte, st):
    """Before a batch of submissions: fetch the PTE of I/O ``e``'s first page (a host hint)."""
    prefetch(pte, off[e] >> PAGE_SHIFT)


PG_DIRTY = np.uint64(1 << 4)  #: PG_dirty in struct page's flags (the bit a read's completion sets)


@njit(cache=True)
def populate_vmemmap_page(memmap_words, populated, block, memmap_base_pfn, counters, idle):
    """Build vmemmap page ``block`` (64 struct pages) as memmap_init_zone_device() would:
    zone and section in ``flags``, ``pgmap`` set, mapcount -1, refcount ``idle`` (1, or 0
    from 6.15).

    ``memmap_words`` is the memmap viewed as uint64, eight words per struct page; word 6
    holds _mapcount (low half) and _refcount (high half).
    """
    start = block * STRUCT_PAGES_PER_VMEMMAP_PAGE
    end = min(start + STRUCT_PAGES_PER_VMEMMAP_PAGE, len(memmap_words) // 8)
    zone = PG_RESERVED | np.uint64(ZONE_DEVICE << ZONE_SHIFT)
    counts = (np.uint64(idle) << np.uint64(32)) | np.uint64(0xFFFFFFFF)
    for i in range(start, end):
        w = 8 * i
        memmap_words[w] = zone | np.uint64(((memmap_base_pfn + i) >> SECTION_PAGE_SHIFT) << SECTION_SHIFT_IN_FLAGS)
        memmap_words[w + 1] = PGMAP_COOKIE  # page->pgmap
        memmap_words[w + 2] = 0
        memmap_words[w + 3] = 0
        memmap_words[w + 4] = 0
        memmap_words[w + 5] = 0
        memmap_words[w + 6] = counts
        memmap_words[w + 7] = 0
    populated[block] = 1
    counters[C_SP_MATERIALISED] += end - start


@njit(cache=True)
def populate_memmap(memmap_words, populated, memmap_base_pfn, counters, idle):
    """Initialise the whole memmap (what the kernel does when the namespace is enabled)."""
    for block in range(len(populated)):
        if populated[block] == 0:
            populate_vmemmap_page(memmap_words, populated, block, memmap_base_pfn, counters, idle)


@njit(cache=True)
def fill_pattern(buf, byte_starts, salt):
    """Fill the 4 KiB pages at ``byte_starts`` of ``buf`` with a pattern unique to each 8 bytes."""
    words = buf.view(np.uint64)
    for s in byte_starts:
        w0 = s >> 3
        for j in range(PAGE_SIZE >> 3):
            x = np.uint64(w0 + j) * np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(salt)
            x ^= x >> np.uint64(29)
            words[w0 + j] = x * np.uint64(0xBF58476D1CE4E5B9)


@njit(cache=True)
def inflight_overlaps(t_off, t_len, off, length, slot_io, head, count, ring):
    """Is an in-flight I/O using any byte of the file range [t_off, t_off+t_len)? (``count``
    I/Os in flight from slot ``head`` of a ring of ``ring`` slots)"""
    for k in range(count):
        e = slot_io[(head + k) % ring]
        if off[e] < t_off + t_len and t_off < off[e] + length[e]:
            return True
    return False


@njit(cache=True)
def count_diff(a, b, byte_starts):
    """Bytes of the 4 KiB pages at ``byte_starts`` that differ between arrays ``a`` and ``b``."""
    bad = 0
    for s in byte_starts:
        for j in range(PAGE_SIZE):
            if a[s + j] != b[s + j]:
                bad += 1
    return bad


@njit(cache=True)
def count_busy_pages(memmap, populated, idle):
    """Struct pages (in built vmemmap pages) whose refcount is not ``idle``: leaked references."""
    busy = 0
    for block in range(len(populated)):
        if populated[block]:
            start = block * STRUCT_PAGES_PER_VMEMMAP_PAGE
            end = min(start + STRUCT_PAGES_PER_VMEMMAP_PAGE, len(memmap))
            for i in range(start, end):
                if memmap[i].refcount != idle:
                    busy += 1
    return busy


@njit(cache=True)
def boot_prefault(fpages, fs, pmem, pmem_base_pfn, memmap_words, populated, memmap_base_pfn, counters, idle):
    """Set-up before the timed run: fault the buffer's PTEs in (MAP_POPULATE) and, when pmem
    has a memmap, build the vmemmap pages the run will touch (the kernel inits them at boot)."""
    has_memmap = len(memmap_words) > 0
    no_data = len(fpages) < 0  # False, typed bool: the literal would compile dax_fault a second time
    pte = fs.pte
    for fp in fpages:
        v = pte[fp]
        if v == 0:
            v = dax_fault(fs, fp, pmem, pmem_base_pfn, no_data, counters, C_FAULTS, C_ZEROED)
            counters[C_SETUP_FAULTS] += 1
        block = (v - 1 - memmap_base_pfn) // STRUCT_PAGES_PER_VMEMMAP_PAGE
        if has_memmap and populated[block] == 0:
            populate_vmemmap_page(memmap_words, populated, block, memmap_base_pfn, counters, idle)


@njit(cache=True)
def wrap(x, ring):
    """``x % ring`` for 0 <= x < 2 * ring, without a division."""
    return x - ring if x >= ring else x


@njit(cache=True, inline="always")
def plain_events(op, e, k):
    """Are events e .. e+k-1 all reads and writes (no truncate, store or fsync among them)?"""
    for i in range(e, e + k):
        if op[i] != OP_READ and op[i] != OP_WRITE:
            return False
    return True
