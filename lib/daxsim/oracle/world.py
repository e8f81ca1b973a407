"""What every reference path works on (the test oracle's shared part): the pattern every
page starts with, the DAX filesystem written again with dicts (block map, page table, freed
blocks), and :class:`World`, the counters, pages, struct pages and queue of one run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from daxsim.emu.daxfs import create_file
from daxsim.emu.machine import INFO_BLOCK_SIZE
from daxsim.emu.units import PAGE_SIZE, STRUCT_PAGES_PER_VMEMMAP_PAGE
from daxsim.emu.workload import OP_WRITE

MASK64 = (1 << 64) - 1
DESC_BYTES = 16  # bio_vec, pfn vector entry, phys_vec: all 16 bytes
HT_ENTRY_BYTES = 16  # option 1b's hash table: key and value per slot
VICTIM_SALT = 0x100

__all__ = ["DESC_BYTES", "HT_ENTRY_BYTES", "VICTIM_SALT", "Fs", "ReferenceResult", "World", "pattern_page", "segments"]


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


class Fs:
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


def segments(o, n):
    pos = o
    while pos < o + n:
        seg = min(PAGE_SIZE - pos % PAGE_SIZE, o + n - pos)
        yield pos, seg
        pos += seg


class World:
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
        f = create_file(
            "buffer",
            workload.file_size,
            self.pmem_base + layout.dataoff // PAGE_SIZE,
            self.pmem_base + machine.pmem // PAGE_SIZE,
            workload.extent_size,
            np.random.default_rng(workload.seed),
        )
        self.pmem: dict[int, bytearray] = {}
        self.dev: dict[int, bytearray] = {}
        self.fs = Fs(f, int((f.ext_pfn + f.ext_len).max()), self.pmem, self.pmem_base, c)
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
            self.c["struct_pages_materialised"] += min(
                STRUCT_PAGES_PER_VMEMMAP_PAGE, self.nmemmap - block * STRUCT_PAGES_PER_VMEMMAP_PAGE
            )

    def add_entry(self, entries, frame, in_page, seg, pos):
        """A descriptor entry, or more bytes in the last one where the era merges contiguous pages."""
        if (
            self.merge
            and entries
            and entries[-1][0] * PAGE_SIZE + entries[-1][1] + entries[-1][2] == frame * PAGE_SIZE + in_page
        ):
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
                    self.dev[dfp][b : b + n] = self.pmem[pfn][a : a + n]
                else:
                    self.pmem[pfn][a : a + n] = self.dev[dfp][b : b + n]
                done += n
            self.c["dma_from_pmem" if self.op[e] == OP_WRITE else "dma_to_pmem"] += seg
