"""The test oracle: a slow, plain-Python version of every I/O path.

It shares only the set-up with the numba paths (the namespace layout and the file's
extents); the queue, the filesystem's block map and allocator, truncates, struct pages,
the pool of option 1b, extents and every byte copy are written again with dicts, lists
and bytearrays, one step at a time, so that a kernel bug cannot hide in shared code.
Tests run both on small seeded workloads and compare every counter and every byte.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from daxsim.emu.daxfs import create_file
from daxsim.emu.machine import INFO_BLOCK_SIZE, Machine
from daxsim.model.metrics import COUNTERS
from daxsim.paths import option1b, path_module
from daxsim.emu.units import PAGE_SIZE, STRUCT_PAGES_PER_VMEMMAP_PAGE
from daxsim.emu.workload import OP_FSYNC, OP_READ, OP_STORE, OP_TRUNC, OP_WRITE, Workload

MASK64 = (1 << 64) - 1
DESC_BYTES = 16  # bio_vec, pfn vector entry, phys_vec: all 16 bytes
VICTIM_SALT = 0x100


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


def _segments(o, n):
    pos = o
    while pos < o + n:
        seg = min(PAGE_SIZE - pos % PAGE_SIZE, o + n - pos)
        yield pos, seg
        pos += seg


def run_reference(option, machine: Machine, workload: Workload, pool_pages: int = 4096,
                  guard: bool = False, queue_depth: int | None = None, page_size: int = 2 << 20,
                  dirty_granularity: str = "mapping") -> ReferenceResult:
    """Run ``workload`` through ``option`` the slow way (data always moved)."""
    option = str(option)
    mod = path_module(option)
    if option == "nvram":
        machine = machine.replace(memmap="pmem")
    huge_pages = page_size // PAGE_SIZE if option == "huge" else 1
    unit = page_size if option == "huge" and dirty_granularity == "mapping" else PAGE_SIZE
    layout = machine.layout(mod.STRUCT_PAGES)
    pmem_base = machine.pmem_base_pfn
    f = create_file("buffer", workload.file_size, pmem_base + layout.dataoff // PAGE_SIZE,
                    pmem_base + machine.pmem // PAGE_SIZE, workload.extent_size, np.random.default_rng(workload.seed))
    op, off, length = (a.tolist() for a in workload.generate())
    c = dict.fromkeys(COUNTERS, 0)
    qd = int(queue_depth or workload.queue_depth)
    io_pages = sorted({p for o, a, n in zip(op, off, length) if o in (OP_READ, OP_WRITE)
                       for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)})
    all_pages = sorted({p for a, n in zip(off, length) if n for p in range(a // PAGE_SIZE, (a + n - 1) // PAGE_SIZE + 1)})
    pmem: dict[int, bytearray] = {}
    fs = _Fs(f, int((f.ext_pfn + f.ext_len).max()), pmem, pmem_base, c)
    for fp in all_pages:
        pfn = fs.map[fp]
        pmem[pfn] = pattern_page((pfn - pmem_base) * PAGE_SIZE, 0x1)
    dev = {fp: pattern_page(fp * PAGE_SIZE, 0x2) for fp in io_pages}

    # struct pages (1a: permanent, built lazily per vmemmap page; 1b: the pool)
    memmap_base = pmem_base + (INFO_BLOCK_SIZE // PAGE_SIZE if layout.map == "dev" else 0)
    nmemmap = (layout.memmap_pmem_bytes or layout.memmap_dram_bytes) // 64
    built = set()
    refcount = {}  # 1a: pfn -> refcount (idle 1); 1b: pfn -> refcount of its transient page

    def touch_memmap(pfn):
        block = (pfn - memmap_base) // STRUCT_PAGES_PER_VMEMMAP_PAGE
        if block not in built:
            built.add(block)
            c["struct_pages_materialised"] += min(STRUCT_PAGES_PER_VMEMMAP_PAGE,
                                                  nmemmap - block * STRUCT_PAGES_PER_VMEMMAP_PAGE)

    for fp in io_pages:  # set-up: the buffer is faulted in; with a memmap the touched part built
        pfn = fs.fault(fp)
        if mod.STRUCT_PAGES:
            touch_memmap(pfn)
    wear = {}

    def ref(pfn, delta):  # 1a, nvram, huge: a refcount change on a struct page
        refcount[pfn] = refcount.get(pfn, 1) + delta
        c["refcount_ops"] += 1
        if option == "nvram":
            wear[pfn] = wear.get(pfn, 0) + 1
            c["memmap_line_writes"] += 1
            c["memmap_line_max_writes"] = max(c["memmap_line_max_writes"], wear[pfn])

    def head_of(pfn):
        return pfn // huge_pages * huge_pages
    free_dram = machine.managed_dram(layout) // PAGE_SIZE
    pool_used = 0

    def submit(e):
        """Returns the I/O's descriptor entries, or None if 1b's pool cannot hold it yet."""
        nonlocal free_dram, pool_used
        segs = list(_segments(off[e], length[e]))
        if option == "1b":
            c["lookups"] += len(segs)
            need = sum(1 for pos, _ in segs if fs.fault(pos // PAGE_SIZE) not in refcount)
            if need > pool_pages - pool_used:
                return None
        entries = []
        for pos, seg in segs:
            fp, in_page = pos // PAGE_SIZE, pos % PAGE_SIZE
            c["pages_spanned"] += 1
            if option == "0":
                free_dram -= 1
                pfn = fs.fault(fp)
                bounce = bytearray(PAGE_SIZE)
                if op[e] == OP_WRITE:
                    bounce[in_page:in_page + seg] = pmem[pfn][in_page:in_page + seg]
                    c["copy_pmem_to_dram"] += seg
                c["allocations"] += 1
                c["refcount_ops"] += 1
                entries.append([bounce, in_page, seg, pos])
                continue
            pfn = fs.fault(fp)
            if option in ("1a", "nvram"):
                touch_memmap(pfn)
                ref(pfn, +1)
                c["gup_pages"] += 1
            elif option == "huge":
                h = head_of(pfn)
                if not entries or head_of(entries[-1][0]) != h:
                    touch_memmap(h)
                    ref(h, +1)
                    c["compound_refs"] += 1
                c["gup_pages"] += 1
            elif option == "1b":
                if pfn in refcount:
                    refcount[pfn] += 1
                else:
                    refcount[pfn] = 1
                    pool_used += 1
                    c["struct_pages_initialised_io"] += 1
                    c["allocations"] += 1
                c["gup_pages"] += 1
                c["refcount_ops"] += 1
            else:
                c["pfn_walks"] += 1
            if option == "3" and entries and \
                    entries[-1][0] * PAGE_SIZE + entries[-1][1] + entries[-1][2] == pfn * PAGE_SIZE + in_page:
                entries[-1][2] += seg  # physically contiguous: the same extent grows
                entries[-1][4] += 1
            else:
                entries.append([pfn, in_page, seg, pos, 1])
        c["descriptor_entries"] += len(entries)
        if option == "3":
            c["refcount_ops"] += len(entries)
        if option == "2" and guard:
            c["range_locks"] += 1
        c["pool_pages_peak"] = max(c["pool_pages_peak"], pool_used)
        return entries

    def complete(e, entries):
        nonlocal free_dram, pool_used
        for idx, ent in enumerate(entries):
            target, in_page, seg, pos = ent[:4]
            fp = pos // PAGE_SIZE
            d = pos % PAGE_SIZE
            if option == "0":
                if op[e] == OP_WRITE:
                    dev[fp][d:d + seg] = target[in_page:in_page + seg]
                    c["dma_from_dram"] += seg
                else:
                    target[in_page:in_page + seg] = dev[fp][d:d + seg]
                    c["dma_to_dram"] += seg
                    pmem[fs.fault(fp)][in_page:in_page + seg] = target[in_page:in_page + seg]
                    c["copy_dram_to_pmem"] += seg
                    c["bytes_flushed"] += seg
                free_dram += 1
                c["frees"] += 1
                c["refcount_ops"] += 1
                continue
            # DMA by physical address: the extent may span several pages
            done = 0
            while done < seg:
                pfn = target + (in_page + done) // PAGE_SIZE
                a = (in_page + done) % PAGE_SIZE
                b = (d + done) % PAGE_SIZE
                n = min(seg - done, PAGE_SIZE - a, PAGE_SIZE - b)
                dfp = (pos + done) // PAGE_SIZE
                if op[e] == OP_WRITE:
                    dev[dfp][b:b + n] = pmem[pfn][a:a + n]
                else:
                    pmem[pfn][a:a + n] = dev[dfp][b:b + n]
                done += n
            c["dma_from_pmem" if op[e] == OP_WRITE else "dma_to_pmem"] += seg
            if option in ("1a", "nvram"):
                ref(target, -1)
                c["put_pages"] += 1
            elif option == "huge":
                c["put_pages"] += 1
                if idx == 0 or head_of(entries[idx - 1][0]) != head_of(target):
                    ref(head_of(target), -1)
            elif option == "1b":
                refcount[target] -= 1
                c["put_pages"] += 1
                c["refcount_ops"] += 1
                if refcount[target] == 0:
                    del refcount[target]
                    pool_used -= 1
                    c["frees"] += 1
        if option == "3":
            c["refcount_ops"] += len(entries)

    inflight = deque()  # (event, entries)

    def busy(t_off, t_len):
        if option == "ideal":
            return True
        if option == "2" and not guard:
            return False
        if option in ("0", "2"):
            return any(off[e] < t_off + t_len and t_off < off[e] + length[e] for e, _ in inflight)
        pfns = {fs.map[fp] for fp in range(t_off // PAGE_SIZE, (t_off + t_len) // PAGE_SIZE) if fp in fs.map}
        if option in ("1a", "nvram"):
            return any(refcount.get(p, 1) != 1 for p in pfns)
        if option == "huge":
            return any(refcount.get(head_of(p), 1) != 1 for p in pfns)
        if option == "1b":
            return any(p in refcount for p in pfns)
        return any(ent[0] + k in pfns for _, ents in inflight for ent in ents for k in range(ent[4]))  # 3

    def complete_oldest(kind):
        e, ents = inflight.popleft()
        complete(e, ents)
        if kind:
            c[kind + "_ios"] += 1
            c[kind + "_bytes"] += length[e]

    dirty_units, lines64, lines256 = set(), set(), set()
    for e in range(len(op)):
        if op[e] == OP_STORE:
            while inflight and any(off[x] < off[e] + length[e] and off[e] < off[x] + length[x] for x, _ in inflight):
                complete_oldest(None)
            for i in range(length[e]):
                pos = off[e] + i
                pmem[fs.fault(pos // PAGE_SIZE)][pos % PAGE_SIZE] = (e * 131 + i * 7 + 1) & 0xFF
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
        if op[e] == OP_TRUNC:
            waited = 0
            while inflight and busy(off[e], length[e]):
                complete_oldest("wait")
                waited += 1
            c["truncate_waits"] += waited > 0
            c["truncates"] += 1
            fs.punch(off[e], length[e])
            continue
        if len(inflight) == qd:
            complete_oldest(None)
        ents = submit(e)
        if ents is None:
            c["pool_stalls"] += 1
            while ents is None:
                complete_oldest("stall")
                ents = submit(e)
        inflight.append((e, ents))
        c["ios"] += 1
        c["bytes_requested"] += length[e]
        n_entries = sum(len(x) for _, x in inflight)
        c["descriptor_bytes_peak"] = max(c["descriptor_bytes_peak"], n_entries * DESC_BYTES)
        held = n_entries * DESC_BYTES + (n_entries * PAGE_SIZE if option == "0" else 0) + pool_used * 64
        c["transient_dram_peak_bytes"] = max(c["transient_dram_peak_bytes"], held)
    while inflight:
        complete_oldest(None)
    if option == "1b":
        c["transient_dram_peak_bytes"] += option1b.table_slots(pool_pages) * option1b.HT_ENTRY_BYTES
    assert free_dram == machine.managed_dram(layout) // PAGE_SIZE, "reference: a bounce page leaked"
    assert pool_used == 0 and (option == "1b" or all(v == 1 for v in refcount.values())), \
        "reference: a reference leaked"
    return ReferenceResult(c, {k: bytes(v) for k, v in pmem.items()}, {k: bytes(v) for k, v in dev.items()})


__all__ = ["ReferenceResult", "pattern_page", "run_reference"]
