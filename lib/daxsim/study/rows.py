"""One row per run: the schema every table of daxsim uses.

:func:`row` turns a :class:`~daxsim.study.api.Result` into a flat dict with the columns
of :data:`COLUMNS`, named as ``run --json`` names them: the parameters, ``feasible``,
``reason`` and ``status``, every metric, the modelled time and its parts, ``wall_s``.
The sweep's tables, :func:`frame`, the explorer's frames and the chapters' grids are
made of these rows, so a column means the same thing everywhere. The count of I/Os a
run completed is ``ios_completed``; ``ios`` is the number the workload asked for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from daxsim.model.counters import COUNTERS
from daxsim.model.cost import PARTS, dram_held_bytes
from daxsim.study.stages import CHECKS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "METRICS", "MODELLED", "PARAMS", "STATUSES", "frame", "row", "status"]

#: the parameters of a run, as columns
PARAMS = (
    "option",
    "spec",
    "label",
    "description",
    "pmem",
    "dram",
    "memmap",
    "align",
    "hardware",
    "kernel",
    "iommu",
    "cpus",
    "workload",
    "ios",
    "io_size",
    "queue_depth",
    "file_size",
    "truncate_rate",
    "seed",
    "data",
    "pool_pages",
    "guard",
    "page_size",
    "memmap_variant",
    "dirty_granularity",
    "bounce_node",
)
ACCOUNTING = (
    "dirty_tracking_bytes",
    "memmap_dram_bytes",
    "memmap_pmem_bytes",
    "pmem_capacity_lost_bytes",
    "struct_pages_boot",
    "dram_managed_bytes",
)
DERIVED = ("bytes_dma", "bytes_cpu_copied", "struct_pages_initialised", "dram_held_bytes")
#: every metric of a run (``run --json``'s "metrics", and the DRAM held)
METRICS = (*ACCOUNTING, *COUNTERS, *CHECKS, *DERIVED)
#: the modelled time: per I/O and its parts (``ns_<part>``), memmap init, truncate waits, stores, fsync
MODELLED = (
    "per_io_ns",
    *(f"ns_{p}" for p in PARTS),
    "memmap_init_s",
    "truncate_wait_ns",
    "store_ns",
    "fsync_ns",
    "media_bytes",
    "cpu_ns",
    "device_ns",
    "iops",
    "gbps",
    "latency_ns",
    "bound",
    "op_ns",
)
#: a row's status, in the order charts list them
STATUSES = ("feasible", "hazard: corrupted data", "infeasible")
#: every column, in order
COLUMNS = (*PARAMS, "feasible", "reason", "status", *METRICS, *MODELLED, "wall_s")


def status(result) -> str:
    """``feasible``, ``hazard: corrupted data`` (the run corrupted data, as option 2's
    truncate/DMA race does) or ``infeasible`` (with the kernel's reason in ``reason``)."""
    if not result.feasible:
        return STATUSES[2]
    return STATUSES[1] if result.metrics["corrupted_bytes"] else STATUSES[0]


def row(result) -> dict:
    """The run as one flat row with the columns of :data:`COLUMNS` (NaN where a run has no
    value: the modelled time of an infeasible run)."""
    r, w, m, s = result, result.workload, result.metrics, result.spec
    huge = r.huge or {}
    out = {
        "option": r.option,
        "spec": s.key,
        "label": s.label,
        "description": s.design.description,
        "pmem": r.machine.pmem,
        "dram": r.machine.dram,
        "memmap": r.machine.memmap,
        "align": r.machine.align,
        "hardware": r.hardware.name,
        "kernel": r.kernel.name,
        "iommu": bool(r.iommu),
        "cpus": int(r.cpus),
        "workload": w.preset or w.ops or "custom",
        "ios": w.ios,
        "io_size": w.io_size,
        "queue_depth": w.queue_depth,
        "file_size": w.file_size,
        "truncate_rate": w.truncate_rate,
        "seed": w.seed,
        "data": bool(r.data),
        "pool_pages": r.pool_pages,
        "guard": r.guard,
        "page_size": huge.get("page_size"),
        "memmap_variant": huge.get("memmap_variant", ""),
        "dirty_granularity": huge.get("dirty_granularity", ""),
        "bounce_node": r.bounce_node,
        "feasible": bool(r.feasible),
        "reason": r.reason,
        "status": status(r),
    }
    unknown = [k for k in m if k not in METRICS]
    if unknown:
        raise KeyError(f"metric {unknown[0]!r} is not a column; add it to daxsim.study.rows.METRICS")
    out.update({k: m.get(k, 0) for k in METRICS if k != "dram_held_bytes"})
    out["dram_held_bytes"] = int(dram_held_bytes(m))
    mo = r.modelled
    if mo is not None:
        out.update(
            per_io_ns=mo.per_io_ns,
            memmap_init_s=mo.memmap_init_s,
            truncate_wait_ns=mo.truncate_wait_ns,
            store_ns=mo.store_ns,
            fsync_ns=mo.fsync_ns,
            media_bytes=mo.media_bytes,
            cpu_ns=mo.cpu_ns,
            device_ns=mo.device_ns,
            iops=mo.iops,
            gbps=mo.gbps,
            latency_ns=mo.latency_ns,
            bound=mo.bound,
            op_ns=mo.op_ns,
        )
        out.update({f"ns_{k}": v for k, v in mo.breakdown.items()})
    for k in MODELLED:
        out.setdefault(k, "" if k == "bound" else math.nan)
    out["wall_s"] = r.wall_s
    return {k: out[k] for k in COLUMNS}


def frame(results) -> pd.DataFrame:
    """Results as a tidy DataFrame, one :func:`row` per run (what altair wants)."""
    import pandas as pd  # here, not at the top: the command line starts 0.3 s sooner without it

    return pd.DataFrame([row(r) for r in results], columns=list(COLUMNS))
