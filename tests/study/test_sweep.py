"""Sweeps: one row per grid point, re-modelling per hardware, worker processes, resume."""

import os
import signal
import subprocess
import sys
import time

import daxsim
import pandas as pd
import pytest
from daxsim.study import sweep as sw
from daxsim.model.hardware import HARDWARE

SMALL = {
    "option": ["0", "1a", "2"],
    "pmem": ["8G", "6T"],
    "dram": ["16G"],
    "hardware": ["optane-pmem-100", "cxl-expander"],
    "workload": ["rand-4k"],
    "ios": [40],
    "seed": [1],
}


def cli(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "daxsim", "sweep", *args], capture_output=True, text=True, timeout=600, check=False, **kw
    )


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.drop(columns="wall_s").reset_index(drop=True),
        b.drop(columns="wall_s").reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.parametrize("option", sw.DESIGNS)
def test_remodel_is_what_a_run_on_that_hardware_gives(option):
    m = daxsim.Machine("64G", "16G", memmap="dram")
    w = daxsim.Workload.from_preset("oltp-4k", ios=64, seed=2, truncate_rate=0.05)
    base = daxsim.run(option, m, w, hardware="optane-pmem-100")
    for hw in HARDWARE:
        direct, again = daxsim.run(option, m, w, hardware=hw).to_dict(), sw.remodel(base, hw).to_dict()
        for x in (direct["metrics"], again["metrics"]):
            x.pop("wall_s"), x.pop("setup_s")
        assert again == direct, (option, hw)
    # the figures really enter the model: option 0 copies through DRAM at the medium's bandwidth
    if option == "0":
        assert sw.remodel(base, "cxl-expander").modelled.per_io_ns != base.modelled.per_io_ns


def test_one_row_per_point_in_grid_order_infeasible_kept():
    df = sw.sweep(SMALL, jobs=1)
    pts = sw.points(SMALL)
    assert len(df) == len(pts) == 3 * 2 * 2 and list(df.columns) == list(sw.COLUMNS)
    assert [tuple(r[k] for k in sw.AXES) for r in df.to_dict("records")] == [tuple(p.values()) for p in pts]
    # hardware only re-models: 6 emulations for 12 points
    assert df.attrs == {"computed": 12, "reused": 0, "emulations": 6}
    bad = df[(df.option == "1a") & (df.pmem == 6 * 2**40)]
    assert len(bad) == 2 and not bad.feasible.any() and bad.per_io_ns.isna().all()
    assert bad.reason.str.contains("memmap of 6 TiB").all()
    ok = df[df.feasible]
    assert len(ok) == 10 and (ok.per_io_ns > 0).all() and (ok.ios_completed == 40).all()
    parts = [c for c in sw.COLUMNS if c.startswith("ns_")]
    assert (ok[parts].sum(axis=1) - ok.per_io_ns).abs().max() < 1e-6
    # the same numbers as a run, under the names run --json prints
    r = daxsim.run(
        "2",
        daxsim.Machine("8G", "16G"),
        daxsim.Workload.from_preset("rand-4k", ios=40, seed=1),
        hardware="cxl-expander",
    ).to_dict()
    row = df[(df.option == "2") & (df.pmem == 8 * 2**30) & (df.hardware == "cxl-expander")].iloc[0]
    for k, v in r["metrics"].items():
        if k not in ("modelled", "wall_s", "setup_s"):
            assert row["ios_completed" if k == "ios" else k] == v, k
    assert row["per_io_ns"] == r["metrics"]["modelled"]["per_io_ns"]


def test_every_metric_of_every_option_has_a_column():
    for o in sw.DESIGNS:
        r = daxsim.run(o, daxsim.Machine("8G", "16G"), daxsim.Workload(ios=4, file_size="64M"))
        assert {("ios_completed" if k == "ios" else k) for k in r.metrics} <= set(sw.METRICS), o


def test_worker_processes_give_the_same_table_in_the_same_order():
    one = sw.sweep(SMALL, jobs=1)
    two = sw.sweep(SMALL, jobs=2)
    same(one, two)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_local_table_and_resumes_the_same_way(tmp_path):
    """``sweep --scheduler``: a LocalCluster of two worker processes, started here, computes
    the rows a local sweep computes; with --out it appends them and resumes as locally."""
    import distributed  # the dask extra, which make test installs

    local = sw.sweep(SMALL, jobs=1, out=tmp_path / "local.csv")  # also fills numba's cache for the workers
    out = tmp_path / "t.csv"
    sw.sweep({**SMALL, "option": ["2"]}, jobs=1, out=out)  # a sweep interrupted after option 2's points
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        p = cli(
            "--option",
            "0,1a,2",
            "--pmem",
            "8G,6T",
            "--dram",
            "16G",
            "--hardware",
            "optane-pmem-100,cxl-expander",
            "--workload",
            "rand-4k",
            "--ios",
            "40",
            "--seed",
            "1",
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
            "--quiet",
        )
        assert p.returncode == 0, p.stderr
        assert f"scheduler={cluster.scheduler_address}" in p.stderr
        assert "8 points computed (4 emulations), 4 already in" in p.stderr, p.stderr
        same(sw.read_table(out), sw.read_table(tmp_path / "local.csv"))
        direct = sw.sweep(SMALL, scheduler=cluster.scheduler_address)
        same(direct, local)
        assert direct.attrs["computed"] == len(local)


def test_option_2_corruption_is_a_column_not_an_error():
    df = sw.sweep(
        {
            "option": ["2", "3"],
            "pmem": ["8G"],
            "workload": ["rand-64k"],
            "ios": [64],
            "truncate_rate": [0.0, 0.2],
            "seed": [1],
        },
        jobs=1,
    )
    two = df[df.option == "2"].set_index("truncate_rate")
    assert (
        two.loc[0.2, "truncates"] > 0 and two.loc[0.2, "corrupted_bytes"] > 0 and two.loc[0.0, "corrupted_bytes"] == 0
    )
    assert (df[df.option == "3"].corrupted_bytes == 0).all() and df.feasible.all()


def test_resume_after_a_killed_sweep_computes_only_the_missing_points(tmp_path):
    """Kill a real sweep partway (SIGKILL, no clean-up), then resume it."""
    args = [
        "--option",
        "0,1a,1b,2,3,huge,nvram",
        "--pmem",
        "8G,64G",
        "--dram",
        "16G",
        "--hardware",
        "optane-pmem-100,nvdimm-n",
        "--workload",
        "seq-1m",
        "--ios",
        "48",
        "--seed",
        "1",
        "--jobs",
        "1",
        "--quiet",
    ]
    grid = {
        "option": list(sw.DESIGNS),
        "pmem": ["8G", "64G"],
        "dram": ["16G"],
        "hardware": ["optane-pmem-100", "nvdimm-n"],
        "workload": ["seq-1m"],
        "ios": [48],
        "seed": [1],
    }
    total = len(sw.points(grid))
    out = tmp_path / "sweep.csv"
    p = subprocess.Popen(
        [sys.executable, "-m", "daxsim", "sweep", *args, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        rows = max(0, len(out.read_text().splitlines()) - 1) if out.exists() else 0
        if rows >= 4 or p.poll() is not None:
            break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stderr.close()
    from daxsim.study.sweepfiles import read_csv

    kept = len(read_csv(out))
    assert 4 <= kept < total, f"the sweep was not interrupted partway ({kept} of {total} points written)"
    resumed = sw.sweep(grid, jobs=2, out=out)
    assert resumed.attrs["reused"] == kept and resumed.attrs["computed"] == total - kept
    whole = sw.sweep(grid, jobs=1)
    same(resumed, whole)
    same(sw.read_table(out), whole)  # the file ends in grid order, complete
    again = sw.sweep(grid, jobs=2, out=out)
    assert again.attrs["computed"] == 0 and again.attrs["emulations"] == 0
    same(again, whole)


def test_a_line_cut_short_is_recomputed_and_other_grids_rows_stay(tmp_path):
    out = tmp_path / "s.csv"
    first = sw.sweep({**SMALL, "option": ["2"]}, jobs=1, out=out)
    text = out.read_text()
    out.write_text(text[:-40])  # the last row cut short, as a kill in the middle of a write leaves it
    grid = {**SMALL, "option": ["1a"]}
    df = sw.sweep([{**SMALL, "option": ["2"]}, grid], jobs=1, out=out)
    assert df.attrs["computed"] == 1 + len(sw.points(grid)) and len(df) == len(first) + len(sw.points(grid))
    only_1a = sw.sweep(grid, jobs=1, out=out)
    assert only_1a.attrs["computed"] == 0 and (only_1a.option == "1a").all()
    on_disk = sw.read_table(out)
    assert list(on_disk.option) == ["1a"] * 4 + ["2"] * 4  # this grid first, the other grid's rows kept after


def test_grid_files_and_flags_agree(tmp_path):
    toml = tmp_path / "g.toml"
    toml.write_text(
        'option = ["0", "2"]\npmem = ["8G", "6T"]\ndram = "16G"\nworkload = "rand-4k"\nios = 20\nseed = 1\n'
    )
    yml = tmp_path / "g.yaml"
    yml.write_text("option: ['0', '2']\npmem: [8G, 6T]\ndram: 16G\nworkload: rand-4k\nios: 20\nseed: 1\n")
    a = cli("--grid", str(toml), "--out", str(tmp_path / "a.csv"), "--quiet")
    b = cli("--grid", str(yml), "--out", str(tmp_path / "b.csv"), "--quiet", "--jobs", "2")
    c = cli(
        "--option",
        "0,2",
        "--pmem",
        "8G,6T",
        "--dram",
        "16G",
        "--workload",
        "rand-4k",
        "--ios",
        "20",
        "--seed",
        "1",
        "--quiet",
    )
    assert a.returncode == b.returncode == c.returncode == 0, a.stderr + b.stderr + c.stderr
    assert a.stderr.startswith("ARG option=0,2 pmem=8 GiB,6 TiB dram=16 GiB")
    fa, fb = sw.read_table(tmp_path / "a.csv"), sw.read_table(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text(c.stdout)
    fc = sw.read_table(tmp_path / "c.csv")
    same(fa, fb)
    same(fa, fc)
    assert len(fa) == 4
    flag_wins = cli("--grid", str(toml), "--option", "3", "--quiet")
    (tmp_path / "d.csv").write_text(flag_wins.stdout)
    assert flag_wins.returncode == 0 and set(sw.read_table(tmp_path / "d.csv").option) == {"3"}


def test_parquet_round_trip(tmp_path):
    """make test installs pyarrow (the parquet extra), so the Parquet table is written and read back."""
    out = tmp_path / "s.parquet"
    df = sw.sweep({**SMALL, "option": ["2"]}, jobs=1, out=out)
    assert out.exists() and not sw.journal_of(out).exists()
    same(sw.read_table(out), df)
    again = sw.sweep({**SMALL, "option": ["2"]}, jobs=1, out=out)
    assert again.attrs["computed"] == 0 and again.attrs["reused"] == len(df)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    out = tmp_path / "s.parquet"
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(ValueError, match="pyarrow"):
        sw.sweep({"option": "2"}, out=out)
    code = (
        "import sys; sys.modules['pyarrow'] = None; from daxsim.cli import main; "
        f"sys.exit(main(['sweep', '--option', '2', '--out', {str(out)!r}]))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "pyarrow" in p.stderr and "out:" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--option", "0,9"], "option: '9'"),
        (["--pmem", "8G,lots"], "pmem: 'lots'"),
        (["--dram", "16G,,1T"], "dram: "),
        (["--ios", "x"], "ios: 'x'"),
        (["--ios", "0"], "ios: 0"),
        (["--seed", "-1"], "seed: -1"),
        (["--truncate-rate", "2"], "truncate_rate: 2.0"),
        (["--hardware", "tape"], "hardware: 'tape'"),
        (["--memmap", "disk"], "memmap: 'disk'"),
        (["--workload", "w0:4k,r8k:4k"], "workload: "),
        (["--workload", "nope"], "workload: 'nope'"),
        (["--grid", "/nonexistent/g.toml"], "grid: "),
        (["--out", "table.txt"], "out: 'table.txt'"),
        (["--jobs", "0"], "jobs: 0"),
        (["--scheduler", "tcp://no where"], "scheduler: 'tcp://no where'"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle):
    p = cli(*args)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and needle in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_bad_grid_file_names_the_parameter(tmp_path):
    g = tmp_path / "g.toml"
    g.write_text('pmem = ["8G"]\ncolour = ["blue"]\n')
    p = cli("--grid", str(g))
    assert p.returncode == 2 and "grid: unknown parameter 'colour'" in p.stderr and p.stderr.count("\n") == 1
    with pytest.raises(ValueError, match="truncate_rate: .* does not apply to the operation string"):
        sw.sweep({"option": "2", "workload": "w0:4k", "truncate_rate": 0.1}, jobs=1)
    with pytest.raises(ValueError, match="option: an empty list"):
        sw.points({"option": []})
    with pytest.raises(ValueError, match="hardware: .* is not a profile name; accepted: ddr4-2666"):
        sw.points({"hardware": [HARDWARE["nvdimm-n"]]})


# ------------------------------------------------------------------------- the verdict


def _frame(rows):
    """A minimal annotated-able sweep table: one slice, the options given as (option, held, ns, feasible, bad)."""
    base = {a: v[0] for a, v in sw.DEFAULT_GRID.items()}
    base.update(pmem=400 * 2**30, dram=16 * 2**30)
    out = []
    for option, held, ns, feasible, corrupted in rows:
        out.append(
            {
                **base,
                "option": option,
                "feasible": feasible,
                "reason": "" if feasible else "too big",
                "memmap_dram_bytes": held,
                "transient_dram_peak_bytes": 0,
                "descriptor_bytes_peak": 0,
                "dirty_tracking_bytes": 0,
                "pool_reserved_bytes": 0,
                "corrupted_bytes": corrupted,
                "per_io_ns": ns if feasible else float("nan"),
                "op_ns": ns if feasible else float("nan"),
            }
        )
    return pd.DataFrame(out)


def test_pareto_front_by_hand():
    from daxsim.book import verdict

    df = verdict.pareto(
        verdict.annotate(
            _frame(
                [
                    ("0", 4096, 3000.0, True, 0),  # beaten by 3 (more DRAM, slower)
                    ("1a", 6 << 30, 1610.0, True, 0),  # faster than 3, more DRAM: on the front
                    ("1b", 1 << 17, 1700.0, True, 0),  # beaten by 3
                    ("2", 16, 1500.0, True, 99),  # fastest and leanest, but corrupted: not safe, not on the front
                    ("3", 16, 1620.0, True, 0),  # the leanest safe point: on the front
                    (
                        "huge",
                        6 << 30,
                        1610.0,
                        True,
                        0,
                    ),  # ties 1a exactly: neither beats the other, the walk keeps the first
                    ("nvram", 96 << 30, 0.0, False, 0),  # infeasible: never on the front
                ]
            )
        )
    )
    on = dict(zip(df.option, df.pareto))
    assert on["3"] and not on["0"] and not on["1b"] and not on["2"] and not on["nvram"]
    assert on["1a"] != on["huge"]  # equal points: one of them represents the tie
    st = dict(zip(df.option, df.safety))
    assert st["2"] == verdict.STATUSES[1] and st["nvram"] == verdict.STATUSES[3] and st["3"] == verdict.STATUSES[0]
    w = verdict.winners(df).iloc[0]
    assert w["winner"] in ("1a", "huge") and w["leanest"] == "3" and w["unsafe"] == "2"
    assert w["infeasible"] == "nvram"
    t = verdict.which_option_when(df).iloc[0]
    assert t["regime"] == "memmap 10% to 100% of DRAM" and t["points"] == 1
    assert "nvram infeasible" in t["why"] and "2 up to" in t["why"]


def test_option_2_without_truncates_is_still_unsafe_and_regimes_follow_the_memmap():
    from daxsim.book import verdict

    df = verdict.annotate(_frame([("2", 16, 1500.0, True, 0), ("3", 16, 1620.0, True, 0)]))
    assert list(df.safety) == [verdict.STATUSES[2], verdict.STATUSES[0]] and list(df.safe) == [False, True]
    assert verdict.regime(float(verdict.memmap_share(8 * 2**30, 16 * 2**30))) == "memmap under 10% of DRAM"
    assert verdict.regime(float(verdict.memmap_share(2**40, 16 * 2**30))) == "memmap as large as DRAM or larger"
    # the regime edge is where 1a stops booting: a 1 TiB memmap share of 16 GiB is exactly 1
    r = daxsim.run("1a", daxsim.Machine("1T", "16G"), daxsim.Workload(ios=4, file_size="64M"))
    assert not r.feasible and float(verdict.memmap_share(2**40, 16 * 2**30)) == 1.0


def test_the_verdict_ranks_by_time_per_operation_not_per_io():
    """With stores beside the I/O, huge pages' write-back is in op_ns, not in per_io_ns:
    the comparison's winner and front follow op_ns, as daxsim.study.verdict does."""
    from daxsim.book import verdict

    df = _frame([("3", 16, 1620.0, True, 0), ("huge", 6 << 30, 1600.0, True, 0)])
    df["op_ns"] = [1700.0, 9000.0]  # huge is faster per I/O, far slower per operation (2 MiB write-back)
    df = verdict.pareto(verdict.annotate(df))
    assert verdict.TIME == "op_ns"
    assert dict(zip(df.option, df.pareto)) == {"3": True, "huge": False}
    w = verdict.winners(df).iloc[0]
    assert w["winner"] == "3" and w["winner_ns"] == 1700.0
    assert verdict.which_option_when(df).iloc[0]["time per operation (ns)"] == "1,700"


def test_huge_memmap_variants_compete_under_their_own_names():
    from daxsim.book import theme, verdict

    df = _frame([("huge", 6 << 30, 1600.0, True, 0), ("huge", 1 << 20, 1600.0, True, 0)])
    df["spec"] = ["huge", "huge+memmap_variant=devdax-dedup"]
    df = verdict.pareto(verdict.annotate(df))
    assert list(df.option) == ["huge", "huge, devdax-dedup"]
    assert verdict.winners(df).iloc[0]["leanest"] == "huge, devdax-dedup"  # as fast, less DRAM
    assert theme.color("huge, devdax-dedup") != theme.color("huge")
    assert theme.order(["huge, devdax-dedup", "nvram", "huge"]) == ["huge", "huge, devdax-dedup", "nvram"]
