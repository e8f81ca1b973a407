"""Short reports for the book: the counters that matter, not every zero.

:func:`brief` keeps what :func:`daxsim.study.report.text_report` prints (its formatting,
so that two modes never print the same thing differently) but drops the counters that
are zero, lays the rest out in two columns and writes the modelled time as a sum of its
non-zero parts. The parameter line comes first, wrapped, so any run can be repeated.
"""

from __future__ import annotations

import re
import textwrap

from daxsim.study.report import text_report

__all__ = ["brief", "counters", "span"]

_LINE = re.compile(r"^  (\S+(?: \S+)*?)\s{2,}(\S.*)$")
_ZERO = {"0", "0.0", "0 s (modelled)", "0 ns (modelled)"}
#: counters shown even when zero, because their zero is the point (no copy, no corruption)
ALWAYS = ("bytes_cpu_copied", "corrupted_bytes")


def counters(result) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]], str | None]:
    """``(parameters, counters, time parts, memmap init)`` read off the text report."""
    lines = text_report(result).splitlines()
    args = lines[0]
    rows, parts, init, in_parts = [], [], None, False
    for line in lines[1:]:
        if line.startswith("    ") and in_parts:
            name, value = line.split(None, 1)
            parts.append((name, value.strip()))
            continue
        m = _LINE.match(line)
        if not m:
            continue
        name, value = m.group(1), m.group(2).strip()
        in_parts = name == "modelled ns per I/O"
        if in_parts:
            rows.append((name, value))
        elif name == "memmap init at boot":
            init = value
        elif name != "emulator wall time":
            rows.append((name, value))
    return args, rows, parts, init


def brief(result, keep=ALWAYS, width: int = 78) -> str:
    """The run's parameters, its non-zero counters in two columns, and the modelled time
    per I/O as the sum of its non-zero parts."""
    args, rows, parts, init = counters(result)
    total = next((v for n, v in rows if n == "modelled ns per I/O"), None)
    shown = [(n, v) for n, v in rows if n != "modelled ns per I/O" and (v not in _ZERO or n in keep)]
    zero = [n for n, v in rows if v in _ZERO and n not in keep]
    out = textwrap.wrap(args, width, subsequent_indent="    ", break_on_hyphens=False)
    half = (len(shown) + 1) // 2
    cols = [shown[:half], shown[half:]]

    def column(rows):
        nw = max((len(n) for n, _ in rows), default=0)
        vw = max((len(v) for _, v in rows), default=0)
        return [f"{n:<{nw}}  {v:>{vw}}" for n, v in rows]

    left, right = column(cols[0]), column(cols[1])
    if left and right and 2 + len(left[0]) + 4 + len(right[0]) > width:  # too wide for two columns
        left, right = column(shown), []
    for i, a in enumerate(left):
        b = right[i] if i < len(right) else ""
        out.append(f"  {a}    {b}".rstrip())
    if total is not None:
        nonzero = [(n, v) for n, v in parts if v not in _ZERO]
        nonzero.sort(key=lambda p: -float(p[1].replace(",", "")))
        sums = " + ".join(f"{n} {float(v.replace(',', '')):,.0f}" for n, v in nonzero)
        out += textwrap.wrap(f"modelled time per I/O: {total} ns = {sums}", width, subsequent_indent="    ")
    elif not result.feasible:
        out += textwrap.wrap(f"infeasible: {result.reason}", width, subsequent_indent="    ")
    if init and init not in _ZERO:
        out.append(f"memmap init at boot: {init}")
    if zero:
        out.append(f"({len(zero)} other counters are zero)")
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent="    ") if not line.startswith("  ") else line for line in out
    )


def span(values, fmt: str = "{:,.2f}", dash: str = "–") -> str:
    """``"0.9–1.1"`` for a range of values as they will be read, or one number when the
    ends read the same ("0.18", never "0.18–0.18")."""
    vals = [v for v in values]
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return lo if lo == hi else f"{lo}{dash}{hi}"
