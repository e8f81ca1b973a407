"""The cost model: counted work times unit costs, as modelled time per I/O.

:data:`FORMULA` prints the model as the book shows it; :func:`model` computes it for a
run's metrics, with the figures of :mod:`daxsim.model.hardware`. Which figures an option
is charged comes from its design record (:class:`daxsim.paths.registry.CostTerms`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daxsim.model.hardware import DDR4, CostModel, HardwareProfile

#: the parts of the modelled time per I/O, in the order reports and charts list them
PARTS = (
    "fixed",
    "gup",
    "put",
    "pfn_walk",
    "descriptor",
    "alloc",
    "init",
    "lookup",
    "extent_ref",
    "range_lock",
    "dirty",
    "fault",
    "iommu",
    "contention",
    "cpu_copy",
    "dma",
    "stall",
)
#: the parts a device does; the rest but ``stall`` (waiting for the device) is CPU work
DEVICE_PARTS = ("dma",)
WAIT_PARTS = ("stall",)


FORMULA = r"""
t_{\mathrm{I/O}} = t_{\mathrm{fixed}}
 + \frac{1}{N_{\mathrm{I/O}}}\Big(N_{\mathrm{gup}}\, t_{\mathrm{gup}}(\mathrm{memmap}) + N_{\mathrm{put}}\, t_{\mathrm{put}}(\mathrm{memmap})
 + N_{\mathrm{pfn}}\, t_{\mathrm{pfn}} + N_{\mathrm{desc}}\, t_{\mathrm{desc}} + N_{\mathrm{alloc}}\, t_{\mathrm{alloc}}
 + N_{\mathrm{init}}\, t_{\mathrm{init}} + N_{\mathrm{lookup}}\, t_{\mathrm{lookup}} + N_{\mathrm{xref}}\, t_{\mathrm{xref}}
 + N_{\mathrm{lock}}\, t_{\mathrm{lock}} + N_{\mathrm{dirty}}\, t_{\mathrm{dirty}} + N_{\mathrm{fault}}\, t_{\mathrm{fault}}
 + N_{\mathrm{iommu}}\, t_{\mathrm{iommu}} + N_{\mathrm{shared}}\, \tfrac{c-1}{c}\, t_x\Big)
 + \frac{1}{N_{\mathrm{I/O}}}\Big(\frac{B_{\mathrm{pmem}\to\mathrm{dram}}}{\min(R^{1t}_{\mathrm{pmem}}, W^{1t}_{\mathrm{dram}})}
 + \frac{B_{\mathrm{dram}\to\mathrm{pmem}}}{\min(R^{1t}_{\mathrm{dram}}, F^{1t}_{\mathrm{pmem}})}
 + \sum_{m} \frac{B^{\mathrm{DMA}}_{m}}{\min(\mathrm{BW}_{\mathrm{dev}}, \mathrm{BW}_{m})}
 + \frac{B_{\mathrm{stall}}}{\mathrm{BW}_{\mathrm{dev}}}\Big)
""".strip()

FORMULA_TERMS = {
    "t_fixed": "fixed cost of one O_DIRECT I/O (syscall, bio, submission, completion)",
    "N_gup, N_put": "pages referenced through a struct page by GUP, and released at completion (1a, 1b)",
    "t_gup(memmap), t_put(memmap)": "per-page cost, depending on where the struct pages live (DRAM or pmem) and on "
    "the era: get or pin, base pages or one grab per compound folio",
    "N_pfn, t_pfn": "pages translated to pfns without touching a struct page (2, 3)",
    "N_desc, t_desc": "descriptor entries (bio_vecs, pfn vectors, extents) and the cost of filling one",
    "N_alloc, t_alloc": "allocations: bounce pages from the buddy allocator (0) or transient struct pages (1b)",
    "N_init, t_init": "transient struct pages initialised on the I/O path (1b), at the memmap init rate",
    "N_lookup, t_lookup": "pfn -> transient struct page lookups (1b)",
    "N_xref, t_xref": "references taken and dropped on extents (3)",
    "N_lock, t_lock": "filesystem range locks taken and released (2 with the guard)",
    "N_dirty, t_dirty": "pages (folios, from 6.15) a read's completion locks and marks dirty",
    "N_fault, t_fault": "DAX faults taken on the I/O path: after a truncate unmapped the file, or a hole refilled",
    "N_iommu, t_iommu": "4 KiB pages mapped and unmapped through an IOMMU (only with iommu on)",
    "N_shared, t_x": "atomics on lines every submitting CPU writes (1b's table and free list): (cpus - 1) / cpus "
    "of a cache-line transfer each",
    "B_pmem->dram, B_dram->pmem": "bytes the CPU copies (option 0's bounce), at single-thread bandwidth: "
    "R = read, W = non-temporal store, F = store + clwb (made durable)",
    "B^DMA_m, BW_m": "bytes DMAed to or from memory m, at the lesser of the device's and the memory's bandwidth",
    "B_stall": "bytes of earlier I/Os a stalled submission had to wait for (1b's pool), at the device's bandwidth",
}


@dataclass(frozen=True)
class Modelled:
    """Modelled time per I/O (ns) with its breakdown, the boot-time memmap init, truncate waits,
    and what a queue of such I/Os achieves (:mod:`daxsim.model.queueing`)."""

    per_io_ns: float  #: one I/O alone: the sum of its parts (the latency at queue depth 1)
    breakdown: dict
    memmap_init_s: float
    truncate_wait_ns: float = 0.0  #: mean time a truncate waited for in-flight DMA
    store_ns: float = 0.0  #: mean cost of a store beyond the write itself: TLB misses, dirtying faults
    fsync_ns: float = 0.0  #: mean cost of an fsync: clwb over every dirty unit, media writes of changed lines
    media_bytes: int = 0  #: bytes written to the medium by fsyncs, in its own units (256 B on Optane)
    cpu_ns: float = 0.0  #: CPU service per I/O: every part but the DMA and the waits
    device_ns: float = 0.0  #: device service per I/O: the DMA
    iops: float = 0.0  #: throughput with the run's queue depth (and cpus) in flight
    gbps: float = 0.0  #: the same in GB/s of I/O
    latency_ns: float = 0.0  #: mean latency at that queue depth
    bound: str = ""  #: what bounds the throughput: cpu, device, or queue depth
    op_ns: float = 0.0  #: mean time per operation of the workload (I/Os, stores, fsyncs); per_io_ns without stores

    def to_dict(self) -> dict:
        return {
            "per_io_ns": self.per_io_ns,
            "breakdown_ns": dict(self.breakdown),
            "memmap_init_s": self.memmap_init_s,
            "truncate_wait_ns": self.truncate_wait_ns,
            "store_ns": self.store_ns,
            "fsync_ns": self.fsync_ns,
            "media_bytes": self.media_bytes,
            "cpu_ns": self.cpu_ns,
            "device_ns": self.device_ns,
            "iops": self.iops,
            "gbps": self.gbps,
            "latency_ns": self.latency_ns,
            "bound": self.bound,
            "op_ns": self.op_ns,
        }


def dram_held_bytes(m):
    """DRAM an option holds: its memmap in DRAM, the dirty-tracking state, and the peak of
    its transient structures under I/O. Option 1b's pool and hash table are reserved whole
    when the namespace is set up, so for 1b that peak is the reserved pool and table plus
    the peak of descriptors in flight (``pool_reserved_bytes`` is 0 for the others).
    ``m`` is a run's metrics, or a table with those columns."""
    transient = np.maximum(m["transient_dram_peak_bytes"], m["descriptor_bytes_peak"] + m.get("pool_reserved_bytes", 0))
    return m["memmap_dram_bytes"] + transient + m.get("dirty_tracking_bytes", 0)


def memmap_init_ns_per_page(placement: str, pmem: HardwareProfile, cost: CostModel) -> float:
    """Modelled cost of initialising one struct page.

    The kernel's measured rebind rate, which already includes writing the 64 bytes to
    DRAM-speed memory (the measurement ran in a VM whose "pmem" is host DRAM). A memmap on
    real pmem adds the difference: 64 B at pmem's single-thread store bandwidth, less the
    same at DRAM's.
    """
    extra = 0.0
    if placement == "pmem":
        extra = max(0.0, 64 / float(pmem.ntstore_bw_1t) - 64 / float(DDR4.ntstore_bw_1t))
    return float(cost.memmap_init_cpu_ns) + extra


#: the medium the "memmap on pmem" GUP figures were measured on
MEASURED_MEDIUM_LATENCY_NS = 305.0  # Optane PMem 100 (optane-pmem-100.read_latency_ns)


def on_medium(f_dram: float, f_optane: float, medium: HardwareProfile) -> float:
    """A per-page figure measured with the memmap in DRAM and on Optane, for a memmap on
    ``medium``: interpolated by the medium's read latency (DRAM's gives the DRAM figure,
    Optane's the Optane one). The one rule every chapter, the explorer and the sweep use."""
    dram = float(DDR4.read_latency_ns)
    share = (float(medium.read_latency_ns) - dram) / (MEASURED_MEDIUM_LATENCY_NS - dram)
    return f_dram + (f_optane - f_dram) * max(share, 0.0)


def gup_figures(
    design, on_pmem: bool, cost: CostModel, kernel, medium: HardwareProfile | None = None
) -> tuple[float, float]:
    """The per-4 KiB cost of taking and of dropping a GUP reference, as the era does it:
    one grab per compound folio (from 6.15) on the options whose cost terms say compound;
    else pin_user_pages_fast / unpin (FOLL_PIN, from 6.5) or get_user_pages_fast / put_page
    (FOLL_GET), each figure the one measured for that call; with the memmap on pmem, on
    ``medium`` (:func:`on_medium`)."""
    if design.cost.gup == "compound" and kernel.compound_gup == "folio":
        pair = (
            (cost.gup_compound_ns_dram, cost.gup_compound_ns_pmem),
            (cost.put_compound_ns_dram, cost.put_compound_ns_pmem),
        )
    elif kernel.pin == "pin":
        pair = ((cost.pin_ns_dram, cost.pin_ns_pmem), (cost.put_ns_dram, cost.put_ns_pmem))
    else:
        pair = ((cost.gup_ns_dram, cost.gup_ns_pmem), (cost.putpage_ns_dram, cost.putpage_ns_pmem))
    if not on_pmem:
        return float(pair[0][0]), float(pair[1][0])
    if medium is None:
        return float(pair[0][1]), float(pair[1][1])
    return (
        on_medium(float(pair[0][0]), float(pair[0][1]), medium),
        on_medium(float(pair[1][0]), float(pair[1][1]), medium),
    )


def model(
    c: dict,
    design,
    memmap_placement: str | None,
    pmem: HardwareProfile,
    cost: CostModel,
    struct_pages_initialised: int,
    tlb_miss_rate: float = 0.0,
    dirty_unit: int = 4096,
    bounce: HardwareProfile = DDR4,
    kernel=None,
    iommu: bool = False,
    queue_depth: int = 1,
    cpus: int = 1,
) -> Modelled:
    """Turn counters into modelled ns per I/O (see :data:`FORMULA`), per store and per fsync.

    ``design`` (a :class:`~daxsim.paths.registry.Design`, or an option id) says which
    figures apply (its ``cost`` terms): the per-4 KiB GUP cost measured on base or on
    compound pages, the allocation figure, whether refcount operations are extent
    references, and for the ideal bound only the fixed cost and the DMA; ``kernel`` (an
    era, default the newest) which GUP call's figures (:func:`gup_figures`). ``bounce`` is
    the memory option 0's bounce pages live in: DRAM, or pmem onlined as System RAM
    (kmem). ``iommu`` charges the DMA mapping of every page. ``cpus`` submitting CPUs pay
    for the lines they share (the design's ``shared`` counters) and, with ``queue_depth``,
    set the queue the throughput is computed for (:mod:`daxsim.model.queueing`). A medium
    that is not persistent needs no cache-line flushes to make data durable.
    """
    from daxsim.model.queueing import throughput
    from daxsim.model.eras import era

    if isinstance(design, str):
        from daxsim.paths.registry import design as lookup

        design = lookup(design)
    terms = design.cost
    n = max(c["ios_completed"], 1)
    on_pmem = memmap_placement == "pmem"
    gup, put = gup_figures(design, on_pmem, cost, era(kernel), pmem)
    durable_bw = float(pmem.clwb_bw_1t) if pmem.persistent else float(pmem.ntstore_bw_1t)
    shared = sum(c[k] for k in terms.shared)
    dev = float(cost.device_bw)
    alloc = float(getattr(cost, terms.alloc))
    extent_refs = c["refcount_ops"] if terms.extent_refs else 0
    io_faults = c["page_faults"] - c["setup_faults"]

    def rate(bytes_, gbps):  # bytes at GB/s -> ns
        return bytes_ / gbps if gbps > 0 else 0.0

    parts = {
        "fixed": float(cost.io_fixed_ns) if c["ios_completed"] else 0.0,
        "gup": c["gup_pages"] * gup / n,
        "put": c["put_pages"] * put / n,
        "pfn_walk": c["pfn_walks"] * float(cost.pfn_walk_ns) / n,
        "descriptor": c["descriptor_entries"] * float(cost.bvec_ns) / n,
        "alloc": c["allocations"] * alloc / n,
        "init": c["struct_pages_initialised_io"] * memmap_init_ns_per_page("dram", pmem, cost) / n,
        "lookup": c["lookups"] * float(cost.lookup_ns) / n,
        "extent_ref": extent_refs * float(cost.extent_ref_ns) / n,
        "range_lock": c["range_locks"] * float(cost.range_lock_ns) / n,
        "dirty": c["pages_dirtied"] * float(cost.dirty_page_ns) / n,
        "fault": io_faults * float(cost.dax_fault_ns) / n,
        "iommu": c["pages_spanned"] * float(cost.iommu_page_ns) / n if iommu else 0.0,
        "contention": shared * (cpus - 1) / cpus * float(cost.line_transfer_ns) / n,
        "cpu_copy": (
            rate(c["copy_pmem_to_dram"], min(float(pmem.read_bw_1t), float(bounce.ntstore_bw_1t)))
            + rate(c["copy_dram_to_pmem"], min(float(bounce.read_bw_1t), durable_bw))
        )
        / n,
        "dma": (
            rate(c["dma_to_pmem"], min(dev, float(pmem.write_bw)))
            + rate(c["dma_from_pmem"], min(dev, float(pmem.read_bw)))
            + rate(c["dma_to_dram"], min(dev, float(bounce.write_bw)))
            + rate(c["dma_from_dram"], min(dev, float(bounce.read_bw)))
        )
        / n,
        "stall": rate(c["stall_bytes"], dev) / n,
    }
    if terms.only is not None:
        parts = {k: (v if k in terms.only else 0.0) for k, v in parts.items()}
    truncate_wait = rate(c["wait_bytes"], dev) / max(c["truncates"], 1)
    init_s = struct_pages_initialised * memmap_init_ns_per_page(memmap_placement or "dram", pmem, cost) / 1e9
    store_ns = (
        c["stores"] * tlb_miss_rate * float(cost.page_walk_ns) + c["dirty_faults"] * float(cost.dirty_fault_ns)
    ) / max(c["stores"], 1)
    media = c["xplines_dirtied"] * 256 if float(pmem.media_granularity) >= 256 else c["cache_lines_dirtied"] * 64
    fsync_ns = (
        (c["dirty_units"] * dirty_unit / 64 * float(cost.clwb_line_ns) + rate(media, float(pmem.ntstore_bw_1t)))
        / max(c["fsyncs"], 1)
        if c["fsyncs"] and pmem.persistent
        else 0.0
    )
    cpu_ns = sum(v for k, v in parts.items() if k not in DEVICE_PARTS and k not in WAIT_PARTS)
    device_ns = sum(parts[k] for k in DEVICE_PARTS)
    q = throughput(cpu_ns, device_ns, queue_depth, cpus)
    per_io_bytes = c["bytes_requested"] / n
    per_io = sum(parts.values())
    ops = c["ios_completed"] + c["stores"] + c["fsyncs"]
    op_ns = (
        (per_io * c["ios_completed"] + store_ns * c["stores"] + fsync_ns * c["fsyncs"]) / ops
        if ops and (c["stores"] or c["fsyncs"])
        else per_io
    )
    return Modelled(
        per_io,
        parts,
        init_s,
        truncate_wait,
        store_ns,
        fsync_ns,
        int(media),
        cpu_ns,
        device_ns,
        q.iops,
        q.iops * per_io_bytes / 1e9,
        q.latency_ns,
        q.bound,
        op_ns,
    )
