"""The command line: JSON fields, reproducibility, one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

REQUIRED = [
    "memmap_dram_bytes",
    "memmap_pmem_bytes",
    "transient_dram_peak_bytes",
    "bytes_requested",
    "bytes_dma",
    "bytes_cpu_copied",
    "bytes_flushed",
    "struct_pages_initialised",
    "refcount_ops",
    "allocations",
    "descriptor_entries",
    "corrupted_bytes",
    "leaked_pages",
    "verified_bytes",
    "ios_completed",
    "modelled",
    "wall_s",
]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "daxsim", *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_run_json_has_every_field():
    p = cli("run", "--option", "1a", "--pmem", "8G", "--dram", "4G", "--ios", "200", "--seed", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["option"] == "1a" and out["feasible"] is True and out["reason"] == ""
    assert out["params"]["seed"] == 3 and out["params"]["pmem"] == 8 * 2**30
    for k in REQUIRED:
        assert k in out["metrics"], k
    assert set(out["metrics"]["modelled"]["breakdown_ns"]) >= {"gup", "put", "dma", "cpu_copy"}
    assert out["metrics"]["ios_completed"] == 200


def test_compare_json_is_a_list_and_reproducible():
    args = ("compare", "--pmem", "400G", "--dram", "16G", "--workload", "w0:8k,r8k:4k", "--json")
    a, b = json.loads(cli(*args).stdout), json.loads(cli(*args).stdout)
    assert [r["option"] for r in a] == ["0", "1a", "1b", "2", "3", "huge", "nvram"]
    for x, y in zip(a, b):
        for metrics in (x["metrics"], y["metrics"]):
            metrics.pop("wall_s"), metrics.pop("setup_s")
    assert a == b


def test_text_output_prints_parameters_first():
    p = cli("run", "--option", "0", "--pmem", "1G", "--dram", "1G", "--ios", "10")
    assert p.returncode == 0 and p.stdout.startswith("ARG option=0 pmem=1 GiB") and "seed=0" in p.stdout


def test_infeasible_config_is_reported():
    out = json.loads(cli("run", "--option", "1a", "--pmem", "400G", "--dram", "4G", "--json").stdout)
    assert out["feasible"] is False and "6.25 GiB" in out["reason"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "--option", "2x", "--pmem", "1G", "--dram", "1G"], "--option"),
        (["run", "--option", "1a", "--pmem", "lots", "--dram", "1G"], "pmem: 'lots'"),
        (["run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--workload", "nope"], "workload: 'nope'"),
        (["run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--io-size", "100"], "io_size"),
        (["run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--hardware", "tape"], "--hardware"),
        (["compare", "--options", "0,7", "--pmem", "1G", "--dram", "1G"], "options: '7'"),
        (["run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--ios", "-3"], "ios"),
        (["run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--guard"], "guard"),
        (["run", "--option", "1b", "--pmem", "1G", "--dram", "1G", "--pool-pages", "0"], "pool_pages"),
        (["run", "--option", "2", "--pmem", "1G", "--dram", "1G", "--truncate-rate", "7"], "truncate_rate"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle):
    p = cli(*args)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and needle in p.stderr and "Traceback" not in p.stderr


def test_the_race_from_the_command_line():
    args = ["--pmem", "1G", "--dram", "1G", "--workload", "r0:16k,t0:16k,w64k:4k", "--queue-depth", "4", "--json"]
    bad = json.loads(cli("run", "--option", "2", *args).stdout)
    safe = json.loads(cli("run", "--option", "2", "--guard", *args).stdout)
    assert bad["metrics"]["corrupted_victim_bytes"] == 16384 and bad["params"]["guard"] is False
    assert safe["metrics"]["corrupted_bytes"] == 0 and safe["metrics"]["truncate_waits"] == 1
