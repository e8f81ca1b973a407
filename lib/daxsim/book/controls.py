"""Bound controls over a build-time grid, and the per-selection geometry of a chart.

A :class:`Binding` turns columns of a tidy frame into Vega-Lite params bound to sliders
and dropdowns (in the theme's numeric order), and gives every row the **key** of the
selection it belongs to (``"3|optane-pmem-100"``): the chart keeps the rows whose key is
the current one, and everything that depends on the selection (the axis domains, where
a direct label sits) is computed here, in Python, per key, and looked up in the browser
by the key. So an axis follows the selection (1a's DRAM at 16 GiB is not drawn on a
0-1,000 GiB axis) and labels at the end of lines never collide, without a kernel.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from daxsim.book import theme

__all__ = ["KEY", "Binding", "check_columns", "dodge", "js_key", "labels", "param_name", "readout"]

#: the column holding each row's selection key
KEY = "_k"
#: the signal holding the current selection's key
KEY_SIGNAL = "sel_key"


def param_name(column: str) -> str:
    """A Vega signal name for a bound column; the prefix keeps clear of Vega's own
    signals (``width``, ``height``, ``padding``, ...)."""
    return "p_" + re.sub(r"\W+", "_", column).strip("_")


def py(value):
    """A plain Python value (JSON-serialisable) from a numpy scalar."""
    return value.item() if isinstance(value, np.generic) else value


def js_key(value) -> str:
    """How JavaScript's ``'' + value`` spells a value of a bound column."""
    value = py(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the DataFrame; it has {list(df.columns)}")


def labels(items) -> dict[str, str]:
    """``["col", ...]`` or ``{"col": "label", ...}`` -> ``{"col": "label"}``."""
    if items is None:
        return {}
    if isinstance(items, str):
        return {items: items}
    if isinstance(items, Mapping):
        return dict(items)
    return {c: c for c in items}


def readout(value) -> str:
    """A slider's value as its readout shows it: ``1,024``, ``0.05``, ``16 GiB``."""
    value = py(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.6g}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


class Binding:
    """Sliders and dropdowns over columns of *df*, and the key of each row's selection.

    Sliders step through the sorted distinct values of a numeric column by position (the
    readout beside the slider shows the value); dropdowns list a column's distinct values
    in the theme's order. ``data`` is *df* with the key column :data:`KEY` added;
    ``params`` the params to add to the chart (the controls, then the key signal).
    """

    def __init__(self, df: pd.DataFrame, sliders=None, dropdowns=None, defaults=None):
        self.sliders, self.dropdowns = labels(sliders), labels(dropdowns)
        defaults = dict(defaults or {})
        check_columns(df, [*self.sliders, *self.dropdowns])
        unknown = sorted(set(defaults) - set(self.sliders) - set(self.dropdowns))
        if unknown:
            raise ValueError(f"defaults: {unknown} are not bound columns ({[*self.sliders, *self.dropdowns]})")
        self.params, self.readouts, self.values = [], {}, {}
        parts, key_cols = [], []
        data = df.copy()
        for col, label in self.sliders.items():
            if not pd.api.types.is_numeric_dtype(df[col]):
                raise ValueError(f"slider column {col!r} must be numeric; use dropdowns for it")
            values = np.sort(df[col].dropna().unique())
            if len(values) < 2:
                raise ValueError(f"slider column {col!r} needs at least 2 distinct values")
            lookup = {py(v): i for i, v in enumerate(values)}
            default = py(defaults.get(col, values[0]))
            if default not in lookup:
                raise ValueError(f"defaults: {col}={default!r} is not one of {[py(v) for v in values]}")
            name = param_name(col)
            self.params.append(
                alt.param(
                    name=name,
                    value=lookup[default],
                    bind=alt.binding_range(min=0, max=len(values) - 1, step=1, name=label + " "),
                )
            )
            self.readouts[name] = [readout(v) for v in values]
            self.values[col] = [py(v) for v in values]
            kc = f"{col} (position)"
            data[kc] = df[col].map(lookup)
            key_cols.append(kc)
            parts.append(f"'' + {name}")
        for col, label in self.dropdowns.items():
            values = theme.order(df[col].dropna().unique())
            default = py(defaults.get(col, values[0]))
            if default not in values:
                raise ValueError(f"defaults: {col}={default!r} is not one of {values}")
            name = param_name(col)
            self.params.append(
                alt.param(name=name, value=default, bind=alt.binding_select(options=values, name=label + " "))
            )
            self.values[col] = values
            key_cols.append(col)
            parts.append(f"'' + {name}")
        self.key_cols = key_cols
        self.key_expr = " + '|' + ".join(parts) if parts else "'all'"
        data[KEY] = self.keys(data)
        self.data = data.drop(columns=[c for c in key_cols if c.endswith(" (position)")])
        if parts:
            self.params.append(alt.param(name=KEY_SIGNAL, expr=self.key_expr))

    @property
    def bound(self) -> list[str]:
        return [*self.sliders, *self.dropdowns]

    def keys(self, frame: pd.DataFrame) -> pd.Series:
        """The selection key of each row of *frame* (which has the key columns)."""
        if not self.key_cols:
            return pd.Series("all", index=frame.index)
        cols = [frame[c].map(js_key) for c in self.key_cols]
        out = cols[0]
        for c in cols[1:]:
            out = out + "|" + c
        return out

    @property
    def filter(self) -> str:
        """The filter that keeps the current selection's rows."""
        return f"datum[{json.dumps(KEY)}] == {KEY_SIGNAL}" if self.key_cols else "true"

    def lookup(self, name: str, table: Mapping[str, object]) -> alt.Parameter:
        """A param *name* holding ``table[current key]`` (a number or a list)."""
        literal = json.dumps({str(k): v for k, v in table.items()}, separators=(",", ":"))
        key = KEY_SIGNAL if self.key_cols else "'all'"
        return alt.param(name=name, expr=f"({literal})[{key}]")


def _transform(values, scale: str):
    values = np.asarray(values, dtype=float)
    if scale == "log":
        return np.log10(values)
    if scale == "symlog":
        return np.sign(values) * np.log10(1 + np.abs(values))
    return values


def _inverse(values, scale: str):
    values = np.asarray(values, dtype=float)
    if scale == "log":
        return 10**values
    if scale == "symlog":
        return np.sign(values) * (10 ** np.abs(values) - 1)
    return values


def padded_domain(values, scale: str = "linear", zero: bool = True, pad: float = 0.06) -> list[float]:
    """A domain around *values* (finite ones) with a little room at both ends.

    Linear scales start at zero when *zero* and all values are positive; log scales pad
    by a factor, never reach zero. A single value gets a domain around it.
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if scale == "log":
        v = v[v > 0]
    if len(v) == 0:
        return [1.0, 10.0] if scale == "log" else [0.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    if scale == "linear" and zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    t_lo, t_hi = _transform([lo, hi], scale)
    span = t_hi - t_lo
    if span <= 0:
        span = 1.0 if scale != "linear" else (abs(hi) or 1.0)
        t_lo, t_hi = t_lo - span / 2, t_hi + span / 2
    below = 0.0 if (scale == "linear" and zero and lo == 0) else pad * span
    t_lo, t_hi = t_lo - below, t_hi + pad * span
    lo2, hi2 = (float(x) for x in _inverse([t_lo, t_hi], scale))
    if scale == "linear" and zero and lo >= 0:
        lo2 = max(lo2, 0.0) if lo == 0 else lo2
    return [_round(lo2), _round(hi2)]


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    digits = 4 - int(math.floor(math.log10(abs(x))))
    return round(x, digits)


def to_pixels(values, domain, scale: str, height: float):
    """Data values -> pixels from the top of a plot of *height* (y grows downwards)."""
    t = _transform(values, scale)
    lo, hi = _transform(domain, scale)
    return height * (1 - (t - lo) / (hi - lo))


def from_pixels(pixels, domain, scale: str, height: float):
    lo, hi = _transform(domain, scale)
    t = lo + (1 - np.asarray(pixels, float) / height) * (hi - lo)
    return _inverse(t, scale)


def dodge(pixels, gap: float = 12.0, lo: float | None = 0.0, hi: float | None = None) -> np.ndarray:
    """Move label positions apart until neighbours are at least *gap* pixels apart.

    Labels that collide form a cluster centred on their mean; clusters are kept inside
    ``[lo, hi]`` (``lo`` wins when there is not room for all) and merged when they
    meet. The order of the labels is kept.
    """
    p = np.asarray(pixels, dtype=float)
    if len(p) == 0:
        return p
    order = np.argsort(p, kind="stable")
    clusters: list[list[float]] = []  # [top, count, sum of wanted positions]
    for x in p[order]:
        clusters.append([x, 1, x])
        while True:
            c = clusters[-1]
            top = c[2] / c[1] - gap * (c[1] - 1) / 2
            if hi is not None:
                top = min(top, hi - gap * (c[1] - 1))
            if lo is not None:
                top = max(top, lo)
            c[0] = top
            if len(clusters) > 1 and clusters[-2][0] + gap * clusters[-2][1] > top + 1e-9:
                prev = clusters.pop(-2)
                c[1] += prev[1]
                c[2] += prev[2]
                continue
            break
    placed = np.concatenate([c[0] + gap * np.arange(int(c[1])) for c in clusters])
    out = np.empty_like(placed)
    out[order] = placed
    return out


#: a Vega expression that writes an axis value in bytes with a binary unit ("16 KiB")
BYTES_LABEL = (
    "datum.value >= 1099511627776 ? format(datum.value / 1099511627776, '~g') + ' TiB' : "
    "datum.value >= 1073741824 ? format(datum.value / 1073741824, '~g') + ' GiB' : "
    "datum.value >= 1048576 ? format(datum.value / 1048576, '~g') + ' MiB' : "
    "datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' KiB' : format(datum.value, '~g') + ' B'"
)


def size_ticks(domain) -> list[float]:
    """Tick values for a log axis of bytes: powers of 1,024 inside *domain*, and powers of
    32 between them when that gives fewer than three ticks."""
    lo, hi = domain
    for base in (1024, 32, 4, 2):
        ticks = [float(base**k) for k in range(12) if lo <= base**k <= hi]
        if len(ticks) >= 3 or base == 2:
            return ticks[:: max(1, len(ticks) // 6)]
    return []
