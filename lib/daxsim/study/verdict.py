"""A verdict that survives its assumptions: the winner over the ranges of every figure.

Each option runs once on the machine and workload; its counters are then re-costed (not
re-emulated) ``draws`` times, each draw taking every figure that has a range
(:mod:`daxsim.model.ranges`) at a value drawn log-uniformly between its low and its high,
the same draw for every option. The winner of a draw is the fastest option that is
feasible and safe, by the workload's time per operation (``op_ns``: its I/Os, stores and
fsyncs together, so that huge pages pay for the 2 MiB they write back); the verdict names a winner only where one option wins at least
``share`` (90 %) of the draws, and otherwise a tie between the options that share the
wins. :func:`sensitivity` moves one figure at a time to its low and its high.

    >>> import daxsim
    >>> v = verdict(daxsim.Machine("400G", "16G"), daxsim.Workload(ios=64, file_size="64M"),
    ...             options=["1a", "3"], draws=200)
    >>> v.winner or v.tie
    ['1a', '3']
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from daxsim.emu.workload import OP_MUNMAP, Workload
from daxsim.model.cost import dram_held_bytes
from daxsim.model.eras import DEFAULT_ERA
from daxsim.model.hardware import DEFAULT_HARDWARE, CostModel, HardwareProfile, hardware_profile
from daxsim.model.ranges import range_of
from daxsim.paths.registry import designs
from daxsim.study.api import Result, run
from daxsim.study.stages import cost as cost_of
from daxsim.study.stages import hazardous

__all__ = ["Verdict", "ranged_figures", "safe", "sensitivity", "verdict"]


def safe(r: Result) -> bool:
    """The one safety rule: feasible, no byte corrupted, and a design (and era) that pins what
    it DMAs to (option 2 is unsafe whenever a truncate can race with its I/O, raced or not)."""
    munmapped = bool((r.workload.generate()[0] == OP_MUNMAP).any())
    return bool(
        r.feasible
        and not r.metrics["corrupted_bytes"]
        and not (hazardous(r.spec.design, r.kernel, munmapped) and not r.guard)
    )


def ranged_figures(cost: CostModel, medium: HardwareProfile) -> dict[str, tuple[str, float, float]]:
    """Every figure with a range (low < high): name -> (where, low, high), where is ``cost``
    or ``medium`` (the figures of the profile behind pmem)."""
    out = {}
    for name, f in cost.figures().items():
        r = range_of(name, float(f))
        if r is not None and r.low < r.high:
            out[name] = ("cost", r.low, r.high)
    for name, f in medium.figures().items():
        r = range_of(f"{medium.name}.{name}", float(f))
        if r is not None and r.low < r.high:
            out[f"{medium.name}.{name}"] = ("medium", r.low, r.high)
    return out


def _with(cost: CostModel, medium: HardwareProfile, values: dict) -> tuple[CostModel, HardwareProfile]:
    """The cost model and medium with some figures at other values (their labels kept)."""
    c = {k: dataclasses.replace(getattr(cost, k), value=float(v)) for k, v in values.items() if "." not in k}
    m = {
        k.split(".", 1)[1]: dataclasses.replace(getattr(medium, k.split(".", 1)[1]), value=float(v))
        for k, v in values.items()
        if "." in k
    }
    return dataclasses.replace(cost, **c), dataclasses.replace(medium, **m)


@dataclass(frozen=True)
class Verdict:
    """The outcome: per option, the spread of its time, and who wins how many draws."""

    winner: str | None  #: the option winning at least ``share`` of the draws, else None
    tie: list  #: the options that share the wins when there is no winner (by share)
    share: float  #: the winner's share, or the leading option's in a tie
    draws: int
    seed: int
    options: pd.DataFrame  #: per option: feasible, safe, hazard, DRAM held, time p5 / median / p95, wins
    figures: list  #: the figures drawn

    def to_dict(self) -> dict:
        opts = {
            row.option: {
                "feasible": bool(row.feasible),
                "safe": bool(row.safe),
                "dram_held_bytes": int(row.dram_held_bytes),
                "ns_p5": _num(row.ns_p5),
                "ns_median": _num(row.ns_median),
                "ns_p95": _num(row.ns_p95),
                "wins": float(row.wins),
            }
            for row in self.options.itertuples()
        }
        return {
            "winner": self.winner,
            "tie": self.tie,
            "share": self.share,
            "draws": self.draws,
            "seed": self.seed,
            "figures": self.figures,
            "options": opts,
        }

    @property
    def answer(self) -> str:
        if self.winner:
            return f"option {self.winner} ({self.share:.0%} of {self.draws} draws)"
        if self.tie:
            return "a tie: " + ", ".join(f"option {o}" for o in self.tie) + f" (the leader wins {self.share:.0%})"
        return "no option is feasible and safe here"


def _num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def verdict(
    machine,
    workload: Workload,
    options=None,
    hardware=DEFAULT_HARDWARE,
    kernel=DEFAULT_ERA,
    cost: CostModel | None = None,
    draws: int = 2000,
    seed: int = 0,
    share: float = 0.9,
    cpus: int = 1,
    iommu: bool = False,
    data: bool = False,
    results: list | None = None,
) -> Verdict:
    """Run ``options`` (default: every design) once, re-cost them ``draws`` times over the
    figures' ranges (seeded), and name the winner or the tie (module docstring)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= 1_000_000:
        raise ValueError(f"draws: {draws!r} must be an integer from 1 to 1000000")
    if not 0.5 < float(share) <= 1.0:
        raise ValueError(f"share: {share!r} must be above 0.5 and at most 1")
    cost = cost if cost is not None else CostModel()
    medium = hardware_profile(hardware)
    if results is None:
        options = list(designs()) if options is None else [str(o) for o in options]
        results = [
            run(o, machine, workload, hardware=medium, cost=cost, kernel=kernel, cpus=cpus, iommu=iommu, data=data)
            for o in options
        ]
    figs = ranged_figures(cost, medium)
    rng = np.random.default_rng(seed)
    names = list(figs)
    lo = np.array([figs[n][1] for n in names])
    hi = np.array([figs[n][2] for n in names])
    u = rng.random((draws, len(names)))
    values = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))  # log-uniform within each range
    ok = [safe(r) for r in results]
    times = np.full((draws, len(results)), np.nan)
    for d in range(draws):
        c, m = _with(cost, medium, dict(zip(names, values[d])))
        for j, r in enumerate(results):
            if r.feasible:
                times[d, j] = cost_of(r.spec, r.metrics, m, c, r.machine, r.workload, r.kernel, r.iommu, r.cpus).op_ns
    wins = np.zeros(len(results))
    safe_idx = [j for j, s in enumerate(ok) if s]
    if safe_idx:
        best = np.nanargmin(times[:, safe_idx], axis=1)
        for j in best:
            wins[safe_idx[j]] += 1
    wins /= draws
    labels = [r.spec.key for r in results]
    order = np.argsort(-wins)
    lead = int(order[0])
    winner = labels[lead] if safe_idx and wins[lead] >= share else None
    tie = [] if winner or not safe_idx else [labels[j] for j in order if wins[j] > 0]
    df = pd.DataFrame(
        {
            "option": labels,
            "feasible": [r.feasible for r in results],
            "safe": ok,
            "hazard": [bool(r.spec.design.hazard) for r in results],
            "dram_held_bytes": [int(dram_held_bytes(r.metrics)) for r in results],
            "ns_p5": [np.nanpercentile(times[:, j], 5) if r.feasible else np.nan for j, r in enumerate(results)],
            "ns_median": [np.nanmedian(times[:, j]) if r.feasible else np.nan for j, r in enumerate(results)],
            "ns_p95": [np.nanpercentile(times[:, j], 95) if r.feasible else np.nan for j, r in enumerate(results)],
            "wins": wins,
        }
    )
    return Verdict(winner, tie, float(wins[lead]) if safe_idx else 0.0, int(draws), int(seed), df, names)


def sensitivity(results: list, hardware=DEFAULT_HARDWARE, cost: CostModel | None = None) -> pd.DataFrame:
    """One figure at a time at its low and at its high (the others at their defaults): the
    fastest safe option and its lead over the next (a share of the next one's time). A row
    per figure, the figures that move the lead most first; ``flips`` where the winner changes."""
    cost = cost if cost is not None else CostModel()
    medium = hardware_profile(hardware)
    ok = [safe(r) and r.feasible for r in results]

    def rank(c, m):
        t = {
            r.spec.key: cost_of(r.spec, r.metrics, m, c, r.machine, r.workload, r.kernel, r.iommu, r.cpus).op_ns
            for r, s in zip(results, ok)
            if s
        }
        if not t:
            return None, 0.0
        order = sorted(t, key=t.get)
        lead = (t[order[1]] - t[order[0]]) / t[order[1]] if len(order) > 1 else 1.0
        return order[0], lead

    base_winner, base_lead = rank(cost, medium)
    rows = []
    for name, (_where, lo, hi) in ranged_figures(cost, medium).items():
        w_lo, l_lo = rank(*_with(cost, medium, {name: lo}))
        w_hi, l_hi = rank(*_with(cost, medium, {name: hi}))
        signed_lo = l_lo if w_lo == base_winner else -l_lo
        signed_hi = l_hi if w_hi == base_winner else -l_hi
        rows.append(
            {
                "figure": name,
                "low": lo,
                "high": hi,
                "winner at low": w_lo,
                "winner at high": w_hi,
                "lead at low": signed_lo,
                "lead at high": signed_hi,
                "default winner": base_winner,
                "default lead": base_lead,
                "flips": w_lo != base_winner or w_hi != base_winner,
                "swing": abs(signed_hi - signed_lo),
            }
        )
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values(["flips", "swing"], ascending=False).reset_index(drop=True)
    return df
