"""Huge pages' grids (option huge): the memmap of each vmemmap variant and the write
amplification of dirty tracking per mapping unit.

:func:`memmap_variant_grid` is the memmap per DIMM size and page size for each
:data:`daxsim.emu.hugepages.VARIANTS` (one struct page per 4 KiB, a compound page's
tail pages, HVO, device-dax's vmemmap dedup); :func:`amplification_grid` runs scattered
stores with fsyncs and measures what a dirty PMD or PUD entry flushes.
"""

from __future__ import annotations

import itertools

import pandas as pd

from daxsim.emu.machine import Machine
from daxsim.study.api import run
from daxsim.study.rows import frame
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.units import GiB, PAGE_SIZE, parse_size
from daxsim.emu.workload import Workload


__all__ = ["amplification_grid", "memmap_variant_grid"]

_PAGE_LABEL = {PAGE_SIZE: "4 KiB", 2 << 20: "2 MiB", 1 << 30: "1 GiB"}


def memmap_variant_grid(
    pmem_sizes=("8G", "16G", "64G", "128G", "256G", "400G", "512G", "1T", "2T", "3T", "4T", "6T"),
    page_sizes=("4K", "2M", "1G"),
    variants=None,
) -> pd.DataFrame:
    """The memmap of each variant (:data:`daxsim.emu.hugepages.VARIANTS`) over DIMM size x page size.

    No run needed: :func:`daxsim.emu.hugepages.memmap_cost`. Columns: ``pmem``, ``pmem_gib``,
    ``page_size`` (bytes), ``page`` (a label), ``variant``, ``variant_text``,
    ``memmap_bytes``, ``memmap_mib``, ``memmap_pct`` (of the pmem) and ``saved_pct``
    (against one struct page per 4 KiB).
    """
    from daxsim.emu import hugepages

    variants = hugepages.VARIANTS if variants is None else tuple(variants)
    rows = []
    for pm, ps, v in itertools.product(pmem_sizes, page_sizes, variants):
        size, page = parse_size(pm), hugepages.check_page_size(ps)
        cost = hugepages.memmap_cost(size, page, v)
        base = hugepages.memmap_cost(size, page, "base")
        rows.append(
            {
                "pmem": pm,
                "pmem_gib": size / GiB,
                "page_size": page,
                "page": _PAGE_LABEL[page],
                "variant": v,
                "variant_text": hugepages.VARIANT_TEXT[v],
                "memmap_bytes": cost,
                "memmap_mib": cost / (1 << 20),
                "memmap_pct": 100 * cost / size,
                "saved_pct": 100 * (1 - cost / base),
            }
        )
    return pd.DataFrame(rows)


def amplification_grid(
    page_sizes=("4K", "2M", "1G"),
    store_sizes=(2, 64, 256, 4096),
    fsync_every=(1, 8, 64, 512),
    dirty_4k=("2M",),
    stores=1024,
    file_size="1G",
    pmem="8G",
    dram="16G",
    seed=1,
    hardware="optane-pmem-100",
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """Write amplification of scattered stores over page size x store size x fsync interval.

    Option ``huge`` with every event a store of ``store_size`` bytes at a random offset of
    a ``file_size`` file, and an fsync after every ``fsync_every`` stores (metadata path:
    the dirty tracking counts the same without the bytes). Page sizes in ``dirty_4k`` are
    also run with 4 KiB dirty tracking inside the huge mapping. Columns: those of
    :func:`daxsim.frame` plus ``page``, ``series``, ``store_size``, ``fsync_every``,
    ``flush_amplification`` (bytes flushed / bytes stored), ``media_amplification``
    (media bytes / bytes stored), ``fsync_ns``, ``store_ns`` and ``dirty_tracking_bytes``.
    """
    from daxsim.emu import hugepages

    machine = Machine(pmem=pmem, dram=dram, align="1G")
    results, meta = [], []
    for ps, ss, fe in itertools.product(page_sizes, store_sizes, fsync_every):
        w = Workload(
            ios=stores, store_fraction=1.0, store_size=int(ss), fsync_every=int(fe), file_size=file_size, seed=seed
        )
        page = hugepages.check_page_size(ps)
        for dg in ("mapping", "4k") if ps in dirty_4k else ("mapping",):
            results.append(
                run(
                    "huge",
                    machine,
                    w,
                    hardware=hardware,
                    cost=cost,
                    data=False,
                    kernel=kernel,
                    page_size=ps,
                    dirty_granularity=dg,
                )
            )
            label = f"{_PAGE_LABEL[page]} pages" + (", 4 KiB dirty tracking" if dg == "4k" else "")
            meta.append((_PAGE_LABEL[page], label, int(ss), int(fe)))
    df = frame(results)
    df["page"], df["series"], df["store_size"], df["fsync_every"] = zip(*meta)
    df["flush_amplification"] = df["bytes_flushed"] / df["store_bytes"]
    df["media_bytes"] = [r.modelled.media_bytes for r in results]
    df["media_amplification"] = df["media_bytes"] / df["store_bytes"]
    df["fsync_ns"] = [r.modelled.fsync_ns for r in results]
    df["store_ns"] = [r.modelled.store_ns for r in results]
    return df
