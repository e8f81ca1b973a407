"""The cost model: counters times cited unit costs; every figure has a source."""

import pytest

import daxsim
from daxsim.model.hardware import HARDWARE, CostModel


def test_every_figure_has_a_source_and_unit():
    for profile in HARDWARE.values():
        for name, fig in profile.figures().items():
            assert fig.source and fig.unit, (profile.name, name)
    for name, fig in CostModel().figures().items():
        assert fig.source and fig.unit, name


def test_changing_a_cost_changes_the_model_and_labels_it():
    m = daxsim.Machine("8G", "4G")
    w = daxsim.Workload(ios=50, file_size="8M", io_size="64k")
    base = daxsim.run("1a", m, w, kernel="6.1")  # gup_ns_dram is get_user_pages_fast: a FOLL_GET kernel
    cost = CostModel().replace(gup_ns_dram=100)
    assert cost.gup_ns_dram.assumption and cost.gup_ns_dram.source == "reader"
    slow = daxsim.run("1a", m, w, cost=cost, kernel="6.1")
    assert slow.modelled.breakdown["gup"] == pytest.approx(16 * 100)
    assert slow.modelled.per_io_ns - base.modelled.per_io_ns == pytest.approx(16 * (100 - 14.1))
    with pytest.raises(ValueError, match="^cost: unknown"):
        CostModel().replace(warp_ns=1)
    with pytest.raises(ValueError, match="^gup_ns_dram"):
        CostModel().replace(gup_ns_dram=-1)


def test_breakdown_sums_to_total():
    r = daxsim.run("0", daxsim.Machine("8G", "4G"), daxsim.Workload(ios=50, file_size="8M"))
    assert sum(r.modelled.breakdown.values()) == pytest.approx(r.modelled.per_io_ns)


def test_memmap_on_optane_inits_slower_than_in_dram():
    w = daxsim.Workload(ios=10, file_size="8M")
    dram = daxsim.run("1a", daxsim.Machine("64G", "16G"), w).modelled.memmap_init_s
    pmem = daxsim.run("1a", daxsim.Machine("64G", "16G", memmap="pmem"), w).modelled.memmap_init_s
    assert pmem > dram > 0
