"""Every figure of the hardware profiles and of the cost model, with its source, as tables.

The hardware-profiles appendix is generated from here: it iterates the
:class:`~daxsim.model.hardware.HardwareProfile` objects in :data:`daxsim.HARDWARE` and the
fields of :class:`~daxsim.model.hardware.CostModel`, never a typed-in list. A figure's
``source`` is a key of the book's bibliography (``book/references.bib``), or
:data:`PROJECT_SOURCE` for a figure daxsim sets itself because no published one was
found (always an assumption), or ``"reader"`` for one changed with ``replace()``.
"""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd

from daxsim.book import checkout, theme
from daxsim.book.charts import grid_chart
from daxsim.model.hardware import HARDWARE, CostModel, HardwareProfile

BIB_FILE = checkout("book", "references.bib")
#: the source of a figure daxsim chose itself (no published figure found)
PROJECT_SOURCE = "daxsim"
#: the source of a figure a reader changed (``HardwareProfile.replace``, ``CostModel.replace``)
READER_SOURCE = "reader"
COST_MODEL = "cost model"

KIND_CITED, KIND_ASSUMPTION = "cited", "assumption"
KIND_COLOURS = {k: theme.color(k) for k in (KIND_CITED, KIND_ASSUMPTION)}  # the theme's


def figures_table(profiles: dict[str, HardwareProfile] | None = None, cost: CostModel | None = None) -> pd.DataFrame:
    """One row per figure: ``owner`` (a profile's name or ``"cost model"``), ``figure``
    (the field), ``value``, ``unit``, ``source``, ``kind`` (cited or assumption), ``note``."""
    profiles = HARDWARE if profiles is None else profiles
    cost = CostModel() if cost is None else cost
    owners = [(name, p.figures()) for name, p in profiles.items()] + [(COST_MODEL, cost.figures())]
    rows = [
        {
            "owner": owner,
            "figure": field,
            "value": f.value,
            "unit": f.unit,
            "source": f.source,
            "kind": KIND_ASSUMPTION if f.assumption else KIND_CITED,
            "note": f.note,
        }
        for owner, figs in owners
        for field, f in figs.items()
    ]
    return pd.DataFrame(rows)


def profiles_table(profiles: dict[str, HardwareProfile] | None = None) -> pd.DataFrame:
    """One row per profile: its description, whether it is persistent, how many of its
    figures are assumptions."""
    profiles = HARDWARE if profiles is None else profiles
    return pd.DataFrame(
        [
            {
                "profile": name,
                "description": p.description,
                "persistent": p.persistent,
                "figures": len(p.figures()),
                "assumptions": sum(f.assumption for f in p.figures().values()),
            }
            for name, p in profiles.items()
        ]
    )


def bib_keys(path: str | Path = BIB_FILE) -> set[str]:
    """The citation keys defined in a BibTeX file."""
    return set(re.findall(r"^@\w+\{([^,\s]+),", Path(path).read_text(), flags=re.MULTILINE))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def source_markdown(source: str) -> str:
    """A figure's source as MyST: a ``{cite}`` role for a bibliography key."""
    if source == PROJECT_SOURCE:
        return "daxsim (none published)"
    if source == READER_SOURCE:
        return "changed by the reader"
    return f"{{cite}}`{source}`"


def markdown_table(df: pd.DataFrame) -> str:
    """A MyST Markdown table of :func:`figures_table` rows (one owner's, typically), with
    the sources as citations and assumptions labelled in the value column."""
    lines = ["| figure | value | source | note |", "| --- | --- | --- | --- |"]
    for r in df.itertuples():
        value = f"{round(r.value, 3):g} {r.unit}"
        if r.kind == KIND_ASSUMPTION:
            value += " (**assumption**)"
        lines.append(f"| `{r.figure}` | {_cell(value)} | {source_markdown(r.source)} | {_cell(r.note)} |")
    return "\n".join(lines)


def profiles_chart(figs: pd.DataFrame, default: str = "read_latency_ns"):
    """One bar per profile for the figure picked in a dropdown (rows of
    :func:`figures_table`), coloured by kind: cited or assumption."""
    df = figs[figs.owner != COST_MODEL].assign(
        figure_unit=lambda d: d.figure + " (" + d.unit + ")", value=lambda d: d.value.round(3)
    )
    unit = df.loc[df.figure == default, "unit"].iloc[0]
    chart = grid_chart(
        df,
        x="owner",
        y="value",
        color="kind",
        dropdowns={"figure_unit": "figure"},
        defaults={"figure_unit": f"{default} ({unit})"},
        mark="bar",
        title="Hardware profiles, one figure at a time",
        x_title="medium (profile)",
        y_title="value (unit: in the figure's name)",
        tooltip=["owner", "figure_unit", "value", "kind", "source", "note"],
    )
    chart.encoding.xOffset = alt.Undefined  # one bar per profile, centred
    return chart
