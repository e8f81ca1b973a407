"""The answers chapter's tables: the thread's questions answered with verdicts over the
figures' ranges (:mod:`daxsim.study.verdict`), not with single numbers.

- :func:`which_option_when`: the robust verdict by DIMM:DRAM ratio, workload and kernel era,
  a tie where the assumptions decide, each cell with the chapter that explains it.
- :func:`one_b_against_one_a`: option 1b against 1a across DIMM sizes, queue depths and
  eras: DRAM held, time per I/O with its spread, and throughput.
- :data:`MACHINES`: machines that exist (or existed), each with its source, and
  :func:`machines_today`: what each option costs on them.
- :func:`crossover`: where, as the I/O grows, the device and not the option's CPU work
  bounds a deep queue.
- :func:`sensitivity_by_machine`: which figure, moved over its range, moves the verdict
  most on each of those machines.
"""

from __future__ import annotations

import itertools

import pandas as pd

from daxsim.emu.machine import Machine
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import Workload
from daxsim.model.cost import dram_held_bytes
from daxsim.model.eras import DEFAULT_ERA
from daxsim.paths.registry import designs
from daxsim.study.api import run
from daxsim.study.verdict import safe, sensitivity, verdict

__all__ = [
    "CHAPTERS",
    "MACHINES",
    "crossover",
    "machines_today",
    "one_b_against_one_a",
    "sensitivity_by_machine",
    "short_answer",
    "which_option_when",
]

#: the chapter that explains each option (the table's links)
CHAPTERS = {
    "0": "option-0",
    "1a": "option-1a",
    "1b": "option-1b",
    "2": "option-2",
    "3": "option-3",
    "huge": "huge-pages",
    "nvram": "nvram",
}

#: (label, pmem, DRAM, medium, what it is, source keys)
MACHINES = (
    (
        "the thread's NV-DIMM (2015)",
        "400G",
        "16G",
        "nvdimm-n",
        "one 400 GB NV-DIMM beside 16 GiB of DRAM: Wilcox's example",
        ("wilcox2015options",),
    ),
    (
        "Optane PMem 100, 1:8 (2019)",
        "3T",
        "384G",
        "optane-pmem-100",
        "Intel's Memory Mode guidance, a GB of DRAM per 8 GB of Optane, 3 TB of PMem per CPU",
        ("intel2019memorymoderatio",),
    ),
    (
        "Optane PMem 100, 1:4 (2019)",
        "3T",
        "768G",
        "optane-pmem-100",
        "a typical full socket: 6 x 128 GB DRAM and 6 x 512 GB PMem",
        ("nvsl2020optanestudy",),
    ),
    (
        "CXL expanders, 1:1 (2024)",
        "1T",
        "1T",
        "cxl-expander",
        "four 256 GB CXL 2.0 memory modules beside 1 TiB of DRAM (volatile)",
        ("samsung2023cxl20", "tomshardware2023cz120"),
    ),
    ("6 TiB beside 64 GiB", "6T", "64G", "optane-pmem-100", "the study's extreme: far memory 96 times DRAM", ()),
)


def _cell(v) -> dict:
    out = {"answer": v.answer, "winner": v.winner or "", "tie": ", ".join(v.tie), "share": v.share}
    lead = v.winner or (v.tie[0] if v.tie else "")
    out["chapter"] = CHAPTERS.get(lead.split("+")[0], "comparison") if v.winner else "comparison"
    return out


def short_answer(row) -> str:
    """A verdict in a table cell: ``"3 (100%)"``, or ``"tie: huge, 3 (58%)"`` with the leader's
    share; ``row`` has the ``winner``, ``tie`` and ``share`` of a verdict."""
    if row["winner"]:
        return f"{row['winner']} ({row['share']:.0%})"
    return f"tie: {row['tie']} ({row['share']:.0%})" if row["tie"] else "no safe option"


def which_option_when(
    machines=(("1:4", "64G", "16G"), ("1:25", "400G", "16G"), ("1:96", "6T", "64G")),
    workloads=("rand-4k", "rand-64k", "seq-1m"),
    kernels=("4.19", "6.1", DEFAULT_ERA),
    options=None,
    hardware="optane-pmem-100",
    ios=128,
    file_size="256M",
    draws=500,
    seed=0,
) -> pd.DataFrame:
    """The robust verdict at every (machine, workload, kernel): a winner only where it wins at
    least 90 % of the draws, else the tie. Columns: ``ratio``, ``pmem``, ``dram``,
    ``workload``, ``kernel``, ``answer``, ``winner``, ``tie``, ``share``, ``chapter``."""
    rows = []
    for (ratio, pm, dr), wl, k in itertools.product(machines, workloads, kernels):
        m = Machine(pmem=pm, dram=dr)
        w = Workload.from_preset(wl, ios=ios, file_size=file_size, seed=1)
        v = verdict(m, w, options=options or designs(), hardware=hardware, kernel=k, draws=draws, seed=seed)
        rows.append(
            {
                "ratio": ratio,
                "pmem": format_size(m.pmem),
                "dram": format_size(m.dram),
                "workload": wl,
                "kernel": k,
                **_cell(v),
            }
        )
    return pd.DataFrame(rows)


def one_b_against_one_a(
    pmem_sizes=("8G", "400G", "6T"),
    dram="64G",
    queue_depths=(1, 32, 256),
    kernels=("4.19", DEFAULT_ERA),
    cpus=(1, 16),
    io_size=4096,
    ios=512,
    file_size="256M",
    pool_pages=4096,
    draws=300,
    seed=0,
) -> pd.DataFrame:
    """Option 1b against 1a: DRAM held, time per I/O (median and the 5th-95th percentile over
    the figures' ranges), throughput at the queue depth and number of submitting CPUs (1b's
    shared pfn table pays cache-line transfers with more than one), and which wins the draws."""
    rows = []
    for pm, qd, k, n in itertools.product(pmem_sizes, queue_depths, kernels, cpus):
        m = Machine(pmem=pm, dram=dram)
        w = Workload(ios=max(ios, 2 * qd), io_size=io_size, queue_depth=qd, file_size=file_size, seed=1)
        res = [
            run("1a", m, w, kernel=k, cpus=n, data=False),
            run("1b", m, w, kernel=k, cpus=n, data=False, pool_pages=pool_pages),
        ]
        v = verdict(m, w, results=res, draws=draws, seed=seed)
        by = v.options.set_index("option")
        for r in res:
            o = r.spec.option
            rows.append(
                {
                    "pmem": format_size(m.pmem),
                    "pmem_bytes": m.pmem,
                    "queue_depth": qd,
                    "kernel": k,
                    "cpus": n,
                    "option": o,
                    "feasible": r.feasible,
                    "dram_held": format_size(int(dram_held_bytes(r.metrics))),
                    "dram_held_bytes": int(dram_held_bytes(r.metrics)),
                    "ns_median": by.loc[o, "ns_median"],
                    "ns_p5": by.loc[o, "ns_p5"],
                    "ns_p95": by.loc[o, "ns_p95"],
                    "iops": r.modelled.iops if r.modelled else float("nan"),
                    "bound": r.modelled.bound if r.modelled else "",
                    "stalls": r.metrics["pool_stalls"],
                    "wins": by.loc[o, "wins"],
                    "verdict": v.answer,
                }
            )
    return pd.DataFrame(rows)


def machines_today(
    workload="rand-64k", kernel=DEFAULT_ERA, ios=128, file_size="256M", draws=300, seed=0
) -> pd.DataFrame:
    """Every option on each of :data:`MACHINES`: feasible or not, DRAM held (and its share of
    DRAM), the median time per I/O over the ranges, and the verdict."""
    rows = []
    for label, pm, dr, hw, what, keys in MACHINES:
        m = Machine(pmem=pm, dram=dr)
        w = Workload.from_preset(workload, ios=ios, file_size=file_size, seed=1)
        res = [run(o, m, w, hardware=hw, kernel=kernel, data=False) for o in designs()]
        v = verdict(m, w, results=res, hardware=hw, draws=draws, seed=seed)
        c = _cell(v)
        by = v.options.set_index("option")
        for r in res:
            held = int(dram_held_bytes(r.metrics))
            rows.append(
                {
                    "machine": label,
                    "pmem": pm,
                    "dram": dr,
                    "medium": hw,
                    "what": what,
                    "sources": ", ".join(keys),
                    "option": r.spec.option,
                    "feasible": r.feasible,
                    "safe": safe(r),
                    "dram_held": format_size(held),
                    "dram_share": held / parse_size(dr),
                    "ns_median": by.loc[r.spec.key, "ns_median"],
                    "verdict": v.answer,
                    **{k: c[k] for k in ("winner", "tie", "share")},
                }
            )
    return pd.DataFrame(rows)


def crossover(
    options=None,
    io_sizes=tuple(4096 << k for k in range(9)),
    queue_depth=32,
    cpus=1,
    pmem="400G",
    dram="64G",
    hardware="optane-pmem-100",
    kernel=DEFAULT_ERA,
    ios=64,
) -> pd.DataFrame:
    """Each option's throughput over I/O sizes with ``queue_depth`` I/Os in flight on each of
    ``cpus`` CPUs: CPU and device time per I/O, I/Os and GB per second, what bounds it, and
    ``crossover``: the smallest size at which the device bounds it (NaN if none does)."""
    rows = []
    m = Machine(pmem=pmem, dram=dram)
    for o in options or designs():
        for size in io_sizes:
            w = Workload(
                ios=max(ios, 2 * queue_depth),
                io_size=int(size),
                queue_depth=queue_depth,
                read_fraction=0.5,
                file_size=max(64 << 20, 4 * queue_depth * int(size)),
                seed=1,
            )
            r = run(o, m, w, hardware=hardware, kernel=kernel, cpus=cpus, data=False)
            mo = r.modelled
            rows.append(
                {
                    "option": r.spec.key,
                    "io_size": int(size),
                    "io": format_size(int(size)),
                    "feasible": r.feasible,
                    "cpu_ns": mo.cpu_ns if mo else float("nan"),
                    "device_ns": mo.device_ns if mo else float("nan"),
                    "iops": mo.iops if mo else float("nan"),
                    "gbps": mo.gbps if mo else float("nan"),
                    "bound": mo.bound if mo else "",
                }
            )
    df = pd.DataFrame(rows)
    first = df[df["bound"] == "device"].groupby("option")["io_size"].min()
    df["crossover"] = df["option"].map(first).astype(float)
    return df


def sensitivity_by_machine(
    machines=MACHINES, workload="rand-64k", kernel=DEFAULT_ERA, ios=128, file_size="256M", top=5
) -> pd.DataFrame:
    """:func:`daxsim.study.verdict.sensitivity` over every option on each machine: per machine the
    ``top`` figures that move the fastest safe option's lead most, one at a time over their
    ranges (``lead at low``/``lead at high``: a share of the runner-up's time, negative where
    another option wins at that end)."""
    out = []
    for label, pm, dr, hw, _what, _keys in machines:
        m = Machine(pmem=pm, dram=dr)
        w = Workload.from_preset(workload, ios=ios, file_size=file_size, seed=1)
        res = [run(o, m, w, hardware=hw, kernel=kernel, data=False) for o in designs()]
        s = sensitivity(res, hardware=hw).head(top)
        out.append(s.assign(machine=label, medium=hw))
    return pd.concat(out, ignore_index=True)
