"""Every numba path equals the pure-Python reference, counter by counter and byte by byte."""

import functools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import daxsim
from daxsim.model.counters import COUNTERS
from daxsim.model.eras import ERAS
from daxsim.oracle.reference import run_reference
from daxsim.emu.units import MiB, PAGE_SIZE

OPTIONS = list(daxsim.OPTIONS)  # 0, 1a, 1b, 2, 3, huge, nvram and the ideal bound
SAFE = [o for o in OPTIONS if o != "2"]


def check_against_reference(option, machine, workload, **kw):
    cap = {}
    r = daxsim.run(option, machine, workload, capture=cap, **kw)
    ref = run_reference(option, machine, workload, **kw)
    for name in COUNTERS:
        assert r.metrics[name] == ref.counters[name], name
    assert cap["pmem_pages"] == ref.pmem_pages
    assert cap["dev_pages"] == ref.dev_pages
    assert r.metrics["leaked_pages"] == 0
    from daxsim.model.eras import era
    from daxsim.paths.registry import design
    from daxsim.study.stages import hazardous

    if kw.get("guard") or not hazardous(design(option), era(kw.get("kernel")), munmapped=False):
        assert r.metrics["corrupted_bytes"] == 0  # only a hazard of the option (and era) may corrupt
    return r


@st.composite
def machines_and_workloads(draw):
    pmem = draw(st.sampled_from([16, 32, 64, 256])) * MiB
    dram = draw(st.sampled_from([64, 128])) * MiB
    machine = daxsim.Machine(
        pmem, dram, memmap=draw(st.sampled_from(["dram", "pmem"])), align=draw(st.sampled_from(["4K", "2M"]))
    )
    io_size = draw(st.integers(1, 40)) * 512
    qd = draw(st.integers(1, 6))
    file_pages = draw(st.integers(max(4, -(-io_size * qd * 2 // PAGE_SIZE)), 1024))
    extent = draw(st.one_of(st.none(), st.integers(1, 16).map(lambda n: n * PAGE_SIZE)))
    workload = daxsim.Workload(
        ios=draw(st.integers(1, 60)),
        io_size=io_size,
        read_fraction=draw(st.sampled_from([0.0, 0.3, 0.5, 1.0])),
        pattern=draw(st.sampled_from(["random", "sequential"])),
        queue_depth=qd,
        file_size=file_pages * PAGE_SIZE,
        extent_size=extent,
        truncate_rate=draw(st.sampled_from([0.0, 0.0, 0.1, 0.4])),
        store_fraction=draw(st.sampled_from([0.0, 0.0, 0.2, 0.6])),
        store_size=draw(st.integers(1, 300)),
        fsync_every=draw(st.integers(0, 20)),
        seed=draw(st.integers(0, 2**31)),
    )
    pages_per_io = -(-io_size // PAGE_SIZE) + 1
    extra = {
        "pool_pages": draw(st.integers(pages_per_io, 4 * pages_per_io * qd)),
        "dirty_granularity": draw(st.sampled_from(["mapping", "4k"])),
        "kernel": draw(st.sampled_from(list(ERAS))),
    }
    return machine, workload, extra


@pytest.mark.parametrize("option", OPTIONS + ["2+guard"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=machines_and_workloads())
def test_numba_path_equals_reference(option, case):
    """Counters and bytes, with truncate faults, small pools (1b stalls) and the guard."""
    machine, workload, extra = case
    kw = {"pool_pages": extra["pool_pages"]} if option == "1b" else {}
    if option == "huge":
        kw = {"dirty_granularity": extra["dirty_granularity"]}
        machine = machine.replace(align="2M")  # a huge mapping needs a 2 MiB-aligned namespace
        workload = workload.replace(file_size=-(-workload.file_size // (2 * MiB)) * 2 * MiB)  # in whole huge pages
    if option == "2+guard":
        option, kw = "2", {"guard": True}
    check_against_reference(option, machine, workload, kernel=extra["kernel"], **kw)


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize(
    "ops", ["w0:8k,r8k:4k", "r512:1k,w4k:4k,r8k:12k,w1k:3584", "w0:4k,w0:4k,w4k:4k", "r0:16k,t0:16k,w64k:4k,w0:8k"]
)
def test_hand_traced_operation_strings(option, ops):
    m = daxsim.Machine("64M", "64M")
    check_against_reference(option, m, daxsim.Workload(ops=ops, file_size="2M", queue_depth=2))


RACE = "r0:16k,t0:16k,w64k:4k,w128k:4k"  # the read is in flight when its blocks are punched out


def test_option_2_dma_lands_in_another_files_blocks():
    m = daxsim.Machine("64M", "64M")
    w = daxsim.Workload(ops=RACE, file_size="1M", queue_depth=4)
    r = daxsim.run("2", m, w)
    assert r.metrics["corrupted_victim_bytes"] == 16384 and r.metrics["files_corrupted"] == 1
    assert r.metrics["truncate_waits"] == 0 and r.metrics["victim_bytes_written"] == 16384
    for option, kw in (("1a", {}), ("1b", {}), ("3", {}), ("2", {"guard": True}), ("0", {})):
        safe = daxsim.run(option, m, w, **kw)
        assert safe.metrics["corrupted_bytes"] == 0, option
        assert safe.metrics["truncate_waits"] == 1 and safe.metrics["wait_ios"] == 1, option
        assert safe.modelled.truncate_wait_ns > 0


def test_random_truncates_corrupt_only_option_2():
    m = daxsim.Machine("64M", "64M")
    w = daxsim.Workload(ios=600, file_size="8M", queue_depth=8, truncate_rate=0.05, io_size="16k", seed=5)
    assert daxsim.run("2", m, w).metrics["corrupted_bytes"] > 0
    guarded = daxsim.run("2", m, w, guard=True)
    assert guarded.metrics["corrupted_bytes"] == 0 and guarded.metrics["range_locks"] == 600
    for option in SAFE:
        assert daxsim.run(option, m, w).metrics["corrupted_bytes"] == 0


def test_1b_shares_a_page_between_inflight_ios_and_stalls_on_a_small_pool():
    m = daxsim.Machine("64M", "64M")
    shared = daxsim.run("1b", m, daxsim.Workload(ops="w0:4k,w0:4k", file_size="1M", queue_depth=2))
    assert shared.metrics["struct_pages_initialised_io"] == 1 and shared.metrics["pool_pages_peak"] == 1
    w = daxsim.Workload(ios=200, io_size="16k", queue_depth=16, file_size="16M", seed=2)
    small = daxsim.run("1b", m, w, pool_pages=8)
    big = daxsim.run("1b", m, w, pool_pages=4096)
    assert small.metrics["pool_stalls"] > 0 and small.metrics["pool_pages_peak"] <= 8
    assert big.metrics["pool_stalls"] == 0 and big.metrics["pool_pages_peak"] <= 16 * 4
    assert small.metrics["ios_completed"] == big.metrics["ios_completed"] == 200  # nothing lost
    with pytest.raises(ValueError, match="^pool_pages: 2 cannot hold one I/O of 4 pages"):
        daxsim.run("1b", m, w, pool_pages=2)


def test_1b_dram_is_tiny_next_to_1a_memmap():
    m = daxsim.Machine("400G", "16G")
    w = daxsim.Workload(ios=200, queue_depth=32, file_size="64M")
    r1a, r1b = daxsim.run("1a", m, w), daxsim.run("1b", m, w)
    assert r1b.metrics["memmap_dram_bytes"] == 0
    assert r1b.metrics["transient_dram_peak_bytes"] < r1a.metrics["memmap_dram_bytes"] / 1000


def test_3_descriptor_follows_fragmentation_not_bytes():
    m = daxsim.Machine("256M", "64M")
    contiguous = daxsim.Workload(ios=100, io_size="64k", file_size="16M", seed=1)
    # a bio_vec per 4 KiB page until 5.1 (4.19 here); from 5.1 contiguous pages merge, and 1a's
    # descriptor is as short as 3's: what is left of 3's advantage is the fragmented case
    r1a, r3 = daxsim.run("1a", m, contiguous, kernel="4.19"), daxsim.run("3", m, contiguous, kernel="4.19")
    assert r1a.metrics["descriptor_entries"] == 1600 and r3.metrics["descriptor_entries"] == 100
    assert daxsim.run("1a", m, contiguous, kernel="6.1").metrics["descriptor_entries"] == 100
    frag = daxsim.run("3", m, contiguous.replace(extent_size="16k"))
    assert 100 < frag.metrics["descriptor_entries"] <= 400


def test_option_0_copies_every_byte_once_more_than_1a():
    m = daxsim.Machine("1G", "1G")
    w = daxsim.Workload.from_preset("rand-64k", ios=200, file_size="64M")
    r0, r1 = daxsim.compare(["0", "1a"], m, w, kernel="4.19")  # a bio_vec per page
    assert r0.metrics["bytes_cpu_copied"] == r0.metrics["bytes_requested"] == r1.metrics["bytes_dma"]
    assert r1.metrics["bytes_cpu_copied"] == 0
    assert r0.metrics["allocations"] == r0.metrics["frees"] == r0.metrics["pages_spanned"]
    assert r1.metrics["gup_pages"] == r1.metrics["put_pages"] == r1.metrics["descriptor_entries"]
    assert r0.metrics["memmap_dram_bytes"] == 0 and r1.metrics["memmap_dram_bytes"] == 1 * 2**30 // 64
    assert r0.metrics["transient_dram_peak_bytes"] > r1.metrics["transient_dram_peak_bytes"]


def test_queue_depth_sets_bounce_peak():
    m = daxsim.Machine("1G", "1G")
    w = daxsim.Workload.from_preset("rand-64k", ios=64, queue_depth=8, file_size="64M")
    r = daxsim.run("0", m, w)
    assert r.metrics["transient_dram_peak_bytes"] == 8 * 16 * (PAGE_SIZE + 16)


def test_same_seed_same_json():
    m = daxsim.Machine("512M", "256M")
    w = daxsim.Workload.from_preset("oltp-4k", ios=300, file_size="32M", seed=7)
    a, b = (daxsim.run("1a", m, w).to_dict() for _ in range(2))
    for x in (a["metrics"], b["metrics"]):
        x.pop("wall_s"), x.pop("setup_s")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = daxsim.run("1a", m, w.replace(seed=8)).to_dict()
    assert c["metrics"]["page_faults"] != a["metrics"]["page_faults"] or c["params"]["seed"] == 8


def test_no_data_moves_no_bytes_but_counts_the_same_metadata():
    m = daxsim.Machine("256M", "128M")
    w = daxsim.Workload(ios=100, file_size="16M", io_size="16k")
    full, meta = daxsim.run("1a", m, w), daxsim.run("1a", m, w, data=False)
    for k in ("gup_pages", "refcount_ops", "descriptor_entries", "bytes_dma"):
        assert full.metrics[k] == meta.metrics[k]
    assert meta.metrics["verified_bytes"] == 0 and full.metrics["verified_bytes"] > 0


def test_memmap_on_pmem_lives_in_pmem_bytes():
    m = daxsim.Machine("64M", "64M", memmap="pmem")
    r = daxsim.run("1a", m, daxsim.Workload(ops="w0:4k", file_size="1M"), kernel="6.1")
    assert r.metrics["memmap_pmem_bytes"] > 0 and r.metrics["memmap_dram_bytes"] == 0
    assert r.modelled.breakdown["gup"] == pytest.approx(118.0)  # per-page get_user_pages_fast with the altmap
    pinned = daxsim.run("1a", m, daxsim.Workload(ops="w0:4k", file_size="1M"), kernel="6.12")
    assert pinned.modelled.breakdown["gup"] == pytest.approx(124.9)  # pin_user_pages_fast (FOLL_PIN, 6.5+)


def test_guard_and_pool_belong_to_their_options():
    m = daxsim.Machine("64M", "64M")
    with pytest.raises(ValueError, match="^guard: only option 2"):
        daxsim.run("1a", m, guard=True)
    with pytest.raises(ValueError, match="^pool_pages: only option 1b"):
        daxsim.run("3", m, pool_pages=10)


def test_infeasible_run_is_reported_not_raised():
    r = daxsim.run("1a", daxsim.Machine("400G", "4G"), daxsim.Workload(ios=10))
    assert not r.feasible and "DRAM" in r.reason and r.modelled is None
    assert r.metrics["memmap_dram_bytes"] == 400 * 2**30 // 64 and r.metrics["ios_completed"] == 0


def test_deep_queue_of_big_ios_exhausts_bounce_pages():
    w = daxsim.Workload(ios=64, io_size="8M", queue_depth=16, file_size="1G")
    r = daxsim.run("0", daxsim.Machine("2G", "128M"), w)
    assert not r.feasible and "bounce" in r.reason


def test_6tib_machine_runs_in_little_host_memory():
    from daxsim.emu.memory import host_rss_bytes

    m = daxsim.Machine("6T", "128G", memmap="pmem")
    before = host_rss_bytes()
    r = daxsim.run("1a", m, daxsim.Workload(ios=2000, file_size="5T"))
    assert r.feasible and r.metrics["verified_bytes"] > 0 and r.metrics["corrupted_bytes"] == 0
    assert r.metrics["memmap_pmem_bytes"] == pytest.approx(6 * 2**40 / 64, rel=1e-3)
    assert host_rss_bytes() - before < 1 << 30


@pytest.mark.parametrize(
    "kw, param",
    [
        ({"io_size": "1000"}, "io_size"),
        ({"read_fraction": 1.5}, "read_fraction"),
        ({"pattern": "zigzag"}, "pattern"),
        ({"queue_depth": 0}, "queue_depth"),
        ({"ios": 0}, "ios"),
        ({"seed": -1}, "seed"),
        ({"ops": "x0:4k"}, "ops"),
        ({"ops": "w0:4k", "file_size": "2k"}, "file_size"),
        ({"ops": "w1M:4k", "file_size": "1M"}, "ops"),
        ({"extent_size": "6k"}, "extent_size"),
        ({"truncate_rate": 2}, "truncate_rate"),
        ({"ops": "t0:6k", "file_size": "1M"}, "ops"),
    ],
)
def test_bad_workloads_name_the_parameter(kw, param):
    with pytest.raises(ValueError, match=rf"^{param}"):
        daxsim.Workload(**kw)


def test_bad_run_arguments():
    m = daxsim.Machine("64M", "64M")
    with pytest.raises(ValueError, match="^option: "):
        daxsim.run("9", m)
    with pytest.raises(ValueError, match="^hardware: "):
        daxsim.run("1a", m, hardware="floppy")
    with pytest.raises(ValueError, match="^file_size: "):
        daxsim.run("1a", m, daxsim.Workload(file_size="1G"))
    assert daxsim.run("1a", m, daxsim.Workload(ios=10)).workload.file_size == 16 * MiB  # the default fits itself


@pytest.mark.parametrize("store_fraction", [0.0, 0.6])
def test_workload_queue_never_holds_conflicting_ios(store_fraction):
    """The queue counts I/Os, not events: stores between two I/Os take no slot, so they must
    not space a read and a write of the same range apart (option 0's write copies the buffer
    at submission, before an earlier read into it completes)."""
    from daxsim.emu.workload import OP_STORE, first_conflict

    for seed in range(5):
        w = daxsim.Workload(
            ios=5000,
            queue_depth=64,
            file_size="1M",
            read_fraction=0.5,
            seed=seed,
            store_fraction=store_fraction,
            store_size=1,
        )
        op, off, length = w.generate()
        assert first_conflict(op, off, length, 64) is None
        assert np.bincount(op)[:2].min() > 500 and ((op == OP_STORE).sum() > 2000) == (store_fraction > 0)
    # found by hypothesis: a read and a write of one 512 B range, 5 events but 2 I/Os apart
    w = daxsim.Workload(
        ios=28,
        io_size=512,
        read_fraction=0.3,
        queue_depth=4,
        file_size=20480,
        seed=214,
        store_fraction=0.6,
        store_size=1,
    )
    assert first_conflict(*w.generate(), 4) is None
    r = daxsim.run("0", daxsim.Machine("16M", "64M", align="4K"), w)
    assert r.metrics["corrupted_bytes"] == 0 and r.metrics["verified_bytes"] > 0


def test_conflicting_operation_string_is_refused_at_once():
    # the events are quoted as written (issue 15: the message numbered events as "I/Os")
    with pytest.raises(ValueError, match="^ops: 'r512:1k' \\(event 1\\) and 'w0:4k' \\(event 2\\) overlap"):
        daxsim.Workload(ops="r512:1k,w0:4k", queue_depth=2, file_size="1M")
    assert daxsim.Workload(ops="r512:1k,w0:4k", queue_depth=1, file_size="1M").ios == 2


def test_huge_pages_shrink_the_memmap_and_amplify_writeback():
    from daxsim.emu.hugepages import memmap_cost
    from daxsim.emu.units import GiB, TiB

    # the kernel's documented figures (Documentation/mm/vmemmap_dedup.rst) and the thread's
    assert memmap_cost(TiB, 2 * MiB, "devdax-dedup") == pytest.approx(4 * GiB, rel=0.01)  # "4G instead of 16G"
    assert memmap_cost(TiB, GiB, "devdax-dedup") == 40 * MiB  # "40MB instead of 16G"
    # HVO frees 7 of 8 vmemmap pages; the 4 KiB page tables that then map the vmemmap add 1/64 of that
    assert memmap_cost(TiB, 2 * MiB, "hvo") == 16 * GiB / 8 * (1 + 1 / 64)
    assert memmap_cost(400 * GiB, 2 * MiB, "superpage") == 25 * MiB  # "only a 25MB overhead per 400GB"
    assert memmap_cost(TiB, 2 * MiB, "base") == 16 * GiB
    m = daxsim.Machine("4G", "1G")
    w = daxsim.Workload.from_preset("scatter-2b", ios=512, file_size="256M", seed=4)
    base = daxsim.run("1a", m, w)
    huge = daxsim.run("huge", m, w, memmap_variant="devdax-dedup")
    fine = daxsim.run("huge", m, w, memmap_variant="devdax-dedup", dirty_granularity="4k")
    assert huge.metrics["memmap_dram_bytes"] < base.metrics["memmap_dram_bytes"] / 3
    assert base.metrics["bytes_flushed"] == base.metrics["dirty_units"] * 4096
    assert huge.metrics["bytes_flushed"] == huge.metrics["dirty_units"] * 2 * MiB
    assert huge.metrics["bytes_flushed"] > 100 * base.metrics["bytes_flushed"]  # 2 bytes dirty 2 MiB
    assert fine.metrics["bytes_flushed"] == base.metrics["bytes_flushed"] and fine.metrics["dirty_tracking_bytes"] > 0
    assert huge.metrics["xplines_dirtied"] == base.metrics["xplines_dirtied"]  # the media sees the same lines
    assert huge.modelled.fsync_ns > 10 * base.modelled.fsync_ns
    assert huge.modelled.media_bytes == 256 * huge.metrics["xplines_dirtied"]


def test_huge_takes_one_reference_per_compound_page():
    m = daxsim.Machine("64M", "64M")
    r = daxsim.run("huge", m, daxsim.Workload(ops="w0:1M,r2M:8k", file_size="8M"))
    assert r.metrics["compound_refs"] == 2 and r.metrics["refcount_ops"] == 4 and r.metrics["gup_pages"] == 258
    with pytest.raises(ValueError, match="^page_size: 1 GiB pages need the namespace aligned"):
        daxsim.run("huge", daxsim.Machine("4G", "1G"), page_size="1G")
    with pytest.raises(ValueError, match="^memmap_variant: 'fancy'"):
        daxsim.run("huge", m, memmap_variant="fancy")
    with pytest.raises(ValueError, match="^page_size: only option huge"):
        daxsim.run("1a", m, page_size="2M")


def test_nvram_keeps_the_memmap_on_pmem_and_counts_its_wear():
    m = daxsim.Machine("400G", "16G")
    w = daxsim.Workload(ops="w0:8k,w0:8k,r4k:4k", file_size="1M")
    r = daxsim.run("nvram", m, w, kernel="6.1")
    assert r.machine.memmap == "pmem" and r.metrics["memmap_dram_bytes"] == 0
    assert r.metrics["memmap_pmem_bytes"] == pytest.approx(400 * 2**30 / 64, rel=1e-3)
    # every refcount change writes the struct page's line, and so does the read's dirtying
    assert r.metrics["refcount_ops"] == 10 and r.metrics["pages_dirtied"] == 1
    assert r.metrics["memmap_line_writes"] == r.metrics["refcount_ops"] + r.metrics["pages_dirtied"] == 11
    assert r.metrics["memmap_line_max_writes"] == 7  # page 1: referenced by all three I/Os, and dirtied
    assert r.modelled.breakdown["gup"] == pytest.approx(5 / 3 * 118.0)


def test_huge_mapping_needs_whole_huge_pages():
    with pytest.raises(ValueError, match="^file_size: 3 MiB is not a whole number of 2 MiB pages"):
        daxsim.run("huge", daxsim.Machine("64M", "64M"), daxsim.Workload(ios=4, file_size="3M"))


@pytest.mark.parametrize("option", ["1a", "2", "3", "huge", "nvram"])
def test_batched_loop_equals_one_io_at_a_time(option, monkeypatch):
    """These options' loops take a full queue of plain I/Os as one batch (daxsim/paths/loop.py);
    the same loop with batches off takes them one at a time. Same counters (peaks too), same bytes."""
    from daxsim.paths import registry
    from daxsim.study.stages import emulation

    m = daxsim.Machine("1G", "64M", align="2M")
    w = daxsim.Workload(
        ios=3000,
        io_size="12K",
        queue_depth=7,
        file_size="64M",
        truncate_rate=0.01,
        store_fraction=0.01,
        fsync_every=50,
        seed=5,
    )
    assert registry.design(option).module.BATCH
    assert registry.event_loop(option, batch=False) is not registry.event_loop(option)
    batched, one_by_one = {}, {}
    rb = daxsim.run(option, m, w, capture=batched)
    monkeypatch.setattr(emulation, "event_loop", lambda o, **kw: registry.event_loop(o, batch=False, **kw))
    r1 = daxsim.run(option, m, w, capture=one_by_one)
    assert rb.metrics == r1.metrics
    assert rb.metrics["truncates"] > 0 and rb.metrics["stores"] > 0 and rb.metrics["ios_completed"] > 2900
    assert batched == one_by_one


@pytest.mark.parametrize("option", ["1a", "1b", "2", "3", "huge", "nvram"])
def test_queued_dmas_equal_each_at_once(option, monkeypatch):
    """In a run of reads and writes the device queues its DMAs and runs them back to back
    (paths.common.post_dma); with room for one, each runs as its I/O completes. Same
    counters, same bytes, in pieces too (the queue is run before each piece returns)."""
    from daxsim.study import pieces
    from daxsim.study.stages import emulation
    from daxsim.study.stages.verification import expect

    m = daxsim.Machine("1G", "64M", align="2M")
    # 200 MiB of I/O: four pieces (pieces.PIECE_BYTES)
    w = daxsim.Workload(ios=12800, io_size="16K", queue_depth=3, file_size="64M", read_fraction=0.5, seed=9)
    plan = emulation.prepare(option, m, w)
    assert emulation.dma_room(option, plan.events[0]) == emulation.DMA_QUEUE > 1
    queued, at_once = {}, {}
    rq = daxsim.run(option, m, w, capture=queued)
    monkeypatch.setattr(emulation, "dma_room", lambda option, op: 1)
    r1 = daxsim.run(option, m, w, capture=at_once)
    assert rq.metrics == r1.metrics and rq.metrics["corrupted_bytes"] == 0
    assert rq.metrics["ios_completed"] == 12800 and len(pieces.stops(*plan.events[::2])) == 4
    assert queued == at_once
    # a page checked between pieces already holds what its DMAs moved
    monkeypatch.undo()
    emu = emulation.emulate(plan, expect(plan))
    assert len(emu.differ) == 3 and not any(len(pm) or len(dev) for pm, dev in emu.differ)


def test_dma_queue_only_where_nothing_else_moves_bytes():
    """Transfers wait in the queue only in a run of reads and writes, and never option 0's
    (CPU copies through its bounce pages); a truncate, a store or a munmap in the run means
    each is done as its I/O completes."""
    from daxsim.study.stages.emulation import DMA_QUEUE, dma_room

    for ops, room in (("w0:4k,r8k:8k", DMA_QUEUE), ("w0:4k,t0:4k,r8k:8k", 1), ("w0:4k,s64:8", 1), ("w0:4k,u0:4k", 1)):
        op = daxsim.Workload(ops=ops, file_size="1M").generate()[0]
        assert dma_room("1a", op) == room, ops
        assert dma_room("0", op) == 1


def test_dma_queue_runs_transfers_in_the_order_posted():
    """paths.common.post_dma: a transfer waits until the queue is full (or run_dma runs it),
    then the queue runs in order, so a later transfer to the same bytes wins."""
    from numba import njit
    from daxsim.paths.common import dma_queue, post_dma, run_dma, store_fence

    @njit
    def post(dq, to_device, device, dev_off, pmem, pmem_off, n):
        post_dma(dq, to_device, device, dev_off, pmem, pmem_off, n)
        store_fence()

    @njit
    def run(dq, device, pmem):
        run_dma(dq, device, pmem)
        store_fence()

    pmem = np.arange(8192, dtype=np.int64).astype(np.uint8)
    device = np.zeros(8192, np.uint8)
    dq = dma_queue(3)
    post(dq, True, device, 0, pmem, 4096, 4096)  # pmem[4096:] to the device's first block
    post(dq, False, device, 0, pmem, 0, 4096)  # that block back to pmem's first: after the first
    assert dq[0] == 2 and not device.any()  # both wait
    run(dq, device, pmem)
    assert dq[0] == 0 and np.array_equal(device[:4096], pmem[4096:]) and np.array_equal(pmem[:4096], pmem[4096:])
    pmem[:] = 7
    for _ in range(2):
        post(dq, True, device, 100, pmem, 0, 300)
    assert dq[0] == 2 and device[100] != 7
    post(dq, True, device, 4000, pmem, 0, 50)  # the third fills the queue: it runs
    assert dq[0] == 0 and (device[100:400] == 7).all() and (device[4000:4050] == 7).all()


@functools.cache
def _fenced_dma():
    """paths.common.dma followed by its fence, callable from Python."""
    from numba import njit
    from daxsim.paths.common import dma, store_fence

    @njit
    def fenced(to_device, device, dev_off, pmem, pmem_off, n):
        dma(to_device, device, dev_off, pmem, pmem_off, n)
        store_fence()

    return fenced


@settings(max_examples=300, deadline=None)
@given(
    src_base=st.integers(0, 63),
    dst_base=st.integers(0, 63),
    src_off=st.integers(0, 700),
    dst_off=st.integers(0, 700),
    n=st.integers(0, 2000),
    to_device=st.booleans(),
)
def test_dma_copies_exactly_the_bytes_asked(src_base, dst_base, src_off, dst_off, n, to_device):
    """paths.common.dma streams whole aligned lines and memcpys the head and tail: at any
    alignment of either array and any length, it copies those n bytes and touches no other."""
    dma = _fenced_dma()
    rng = np.random.default_rng(n)
    pmem = rng.integers(0, 256, 4096, dtype=np.uint8)[src_base:]
    device = rng.integers(0, 256, 4096, dtype=np.uint8)[dst_base:]
    want_pmem, want_device = pmem.copy(), device.copy()
    if to_device:
        want_device[dst_off : dst_off + n] = pmem[src_off : src_off + n]
    else:
        want_pmem[src_off : src_off + n] = device[dst_off : dst_off + n]
    dma(to_device, device, dst_off, pmem, src_off, n)
    assert np.array_equal(pmem, want_pmem) and np.array_equal(device, want_device)
