"""run / compare: boot a machine, run a workload through an option's path, check it, count it.

Every run is checked: the same workload runs through the ideal path on a twin machine,
and every touched byte (the buffer's blocks, blocks refilled after a truncate, blocks
another file took, the device) must be equal, except where the option allows the
truncate/DMA hazard, in which case the difference is counted and attributed; page
references are back to idle; every bounce page and pool slot is freed. A broken
invariant raises :class:`InvariantError`.
"""

from __future__ import annotations

import dataclasses

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from daxsim.emu.buddy import B_ALLOCATED
from daxsim.emu.daxfs import F_STATE, F_VICTIM, S_BUMP, S_NVICTIM
from daxsim.model.hardware import DDR4, DEFAULT_HARDWARE, CostModel, HardwareProfile, hardware_profile
from daxsim.emu.machine import Booted, Machine, NamespaceLayout
from daxsim.emu import hugepages
from daxsim.emu.memory import STRUCT_PAGE, sparse_array
from daxsim.model.metrics import C_TRANSIENT_PEAK, Modelled, counters_dict, model, new_counters
from daxsim.paths import DESCRIPTIONS, HAZARDOUS, OPTIONS, option1b, path_module, queue
from daxsim.paths.common import (
    M_GUARD, M_HT_MASK, M_HUGE_SHIFT, M_LEN, M_MEMMAP_BASE, M_POOL_CAP, M_POOL_USED, M_WEAR, boot_prefault,
    count_busy_pages, count_diff, fill_pattern,
)
from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE, STRUCT_PAGE_SIZE, format_size
from daxsim.paths.writeback import dirty_state
from daxsim.emu.workload import DEFAULT_PRESET, OP_READ, OP_STORE, OP_TRUNC, OP_WRITE, Workload, touched_file_pages


class InvariantError(RuntimeError):
    """A run broke an invariant its option guarantees (a bug in daxsim, never an input error)."""


@dataclass(frozen=True)
class Result:
    """The outcome of one run: parameters, feasibility, metrics and modelled time."""

    option: str
    machine: Machine
    workload: Workload
    hardware: HardwareProfile
    cost: CostModel
    data: bool
    feasible: bool
    reason: str
    metrics: dict
    modelled: Modelled | None
    wall_s: float
    pool_pages: int | None = None
    guard: bool = False
    huge: dict | None = None
    bounce_node: str = "dram"

    def params(self) -> dict:
        return {
            "option": self.option,
            **self.machine.params(),
            **{k: v for k, v in self.workload.params().items()},
            "hardware": self.hardware.name,
            "data": self.data,
            "pool_pages": self.pool_pages,
            "guard": self.guard,
            **(self.huge or {}),
            "bounce_node": self.bounce_node,
            "cost": {k: f.value for k, f in self.cost.figures().items()},
        }

    def to_dict(self) -> dict:
        """The JSON object ``python -m daxsim run --json`` prints."""
        m = dict(self.metrics)
        m["modelled"] = self.modelled.to_dict() if self.modelled else None
        m["wall_s"] = self.wall_s
        return {"option": self.option, "params": self.params(), "feasible": self.feasible,
                "reason": self.reason, "metrics": m}

    def __repr__(self) -> str:
        t = f"{self.modelled.per_io_ns:.0f} ns/I/O" if self.modelled and self.feasible else self.reason
        return f"<Result option={self.option!r} {self.machine!r} {t}>"


def _pages_per_io(off, length):
    return ((off + length - 1) >> PAGE_SHIFT) - (off >> PAGE_SHIFT) + 1


def _max_window_pages(pages, qd):
    """The most pages any ``qd`` consecutive I/Os span (what can be in flight at once)."""
    if len(pages) == 0:
        return 0
    c = np.concatenate(([0], np.cumsum(pages)))
    w = min(qd, len(pages))
    return int((c[w:] - c[:-w]).max())


def accounting(option, machine: Machine, huge: dict | None = None) -> tuple[NamespaceLayout, dict]:
    """What the kernel would set aside for this option on this machine (no run needed).

    For option ``huge`` (``huge`` = its checked parameters) the memmap is the variant's;
    the namespace keeps the layout of a 4 KiB memmap reserve (simpler than the kernel).
    """
    if str(option) == "nvram":
        machine = machine.replace(memmap="pmem")
    layout = machine.layout(path_module(option).STRUCT_PAGES)
    extra = {}
    if huge:
        cost = hugepages.memmap_cost(machine.pmem, huge["page_size"], huge["memmap_variant"])
        layout = dataclasses.replace(layout, memmap_dram_bytes=cost if layout.map == "mem" else 0,
                                     memmap_pmem_bytes=cost if layout.map == "dev" else 0)
        # dirty tracking at 4 KiB inside a huge mapping needs a bit per 4 KiB page
        extra["dirty_tracking_bytes"] = (machine.pmem // PAGE_SIZE // 8
                                         if huge["dirty_granularity"] == "4k" and huge["page_size"] > PAGE_SIZE else 0)
    return layout, {**extra,
        "memmap_dram_bytes": layout.memmap_dram_bytes,
        "memmap_pmem_bytes": layout.memmap_pmem_bytes,
        "pmem_capacity_lost_bytes": layout.capacity_lost,
        "struct_pages_boot": layout.struct_pages_initialised,
        "dram_managed_bytes": machine.managed_dram(layout),
    }


_WARM: set[str] = set()


def _warm(option: str) -> None:
    """Compile (or load from numba's cache) the kernels outside any timed region."""
    if option not in _WARM:
        _WARM.add(option)
        run(option, Machine("64M", "64M"), Workload(ops="w0:4k,r8k:8k,t8k:4k", file_size="2M", queue_depth=2))


def _kernel_state(b: Booted, option: str, pool_pages: int, guard: bool, huge: dict | None = None) -> tuple:
    """The option's own state tuple (``ost`` in paths.queue): scalars first, then its arrays."""
    misc = np.zeros(M_LEN, np.int64)
    misc[M_MEMMAP_BASE] = b.memmap_base_pfn
    misc[M_GUARD] = int(guard)
    if option in ("1a", "huge", "nvram"):
        misc[M_HUGE_SHIFT] = (huge["page_size"].bit_length() - 1) if huge else PAGE_SHIFT
        misc[M_WEAR] = int(option == "nvram")
        wear = sparse_array(len(b.memmap) * 4, np.uint32) if option == "nvram" else np.zeros(0, np.uint32)
        return (misc, b.memmap, b.memmap_words, b.vmemmap_populated, wear)
    if option == "0":
        return (misc, b.dram, b.dram_pages, b.buddy)
    if option == "1b":
        slots = option1b.table_slots(pool_pages)
        misc[M_POOL_CAP], misc[M_HT_MASK] = pool_pages, slots - 1
        return (misc, np.zeros(pool_pages, STRUCT_PAGE), np.arange(pool_pages, dtype=np.int64),
                np.zeros(slots, np.int64), np.zeros(slots, np.int64))
    return (misc,)


def _run_kernel(b: Booted, option: str, op, off, length, qd, data, counters, pool_pages=0, guard=False, huge=None,
                drain=True):
    """Prefault, then run the events through the option's path; returns the wall time and its state."""
    mod = path_module(option)
    io = (op == OP_READ) | (op == OP_WRITE)
    boot_prefault(touched_file_pages(off[io], length[io]), b.fs, b.pmem, b.pmem_base_pfn, b.memmap_words,
                  b.vmemmap_populated, b.memmap_base_pfn, counters)
    maxp = int(_pages_per_io(off[io], length[io]).max(initial=1))
    ring = 2 * qd  # see paths.queue.run: a queue's worth in flight, and the next batch
    bv = tuple(np.zeros(ring * maxp, np.int64) for _ in range(4))
    ost = _kernel_state(b, option, pool_pages, guard, huge)
    nstores = int((op == OP_STORE).sum())
    dirty = dirty_state(len(b.device), _dirty_shift(huge), 2 * nstores,
                        int(((length[op == OP_STORE] + 127) // 64).sum()))
    args = (queue.token(option), op, off, length, qd, b.fs, b.pmem, b.pmem_base_pfn, b.device, data, counters,
            np.zeros(ring, np.int64), np.zeros(ring, np.int64), maxp, bv, mod.ENTRY_BYTES,
            getattr(mod, "ENTRY_TRANSIENT", 0), ost, dirty, drain)
    t0 = time.perf_counter()
    queue.loop(option)(*args)
    return time.perf_counter() - t0, ost


DEFAULT_POOL_PAGES = 4096  #: option 1b's pool: 4096 transient struct pages (256 KiB), 16 MiB under I/O


def run(option, machine: Machine, workload: Workload | None = None, hardware=DEFAULT_HARDWARE,
        cost: CostModel | None = None, data: bool = True, pool_pages: int | None = None, guard: bool = False,
        page_size=None, memmap_variant: str | None = None, dirty_granularity: str | None = None,
        bounce_node: str = "dram", capture: dict | None = None) -> Result:
    """Run ``workload`` through ``option``'s I/O path on ``machine``; return its :class:`Result`.

    ``data=False`` runs the metadata path only (no bytes copied, nothing to verify).
    ``pool_pages`` sizes option 1b's pool of transient struct pages; ``guard`` gives
    option 2 a filesystem range lock that truncate waits for. Option ``huge`` takes the
    mapping's ``page_size`` (4K, 2M, 1G; default 2M), the ``memmap_variant`` (see
    :mod:`daxsim.emu.hugepages`; default ``base``) and the ``dirty_granularity``
    (``mapping``, the default, or ``4k``). Option ``nvram`` always keeps its memmap on pmem.
    ``bounce_node="pmem"`` puts option 0's bounce pages on pmem onlined as System RAM
    (the kmem node; see :mod:`daxsim.emu.kmem`): they are costed at pmem's figures.
    ``capture``, a dict, receives the final bytes of the touched pages (``pmem_pages``:
    pfn -> bytes, ``dev_pages``: file page -> bytes), for comparison with :mod:`daxsim.oracle.reference`.
    """
    mod = path_module(option)
    option = str(option)
    if not isinstance(machine, Machine):
        raise ValueError(f"machine: {machine!r} is not a daxsim.Machine")  # noqa: TRY004 (bad input: ValueError)
    workload = workload if workload is not None else Workload.from_preset(DEFAULT_PRESET)
    if not isinstance(workload, Workload):
        raise ValueError(f"workload: {workload!r} is not a daxsim.Workload")  # noqa: TRY004
    if not isinstance(guard, (bool, np.bool_)):
        raise ValueError(f"guard: {guard!r} must be True or False")  # noqa: TRY004
    if guard and option != "2":
        raise ValueError(f"guard: only option 2 takes a filesystem guard (option {option} holds its own references)")
    huge = _huge_params(option, page_size, memmap_variant, dirty_granularity, machine)
    if bounce_node not in ("dram", "pmem"):
        raise ValueError(f"bounce_node: {bounce_node!r} is not one of dram, pmem")
    if bounce_node == "pmem" and option != "0":
        raise ValueError(f"bounce_node: only option 0 bounces through memory pages (got option {option})")
    if option == "nvram":
        machine = machine.replace(memmap="pmem")  # NV-RAM as RAM: the memmap lives on pmem
    hw = hardware_profile(hardware)
    cost = cost if cost is not None else CostModel()
    layout, acct = accounting(option, machine, huge)
    workload = workload.fitted(machine.layout(True).npfns * PAGE_SIZE)  # the same file for every option
    if huge and workload.file_size % huge["page_size"]:
        raise ValueError(f"file_size: {format_size(workload.file_size)} is not a whole number of "
                         f"{format_size(huge['page_size'])} pages; a huge mapping covers the file in whole pages")
    if workload.file_size > layout.npfns * PAGE_SIZE:
        raise ValueError(f"file_size: {format_size(workload.file_size)} does not fit in the namespace's "
                         f"{format_size(layout.npfns * PAGE_SIZE)} of data pages on {format_size(machine.pmem)} of pmem")
    op, off, length = workload.generate()
    io = (op == OP_READ) | (op == OP_WRITE)
    pages = _pages_per_io(off[io], length[io])
    if option == "1b":
        pool_pages = DEFAULT_POOL_PAGES if pool_pages is None else pool_pages
        if isinstance(pool_pages, bool) or not isinstance(pool_pages, (int, np.integer)) \
                or pool_pages < int(pages.max(initial=1)):
            raise ValueError(f"pool_pages: {pool_pages!r} cannot hold one I/O of {int(pages.max(initial=1))} pages; "
                             f"accepted: an integer >= {int(pages.max(initial=1))}")
    elif pool_pages is not None:
        raise ValueError(f"pool_pages: only option 1b has a pool of transient struct pages (got option {option})")
    feasible, reason = machine.feasibility(layout)
    need = _max_window_pages(pages, workload.queue_depth)
    if feasible and option == "0":
        managed = (acct["dram_managed_bytes"] if bounce_node == "dram" else machine.pmem - workload.file_size) // PAGE_SIZE
        if need > managed:
            feasible, reason = False, (f"{workload.queue_depth} I/Os in flight need {format_size(need * PAGE_SIZE)} "
                                       f"of bounce pages, but only {format_size(managed * PAGE_SIZE)} of DRAM is managed")
    truncated = int(length[op == OP_TRUNC].sum()) // PAGE_SIZE
    counters = new_counters()
    extra = {"corrupted_bytes": 0, "corrupted_victim_bytes": 0, "corrupted_device_bytes": 0,
             "corrupted_buffer_bytes": 0, "files_corrupted": 0, "leaked_pages": 0, "verified_bytes": 0,
             "pool_table_bytes": 0, "pool_reserved_bytes": 0}
    wall = 0.0
    if feasible:
        if option not in _WARM:
            _warm(option)
        args = (machine, layout, workload.file_size, workload.extent_size, workload.seed, truncated)
        b = Booted(*args)
        fpages = touched_file_pages(off[io], length[io])
        b.advise_host_hugepages(len(fpages) * PAGE_SIZE)
        pmem_pages = touched_file_pages(off, length)  # truncated blocks too: others' data lands there
        pmem_starts = b.pmem_index(0) + b.file.pfn_of(pmem_pages) * PAGE_SIZE
        dev_starts = fpages * PAGE_SIZE
        if data:
            twin = Booted(*args)  # the ideal path runs on a twin: the oracle for every byte
            for m in (b, twin):
                fill_pattern(m.pmem, pmem_starts, 0x1)
                fill_pattern(m.device, dev_starts, 0x2)
        wall, st = _run_kernel(b, option, op, off, length, workload.queue_depth, data, counters, pool_pages or 0,
                               guard, huge)
        c = counters_dict(counters)
        if c["alloc_failures"]:
            raise InvariantError(f"option {option}: the page allocator ran dry although the run was judged feasible")
        if mod.STRUCT_PAGES:
            extra["leaked_pages"] = int(count_busy_pages(b.memmap, b.vmemmap_populated))
        extra["leaked_pages"] += int(b.buddy[B_ALLOCATED]) + int(st[0][M_POOL_USED])
        if option == "1b":
            extra["pool_table_bytes"] = len(st[3]) * option1b.HT_ENTRY_BYTES
            extra["pool_reserved_bytes"] = pool_pages * STRUCT_PAGE_SIZE + extra["pool_table_bytes"]
            counters[C_TRANSIENT_PEAK] += extra["pool_table_bytes"]
        if data:
            _run_kernel(twin, "ideal", op, off, length, 1, True, new_counters())
            _verify(b, twin, pmem_starts, dev_starts, extra)
            if capture is not None:
                capture["pmem_pages"] = _pages_of(b.pmem, np.concatenate((pmem_starts, _bump_starts(b))), b)
                capture["dev_pages"] = {int(fp): b.device[s:s + PAGE_SIZE].tobytes() for fp, s in zip(fpages, dev_starts)}
            del twin
        if extra["leaked_pages"] or (extra["corrupted_bytes"] and option not in HAZARDOUS):
            raise InvariantError(f"option {option}: {extra['corrupted_bytes']} corrupted bytes, "
                                 f"{extra['leaked_pages']} leaked pages on {machine!r} with {workload!r}")
        del b
    c = counters_dict(counters)
    metrics = {**acct, **c, **extra}
    metrics["bytes_dma"] = c["dma_to_pmem"] + c["dma_from_pmem"] + c["dma_to_dram"] + c["dma_from_dram"]
    metrics["bytes_cpu_copied"] = c["copy_pmem_to_dram"] + c["copy_dram_to_pmem"]
    metrics["struct_pages_initialised"] = acct["struct_pages_boot"] + c["struct_pages_initialised_io"]
    modelled = cost_of(option, machine, workload, hw, cost, metrics, huge, bounce_node) if feasible else None
    return Result(option, machine, workload, hw, cost, data, feasible, reason, metrics, modelled, wall,
                  pool_pages if option == "1b" else None, bool(guard), huge, bounce_node)


def cost_of(option, machine: Machine, workload: Workload, hw, cost: CostModel, metrics: dict, huge: dict | None,
            bounce_node: str):
    """The cost model over a run's metrics: only this step sees the hardware profile."""
    miss = hugepages.tlb_miss_rate(huge["page_size"] if huge else PAGE_SIZE, workload.file_size)
    return model(metrics, option, machine.memmap if path_module(option).STRUCT_PAGES else None, hw, cost,
                 metrics["struct_pages_initialised"], miss, 1 << _dirty_shift(huge),
                 hw if bounce_node == "pmem" else DDR4)


def _huge_params(option, page_size, memmap_variant, dirty_granularity, machine: Machine) -> dict | None:
    """Check and complete option huge's parameters (None for the other options)."""
    given = {k: v for k, v in (("page_size", page_size), ("memmap_variant", memmap_variant),
                               ("dirty_granularity", dirty_granularity)) if v is not None}
    if option != "huge":
        if given:
            raise ValueError(f"{next(iter(given))}: only option huge takes it (got option {option})")
        return None
    size = hugepages.check_page_size("2M" if page_size is None else page_size)
    variant = "base" if memmap_variant is None else memmap_variant
    if variant not in hugepages.VARIANTS:
        raise ValueError(f"memmap_variant: {variant!r} is not one of {', '.join(hugepages.VARIANTS)}")
    dirty = "mapping" if dirty_granularity is None else dirty_granularity
    if dirty not in ("mapping", "4k"):
        raise ValueError(f"dirty_granularity: {dirty!r} is not one of mapping, 4k")
    if size > machine.align:
        raise ValueError(f"page_size: {format_size(size)} pages need the namespace aligned to {format_size(size)} "
                         f"(Machine(align={format_size(size)!r}); it is aligned to {format_size(machine.align)})")
    return {"page_size": size, "memmap_variant": variant, "dirty_granularity": dirty}


def _dirty_shift(huge) -> int:
    """log2 of the unit the mapping's dirty state is tracked in."""
    if huge and huge["dirty_granularity"] == "mapping":
        return huge["page_size"].bit_length() - 1
    return PAGE_SHIFT


def _bump_starts(b: Booted) -> np.ndarray:
    """Byte offsets in pmem of the blocks handed out since boot (hole refills)."""
    used = np.arange(b.bump_start, b.fs[F_STATE][S_BUMP], dtype=np.int64)
    return (used - b.pmem_base_pfn) * PAGE_SIZE


def _pages_of(buf, starts, b: Booted) -> dict:
    return {int(s // PAGE_SIZE + b.pmem_base_pfn): buf[s:s + PAGE_SIZE].tobytes() for s in np.unique(starts)}


def _verify(b: Booted, twin: Booted, pmem_starts, dev_starts, extra: dict) -> None:
    """Compare every touched byte with the ideal run on the twin; attribute what differs."""
    if not np.array_equal(b.fs[F_STATE], twin.fs[F_STATE]):
        raise InvariantError("the filesystem handed out different blocks than in the ideal run")
    pmem_all = np.unique(np.concatenate((pmem_starts, _bump_starts(b))))
    nv = int(b.fs[F_STATE][S_NVICTIM])
    victims = b.fs[F_VICTIM][:2 * nv].reshape(-1, 2)
    victim_starts = (victims[:, 0] - b.pmem_base_pfn) * PAGE_SIZE
    is_victim = np.isin(pmem_all, victim_starts)
    extra["corrupted_victim_bytes"] = int(count_diff(b.pmem, twin.pmem, pmem_all[is_victim]))
    extra["corrupted_buffer_bytes"] = int(count_diff(b.pmem, twin.pmem, pmem_all[~is_victim]))
    extra["corrupted_device_bytes"] = int(count_diff(b.device, twin.device, dev_starts))
    extra["corrupted_bytes"] = (extra["corrupted_victim_bytes"] + extra["corrupted_buffer_bytes"]
                                + extra["corrupted_device_bytes"])
    if extra["corrupted_victim_bytes"]:
        hit = {int(ev) for (pfn, ev), s in zip(victims, victim_starts)
               if count_diff(b.pmem, twin.pmem, np.array([s]))}
        extra["files_corrupted"] = len(hit)
    extra["verified_bytes"] = (len(pmem_all) + len(dev_starts)) * PAGE_SIZE


def compare(options, machine: Machine, workload: Workload | None = None, **kwargs) -> list[Result]:
    """Run several options on the same machine and workload."""
    options = [o for o in OPTIONS if o != "ideal"] if options is None else list(options)
    if not options:
        raise ValueError(f"options: empty; accepted: any of {', '.join(OPTIONS)}")
    return [run(o, machine, workload, **kwargs) for o in options]


def frame(results) -> pd.DataFrame:
    """Results as a tidy DataFrame, one row per run (what altair wants)."""
    rows = []
    for r in results:
        row = {"option": r.option, "description": DESCRIPTIONS[r.option], "pmem": r.machine.pmem,
               "dram": r.machine.dram, "memmap": r.machine.memmap, "hardware": r.hardware.name,
               "workload": r.workload.preset or (r.workload.ops and "ops") or "custom",
               "io_size": r.workload.io_size, "queue_depth": r.workload.queue_depth,
               "feasible": r.feasible, "reason": r.reason, **r.metrics, "wall_s": r.wall_s}
        if r.modelled:
            row["per_io_ns"] = r.modelled.per_io_ns
            row["memmap_init_s"] = r.modelled.memmap_init_s
            row.update({f"ns_{k}": v for k, v in r.modelled.breakdown.items()})
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["InvariantError", "Result", "accounting", "compare", "frame", "run"]
