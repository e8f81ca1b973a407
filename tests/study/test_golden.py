"""Same seed, same JSON, bit for bit: every option's ``run --json`` against a recording.

``tests/study/data/golden_runs.json`` was recorded (``python tests/study/test_golden.py``) before the
package was reorganised (issue 11); any later change to what a run reports shows here as
a difference, and the recording is only renewed on purpose, with the reason in the commit.
Wall-clock times (``wall_s``, ``setup_s``) are the fields left out. Renewals so far: the counter ``ios`` became
``ios_completed`` (one row schema; every value the same, checked before renewing); the
kernel eras (issue 17): runs model Linux 6.15 by default (merged bio_vecs, FOLL_PIN
figures, whole-file truncate unmaps and their refaults, reads dirty their pages, idle
refcount 0), four new counters, the ``kernel`` and ``iommu`` parameters, and cases
pinned to other eras; the time model (issue 12): CPU and device time apart and the queue's
throughput in ``modelled``, the ``cpus`` parameter, the ranged figures' new defaults
(extent_ref_ns 6 ns, the CXL expander's bandwidths), a medium's own GUP figures for a
memmap on it, no flushes on a volatile medium; ``op_ns`` (the time per operation, stores and
fsyncs included, that the verdict ranks by) added to ``modelled``, every other value the same.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_runs.json"

#: (name, run() keyword arguments); machines and workloads as keyword dicts
CASES = [
    (
        "0-rand4k",
        dict(option="0", machine=dict(pmem="400G", dram="16G"), workload=dict(preset="rand-4k", ios=300, seed=1)),
    ),
    (
        "0-bounce-pmem",
        dict(
            option="0",
            machine=dict(pmem="8G", dram="1G"),
            workload=dict(preset="rand-64k", ios=64, seed=2),
            bounce_node="pmem",
        ),
    ),
    (
        "1a-oltp",
        dict(option="1a", machine=dict(pmem="8G", dram="16G"), workload=dict(preset="oltp-4k", ios=640, seed=3)),
    ),
    (
        "1a-trunc",
        dict(
            option="1a",
            machine=dict(pmem="64G", dram="16G", memmap="pmem"),
            workload=dict(preset="rand-64k", ios=200, seed=4, truncate_rate=0.1),
        ),
    ),
    ("1a-infeasible", dict(option="1a", machine=dict(pmem="6T", dram="64G"), workload=dict(preset="rand-4k", ios=10))),
    (
        "1b-stall",
        dict(
            option="1b",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="rand-64k", ios=200, seed=5, queue_depth=16),
            pool_pages=64,
        ),
    ),
    (
        "1b-trunc",
        dict(
            option="1b",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="oltp-4k", ios=320, seed=6, truncate_rate=0.05),
        ),
    ),
    (
        "2-race",
        dict(option="2", machine=dict(pmem="1G", dram="1G"), workload=dict(ops="r0:16k,t0:16k,w64k:4k", queue_depth=4)),
    ),
    (
        "2-trunc",
        dict(
            option="2",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="rand-64k", ios=200, seed=7, truncate_rate=0.1),
        ),
    ),
    (
        "2-guard",
        dict(
            option="2",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="rand-64k", ios=200, seed=7, truncate_rate=0.1),
            guard=True,
        ),
    ),
    (
        "3-frag",
        dict(
            option="3",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="seq-1m", ios=40, seed=8, extent_size="64K"),
        ),
    ),
    (
        "3-stores",
        dict(
            option="3",
            machine=dict(pmem="8G", dram="4G"),
            workload=dict(preset="oltp-4k", ios=320, seed=9, store_fraction=0.3, fsync_every=16, truncate_rate=0.05),
        ),
    ),
    (
        "huge-scatter",
        dict(
            option="huge",
            machine=dict(pmem="4G", dram="1G"),
            workload=dict(preset="scatter-2b", ios=200, seed=10),
            memmap_variant="devdax-dedup",
        ),
    ),
    (
        "huge-1g-4k",
        dict(
            option="huge",
            machine=dict(pmem="8G", dram="4G", align="1G"),
            workload=dict(preset="rand-64k", ios=100, seed=11, store_fraction=0.2, fsync_every=8),
            page_size="1G",
            dirty_granularity="4k",
            memmap_variant="hvo",
        ),
    ),
    (
        "huge-oltp",
        dict(
            option="huge",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="oltp-4k", ios=320, seed=12, truncate_rate=0.05),
        ),
    ),
    (
        "nvram-oltp",
        dict(option="nvram", machine=dict(pmem="400G", dram="16G"), workload=dict(preset="oltp-4k", ios=640, seed=13)),
    ),
    (
        "ideal-64k",
        dict(option="ideal", machine=dict(pmem="400G", dram="16G"), workload=dict(preset="rand-64k", ios=100, seed=14)),
    ),
    (
        "1a-nodata",
        dict(
            option="1a",
            machine=dict(pmem="400G", dram="64G"),
            workload=dict(preset="rand-4k", ios=500, seed=15),
            data=False,
        ),
    ),
    (
        "1a-4.19-trunc",
        dict(
            option="1a",
            machine=dict(pmem="64G", dram="16G"),
            workload=dict(preset="rand-64k", ios=200, seed=16, truncate_rate=0.1),
            kernel="4.19",
        ),
    ),
    (
        "1a-6.1-munmap",
        dict(
            option="1a",
            machine=dict(pmem="1G", dram="1G"),
            workload=dict(ops="w128k:8k,r0:64k,u0:1M,t0:64k", file_size="1M", queue_depth=2),
            kernel="6.1",
        ),
    ),
    (
        "huge-6.12-oltp",
        dict(
            option="huge",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="oltp-4k", ios=320, seed=17, truncate_rate=0.05),
            kernel="6.12",
        ),
    ),
    (
        "nvram-memdesc8",
        dict(
            option="nvram",
            machine=dict(pmem="6T", dram="64G"),
            workload=dict(preset="rand-64k", ios=100, seed=18),
            kernel="memdesc-8",
        ),
    ),
    (
        "1b-4.0-trunc",
        dict(
            option="1b",
            machine=dict(pmem="400G", dram="16G"),
            workload=dict(preset="rand-64k", ios=100, seed=19, truncate_rate=0.2),
            kernel="4.0",
        ),
    ),
]


def _run(case: dict) -> dict:
    import daxsim

    kw = dict(case)
    option = kw.pop("option")
    machine = daxsim.Machine(**kw.pop("machine"))
    w = dict(kw.pop("workload"))
    preset = w.pop("preset", None)
    workload = daxsim.Workload.from_preset(preset, **w) if preset else daxsim.Workload(**w)
    out = daxsim.run(option, machine, workload, **kw).to_dict()
    out["metrics"].pop("wall_s"), out["metrics"].pop("setup_s")  # the emulator's own times
    return json.loads(json.dumps(out))  # what the CLI prints, read back (floats exactly)


@pytest.mark.parametrize("name, case", CASES, ids=[n for n, _ in CASES])
def test_run_json_is_what_was_recorded(name, case):
    recorded = json.loads(GOLDEN.read_text())[name]
    assert _run(case) == recorded


def record(names=None) -> None:
    """Record the cases named (default: those not yet recorded); the others are kept."""
    old = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    new = {name: _run(case) for name, case in CASES if (name in names if names else name not in old)}
    GOLDEN.write_text(json.dumps({**old, **new}, indent=1, sort_keys=True) + "\n")
    print(f"recorded {', '.join(new) or 'nothing'} in {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    record(sys.argv[1:])
