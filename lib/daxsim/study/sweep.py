"""Sweeps: every point of a parameter grid, in worker processes, resumable.

A grid names values for each axis of :data:`AXES` (``option``, ``pmem``, ``dram``,
``memmap``, ``hardware``, ``workload``, ``ios``, ``truncate_rate``, ``seed``, ``data``);
the sweep runs :func:`daxsim.run` at every point of their product and returns one tidy
row per point: the parameters, ``feasible`` and ``reason``, every metric under the name
``run --json`` prints it (except the counter ``ios``, which is ``ios_completed`` here:
the column ``ios`` is the parameter), the modelled time per I/O and its breakdown
(``ns_<part>``), and ``wall_s``. Infeasible points are rows with their reason.

The hardware profile changes only the cost model, never the emulation, so points that
differ only in ``hardware`` share one emulation and are re-modelled (:func:`remodel`),
which gives exactly what separate runs give. Likewise ``memmap`` is ignored by the
options that give pmem no struct pages, and by ``nvram`` (its memmap is always on pmem).

With ``out``, each finished point is appended to the file and flushed to disk as soon as
it is known; a sweep started again with the same ``out`` reads the points already there
and computes only the others, and the file is finally rewritten in grid order. The order
of the rows never depends on the number of worker processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import io
import itertools
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE, hardware_profile
from daxsim.emu.machine import MEMMAP_PLACEMENTS, Machine
from daxsim.model.metrics import COUNTERS
from daxsim.paths import OPTIONS, path_module
from daxsim.study.core import Result, _warm, cost_of, run
from daxsim.emu.units import PAGE_SIZE, parse_size
from daxsim.emu.workload import DEFAULT_PRESET, PRESETS, Workload

__all__ = ["AXES", "COLUMNS", "DEFAULT_GRID", "DESIGNS", "normalise_grid", "points", "read_grid_file", "read_table",
           "remodel", "sweep"]

#: the design options (``ideal``, the bound, can be asked for but is not in the default grid)
DESIGNS = tuple(o for o in OPTIONS if o != "ideal")

#: the grid's axes, in the order their product is taken (the last varies fastest)
AXES = ("option", "pmem", "dram", "memmap", "hardware", "workload", "ios", "truncate_rate", "seed", "data")

DEFAULT_GRID = {"option": list(DESIGNS), "pmem": ["400G"], "dram": ["16G"], "memmap": ["dram"],
                "hardware": [DEFAULT_HARDWARE], "workload": [DEFAULT_PRESET], "ios": [1000],
                "truncate_rate": [0.0], "seed": [0], "data": [True]}

_ACCOUNTING = ("dirty_tracking_bytes", "memmap_dram_bytes", "memmap_pmem_bytes", "pmem_capacity_lost_bytes",
               "struct_pages_boot", "dram_managed_bytes")
_CHECKS = ("corrupted_bytes", "corrupted_victim_bytes", "corrupted_device_bytes", "corrupted_buffer_bytes",
           "files_corrupted", "leaked_pages", "verified_bytes", "pool_table_bytes", "pool_reserved_bytes")
_DERIVED = ("bytes_dma", "bytes_cpu_copied", "struct_pages_initialised")
#: the metrics of a run, as ``run --json`` names them (``ios`` becomes ``ios_completed``)
METRICS = tuple("ios_completed" if k == "ios" else k for k in (*_ACCOUNTING, *COUNTERS, *_CHECKS, *_DERIVED))
_PARTS = ("fixed", "gup", "put", "pfn_walk", "descriptor", "alloc", "init", "lookup", "extent_ref", "range_lock",
          "cpu_copy", "dma", "stall")
MODELLED = ("per_io_ns", *(f"ns_{p}" for p in _PARTS), "memmap_init_s", "truncate_wait_ns", "store_ns", "fsync_ns",
            "media_bytes")
#: every column of a sweep's table, in order
COLUMNS = (*AXES, "feasible", "reason", *METRICS, *MODELLED, "wall_s")


# ----------------------------------------------------------------------------- the grid


def _as_list(key, values) -> list:
    if isinstance(values, (str, bytes, int, float, bool)) or values is None:
        return [values]
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"{key}: {values!r} is not a value or a list of values") from None
    if not values:
        raise ValueError(f"{key}: an empty list; give at least one value")
    return values


def _check_value(key: str, v):
    """One grid value in canonical form (sizes in bytes, options as strings), or a ValueError."""
    if key == "option":
        v = str(v)
        if v not in OPTIONS:
            raise ValueError(f"option: {v!r} is not an option; accepted: {', '.join(OPTIONS)}")
        return v
    if key in ("pmem", "dram"):
        n = parse_size(v, key)
        if n <= 0 or n % PAGE_SIZE:
            raise ValueError(f"{key}: {v!r} must be a positive multiple of 4 KiB, e.g. '8G'")
        return n
    if key == "memmap":
        if v not in MEMMAP_PLACEMENTS:
            raise ValueError(f"memmap: {v!r} is not one of {', '.join(MEMMAP_PLACEMENTS)}")
        return v
    if key == "hardware":
        if not isinstance(v, str):
            raise ValueError(f"hardware: {v!r} is not a profile name; accepted: {', '.join(HARDWARE)}")
        hardware_profile(v)  # raises with the accepted names
        return v
    if key == "workload":
        if not isinstance(v, str) or (v not in PRESETS and ":" not in v):
            raise ValueError(f"workload: {v!r} is not a preset; accepted: {', '.join(PRESETS)} "
                             "or an operation string like 'w0:8k,r8k:4k'")
        if v not in PRESETS:
            Workload(ops=v)  # validates the operation string
        return v
    if key in ("ios", "seed"):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if key == "ios" else 0):
            accepted = "a positive integer" if key == "ios" else "a non-negative integer"
            raise ValueError(f"{key}: {v!r} is not {accepted}")
        return int(v)
    if key == "truncate_rate":
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"truncate_rate: {v!r} must be a number between 0 and 1")
        return float(v)
    if key == "data":
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"data: {v!r} must be true or false")
        return bool(v)
    raise AssertionError(key)


def normalise_grid(grid: dict | None) -> dict[str, list]:
    """The grid with every axis present (defaults from :data:`DEFAULT_GRID`), each value
    checked and in canonical form, duplicates removed (first one kept)."""
    grid = dict(grid or {})
    unknown = [k for k in grid if k not in AXES]
    if unknown:
        raise ValueError(f"grid: unknown parameter {unknown[0]!r}; accepted: {', '.join(AXES)}")
    out = {}
    for key in AXES:
        values = [_check_value(key, v) for v in _as_list(key, grid.get(key, DEFAULT_GRID[key]))]
        out[key] = list(dict.fromkeys(values))
    return out


def points(grid: dict | list | None) -> list[dict]:
    """Every point of the grid, in a fixed order (the last axis of :data:`AXES` varies fastest).

    A list of grids gives the points of each in turn (a point in two of them counts once).
    """
    grids = grid if isinstance(grid, (list, tuple)) else [grid]
    if not grids:
        raise ValueError("grid: an empty list; give at least one grid")
    out: dict[tuple, dict] = {}
    for one in grids:
        if one is not None and not isinstance(one, dict):
            raise ValueError(f"grid: {one!r} is not a dict of parameter -> values")
        g = normalise_grid(one)
        for values in itertools.product(*(g[k] for k in AXES)):
            p = dict(zip(AXES, values))
            out.setdefault(_key(p), p)
    return list(out.values())


def _key(p: dict) -> tuple:
    """A point's identity, as comparable values (so a row read back from a file matches)."""
    return (str(p["option"]), int(p["pmem"]), int(p["dram"]), str(p["memmap"]), str(p["hardware"]),
            str(p["workload"]), int(p["ios"]), float(p["truncate_rate"]), int(p["seed"]), _bool(p["data"]))


def _bool(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() == "true"
    return bool(v)


def _emulation_key(p: dict) -> tuple:
    """What the emulation depends on: everything but the hardware, and the memmap
    placement only for options that build a memmap whose placement they take from it."""
    memmap = p["memmap"] if path_module(p["option"]).STRUCT_PAGES and p["option"] != "nvram" else "-"
    return _key({**p, "hardware": "-", "memmap": memmap})


def read_grid_file(path) -> dict:
    """A grid from a TOML (``.toml``) or YAML (``.yaml``, ``.yml``) file: axis = value or list."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"grid: {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib
        try:
            grid = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"grid: {str(path)!r} is not valid TOML ({e})") from None
    elif suffix in (".yaml", ".yml"):
        import yaml
        try:
            grid = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise ValueError(f"grid: {str(path)!r} is not valid YAML ({str(e).splitlines()[0]})") from None
    else:
        raise ValueError(f"grid: {str(path)!r} is neither .toml nor .yaml/.yml")
    if not isinstance(grid, dict):
        raise ValueError(f"grid: {str(path)!r} must map parameters to values, "  # noqa: TRY004 (input error)
                         'e.g. pmem = ["8G", "6T"]')
    return grid


# --------------------------------------------------------------------------- one point


def remodel(result: Result, hardware) -> Result:
    """``result`` as if it had run with another hardware profile behind pmem.

    Only the cost model sees the hardware, so this is exactly what :func:`daxsim.run`
    would return with ``hardware`` (``wall_s`` aside): the counters are re-costed.
    """
    hw = hardware_profile(hardware)
    if not result.feasible:
        return dataclasses.replace(result, hardware=hw)
    modelled = cost_of(result.option, result.machine, result.workload, hw, result.cost, result.metrics, result.huge,
                       result.bounce_node)
    return dataclasses.replace(result, hardware=hw, modelled=modelled)


def _workload(p: dict) -> Workload:
    if p["workload"] in PRESETS:
        return Workload.from_preset(p["workload"], ios=p["ios"], seed=p["seed"], truncate_rate=p["truncate_rate"])
    if p["truncate_rate"]:
        raise ValueError(f"truncate_rate: {p['truncate_rate']!r} applies to presets only; an operation string "
                         f"({p['workload']!r}) spells its truncates itself (t0:4k)")
    return Workload(ops=p["workload"], seed=p["seed"])


def _row(p: dict, r: Result, wall_s: float) -> dict:
    row = {k: p[k] for k in AXES}
    row["feasible"], row["reason"] = bool(r.feasible), r.reason
    for k, v in r.metrics.items():
        name = "ios_completed" if k == "ios" else k
        if name not in METRICS:
            raise KeyError(f"metric {k!r} is not a sweep column; add it to daxsim.study.sweep.METRICS")
        row[name] = v
    for k in METRICS:
        row.setdefault(k, 0)
    mo = r.modelled
    if mo is not None:
        row.update(per_io_ns=mo.per_io_ns, memmap_init_s=mo.memmap_init_s, truncate_wait_ns=mo.truncate_wait_ns,
                   store_ns=mo.store_ns, fsync_ns=mo.fsync_ns, media_bytes=mo.media_bytes)
        row.update({f"ns_{k}": v for k, v in mo.breakdown.items()})
    for k in MODELLED:
        row.setdefault(k, math.nan)
    row["wall_s"] = wall_s
    return {k: row[k] for k in COLUMNS}


def _run_group(group: list[dict]) -> list[dict]:
    """Emulate once for the group's first point, re-model for each hardware profile."""
    p = group[0]
    t0 = time.perf_counter()
    r = run(p["option"], Machine(p["pmem"], p["dram"], memmap=p["memmap"]), _workload(p), hardware=p["hardware"],
            data=p["data"])
    wall = time.perf_counter() - t0
    return [_row(q, r if q["hardware"] == p["hardware"] else remodel(r, q["hardware"]), wall) for q in group]


# ------------------------------------------------------------------------------ files


def check_out(out) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"out: {str(out)!r} must end in .csv or .parquet")
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f"out: {str(out)!r}: writing Parquet needs pyarrow, which is not installed; "
                             "accepted: a .csv file, or pip install pyarrow") from None
    if not out.parent.exists():
        raise ValueError(f"out: the folder {str(out.parent)!r} does not exist")
    return out


def _journal(out: Path) -> Path:
    """Where finished points go as they finish: the CSV itself, or a CSV beside a Parquet file."""
    return out if out.suffix.lower() == ".csv" else out.with_name(out.name + ".partial.csv")


_DTYPES = {"option": str, "memmap": str, "hardware": str, "workload": str, "reason": str}


def _read_csv(path: Path) -> pd.DataFrame:
    """A sweep CSV; a last line cut short by an interruption is dropped."""
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    if not text.strip():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(io.StringIO(text), dtype=_DTYPES, keep_default_na=False,
                       na_values={c: [""] for c in COLUMNS if c not in _DTYPES})


def _read_done(out: Path) -> pd.DataFrame:
    frames = []
    if out.suffix.lower() == ".parquet" and out.exists():
        frames.append(pd.read_parquet(out))
    if _journal(out).exists():
        frames.append(_read_csv(_journal(out)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    for f in frames:
        missing = [c for c in COLUMNS if c not in f.columns]
        if missing:
            raise ValueError(f"out: {str(out)!r} was not written by this version of daxsim sweep "
                             f"(no column {missing[0]!r}); accepted: a new file, or one from an earlier sweep")
    df = pd.concat(frames, ignore_index=True)[list(COLUMNS)]
    df["data"] = [_bool(v) for v in df["data"]]
    df["feasible"] = [_bool(v) for v in df["feasible"]]
    return df.drop_duplicates(subset=list(AXES), keep="last")


def read_table(path) -> pd.DataFrame:
    """A table a sweep wrote (``.csv`` or ``.parquet``), with its types: options as strings,
    empty reasons as ``""``, booleans as booleans."""
    path = Path(path)
    df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else _read_csv(path)
    for c in ("data", "feasible"):
        df[c] = [_bool(v) for v in df[c]]
    return df


def _append(fh, rows: list[dict], header: bool) -> None:
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(fh, header=header, index=False)
    fh.flush()
    os.fsync(fh.fileno())


def _write_final(out: Path, df: pd.DataFrame) -> None:
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".parquet":
        df.to_parquet(tmp, index=False)
    else:
        df.to_csv(tmp, index=False)
    os.replace(tmp, out)
    if _journal(out) != out and _journal(out).exists():
        _journal(out).unlink()


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
        sys.stderr.write(f"\rsweep: {self.done}/{self.total} points ({frac:.0%}) [{bar}] "
                         f"{time.perf_counter() - self.t0:.0f} s")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def check_jobs(jobs) -> int:
    if jobs is None:
        return os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs: {jobs!r} is not a positive integer (worker processes)")
    return int(jobs)


def sweep(grid: dict | list | None = None, jobs: int | None = None, out=None, progress: bool = False) -> pd.DataFrame:
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

    The returned frame's ``attrs`` say how many points were ``computed`` and ``reused``
    and how many ``emulations`` ran.
    """
    pts = points(grid)
    jobs = check_jobs(jobs)
    out = check_out(out) if out is not None else None
    done = _read_done(out) if out is not None else pd.DataFrame(columns=list(COLUMNS))
    have = {_key(dict(zip(AXES, vals))): i for i, vals in enumerate(done[list(AXES)].itertuples(index=False))}
    todo = [p for p in pts if _key(p) not in have]
    groups: dict[tuple, list[dict]] = {}
    for p in todo:
        groups.setdefault(_emulation_key(p), []).append(p)
    bar = _Progress(len(pts), len(pts) - len(todo), progress)
    new: dict[tuple, dict] = {}

    fh, header = None, False
    if out is not None and todo:
        journal = _journal(out)
        header = not journal.exists() or journal.stat().st_size == 0
        fh = open(journal, "a", newline="")  # noqa: SIM115 (closed below, after the workers)
        if not header and not journal.read_text().endswith("\n"):
            fh.write("\n")  # a line cut short by an interruption: the reader drops it

    def finished(rows):
        nonlocal header
        for r in rows:
            new[_key(r)] = r
        if fh is not None:
            _append(fh, rows, header)
            header = False
        bar.add(len(rows))

    try:
        if jobs == 1 or len(groups) <= 1:
            for g in groups.values():
                finished(_run_group(g))
        else:
            # fork: workers start with daxsim imported and its kernels loaded (no re-import
            # of the caller's __main__, which a notebook or script may not guard)
            for option in dict.fromkeys(p["option"] for p in todo):
                _warm(option)  # compiled (or loaded) once here, inherited by every forked worker
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(groups)), mp_context=ctx) as pool:
                futures = [pool.submit(_run_group, g) for g in groups.values()]
                try:
                    for f in cf.as_completed(futures):
                        finished(f.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    finally:
        if fh is not None:
            fh.close()

    records = done.to_dict("records")
    rows = [new[k] if k in new else records[have[k]] for k in map(_key, pts)]
    in_grid = {_key(p) for p in pts}
    rows += [r for r in records if _key(r) not in in_grid]  # other grids' rows stay, after ours
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["feasible"] = df["feasible"].astype(bool)
    df["data"] = df["data"].astype(bool)
    if out is not None:
        _write_final(out, df)
    df = df.iloc[:len(pts)].reset_index(drop=True)
    df.attrs.update(computed=len(todo), reused=len(pts) - len(todo), emulations=len(groups))
    return df
