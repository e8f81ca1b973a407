"""Huge pages: what each memmap variant costs, and how far the TLB reaches.

Every figure is computed from first principles (struct page = 64 bytes, vmemmap pages of
4 KiB) and checked in the tests against the kernel's documentation
(Documentation/mm/vmemmap_dedup.rst): a 2 MiB page has 8 vmemmap pages, HVO keeps 1
(frees 7), device-dax deduplication keeps 2 (frees 6; "with 2M pages we lose 4G instead
of 16G" per TiB); a 1 GiB page has 4096, HVO keeps 1, device-dax keeps 2 ("40MB instead
of 16G" per TiB once the page tables that map the vmemmap at 4 KiB are counted).
"""

from __future__ import annotations

from daxsim.model.hardware import Figure
from daxsim.emu.units import GiB, PAGE_SIZE, PMD_SIZE, PUD_SIZE, STRUCT_PAGE_SIZE, format_size, parse_size

PAGE_SIZES = (PAGE_SIZE, PMD_SIZE, PUD_SIZE)
VARIANTS = ("base", "hvo", "devdax-dedup", "superpage")
VARIANT_TEXT = {
    "base": "one struct page per 4 KiB, no sharing",
    "hvo": "HugeTLB Vmemmap Optimization (a HugeTLB mechanism; for a DAX file a what-if): 1 vmemmap page kept "
    "per huge page",
    "devdax-dedup": "device-dax compound pages with vmemmap deduplication (5.19+; a device-dax mechanism, for an "
    "fsdax file a what-if): 2 vmemmap pages kept",
    "superpage": "the thread's hypothetical 128-byte struct superpage per 2 MiB",
}
VMEMMAP_KEPT = {"hvo": 1, "devdax-dedup": 2}  #: vmemmap pages kept per compound page
SUPERPAGE_SIZE = 128  #: bytes per 2 MiB (Wilcox, 20 Mar 2015)
PTE_TABLE_MAPS = 512 * PAGE_SIZE  #: one page-table page maps 2 MiB of vmemmap at 4 KiB

#: TLB entries of a Skylake-SP core (Intel optimisation manual via McCalpin): L2 STLB
TLB_ENTRIES = {
    PAGE_SIZE: Figure(1536, "entries", "mccalpin2022tlb", "L2 STLB, 4 KiB pages (shared with 2 MiB)"),
    PMD_SIZE: Figure(1536, "entries", "mccalpin2022tlb", "L2 STLB, 2 MiB pages (shared with 4 KiB)"),
    PUD_SIZE: Figure(16, "entries", "mccalpin2022tlb", "L2 STLB, 1 GiB pages"),
}


def check_page_size(page_size) -> int:
    """A mapping size: 4K, 2M or 1G; a ValueError names the accepted ones."""
    size = parse_size(page_size, "page_size")
    if size not in PAGE_SIZES:
        raise ValueError(f"page_size: {format_size(size)} is not one of 4 KiB, 2 MiB, 1 GiB")
    return size


def memmap_cost(nbytes: int, page_size: int, variant: str, struct_page_size: int = STRUCT_PAGE_SIZE) -> int:
    """Bytes of memmap for ``nbytes`` of memory mapped in ``page_size`` pages (``base``: a
    struct page of ``struct_page_size`` bytes per 4 KiB; the sharing variants are the 64-byte
    kernels' mechanisms)."""
    if variant not in VARIANTS:
        raise ValueError(f"memmap_variant: {variant!r} is not one of {', '.join(VARIANTS)}")
    base = nbytes // PAGE_SIZE * struct_page_size
    if variant == "base" or page_size == PAGE_SIZE:
        return base
    if variant == "superpage":
        return nbytes // PMD_SIZE * SUPERPAGE_SIZE
    huge = nbytes // page_size
    vmemmap_per_huge = page_size // PAGE_SIZE * STRUCT_PAGE_SIZE  # 32 KiB (2M) or 16 MiB (1G)
    kept = VMEMMAP_KEPT[variant] * PAGE_SIZE
    # the vmemmap of a deduplicated range is mapped with 4 KiB PTEs: count those tables too
    tables = huge * vmemmap_per_huge // PTE_TABLE_MAPS * PAGE_SIZE
    return huge * kept + tables


def tlb_reach(page_size: int) -> int:
    """Bytes the L2 TLB covers with pages of ``page_size``."""
    return int(TLB_ENTRIES[page_size].value) * page_size


def tlb_miss_rate(page_size: int, working_set: int) -> float:
    """Share of random accesses over ``working_set`` bytes that miss the TLB."""
    if working_set <= 0:
        return 0.0
    return max(0.0, 1.0 - tlb_reach(page_size) / working_set)


__all__ = ["PAGE_SIZES", "VARIANTS", "GiB", "check_page_size", "memmap_cost", "tlb_miss_rate", "tlb_reach"]
