"""Kernel eras: every era-dependent mechanism has a test that fails if the era is ignored,
and the oracle agrees with the numba paths in every era."""

import numpy as np
import pytest

import daxsim
from daxsim.model.counters import COUNTERS
from daxsim.model.eras import DEFAULT_ERA, ERAS, MECHANISMS, era, era_table
from daxsim.oracle.reference import run_reference

M = daxsim.Machine("1G", "1G")


def test_every_mechanism_of_every_era_has_a_source_with_a_status():
    table = era_table()
    assert len(table) == len(MECHANISMS) * len(ERAS)
    assert table["source"].str.len().gt(20).all()
    assert table["status"].str.match(r"^(confirmed|inferred|unconfirmed|proposed)").all(), set(table["status"])
    assert {e.name for e in ERAS.values() if e.proposed} == {"memdesc-32", "memdesc-8"}
    assert DEFAULT_ERA == "6.15" and not era().proposed
    with pytest.raises(ValueError, match=r"^kernel: '5\.0' is not a modelled kernel; accepted: 4\.0, 4\.19"):
        era("5.0")


def test_bio_vecs_merge_contiguous_pages_from_5_1():
    w = daxsim.Workload(ops="w0:64k,r64k:64k", file_size="1M")
    per_page = daxsim.run("1a", M, w, kernel="4.19").metrics["descriptor_entries"]
    merged = daxsim.run("1a", M, w, kernel="6.1").metrics["descriptor_entries"]
    assert (per_page, merged) == (32, 2)
    # option 2's pfn vector merges too; 1b's transient pages never do
    assert daxsim.run("2", M, w, kernel="6.1").metrics["descriptor_entries"] == 2
    assert daxsim.run("1b", M, w, kernel="6.1").metrics["descriptor_entries"] == 32


def test_pinning_and_idle_refcount_by_era():
    """A page under I/O: +1 with FOLL_GET, +1024 with FOLL_PIN; idle is 1 before 6.15, 0 after.
    Read off the struct page of a run stopped with the I/O in flight."""
    from daxsim.study import stages

    w = daxsim.Workload(ops="r0:4k", file_size="1M")
    seen = {}
    for k in ("6.1", "6.12", "6.15"):
        plan = stages.prepare("1a", M, w, kernel=k)
        b = stages.boot(plan)
        c = daxsim.model.counters.new_counters()
        _, st = stages.run_events(b, plan.spec, *plan.events, 1, False, c, drain=False, kernel=k)
        pfn = int(b.file.pfn_of(np.array([0]))[0])
        seen[k] = int(b.memmap[pfn - b.memmap_base_pfn]["refcount"])
    assert seen == {"6.1": 1 + 1, "6.12": 1 + 1024, "6.15": 0 + 1024}
    assert [ERAS[k].idle_refcount for k in ("4.19", "6.1", "6.15")] == [1, 1, 0]


def test_truncate_unmaps_the_whole_file_from_4_18_and_the_refaults_cost():
    w = daxsim.Workload(ops="w0:8k,w512k:8k,t0:4k,w512k:8k", file_size="1M", queue_depth=1)
    old = daxsim.run("1a", M, w, kernel="4.0").metrics
    new = daxsim.run("1a", M, w, kernel="6.1")
    m = new.metrics
    assert old["ptes_unmapped"] == 0 and m["ptes_unmapped"] == 4  # every PTE of the file, not the punched 4 KiB
    assert m["page_faults"] - m["setup_faults"] == 2  # the last write refaults both its pages
    assert m["truncate_waits"] == 1  # and the truncate waited for the in-flight I/O elsewhere in the file
    assert new.modelled.breakdown["fault"] == pytest.approx(2 * 1000.0 / 3)
    assert old["truncate_waits"] == 0  # 4.0: no dax_layout_busy_page at all


def test_munmap_then_truncate_corrupts_under_1a_from_4_18_to_6_14_only():
    """The buffer munmapped while its read is in flight: 4.18-6.14's dax_layout_busy_page
    returns early (nothing maps the file), truncate frees the blocks, another file takes
    them and the DMA lands in it. 6.15 waits."""
    w = daxsim.Workload(ops="r0:64k,u0:1M,t0:64k", file_size="1M", queue_depth=2)
    for k, hurt in (("4.19", True), ("6.1", True), ("6.12", True), ("6.15", False), ("memdesc-8", False)):
        m = daxsim.run("1a", M, w, kernel=k).metrics
        assert (m["corrupted_victim_bytes"] > 60000) == hurt, k
        assert m["truncate_waits"] == (0 if hurt else 1), k
    # mapped (no munmap), 6.1 waits and nothing is lost
    safe = daxsim.run("1a", M, daxsim.Workload(ops="r0:64k,t0:64k", file_size="1M", queue_depth=2), kernel="6.1")
    assert safe.metrics["corrupted_bytes"] == 0 and safe.metrics["truncate_waits"] == 1
    with pytest.raises(ValueError, match="^ops: event 3 uses the buffer at 0 B, which an earlier munmap"):
        daxsim.Workload(ops="r0:64k,u0:64k,w0:4k", file_size="1M")


def test_huge_takes_a_reference_per_page_until_6_15_then_per_folio():
    w = daxsim.Workload(ops="r0:64k", file_size="4M")
    m = daxsim.Machine("1G", "1G")
    before = daxsim.run("huge", m, w, kernel="6.12").metrics
    after = daxsim.run("huge", m, w, kernel="6.15").metrics
    assert (before["refcount_ops"], before["compound_refs"], before["pages_dirtied"]) == (32, 0, 16)
    assert (after["refcount_ops"], after["compound_refs"], after["pages_dirtied"]) == (2, 1, 1)
    # the cost follows: per-4 KiB pins on base pages, then the one-grab figures
    r12 = daxsim.run("huge", m, w, kernel="6.12").modelled.breakdown["gup"]
    r15 = daxsim.run("huge", m, w, kernel="6.15").modelled.breakdown["gup"]
    assert r12 == pytest.approx(16 * 20.7) and r15 == pytest.approx(16 * 1.48)


def test_proposed_memdesc_eras_shrink_the_memmap_and_1a_allocates_descriptors():
    m = daxsim.Machine("6T", "64G")
    w = daxsim.Workload(ops="w0:16k,r64k:8k", file_size="1M")
    base, m32, m8 = (daxsim.run("1a", m, w, kernel=k) for k in ("6.15", "memdesc-32", "memdesc-8"))
    assert not base.feasible and "96 GiB" in base.reason and "ENOMEM" in base.reason
    assert m32.feasible and m32.metrics["memmap_dram_bytes"] == 6 * 2**40 // 4096 * 32  # 48 GiB
    assert m8.feasible and m8.metrics["memmap_dram_bytes"] == 6 * 2**40 // 4096 * 8  # 12 GiB
    assert m8.metrics["allocations"] == m8.metrics["frees"] == 6 and m32.metrics["allocations"] == 0
    assert m8.metrics["transient_dram_peak_bytes"] >= 4 * 96  # the descriptors in use are DRAM held


def test_memmap_variants_exist_only_where_the_kernel_has_them():
    w = daxsim.Workload(ios=4, file_size="64M")
    with pytest.raises(ValueError, match="^memmap_variant: 'hvo' does not apply with the memmap on pmem"):
        daxsim.run("huge", daxsim.Machine("8G", "4G", memmap="pmem"), w, memmap_variant="hvo")
    with pytest.raises(ValueError, match=r"^memmap_variant: 'devdax-dedup' does not exist in Linux 4\.19"):
        daxsim.run("huge", daxsim.Machine("8G", "4G"), w, memmap_variant="devdax-dedup", kernel="4.19")
    assert daxsim.run("huge", daxsim.Machine("8G", "4G"), w, memmap_variant="devdax-dedup").feasible


@pytest.mark.parametrize("kernel", list(ERAS))
@pytest.mark.parametrize("option", ["1a", "huge", "1b", "2", "nvram"])
def test_the_oracle_agrees_in_every_era(option, kernel):
    w = daxsim.Workload(
        ios=60,
        io_size="12K",
        queue_depth=5,
        file_size="4M",
        truncate_rate=0.2,
        store_fraction=0.2,
        fsync_every=7,
        seed=3,
    )
    m = daxsim.Machine("64M", "64M")
    cap = {}
    r = daxsim.run(option, m, w, capture=cap, kernel=kernel)
    ref = run_reference(option, m, w, kernel=kernel)
    assert {n: r.metrics[n] for n in COUNTERS} == ref.counters
    assert cap["pmem_pages"] == ref.pmem_pages and cap["dev_pages"] == ref.dev_pages
