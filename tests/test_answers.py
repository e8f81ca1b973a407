"""The answers chapter's tables (daxsim.book.answers) hold what the chapter says of them."""

import pathlib
import re

from daxsim.book import answers

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_one_b_against_one_a_feasibility_dram_and_contention():
    t = answers.one_b_against_one_a(pmem_sizes=("400G", "6T"), queue_depths=(1,), kernels=("6.15",),
                                    cpus=(1, 16), ios=64, draws=50)
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
    t = answers.which_option_when(machines=(("1:96", "6T", "64G"),), workloads=("rand-4k",), kernels=("6.15",),
                                  ios=32, draws=50)
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
