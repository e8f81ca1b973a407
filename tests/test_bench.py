"""``make bench`` keeps running: every benchmark at a tiny size, once (``bench/run.py
--smoke``), in a fresh process. No timing is judged here: the benchmarks judge their own
ratios, and only ``make bench`` on a quiet machine measures anything worth keeping."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

GROUPS = {
    "as a user runs it",
    "data path, rand-64k",
    "data path, oltp-4k",
    "options against 1a, rand-64k",
    "options against 1a, oltp-4k",
    "stores and fsync",
    "metadata only",
    "memmap init",
    "host memory",
    "live explorer",
}


def test_every_benchmark_runs_and_prints_one_json_document():
    p = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    doc = json.loads(p.stdout)
    assert doc["smoke"] is True and doc["reps"] == 1
    results = doc["results"]
    assert {r["group"] for r in results} == GROUPS
    labels = [(r["group"], r["label"]) for r in results]
    assert len(labels) == len(set(labels)), "a label is repeated within its group"
    for r in results:
        assert r["ratio"] > 0 and r["value"] > 0, r
        assert r["pass"] in (True, False, None) and (r["pass"] is None) == (r["target"] is None), r
    first = [r for r in results if r["label"] == "first run"]
    assert len(first) == 1 and "compiling took about" in first[0]["note"]
    assert "one first run, an empty cache" in first[0]["note"]  # a smoke run: once
    cli = [r for r in results if r["label"].startswith("CLI ")]
    assert {r["label"] for r in cli} == {"CLI 64K", "CLI 4K"}
    assert all("set-up before the timed loop" in r["note"] for r in cli)
    floor = [r for r in results if r["label"] == "4K floor"]
    assert len(floor) == 1 and floor[0]["target"] is None and floor[0]["group"] == "as a user runs it"


def test_a_smoke_run_is_not_saved():
    p = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--output", "x.json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 2 and "--output" in p.stderr and not (REPO_ROOT / "x.json").exists()
