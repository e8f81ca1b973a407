"""Each option's I/O path, one lane per option, four steps, with the counts of one I/O."""

from __future__ import annotations


from daxsim.book import theme
from daxsim.book.diagrams.drawing import WIDTH, Diagram, Svg, size_label


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
    moved = size_label(m["bytes_dma"])
    dev = "device ↔ pmem"
    if option == "0":
        return [
            ("no struct page:", _plural(m["allocations"], "bounce page")),
            (_plural(entries, "bio_vec"), "→ DRAM pages"),
            ("device ↔ DRAM", moved),
            (f"CPU copies {size_label(m['bytes_cpu_copied'])}", f"frees {m['allocations']} pages"),
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
    s = Svg(WIDTH, top + lane_h * len(options) + 6, f"I/O paths of options {', '.join(options)}")
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
    size = size_label(workload.generate()[2][0])
    caption = (
        f"One O_DIRECT {'read' if ops.startswith('r') else 'write'} of {size} into a DAX-mapped buffer, "
        f"step by step: counts from daxsim.run on {size_label(machine.pmem)} of pmem and {size_label(machine.dram)} "
        f"of DRAM as Linux {kernel} does it, time per I/O modelled on {hardware}."
    )
    return Diagram("io-paths", s.render(), caption, numbers)
