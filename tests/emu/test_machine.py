"""The machine: namespace layout as nd_pfn_init() does it, feasibility, sparse memory."""

import pytest

from daxsim import Machine, namespace_layout
from daxsim.emu.buddy import alloc_pages, buddy_free_pages, buddy_init, free_pages
from daxsim.emu.memory import STRUCT_PAGE, host_rss_bytes, sparse_array, struct_pages
from daxsim.emu.units import GiB, KiB, MiB, PAGE_SIZE, TiB


def test_struct_page_is_64_bytes():
    assert STRUCT_PAGE.itemsize == 64


def test_map_mem_layout_pads_the_info_block_to_the_alignment():
    ns = namespace_layout(16 * GiB, "fsdax", "mem", 2 * MiB)
    assert ns.dataoff == 2 * MiB
    assert ns.npfns == (16 * GiB - 2 * MiB) // PAGE_SIZE
    assert ns.memmap_dram_bytes == 16 * GiB // 64 and ns.memmap_pmem_bytes == 0
    assert ns.capacity_lost == 2 * MiB


def test_map_dev_layout_reserves_the_memmap_on_the_namespace():
    size = 400 * GiB
    ns = namespace_layout(size, "fsdax", "dev", 2 * MiB)
    page_map = 64 * ((size - 8 * KiB) // PAGE_SIZE)
    assert ns.memmap_pmem_bytes == page_map and ns.memmap_dram_bytes == 0
    assert ns.dataoff % (2 * MiB) == 0 and ns.dataoff >= 8 * KiB + page_map
    assert ns.dataoff - (8 * KiB + page_map) < 2 * MiB
    assert abs(ns.capacity_lost / size - 1 / 64) < 1e-4  # 1.5625 % of the namespace


def test_1g_alignment_loses_more_to_padding():
    assert namespace_layout(64 * GiB, "fsdax", "mem", GiB).dataoff == GiB


def test_raw_namespace_has_no_memmap():
    ns = namespace_layout(8 * GiB, "raw")
    assert ns.memmap_dram_bytes == ns.memmap_pmem_bytes == ns.capacity_lost == 0


def test_400g_on_small_dram_is_infeasible_with_a_reason():
    m = Machine("400G", "4G")
    ok, reason = m.feasibility(m.layout(struct_pages=True))
    assert not ok and "6.25 GiB" in reason and "4 GiB" in reason
    ok, _ = m.replace(memmap="pmem").feasibility(m.replace(memmap="pmem").layout(True))
    assert ok  # --map=dev needs no DRAM


@pytest.mark.parametrize(
    "kw, param",
    [
        ({"pmem": "0", "dram": "4G"}, "pmem"),
        ({"pmem": "4G", "dram": "1M"}, "dram"),
        ({"pmem": "3M", "dram": "4G"}, "pmem"),
        ({"pmem": "4G", "dram": "4G", "memmap": "disk"}, "memmap"),
        ({"pmem": "4G", "dram": "4G", "align": "8K"}, "align"),
        ({"pmem": "100T", "dram": "4G"}, "pmem"),
    ],
)
def test_bad_machines_name_the_parameter(kw, param):
    with pytest.raises(ValueError, match=rf"^{param}"):
        Machine(**kw)


def test_repr_reads_like_the_call():
    assert repr(Machine("400G", "16G")) == "Machine(pmem='400 GiB', dram='16 GiB', memmap='dram')"


def test_sparse_memory_follows_the_bytes_touched():
    before = host_rss_bytes()
    a = sparse_array(6 * TiB)
    a[:: 1 << 30] = 1  # one byte per GiB: 6144 host pages
    assert host_rss_bytes() - before < 256 * MiB
    del a


def test_buddy_allocator_splits_and_merges():
    pages = struct_pages(sparse_array(64 * MiB // PAGE_SIZE * 64))
    st = buddy_init(0, 64 * MiB // PAGE_SIZE)
    total = buddy_free_pages(st)
    got = [alloc_pages(pages, st, 0) for _ in range(100)]
    assert len(set(got)) == 100 and min(got) >= 0
    assert buddy_free_pages(st) == total - 100
    big = alloc_pages(pages, st, 10)
    assert big % 1024 == 0
    for p in got:
        free_pages(pages, st, p, 0)
    free_pages(pages, st, big, 10)
    assert buddy_free_pages(st) == total
    assert all(pages["refcount"][p] == 0 for p in got)


def test_buddy_allocator_runs_dry_cleanly():
    pages = struct_pages(sparse_array(1024 * 64))
    st = buddy_init(0, 1024)
    assert alloc_pages(pages, st, 10) == 0
    assert alloc_pages(pages, st, 0) == -1
