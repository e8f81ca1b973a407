"""NV-RAM as RAM's grids (option nvram, the memmap on the device): what the medium makes
each struct page access cost, and DRAM:pmem ratios against option 1a.

:func:`memmap_medium_cost` is the cost model with the GUP and put figures of a memmap on
a given medium; :func:`ratio_grid` runs option 1a (memmap in DRAM) and nvram (memmap on
pmem) over DRAM:pmem ratios, DRAM sizes and media.
"""

from __future__ import annotations

import itertools

import pandas as pd

from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.emu.machine import Machine
from daxsim.study.api import run
from daxsim.study.rows import frame
from daxsim.model.eras import DEFAULT_ERA
from daxsim.emu.units import GiB, format_size, parse_size
from daxsim.emu.workload import Workload
from daxsim.book.grids.memmap import _MEMMAP_LABEL

__all__ = ["memmap_medium_cost", "ratio_grid"]


#: the per-page GUP / put costs with the memmap on each medium. Optane's are measured
#: (gup_test, memmap on pmem); the others are labelled assumptions: NVDIMM-N is DRAM to the
#: CPU (its vendor's claim), a CXL expander scales the DRAM figures by its latency ratio.
def memmap_medium_cost(hardware, cost: CostModel | None = None, kernel=DEFAULT_ERA) -> CostModel:
    """The cost model with ``gup_ns_pmem`` / ``put_ns_pmem`` as the cost model itself prices a
    memmap on ``hardware`` for the era (:func:`daxsim.model.cost.gup_figures`: interpolated
    by the medium's read latency between the DRAM and the Optane measurements). For showing
    the figures; every run already uses them."""
    from daxsim.model.cost import gup_figures
    from daxsim.model.eras import era
    from daxsim.paths.registry import design

    cost = cost or CostModel()
    gup, put = gup_figures(design("nvram"), True, cost, era(kernel), hardware_profile(hardware))
    return cost.replace(gup_ns_pmem=gup, put_ns_pmem=put)


def _gup_in_dram(cost, kernel) -> float:
    from daxsim.model.cost import gup_figures
    from daxsim.model.eras import era
    from daxsim.paths.registry import design

    return gup_figures(design("1a"), False, cost or CostModel(), era(kernel))[0]


def ratio_grid(
    ratios=(1, 2, 4, 8, 16, 32, 64),
    dram_sizes=("16G", "64G", "256G", "768G"),
    hardware=("optane-pmem-100", "nvdimm-n", "cxl-expander"),
    ios=64,
    file_size="64M",
    seed=1,
    cost=None,
    kernel=DEFAULT_ERA,
) -> pd.DataFrame:
    """DRAM:pmem ratios x DRAM size x medium x memmap placement, option 1a against nvram.

    ``placement`` ``"dram"`` is option 1a with ``--map=mem``; ``"pmem"`` is option
    ``nvram`` (the memmap on the device). Each point is a run (metadata path, ``ios``
    random 4 KiB I/Os); the cost model prices the memmap on the medium (the figure used is
    :func:`memmap_medium_cost`'s). Infeasible points
    stay, with their reason and no modelled time. Columns: those of :func:`daxsim.frame`
    plus ``ratio`` (pmem per DRAM), ``ratio_label``, ``pmem_tib``, ``placement``,
    ``status``, ``dram_left_gib`` (DRAM left for the kernel after both memmaps),
    ``dram_left_pct`` and ``gup_ns_memmap`` (the per-page GUP cost used).
    """
    results, meta = [], []
    for r, dr, hw in itertools.product(ratios, dram_sizes, hardware):
        d = parse_size(dr)
        c = memmap_medium_cost(hw, cost, kernel)
        w = Workload(ios=ios, io_size=4096, file_size=file_size, seed=seed)
        for pl, o in (("dram", "1a"), ("pmem", "nvram")):
            m = Machine(pmem=d * r, dram=d, memmap=pl)
            results.append(run(o, m, w, hardware=hw, cost=cost, data=False, kernel=kernel))
            meta.append((r, pl, float(c.gup_ns_pmem) if pl == "pmem" else _gup_in_dram(cost, kernel)))
    df = frame(results)
    df["ratio"], df["placement"], df["gup_ns_memmap"] = zip(*meta)
    df["ratio_label"] = [f"1:{r}" for r in df["ratio"]]
    df["pmem_tib"] = df["pmem"] / (1 << 40)
    df["dram_gib"] = df["dram"] / GiB
    df["dram_size"] = [format_size(d) for d in df["dram"]]
    own = df["dram"] // 64
    df["dram_left_gib"] = (df["dram"] - own - df["memmap_dram_bytes"]) / GiB
    df["dram_left_pct"] = 100 * (df["dram"] - own - df["memmap_dram_bytes"]) / df["dram"]
    df["status"] = [
        f"{'feasible' if ok else 'infeasible'}, {_MEMMAP_LABEL[pl]}" for ok, pl in zip(df["feasible"], df["placement"])
    ]
    return df
