"""pmem hot-plugged as System RAM: the device-dax ``kmem`` driver (Linux 5.1).

``daxctl reconfigure-device --mode=system-ram`` hands a device-dax range to the core mm
as a new, slower NUMA node. The driver trims the range to whole memory blocks
(``memory_block_size_bytes()``, 128 MiB on most x86-64 machines) and hot-adds them; each
block's memmap comes from existing memory (DRAM) unless ``memory_hotplug.memmap_on_memory``
places it at the start of the block itself. The namespace keeps whatever its own layout
reserved (the info block, and the altmap with ``--map=dev``).
"""

from __future__ import annotations

from daxsim.emu.machine import namespace_layout
from daxsim.emu.units import MiB, PMD_SIZE, align_down, align_up, format_size, memmap_bytes, parse_size

DEFAULT_BLOCK = 128 * MiB  #: memory_block_size_bytes() on x86-64 below 64 GiB of RAM


def kmem_online(pmem, map: str = "mem", align=PMD_SIZE, block=DEFAULT_BLOCK, memmap_on_memory: bool = False) -> dict:
    """What onlining a devdax namespace of ``pmem`` bytes as System RAM gives and costs.

    Returns RAM added, bytes lost to the namespace layout and to memory-block rounding,
    and where the new memory's memmap lives (DRAM or the hot-added blocks themselves).
    """
    size = parse_size(pmem, "pmem")
    block = parse_size(block, "block")
    if block % (2 * MiB) or block & (block - 1):
        raise ValueError(f"block: {format_size(block)} is not a power-of-two multiple of 2 MiB")
    ns = namespace_layout(size, "fsdax", map, parse_size(align, "align"))
    start, end = ns.dataoff, ns.dataoff + ns.npfns * 4096  # the device-dax range inside the namespace
    first, last = align_up(start, block), align_down(end, block)  # kmem trims to whole blocks
    blocks = max(0, (last - first) // block)
    per_block_memmap = memmap_bytes(block)
    if memmap_on_memory and per_block_memmap % PMD_SIZE:
        raise ValueError(f"memmap_on_memory: a {format_size(block)} block's memmap is not a multiple of 2 MiB")
    online = blocks * block
    memmap_total = blocks * per_block_memmap
    return {
        "pmem": size,
        "blocks": blocks,
        "block": block,
        "namespace_reserved_bytes": ns.dataoff,
        "namespace_memmap_pmem_bytes": ns.memmap_pmem_bytes,
        "rounding_lost_bytes": (end - start) - online,
        "ram_added_bytes": online - (memmap_total if memmap_on_memory else 0),
        "memmap_dram_bytes": 0 if memmap_on_memory else memmap_total,
        "memmap_on_pmem_bytes": memmap_total if memmap_on_memory else 0,
    }
