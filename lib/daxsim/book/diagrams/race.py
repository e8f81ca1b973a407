"""The truncate/DMA race as swim-lanes: one lane per actor, one row per event."""

from __future__ import annotations


from daxsim.book import theme
from daxsim.book.diagrams.drawing import WIDTH, Diagram, Svg


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
    s = Svg(WIDTH, sum(heights) + 4, "the truncate/DMA race as swim lanes")
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
