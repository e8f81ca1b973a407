"""SVG diagrams of the mechanisms, drawn from daxsim's own numbers.

OSTEP's rule, a diagram for every mechanism, with Distill's: the numbers in a figure are
computed, never typed. Each function runs (or reads) daxsim and returns a
:class:`Diagram`, which a notebook displays as inline SVG (``<figure
class="daxsim-diagram">``): the text stays text, searchable and sharp, and it needs no
script, so it shows alike in the book, JupyterLab and Voila.

- :func:`io_paths`: each option's I/O path, one lane per option, four steps (find the
  pages, describe the I/O, DMA, complete), with the counts of one I/O;
- :func:`namespace_layout`: a namespace as ``nd_pfn_init()`` lays it out (info block,
  memmap on pmem with ``--map=dev``, data), and where DRAM pays with ``--map=mem``;
- :func:`race_swimlanes`: the truncate/DMA race, one lane per actor, one row per event;
- :func:`dirty_tracking`: which bytes a huge page's dirty bit makes ``fsync`` flush.
"""

from __future__ import annotations

import html
import itertools

from daxsim.book import theme

__all__ = ["Diagram", "dirty_tracking", "io_paths", "namespace_layout", "race_swimlanes"]

WIDTH = 680
_ids = itertools.count()


class Diagram:
    """An SVG figure with a caption; shown as HTML (inline SVG) by Jupyter and Voila."""

    def __init__(self, name: str, svg: str, caption: str, numbers: dict | None = None):
        self.name, self.svg, self.caption = name, svg, caption
        #: the numbers drawn, for the notebooks' hidden checks
        self.numbers = dict(numbers or {})

    def _repr_html_(self) -> str:
        return (
            f'<figure class="daxsim-diagram" data-diagram="{html.escape(self.name)}" style="margin:1em 0">'
            f'{self.svg}<figcaption style="font-size:0.9em;color:{theme.MUTED};text-align:left">'
            f"{html.escape(self.caption)}</figcaption></figure>"
        )

    def __repr__(self) -> str:
        return f"<daxsim diagram {self.name!r}: {self.caption}>"


class _Svg:
    """A small SVG writer: every style is an attribute (inline <style> would leak into the page)."""

    def __init__(self, width: float, height: float, label: str):
        self.width, self.height, self.label, self.parts = width, height, label, []
        self.uid = f"dx{next(_ids)}"

    def rect(self, x, y, w, h, fill="#ffffff", stroke="#bbbbbb", rx=4, opacity=1.0, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" rx="{rx}" '
            f'fill="{fill}" stroke="{stroke}" opacity="{opacity}"{d}/>'
        )

    def text(self, x, y, s, size=11, weight=400, anchor="start", fill=theme.INK, opacity=1.0, italic=False):
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}" opacity="{opacity}"{style}>{html.escape(str(s))}</text>'
        )

    def fit_text(self, x, y, s, width, size=11, **kw):
        """Text shrunk (down to 8.5 px) so that it fits *width*; raises if it cannot."""
        need = text_width(s, size) * (1.12 if kw.get("weight", 400) >= 600 else 1.0)
        if need > width:
            size = size * width / need
            if size < 8.5:
                raise ValueError(f"diagram text {s!r} does not fit {width:.0f} px")
        self.text(x, y, s, size=round(size, 2), **kw)

    def line(self, x1, y1, x2, y2, stroke="#888888", width=1.2, arrow=False, dash=None, opacity=1.0):
        a = f' marker-end="url(#{self.uid}-arrow)"' if arrow else ""
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}" opacity="{opacity}"{a}{d}/>'
        )

    def render(self) -> str:
        defs = (
            f'<defs><marker id="{self.uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888888"/>'
            "</marker></defs>"
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height:.0f}" '
            f'width="{self.width}" height="{self.height:.0f}" role="img" aria-label="{html.escape(self.label)}" '
            f'style="max-width:100%;height:auto;font-family:{html.escape(theme.FONT)}">{defs}'
            + "".join(self.parts)
            + "</svg>"
        )


def text_width(s: str, size: float) -> float:
    """Estimated width in px of *s* at font size *size* (sans-serif; digits and most
    letters are about 0.56 em, narrow letters less)."""
    narrow = sum(c in "iljtf.,;:'|!() " for c in str(s))
    wide = sum(c in "mwMW@%" for c in str(s))
    return size * (0.56 * (len(str(s)) - narrow - wide) + 0.3 * narrow + 0.85 * wide)


def _size(b) -> str:
    from daxsim.emu.units import format_size

    return format_size(int(b)) if b else "0"


# --------------------------------------------------------------------------- I/O paths

#: the steps of every path, as the diagram's columns
STEPS = ("1. find the pages", "2. describe the I/O", "3. DMA", "4. complete")


def _plural(n, word):
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _path_text(option: str, guard: bool, m: dict, pins: bool = False) -> list[tuple[str, str]]:
    """Two lines per step for one option, from the run's counters ``m`` (one I/O);
    *pins*: the release pins pages (FOLL_PIN) rather than getting them."""
    release = "unpin" if pins else "put_page"
    entries, gup, walks = m["descriptor_entries"], m["gup_pages"], m["pfn_walks"]
    moved = _size(m["bytes_dma"])
    dev = "device ↔ pmem"
    if option == "0":
        return [
            ("no struct page:", _plural(m["allocations"], "bounce page")),
            (_plural(entries, "bio_vec"), "→ DRAM pages"),
            ("device ↔ DRAM", moved),
            (f"CPU copies {_size(m['bytes_cpu_copied'])}", f"frees {m['allocations']} pages"),
        ]
    if option in ("1a", "nvram"):
        where = "DRAM" if option == "1a" else "pmem"
        last = "no copy" if option == "1a" else _plural(m["memmap_line_writes"], "memmap write")
        return [
            (f"GUP {_plural(gup, 'page')}", f"memmap in {where}" if where == "DRAM" else "memmap on pmem"),
            (_plural(entries, "bio_vec"), "→ pmem pages"),
            (dev, moved),
            (f"{release} × {gup}", last),
        ]
    if option == "1b":
        return [
            (_plural(m["lookups"], "lookup"), f"{m['allocations']} from the pool"),
            (_plural(entries, "bio_vec"), "→ pool pages"),
            (dev, moved),
            (f"put; {m['frees']} pages", "back to the pool"),
        ]
    if option == "huge":
        return [
            (f"GUP {_plural(gup, 'page')}:", _plural(m["compound_refs"], "compound ref")),
            (_plural(entries, "bio_vec"), "→ pmem pages"),
            (dev, moved),
            (f"{m['compound_refs']} put", "no copy"),
        ]
    if option == "2" and guard:
        return [
            (f"walk {_plural(walks, 'PTE')}", f"+ {_plural(m['range_locks'], 'range lock')}"),
            (_plural(entries, "pfn"), "no struct page"),
            (dev, f"{moved}, by pfn"),
            ("unlock the range", "truncate may go"),
        ]
    if option == "2":
        return [
            (f"walk {_plural(walks, 'PTE')}", "no reference"),
            (_plural(entries, "pfn"), "no struct page"),
            (dev, f"{moved}, by pfn"),
            ("nothing to release", "blocks never pinned"),
        ]
    if option == "3":
        refs = m["refcount_ops"] // 2
        return [
            (f"walk {_plural(walks, 'PTE')}", f"→ {_plural(entries, 'extent')}"),
            (_plural(entries, "(addr, len)"), "no struct page"),
            (dev, f"{moved}, {_plural(entries, 'burst')}"),
            (f"drop {refs} extent", _plural(refs, "reference").split(" ", 1)[1]),
        ]
    raise ValueError(f"io_paths: no path drawn for option {option!r}")


def io_paths(
    options=("0", "1a", "1b", "2", "2+guard", "3", "huge", "nvram"),
    highlight=(),
    ops: str = "r0:64k",
    pmem: str = "400G",
    dram: str = "16G",
    hardware: str = "optane-pmem-100",
    kernel=None,
) -> Diagram:
    """Each option's path for one O_DIRECT I/O (``ops``, one I/O) into a DAX-mapped buffer.

    One lane per option (``"2+guard"`` is option 2 with its range lock), four steps; the
    counts come from :func:`daxsim.run` of that I/O, the time per I/O at the right is
    modelled on *hardware*. Lanes in *highlight* are drawn in full, the others faded
    (all in full when *highlight* is empty). *kernel* is the release modelled (default:
    daxsim's, :data:`daxsim.model.eras.DEFAULT_ERA`).
    """
    import daxsim
    from daxsim.model.eras import DEFAULT_ERA, ERAS

    kernel = DEFAULT_ERA if kernel is None else str(kernel)

    machine = daxsim.Machine(pmem=pmem, dram=dram)
    workload = daxsim.Workload(ops=ops)
    highlight = {str(h) for h in ([highlight] if isinstance(highlight, str) else highlight)}
    lane_h, top, left, gap, right = 44, 30, 88, 9, 74
    box_w = (WIDTH - left - right - 3 * gap) / 4
    s = _Svg(WIDTH, top + lane_h * len(options) + 6, f"I/O paths of options {', '.join(options)}")
    for i, step in enumerate(STEPS):
        s.text(left + i * (box_w + gap) + 4, 16, step, size=11, weight=600, fill=theme.MUTED)
    s.text(WIDTH - 4, 16, "time / I/O", size=11, weight=600, anchor="end", fill=theme.MUTED)
    numbers = {}
    for row, spec in enumerate(options):
        option, guard = (spec.removesuffix("+guard"), True) if spec.endswith("+guard") else (spec, False)
        r = daxsim.run(option, machine, workload, hardware=hardware, data=False, guard=guard, kernel=kernel)
        m = r.metrics
        numbers[spec] = {
            "per_io_ns": r.modelled.per_io_ns,
            **{
                k: m[k]
                for k in (
                    "gup_pages",
                    "descriptor_entries",
                    "bytes_cpu_copied",
                    "allocations",
                    "refcount_ops",
                    "pfn_walks",
                )
            },
        }
        label = f"option {option}" + (" + guard" if guard else "")
        col = theme.color(label)
        op = 1.0 if not highlight or spec in highlight else 0.32
        y = top + row * lane_h
        s.rect(0, y + 3, 5, lane_h - 8, fill=col, stroke=col, rx=2, opacity=op)
        s.text(12, y + lane_h / 2 + 4, theme.short(label), size=12.5, weight=700, fill=col, opacity=op)
        hazard = option == "2" and not guard
        for i, (a, b) in enumerate(_path_text(option, guard, m, pins=ERAS[kernel].pin == "pin")):
            x = left + i * (box_w + gap)
            warn = hazard and i == 3
            s.rect(
                x,
                y + 3,
                box_w,
                lane_h - 8,
                fill="#fdf0f6" if warn else "#f7f7f7",
                stroke=col if warn else "#d0d0d0",
                opacity=op,
            )
            s.fit_text(x + 6, y + 18, a, box_w - 10, size=10.5, opacity=op)
            s.fit_text(x + 6, y + 32, b, box_w - 10, size=10.5, fill=theme.MUTED if not warn else col, opacity=op)
            if i < 3:
                s.line(
                    x + box_w + 1, y + lane_h / 2 - 1, x + box_w + gap - 1, y + lane_h / 2 - 1, arrow=True, opacity=op
                )
        s.text(
            WIDTH - 4,
            y + lane_h / 2 + 4,
            f"{r.modelled.per_io_ns:,.0f} ns",
            size=11.5,
            weight=600,
            anchor="end",
            opacity=op,
        )
    size = _size(workload.generate()[2][0])
    caption = (
        f"One O_DIRECT {'read' if ops.startswith('r') else 'write'} of {size} into a DAX-mapped buffer, "
        f"step by step: counts from daxsim.run on {_size(machine.pmem)} of pmem and {_size(machine.dram)} "
        f"of DRAM as Linux {kernel} does it, time per I/O modelled on {hardware}."
    )
    return Diagram("io-paths", s.render(), caption, numbers)


# --------------------------------------------------------------------------- namespace layout


def namespace_layout(size: str = "400G", dram: str = "16G", maps=("mem", "dev")) -> Diagram:
    """An fsdax namespace of *size* laid out by :func:`daxsim.namespace_layout`, once per
    ``--map``: the info block, the memmap on pmem (``dev``) and the data from the aligned
    offset; under it the machine's DRAM, with its own memmap and, for ``mem``, pmem's."""
    import daxsim
    from daxsim.emu.units import parse_size

    pm, dr = parse_size(size), parse_size(dram)
    left, row_h = 96, 132
    bar_w = WIDTH - left
    s = _Svg(WIDTH, len(maps) * row_h, f"namespace layout of {size} with --map={'/'.join(maps)}")
    numbers = {}
    machine = daxsim.Machine(pmem=size, dram=dram)
    own = machine.dram_own_memmap
    for i, mp in enumerate(maps):
        lay = daxsim.namespace_layout(pm, mode="fsdax", map=mp)
        numbers[mp] = {
            "dataoff": lay.dataoff,
            "memmap_pmem_bytes": lay.memmap_pmem_bytes,
            "memmap_dram_bytes": lay.memmap_dram_bytes,
            "capacity_lost": lay.capacity_lost,
        }
        y0 = i * row_h
        s.text(
            0,
            y0 + 14,
            f"--map={mp}: the memmap " + ("in DRAM" if mp == "mem" else "on the pmem itself"),
            size=13,
            weight=700,
        )
        info = 8 << 10
        mm = lay.memmap_pmem_bytes
        parts = [
            ("info block", info, "#6b6b6b"),
            ("memmap", mm, theme.color("option nvram")),
            ("alignment", lay.dataoff - info - mm, "#c8c8c8"),
            ("data", pm - lay.dataoff, "#ece6f7"),
        ]
        parts = [p for p in parts if p[1]]
        y = y0 + 24
        s.text(left - 8, y + 16, f"pmem {_size(pm)}", size=11, anchor="end")
        widths = [max(3.0, bar_w * b / pm) for _, b, _ in parts]
        widths[-1] = bar_w - sum(widths[:-1])
        x = left
        for (name, b, fill), w in zip(parts, widths):
            s.rect(x, y, w, 24, fill=fill, stroke="#777777", rx=0)
            if name == "data":
                s.text(x + w / 2, y + 16, f"data: {_size(b)}", size=11, anchor="middle")
            x += w
        # the small parts, named under the bar
        x = left
        for name, b, fill in parts[:-1]:
            s.rect(x, y + 31, 9, 9, fill=fill, stroke="#777777", rx=1)
            label = f"{name} {_size(b)}"
            s.text(x + 13, y + 39, label, size=10.5)
            x += 13 + text_width(label, 10.5) + 14
        s.text(WIDTH, y + 39, f"capacity lost: {_size(lay.capacity_lost)}", size=10.5, anchor="end", fill=theme.MUTED)
        y = y0 + 80
        s.text(left - 8, y + 16, f"DRAM {_size(dr)}", size=11, anchor="end")
        used = [
            ("DRAM's own memmap", own, "#bdbdbd"),
            ("pmem's memmap", lay.memmap_dram_bytes, theme.color("option 1a")),
        ]
        x = left
        for name, b, fill in used:
            if not b:
                continue
            w = max(3.0, bar_w * min(b, dr) / dr)
            s.rect(x, y, w, 24, fill=fill, stroke="#777777", rx=0)
            label = f"{name}: {_size(b)}"
            if w > text_width(label, 10.5) + 10:
                s.text(x + 5, y + 16, label, size=10.5, fill="#ffffff")
            x += w
        s.rect(x, y, left + bar_w - x, 24, fill="#ffffff", stroke="#777777", rx=0)
        s.text(
            left + bar_w - 6,
            y + 16,
            f"left for the kernel: {_size(dr - own - lay.memmap_dram_bytes)}",
            size=10.5,
            anchor="end",
            fill=theme.MUTED,
        )
        if not lay.memmap_dram_bytes:
            s.text(left + 10, y + 16, f"DRAM's own memmap: {_size(own)}", size=10.5, fill=theme.MUTED)
    caption = (
        f"A {_size(pm)} fsdax namespace on a machine with {_size(dr)} of DRAM, laid out as nd_pfn_init() "
        "does (daxsim.namespace_layout); each bar to its own scale, parts under 3 px drawn at 3 px."
    )
    return Diagram("namespace-layout", s.render(), caption, numbers)


# --------------------------------------------------------------------------- the race

_LANES = ("application", "filesystem", "device (DMA)", "another file")


def _lane_of(event: str) -> int:
    if event.startswith("submit"):
        return 0
    if event.startswith("truncate"):
        return 1
    if event.startswith("another file"):
        return 3
    return 2


def _short(event: str) -> str:
    return (
        event.replace(" completes", "")
        .replace(": DMA (read: device → pmem)", ": DMA to pmem")
        .replace(": DMA (write: pmem → device)", ": DMA from pmem")
        .replace(" (the truncate waits for it)", "")
        .replace(" (the queue is full)", "")
        .replace("truncate: unmap, free the blocks", "truncate: free the blocks")
        .replace("another file gets the blocks and writes them", "gets the blocks, writes them")
    )


def race_swimlanes(traces: dict) -> Diagram:
    """The events of :func:`daxsim.book.grids.race_trace` as swim lanes, one panel per
    entry of *traces* (title -> trace): a row per event, a column per actor. A DMA into
    blocks that belong to another file by then is drawn in option 2's colour."""
    lane_w, left, row_h = (WIDTH - 40) / 4, 40, 24
    heights = [30 + row_h * len(t) + 18 for t in traces.values()]
    s = _Svg(WIDTH, sum(heights) + 4, "the truncate/DMA race as swim lanes")
    y0, numbers = 0, {}
    for (name, trace), h in zip(traces.items(), heights):
        col = theme.color(name) if name.startswith("option") else theme.INK
        s.text(0, y0 + 14, name, size=13, weight=700, fill=col)
        for j, lane in enumerate(_LANES):
            x = left + j * lane_w
            s.text(x + lane_w / 2, y0 + 14, lane, size=11, weight=600, anchor="middle", fill=theme.MUTED)
            s.line(x + lane_w / 2, y0 + 22, x + lane_w / 2, y0 + h - 8, stroke="#e0e0e0", width=1)
        bad = 0
        for i, r in enumerate(trace.itertuples()):
            y = y0 + 24 + i * row_h
            j = _lane_of(r.event)
            x = left + j * lane_w
            owner = str(trace.iloc[i]["blocks belong to"])
            hit = j == 2 and owner.startswith("another file")
            waits = "waits for it" in r.event
            bad += hit
            s.text(left - 8, y + 15, f"{r.step}", size=10, anchor="end", fill=theme.MUTED)
            s.rect(
                x + 4,
                y + 2,
                lane_w - 8,
                row_h - 4,
                fill="#fdf0f6" if hit else "#f7f7f7",
                stroke=theme.color("option 2") if hit else "#cfcfcf",
            )
            text = _short(r.event).replace("DMA to pmem", "DMA to freed blocks") if hit else _short(r.event)
            s.fit_text(
                x + 9,
                y + 15,
                text,
                lane_w - 18,
                size=10,
                weight=600 if hit else 400,
                fill=theme.color("option 2") if hit else theme.INK,
            )
            if waits:
                s.text(left + 1 * lane_w + 9, y + 15, "… the truncate waits", size=10, italic=True, fill=theme.MUTED)
            if hit:
                s.line(
                    x + lane_w - 4,
                    y + row_h / 2,
                    left + 3 * lane_w + 4,
                    y + row_h / 2,
                    stroke=theme.color("option 2"),
                    arrow=True,
                )
                s.fit_text(
                    left + 3 * lane_w + 9,
                    y + 15,
                    f"{trace.iloc[i]['file range'].split(' at ')[0]} overwritten",
                    lane_w - 14,
                    size=10,
                    weight=600,
                    fill=theme.color("option 2"),
                )
        numbers[name] = {"events": len(trace), "dma_into_other_file": bad}
        y0 += h
    caption = (
        "The same schedule under each option, one row per event (daxsim.book.grids.race_trace, checked "
        "against the counters of daxsim.run); pfns as the file's extents give them."
    )
    return Diagram("race", s.render(), caption, numbers)


# --------------------------------------------------------------------------- dirty tracking


def dirty_tracking(ops: str, runs: dict, span: int | None = None) -> Diagram:
    """What ``fsync`` flushes after the stores of *ops*, per dirty-tracking unit.

    *runs* maps a row title (``"4 KiB pages"``) to ``(unit_bytes, result)``: the stores
    are drawn as ticks on the file, each dirty unit as a shaded span, and the row says
    what the run's counters say (dirty units, bytes flushed). The drawn units are checked
    against the run's ``dirty_units``.
    """
    import daxsim

    op, off, length = daxsim.Workload(ops=ops).generate()
    from daxsim.emu.workload import OP_STORE

    stores = [(int(o), int(n)) for o, n, k in zip(off, length, op) if n > 0 and k == OP_STORE]
    if not stores:
        raise ValueError(f"dirty_tracking: {ops!r} has no stores")
    biggest = max(u for u, _ in runs.values())
    end = span or -(-max(o + n for o, n in stores) // biggest) * biggest
    left, bar_w, row_h = 210, WIDTH - 220, 40
    s = _Svg(WIDTH, 40 + row_h * len(runs) + 8, "dirty tracking per unit")
    s.text(left, 14, f"the file's first {_size(end)}; ticks: the {len(stores)} stores", size=11, fill=theme.MUTED)
    numbers = {}
    for i, (name, (unit, result)) in enumerate(runs.items()):
        y = 28 + i * row_h
        m = result.metrics
        units = sorted({u for o, n in stores for u in range(o // unit, (o + n - 1) // unit + 1)})
        if len(units) != m["dirty_units"]:
            raise ValueError(
                f"dirty_tracking: {name}: drew {len(units)} dirty units, the run counted {m['dirty_units']}"
            )
        numbers[name] = {"dirty_units": m["dirty_units"], "bytes_flushed": m["bytes_flushed"]}
        col = theme.color(name) if _known(name) else theme.color("huge")
        s.text(0, y + 13, name, size=12, weight=600)
        s.text(
            0, y + 28, f"{m['dirty_units']} dirty, fsync flushes {_size(m['bytes_flushed'])}", size=11, fill=theme.MUTED
        )
        s.rect(left, y + 4, bar_w, 22, fill="#ffffff", stroke="#999999", rx=0)
        for u in units:
            x = left + bar_w * (u * unit) / end
            w = max(3.0, bar_w * min(unit, end - u * unit) / end)
            s.rect(x, y + 4, w, 22, fill=col, stroke=_darker(col), rx=0, opacity=0.9)
        for o, _ in stores:
            x = left + bar_w * o / end
            s.line(x, y, x, y + 30, stroke=theme.INK, width=1)
    caption = (
        f"Stores {ops!r} then fsync: each shaded span is a dirty unit that fsync writes back whole "
        "(counts from daxsim.run of option huge)."
    )
    return Diagram("dirty-tracking", s.render(), caption, numbers)


def _darker(c: str) -> str:
    return theme._shade(c, -0.2)


def _known(name: str) -> bool:
    try:
        theme.color(name)
        return True
    except ValueError:
        return False
