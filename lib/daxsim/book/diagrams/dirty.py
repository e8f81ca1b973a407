"""Which bytes a huge page's dirty bit makes ``fsync`` flush."""

from __future__ import annotations


from daxsim.book import theme
from daxsim.book.diagrams.drawing import WIDTH, Diagram, Svg, darker, known, size_label


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
    s = Svg(WIDTH, 40 + row_h * len(runs) + 8, "dirty tracking per unit")
    s.text(left, 14, f"the file's first {size_label(end)}; ticks: the {len(stores)} stores", size=11, fill=theme.MUTED)
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
        col = theme.color(name) if known(name) else theme.color("huge")
        s.text(0, y + 13, name, size=12, weight=600)
        s.text(
            0,
            y + 28,
            f"{m['dirty_units']} dirty, fsync flushes {size_label(m['bytes_flushed'])}",
            size=11,
            fill=theme.MUTED,
        )
        s.rect(left, y + 4, bar_w, 22, fill="#ffffff", stroke="#999999", rx=0)
        for u in units:
            x = left + bar_w * (u * unit) / end
            w = max(3.0, bar_w * min(unit, end - u * unit) / end)
            s.rect(x, y + 4, w, 22, fill=col, stroke=darker(col), rx=0, opacity=0.9)
        for o, _ in stores:
            x = left + bar_w * o / end
            s.line(x, y, x, y + 30, stroke=theme.INK, width=1)
    caption = (
        f"Stores {ops!r} then fsync: each shaded span is a dirty unit that fsync writes back whole "
        "(counts from daxsim.run of option huge)."
    )
    return Diagram("dirty-tracking", s.render(), caption, numbers)
