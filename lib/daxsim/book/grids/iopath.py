"""The I/O path's grids (options 0 and 1a): modelled time per I/O and its parts.

:func:`io_grid` runs options over I/O size x medium x queue depth x memmap placement;
:func:`breakdown_long` turns its ``ns_<part>`` columns (:data:`PARTS`, in the order of the
I/O path: GUP, put, the bounce copy, DMA...) into rows for a stacked bar.
"""

from __future__ import annotations

import itertools

import pandas as pd

from daxsim.emu.machine import Machine
from daxsim.study.api import run
from daxsim.study.rows import frame
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.workload import Workload
from daxsim.book.grids.memmap import _MEMMAP_LABEL

__all__ = ["PARTS", "breakdown_long", "io_grid"]

#: the parts of the modelled time per I/O, in the order of the I/O path
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
    "cpu_copy",
    "dma",
    "stall",
)  # the keys of Modelled.breakdown


def io_grid(
    options=("0", "1a"),
    io_sizes=(4096, 65536, 1 << 20),
    hardware=("optane-pmem-100",),
    queue_depths=(1,),
    memmaps=("dram",),
    pmem="400G",
    dram="16G",
    ios=64,
    file_size="256M",
    read_fraction=0.5,
    seed=1,
    data=False,
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Every option at every (I/O size, hardware, queue depth, memmap placement) point.

    ``data=False`` runs the metadata path only: the counters, and so the modelled time,
    are the same as with ``data=True`` (the chapters check that on one point), and the
    grid stays fast. Columns are those of :func:`daxsim.frame` plus ``io_size_kib``,
    ``series`` (option and memmap placement) and ``bytes_copied_per_io``.
    """
    results = []
    for io_size, hw, qd, mm in itertools.product(io_sizes, hardware, queue_depths, memmaps):
        machine = Machine(pmem=pmem, dram=dram, memmap=mm)
        w = Workload(
            ios=ios, io_size=io_size, queue_depth=qd, read_fraction=read_fraction, file_size=file_size, seed=seed
        )
        for o in options:
            results.append(run(o, machine, w, hardware=hw, cost=cost, data=data, kernel=kernel))
    df = frame(results)
    df["io_size_kib"] = df["io_size"] / 1024
    df["series"] = [
        f"option {o}" + ("" if o == "0" else f", {_MEMMAP_LABEL[m]}") for o, m in zip(df["option"], df["memmap"])
    ]
    df["bytes_copied_per_io"] = df["bytes_cpu_copied"] / df["ios_completed"].where(df["ios_completed"] > 0)
    return df


def breakdown_long(df: pd.DataFrame, keys) -> pd.DataFrame:
    """The ``ns_<part>`` columns of ``df`` as rows ``(keys..., part, ns)`` for a stacked bar."""
    keys = list(keys)
    cols = [f"ns_{p}" for p in PARTS]
    long = df[keys + cols].melt(id_vars=keys, value_vars=cols, var_name="part", value_name="ns")
    long["part"] = long["part"].str.removeprefix("ns_")
    return long
