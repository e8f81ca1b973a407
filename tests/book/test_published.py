"""daxsim.book.published: the kernel's published figures are sourced and meet daxsim's
within their tolerances; the lab's measurements beside the model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from daxsim.book import published

REPO_ROOT = Path(__file__).resolve().parents[2]
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", (REPO_ROOT / "book" / "references.bib").read_text(), re.MULTILINE))


def test_every_source_is_in_references_bib():
    missing = sorted({row[4] for row in published.PUBLISHED} - BIB_KEYS)
    assert not missing, f"published figures' sources not in book/references.bib: {missing}"


@pytest.fixture(scope="module")
def numbers():
    return published.published_vs_daxsim()


def test_every_published_figure_with_a_tolerance_is_met(numbers):
    checked = numbers[numbers["tolerance"].notna()]
    assert len(checked) == len(published.PUBLISHED)
    off = checked[~checked["agrees"].astype(bool)]
    assert off.empty, off[["quantity", "kernel", "daxsim", "ratio"]].to_string()
    exact = checked[checked["tolerance"] == 0]
    assert (exact["daxsim_value"] == exact["kernel_value"]).all()


def test_the_verdict_follows_the_tolerance():
    row = published._row("t", "q", 100.0, 103.0, "bytes", "k", "s", 0.02, "h")
    assert row["agrees"] is False and abs(row["ratio"] - 1.03) < 1e-12
    assert published._row("t", "q", 100.0, 101.0, "bytes", "k", "s", 0.02, "h")["agrees"] is True
    assert published._row("t", "q", 100.0, 300.0, "s", "k", "s", None, "h")["agrees"] is None


def test_memmap_init_rows_are_shown_for_scale_not_judged(numbers):
    init = numbers[numbers["topic"] == "memmap init"]
    assert len(init) >= 5 and init["agrees"].isna().all()
    # daxsim's modelled rate lies inside the published range
    assert init["ratio"].min() < 1 < init["ratio"].max()


def test_lab_rows():
    lab = published.lab_vs_daxsim()
    fsdax_mem = lab[lab["namespace"].str.startswith("fsdax --map=mem")]
    assert len(fsdax_mem) >= 2
    assert ((fsdax_mem["DRAM measured"] / fsdax_mem["DRAM daxsim"] - 1).abs() < 0.02).all()


def test_side_by_side_words_the_verdict(numbers):
    table = published.side_by_side(numbers)
    assert len(table) == len(numbers)
    assert set(table["agree"]) == {"yes", "—"}
    assert set(table.loc[numbers["tolerance"].isna(), "tolerance"]) == {"shown for scale"}
    assert set(table.loc[numbers["tolerance"] == 0, "tolerance"]) == {"exact"}


def test_every_topic_has_a_tolerance():
    assert {row[0] for row in published.PUBLISHED} == set(published.TOPIC_TOLERANCE)
    assert set(published.TOLERANCE) <= {row[1] for row in published.PUBLISHED}


def test_lab_rows_read_a_results_folder(tmp_path):
    with pytest.raises(ValueError, match=r"^results: '.*' holds no ns_cost results; accepted: a folder"):
        published.lab_vs_daxsim(tmp_path)  # no results: no table, never an invented one
