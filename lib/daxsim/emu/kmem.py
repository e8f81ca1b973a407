"""pmem hot-plugged as System RAM: the device-dax ``kmem`` driver (Linux 5.1).

``daxctl reconfigure-device --mode=system-ram`` hands a device-dax range to the core mm
as a new, slower NUMA node. The driver trims the range to whole memory blocks
(``memory_block_size_bytes()``: 128 MiB below 64 GiB of RAM, 2 GiB on larger bare-metal
x86-64 machines) and hot-adds them; each
block's memmap comes from existing memory (DRAM) unless ``memory_hotplug.memmap_on_memory``
places it at the start of the block itself. The namespace keeps whatever its own layout
reserved (the info block, and the altmap with ``--map=dev``).
"""

from __future__ import annotations

from daxsim.emu.machine import namespace_layout
from daxsim.emu.units import GiB, MiB, PMD_SIZE, align_down, align_up, format_size, memmap_bytes, parse_size

DEFAULT_BLOCK = 128 * MiB  #: memory_block_size_bytes() on x86-64 below 64 GiB of RAM (and in the lab's VM)
MAX_BLOCK = 2 * GiB  #: MAX_BLOCK_SIZE (arch/x86/mm/init_64.c)
LARGE_RAM = 64 * GiB  #: MEM_SIZE_FOR_LARGE_BLOCK


def memory_block_size(boot_mem_end, bare_metal: bool = True) -> int:
    """x86-64's probe_memory_block_size(): 128 MiB below 64 GiB of boot memory; from 64 GiB,
    2 GiB on bare metal (fe124c95df9e, Linux 5.9), and under a hypervisor the largest power
    of two up to 2 GiB that the end of boot memory is aligned to."""
    end = parse_size(boot_mem_end, "boot_mem_end")
    if end < LARGE_RAM:
        return DEFAULT_BLOCK
    if bare_metal:
        return MAX_BLOCK
    bz = MAX_BLOCK
    while bz > DEFAULT_BLOCK and end % bz:
        bz >>= 1
    return bz


def kmem_online(
    pmem,
    map: str = "mem",
    align=PMD_SIZE,
    block=None,
    memmap_on_memory: bool = False,
    dram=None,
    bare_metal: bool = True,
) -> dict:
    """What onlining a devdax namespace of ``pmem`` bytes as System RAM gives and costs.

    ``block`` is the memory block size; by default the kernel's rule for a machine with
    ``dram`` of boot memory (:func:`memory_block_size`; 128 MiB when ``dram`` is not given).
    Returns RAM added, bytes lost to the namespace layout and to memory-block rounding,
    and where the new memory's memmap lives (DRAM or the hot-added blocks themselves).
    """
    size = parse_size(pmem, "pmem")
    if block is None:
        block = memory_block_size(dram, bare_metal) if dram is not None else DEFAULT_BLOCK
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
