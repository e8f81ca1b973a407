"""daxsim benchmarks: print one JSON document of ratios against baselines measured in the same run.

Each check times the emulator and a baseline on the same machine, back to back, keeping
the best of a few repetitions of each (the machines are noisy), and reports the ratio with
its target. Run with ``make bench`` (or ``python bench/run.py [--quick]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import daxsim
import numba
import numpy as np
from daxsim.emu.machine import IDLE_REFCOUNT, Booted
from daxsim.model.counters import new_counters
from daxsim.paths.common import populate_memmap
from daxsim.emu.units import GiB, format_size, parse_size

REPS = 3

#: each benchmark's size: (measured, --smoke). A smoke run takes the second, once, to
#: check that every benchmark still runs, without measuring anything worth keeping
SIZES = {
    "data_path_ios": ({"rand-64k": 16384, "oltp-4k": 262144}, {"rand-64k": 64, "oltp-4k": 256}),
    "stores_ios": (200_000, 2000),
    "metadata_ios": (4096, 64),
    "memmap_pmem": ("400G", "8G"),
    "tib_ios": (100_000, 1000),
    "cli_ios": ({"64K": 16384, "4K": 131072}, {"64K": 64, "4K": 256}),
}
SMOKE = False  #: set by --smoke


def size(name: str):
    """The size benchmark ``name`` runs at (:data:`SIZES`)."""
    return SIZES[name][SMOKE]


def repeats(reps: int) -> int:
    """How many times a measurement is repeated: ``reps``, or once in a smoke run."""
    return 1 if SMOKE else reps


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best(fn, reps=REPS):
    """Best wall time of ``fn()`` over ``reps`` calls; fn returns its own time or None."""
    times = []
    for _ in range(repeats(reps)):
        t0 = time.perf_counter()
        own = fn()
        times.append(own if own is not None else time.perf_counter() - t0)
    return min(times)


def copy_time(nbytes: int, copies: int = 1) -> float:
    """Best time of np.copyto over ``nbytes`` (pre-touched arrays), ``copies`` times."""
    src = np.ones(nbytes, np.uint8)
    dst = np.zeros(nbytes, np.uint8)
    np.copyto(dst, src)

    def go():
        t0 = time.perf_counter()
        for _ in range(copies):
            np.copyto(dst, src)
        return time.perf_counter() - t0

    return best(go)


def check(group, label, name, value, baseline, ratio, target, unit, note=""):
    """One result: ``value`` against ``baseline`` as a ratio where higher is better; it
    passes when the ratio reaches ``target`` (no target: measured, not judged). ``group``
    and ``label`` (short, unique in its group) place it in the book's chart."""
    ok = ratio >= target if target is not None else None
    return {
        "group": group,
        "label": label,
        "name": name,
        "value": value,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": target,
        "unit": unit,
        "pass": ok,
        "note": note,
    }


def bench_data_path(results):
    """Every option on the same workloads: bandwidth against np.copyto, and time against 1a."""
    m = daxsim.Machine("400G", "16G")
    targets_copy = {("1a", "rand-64k"): 0.8, ("1a", "oltp-4k"): 0.45}
    for preset, ios in size("data_path_ios").items():
        w = daxsim.Workload.from_preset(preset, ios=ios, file_size="4G", seed=1)
        times = {}
        for option in ("1a", "0", "1b", "2", "3", "huge", "nvram"):
            daxsim.run(option, m, w.replace(ios=min(ios, 1000)))  # warm: compile or load numba's cache
            times[option] = best(lambda option=option, w=w: daxsim.run(option, m, w).wall_s)
        nbytes = ios * w.io_size
        for option, t in times.items():
            copies = 2 if option == "0" else 1
            tc = copy_time(nbytes, copies)
            what = "twice the copy" if copies == 2 else "np.copyto"
            results.append(
                check(
                    f"data path, {preset}",
                    option,
                    f"data path, option {option}, {preset} on a 400 GiB DIMM, against {what}",
                    round(nbytes / t / 1e9, 3),
                    round(nbytes * copies / tc / 1e9, 3),
                    tc / t,
                    targets_copy.get((option, preset)),
                    "GB/s (emulator vs baseline)",
                    f"baseline: {what} over the same {nbytes >> 20} MiB",
                )
            )
        for option, limit in (("1b", 1.5), ("3", 1.5), ("2", 1.0)):
            ratio = times[option] / times["1a"]
            results.append(
                check(
                    f"options against 1a, {preset}",
                    option,
                    f"option {option} vs 1a, {preset}: time ratio",
                    round(times[option], 4),
                    round(times["1a"], 4),
                    limit / ratio,
                    1.0,
                    "s (option vs 1a)",
                    f"option {option} takes {ratio:.2f}x 1a's time; limit {limit}x",
                )
            )


def bench_stores(results):
    """Stores and fsync through the mapping (scatter-2b), 4 KiB tracking against 2 MiB."""
    m = daxsim.Machine("400G", "16G")
    w = daxsim.Workload.from_preset("scatter-2b", ios=size("stores_ios"), file_size="4G", seed=1)
    times = {}
    for option, kw in (("1a", {}), ("huge", {"page_size": "2M"})):
        daxsim.run(option, m, w.replace(ios=min(w.ios, 1000)), **kw)
        holder = {}

        def go(option=option, kw=kw, holder=holder):
            holder["r"] = daxsim.run(option, m, w, **kw)
            return holder["r"].wall_s

        times[option] = best(go)
        r = holder["r"]
        results.append(
            check(
                "stores and fsync",
                option,
                f"stores and fsync (scatter-2b), option {option}",
                round(w.ios / times[option] / 1e6, 2),
                None,
                1.0,
                None,
                "M stores/s",
                f"{r.metrics['bytes_flushed'] >> 20} MiB flushed for {r.metrics['store_bytes'] >> 10} KiB stored",
            )
        )


def bench_metadata(results):
    m = daxsim.Machine("400G", "16G")
    w = daxsim.Workload.from_preset("seq-1m", ios=size("metadata_ios"), file_size="4G")
    daxsim.run("1a", m, w, data=False)
    holder = {}

    def go():
        holder["r"] = daxsim.run("1a", m, w, data=False)
        return holder["r"].wall_s

    t = best(go)
    rate = holder["r"].metrics["pages_spanned"] / t / 1e6
    results.append(
        check(
            "metadata only",
            "1a, seq-1m",
            "metadata only (--no-data), option 1a, seq-1m",
            round(rate, 1),
            40.0,
            rate / 40.0,
            1.0,
            "M pages/s (target 40)",
            "GUP + refcount get/put + bio_vec per page, one core",
        )
    )


def bench_memmap_populate(results):
    """memmap_init of a 400 GiB DIMM against numpy writing the same 6.25 GiB, on the same
    memory, already faulted in: the kernel's vmemmap is backed before it is initialised,
    and first-touch faults on this host vary tenfold from run to run."""
    m = daxsim.Machine(size("memmap_pmem"), "16G")
    layout = m.layout(True)
    b = Booted(m, layout, 1 << 20, None, 0)
    populate_memmap(
        b.memmap_words[:512].copy(), b.vmemmap_populated[:1].copy(), b.memmap_base_pfn, new_counters(), IDLE_REFCOUNT
    )  # compile or load the cache outside the timing
    b.memmap_words.fill(0)  # fault the whole memmap in
    t0 = time.perf_counter()
    b.memmap_words.fill(0x5A5A5A5A5A5A5A5A)
    tn = time.perf_counter() - t0
    c = new_counters()
    t0 = time.perf_counter()
    b.populate_memmap(c)
    t = time.perf_counter() - t0
    nbytes = layout.memmap_dram_bytes
    assert int(c[daxsim.model.counters.C_SP_MATERIALISED]) == nbytes // 64
    del b
    results.append(
        check(
            "memmap init",
            "400 GiB DIMM",
            "memmap_init of a 400 GiB DIMM (6.25 GiB of struct pages)",
            round(t, 3),
            round(tn, 3),
            tn / t,
            1 / 1.5,
            "s (emulator vs numpy filling the same bytes)",
            f"{nbytes // 64:,} struct pages; ratio >= 0.667 means within 1.5x",
        )
    )


def bench_6tib(results, ios):
    code = f"""
import json, daxsim
m = daxsim.Machine("6T", "128G", memmap="pmem")
r = daxsim.run("1a", m, daxsim.Workload(ios={ios}, file_size="5T", seed=1))
from daxsim.emu.memory import host_peak_rss_bytes
peak = host_peak_rss_bytes()
print(json.dumps({{"peak": peak, "ok": r.feasible,
                   "verified": r.metrics["verified_bytes"], "wall": r.wall_s}}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    peak = out["peak"] / GiB
    results.append(
        check(
            "host memory",
            "6 TiB",
            f"6 TiB pmem, {ios:,} I/Os (rand-4k, memmap on pmem): peak host memory",
            round(peak, 3),
            4.0,
            4.0 / peak,
            1.0,
            "GiB (limit 4)",
            f"verified {out['verified'] >> 20} MiB",
        )
    )


def bench_explorer(results):
    try:
        from daxsim.book import widgets
    except ImportError as e:  # the live explorer is part of the book's chapters
        results.append(
            {
                "group": "live explorer",
                "label": "update",
                "name": "live explorer update",
                "pass": None,
                "note": f"not measured: {e}",
            }
        )
        return
    for label, make, what in (
        ("update", widgets.explorer, "chapters' explorer (0 and 1a)"),
        ("all options", widgets.live_explorer, "explorer page (every option)"),
    ):
        ex = make()
        ex.update()  # warm-up: compile or load numba's cache

        def go(ex=ex):
            t0 = time.perf_counter()
            ex.update()
            return time.perf_counter() - t0

        t = best(go, reps=5)
        results.append(
            check(
                "live explorer",
                label,
                f"live explorer update, default workload: {what}",
                round(t * 1e3, 1),
                150.0,
                0.150 / t,
                1.0,
                "ms (limit 150)",
                "after warm-up, best of 5",
            )
        )


# ------------------------------------------------------------------ as a user meets it


def _fresh(args, env=None, timeout=1800):
    """Run ``python ARGS`` in a fresh process; (seconds, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )
    return time.perf_counter() - t0, p.stdout


_COPY = """
import sys, time, numpy as np
n = int(sys.argv[1]); src = np.ones(n, np.uint8); dst = np.zeros(n, np.uint8); np.copyto(dst, src)
best = 1e9
for _ in range(3):
    t0 = time.perf_counter(); np.copyto(dst, src); best = min(best, time.perf_counter() - t0)
print(best)
"""

#: the floor under any emulated 4 KiB I/O: the same number of random 4 KiB transfers between
#: two populated arrays of the run's file size, through daxsim's DMA queue (post_dma, 64 at a
#: time, each warming the next) and nothing else (no PTE, no struct page, no bio_vec); argv:
#: the number of transfers, the file size
_RANDOM_COPY = """
import sys, time, numpy as np
from numba import njit
from daxsim.emu.memory import populate, sparse_array
from daxsim.paths.common import dma_queue, post_dma, run_dma, store_fence
from daxsim.study.stages.emulation import DMA_QUEUE
n, span = int(sys.argv[1]), int(sys.argv[2])
src, dst = sparse_array(span), sparse_array(span)
for a in (src, dst):
    populate(a, np.arange(0, span, 4096))
rng = np.random.default_rng(0)
s, d = rng.integers(0, span // 4096, n) * 4096, rng.integers(0, span // 4096, n) * 4096
dq = dma_queue(DMA_QUEUE)

@njit
def copies(dq, dst, src, d, s):
    for i in range(len(s)):
        post_dma(dq, True, dst, d[i], src, s[i], 4096)
    run_dma(dq, dst, src)
    store_fence()

copies(dq, dst, src, d[:8], s[:8])
best = 1e9
for _ in range(3):
    t0 = time.perf_counter(); copies(dq, dst, src, d, s); best = min(best, time.perf_counter() - t0)
print(best)
"""


def bench_cli(results, reps=REPS):
    """``python -m daxsim run`` as a user runs it: a fresh process per run, the run's own
    ``wall_s`` (best of ``reps``), against np.copyto of the same bytes in a fresh process
    right after each run (best of those)."""
    reps = repeats(reps)
    for io, target in (("64K", 0.8), ("4K", 0.45)):
        ios = size("cli_ios")[io]
        cmd = [
            "-m",
            "daxsim",
            "run",
            "--option",
            "1a",
            "--pmem",
            "400G",
            "--dram",
            "64G",
            "--io-size",
            io,
            "--ios",
            str(ios),
            "--json",
        ]
        _fresh(cmd)  # compile or load numba's cache once
        walls, setups, copies, floors = [], [], [], []
        for _ in range(reps):
            _, out = _fresh(cmd)
            m = json.loads(out[out.index("{") :])["metrics"]
            walls.append(m["wall_s"])
            setups.append(m.get("setup_s"))
            copies.append(float(_fresh(["-c", _COPY, str(ios * parse_size(io))])[1]))
            if io == "4K":
                span = daxsim.Workload.from_preset("rand-4k").file_size  # the CLI run's file
                floors.append(float(_fresh(["-c", _RANDOM_COPY, str(ios), str(span)])[1]))
        nbytes = ios * parse_size(io)
        t, tc = min(walls), min(copies)
        setup = min((x for x in setups if x is not None), default=None)
        results.append(
            check(
                "as a user runs it",
                f"CLI {io}",
                f"python -m daxsim run --option 1a --io-size {io} --ios {ios} "
                "(400 GiB pmem, queue depth 1), a fresh process per run, against np.copyto",
                round(nbytes / t / 1e9, 3),
                round(nbytes / tc / 1e9, 3),
                tc / t,
                target,
                "GB/s (emulator vs baseline)",
                f"best of {reps} fresh processes, the run's own wall_s; np.copyto of the same {nbytes >> 20} MiB in a "
                "fresh process after each"
                + (f"; set-up before the timed loop {setup:.2f} s" if setup is not None else ""),
            )
        )
        if floors:  # what no emulator of random 4 KiB I/O on this host can beat
            results.append(
                check(
                    "as a user runs it",
                    "4K floor",
                    f"{ios} random 4 KiB DMAs between two {format_size(span)} arrays, nothing else (the floor under CLI 4K)",
                    round(nbytes / min(floors) / 1e9, 3),
                    round(nbytes / tc / 1e9, 3),
                    tc / min(floors),
                    None,
                    "GB/s (copies vs baseline)",
                    f"best of {reps} fresh processes; daxsim's DMA queue at random offsets, no PTE, struct "
                    "page or bio_vec: the most any path can reach at 4 KiB here",
                )
            )


FIRST_RUN = ["-m", "daxsim", "run", "--option", "1a", "--pmem", "400G", "--dram", "16G", "--json"]


def bench_first_run(results, limit=8.0):
    """The first run after an install or a source change: a fresh numba cache, one option
    (``python -m daxsim run --option 1a --pmem 400G --dram 16G``), against a fixed limit.
    The median of REPS first runs, each with its own empty cache (one run's compile time
    spreads by a quarter or more on a shared two-core machine); the same command again
    with the kernels cached is noted beside it."""
    import tempfile

    firsts, later = [], []
    for _ in range(repeats(REPS)):
        with tempfile.TemporaryDirectory(prefix="daxsim-bench-numba-") as cache:
            firsts.append(_fresh(FIRST_RUN, {"NUMBA_CACHE_DIR": cache})[0])
            later.append(_fresh(FIRST_RUN, {"NUMBA_CACHE_DIR": cache})[0])
    first = float(np.median(firsts))
    results.append(
        check(
            "as a user runs it",
            "first run",
            "first run: python -m daxsim run --option 1a --pmem 400G "
            "--dram 16G with an empty numba cache (compiles the kernels)",
            round(first, 2),
            limit,
            limit / first,
            1.0,
            f"s (limit {limit:g})",
            (
                f"median of {len(firsts)} first runs, each with its own empty cache "
                f"({min(firsts):.2f}-{max(firsts):.2f} s)"
                if len(firsts) > 1
                else "one first run, an empty cache"
            )
            + f"; the same run with the kernels cached: {min(later):.2f} s; "
            f"compiling took about {first - min(later):.1f} s",
        )
    )


def bench_voila(results, limit=8.0):
    """The live explorer's first render in Voila, timed by the browser test
    (tests/book/test_voila.py::test_explorer_first_render_is_recorded), against a fixed limit."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="daxsim-bench-voila-") as tmp:
        record = os.path.join(tmp, "voila.json")
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/book/test_voila.py::test_explorer_first_render_is_recorded",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "DAXSIM_VOILA_RECORD": record},
            timeout=1800,
            check=False,
        )
        if not os.path.exists(record):
            tail = (p.stdout + p.stderr).strip().splitlines()[-1:] or ["no output"]
            results.append(
                {
                    "group": "as a user runs it",
                    "label": "Voila",
                    "name": "live explorer: first render in Voila",
                    "pass": None,
                    "note": f"not measured: {tail[0][:200]}",
                }
            )
            return
        with open(record) as f:
            t = json.load(f)["explorer_first_render_s"]
    results.append(
        check(
            "as a user runs it",
            "Voila",
            "live explorer: first render in Voila (request to every "
            "option's row and the chart drawn, headless Chromium)",
            t,
            limit,
            limit / t,
            1.0,
            f"s (limit {limit:g})",
            "the first page of a fresh Voila server, after make live's precompute",
        )
    )


def _read(path, prefix):
    """The value of the first line of ``path`` starting with ``prefix`` (Linux /proc files)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info():
    """The machine, software and source tree the numbers were measured on."""
    mem_kib = _read("/proc/meminfo", "MemTotal")
    os_name = None
    try:
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        pass
    return {
        "cpu": _read("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "arch": platform.machine(),
        "cores": os.cpu_count(),
        "memory_bytes": int(mem_kib.split()[0]) * 1024 if mem_kib else None,
        "os": os_name or platform.system(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "daxsim": daxsim.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", "lib", "bench")),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="skip the 6.25 GiB memmap and the 6 TiB run")
    p.add_argument(
        "--no-fresh",
        action="store_true",
        help="skip what runs in fresh processes: the CLI, the first run (an empty numba cache) and the Voila page",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="every benchmark at a tiny size, once (checks that make bench runs; measures nothing worth keeping)",
    )
    p.add_argument(
        "--output", metavar="PATH", help="also write the JSON document to PATH (make bench: bench/results/latest.json)"
    )
    a = p.parse_args(argv)
    global SMOKE
    if a.smoke and a.output:
        p.error("--output: a --smoke run measures nothing worth keeping; leave --output out")
    SMOKE = a.smoke
    started = time.time()
    load_before = os.getloadavg()
    results = []
    if not a.no_fresh:
        bench_first_run(results)
        bench_cli(results)
    bench_data_path(results)
    bench_stores(results)
    bench_metadata(results)
    if not a.quick:
        bench_memmap_populate(results)
        bench_6tib(results, size("tib_ios"))
    bench_explorer(results)
    if not a.no_fresh and not a.smoke:  # the browser test it runs is in make test already
        bench_voila(results)
    doc = {
        "machine": machine_info(),
        "date": time.strftime("%Y-%m-%d"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "quick": a.quick,
        "smoke": a.smoke,
        "reps": repeats(REPS),
        "loadavg_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "results": results,
    }
    text = json.dumps(doc, indent=1)
    print(text)
    if a.output:
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        with open(a.output, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
