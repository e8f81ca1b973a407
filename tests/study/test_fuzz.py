"""Fuzzing the public surface: the CLI's arguments and the API's parameters.

Every input either is refused with one line (exit 2 / a ValueError) that names the
parameter it is about, or runs, and then the run's invariants hold: every I/O's bytes
were verified, nothing leaked, no corruption where the option does not allow the hazard.
Never a traceback. The runs are cheap (small pmem, few I/Os) so that the layer stays
within a couple of minutes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import daxsim
from daxsim.cli import main

#: the names a message may start with: the parameters of the CLI and of the API
PARAMETERS = {
    "option", "options", "pmem", "dram", "memmap", "align", "pmem_file", "workload", "ios", "io_size",
    "read_fraction", "pattern", "queue_depth", "file_size", "extent_size", "seed", "ops", "truncate_rate",
    "store_fraction", "store_size", "fsync_every", "preset", "hardware", "kernel", "data", "pool_pages",
    "guard", "page_size", "memmap_variant", "dirty_granularity", "bounce_node", "iommu", "cpus", "machine",
    "cost", "capture", "jobs", "out", "grid", "scheduler", "spec",
}  # fmt: skip
NAMED = re.compile(r"^(?:daxsim: error: )?(?:argument )?-*([a-z_0-9-]+)[:/ ]")

SIZES = st.one_of(
    st.sampled_from(["64M", "128M", "64m", "96 MiB", "8G", "6T", "0", "0k", "-1", "1.5K", "lots", "", "64Q", "1e3"]),
    st.integers(-(2**70), 2**70),
    st.just(64 << 20),
    st.builds(np.int64, st.just(64 << 20)),
    st.sampled_from([None, True, 1.5, float("nan"), [64 << 20], b"64M"]),
)
COUNTS = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([10**12, 2**63, 1.0, 2.5, "4", None, True, np.int32(3), np.uint8(2)]),
)
FRACTIONS = st.one_of(st.sampled_from([0.0, 0.25, 1.0, -0.1, 1.5, float("nan"), "0.5", None, np.float32(0.5)]))
OPS = st.sampled_from(
    [
        None, "w0:4k,r0:4k", "w0:8k,r8k:4k,t0:4k", "w0k:4k", "f0:0", "", "w0:4k,s0:2,f0:0", "r0:4k,,w0:4k",
        "x0:4k", "w0:-4k", "w0:1:30", "w0:4k,u0:4k,r0:4k", "w0:4G", "w1:4k",
    ]
)  # fmt: skip
OPTIONS = st.sampled_from(["0", "1a", "1b", "2", "3", "huge", "nvram", "ideal", "2+guard", "9", "", None, 3, "1b+x"])


def _named(message: str) -> bool:
    m = NAMED.match(message.strip())
    return bool(m) and m.group(1).replace("-", "_") in PARAMETERS


def _invariants(r) -> None:
    from daxsim.study.stages import hazardous

    m = r.metrics
    if not r.feasible:
        assert r.reason and r.modelled is None
        return
    assert r.modelled is not None and np.isfinite(r.modelled.op_ns) and r.modelled.op_ns > 0
    if r.data:
        assert m["verified_bytes"] == m["bytes_requested"]
    assert m["leaked_pages"] == 0
    if m["corrupted_bytes"]:
        assert hazardous(r.spec.design, r.kernel)


#: per API parameter: values that should run, and any value at all (mostly wrong ones)
API = {
    "option": (st.sampled_from(["0", "1a", "1b", "2", "3", "huge", "nvram", "ideal", "2+guard"]), OPTIONS),
    "pmem": (st.sampled_from(["64M", "128M", 64 << 20, np.int64(128 << 20), "6T"]), SIZES),
    "dram": (st.sampled_from(["64M", "1G", np.int64(64 << 20)]), SIZES),
    "ios": (st.integers(1, 24), COUNTS),
    "io_size": (st.sampled_from(["4K", "64K", 512, "8k"]), SIZES),
    "queue_depth": (st.integers(1, 4), COUNTS),
    "read_fraction": (st.sampled_from([0.0, 0.5, 1.0]), FRACTIONS),
    "truncate_rate": (st.sampled_from([0.0, 0.2]), FRACTIONS),
    "store_fraction": (st.sampled_from([0.0, 0.3]), FRACTIONS),
    "ops": (st.just(None), OPS),
    "pool_pages": (st.none(), COUNTS),
    "kernel": (st.sampled_from(["6.15", "4.0", "6.1"]), st.sampled_from(["7.0", 4.0, None, ""])),
}
RUNS = {"api": 0}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(wrong=st.sets(st.sampled_from(sorted(API)), max_size=2), data=st.data())
def test_api_refuses_with_the_parameter_named_or_runs_with_its_invariants(wrong, data):
    p = {k: data.draw(API[k][k in wrong], label=k) for k in API}
    kw = {k: p[k] for k in ("ios", "io_size", "queue_depth", "read_fraction", "truncate_rate", "store_fraction")}
    try:
        machine = daxsim.Machine(p["pmem"], p["dram"])
        workload = daxsim.Workload(file_size="2M" if p["ops"] is None else None, ops=p["ops"], **kw)
        extra = {} if p["pool_pages"] is None else {"pool_pages": p["pool_pages"]}
        r = daxsim.run(p["option"], machine, workload, kernel=p["kernel"], **extra)
    except ValueError as e:
        assert _named(str(e)), f"the message names no parameter: {e}"
        assert "\n" not in str(e).strip()
        return
    RUNS["api"] += 1
    _invariants(r)


def test_the_fuzzing_ran_some_points():
    """(After the fuzz test above, in file order: some of its draws ran, not only refusals.)"""
    assert RUNS["api"] >= 10


def _cli(argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's own refusals
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


FLAG_VALUES = {
    "--pmem": SIZES.map(str),
    "--dram": SIZES.map(str),
    "--ios": COUNTS.map(str),
    "--workload": st.one_of(st.sampled_from(["rand-4k", "seq-1m", "oltp-stores", "nope"]), OPS.map(str)),
    "--truncate-rate": FRACTIONS.map(str),
    "--store-fraction": FRACTIONS.map(str),
    "--queue-depth": COUNTS.map(str),
    "--align": st.sampled_from(["4K", "2M", "1G", "3M", "x"]),
    "--memmap": st.sampled_from(["dram", "pmem", "disk"]),
    "--pool-pages": COUNTS.map(str),
    "--kernel": st.sampled_from(["4.0", "6.15", "memdesc-8", "7.0"]),
    "--seed": COUNTS.map(str),
    "--pmem-file": st.sampled_from(["/", "/nonexistent/dir/pmem.img", ""]),
}


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    command=st.sampled_from(["run", "compare"]),
    option=OPTIONS.map(str),
    flags=st.dictionaries(st.sampled_from(sorted(FLAG_VALUES)), st.none(), max_size=4),
    data=st.data(),
)
def test_cli_exits_2_with_one_line_naming_the_parameter_or_prints_a_run(command, option, flags, data):
    argv = [command, "--option" if command == "run" else "--options", option, "--json"]
    flags = {"--pmem": None, "--dram": None, "--ios": None, **flags}
    defaults = {"--pmem": "64M", "--dram": "64M", "--ios": "8"}
    for flag in flags:
        value = data.draw(FLAG_VALUES[flag]) if flag not in defaults or data.draw(st.booleans()) else defaults[flag]
        argv += [flag, value]
    rc, out, err = _cli(argv)
    assert "Traceback" not in err
    if rc == 2:
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("daxsim: compiling")]
        assert lines, argv
        if lines[-1].startswith("daxsim: error: "):  # ours (argparse prints its usage first)
            assert len(lines) == 1, err
            assert _named(lines[-1]), err
        return
    assert rc == 0, (argv, rc, err)
    results = json.loads(out) if out.strip().startswith("[") else [json.loads(out)]
    for r in results:
        m = r["metrics"]
        if r["feasible"] and r["params"]["data"]:
            assert m["verified_bytes"] == m["bytes_requested"]


@pytest.mark.parametrize(
    "value",
    [np.int64(4), np.int32(4), 4],
)
def test_numpy_integers_are_counts_and_sizes_alike(value):
    m = daxsim.Machine(np.int64(64 << 20), 64 << 20)
    w = daxsim.Workload(ios=value, file_size=np.int64(2 << 20))
    assert m.pmem == 64 << 20 and w.ios == 4 and w.file_size == 2 << 20
