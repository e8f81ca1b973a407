"""The counters every path reports, and the cost model that turns them into time.

Kernels count into one int64 array indexed by the ``C_*`` constants below (numba
freezes module constants at compile time, which is what we want here). The cost model
is a sum of counted work times unit costs; :data:`FORMULA` prints it as the book shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hardware import DDR4, CostModel, HardwareProfile

#: name -> meaning; the order fixes the index into the counters array
COUNTERS = {
    "ios": "I/Os completed",
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
}
_IDX = {name: i for i, name in enumerate(COUNTERS)}
N_COUNTERS = len(COUNTERS)

C_IOS = _IDX["ios"]
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

BIO_VEC_SIZE = 16  #: struct bio_vec: page pointer, length, offset


def new_counters() -> np.ndarray:
    return np.zeros(N_COUNTERS, np.int64)


def counters_dict(c: np.ndarray) -> dict[str, int]:
    return {name: int(c[i]) for name, i in _IDX.items()}


FORMULA = r"""
t_{\mathrm{I/O}} = t_{\mathrm{fixed}}
 + \frac{N_{\mathrm{gup}}\, t_{\mathrm{gup}}(\mathrm{memmap}) + N_{\mathrm{put}}\, t_{\mathrm{put}}(\mathrm{memmap})
 + N_{\mathrm{desc}}\, t_{\mathrm{desc}} + N_{\mathrm{alloc}}\, t_{\mathrm{alloc}}}{N_{\mathrm{I/O}}}
 + \frac{B_{\mathrm{pmem}\to\mathrm{dram}}}{N_{\mathrm{I/O}}\,\min(R^{1t}_{\mathrm{pmem}}, W^{1t}_{\mathrm{dram}})}
 + \frac{B_{\mathrm{dram}\to\mathrm{pmem}}}{N_{\mathrm{I/O}}\,\min(R^{1t}_{\mathrm{dram}}, F^{1t}_{\mathrm{pmem}})}
 + \sum_{m} \frac{B^{\mathrm{DMA}}_{m}}{N_{\mathrm{I/O}}\,\min(\mathrm{BW}_{\mathrm{dev}}, \mathrm{BW}_{m})}
""".strip()

FORMULA_TERMS = {
    "t_fixed": "fixed cost of one O_DIRECT I/O (syscall, bio, submission, completion)",
    "N_gup, N_put": "pages referenced by GUP and released at completion",
    "t_gup(memmap), t_put(memmap)": "per-page cost, depending on where the memmap lives (DRAM or pmem)",
    "N_desc, t_desc": "descriptor entries (bio_vecs) and the cost of filling one",
    "N_alloc, t_alloc": "page allocations (bounce pages) and the cost of allocating and freeing one",
    "B_pmem->dram, B_dram->pmem": "bytes the CPU copies (option 0's bounce), at single-thread bandwidth: "
                                  "R = read, W = non-temporal store, F = store + clwb (made durable)",
    "B^DMA_m, BW_m": "bytes DMAed to or from memory m, at the lesser of the device's and the memory's bandwidth",
}


@dataclass(frozen=True)
class Modelled:
    """Modelled time per I/O (ns), with its breakdown, and the boot-time memmap init."""

    per_io_ns: float
    breakdown: dict
    memmap_init_s: float

    def to_dict(self) -> dict:
        return {"per_io_ns": self.per_io_ns, "breakdown_ns": dict(self.breakdown), "memmap_init_s": self.memmap_init_s}


def memmap_init_ns_per_page(placement: str, pmem: HardwareProfile, cost: CostModel) -> float:
    """Modelled cost of initialising one struct page: CPU work plus writing 64 bytes.

    The CPU part is the kernel's measured rebind rate; the write part is 64 B at the
    single-thread store bandwidth of the medium holding the memmap.
    """
    medium = pmem if placement == "pmem" else DDR4
    return float(cost.memmap_init_cpu_ns) + 64 / float(medium.ntstore_bw_1t)


def model(c: dict, memmap_placement: str | None, pmem: HardwareProfile, cost: CostModel,
          struct_pages_initialised: int) -> Modelled:
    """Turn counters into modelled ns per I/O (see :data:`FORMULA`)."""
    n = max(c["ios"], 1)
    on_pmem = memmap_placement == "pmem"
    gup = float(cost.gup_ns_pmem if on_pmem else cost.gup_ns_dram)
    put = float(cost.put_ns_pmem if on_pmem else cost.put_ns_dram)
    dev = float(cost.device_bw)

    def rate(bytes_, gbps):  # bytes at GB/s -> ns
        return bytes_ / gbps if gbps > 0 else 0.0

    parts = {
        "fixed": float(cost.io_fixed_ns) if c["ios"] else 0.0,
        "gup": c["gup_pages"] * gup / n,
        "put": c["put_pages"] * put / n,
        "descriptor": c["descriptor_entries"] * float(cost.bvec_ns) / n,
        "page_alloc": c["allocations"] * float(cost.page_alloc_ns) / n,
        "cpu_copy": (rate(c["copy_pmem_to_dram"], min(float(pmem.read_bw_1t), float(DDR4.ntstore_bw_1t)))
                     + rate(c["copy_dram_to_pmem"], min(float(DDR4.read_bw_1t), float(pmem.clwb_bw_1t)))) / n,
        "dma": (rate(c["dma_to_pmem"], min(dev, float(pmem.write_bw)))
                + rate(c["dma_from_pmem"], min(dev, float(pmem.read_bw)))
                + rate(c["dma_to_dram"], min(dev, float(DDR4.write_bw)))
                + rate(c["dma_from_dram"], min(dev, float(DDR4.read_bw)))) / n,
    }
    init_s = struct_pages_initialised * memmap_init_ns_per_page(memmap_placement or "dram", pmem, cost) / 1e9
    return Modelled(sum(parts.values()), parts, init_s)
