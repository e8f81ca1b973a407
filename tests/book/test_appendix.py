"""The appendices: the saved benchmark results, the figure tables, the status page."""

from __future__ import annotations

import copy
import importlib.util
import json
import re

import daxsim
import pytest
from daxsim.book import benchresults, sources
from test_book import PAGES  # the same folder (pytest puts it on the path)

# --------------------------------------------------------------------- bench results


def _doc(**overrides):
    """A small valid results document: one check met, one not, one without a target,
    one not measured."""

    def check(group, label, ratio, target, baseline=1.0):
        return {
            "group": group,
            "label": label,
            "name": f"{group}: {label}",
            "value": 2.0,
            "baseline": baseline,
            "ratio": ratio,
            "target": target,
            "unit": "GB/s",
            "pass": None if target is None else ratio >= target,
            "note": "n",
        }

    doc = {
        "machine": {k: "x" for k in benchresults.MACHINE_FIELDS}
        | {"cores": 2, "memory_bytes": 2**34, "git_commit": "a" * 40, "git_dirty": False},
        "date": "2026-01-02",
        "started": "2026-01-02T03:04:05+0000",
        "duration_s": 60.0,
        "quick": False,
        "reps": 3,
        "loadavg_1min": {"before": 0.5, "after": 1.5},
        "results": [
            check("g1", "a", 1.2, 1.0),
            check("g1", "b", 0.5, 0.8),
            check("g2", "c", 1.0, None, None),
            {"group": "g3", "label": "d", "name": "skipped", "pass": None, "note": "not measured: why"},
        ],
    }
    doc.update(overrides)
    return doc


def test_saved_results_parse_and_have_what_the_appendix_reads():
    doc = benchresults.load()
    m = doc["machine"]
    assert re.fullmatch(r"[0-9a-f]{40}", m["git_commit"]), m["git_commit"]
    assert m["cores"] >= 1 and m["memory_bytes"] > 2**30 and m["cpu"]
    table = benchresults.checks_table(doc)
    assert (
        len(table) == len(doc["results"]) and table.status.isin(["met", "not met", "no target", "not measured"]).all()
    )
    assert (table.status.isin(["met", "not met"])).sum() >= 1
    groups = benchresults.ratio_frame(doc).group.unique()
    assert len(groups) >= 2, groups  # the chart's dropdown has something to choose
    assert "GiB" in benchresults.machine_table(doc).loc["memory", ""]


def test_tables_from_a_known_document():
    doc = benchresults.validate(_doc())
    table = benchresults.checks_table(doc)
    assert list(table.status) == ["met", "not met", "no target", "not measured"]
    assert table.ratio.isna().tolist() == [False, False, True, True]  # no baseline: no ratio shown
    frame = benchresults.ratio_frame(doc)
    assert sorted(zip(frame.label, frame.series)) == [
        ("a", "ratio (met)"),
        ("a", "target"),
        ("b", "ratio (not met)"),
        ("b", "target"),
    ]
    assert frame.loc[frame.series == "target", "ratio"].tolist() == [1.0, 0.8]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["machine"].pop("cpu"), "machine field 'cpu'"),
        (lambda d: d.pop("started"), "field 'started'"),
        (lambda d: d.update(results=[]), "'results'"),
        (lambda d: d["results"][1].update(**{"pass": True}), "pass"),
        (lambda d: d["results"][0].update(ratio=float("nan")), "ratio"),
        (lambda d: d["results"][1].update(label="a"), "unique"),
        (lambda d: d["results"][0].pop("target"), "field 'target'"),
    ],
)
def test_malformed_results_are_refused_in_one_line(mutate, expected):
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(ValueError, match=re.escape(expected)) as e:
        benchresults.validate(doc)
    assert "\n" not in str(e.value) and str(e.value).startswith("bench results:")


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ValueError, match="make bench"):
        benchresults.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        benchresults.load(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_doc()))
    assert benchresults.load(good)["reps"] == 3


def _bench_run_module(repo_root):
    spec = importlib.util.spec_from_file_location("bench_run", repo_root / "bench" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_records_the_machine_and_judges_checks(repo_root):
    run = _bench_run_module(repo_root)
    info = run.machine_info()
    assert set(benchresults.MACHINE_FIELDS) <= set(info)
    assert re.fullmatch(r"[0-9a-f]{40}", info["git_commit"]) and info["numba"] and info["memory_bytes"] > 0
    assert isinstance(info["git_dirty"], bool)
    ok = run.check("g", "l", "name", 2.0, 1.0, 2.0, 1.5, "u")
    short = run.check("g", "l", "name", 1.0, 1.0, 1.0, 1.5, "u")
    free = run.check("g", "l", "name", 1.0, None, 1.0, None, "u")
    assert (ok["pass"], short["pass"], free["pass"]) == (True, False, None)
    assert set(benchresults.CHECK_FIELDS) <= set(ok)


# --------------------------------------------------------------------- figure tables


def test_every_figure_is_in_the_table_with_a_known_source():
    figs = sources.figures_table()
    n = sum(len(p.figures()) for p in daxsim.HARDWARE.values()) + len(daxsim.CostModel().figures())
    assert len(figs) == n
    keys = sources.bib_keys()
    unknown = set(figs.source) - keys - {sources.PROJECT_SOURCE}
    assert not unknown, f"sources missing from book/references.bib: {unknown}"
    assert (figs.loc[figs.source == sources.PROJECT_SOURCE, "kind"] == sources.KIND_ASSUMPTION).all()


def test_markdown_table_cites_and_labels_assumptions():
    optane = daxsim.HARDWARE["optane-pmem-100"].replace(read_bw_1t=1.0)
    figs = sources.figures_table({"optane-pmem-100": optane}, daxsim.CostModel())
    text = sources.markdown_table(figs)
    lines = {line.split("|")[1].strip(): line for line in text.splitlines()[2:]}
    assert "{cite}`nvsl2020optanestudy`" in lines["`read_latency_ns`"]
    assert "assumption" not in lines["`read_latency_ns`"]
    assert "(**assumption**)" in lines["`read_bw_1t`"] and "changed by the reader" in lines["`read_bw_1t`"]
    assert "daxsim (none published)" in lines["`io_fixed_ns`"] and "(**assumption**)" in lines["`io_fixed_ns`"]
    assert sources.markdown_table(figs.assign(note="a | b")).count("a \\| b") == len(figs)


# ----------------------------------------------------------------------- status page


@pytest.mark.book
def test_status_page_lists_every_notebook(book_html):
    html = (book_html / "book" / "status.html").read_text(encoding="utf-8")
    notebooks = [p[: -len(".html")] for p in PAGES if p.startswith("notebooks/")]
    missing = [nb for nb in notebooks if f"{nb}.html" not in html]
    assert not missing, f"execution table lacks {missing}"
    assert "nbval" in html


@pytest.mark.book
def test_hardware_page_cites_every_source_and_labels_every_assumption(book_html):
    html = (book_html / "notebooks" / "hardware-profiles.html").read_text(encoding="utf-8")
    assert "{cite}" not in html, "a citation was not rendered"
    figs = sources.figures_table()
    assert html.count("(<strong>assumption</strong>)") == (figs.kind == sources.KIND_ASSUMPTION).sum()
    assert html.count('href="../book/references.html#') >= (figs.source != sources.PROJECT_SOURCE).sum()


@pytest.mark.book
def test_benchmarks_page_says_when_where_and_at_which_commit(book_html):
    # Sphinx's smartquotes turn "--" into an en dash and quotes into curly ones
    html = (book_html / "notebooks" / "benchmarks.html").read_text(encoding="utf-8")
    html = html.replace("\u2013", "--").replace("\u2019", "'")
    doc = benchresults.load()
    for shown in (
        doc["machine"]["git_commit"][:12],
        doc["started"][:10],
        doc["machine"]["cpu"],
        doc["machine"]["kernel"],
    ):
        assert shown in html, shown
    rows = set()  # the checks table: a row per check, named by its group and label
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
        if len(cells) >= 2:
            rows.add(tuple(cells[:2]))
    for r in doc["results"]:
        assert (r["group"], r["label"]) in rows, (r["group"], r["label"])
