"""Issue 15's promises, each tried as a user would: one-line refusals, strict grid files,
a sweep that says what it saved on Ctrl-C, workers that die with their parent, and host
memory that follows the bytes a run touches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import daxsim
from daxsim.study import sweep as sw
from daxsim.study.stages import host_bytes, prepare


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "daxsim", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


SMALL = ["--pmem", "64M", "--dram", "64M", "--ios", "4"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ["run", "--option", "1a", "--ios", "1000000000000", "--pmem", "64M", "--dram", "64M"],
            "ios: 1000000000000 I/Os need",
        ),
        (["run", "--option", "1a", "--pmem-file", "/", *SMALL], "pmem_file: '/' is a directory"),
        (["run", "--option", "1a", "--pmem-file", "/nonexistent/x", *SMALL], "pmem_file: '/nonexistent/x'"),
        (["compare", "--options", "", *SMALL], "options: ''"),
        (
            ["run", "--option", "1a", "--workload", "w0:4k,r0:4k", "--truncate-rate", "0.1", *SMALL],
            "truncate_rate: 0.1",
        ),
        (["run", "--option", "1a", "--workload", "w0:4k", "--store-fraction", "0.1", *SMALL], "store_fraction: 0.1"),
        (["run", "--option", "1a", "--workload", "f0:0", *SMALL], "ops: 'f0:0' has no I/O"),
        (
            ["run", "--option", "1a", "--align", "1G", "--pmem", "1G", "--dram", "64M", "--ios", "4"],
            "align: 1 GiB leaves",
        ),
        (["run", "--option", "2", "--align", "1G", *SMALL], "align: '1G' does not apply to option 2"),
        (["compare", "--options", "0,2", "--memmap", "pmem", *SMALL], "memmap: 'pmem' does not apply"),
    ],
)
def test_bad_requests_are_one_line_naming_the_parameter(args, needle):
    p = cli(*args)
    assert p.returncode == 2, p.stderr
    lines = [line for line in p.stderr.splitlines() if not line.startswith("daxsim: compiling")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr


def test_an_offset_of_zero_with_a_suffix_is_an_offset():
    r = daxsim.run("1a", daxsim.Machine("64M", "64M"), daxsim.Workload(ops="w0k:4k,r0k:4k"))
    assert r.feasible and r.metrics["verified_bytes"] == r.metrics["bytes_requested"] == 8192


def test_1b_pool_larger_than_dram_is_infeasible_and_counters_do_not_depend_on_an_unused_pool():
    m = daxsim.Machine("64M", "64M")
    w = daxsim.Workload(ios=40, io_size="64K", queue_depth=4, file_size="4M")
    big = daxsim.run("1b", m, w, pool_pages=10**12)
    assert not big.feasible and "DRAM" in big.reason and big.modelled is None
    # a pool larger than the I/Os in flight ever need counts exactly as a just-large-enough one
    a = daxsim.run("1b", m, w, pool_pages=64)
    b = daxsim.run("1b", m, w, pool_pages=4096)
    skip = {"pool_table_bytes", "pool_reserved_bytes", "wall_s", "setup_s", "transient_dram_peak_bytes"}
    assert {k: v for k, v in a.metrics.items() if k not in skip} == {
        k: v for k, v in b.metrics.items() if k not in skip
    }


def test_verified_bytes_is_the_bytes_of_the_ios_checked():
    for option in ("0", "1a", "2", "3"):
        r = daxsim.run(option, daxsim.Machine("64M", "64M"), daxsim.Workload(ios=20, file_size="2M", seed=3))
        assert r.metrics["verified_bytes"] == r.metrics["bytes_requested"] == 20 * 4096
    meta = daxsim.run("1a", daxsim.Machine("64M", "64M"), daxsim.Workload(ios=20, file_size="2M"), data=False)
    assert meta.metrics["verified_bytes"] == 0


def test_a_run_larger_than_the_host_is_refused_with_the_figures(monkeypatch):
    from daxsim.study.stages import planning

    w = daxsim.Workload(ios=64, io_size="1M", pattern="sequential", file_size="64M")
    plan = prepare("1a", daxsim.Machine("1G", "1G"), w)
    need = host_bytes(plan.workload, *plan.events)
    assert 64 << 20 <= need < 160 << 20  # the pages in use, not four copies of them
    monkeypatch.setattr(planning, "host_available_bytes", lambda: need - 1)
    with pytest.raises(ValueError, match=r"^ios: .* would hold about .* of host memory .* available"):
        prepare("1a", daxsim.Machine("1G", "1G"), w)
    prepare("1a", daxsim.Machine("1G", "1G"), w, data=False)  # metadata only holds no data pages


def test_peak_rss_follows_the_bytes_touched_not_four_times_them():
    """1a seq-1m, 512 MiB of I/O over a 6 TiB DIMM: peak RSS at most 1.5x the bytes + 400 MiB."""
    code = (
        "import daxsim; from daxsim.emu.memory import host_peak_rss_bytes, host_rss_bytes\n"
        "m = daxsim.Machine('64M', '64M'); daxsim.run('1a', m, daxsim.Workload(ios=2, file_size='2M'))\n"
        "base = host_rss_bytes()\n"
        "w = daxsim.Workload.from_preset('seq-1m', ios=512)\n"
        "r = daxsim.run('1a', daxsim.Machine('6T', '128G'), w)\n"
        "assert r.metrics['verified_bytes'] == 512 << 20\n"
        "print(base, host_peak_rss_bytes())\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 0, p.stderr
    base, peak = map(int, p.stdout.split())
    assert peak - base <= 1.5 * (512 << 20) + (400 << 20), (base >> 20, peak >> 20)


# ------------------------------------------------------------------------- grid files


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("dup.yaml", "pmem: 64M\npmem: 128M\n", "'pmem' is given twice"),
        ("dup.toml", 'pmem = "64M"\npmem = "128M"\n', "is not valid TOML"),
        ("sexagesimal.yaml", "workload: 1:30\n", "ops: '1:30'"),  # a string (YAML 1.2), not 90
        ("binary.yaml", b"\x00\xff\xfe\x01", "is not a text file"),
        ("list.yaml", "- 1\n- 2\n", "must map parameters to values"),
    ],
)
def test_grid_files_are_read_strictly(tmp_path, name, text, needle):
    g = tmp_path / name
    g.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=needle):
        sw.points(sw.read_grid_file(g))
    p = cli("sweep", "--grid", str(g), "--quiet")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr


def test_yaml_12_scalars(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text("ios: 0777\nseed: [1, 2]\ndata: yes\n")
    grid = sw.read_grid_file(g)
    assert grid == {"ios": 777, "seed": [1, 2], "data": "yes"}


def test_a_grid_mixing_an_operation_string_and_a_truncate_rate_fails_before_the_first_point():
    with pytest.raises(ValueError, match="truncate_rate: 0.1 does not apply to the operation string"):
        sw.points({"option": "2", "workload": ["rand-4k", "w0:4k"], "truncate_rate": [0.0, 0.1]})


def test_ios_given_with_an_operation_string_is_refused_even_at_the_preset_default():
    ops = "w0:4k,r0:4k,f0:0"
    assert daxsim.Workload(ops=ops).ios == 2
    assert daxsim.Workload(ops=ops, ios=2).ios == 2  # its own count is accepted
    for ios in (1000, 3, 0):
        with pytest.raises(ValueError, match=rf"^ios: {ios} does not apply to an operation string"):
            daxsim.Workload(ops=ops, ios=ios)
    assert daxsim.Workload().ios == 1000 and daxsim.Workload(ops=ops).replace(seed=1).ios == 2
    with pytest.raises(ValueError, match=r"^ios: \[1000\] does not apply to the operation string"):
        sw.points({"option": "2", "workload": ["w0:4k"], "ios": [1000]})
    assert len(sw.points({"option": "2", "workload": ["w0:4k", "rand-4k"]})) == 2
    p = cli("run", "--option", "2", "--workload", ops, "--ios", "1000", "--pmem", "64M", "--dram", "64M")
    assert p.returncode == 2 and p.stderr.startswith("daxsim: error: ios: 1000 does not apply"), p.stderr


def test_a_foreign_out_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mine.csv"
    out.write_text("a,b\n1,2\n")
    p = cli("sweep", "--option", "2", "--pmem", "64M", "--dram", "64M", "--ios", "4", "--out", str(out), "--quiet")
    assert p.returncode == 2 and "out: " in p.stderr and p.stderr.count("\n") == 1
    assert out.read_text() == "a,b\n1,2\n"


# ------------------------------------------------------------------------- interrupted sweeps

SLOW = [
    "sweep", "--option", "0,1a,1b,2,3,huge,nvram", "--pmem", "8G,64G", "--dram", "16G",
    "--hardware", "optane-pmem-100,nvdimm-n", "--workload", "seq-1m", "--ios", "48", "--seed", "1,2",
    "--quiet",
]  # fmt: skip


def _rows(out):
    return max(0, len(out.read_text().splitlines()) - 1) if out.exists() else 0


@pytest.mark.parametrize("jobs, name", [("2", "s.csv"), ("1", "s.parquet")])
def test_ctrl_c_says_how_many_points_were_saved_and_how_to_resume(tmp_path, jobs, name):
    out = tmp_path / name
    p = subprocess.Popen(
        [sys.executable, "-m", "daxsim", *SLOW, "--jobs", jobs, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and _rows(sw.journal_of(out)) < 2 and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    if p.returncode == 0:
        pytest.skip("the sweep finished before the interrupt")
    assert p.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("ARG", "daxsim: compiling"))]
    assert len(lines) == 1 and "Traceback" not in err, err
    from daxsim.study.sweepfiles import read_done

    saved = len(read_done(out))
    assert saved >= 2
    assert f"sweep: interrupted; {saved} of 56 points are saved in {str(out)!r}" in lines[0]
    assert "run the same command again" in lines[0]


def test_sweep_workers_die_with_their_parent(tmp_path):
    out = tmp_path / "s.csv"
    p = subprocess.Popen(
        [sys.executable, "-m", "daxsim", *SLOW, "--jobs", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        found = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True, check=False).stdout.split()
        children = [int(c) for c in found]
        if len(children) >= 2 and _rows(out) >= 1:
            break
        time.sleep(0.05)
    if p.poll() is not None:
        pytest.skip("the sweep finished before it could be killed")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert children
    deadline = time.time() + 20
    alive = children
    while alive and time.time() < deadline:
        alive = [c for c in children if os.path.exists(f"/proc/{c}") and _state(c) != "Z"]
        time.sleep(0.1)
    assert not alive, f"workers {alive} outlived their parent"


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_numpy_sizes_in_a_grid():
    pts = sw.points({"option": "2", "pmem": [np.int64(64 << 20)], "dram": "64M", "ios": np.int64(4)})
    assert pts[0]["pmem"] == 64 << 20 and pts[0]["ios"] == 4


@pytest.mark.parametrize("error", [MemoryError(), OSError(28, "No space left on device", "/tmp/x.csv")])
def test_host_failures_are_one_line_and_exit_2(monkeypatch, capsys, error):
    import daxsim.cli as cli_module

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(cli_module, "run", fail)
    assert cli_module.main(["run", "--option", "2", *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("daxsim: error: ") and "Traceback" not in err
