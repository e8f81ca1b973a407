"""The saved output of ``make bench`` (``bench/results/latest.json``), as tables.

``bench/run.py`` times the emulator against baselines measured in the same run (numpy
copying the same bytes, option 1a on the same workload, a fixed limit) and writes one
JSON document: the machine it ran on, when, and one record per check. Every check's
``ratio`` is oriented so that higher is better; a check with a ``target`` is met when
``ratio >= target``, one without is measured and not judged. The benchmark appendix
reads the file at build time through :func:`load`, :func:`checks_table`,
:func:`ratio_frame` and :func:`machine_table`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import altair as alt
import pandas as pd

from daxsim.book import checkout, theme
from daxsim.book.charts import grid_chart

RESULTS_FILE = checkout("bench", "results", "latest.json")

#: what the machine record must say (bench/run.py's ``machine_info()``)
MACHINE_FIELDS = (
    "cpu",
    "cores",
    "memory_bytes",
    "os",
    "kernel",
    "python",
    "numpy",
    "numba",
    "daxsim",
    "git_commit",
    "git_dirty",
)
#: top-level fields of the document
DOC_FIELDS = ("machine", "started", "duration_s", "quick", "reps", "loadavg_1min", "results")
#: fields of a measured check (one that was not skipped)
CHECK_FIELDS = ("group", "label", "name", "value", "baseline", "ratio", "target", "unit", "pass", "note")

STATUS_MET, STATUS_NOT_MET, STATUS_NO_TARGET, STATUS_NOT_MEASURED = "met", "not met", "no target", "not measured"
#: the chart's series and their colours, the same whichever group is shown
SERIES_COLOURS = {
    s: theme.color(s)
    for s in (f"ratio ({STATUS_MET})", f"ratio ({STATUS_NOT_MET})", f"ratio ({STATUS_NO_TARGET})", "target")
}  # the theme's


def _fail(where: str, value, accepted: str):
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise ValueError(f"bench results: {where} is {shown}; expected {accepted}")


def validate(doc) -> dict:
    """Check that ``doc`` has every field the appendix reads; return it.

    Raises ValueError naming the first missing or malformed field.
    """
    if not isinstance(doc, dict):
        _fail("the document", type(doc).__name__, "a JSON object")
    for k in DOC_FIELDS:
        if k not in doc:
            _fail(f"field {k!r}", None, f"one of the fields {', '.join(DOC_FIELDS)}")
    machine = doc["machine"]
    if not isinstance(machine, dict):
        _fail("'machine'", machine, "an object")
    for k in MACHINE_FIELDS:
        if k not in machine:
            _fail(f"machine field {k!r}", None, f"the fields {', '.join(MACHINE_FIELDS)}")
    results = doc["results"]
    if not isinstance(results, list) or not results:
        _fail("'results'", results, "a non-empty list of checks")
    seen = set()
    for i, r in enumerate(results):
        if not isinstance(r, dict):
            _fail(f"results[{i}]", r, "an object")
        measured = "ratio" in r
        for k in CHECK_FIELDS if measured else ("group", "label", "name", "pass", "note"):
            if k not in r:
                _fail(f"results[{i}] ({r.get('name', '?')}) field {k!r}", None, f"the fields {', '.join(CHECK_FIELDS)}")
        key = (r["group"], r["label"])
        if key in seen:
            _fail(f"results[{i}] group and label", key, "a label that is unique within its group")
        seen.add(key)
        if measured:
            if not (isinstance(r["ratio"], (int, float)) and math.isfinite(r["ratio"]) and r["ratio"] > 0):
                _fail(f"results[{i}] ({r['name']}) ratio", r["ratio"], "a positive finite number")
            expected = None if r["target"] is None else r["ratio"] >= r["target"]
            if r["pass"] is not expected:
                _fail(
                    f"results[{i}] ({r['name']}) pass",
                    r["pass"],
                    f"{expected} (ratio {r['ratio']}, target {r['target']})",
                )
    return doc


def load(path: str | Path = RESULTS_FILE) -> dict:
    """Read and validate a results document written by ``make bench``."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"bench results: {str(path)!r} does not exist; run `make bench` to write it") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"bench results: {str(path)!r} is not JSON ({e}); run `make bench` again") from None
    return validate(doc)


def status(check: dict) -> str:
    """``met``, ``not met``, ``no target`` (measured, not judged) or ``not measured``."""
    if "ratio" not in check:
        return STATUS_NOT_MEASURED
    if check["target"] is None:
        return STATUS_NO_TARGET
    return STATUS_MET if check["pass"] else STATUS_NOT_MET


def checks_table(doc: dict) -> pd.DataFrame:
    """One row per check: what was measured, its baseline, ratio, target and status.

    ``ratio`` is left empty for a check without a baseline (its ratio is not a comparison).
    """
    rows = []
    for r in doc["results"]:
        has_baseline = r.get("baseline") is not None
        rows.append(
            {
                "group": r["group"],
                "label": r["label"],
                "check": r["name"],
                "value": r.get("value"),
                "baseline": r.get("baseline"),
                "unit": r.get("unit", ""),
                "ratio": r.get("ratio") if has_baseline else None,
                "target": r.get("target"),
                "status": status(r),
                "note": r["note"],
            }
        )
    return pd.DataFrame(rows)


def ratio_frame(doc: dict) -> pd.DataFrame:
    """Tidy rows for the chart: each compared check's ratio (series named by its status)
    and, beside it, its target. Checks without a baseline are left out."""
    rows = []
    for r in doc["results"]:
        if "ratio" not in r or r.get("baseline") is None:
            continue
        st = status(r)
        common = {"group": r["group"], "label": r["label"], "check": r["name"], "status": st, "note": r["note"]}
        rows.append({**common, "bar": "ratio", "series": f"ratio ({st})", "ratio": r["ratio"]})
        if r["target"] is not None:
            rows.append({**common, "bar": "target", "series": "target", "ratio": r["target"]})
    return pd.DataFrame(rows)


def ratio_chart(frame: pd.DataFrame, group: str | None = None):
    """Bars of :func:`ratio_frame`: each check's ratio beside its target, one group of
    checks at a time (a dropdown), coloured by status with the theme's colours."""
    chart = grid_chart(
        frame,
        x="label",
        y="ratio",
        color="series",
        dropdowns={"group": "group of checks"},
        defaults={"group": group or frame.group.iloc[0]},
        mark="bar",
        title="make bench: ratio against target (higher is better)",
        x_title="check",
        y_title="ratio (emulator against baseline)",
        tooltip=["group", "check", "bar", "series", "ratio", "note"],
    )
    return chart.encode(xOffset=alt.XOffset("bar", type="nominal", sort=["ratio", "target"]))


def machine_table(doc: dict) -> pd.DataFrame:
    """The machine, software and source tree the numbers were measured on."""
    m = doc["machine"]
    commit = m["git_commit"] or "unknown"
    rows = {
        "measured": doc["started"],
        "run time": f"{doc['duration_s']:.0f} s" + (" (--quick)" if doc["quick"] else ""),
        "CPU": f"{m['cpu']}, {m['cores']} logical cores",
        "memory": f"{m['memory_bytes'] / 2**30:.1f} GiB" if m["memory_bytes"] else "unknown",
        "OS, kernel": f"{m['os']}, Linux {m['kernel']}",
        "Python, numpy, numba": f"{m['python']}, {m['numpy']}, {m['numba']}",
        "daxsim commit": commit[:12] + (" (with uncommitted changes)" if m["git_dirty"] else ""),
        "1-minute load average": f"{doc['loadavg_1min']['before']} before, {doc['loadavg_1min']['after']} after",
        "repetitions": f"best of {doc['reps']}",
    }
    return pd.DataFrame({"": list(rows.values())}, index=list(rows))


def _num(x) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.4g}"


def markdown_table(table: pd.DataFrame) -> str:
    """:func:`checks_table` as a Markdown table (the book wraps long cells; a DataFrame's
    HTML does not), unmet targets in bold. A check is named by its group and short label
    (its full name is in the chart's tooltip); the unit drops the parenthesis that repeats
    the baseline or the limit, which the columns beside it give."""
    lines = [
        "| group | check | value | baseline | unit | ratio | target | status |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table.itertuples():
        st = f"**{r.status}**" if r.status == STATUS_NOT_MET else r.status
        unit = str(r.unit).split(" (")[0]
        cells = [r.group, r.label, _num(r.value), _num(r.baseline), unit, _num(r.ratio), _num(r.target), st]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
