"""The answers chapter's tables (daxsim.book.answers) hold what the chapter says of them."""

import pathlib
import re

from daxsim.book import answers

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_one_b_against_one_a_feasibility_dram_and_contention():
    t = answers.one_b_against_one_a(
        pmem_sizes=("400G", "6T"), queue_depths=(1,), kernels=("6.15",), cpus=(1, 16), ios=64, draws=50
    )
    at = t.set_index(["pmem", "cpus", "option"])
    assert not at.loc[("6 TiB", 1, "1a"), "feasible"] and at.loc[("6 TiB", 1, "1b"), "feasible"]
    # 1a holds the whole memmap (64 bytes per 4 KiB page), 1b a pool bounded by the queue
    memmap = 400 * 2**30 // 4096 * 64
    assert memmap <= at.loc[("400 GiB", 1, "1a"), "dram_held_bytes"] < memmap + 2**16
    assert at.loc[("400 GiB", 1, "1b"), "dram_held_bytes"] < 2**20
    # the shared pfn table pays cache-line transfers with 16 submitting CPUs, not with one
    assert at.loc[("400 GiB", 16, "1b"), "ns_median"] > at.loc[("400 GiB", 1, "1b"), "ns_median"]
    assert at.loc[("400 GiB", 16, "1a"), "ns_median"] == at.loc[("400 GiB", 1, "1a"), "ns_median"]
    for (_pm, _n), g in t.groupby(["pmem", "cpus"]):
        assert abs(g["wins"].sum() - 1.0) < 1e-9


def test_which_option_when_links_chapters_that_exist():
    t = answers.which_option_when(
        machines=(("1:96", "6T", "64G"),), workloads=("rand-4k",), kernels=("6.15",), ios=32, draws=50
    )
    assert len(t) == 1
    row = t.iloc[0]
    assert (ROOT / "notebooks" / f"{row['chapter']}.ipynb").exists()
    assert row["winner"] != "1a"  # 1a's memmap (96 GiB) does not fit 64 GiB of DRAM
    assert row["answer"].startswith("a tie") == bool(row["tie"])


def test_machines_cite_sources_in_the_bibliography():
    bib = "".join(p.read_text() for p in (ROOT / "book").glob("*.bib"))
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    for label, _pm, _dr, _hw, _what, cites in answers.MACHINES:
        assert set(cites) <= keys, (label, set(cites) - keys)
    t = answers.machines_today(ios=16, draws=20)
    assert set(t["machine"]) == {m[0] for m in answers.MACHINES}
    six = t[t["machine"] == "6 TiB beside 64 GiB"].set_index("option")
    assert not six.loc["1a", "feasible"]


def test_crossover_is_where_the_device_first_bounds_the_queue():
    t = answers.crossover(options=["0", "3"], io_sizes=(4096, 65536, 1 << 20), ios=16)
    three = t[t.option == "3"].set_index("io_size")
    assert three.loc[4096, "bound"] == "cpu" and three.loc[1 << 20, "bound"] == "device"
    assert (three["crossover"] == three.index[three["bound"] == "device"].min()).all()
    # past the crossover the device's time per I/O is above the CPU's (one CPU)
    assert (three.loc[three["bound"] == "device", "device_ns"] > three.loc[three["bound"] == "device", "cpu_ns"]).all()
    zero = t[t.option == "0"]
    assert (zero["bound"] == "cpu").all() and zero["crossover"].isna().all()  # the copy grows with the I/O


def test_sensitivity_by_machine_names_each_machine_and_its_flips():
    t = answers.sensitivity_by_machine(machines=answers.MACHINES[:1], ios=32, top=3)
    assert len(t) == 3 and set(t["machine"]) == {answers.MACHINES[0][0]}
    order = list(zip(~t["flips"], -t["swing"]))
    assert order == sorted(order)  # flips first, then by swing
    flipped = t[t["flips"]]
    assert (
        (flipped["winner at low"] != flipped["default winner"])
        | (flipped["winner at high"] != flipped["default winner"])
    ).all()
    assert ((t["lead at low"] < 0) == (t["winner at low"] != t["default winner"])).all()


def test_short_answer_names_the_winner_or_the_tie_with_the_share():
    assert answers.short_answer({"winner": "3", "tie": "", "share": 1.0}) == "3 (100%)"
    assert answers.short_answer({"winner": "", "tie": "huge, 3", "share": 0.583}) == "tie: huge, 3 (58%)"
    assert answers.short_answer({"winner": "", "tie": "", "share": 0.0}) == "no safe option"
