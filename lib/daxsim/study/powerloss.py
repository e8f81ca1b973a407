"""An all-NV machine and power loss: cut a run short, boot again from the same pmem file.

``crash`` runs a workload on a machine whose pmem (and block device) are backed by files,
but stops dead after event ``stop_after``: the I/Os still in flight never complete, and
the process can then be killed outright. ``recover`` boots again from the same files and
reports what survived: every byte of every I/O the crashed run had completed must be
there (compared with the ideal path run up to the same I/O on a fresh twin); the memmap
on pmem (``--map=dev``) still holds the references of the I/Os that were in flight, so it
is stale and is initialised again at boot (timed); DRAM state (the page allocator, bounce
pages, page tables) is simply gone.

Only I/O events are allowed: stores, fsyncs and truncates would need a model of CPU
caches and of the filesystem's journal, which the emulator does not have.
"""

from __future__ import annotations

import time

import numpy as np

from daxsim.emu.machine import IDLE_REFCOUNT, Booted, Machine
from daxsim.emu.memory import msync
from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_WRITE, Workload, touched_file_pages
from daxsim.model.counters import counters_dict, new_counters
from daxsim.paths.common import count_diff, fill_pattern
from daxsim.paths.registry import DESIGNS, design
from daxsim.study.stages import accounting, run_events, warm


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


def crash(option, machine: Machine, workload: Workload, stop_after: int) -> dict:
    """Run events [0, stop_after) and stop dead; return what the run reported completed."""
    option = str(option)
    machine, op, off, length = _check(option, machine, workload)
    if not 0 < stop_after <= len(op):
        raise ValueError(f"stop_after: {stop_after!r} must be an event number from 1 to {len(op)}")
    warm(option)
    layout, _ = accounting(option, machine)
    b = Booted(machine, layout, workload.file_size, workload.extent_size, workload.seed)
    fpages = touched_file_pages(off, length)
    fill_pattern(b.pmem, b.pmem_index(0) + b.file.pfn_of(fpages) * PAGE_SIZE, 0x1)
    fill_pattern(b.device, fpages * PAGE_SIZE, 0x2)
    counters = new_counters()
    run_events(b, option, op[:stop_after], off[:stop_after], length[:stop_after], workload.queue_depth, True,
               counters, drain=False)
    c = counters_dict(counters)
    msync(b.pmem)  # what the run wrote is in the files
    msync(b.device)
    return {"submitted": c["ios_completed"], "completed": c["ios_completed"] - c["inflight_lost"],
            "inflight_lost": c["inflight_lost"]}


def recover(option, machine: Machine, workload: Workload, completed: int) -> dict:
    """Boot again from the same files; check every completed I/O survived; re-init the memmap."""
    option = str(option)
    machine, op, off, length = _check(option, machine, workload)
    layout, _ = accounting(option, machine)
    b = Booted(machine, layout, workload.file_size, workload.extent_size, workload.seed)  # the old files, reopened
    fpages = touched_file_pages(off, length)
    pmem_starts = b.pmem_index(0) + b.file.pfn_of(fpages) * PAGE_SIZE
    stale = 0
    if layout.map == "dev":  # the struct pages survived on pmem, with the refs of the lost I/Os
        pages = b.file.pfn_of(fpages) - b.memmap_base_pfn
        stale = int((b.memmap["refcount"][pages] != IDLE_REFCOUNT).sum())
    t0 = time.perf_counter()
    b.vmemmap_populated[:] = 0  # populated is DRAM state: gone; the whole memmap is initialised again
    b.populate_memmap(new_counters())
    reinit_s = time.perf_counter() - t0
    twin = Booted(machine.replace(pmem_file=None), layout, workload.file_size, workload.extent_size, workload.seed)
    fill_pattern(twin.pmem, pmem_starts, 0x1)
    fill_pattern(twin.device, fpages * PAGE_SIZE, 0x2)
    run_events(twin, "ideal", op[:completed], off[:completed], length[:completed], 1, True, new_counters())
    lost = int(count_diff(b.pmem, twin.pmem, pmem_starts) + count_diff(b.device, twin.device, fpages * PAGE_SIZE))
    return {"completed_checked": completed, "bytes_checked": 2 * len(fpages) * PAGE_SIZE, "bytes_lost": lost,
            "stale_struct_pages": stale, "memmap_reinit_s": reinit_s,
            "memmap_reinit_struct_pages": len(b.memmap), "dram_state": "gone: a fresh page allocator and page tables"}
