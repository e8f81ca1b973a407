"""An all-NV machine and power loss: cut a run short, boot again from the same pmem file.

``crash`` runs a workload on a machine whose pmem (and block device) are backed by files,
but stops dead after event ``stop_after``: the I/Os still in flight never complete, and
the process can then be killed outright. ``recover`` boots again from the same files and
reports what survived: every byte of every I/O the crashed run had completed must be
there (compared with the ideal path run up to the same I/O on a fresh twin); the memmap
on pmem (``--map=dev``) still holds the references of the I/Os that were in flight, so it
is stale and is initialised again at boot (timed); DRAM state (the page allocator, bounce
pages, page tables) is simply gone.

What survives depends on the platform's **durability domain** (``domain``):

- ``"adr"``: ADR with DDIO off for the pmem's root port (what PMDK advises for DMA into
  pmem): data that reached the memory controller survives, and a device's DMA writes go
  there. A completed I/O is durable.
- ``"adr-ddio"``: ADR with DDIO on (the Xeon default): inbound DMA lands in the LLC
  (Intel DDIO), which is outside the ADR domain, and is lost at power loss unless
  flushed. The most recent reads' DMA, up to the LLC's DDIO share (``DDIO_BYTES``, an
  assumption: 2 of the 11 LLC ways of a 38.5 MiB Cascade Lake LLC), never reaches pmem.
- ``"eadr"``: eADR (3rd-generation Xeon Scalable): the caches are in the domain too.

Only I/O events are allowed: stores, fsyncs and truncates would need a model of CPU
caches and of the filesystem's journal, which the emulator does not have.
"""

from __future__ import annotations

import time

import numpy as np

from daxsim.emu.machine import Booted, Machine
from daxsim.emu.memory import msync
from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_WRITE, Workload, touched_file_pages
from daxsim.model.counters import counters_dict, new_counters
from daxsim.paths.common import count_diff, fill_pattern
from daxsim.paths.registry import DESIGNS, design
from daxsim.model.eras import DEFAULT_ERA, era
from daxsim.study.stages import run_events, warm

#: durability domains: what a power loss keeps (see the module docstring)
DOMAINS = {
    "adr": "ADR, DDIO off: DMA reaches the memory controller, a completed I/O is durable",
    "adr-ddio": "ADR with DDIO on: a read's DMA sits in the LLC, outside the domain, until evicted",
    "eadr": "eADR: the CPU caches are inside the domain",
}
#: bytes of inbound DMA the LLC holds with DDIO: 2 of 11 ways of a 38.5 MiB LLC (assumption)
DDIO_BYTES = 7 * 2**20


def _check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"domain: {domain!r} is not a durability domain; accepted: {', '.join(DOMAINS)}")
    return domain


def _check(option: str, machine: Machine, workload: Workload) -> tuple:
    if machine.pmem_file is None:
        raise ValueError("pmem_file: a power-loss run needs file-backed pmem (Machine(..., pmem_file=PATH))")
    takes = [k for k, d in DESIGNS.items() if d.power_loss]
    if option not in takes:
        raise ValueError(f"option: power-loss runs take {', '.join(takes)} (got {option!r})")
    op, off, length = workload.generate()
    if not np.isin(op, (OP_READ, OP_WRITE)).all():
        raise ValueError("workload: power-loss runs take I/O only (no stores, fsyncs or truncates)")
    if design(option).memmap:
        machine = machine.replace(memmap=design(option).memmap)
    return machine, op, off, length


def _boot(option, machine, workload):
    return Booted(
        machine, machine.layout(design(option).struct_pages), workload.file_size, workload.extent_size, workload.seed
    )


def crash(
    option, machine: Machine, workload: Workload, stop_after: int, kernel=DEFAULT_ERA, domain: str = "adr"
) -> dict:
    """Run events [0, stop_after) and stop dead; return what the run reported completed.
    What the ``domain`` would lose is then dropped from the pmem file, as the power cut would."""
    option = str(option)
    machine, op, off, length = _check(option, machine, workload)
    _check_domain(domain)
    if not 0 < stop_after <= len(op):
        raise ValueError(f"stop_after: {stop_after!r} must be an event number from 1 to {len(op)}")
    kernel = era(kernel)
    warm(option)
    b = _boot(option, machine, workload)
    fpages = touched_file_pages(off, length)
    fill_pattern(b.pmem, b.pmem_index(0) + b.file.pfn_of(fpages) * PAGE_SIZE, 0x1)
    fill_pattern(b.device, fpages * PAGE_SIZE, 0x2)
    counters = new_counters()
    run_events(
        b,
        option,
        op[:stop_after],
        off[:stop_after],
        length[:stop_after],
        workload.queue_depth,
        True,
        counters,
        drain=False,
        kernel=kernel,
    )
    c = counters_dict(counters)
    completed = c["ios_completed"] - c["inflight_lost"]
    lost_reads = _in_llc(op[:completed], length[:completed]) if domain == "adr-ddio" else []
    if lost_reads:
        _drop(b, option, workload, op, off, length, completed, lost_reads, fpages, kernel)
    msync(b.pmem)  # what survived is in the files
    msync(b.device)
    return {
        "submitted": c["ios_completed"],
        "completed": completed,
        "inflight_lost": c["inflight_lost"],
        "domain": domain,
        "dma_bytes_in_llc": int(length[lost_reads].sum()) if lost_reads else 0,
    }


def _in_llc(op, length) -> list[int]:
    """The completed reads whose DMA is still in the LLC under DDIO: the latest, up to DDIO_BYTES."""
    out, held = [], 0
    for e in range(len(op) - 1, -1, -1):
        if op[e] == OP_READ:
            if held + int(length[e]) > DDIO_BYTES:
                break
            held += int(length[e])
            out.append(e)
    return sorted(out)


def _drop(b: Booted, option, workload, op, off, length, completed, lost, fpages, kernel) -> None:
    """Put back on pmem what it held without the lost reads' DMA (the writes among the
    completed I/Os read the buffer from the coherent cache, so the device keeps its bytes)."""
    keep = np.ones(completed, bool)
    keep[lost] = False
    shadow = _boot(option, b.machine.replace(pmem_file=None), workload)
    starts = shadow.pmem_index(0) + shadow.file.pfn_of(fpages) * PAGE_SIZE
    fill_pattern(shadow.pmem, starts, 0x1)
    fill_pattern(shadow.device, fpages * PAGE_SIZE, 0x2)
    run_events(
        shadow,
        "ideal",
        op[:completed][keep],
        off[:completed][keep],
        length[:completed][keep],
        1,
        True,
        new_counters(),
        kernel=kernel,
    )
    for e in lost:
        for fp in range(int(off[e]) // PAGE_SIZE, -(-int(off[e] + length[e]) // PAGE_SIZE)):
            s = b.pmem_index(0) + int(b.file.pfn_of(np.array([fp]))[0]) * PAGE_SIZE
            b.pmem[s : s + PAGE_SIZE] = shadow.pmem[s : s + PAGE_SIZE]


def recover(option, machine: Machine, workload: Workload, completed: int, kernel=DEFAULT_ERA) -> dict:
    """Boot again from the same files; check every completed I/O survived; re-init the memmap."""
    option = str(option)
    machine, op, off, length = _check(option, machine, workload)
    kernel = era(kernel)
    b = _boot(option, machine, workload)  # the old files, reopened
    layout = b.layout
    fpages = touched_file_pages(off, length)
    pmem_starts = b.pmem_index(0) + b.file.pfn_of(fpages) * PAGE_SIZE
    stale = 0
    if layout.map == "dev":  # the struct pages survived on pmem, with the refs of the lost I/Os
        pages = b.file.pfn_of(fpages) - b.memmap_base_pfn
        stale = int((b.memmap["refcount"][pages] != kernel.idle_refcount).sum())
    t0 = time.perf_counter()
    b.vmemmap_populated[:] = 0  # populated is DRAM state: gone; the whole memmap is initialised again
    b.populate_memmap(new_counters(), kernel.idle_refcount)
    reinit_s = time.perf_counter() - t0
    twin = Booted(machine.replace(pmem_file=None), layout, workload.file_size, workload.extent_size, workload.seed)
    fill_pattern(twin.pmem, pmem_starts, 0x1)
    fill_pattern(twin.device, fpages * PAGE_SIZE, 0x2)
    run_events(
        twin, "ideal", op[:completed], off[:completed], length[:completed], 1, True, new_counters(), kernel=kernel
    )
    lost = int(count_diff(b.pmem, twin.pmem, pmem_starts) + count_diff(b.device, twin.device, fpages * PAGE_SIZE))
    return {
        "completed_checked": completed,
        "bytes_checked": 2 * len(fpages) * PAGE_SIZE,
        "bytes_lost": lost,
        "stale_struct_pages": stale,
        "memmap_reinit_s": reinit_s,
        "memmap_reinit_struct_pages": len(b.memmap),
        "dram_state": "gone: a fresh page allocator and page tables",
    }
