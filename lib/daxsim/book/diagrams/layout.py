"""A namespace as ``nd_pfn_init()`` lays it out, and where DRAM pays with ``--map=mem``."""

from __future__ import annotations


from daxsim.book import theme
from daxsim.book.diagrams.drawing import WIDTH, Diagram, Svg, size_label, text_width


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
    s = Svg(WIDTH, len(maps) * row_h, f"namespace layout of {size} with --map={'/'.join(maps)}")
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
        s.text(left - 8, y + 16, f"pmem {size_label(pm)}", size=11, anchor="end")
        widths = [max(3.0, bar_w * b / pm) for _, b, _ in parts]
        widths[-1] = bar_w - sum(widths[:-1])
        x = left
        for (name, b, fill), w in zip(parts, widths):
            s.rect(x, y, w, 24, fill=fill, stroke="#777777", rx=0)
            if name == "data":
                s.text(x + w / 2, y + 16, f"data: {size_label(b)}", size=11, anchor="middle")
            x += w
        # the small parts, named under the bar
        x = left
        for name, b, fill in parts[:-1]:
            s.rect(x, y + 31, 9, 9, fill=fill, stroke="#777777", rx=1)
            label = f"{name} {size_label(b)}"
            s.text(x + 13, y + 39, label, size=10.5)
            x += 13 + text_width(label, 10.5) + 14
        s.text(
            WIDTH, y + 39, f"capacity lost: {size_label(lay.capacity_lost)}", size=10.5, anchor="end", fill=theme.MUTED
        )
        y = y0 + 80
        s.text(left - 8, y + 16, f"DRAM {size_label(dr)}", size=11, anchor="end")
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
            label = f"{name}: {size_label(b)}"
            if w > text_width(label, 10.5) + 10:
                s.text(x + 5, y + 16, label, size=10.5, fill="#ffffff")
            x += w
        s.rect(x, y, left + bar_w - x, 24, fill="#ffffff", stroke="#777777", rx=0)
        s.text(
            left + bar_w - 6,
            y + 16,
            f"left for the kernel: {size_label(dr - own - lay.memmap_dram_bytes)}",
            size=10.5,
            anchor="end",
            fill=theme.MUTED,
        )
        if not lay.memmap_dram_bytes:
            s.text(left + 10, y + 16, f"DRAM's own memmap: {size_label(own)}", size=10.5, fill=theme.MUTED)
    caption = (
        f"A {size_label(pm)} fsdax namespace on a machine with {size_label(dr)} of DRAM, laid out as nd_pfn_init() "
        "does (daxsim.namespace_layout); each bar to its own scale, parts under 3 px drawn at 3 px."
    )
    return Diagram("namespace-layout", s.render(), caption, numbers)
