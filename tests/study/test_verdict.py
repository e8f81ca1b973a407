"""The verdict over the figures' ranges: seeded, a tie where the ranges overlap, a winner
only where one option wins at least 90 % of the draws."""

import json
import subprocess
import sys

import pytest

import daxsim
from daxsim.model.cost import on_medium
from daxsim.model.hardware import CostModel, hardware_profile
from daxsim.model.queueing import throughput
from daxsim.model.ranges import RANGES, range_of
from daxsim.study.verdict import safe, sensitivity, verdict

M = daxsim.Machine("400G", "16G")


@pytest.fixture(scope="module")
def small():
    w = daxsim.Workload.from_preset("oltp-4k", ios=320, file_size="64M", seed=1)
    return w, [daxsim.run(o, M, w, data=False) for o in ("0", "1a", "2", "3", "huge")]


def test_every_assumed_figure_has_a_range_with_reasons():
    cost = CostModel()
    for name, f in cost.figures().items():
        if f.assumption and name not in ("line_transfer_ns",) or name in RANGES:
            r = range_of(name, float(f))
            assert r is not None, name
            assert r.low <= float(f) <= r.high and r.low_why and r.high_why, name
    for prof in ("nvdimm-n", "cxl-expander"):  # the assumed profiles: every figure
        for name in hardware_profile(prof).figures():
            assert range_of(f"{prof}.{name}") is not None, (prof, name)
    for name in ("read_bw", "write_bw", "read_bw_1t", "ntstore_bw_1t"):  # Optane's cited spreads
        r = range_of(f"optane-pmem-100.{name}")
        assert r is not None and r.low <= float(getattr(hardware_profile("optane-pmem-100"), name)) <= r.high


def test_the_verdict_is_seeded_and_reproducible(small):
    w, res = small
    a = verdict(M, w, results=res, draws=300, seed=7).to_dict()
    b = verdict(M, w, results=res, draws=300, seed=7).to_dict()
    c = verdict(M, w, results=res, draws=300, seed=8).to_dict()
    assert a == b and a["options"] != c["options"]


def test_a_tie_where_the_ranges_overlap_and_a_winner_where_one_dominates(small):
    w, res = small
    by = {r.option: r for r in res}
    # 3 and huge: within a few per cent of each other whatever the figures: a tie
    tie = verdict(M, w, results=[by["3"], by["huge"]], draws=400)
    assert tie.winner is None and sorted(tie.tie) == ["3", "huge"] and 0.5 <= tie.share < 0.9
    # 0 copies every byte twice: 1a beats it in every draw
    clear = verdict(M, w, results=[by["0"], by["1a"]], draws=400)
    assert clear.winner == "1a" and clear.share == 1.0 and clear.tie == []
    # option 2 is never the winner: unsafe whatever the draw
    assert not safe(by["2"])
    with_2 = verdict(M, w, results=[by["1a"], by["2"]], draws=50)
    assert with_2.winner == "1a" and with_2.options.set_index("option").loc["2", "wins"] == 0


def test_sensitivity_names_the_figures_that_flip_the_winner(small):
    _, res = small
    s = sensitivity(res)
    assert set(s.columns) >= {"figure", "low", "high", "winner at low", "winner at high", "flips"}
    assert s["flips"].any() and s.iloc[0]["flips"]  # the ranking puts the flips first
    assert (s["low"] <= s["high"]).all()


def test_the_cli_verdict_names_the_winner_or_the_tie():
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "daxsim",
            "verdict",
            "--pmem",
            "400G",
            "--dram",
            "16G",
            "--options",
            "0,1a",
            "--ios",
            "64",
            "--no-data",
            "--draws",
            "200",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["winner"] == "1a" and out["share"] == 1.0 and out["draws"] == 200 and set(out["options"]) == {"0", "1a"}
    bad = subprocess.run(
        [sys.executable, "-m", "daxsim", "verdict", "--pmem", "400G", "--dram", "16G", "--draws", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("daxsim: error: draws: 0")


def test_time_overlaps_in_a_queue():
    one = throughput(1000, 500, queue_depth=1)
    assert one.latency_ns == 1500 and one.iops == pytest.approx(1e9 / 1500)
    deep = throughput(1000, 500, queue_depth=64)
    assert deep.bound == "cpu" and deep.iops == pytest.approx(1e6, rel=1e-3)
    dev = throughput(500, 1000, queue_depth=64)
    assert dev.bound == "device" and dev.iops == pytest.approx(1e6, rel=1e-3)
    two = throughput(1000, 100, queue_depth=64, cpus=2)
    assert two.iops == pytest.approx(2e6, rel=1e-2)  # two submitting cores double a CPU-bound queue
    r = daxsim.run("1a", M, daxsim.Workload.from_preset("oltp-4k", ios=320, file_size="64M"), data=False)
    mo = r.modelled
    assert mo.cpu_ns + mo.device_ns == pytest.approx(mo.per_io_ns - mo.breakdown["stall"])
    assert mo.bound == "cpu" and mo.iops > 1e9 / mo.per_io_ns  # 32 in flight overlap CPU and DMA
    assert daxsim.row(r)["bound"] == "cpu" and daxsim.row(r)["iops"] == mo.iops


def test_one_cost_function_per_medium_and_contention_by_cpus():
    """nvram on NVDIMM-N (DRAM speed) pays DRAM's GUP figures, on Optane Optane's; the same
    numbers through run and through the cost stage alone; 1b's shared table costs more with
    more CPUs submitting; a volatile medium is charged no flush."""
    w = daxsim.Workload.from_preset("rand-4k", ios=100, file_size="64M")
    cost = CostModel()
    n = daxsim.run("nvram", M, w, hardware="nvdimm-n", data=False)
    o = daxsim.run("nvram", M, w, hardware="optane-pmem-100", data=False)
    assert n.modelled.breakdown["gup"] == pytest.approx(float(cost.pin_ns_dram))
    assert o.modelled.breakdown["gup"] == pytest.approx(float(cost.pin_ns_pmem))
    assert on_medium(10, 20, hardware_profile("optane-pmem-100")) == pytest.approx(20)
    one, four = (daxsim.run("1b", M, w, data=False, cpus=c).modelled for c in (1, 4))
    assert one.breakdown["contention"] == 0 and four.breakdown["contention"] > 0
    cxl = daxsim.run(
        "0", M, daxsim.Workload.from_preset("rand-64k", ios=64, file_size="64M"), hardware="cxl-expander", data=False
    ).modelled.breakdown["cpu_copy"]
    prof = hardware_profile("cxl-expander")
    assert not prof.persistent and cxl > 0


def test_the_verdict_ranks_by_time_per_operation_so_huge_pays_its_write_back():
    """With stores and fsyncs, huge pages write back 2 MiB per dirty PMD: the verdict ranks by
    op_ns (I/Os, stores and fsyncs together), in which that write-back dominates, while the
    I/O alone (per_io_ns) would make huge the faster of the two."""
    w = daxsim.Workload(
        ios=128,
        io_size=4096,
        read_fraction=0.7,
        queue_depth=8,
        store_fraction=0.5,
        store_size=64,
        fsync_every=32,
        file_size="256M",
        seed=1,
    )
    m = daxsim.Machine("64G", "16G")
    res = [daxsim.run("1a", m, w, data=False), daxsim.run("huge", m, w, data=False)]
    one_a, huge = (r.modelled for r in res)
    assert huge.per_io_ns < one_a.per_io_ns  # the I/O alone: one GUP per compound page
    assert huge.fsync_ns > 100 * one_a.fsync_ns and huge.op_ns > 10 * one_a.op_ns
    v = verdict(m, w, results=res, draws=200)
    assert v.winner == "1a" and v.share == 1.0
    only_io = daxsim.run("1a", m, w.replace(store_fraction=0.0, fsync_every=0), data=False).modelled
    assert only_io.op_ns == only_io.per_io_ns
