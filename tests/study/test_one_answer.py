"""One answer everywhere: the same configuration through every entry point gives the same
numbers (run, compare, the sweep, the explorer's frame, the chapters' grids)."""

import pytest

import daxsim
from daxsim.book import explore, grids
from daxsim.study import sweep as sw

M = daxsim.Machine("400G", "16G")
W = dict(ios=64, io_size=4096, file_size="256M", seed=1, read_fraction=0.5)


@pytest.mark.parametrize("hardware", ["optane-pmem-100", "nvdimm-n", "cxl-expander"])
def test_the_same_point_through_every_entry_point(hardware):
    w = daxsim.Workload(**W)
    direct = {o: daxsim.run(o, M, w, hardware=hardware, data=False) for o in ("0", "1a", "nvram")}
    via_compare = {r.option: r for r in daxsim.compare(["0", "1a", "nvram"], M, w, hardware=hardware, data=False)}
    g = grids.io_grid(
        options=("0", "1a", "nvram"), io_sizes=(4096,), hardware=(hardware,), ios=64, file_size="256M", data=False
    ).set_index("option")
    ex = explore.comparison_frame(
        explore.compare_specs(["0", "1a", "nvram"], M, w, hardware=hardware, data=False)
    ).set_index("option")
    for o, r in direct.items():
        ns, held = r.modelled.per_io_ns, daxsim.row(r)["dram_held_bytes"]
        assert via_compare[o].modelled.per_io_ns == ns
        assert g.loc[o, "per_io_ns"] == ns and g.loc[o, "dram_held_bytes"] == held
        assert ex.loc[o, "per_io_ns"] == ns and ex.loc[o, "dram_held_bytes"] == held
    # the sweep re-costs one emulation per hardware profile: the same numbers
    rows = sw.sweep(
        {
            "option": ["0", "1a", "nvram"],
            "pmem": ["400G"],
            "dram": ["16G"],
            "hardware": [hardware],
            "workload": ["rand-4k"],
            "ios": [64],
            "data": [False],
            "seed": [1],
        },
        jobs=1,
    ).set_index("option")
    pre = daxsim.Workload.from_preset("rand-4k", ios=64, seed=1)
    for o in direct:
        r = daxsim.run(o, M, pre, hardware=hardware, data=False)
        assert rows.loc[o, "per_io_ns"] == r.modelled.per_io_ns and rows.loc[o, "iops"] == r.modelled.iops


def test_nvram_is_priced_by_its_medium_in_every_entry_point():
    """The comparison used to price nvram at Optane's figures on every medium while its own
    chapter scaled them: now the one cost function decides, and the ratio grid agrees."""
    w = daxsim.Workload(**W)
    per_medium = {
        hw: daxsim.run("nvram", M, w, hardware=hw, data=False).modelled.per_io_ns
        for hw in ("optane-pmem-100", "nvdimm-n", "cxl-expander")
    }
    assert per_medium["nvdimm-n"] < per_medium["cxl-expander"] < per_medium["optane-pmem-100"]
    rg = grids.ratio_grid(ratios=(25,), dram_sizes=("16G",), hardware=("nvdimm-n",), ios=64, file_size="256M")
    at = rg[rg["placement"] == "pmem"].iloc[0]
    r = daxsim.run(
        "nvram",
        daxsim.Machine("400G", "16G", memmap="pmem"),
        daxsim.Workload(ios=64, file_size="256M", seed=1),
        hardware="nvdimm-n",
        data=False,
    )
    assert at["per_io_ns"] == r.modelled.per_io_ns
