"""run / compare: boot a machine, run a workload through an option's path, check it, count it.

Every run is checked: the bytes at every destination equal an ideal replay of the
workload on a snapshot of the touched pages; page references are back to idle; every
bounce page is freed. A broken invariant raises :class:`InvariantError`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .buddy import B_ALLOCATED
from .hardware import DEFAULT_HARDWARE, CostModel, HardwareProfile, hardware_profile
from .machine import Booted, Machine, NamespaceLayout
from .metrics import Modelled, counters_dict, model, new_counters
from .paths import DESCRIPTIONS, OPTIONS, path_module
from .paths.common import boot_prefault, count_busy_pages, count_mismatch, fill_pattern, gather_pages, ideal_replay
from .units import PAGE_SHIFT, PAGE_SIZE, format_size
from .workload import DEFAULT_PRESET, Workload, touched_file_pages


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

    def params(self) -> dict:
        return {
            "option": self.option,
            **self.machine.params(),
            **{k: v for k, v in self.workload.params().items()},
            "hardware": self.hardware.name,
            "data": self.data,
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


def _max_batch_pages(off, length, qd):
    per = _pages_per_io(off, length)
    return int(np.add.reduceat(per, np.arange(0, len(per), qd)).max())


def accounting(option, machine: Machine) -> tuple[NamespaceLayout, dict]:
    """What the kernel would set aside for this option on this machine (no run needed)."""
    layout = machine.layout(path_module(option).STRUCT_PAGES)
    return layout, {
        "memmap_dram_bytes": layout.memmap_dram_bytes,
        "memmap_pmem_bytes": layout.memmap_pmem_bytes,
        "pmem_capacity_lost_bytes": layout.capacity_lost,
        "struct_pages_boot": layout.struct_pages_initialised,
        "dram_managed_bytes": machine.managed_dram(layout),
    }


_WARM: set[str] = set()


def _warm(option: str) -> None:
    """Compile (or load from numba's cache) the option's kernels outside any timed region."""
    if option not in _WARM:
        _WARM.add(option)
        run(option, Machine("64M", "64M"), Workload(ios=4, file_size="1M", queue_depth=2))


def run(option, machine: Machine, workload: Workload | None = None, hardware=DEFAULT_HARDWARE,
        cost: CostModel | None = None, data: bool = True, capture: dict | None = None) -> Result:
    """Run ``workload`` through ``option``'s I/O path on ``machine``; return its :class:`Result`.

    ``data=False`` runs the metadata path only (no bytes copied, nothing to verify).
    ``capture``, a dict, receives the final bytes of every touched page (``pmem_pages`` and
    ``dev_pages``: file page -> bytes), for comparison with :mod:`daxsim.reference`.
    """
    mod = path_module(option)
    option = str(option)
    if not isinstance(machine, Machine):
        raise ValueError(f"machine: {machine!r} is not a daxsim.Machine")
    workload = workload if workload is not None else Workload.from_preset(DEFAULT_PRESET)
    if not isinstance(workload, Workload):
        raise ValueError(f"workload: {workload!r} is not a daxsim.Workload")
    hw = hardware_profile(hardware)
    cost = cost if cost is not None else CostModel()
    layout, acct = accounting(option, machine)
    if workload.file_size > layout.npfns * PAGE_SIZE:
        raise ValueError(f"file_size: {format_size(workload.file_size)} does not fit in the namespace's "
                         f"{format_size(layout.npfns * PAGE_SIZE)} of data pages on {format_size(machine.pmem)} of pmem")
    op, off, length = workload.generate()
    feasible, reason = machine.feasibility(layout)
    need = _max_batch_pages(off, length, workload.queue_depth)
    if feasible and not mod.STRUCT_PAGES:
        managed = acct["dram_managed_bytes"] // PAGE_SIZE
        if need > managed:
            feasible, reason = False, (f"{workload.queue_depth} I/Os in flight need {format_size(need * PAGE_SIZE)} "
                                       f"of bounce pages, but only {format_size(managed * PAGE_SIZE)} of DRAM is managed")
    counters = new_counters()
    extra = {"corrupted_bytes": 0, "leaked_pages": 0, "verified_bytes": 0}
    wall = 0.0
    if feasible:
        if option not in _WARM:
            _warm(option)
        b = Booted(machine, layout, workload.file_size, workload.extent_size, workload.seed)
        fpages = touched_file_pages(off, length)
        pmem_starts = b.pmem_index(0) + b.file.pfn_of(fpages) * PAGE_SIZE
        dev_starts = fpages * PAGE_SIZE
        if data:
            fill_pattern(b.pmem, pmem_starts, 0x1)
            fill_pattern(b.device, dev_starts, 0x2)
            exp_pmem = np.empty(len(fpages) * PAGE_SIZE, np.uint8)
            exp_dev = np.empty_like(exp_pmem)
            gather_pages(b.pmem, pmem_starts, exp_pmem)
            gather_pages(b.device, dev_starts, exp_dev)
        boot_prefault(fpages, b.file.pte, b.file.ext_fpage, b.file.ext_pfn, b.memmap_words, b.vmemmap_populated,
                      b.memmap_base_pfn, counters)
        scratch = tuple(np.zeros(max(need, 1), np.int64) for _ in range(4))
        args = mod.kernel_args(b, op, off, length, workload.queue_depth, data, counters, scratch)
        t0 = time.perf_counter()
        mod.KERNEL(*args)
        wall = time.perf_counter() - t0
        c = counters_dict(counters)
        if c["alloc_failures"]:
            raise InvariantError(f"option {option}: the page allocator ran dry although the run was judged feasible")
        if mod.STRUCT_PAGES:
            extra["leaked_pages"] = int(count_busy_pages(b.memmap, b.vmemmap_populated))
        extra["leaked_pages"] += int(b.buddy[B_ALLOCATED])
        if data:
            ideal_replay(op, off, length, fpages, exp_pmem, exp_dev)
            extra["corrupted_bytes"] = int(count_mismatch(b.pmem, pmem_starts, exp_pmem)
                                           + count_mismatch(b.device, dev_starts, exp_dev))
            extra["verified_bytes"] = 2 * len(fpages) * PAGE_SIZE
        if capture is not None:
            capture["pmem_pages"] = {int(fp): b.pmem[s:s + PAGE_SIZE].tobytes() for fp, s in zip(fpages, pmem_starts)}
            capture["dev_pages"] = {int(fp): b.device[s:s + PAGE_SIZE].tobytes() for fp, s in zip(fpages, dev_starts)}
        if extra["corrupted_bytes"] or extra["leaked_pages"]:
            raise InvariantError(f"option {option}: {extra['corrupted_bytes']} corrupted bytes, "
                                 f"{extra['leaked_pages']} leaked pages on {machine!r} with {workload!r}")
        del b
    c = counters_dict(counters)
    metrics = {**acct, **c, **extra}
    metrics["bytes_dma"] = c["dma_to_pmem"] + c["dma_from_pmem"] + c["dma_to_dram"] + c["dma_from_dram"]
    metrics["bytes_cpu_copied"] = c["copy_pmem_to_dram"] + c["copy_dram_to_pmem"]
    metrics["struct_pages_initialised"] = acct["struct_pages_boot"] + c["struct_pages_initialised_io"]
    modelled = model(c, machine.memmap if mod.STRUCT_PAGES else None, hw, cost,
                     metrics["struct_pages_initialised"]) if feasible else None
    return Result(option, machine, workload, hw, cost, data, feasible, reason, metrics, modelled, wall)


def compare(options, machine: Machine, workload: Workload | None = None, **kwargs) -> list[Result]:
    """Run several options on the same machine and workload."""
    options = list(OPTIONS) if options is None else list(options)
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


__all__ = ["run", "compare", "frame", "accounting", "Result", "InvariantError"]
_ = dataclasses
