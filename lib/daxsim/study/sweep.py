"""Sweeps: every point of a parameter grid, in worker processes, resumable.

The grid (:mod:`daxsim.study.grid`) names values for each axis; the sweep runs
:func:`daxsim.run` at every point of their product and returns one tidy row per point
(:func:`daxsim.study.rows.row`: the parameters, ``feasible``, ``reason`` and ``status``,
every metric, the modelled time and its parts, ``wall_s``), the point's own values in
the axis columns. Infeasible points are rows with their reason.

The hardware profile changes only the cost model, never the emulation, so points that
differ only in ``hardware`` share one emulation and are re-modelled (:func:`remodel`),
which gives exactly what separate runs give. Likewise ``memmap`` is ignored by the
options that give pmem no struct pages, and by ``nvram`` (its memmap is always on pmem).

The points run in local worker processes (``jobs``), or, given a ``scheduler`` address,
on a Dask distributed cluster (``pip install daxsim[dask]``; every worker needs daxsim
installed): the same rows either way, appended as they finish, resumable the same way.

With ``out``, each finished point is appended to the file and flushed to disk as soon as
it is known; a sweep started again with the same ``out`` reads the points already there
and computes only the others, and the file is finally rewritten in grid order. The order
of the rows never depends on the number of worker processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from daxsim.emu.machine import Machine
from daxsim.emu.workload import PRESETS, Workload
from daxsim.model.hardware import hardware_profile
from daxsim.study.api import Result, run
from daxsim.study.grid import (  # noqa: F401 (the grid's names are the sweep's too)
    AXES,
    DEFAULT_GRID,
    DESIGNS,
    as_bool,
    emulation_key,
    normalise_grid,
    point_key,
    points,
    read_grid_file,
)
from daxsim.study.rows import COLUMNS, METRICS, MODELLED, row
from daxsim.study.stages import cost, io_only, prepare, warm
from daxsim.study.sweepfiles import (
    append_rows,
    check_out,
    journal_of,
    read_done,
    read_table,
    write_final,
)

__all__ = [
    "AXES",
    "COLUMNS",
    "DEFAULT_GRID",
    "DESIGNS",
    "METRICS",
    "MODELLED",
    "SweepInterrupted",
    "check_scheduler",
    "normalise_grid",
    "points",
    "read_grid_file",
    "read_table",
    "remodel",
    "sweep",
]


# --------------------------------------------------------------------------- one point


def remodel(result: Result, hardware) -> Result:
    """``result`` as if it had run with another hardware profile behind pmem.

    Only the cost model sees the hardware, so this is exactly what :func:`daxsim.run`
    would return with ``hardware`` (``wall_s`` aside): the counters are re-costed.
    """
    hw = hardware_profile(hardware)
    if not result.feasible:
        return dataclasses.replace(result, hardware=hw)
    modelled = cost(
        result.spec,
        result.metrics,
        hw,
        result.cost,
        result.machine,
        result.workload,
        result.kernel,
        result.iommu,
        result.cpus,
    )
    return dataclasses.replace(result, hardware=hw, modelled=modelled)


def _workload(p: dict) -> Workload:
    if p["workload"] in PRESETS:
        return Workload.from_preset(p["workload"], ios=p["ios"], seed=p["seed"], truncate_rate=p["truncate_rate"])
    if p["truncate_rate"]:
        raise ValueError(
            f"truncate_rate: {p['truncate_rate']!r} applies to presets only; an operation string "
            f"({p['workload']!r}) spells its truncates itself (t0:4k)"
        )
    return Workload(ops=p["workload"], seed=p["seed"])


def _row(p: dict, r: Result, wall_s: float) -> dict:
    """The run's row, with the point's own values in the axis columns."""
    out = row(r)
    out.update({k: p[k] for k in AXES if k != "option"})
    out["wall_s"] = wall_s
    return out


def _run_group(group: list[dict]) -> list[dict]:
    """Emulate once for the group's first point, re-model for each hardware profile."""
    p = group[0]
    t0 = time.perf_counter()
    r = run(
        p["option"],
        Machine(p["pmem"], p["dram"], memmap=p["memmap"]),
        _workload(p),
        hardware=p["hardware"],
        data=p["data"],
        kernel=p["kernel"],
    )  # p["option"] is a spec
    wall = time.perf_counter() - t0
    return [_row(q, r if q["hardware"] == p["hardware"] else remodel(r, q["hardware"]), wall) for q in group]


def _kernels(p: dict) -> tuple:
    """What a point's run compiles: (option, data, reads and writes only)."""
    return p["option"], bool(p["data"]), io_only(_workload(p).generate()[0])


# ------------------------------------------------------------------------------ sweep


class _Progress:
    """``sweep: 120/560 points (21%) [#####.....] 12 s`` on stderr, redrawn in place."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.total, self.done, self.enabled, self.t0 = total, done, enabled, time.perf_counter()
        self.show()

    def add(self, n: int) -> None:
        self.done += n
        self.show()

    def show(self) -> None:
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        sys.stderr.write(
            f"\rsweep: {self.done}/{self.total} points ({frac:.0%}) [{bar}] {time.perf_counter() - self.t0:.0f} s"
        )
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: how many points were saved (in ``out``) and how to resume."""

    def __init__(self, total: int, saved: int, computed: int, out: Path | None):
        super().__init__(total, saved, computed, out)
        self.total, self.saved, self.computed, self.out = total, saved, computed, out

    def __str__(self) -> str:
        if self.out is None:
            return (
                f"sweep: interrupted after {self.computed} of {self.total} points; none saved (no --out); "
                "give --out FILE to keep finished points and resume"
            )
        return (
            f"sweep: interrupted; {self.saved} of {self.total} points are saved in {str(self.out)!r}; run the "
            f"same command again to compute the other {self.total - self.saved}"
        )


def _worker_init(parent: int) -> None:
    """A sweep worker: dies with its parent (PR_SET_PDEATHSIG), leaves Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent check below still holds at start
        pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def check_points(pts: list[dict]) -> None:
    """Prepare every point (no emulation): a combination the run would refuse (a page size
    the alignment does not allow, a pmem too small, a run too large for this host) is a
    ValueError naming the parameter and the point, before the first point runs."""
    for p in pts:
        try:
            prepare(
                p["option"],
                Machine(p["pmem"], p["dram"], memmap=p["memmap"]),
                _workload(p),
                hardware=p["hardware"],
                data=p["data"],
                kernel=p["kernel"],
            )
        except ValueError as e:
            where = " ".join(f"{k}={p[k]}" for k in AXES)
            raise ValueError(f"{e} (at the grid point {where})") from None


def check_jobs(jobs) -> int:
    if jobs is None:
        return os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs: {jobs!r} is not a positive integer (worker processes)")
    return int(jobs)


def check_scheduler(scheduler) -> str | None:
    """A Dask scheduler's address (``tcp://host:8786``, ``host:8786``), checked for form
    and for ``distributed`` being installed; None means the local worker processes."""
    if scheduler is None:
        return None
    if not isinstance(scheduler, str) or not scheduler.strip() or any(c.isspace() for c in scheduler.strip()):
        raise ValueError(f"scheduler: {scheduler!r} is not a scheduler address; accepted: tcp://HOST:PORT or HOST:PORT")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ValueError(
            f"scheduler: {scheduler!r}: a Dask cluster needs the distributed package, which is not "
            "installed; accepted: pip install 'daxsim[dask]', or no --scheduler (local processes)"
        ) from None
    return scheduler.strip()


def _on_dask(scheduler: str, groups: list, finished) -> None:
    """Run the groups on the cluster behind ``scheduler``; ``finished(rows)`` as each ends."""
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as e:
        raise ValueError(f"scheduler: no Dask scheduler answers at {scheduler!r} ({e})") from None
    with client:
        futures = client.map(_run_group, groups, pure=False)
        try:
            for f in as_completed(futures):
                finished(f.result())
        except BaseException:
            client.cancel(futures)
            raise


def sweep(
    grid: dict | list | None = None,
    jobs: int | None = None,
    out=None,
    progress: bool = False,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run every point of ``grid``; return the tidy table (one row per point, grid order).

    Parameters
    ----------
    grid : dict axis -> value or list of values (axes: :data:`AXES`; missing axes take
        :data:`DEFAULT_GRID`'s values). Sizes as :func:`daxsim.parse_size` reads them;
        ``workload`` is a preset or an operation string. A list of such grids sweeps
        the points of each in turn.
    jobs : worker processes (default: every core). ``1`` runs in this process.
    out : a ``.csv`` or ``.parquet`` path. Finished points are appended as they finish
        (a Parquet sweep journals them in ``<out>.partial.csv``); points already in the
        file are not recomputed; at the end the file holds the whole table in grid order
        (rows of other grids that were in it come after).
    progress : draw a progress bar on stderr.
    scheduler : the address of a Dask distributed scheduler (``tcp://host:8786``): the
        points run on its workers instead of local processes (``jobs`` is then ignored).

    The returned frame's ``attrs`` say how many points were ``computed`` and ``reused``
    and how many ``emulations`` ran.
    """
    pts = points(grid)
    jobs = check_jobs(jobs)
    scheduler = check_scheduler(scheduler)
    out = check_out(out) if out is not None else None
    done = read_done(out) if out is not None else pd.DataFrame(columns=list(COLUMNS))
    have = {point_key(r): i for i, r in enumerate(done.to_dict("records"))}
    todo = [p for p in pts if point_key(p) not in have]
    groups: dict[tuple, list[dict]] = {}
    for p in todo:
        groups.setdefault(emulation_key(p), []).append(p)
    check_points([g[0] for g in groups.values()])  # a bad combination fails before the first point
    bar = _Progress(len(pts), len(pts) - len(todo), progress)
    new: dict[tuple, dict] = {}

    fh, header = None, False
    if out is not None and todo:
        journal = journal_of(out)
        header = not journal.exists() or journal.stat().st_size == 0
        fh = open(journal, "a", newline="")  # noqa: SIM115 (closed below, after the workers)
        if not header and not journal.read_text().endswith("\n"):
            fh.write("\n")  # a line cut short by an interruption: the reader drops it

    def finished(rows):
        nonlocal header
        for r in rows:
            new[point_key(r)] = r
        if fh is not None:
            append_rows(fh, rows, header)
            header = False
        bar.add(len(rows))

    try:
        if scheduler is not None and groups:
            _on_dask(scheduler, list(groups.values()), finished)
        elif jobs == 1 or len(groups) <= 1:
            for g in groups.values():
                finished(_run_group(g))
        else:
            # fork: workers start with daxsim imported and its kernels loaded (no re-import
            # of the caller's __main__, which a notebook or script may not guard)
            for option, data, io in dict.fromkeys(_kernels(p) for p in todo):
                warm(option, data, io)  # compiled (or loaded) once here, inherited by every forked worker
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            pool = cf.ProcessPoolExecutor(
                max_workers=min(jobs, len(groups)), mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
            )
            futures = [pool.submit(_run_group, g) for g in groups.values()]
            try:
                for f in cf.as_completed(futures):
                    finished(f.result())
            except BaseException:
                # do not wait for running points: end the workers; the pool's manager then fails
                # every future (BrokenProcessPool) and stops. (Cancelling futures first makes it
                # raise InvalidStateError in its thread on Python 3.11.)
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
                pool.shutdown(wait=True)
                raise
            pool.shutdown()
    except KeyboardInterrupt:
        saved = 0
        if out is not None:  # what the file holds now (an interrupt may fall between a row and its write)
            if fh is not None:
                fh.close()
                fh = None
            try:
                keys = {point_key(r) for r in read_done(out).to_dict("records")}
                saved = sum(point_key(p) in keys for p in pts)
            except (OSError, ValueError):
                saved = len(pts) - len(todo) + len(new)
        raise SweepInterrupted(len(pts), saved, len(new), out) from None
    finally:
        if fh is not None:
            fh.close()

    records = done.to_dict("records")
    rows = [new[k] if k in new else records[have[k]] for k in map(point_key, pts)]
    in_grid = {point_key(p) for p in pts}
    rows += [r for r in records if point_key(r) not in in_grid]  # other grids' rows stay, after ours
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["feasible"] = df["feasible"].astype(bool)
    df["data"] = df["data"].astype(bool)
    if out is not None:
        write_final(out, df)
    df = df.iloc[: len(pts)].reset_index(drop=True)
    df.attrs.update(computed=len(todo), reused=len(pts) - len(todo), emulations=len(groups))
    return df
