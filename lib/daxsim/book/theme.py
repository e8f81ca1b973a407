"""The daxsim chart theme: one colour per entity and one order per kind, on every chart.

Every chart of the book, and the live explorers, take their colours from here, so that an
entity keeps its colour from the first chapter to the last (Distill's rule): option 1a is
the same blue in the emulator chapter, in the Pareto chart and in the timeline; the DMA
part of an I/O is the same orange wherever a time is broken down.

- :func:`color` gives the colour of one value (an option or a series label built on one,
  a part of the modelled time, a hardware profile, an event kind, a size ...), and
  raises for a value the theme does not know: a chart never falls back to a palette
  whose colours depend on what else is drawn.
- :func:`order` sorts values as a reader expects: options in the thread's order, sizes
  and counts by number ("16 GiB, 64 GiB, 192 GiB, 1 TiB", "pool of 256 pages" before
  "pool of 1,024 pages"), never as text.
- :func:`color_scale` is an ``alt.Scale`` with that domain and range, for a legend or a
  direct label.
- :func:`short` is the label drawn at the end of a line ("1a, memmap on pmem").
"""

from __future__ import annotations

import colorsys
import math
import re

import altair as alt

__all__ = [
    "FONT",
    "HARDWARE_COLORS",
    "INK",
    "KIND_COLORS",
    "MUTED",
    "OPTION_COLORS",
    "OPTION_ORDER",
    "PART_COLORS",
    "color",
    "color_scale",
    "order",
    "short",
    "size_bytes",
    "sort_key",
]

#: text and rule colours of every chart
INK, MUTED, GRID = "#222222", "#6b6b6b", "#e6e6e6"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

#: the options, in the thread's order, each with its hue (Okabe-Ito where it has one)
OPTION_ORDER = ("ideal", "0", "1a", "1b", "2", "2 + guard", "3", "huge", "nvram")
OPTION_COLORS = {
    "ideal": "#8c8c8c",  # grey: the bound, not a design
    "0": "#d55e00",  # vermillion: the copy
    "1a": "#0072b2",  # blue: what Linux shipped
    "1b": "#1a9e9e",  # teal: 1a's pages, only under I/O
    "2": "#cc3d8f",  # magenta: the hazard
    "2 + guard": "#7b4ea3",  # purple: option 2 made safe
    "3": "#2e9e44",  # green: extents
    "huge": "#e69f00",  # orange: huge pages
    "nvram": "#8c5a2b",  # brown: the memmap on the medium
}

#: the parts of the modelled time per I/O (daxsim.model.cost.PARTS), grouped by kind of
#: work: struct page work in blues, pool work in teals, extent/lock work in greens, data
#: movement in warm colours, fixed cost and stalls in greys and browns
PART_COLORS = {
    "fixed": "#a6a6a6",
    "gup": "#1f5fa8",
    "put": "#8fb8e3",
    "pfn_walk": "#7b4ea3",
    "descriptor": "#c9b3e0",
    "alloc": "#137a7a",
    "init": "#3fbfbf",
    "lookup": "#a8e0dc",
    "extent_ref": "#2e9e44",
    "range_lock": "#a6d99a",
    "dirty": "#9c6ade",
    "fault": "#5c5c8a",
    "iommu": "#c9a227",
    "contention": "#8f2d56",
    "cpu_copy": "#d55e00",
    "dma": "#f0a23c",
    "stall": "#6e4a2a",
}

#: the media behind the pmem range (daxsim.HARDWARE), and DRAM
HARDWARE_COLORS = {
    "ddr4-2666": "#4d4d4d",
    "optane-pmem-100": "#5e4fa2",
    "nvdimm-n": "#d98c00",
    "cxl-expander": "#1b9e77",
}

#: kinds of events of the history (daxsim.book.history.KINDS)
KIND_COLORS = {
    "discussion": "#9a9a9a",
    "posted": "#6aa6d6",
    "merged": "#1f7a3a",
    "setback": "#c23b22",
    "industry": "#b07cc6",
}

#: statuses of a run, and other two- or three-valued entities
STATUS_COLORS = {
    "feasible": "#2e9e44",
    "hazard: corrupted data": "#cc3d8f",
    "infeasible": "#8c8c8c",
    "unsafe: no pin": "#e8a0c8",
    "cited": "#0072b2",
    "assumption": "#e69f00",
    "model": "#0072b2",
    "measured": "#d55e00",
    "kernel (measured)": "#d55e00",
    "daxsim": "#0072b2",
    "daxsim+kernel": "#56b4e9",
    "target": "#9d9d9d",
    "ratio (met)": "#2e9e44",
    "ratio (not met)": "#c23b22",
    "ratio (no target)": "#0072b2",
}

#: memmap variants of option huge (daxsim.emu.hugepages.VARIANTS)
VARIANT_COLORS = {
    "base": "#e69f00",
    "hvo": "#b36b00",
    "devdax-dedup": "#6e4300",
    "superpage": "#f5cf6e",
}

#: where a memmap lives (a series of option 1a, or the placement alone)
PLACEMENT_SHADE = {"dram": 0.0, "pmem": -0.13}

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "K": 1 << 10,
    "KIB": 1 << 10,
    "KB": 1 << 10,
    "M": 1 << 20,
    "MIB": 1 << 20,
    "MB": 1 << 20,
    "G": 1 << 30,
    "GIB": 1 << 30,
    "GB": 1 << 30,
    "T": 1 << 40,
    "TIB": 1 << 40,
    "TB": 1 << 40,
    "P": 1 << 50,
    "PIB": 1 << 50,
}
_SIZE_RE = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([KMGTP]?I?B?)\s*$", re.IGNORECASE)
#: a number standing on its own in a label ("pool of 256 pages"), not part of a name ("read_bw_1t")
_NUMBER_RE = re.compile(r"(?<![A-Za-z_0-9.])[0-9][0-9,]*(?:\.[0-9]+)?(?![A-Za-z_0-9])")


def size_bytes(text) -> float | None:
    """``"16 GiB"``, ``"16G"``, ``"512"`` -> bytes; None if *text* is not a size."""
    m = _SIZE_RE.match(str(text))
    if not m:
        return None
    unit = m.group(2).upper()
    if unit not in _SIZE_UNITS:
        return None
    return float(m.group(1).replace(",", "")) * _SIZE_UNITS[unit]


def _shade(hex_color: str, amount: float) -> str:
    """Lighter (amount > 0) or darker (< 0) version of a colour, same hue."""
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lum, s = colorsys.rgb_to_hls(r, g, b)
    lum = min(0.92, max(0.08, lum + amount))
    r, g, b = colorsys.hls_to_rgb(h, lum, s)
    return "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in (r, g, b)))


def _ramp(position: float, start: str = "#c6dbef", end: str = "#08306b") -> str:
    """A colour between *start* (position 0) and *end* (1), interpolated in RGB."""
    position = min(1.0, max(0.0, position))
    a = [int(start[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(end[i : i + 2], 16) for i in (1, 3, 5)]
    return "#{:02x}{:02x}{:02x}".format(*(round(x + (y - x) * position) for x, y in zip(a, b)))


def _size_color(nbytes: float) -> str:
    """A size (of DRAM, pmem, a namespace ...) on one sequential ramp: 64 MiB pale,
    64 TiB dark, the same size always the same colour."""
    lo, hi = math.log2(64 << 20), math.log2(64 << 40)
    return _ramp((math.log2(max(nbytes, 1)) - lo) / (hi - lo), "#fdd49e", "#7f2704")


_OPTION_RE = re.compile(r"^option (ideal|0|1a|1b|2|3|huge|nvram)( \+ guard)?(.*)$")
#: how the history names the options (daxsim.book.history.OPTION_TEXT): "1a: permanent struct page"
_HISTORY_RE = re.compile(r"^(0|1a|1b|2|3): ")
_ALIASES = {"huge pages": "huge", "NV-RAM as RAM": "nvram"}
_POOL_RE = re.compile(r"pool of ([0-9,]+) pages")
_PAGE_RE = re.compile(r"^(4 KiB|2 MiB|1 GiB) pages(, 4 KiB dirty tracking)?$")
_PAGE_COLORS = {"4 KiB": "#f5cf6e", "2 MiB": "#e69f00", "1 GiB": "#9c5f00"}


def _option_of(value: str):
    """``"option 1a, memmap on pmem (--map=dev)"`` -> ``("1a", ", memmap on pmem ...")``."""
    m = _OPTION_RE.match(value)
    if not m:
        if value in OPTION_COLORS:
            return value, ""
        if value in _ALIASES:
            return _ALIASES[value], ""
        h = _HISTORY_RE.match(value)
        return (h.group(1), value[h.end() :]) if h else None
    return m.group(1) + (" + guard" if m.group(2) else ""), m.group(3)


def color(value) -> str:
    """The theme's colour for *value*; ``ValueError`` for a value it does not know.

    Knows options (``"1a"``, ``"option 1a"``, ``"option 2 + guard"``) and series built on
    them (``"option 1a, memmap on pmem (--map=dev)"`` is a darker 1a; ``"option 1b, pool of
    4,096 pages ..."`` a shade of 1b by pool size), parts of the modelled time, hardware
    profiles, event kinds, statuses, memmap variants, page sizes, and sizes (one ramp).
    """
    v = str(value)
    for table in (PART_COLORS, HARDWARE_COLORS, KIND_COLORS, STATUS_COLORS, VARIANT_COLORS):
        if v in table:
            return table[v]
    opt = _option_of(v)
    if opt is not None:
        base, rest = opt
        c = OPTION_COLORS[base]
        if "on pmem" in rest:
            return _shade(c, PLACEMENT_SHADE["pmem"])
        pool = _POOL_RE.search(rest)
        if pool:
            n = int(pool.group(1).replace(",", ""))
            return _shade(c, 0.30 - 0.11 * (math.log2(n) - 8) / 2)  # 256 pale ... 65,536 dark
        return c
    if v.startswith("feasible") or v.startswith("infeasible"):
        placement = "pmem" if "on pmem" in v else "dram"
        c = OPTION_COLORS["1a" if v.startswith("feasible") else "ideal"]
        return _shade(c, PLACEMENT_SHADE[placement])
    page = _PAGE_RE.match(v)
    if page:
        c = _PAGE_COLORS[page.group(1)]
        return _shade(c, -0.25) if page.group(2) else c
    if v.startswith("memmap in DRAM"):
        return OPTION_COLORS["1a"]
    if v.startswith("memmap on pmem"):
        return _shade(OPTION_COLORS["1a"], PLACEMENT_SHADE["pmem"])
    if v.startswith("daxsim"):
        return STATUS_COLORS["model"]
    if v.startswith("Linux") or v.startswith("kernel"):
        return STATUS_COLORS["measured"]
    n = size_bytes(v)
    if n is not None and not v.strip().isdigit():
        return _size_color(n)
    raise ValueError(f"theme: no colour for {value!r}; add it to daxsim.book.theme")


def sort_key(value):
    """A key that orders values as numbers where they are numbers.

    Options in :data:`OPTION_ORDER` (variants after their option, pools by size), sizes by
    bytes, ratios ``"1:32"`` by their second term, ``"N KiB extents"`` by extent size with
    ``"one extent"`` last, labels carrying a number by that number, the rest as text.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    v = str(value)
    opt = _option_of(v)
    if opt is not None:
        base, rest = opt
        pool = _POOL_RE.search(rest)
        second = int(pool.group(1).replace(",", "")) if pool else (1 if "on pmem" in rest else 0)
        return (1, OPTION_ORDER.index(base) * 1e12 + second, v)
    if v in PART_COLORS:
        return (2, list(PART_COLORS).index(v), v)
    if v in HARDWARE_COLORS:
        return (2, list(HARDWARE_COLORS).index(v), v)
    if v in KIND_COLORS:
        return (2, list(KIND_COLORS).index(v), v)
    if v in VARIANT_COLORS:
        return (2, list(VARIANT_COLORS).index(v), v)
    if v in STATUS_COLORS:
        return (2, list(STATUS_COLORS).index(v), v)
    n = size_bytes(v)
    if n is not None:
        return (3, n, v)
    m = re.match(r"^1:([0-9]+)$", v)
    if m:
        return (3, float(m.group(1)), v)
    if v == "one extent":
        return (3, math.inf, v)
    m = re.match(r"^(.*?) (pages|extents)(.*)$", v)
    if m and size_bytes(m.group(1)) is not None:
        return (3, size_bytes(m.group(1)), v)
    m = _NUMBER_RE.search(v)
    if m:
        return (4, float(m.group(0).replace(",", "")), v)
    return (5, 0.0, v)


def order(values) -> list:
    """The distinct *values* in the theme's order (:func:`sort_key`)."""
    seen = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in values))
    return sorted(seen, key=sort_key)


def color_scale(values, domain=None) -> alt.Scale:
    """An ``alt.Scale`` over *values* in the theme's order with the theme's colours.

    *domain* fixes the order (it must contain every value); the range follows it.
    """
    dom = list(domain) if domain is not None else order(values)
    missing = [v for v in order(values) if v not in dom]
    if missing:
        raise ValueError(f"color_scale: {missing} are not in the domain {dom}")
    return alt.Scale(domain=dom, range=[color(v) for v in dom])


_SHORT = [
    (re.compile(r"^memmap (?:in DRAM|on pmem) \(--map=(mem|dev)\)$"), r"--map=\1"),
    (re.compile(r"^option (\S+( \+ guard)?), memmap in DRAM \(--map=mem\)$"), r"\1, memmap in DRAM"),
    (re.compile(r"^option (\S+( \+ guard)?), memmap on pmem \(--map=dev\)$"), r"\1, memmap on pmem"),
    (re.compile(r"^option 1b, pool of ([0-9,]+) pages.*$"), r"1b, pool \1"),
    (re.compile(r"^option 1a \(permanent memmap\)$"), "1a"),
    (re.compile(r"^option (.+)$"), r"\1"),
]


def short(label) -> str:
    """The label drawn at the end of a line: ``"option 1a, memmap on pmem (--map=dev)"``
    -> ``"1a, memmap on pmem"``; labels the theme has no shorter form for stay as they are."""
    v = str(label)
    for pattern, repl in _SHORT:
        if pattern.match(v):
            return pattern.sub(repl, v)
    return v


def config() -> dict:
    """The Vega-Lite ``config`` of every daxsim chart: fonts, greys, no chart border."""
    return {
        "font": FONT,
        "view": {"stroke": None},
        "title": {
            "font": FONT,
            "fontSize": 14,
            "fontWeight": 600,
            "color": INK,
            "anchor": "start",
            "subtitleFont": FONT,
            "subtitleFontSize": 12,
            "subtitleColor": MUTED,
            "offset": 10,
        },
        "axis": {
            "labelFont": FONT,
            "titleFont": FONT,
            "labelColor": INK,
            "titleColor": INK,
            "labelFontSize": 11,
            "titleFontSize": 12,
            "titleFontWeight": 500,
            "gridColor": GRID,
            "domainColor": "#888888",
            "tickColor": "#888888",
            "labelOverlap": "greedy",
            "labelSeparation": 6,
        },
        "legend": {
            "labelFont": FONT,
            "titleFont": FONT,
            "labelFontSize": 11,
            "titleFontSize": 12,
            "titleFontWeight": 500,
            "labelColor": INK,
            "titleColor": INK,
            "labelLimit": 0,
        },
        "text": {"font": FONT, "fontSize": 11},
        "range": {"category": list(OPTION_COLORS.values())},
    }
