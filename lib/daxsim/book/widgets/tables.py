"""The HTML tables the explorers print: one row per option, every cell formatted here.

:func:`result_table` is the chapters' explorer's table (time per I/O, copies, DMA,
allocations, GUP pages, memmap in DRAM and on pmem, the transient DRAM peak; with
``extra`` descriptor entries, pool stalls, truncate waits and corrupted bytes);
:func:`store_table` adds huge's and nvram's references, stores, flushes and memmap wear;
:func:`live_table` is the live explorer's, read from a comparison frame (time per
operation: the workload's I/Os, stores and fsyncs), :func:`verdict_line` the line under it
(the fastest and the leanest feasible, safe option by :func:`daxsim.book.verdict.annotate`'s
rule, ranked by its :data:`~daxsim.book.verdict.TIME`: time per operation),
:func:`power_table` the power cut's outcome.
"""

from __future__ import annotations

import html

from daxsim.book.verdict import TIME, annotate
from daxsim.book.widgets.common import _size
from daxsim.emu.units import format_size

__all__ = ["live_table", "power_table", "result_table", "store_table", "verdict_line"]


def _label(r) -> str:
    """A result's name in the chapters' tables: ``"2 + guard"``."""
    return r.spec.label.removeprefix("option ")


def result_table(results, extra=False) -> str:
    rows = []
    for r in results:
        m = r.metrics
        more = ""
        if extra:
            more = (
                f"<td>{m['descriptor_entries']:,}</td><td>{m['pool_stalls']:,}</td>"
                f"<td>{m['truncate_waits']:,}</td>"
                f"<td>{format_size(m['corrupted_bytes']) if m['corrupted_bytes'] else '0'}</td>"
            )
        if r.feasible:
            t = f"{r.modelled.per_io_ns:,.0f}"
            status = "feasible"
        else:
            t = "&ndash;"
            status = "infeasible: " + html.escape(r.reason)
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(_label(r))}</b></td>"
            f"<td>{t}</td>"
            f"<td>{format_size(m['bytes_cpu_copied']) if m['bytes_cpu_copied'] else '0'}</td>"
            f"<td>{format_size(m['bytes_dma']) if m['bytes_dma'] else '0'}</td>"
            f"<td>{m['allocations']:,}</td>"
            f"<td>{m['gup_pages']:,}</td>"
            f"<td>{format_size(m['memmap_dram_bytes']) if m['memmap_dram_bytes'] else '0'}</td>"
            f"<td>{format_size(m['memmap_pmem_bytes']) if m['memmap_pmem_bytes'] else '0'}</td>"
            f"<td>{format_size(m['transient_dram_peak_bytes']) if m['transient_dram_peak_bytes'] else '0'}</td>"
            f"{more}<td class='daxsim-status'>{status}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>option</th><th>modelled ns per I/O</th><th>CPU-copied</th><th>DMA</th>"
        "<th>page allocations</th><th>GUP pages</th><th>memmap in DRAM</th><th>memmap on pmem</th>"
        "<th>transient DRAM peak</th>"
        + ("<th>descriptor entries</th><th>pool stalls</th><th>truncate waits</th><th>corrupted</th>" if extra else "")
        + "<th>status</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


def store_table(results) -> str:
    """Option huge's and nvram's extra columns: references, stores, flushes, media lines, memmap wear."""
    rows = []
    for r in results:
        m = r.metrics
        mod = r.modelled
        rows.append(
            "<tr>"
            f"<td><b>{html.escape(_label(r))}</b></td>"
            f"<td>{m['refcount_ops']:,}</td><td>{m['compound_refs']:,}</td>"
            f"<td>{m['stores']:,}</td><td>{format_size(m['bytes_flushed']) if m['bytes_flushed'] else '0'}</td>"
            f"<td>{m['xplines_dirtied']:,}</td>"
            f"<td>{f'{mod.fsync_ns:,.0f}' if mod else '&ndash;'}</td>"
            f"<td>{m['memmap_line_writes']:,}</td><td>{m['memmap_line_max_writes']:,}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>option</th><th>refcount changes</th><th>compound refs</th><th>stores</th>"
        "<th>bytes flushed</th><th>XPLines dirtied</th><th>modelled ns per fsync</th>"
        "<th>memmap line writes</th><th>most writes to one line</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


def live_table(df) -> str:
    rows = []
    for r in df.itertuples():
        t = "&ndash;" if r.status == "infeasible" else f"{r.op_ns:,.0f}"
        status = html.escape(r.status + (f": {r.reason}" if r.reason else ""))
        rows.append(
            f"<tr class='daxsim-row' data-option='{html.escape(r.label)}'><td><b>{html.escape(r.label)}</b></td>"
            f"<td class='daxsim-status'>{status}</td><td class='daxsim-ns'>{t}</td><td>{_size(r.dram_held_bytes)}</td>"
            f"<td>{_size(r.memmap_dram_bytes)}</td><td>{_size(r.memmap_pmem_bytes)}</td>"
            f"<td>{_size(r.transient_dram_peak_bytes)}</td><td>{_size(r.bytes_cpu_copied)}</td>"
            f"<td class='daxsim-truncates'>{r.truncates:,}</td><td>{r.truncate_waits:,}</td>"
            f"<td class='daxsim-corrupted'>{_size(r.corrupted_bytes)}</td></tr>"
        )
    head = (
        "<tr><th>option</th><th>status</th><th>modelled ns per operation</th><th>DRAM held</th><th>memmap in DRAM</th>"
        "<th>memmap on pmem</th><th>transient DRAM peak</th><th>CPU-copied</th><th>truncates</th>"
        "<th>truncate waits</th><th>corrupted</th></tr>"
    )
    return f"<table class='daxsim-result-table'>{head}{''.join(rows)}</table>"


def power_table(rows) -> str:
    """The power cut's outcome, one row per option: ``(label, crash's dict, recover's dict)``."""
    body = "".join(
        f"<tr><td><b>{html.escape(label)}</b></td><td>{b['submitted']}</td><td>{b['completed']}</td>"
        f"<td>{b['inflight_lost']}</td><td>{_size(a['bytes_checked'])}</td>"
        f"<td class='daxsim-lost'>{a['bytes_lost']:,}</td><td>{a['stale_struct_pages']:,}</td>"
        f"<td>{a['memmap_reinit_s'] * 1e3:,.1f}</td></tr>"
        for label, b, a in rows
    )
    return (
        "<table class='daxsim-result-table'><tr><th>option</th><th>I/Os submitted</th>"
        "<th>completed</th><th>lost in flight</th><th>bytes checked</th><th>bytes lost</th>"
        "<th>stale struct pages (memmap on pmem)</th><th>memmap re-init (ms, emulator)</th></tr>"
        f"{body}</table>"
    )


def verdict_line(df) -> str:
    """One line: the fastest and the leanest option among the feasible, safe ones, by the
    rule of :func:`daxsim.book.verdict.annotate` (an option unsafe by design, as option 2
    without its guard, is never safe, truncate or not), ranked by :data:`daxsim.book.verdict.TIME`; and the
    unsafe option that is faster than the winner, if one is."""
    a = annotate(df)
    ok = a[a["safe"]]
    if ok.empty:
        return "No option chosen is both feasible and safe here."
    fast = ok.loc[ok[TIME].idxmin()]
    lean = ok.sort_values(["dram_held_bytes", TIME], kind="stable").iloc[0]
    line = (
        f"Fastest feasible and safe: {fast['label']} ({fast[TIME]:,.0f} ns per operation). "
        f"Least DRAM held: {lean['label']} ({_size(lean['dram_held_bytes'])})."
    )
    unsafe = a[a["feasible"] & ~a["safe"] & (a[TIME] < fast[TIME])]
    if len(unsafe):
        u = unsafe.loc[unsafe[TIME].idxmin()]
        line += f" {u['label']} is faster ({u[TIME]:,.0f} ns) but not safe ({u['safety'].removeprefix('hazard: ')})."
    return line
