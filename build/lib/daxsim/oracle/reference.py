"""The test oracle: a slow, plain-Python version of every I/O path.

It shares only the set-up with the numba paths (the namespace layout and the file's
extents); the queue, the filesystem's block map and allocator, truncates, struct pages,
the pool of option 1b, extents and every byte copy are written again with dicts, lists
and bytearrays, one step at a time, so that a kernel bug cannot hide in shared code.
Each option is a class (:class:`Option0` ... :class:`Ideal`) that the design registry
names as the option's oracle; :func:`run_reference` runs the shared queue with it. Tests
run both on small seeded workloads and compare every counter and every byte.
"""

from __future__ import annotations

import importlib
from collections import deque
from dataclasses import dataclass

import numpy as np

from daxsim.emu.daxfs import create_file
from daxsim.emu.machine import INFO_BLOCK_SIZE, Machine
from daxsim.emu.units import PAGE_SIZE, STRUCT_PAGES_PER_VMEMMAP_PAGE
from daxsim.emu.workload import OP_FSYNC, OP_MUNMAP, OP_READ, OP_STORE, OP_TRUNC, OP_WRITE, Workload
from daxsim.model.counters import COUNTERS
from daxsim.model.eras import era
from daxsim.paths.registry import design

MASK64 = (1 << 64) - 1
DESC_BYTES = 16  # bio_vec, pfn vector entry, phys_vec: all 16 bytes
HT_ENTRY_BYTES = 16  # option 1b's hash table: key and value per slot
VICTIM_SALT = 0x100

__all__ = ["Huge", "Ideal", "Nvram", "Option0", "Option1a", "Option1b", "Option2", "Option3", "ReferenceResult",
           "pattern_page", "run_reference"]


def pattern_page(byte_start: int, salt: int) -> bytearray:
    """Contents of the 4 KiB page at ``byte_start`` filled with the pattern for ``salt``."""
    out = bytearray()
    for j in range(PAGE_SIZE // 8):
        x = (((byte_start // 8 + j) * 0x9E3779B97F4A7C15) & MASK64) ^ salt
        x ^= x >> 29
        out += ((x * 0xBF58476D1CE4E5B9) & MASK64).to_bytes(8, "little")
    return out


@dataclass
class ReferenceResult:
    counters: dict
    pmem_pages: dict  # pfn -> bytes of that page after the run
    dev_pages: dict  # file page -> bytes of the device block after the run


class _Fs:
    """The DAX filesystem: a block map, a page table, freed blocks, another file's blocks."""

    def __init__(self, f, bump, pmem, pmem_base, c):
        self.map = {}
        for fpage, pfn, n in zip(f.ext_fpage.tolist(), f.ext_pfn.tolist(), f.ext_len.tolist()):
            for k in range(n):
                self.map[fpage + k] = pfn + k
        self.pte, self.free, self.bump, self.truncates = {}, [], bump, 0
        self.pmem, self.pmem_base, self.c = pmem, pmem_base, c
        self.pages = f.pages
        self.unmapped = set()  # file pages munmap took out of the buffer's VMA

    def block(self, fp):
        if fp not in self.map:  # a hole: a new block, zeroed
            pfn = self.free.pop() if self.free else self.bump
            if pfn == self.bump:
                self.bump += 1
            self.pmem[pfn] = bytearray(PAGE_SIZE)
            self.c["bytes_zeroed"] += PAGE_SIZE
            self.map[fp] = pfn
        return self.map[fp]

    def fault(self, fp):
        if fp not in self.pte:
            self.pte[fp] = self.block(fp)
            self.c["page_faults"] += 1
        return self.pte[fp]

    def fault_huge(self, fp, unit):
        """A PMD/PUD fault: the page, and the unit's other backed pages, in one fault."""
        if fp not in self.pte:
            self.pte[fp] = self.block(fp)
            first = fp - fp % unit
            for q in range(first, min(first + unit, self.pages)):
                if q not in self.pte and q in self.map:
                    self.pte[q] = self.map[q]
            self.c["page_faults"] += 1
        return self.pte[fp]

    def unmap_all(self):
        """unmap_mapping_pages() of the whole file; returns the PTEs that were present."""
        n = len(self.pte)
        self.pte.clear()
        return n

    def munmap(self, off, length):
        for fp in range(off // PAGE_SIZE, (off + length) // PAGE_SIZE):
            self.pte.pop(fp, None)
            self.unmapped.add(fp)

    def mapped(self):
        """mapping_mapped(): does the buffer's VMA still cover a page of the file?"""
        return len(self.unmapped) < self.pages

    def punch(self, off, length):
        for fp in range(off // PAGE_SIZE, (off + length) // PAGE_SIZE):
            if fp in self.map:
                self.free.append(self.map.pop(fp))
                self.pte.pop(fp, None)
        event, self.truncates = self.truncates, self.truncates + 1
        while self.free:  # another file takes the blocks and writes them
            pfn = self.free.pop()
            self.pmem[pfn] = pattern_page((pfn - self.pmem_base) * PAGE_SIZE, VICTIM_SALT + event)
            self.c["victim_bytes_written"] += PAGE_SIZE

    def pfns(self, t_off, t_len):
        """The blocks behind the file range now."""
        return {self.map[fp] for fp in range(t_off // PAGE_SIZE, (t_off + t_len) // PAGE_SIZE) if fp in self.map}


def _segments(o, n):
    pos = o
    while pos < o + n:
        seg = min(PAGE_SIZE - pos % PAGE_SIZE, o + n - pos)
        yield pos, seg
        pos += seg


class _World:
    """What every reference path works on: the counters, pmem and device pages, the
    filesystem, the struct pages built so far, the queue in flight."""

    def __init__(self, machine, layout, workload, c, params, kernel):
        self.c, self.params, self.era = c, params, kernel
        self.idle = kernel.idle_refcount
        self.bias = kernel.pin_bias
        self.merge = kernel.bvec == "contiguous"
        self.desc_bytes = kernel.folio_desc_bytes
        self.descs = 0  # memdesc-8: folio descriptors in use
        self.machine, self.layout = machine, layout
        self.pmem_base = machine.pmem_base_pfn
        f = create_file("buffer", workload.file_size, self.pmem_base + layout.dataoff // PAGE_SIZE,
                        self.pmem_base + machine.pmem // PAGE_SIZE, workload.extent_size,
                        np.random.default_rng(workload.seed))
        self.pmem: dict[int, bytearray] = {}
        self.dev: dict[int, bytearray] = {}
        self.fs = _Fs(f, int((f.ext_pfn + f.ext_len).max()), self.pmem, self.pmem_base, c)
        self.memmap_base = self.pmem_base + (INFO_BLOCK_SIZE // PAGE_SIZE if layout.map == "dev" else 0)
        self.nmemmap = (layout.memmap_pmem_bytes or layout.memmap_dram_bytes) // 64
        self.built = set()
        self.refcount = {}  # pfn -> refcount (idle: the era's) of a permanent struct page, or of a transient one (1b)
        self.inflight = deque()  # (event, entries)
        self.off = self.length = self.op = None

    def touch_memmap(self, pfn):
        """The vmemmap page of ``pfn``'s struct page is built on first touch."""
        block = (pfn - self.memmap_base) // STRUCT_PAGES_PER_VMEMMAP_PAGE
        if block not in self.built:
            self.built.add(block)
            self.c["struct_pages_materialised"] += min(STRUCT_PAGES_PER_VMEMMAP_PAGE,
                                                       self.nmemmap - block * STRUCT_PAGES_PER_VMEMMAP_PAGE)

    def add_entry(self, entries, frame, in_page, seg, pos):
        """A descriptor entry, or more bytes in the last one where the era merges contiguous pages."""
        if self.merge and entries and entries[-1][0] * PAGE_SIZE + entries[-1][1] + entries[-1][2] \
                == frame * PAGE_SIZE + in_page:
            entries[-1][2] += seg
            entries[-1][4] += 1
        else:
            entries.append([frame, in_page, seg, pos, 1])

    def overlaps_inflight(self, t_off, t_len):
        return any(self.off[e] < t_off + t_len and t_off < self.off[e] + self.length[e] for e, _ in self.inflight)

    def dma_by_address(self, e, entries):
        """The device DMAs each entry (pfn, offset, bytes, device offset) by physical address."""
        for ent in entries:
            target, in_page, seg, pos = ent[:4]
            d = pos % PAGE_SIZE
            done = 0
            while done < seg:  # an extent may span several pages
                pfn = target + (in_page + done) // PAGE_SIZE
                a = (in_page + done) % PAGE_SIZE
                b = (d + done) % PAGE_SIZE
                n = min(seg - done, PAGE_SIZE - a, PAGE_SIZE - b)
                dfp = (pos + done) // PAGE_SIZE
                if self.op[e] == OP_WRITE:
                    self.dev[dfp][b:b + n] = self.pmem[pfn][a:a + n]
                else:
                    self.pmem[pfn][a:a + n] = self.dev[dfp][b:b + n]
                done += n
            self.c["dma_from_pmem" if self.op[e] == OP_WRITE else "dma_to_pmem"] += seg


class Option2:
    """PFNs: walk the mapping to pfns, an entry per page (or per contiguous run, where the
    era's bio_vecs merge); nothing pins the block."""

    struct_page_memmap = False  # does the set-up build the vmemmap pages the buffer touches
    pins = False  # does truncate wait for its references as the era's dax_layout_busy_page does

    def __init__(self, w: _World):
        self.w, self.c = w, w.c

    def admit(self, e, segs) -> bool:
        """Is there room to submit this I/O now (1b's pool)?"""
        return True

    def page(self, e, pos, seg, entries) -> None:
        """Submission of one buffer page: translate it, reference it, describe it."""
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        self.c["pfn_walks"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def submitted(self, e, entries) -> None:
        if self.w.params.get("guard"):
            self.c["range_locks"] += 1

    def complete(self, e, entries) -> None:
        self.w.dma_by_address(e, entries)
        for idx, ent in enumerate(entries):
            self.release(e, idx, ent, entries)
        self.completed(e, entries)

    def release(self, e, idx, ent, entries) -> None:
        """Completion of one entry, after the DMA: drop what submission took."""

    def completed(self, e, entries) -> None:
        pass

    def busy(self, t_off, t_len) -> bool:
        """dax_layout_busy_page(): must a truncate of this range wait?"""
        return bool(self.w.params.get("guard")) and self.w.overlaps_inflight(t_off, t_len)

    def held_bytes(self, n_entries) -> int:
        """DRAM held by transient structures beyond the descriptors."""
        return 0

    def finish(self) -> None:
        """After the run: what must be back where it started."""
        assert all(v == self.w.idle for v in self.w.refcount.values()), "reference: a reference leaked"
        assert self.w.descs == 0, "reference: a folio descriptor leaked"


class Ideal(Option2):
    """The bound: option 2's path, and a truncate comes only after every earlier I/O."""

    def busy(self, t_off, t_len) -> bool:
        return True


class Option3(Option2):
    """Extents: physically contiguous pages merge into one entry, referenced per extent."""

    def page(self, e, pos, seg, entries) -> None:
        pfn = self.w.fs.fault(pos // PAGE_SIZE)
        in_page = pos % PAGE_SIZE
        self.c["pfn_walks"] += 1
        if entries and entries[-1][0] * PAGE_SIZE + entries[-1][1] + entries[-1][2] == pfn * PAGE_SIZE + in_page:
            entries[-1][2] += seg  # physically contiguous: the same extent grows
            entries[-1][4] += 1
        else:
            entries.append([pfn, in_page, seg, pos, 1])

    def submitted(self, e, entries) -> None:
        self.c["refcount_ops"] += len(entries)

    def completed(self, e, entries) -> None:
        self.c["refcount_ops"] += len(entries)

    def busy(self, t_off, t_len) -> bool:
        pfns = self.w.fs.pfns(t_off, t_len)
        return any(ent[0] + k in pfns for _, ents in self.w.inflight for ent in ents for k in range(ent[4]))


class Option1a(Option2):
    """Permanent struct pages: GUP references each page (+1, or +1024 with FOLL_PIN), a read
    dirties it, put_page / unpin drops it."""

    struct_page_memmap = True
    pins = True
    wear = False

    def __init__(self, w):
        super().__init__(w)
        self.wear_of = {}

    def write_line(self, pfn) -> None:
        """A write to the struct page's line (nvram counts it as wear)."""
        if self.wear:
            self.wear_of[pfn] = self.wear_of.get(pfn, 0) + 1
            self.c["memmap_line_writes"] += 1
            self.c["memmap_line_max_writes"] = max(self.c["memmap_line_max_writes"], self.wear_of[pfn])

    def ref(self, pfn, delta, ops=1) -> None:
        w = self.w
        old = w.refcount.get(pfn, w.idle)
        w.refcount[pfn] = old + delta
        self.c["refcount_ops"] += ops
        self.write_line(pfn)
        if w.desc_bytes and delta > 0 and old == w.idle:  # memdesc-8: a descriptor for the folio
            w.descs += 1
            self.c["allocations"] += 1
            self.c["struct_pages_initialised_io"] += 1
            self.c["pool_pages_peak"] = max(self.c["pool_pages_peak"], w.descs)
        if w.desc_bytes and delta < 0 and old + delta == w.idle:
            w.descs -= 1
            self.c["frees"] += 1

    def dirty(self, pfn) -> None:
        self.c["pages_dirtied"] += 1
        self.write_line(pfn)

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        w.touch_memmap(pfn)
        self.ref(pfn, +w.bias)
        if w.op[e] == OP_READ:
            self.dirty(pfn)
        self.c["gup_pages"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def submitted(self, e, entries) -> None:
        pass

    def release(self, e, idx, ent, entries) -> None:
        for k in range(ent[4]):
            self.ref(ent[0] + k, -self.w.bias)
            self.c["put_pages"] += 1

    def busy(self, t_off, t_len) -> bool:
        w = self.w
        return any(w.refcount.get(p, w.idle) != w.idle for p in w.fs.pfns(t_off, t_len))

    def held_bytes(self, n_entries) -> int:
        return self.w.descs * self.w.desc_bytes


class Nvram(Option1a):
    """Option 1a with the memmap on pmem: every write to a struct page is a memmap line write."""

    wear = True


class Huge(Option1a):
    """A huge mapping: before 6.15 a reference per 4 KiB page (order-0 pages in the PMD), from
    6.15 one per compound folio an I/O touches; a fault maps the whole unit."""

    def head(self, pfn):
        n = self.w.params["page_size"] // PAGE_SIZE
        return pfn // n * n

    def folio(self) -> bool:
        return self.w.era.compound_gup == "folio"

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault_huge(pos // PAGE_SIZE, w.params["page_size"] // PAGE_SIZE)
        if self.folio():
            h = self.head(pfn)
            w.touch_memmap(h)
            first = self.first_of(entries, h)
            self.ref(h, +1, ops=1 if first else 0)
            if first:
                self.c["compound_refs"] += 1
                if w.op[e] == OP_READ:
                    self.dirty(h)
        else:
            w.touch_memmap(pfn)
            self.ref(pfn, +w.bias)
            if w.op[e] == OP_READ:
                self.dirty(pfn)
        self.c["gup_pages"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def first_of(self, entries, h) -> bool:
        """Is this page the first of folio ``h`` in the I/O so far (its pages come in order)?"""
        if not entries:
            return True
        last = entries[-1][0] + (entries[-1][1] + entries[-1][2] - 1) // PAGE_SIZE  # the I/O's last page so far
        return self.head(last) != h

    def release(self, e, idx, ent, entries) -> None:
        w = self.w
        for k in range(ent[4]):
            pfn = ent[0] + k
            self.c["put_pages"] += 1
            if self.folio():
                h = self.head(pfn)
                prev = self.prev_page(entries, idx, k)
                self.ref(h, -1, ops=1 if prev is None or self.head(prev) != h else 0)
            else:
                self.ref(pfn, -w.bias)

    @staticmethod
    def prev_page(entries, idx, k):
        """The page before page ``k`` of entry ``idx`` in the I/O, or None."""
        if k > 0:
            return entries[idx][0] + k - 1
        if idx == 0:
            return None
        prev = entries[idx - 1]
        return prev[0] + prev[4] - 1

    def busy(self, t_off, t_len) -> bool:
        w = self.w
        at = self.head if self.folio() else (lambda p: p)
        return any(w.refcount.get(at(p), w.idle) != w.idle for p in w.fs.pfns(t_off, t_len))


class Option1b(Option2):
    """Transient struct pages from a pool, looked up by pfn, shared by in-flight I/Os; a
    read dirties each (never merged: transient pages are not contiguous)."""

    pins = True

    def __init__(self, w):
        super().__init__(w)
        self.used = 0

    def admit(self, e, segs) -> bool:
        w = self.w
        self.c["lookups"] += len(segs)
        need = sum(1 for pos, _ in segs if w.fs.fault(pos // PAGE_SIZE) not in w.refcount)
        return need <= w.params["pool_pages"] - self.used

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        if pfn in w.refcount:
            w.refcount[pfn] += 1
        else:
            w.refcount[pfn] = 1
            self.used += 1
            self.c["struct_pages_initialised_io"] += 1
            self.c["allocations"] += 1
        self.c["gup_pages"] += 1
        self.c["refcount_ops"] += 1
        entries.append([pfn, pos % PAGE_SIZE, seg, pos, 1])

    def submitted(self, e, entries) -> None:
        self.c["pool_pages_peak"] = max(self.c["pool_pages_peak"], self.used)
        if self.w.op[e] == OP_READ:
            self.c["pages_dirtied"] += len(entries)

    def release(self, e, idx, ent, entries) -> None:
        w = self.w
        w.refcount[ent[0]] -= 1
        self.c["put_pages"] += 1
        self.c["refcount_ops"] += 1
        if w.refcount[ent[0]] == 0:
            del w.refcount[ent[0]]
            self.used -= 1
            self.c["frees"] += 1

    def busy(self, t_off, t_len) -> bool:
        return any(p in self.w.refcount for p in self.w.fs.pfns(t_off, t_len))

    def held_bytes(self, n_entries) -> int:
        return self.used * 64

    def finish(self) -> None:
        slots = 1 << max(4, (2 * self.w.params["pool_pages"] - 1).bit_length())  # a power of two, load <= 1/2
        self.c["transient_dram_peak_bytes"] += slots * HT_ENTRY_BYTES
        assert self.used == 0, "reference: a transient struct page leaked"


class Option0(Option2):
    """No struct pages: every I/O bounces through a DRAM page per buffer page."""

    def __init__(self, w):
        super().__init__(w)
        self.free_dram = w.machine.managed_dram(w.layout) // PAGE_SIZE

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        fp, in_page = pos // PAGE_SIZE, pos % PAGE_SIZE
        self.free_dram -= 1
        pfn = w.fs.fault(fp)
        bounce = bytearray(PAGE_SIZE)
        if w.op[e] == OP_WRITE:
            bounce[in_page:in_page + seg] = w.pmem[pfn][in_page:in_page + seg]
            self.c["copy_pmem_to_dram"] += seg
        self.c["allocations"] += 1
        self.c["refcount_ops"] += 1
        entries.append([bounce, in_page, seg, pos])

    def submitted(self, e, entries) -> None:
        pass

    def complete(self, e, entries) -> None:
        w = self.w
        for bounce, in_page, seg, pos in entries:
            fp, d = pos // PAGE_SIZE, pos % PAGE_SIZE
            if w.op[e] == OP_WRITE:
                w.dev[fp][d:d + seg] = bounce[in_page:in_page + seg]
                self.c["dma_from_dram"] += seg
            else:
                bounce[in_page:in_page + seg] = w.dev[fp][d:d + seg]
                self.c["dma_to_dram"] += seg
                w.pmem[w.fs.fault(fp)][in_page:in_page + seg] = bounce[in_page:in_page + seg]
                self.c["copy_dram_to_pmem"] += seg
                self.c["bytes_flushed"] += seg
            self.free_dram += 1
            self.c["frees"] += 1
            self.c["refcount_ops"] += 1

    def busy(self, t_off, t_len) -> bool:
        return self.w.overlaps_inflight(t_off, t_len)

    def held_bytes(self, n_entries) -> int:
        return n_entries * PAGE_SIZE

    def finish(self) -> None:
        assert self.free_dram == self.w.machine.managed_dram(self.w.layout) // PAGE_SIZE, \
            "reference: a bounce page leaked"


def oracle_of(option) -> type:
    """The reference class the design registry names for ``option``."""
    module, _, name = design(option).oracle.partition(":")
    return getattr(importlib.import_module(module), name)


def run_reference(option, machine: Machine, workload: Workload, pool_pages: int = 4096,
                  guard: bool = False, queue_depth: int | None = None, page_size: int = 2 << 20,
                  dirty_granularity: str = "mapping", kernel=None) -> ReferenceResult:
    """Run ``workload`` through ``option`` the slow way (data always moved), as the ``kernel``
    era does it (default the newest)."""
    d = design(str(option))
    kernel = era(kernel)
    if d.memmap:
        machine = machine.replace(memmap=d.memmap)
    params = {"pool_pages": pool_pages, "guard": guard, "page_size": page_size}
    unit = page_size if d.key == "huge" and dirty_granularity == "mapping" else PAGE_SIZE
    layout = machine.layout(d.struct_pages)
    c = dict.fromkeys(COUNTERS, 0)
    w = _World(machine, layout, workload, c, params, kernel)
    path = oracle_of(d.key)(w)
    op, off, length = (a.tolist() for a in workload.generate())
    w.op, w.off, w.length = op, off, length
    qd = int(queue_depth or workload.queue_depth)
    io_pages = sorted({p for o, a, n in zip(op, off, length) if o in (OP_READ, OP_WRITE)
                       for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)})
    used_pages = sorted({p for o, a, n in zip(op, off, length) if o in (OP_READ, OP_WRITE, OP_STORE)
                         for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)})
    all_pages = sorted({p for a, n in zip(off, length) if n for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)})
    for fp in all_pages:
        pfn = w.fs.map[fp]
        w.pmem[pfn] = pattern_page((pfn - w.pmem_base) * PAGE_SIZE, 0x1)
    w.dev.update({fp: pattern_page(fp * PAGE_SIZE, 0x2) for fp in io_pages})
    for fp in used_pages:  # set-up: the buffer is faulted in (MAP_POPULATE); with a memmap the touched part built
        if fp not in w.fs.pte:
            c["setup_faults"] += 1
        pfn = w.fs.fault(fp)
        if path.struct_page_memmap:
            w.touch_memmap(pfn)

    def submit(e):
        """The I/O's descriptor entries, or None if there is no room for it yet."""
        segs = list(_segments(off[e], length[e]))
        if not path.admit(e, segs):
            return None
        entries = []
        for pos, seg in segs:
            c["pages_spanned"] += 1
            path.page(e, pos, seg, entries)
        c["descriptor_entries"] += len(entries)
        path.submitted(e, entries)
        return entries

    def complete_oldest(kind):
        e, ents = w.inflight.popleft()
        path.complete(e, ents)
        if kind:
            c[kind + "_ios"] += 1
            c[kind + "_bytes"] += length[e]

    dirty_units, lines64, lines256 = set(), set(), set()
    for e in range(len(op)):
        if op[e] == OP_STORE:
            while w.inflight and w.overlaps_inflight(off[e], length[e]):
                complete_oldest(None)
            for i in range(length[e]):
                pos = off[e] + i
                w.pmem[w.fs.fault(pos // PAGE_SIZE)][pos % PAGE_SIZE] = (e * 131 + i * 7 + 1) & 0xFF
                if pos // unit not in dirty_units:
                    dirty_units.add(pos // unit)
                    c["dirty_faults"] += 1
                lines64.add(pos // 64)
                lines256.add(pos // 256)
            c["stores"] += 1
            c["store_bytes"] += length[e]
            continue
        if op[e] == OP_FSYNC:
            c["dirty_units"] += len(dirty_units)
            c["bytes_flushed"] += len(dirty_units) * unit
            c["cache_lines_dirtied"] += len(lines64)
            c["xplines_dirtied"] += len(lines256)
            c["fsyncs"] += 1
            dirty_units, lines64, lines256 = set(), set(), set()
            continue
        if op[e] == OP_MUNMAP:
            w.fs.munmap(off[e], length[e])
            c["munmaps"] += 1
            continue
        if op[e] == OP_TRUNC:
            waited = 0
            if path.pins:  # dax_layout_busy_page(), as the era does it
                if kernel.truncate_wait and not (kernel.truncate_needs_mapping and not w.fs.mapped()):
                    t_off, t_len = off[e], length[e]
                    if kernel.truncate_scope == "file":
                        c["ptes_unmapped"] += w.fs.unmap_all()  # the whole file (4.18+)
                        t_off, t_len = 0, workload.file_size
                    while w.inflight and path.busy(t_off, t_len):  # every busy page of the file
                        complete_oldest("wait")
                        waited += 1
            else:
                while w.inflight and path.busy(off[e], length[e]):
                    complete_oldest("wait")
                    waited += 1
            c["truncate_waits"] += waited > 0
            c["truncates"] += 1
            w.fs.punch(off[e], length[e])
            continue
        if len(w.inflight) == qd:
            complete_oldest(None)
        ents = submit(e)
        if ents is None:
            c["pool_stalls"] += 1
            while ents is None:
                complete_oldest("stall")
                ents = submit(e)
        w.inflight.append((e, ents))
        c["ios_completed"] += 1
        c["bytes_requested"] += length[e]
        n_entries = sum(len(x) for _, x in w.inflight)
        c["descriptor_bytes_peak"] = max(c["descriptor_bytes_peak"], n_entries * DESC_BYTES)
        held = n_entries * DESC_BYTES + path.held_bytes(n_entries)
        c["transient_dram_peak_bytes"] = max(c["transient_dram_peak_bytes"], held)
    while w.inflight:
        complete_oldest(None)
    path.finish()
    return ReferenceResult(c, {k: bytes(v) for k, v in w.pmem.items()}, {k: bytes(v) for k, v in w.dev.items()})
