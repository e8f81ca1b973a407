"""The test oracle: a slow, plain-Python version of every I/O path.

It shares only the set-up with the numba paths (the machine's namespace layout and the
file's extents); the I/O path itself is written again with dicts and bytearrays, one
step at a time, so that a kernel bug cannot hide in shared code. Tests run both on
small seeded workloads and compare every counter and every byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .daxfs import create_file
from .machine import Machine
from .paths import path_module
from .units import PAGE_SIZE, STRUCT_PAGES_PER_VMEMMAP_PAGE
from .workload import OP_WRITE, Workload

BIO_VEC_SIZE = 16
MASK64 = (1 << 64) - 1


def pattern_page(byte_start: int, salt: int) -> bytearray:
    """The initial contents of the 4 KiB page at ``byte_start`` (see paths.common.fill_pattern)."""
    out = bytearray()
    for j in range(PAGE_SIZE // 8):
        x = (((byte_start // 8 + j) * 0x9E3779B97F4A7C15) & MASK64) ^ salt
        x ^= x >> 29
        out += ((x * 0xBF58476D1CE4E5B9) & MASK64).to_bytes(8, "little")
    return out


@dataclass
class ReferenceResult:
    counters: dict
    pmem_pages: dict  # file page -> bytes of its pmem page after the run
    dev_pages: dict  # file page -> bytes of the device block after the run


def run_reference(option, machine: Machine, workload: Workload) -> ReferenceResult:
    """Run ``workload`` through ``option`` the slow way (data always moved)."""
    mod = path_module(option)
    layout = machine.layout(mod.STRUCT_PAGES)
    first_data_pfn = machine.pmem_base_pfn + layout.dataoff // PAGE_SIZE
    end_pfn = machine.pmem_base_pfn + machine.pmem // PAGE_SIZE
    f = create_file("buffer", workload.file_size, first_data_pfn, end_pfn, workload.extent_size,
                    np.random.default_rng(workload.seed))
    fs_map = {}  # file page -> pfn, from the extents, one page at a time
    for fpage, pfn, n in zip(f.ext_fpage.tolist(), f.ext_pfn.tolist(), f.ext_len.tolist()):
        for k in range(n):
            fs_map[fpage + k] = pfn + k
    op, off, length = workload.generate()
    op, off, length = op.tolist(), off.tolist(), length.tolist()
    c = dict.fromkeys(("ios", "bytes_requested", "pages_spanned", "dma_to_pmem", "dma_from_pmem", "dma_to_dram",
                       "dma_from_dram", "copy_pmem_to_dram", "copy_dram_to_pmem", "bytes_flushed",
                       "struct_pages_initialised_io", "struct_pages_materialised", "refcount_ops", "gup_pages",
                       "put_pages", "allocations", "frees", "descriptor_entries", "descriptor_bytes_peak",
                       "transient_dram_peak_bytes", "page_faults", "alloc_failures"), 0)
    pmem_base = machine.pmem_base_pfn * PAGE_SIZE
    touched = sorted({p for o, n in zip(off, length) for p in range(o // PAGE_SIZE, (o + n - 1) // PAGE_SIZE + 1)})
    pmem = {fp: pattern_page(fs_map[fp] * PAGE_SIZE - pmem_base, 0x1) for fp in touched}
    dev = {fp: pattern_page(fp * PAGE_SIZE, 0x2) for fp in touched}
    # set-up: the application's buffer is faulted in; with a memmap, the touched part is built
    pte = {fp: fs_map[fp] for fp in touched}
    c["page_faults"] = len(touched)
    refcount = {}
    if mod.STRUCT_PAGES:
        base = machine.pmem_base_pfn + (2 if layout.map == "dev" else 0)  # the altmap starts after the info block
        nmemmap = (layout.memmap_pmem_bytes or layout.memmap_dram_bytes) // 64
        blocks = {(pte[fp] - base) // STRUCT_PAGES_PER_VMEMMAP_PAGE for fp in touched}
        for b in blocks:
            c["struct_pages_materialised"] += min(STRUCT_PAGES_PER_VMEMMAP_PAGE, nmemmap - b * STRUCT_PAGES_PER_VMEMMAP_PAGE)
        refcount = {pte[fp]: 1 for fp in touched}  # ZONE_DEVICE pages idle at 1
    free_dram_pages = machine.managed_dram(layout) // PAGE_SIZE

    def segments(o, n):
        pos = o
        while pos < o + n:
            seg = min(PAGE_SIZE - pos % PAGE_SIZE, o + n - pos)
            yield pos, seg
            pos += seg

    qd = int(workload.queue_depth)
    for b0 in range(0, len(op), qd):
        batch = range(b0, min(b0 + qd, len(op)))
        bios = []  # per I/O: list of (target, in_page, seg, pos)
        for i in batch:
            c["bytes_requested"] += length[i]
            vecs = []
            for pos, seg in segments(off[i], length[i]):
                fp, in_page = pos // PAGE_SIZE, pos % PAGE_SIZE
                c["pages_spanned"] += 1
                if option == "1a":
                    refcount[pte[fp]] += 1
                    c["gup_pages"] += 1
                    c["refcount_ops"] += 1
                    vecs.append((pte[fp], in_page, seg, pos))
                else:  # option 0: a bounce page per buffer page
                    if free_dram_pages == 0:
                        raise AssertionError("reference ran out of bounce pages")
                    free_dram_pages -= 1
                    c["allocations"] += 1
                    c["refcount_ops"] += 1
                    bounce = bytearray(PAGE_SIZE)
                    if op[i] == OP_WRITE:
                        bounce[in_page:in_page + seg] = pmem[fp][in_page:in_page + seg]
                        c["copy_pmem_to_dram"] += seg
                    vecs.append((bounce, in_page, seg, pos))
            bios.append(vecs)
        nvec = sum(len(v) for v in bios)
        c["descriptor_entries"] += nvec
        c["descriptor_bytes_peak"] = max(c["descriptor_bytes_peak"], nvec * BIO_VEC_SIZE)
        bounce_bytes = nvec * PAGE_SIZE if option == "0" else 0
        c["transient_dram_peak_bytes"] = max(c["transient_dram_peak_bytes"], nvec * BIO_VEC_SIZE + bounce_bytes)
        for i, vecs in zip(batch, bios):  # DMA
            for target, in_page, seg, pos in vecs:
                fp = pos // PAGE_SIZE
                if option == "1a":
                    if op[i] == OP_WRITE:
                        dev[fp][in_page:in_page + seg] = pmem[fp][in_page:in_page + seg]
                        c["dma_from_pmem"] += seg
                    else:
                        pmem[fp][in_page:in_page + seg] = dev[fp][in_page:in_page + seg]
                        c["dma_to_pmem"] += seg
                else:
                    if op[i] == OP_WRITE:
                        dev[fp][in_page:in_page + seg] = target[in_page:in_page + seg]
                        c["dma_from_dram"] += seg
                    else:
                        target[in_page:in_page + seg] = dev[fp][in_page:in_page + seg]
                        c["dma_to_dram"] += seg
        for i, vecs in zip(batch, bios):  # completion
            for target, in_page, seg, pos in vecs:
                fp = pos // PAGE_SIZE
                c["refcount_ops"] += 1
                if option == "1a":
                    refcount[target] -= 1
                    c["put_pages"] += 1
                else:
                    if op[i] != OP_WRITE:
                        pmem[fp][in_page:in_page + seg] = target[in_page:in_page + seg]
                        c["copy_dram_to_pmem"] += seg
                        c["bytes_flushed"] += seg
                    free_dram_pages += 1
                    c["frees"] += 1
            c["ios"] += 1
    if option == "1a":
        assert all(v == 1 for v in refcount.values()), "reference: a page reference leaked"
    return ReferenceResult(c, {k: bytes(v) for k, v in pmem.items()}, {k: bytes(v) for k, v in dev.items()})


__all__ = ["run_reference", "ReferenceResult", "pattern_page"]
