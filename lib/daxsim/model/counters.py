"""The counters every path reports.

Kernels count into one int64 array indexed by the ``C_*`` constants below (numba
freezes module constants at compile time, which is what we want here);
:func:`counters_dict` names them as ``run --json`` does.
"""

from __future__ import annotations

import numpy as np


#: name -> meaning; the order fixes the index into the counters array
COUNTERS = {
    "ios_completed": "I/Os completed",
    "bytes_requested": "bytes the application asked to move",
    "pages_spanned": "4 KiB pages the I/O buffers span",
    "dma_to_pmem": "bytes the device wrote into pmem by DMA",
    "dma_from_pmem": "bytes the device read from pmem by DMA",
    "dma_to_dram": "bytes the device wrote into DRAM by DMA",
    "dma_from_dram": "bytes the device read from DRAM by DMA",
    "copy_pmem_to_dram": "bytes the CPU copied from pmem into DRAM",
    "copy_dram_to_pmem": "bytes the CPU copied from DRAM into pmem",
    "bytes_flushed": "bytes written to pmem by CPU stores that must be flushed to media",
    "struct_pages_initialised_io": "struct pages initialised on the I/O path",
    "struct_pages_materialised": "struct pages the emulator built on first touch",
    "refcount_ops": "page refcount changes (get/put, alloc/free)",
    "gup_pages": "pages translated and referenced by get_user_pages",
    "put_pages": "page references dropped at completion",
    "allocations": "page allocations from the buddy allocator",
    "frees": "pages freed back to the buddy allocator",
    "descriptor_entries": "entries of the device's memory descriptor (bio_vecs)",
    "descriptor_bytes_peak": "peak bytes of descriptors in flight",
    "transient_dram_peak_bytes": "peak DRAM held by transient structures (bounce pages, descriptors)",
    "page_faults": "DAX faults that installed a PTE",
    "alloc_failures": "allocations that found no free page",
    "pfn_walks": "pages translated to pfns without touching a struct page (options 2, 3)",
    "lookups": "pfn -> transient struct page lookups (option 1b)",
    "pool_pages_peak": "peak transient struct pages in use (option 1b)",
    "pool_stalls": "I/Os that waited for free transient struct pages (option 1b)",
    "stall_ios": "I/Os completed early so that a stalled I/O could start",
    "stall_bytes": "bytes of the I/Os waited for by stalls",
    "truncates": "truncate / hole-punch faults",
    "truncate_waits": "truncates that had to wait for in-flight DMA (dax_layout_busy_page)",
    "wait_ios": "I/Os a truncate waited for",
    "wait_bytes": "bytes of the I/Os a truncate waited for",
    "range_locks": "filesystem range locks taken and released (option 2 with guard)",
    "bytes_zeroed": "bytes of new blocks zeroed when a hole was filled",
    "victim_bytes_written": "bytes another file wrote into blocks freed by a truncate",
    "compound_refs": "references taken on compound (huge) pages, one per compound page per I/O",
    "stores": "CPU stores through the DAX mapping",
    "store_bytes": "bytes the CPU stored through the mapping",
    "dirty_faults": "write faults that marked a clean mapping unit dirty",
    "dirty_units": "mapping units written back by fsync",
    "cache_lines_dirtied": "distinct 64-byte lines stored to, between fsyncs",
    "xplines_dirtied": "distinct 256-byte media lines (Optane XPLines) stored to, between fsyncs",
    "fsyncs": "fsync calls",
    "memmap_line_writes": "writes to memmap cache lines (refcount changes) when the memmap is on pmem",
    "memmap_line_max_writes": "most writes to any one memmap line (the wear hot spot)",
    "inflight_lost": "I/Os still in flight when the run was cut short (power loss): never completed",
    "setup_faults": "DAX faults taken while the buffer was populated before the run (page_faults includes them)",
    "pages_dirtied": "struct pages (per folio from 6.15) a read's completion locked and marked dirty",
    "ptes_unmapped": "PTEs a truncate unmapped before scanning for busy pages (the whole file, from 4.18)",
    "munmaps": "munmap calls on the buffer's mapping",
}
_IDX = {name: i for i, name in enumerate(COUNTERS)}
N_COUNTERS = len(COUNTERS)

C_IOS = _IDX["ios_completed"]
C_BYTES_REQUESTED = _IDX["bytes_requested"]
C_PAGES_SPANNED = _IDX["pages_spanned"]
C_DMA_TO_PMEM = _IDX["dma_to_pmem"]
C_DMA_FROM_PMEM = _IDX["dma_from_pmem"]
C_DMA_TO_DRAM = _IDX["dma_to_dram"]
C_DMA_FROM_DRAM = _IDX["dma_from_dram"]
C_COPY_PMEM_TO_DRAM = _IDX["copy_pmem_to_dram"]
C_COPY_DRAM_TO_PMEM = _IDX["copy_dram_to_pmem"]
C_BYTES_FLUSHED = _IDX["bytes_flushed"]
C_SP_INIT_IO = _IDX["struct_pages_initialised_io"]
C_SP_MATERIALISED = _IDX["struct_pages_materialised"]
C_REFCOUNT_OPS = _IDX["refcount_ops"]
C_GUP_PAGES = _IDX["gup_pages"]
C_PUT_PAGES = _IDX["put_pages"]
C_ALLOCATIONS = _IDX["allocations"]
C_FREES = _IDX["frees"]
C_DESC_ENTRIES = _IDX["descriptor_entries"]
C_DESC_PEAK = _IDX["descriptor_bytes_peak"]
C_TRANSIENT_PEAK = _IDX["transient_dram_peak_bytes"]
C_FAULTS = _IDX["page_faults"]
C_ALLOC_FAIL = _IDX["alloc_failures"]
C_PFN_WALKS = _IDX["pfn_walks"]
C_LOOKUPS = _IDX["lookups"]
C_POOL_PEAK = _IDX["pool_pages_peak"]
C_POOL_STALLS = _IDX["pool_stalls"]
C_STALL_IOS = _IDX["stall_ios"]
C_STALL_BYTES = _IDX["stall_bytes"]
C_TRUNCATES = _IDX["truncates"]
C_TRUNC_WAITS = _IDX["truncate_waits"]
C_WAIT_IOS = _IDX["wait_ios"]
C_WAIT_BYTES = _IDX["wait_bytes"]
C_RANGE_LOCKS = _IDX["range_locks"]
C_ZEROED = _IDX["bytes_zeroed"]
C_VICTIM_BYTES = _IDX["victim_bytes_written"]
C_COMPOUND_REFS = _IDX["compound_refs"]
C_STORES = _IDX["stores"]
C_STORE_BYTES = _IDX["store_bytes"]
C_DIRTY_FAULTS = _IDX["dirty_faults"]
C_DIRTY_UNITS = _IDX["dirty_units"]
C_LINES64 = _IDX["cache_lines_dirtied"]
C_LINES256 = _IDX["xplines_dirtied"]
C_FSYNCS = _IDX["fsyncs"]
C_MEMMAP_WRITES = _IDX["memmap_line_writes"]
C_MEMMAP_MAX_WRITES = _IDX["memmap_line_max_writes"]
C_INFLIGHT_LOST = _IDX["inflight_lost"]
C_SETUP_FAULTS = _IDX["setup_faults"]
C_PAGES_DIRTIED = _IDX["pages_dirtied"]
C_PTES_UNMAPPED = _IDX["ptes_unmapped"]
C_MUNMAPS = _IDX["munmaps"]

BIO_VEC_SIZE = 16  #: struct bio_vec: page pointer, length, offset (a pfn-based one is as large)
PHYS_VEC_SIZE = 16  #: struct phys_vec / phyr: physical address, length


def new_counters() -> np.ndarray:
    return np.zeros(N_COUNTERS, np.int64)


def counters_dict(c: np.ndarray) -> dict[str, int]:
    return {name: int(c[i]) for name, i in _IDX.items()}
