"""The mechanism experiments against daxsim: the kernel's own counts per O_DIRECT I/O
(GUP references, bio_vecs, dirtied and unpinned folios), truncate against in-flight DMA,
and what fsync writes back after 2-byte stores, each with daxsim's prediction."""

from __future__ import annotations

from pathlib import Path

from daxsim.book.lab.logs import RESULTS_DIR, load_results
from daxsim.emu.units import KiB, PAGE_SIZE, PMD_SIZE

__all__ = [
    "GUP_BUFFERS",
    "IO_LABELS",
    "IO_QUANTITIES",
    "call_totals",
    "daxsim_io_counts",
    "gup_counts_measured",
    "gup_counts_predictions",
    "gup_counts_table",
    "kernel_io_counts",
    "truncate_measured",
    "truncate_predictions",
    "truncate_table",
    "writeback_measured",
    "writeback_predictions",
    "writeback_table",
]

# --- the mechanisms: counts per I/O, truncate against in-flight DMA, 2 MiB write-back ---

#: what each counted quantity sums, by kernel function (the names of 6.1 and of later
#: kernels; a function that does not exist or is inlined on a kernel counts nothing there)
IO_QUANTITIES = {
    "get_calls": ("get_user_pages_fast",),  # FOLL_GET
    "pin_calls": ("pin_user_pages_fast",),  # FOLL_PIN
    "page_grabs": ("try_grab_folio", "try_grab_page", "try_grab_folio_fast"),
    "pgmap_lookups": ("get_dev_pagemap",),
    "merge_tries": ("__bio_try_merge_page", "bvec_try_merge_page"),
    "bvecs": ("__bio_add_page",),
    "bios_released": ("__bio_release_pages",),
    "folios_dirtied": ("folio_mark_dirty",),
    "devmap_puts": ("__put_devmap_managed_page_refs",),
    "unpins": ("gup_put_folio",),
}

#: the buffers of gup_counts: what daxsim option models each, and its compound page size
GUP_BUFFERS = {
    "fsdax-pte": {"option": "1a", "compound": PAGE_SIZE},
    "fsdax-pmd": {"option": "huge", "compound": PAGE_SIZE},  # fsdax PMDs map order-0 pages until 6.15
    "devdax-pmd": {"option": "huge", "compound": PMD_SIZE},  # device-dax compound pages since 5.17
}


def call_totals(calls: dict[str, int]) -> dict[str, int]:
    """``{"func<-caller": n}`` summed per function."""
    out: dict[str, int] = {}
    for k, v in calls.items():
        fn = k.split("<-", 1)[0]
        out[fn] = out.get(fn, 0) + v
    return out


def gup_counts_measured(parsed: dict) -> dict:
    """Per case (buffer-op-size): the kernel's calls during the N I/Os, in total and per I/O
    (:data:`IO_QUANTITIES`), the faults that mapped the buffer, and the traceable functions."""
    cases = {}
    for name, c in parsed.get("cases", {}).items():
        p, k = c["params"], c.get("klio", {})
        n = int(p["n"])
        calls = parsed.get("calls", {}).get(name, {})
        tot = call_totals(calls)
        ev = parsed.get("events", {}).get(name, {})
        cases[name] = {
            "buffer": name.rsplit("-", 2)[0],
            "map": p["map"],
            "op": p["op"],
            "size": int(p["size"]),
            "n": n,
            "ok": k.get("ok") == "1",
            "extents": int(k.get("extents", 0)),
            "phys_mod_2m": int(k.get("phys_mod_2m", 0)),
            "pmd_faults": ev.get("dax_pmd_fault_done:NOPAGE", 0),
            "pmd_fallbacks": ev.get("dax_pmd_fault_done:FALLBACK", 0),
            "pte_faults": ev.get("dax_pte_fault_done:NOPAGE", 0),
            "calls": calls,
            "totals": tot,
            "per_io": {q: sum(tot.get(f, 0) for f in fns) / n for q, fns in IO_QUANTITIES.items()},
        }
    return {
        "cases": cases,
        "traceable": parsed.get("traceable", []),
        "untraceable": parsed.get("untraceable", []),
        "graph": parsed.get("graph", {}),
    }


def daxsim_io_counts(option: str, op: str, size: int, n: int = 4, kernel: str = "6.1") -> dict:
    """daxsim's counters per I/O for ``n`` O_DIRECT I/Os of ``size`` (``op`` r or w) at
    consecutive offsets of a DAX buffer, with ``option`` (``1a``, or ``huge`` with 2 MiB
    mappings) as the ``kernel`` era does it: pages GUP returns, references it takes,
    bio_vecs, references dropped, pages dirtied."""
    from daxsim import Machine, Workload, run

    ops = ",".join(f"{op}{i * size}:{size}" for i in range(n))
    kw = {"page_size": "2M"} if option == "huge" else {}
    r = run(option, Machine(pmem="1G", dram="1G"), Workload(ops=ops, file_size="4M"), data=False, kernel=kernel, **kw)
    m = r.metrics
    refs = m["compound_refs"] if m["compound_refs"] else m["gup_pages"]
    return {
        "gup_pages": m["gup_pages"] / n,
        "refs": refs / n,
        "bvecs": m["descriptor_entries"] / n,
        "puts": m["put_pages"] / n,
        "dirtied": m["pages_dirtied"] / n,
    }


def kernel_io_counts(series: str, buffer: str, op: str, size: int, daxsim: dict, runs: int = 1) -> dict:
    """What Linux ``series`` (6.1 or 6.12) does per I/O: daxsim's counts at that era
    (:func:`daxsim_io_counts`), with the kernel's calls named, and device-dax's compound
    folios, which daxsim does not model (its huge option is an fsdax PMD mapping: order-0
    pages until 6.15).

    The kernel's rules, each measured by gup_counts on Debian 12's 6.1 (stable release
    6.1.192) and bookworm-backports' 6.12:

    - One GUP call per I/O: ``get_user_pages_fast`` (FOLL_GET) on 6.1, ``pin_user_pages_fast``
      (FOLL_PIN, from ``iov_iter_extract_pages``, 6.5 and later) on 6.12.
    - GUP references every 4 KiB page it returns, whatever maps it (a 4 KiB PTE, an fsdax
      PMD or a device-dax PMD over a compound page): daxsim's references at these eras. One
      ``get_dev_pagemap`` per page.
    - The block layer merges physically contiguous pages into one multi-page bio_vec:
      daxsim's bio_vecs at these eras (``runs`` contiguous runs). 6.1 offers every page to
      the merge; 6.12 adds the pages folio by folio (a compound device-dax folio in one
      piece) and offers each folio but the first of an empty bio.
    - Completion works per folio (``__bio_release_pages``, once per bio): a read dirties
      each folio (daxsim's pages dirtied, for fsdax's order-0 folios), and 6.12 unpins each
      folio once (``unpin_user_folio(folio, npages)``). Device-dax pages are compound folios
      (one per 2 MiB). On 6.1 the references are dropped inline: no call to count.
    """
    pages = daxsim["gup_pages"]
    compound = GUP_BUFFERS[buffer]["compound"]
    folios = pages if compound == PAGE_SIZE else -(-size // compound)
    dirtied = daxsim["dirtied"] if compound == PAGE_SIZE else (folios if op == "r" else 0)
    pin = series != "6.1"
    return {
        "get_calls": 0 if pin else 1,
        "pin_calls": 1 if pin else 0,
        "page_grabs": daxsim["refs"],
        "pgmap_lookups": pages,
        "merge_tries": folios - 1 if pin else pages,
        "bvecs": daxsim["bvecs"],
        "bios_released": 1,
        "folios_dirtied": dirtied,
        "devmap_puts": 0,
        "unpins": (daxsim["puts"] if compound == PAGE_SIZE else folios) if pin else 0,
    }


def gup_counts_predictions(measured: dict, series: str) -> dict:
    """daxsim's counters per I/O at the kernel's era (``daxsim``) and the kernel's counts they
    give (``kernel``, :func:`kernel_io_counts`) for every case of a gup_counts result."""
    out = {}
    for name, c in measured["cases"].items():
        opt = GUP_BUFFERS[c["buffer"]]["option"]
        d = daxsim_io_counts(opt, c["op"], c["size"], kernel=series)
        out[name] = {
            "option": opt,
            "daxsim": d,
            "kernel": kernel_io_counts(series, c["buffer"], c["op"], c["size"], d, runs=c["extents"]),
        }
    return out


def truncate_measured(parsed: dict) -> dict:
    """Per case: the punch's wait, the read's timeline and the other file's destroyed bytes
    (milliseconds of guest CLOCK_MONOTONIC; bytes), and the kernel's warnings."""
    out = {}
    for name, c in parsed.get("cases", {}).items():
        k = c.get("klio", {})
        ints = (
            "delay_ms",
            "giveup_ms",
            "read_ok",
            "in_flight_after_punch",
            "other_bytes",
            "overlap_bytes",
            "destroyed_bytes",
            "dev_bytes",
            "other_written_before_dma",
        )
        rec = {
            "mode": k.get("mode"),
            "punch": k.get("punch"),
            **{x: int(k[x]) for x in ints if x in k},
            **{x: float(k[x]) for x in ("wait_ms", "read_ms", "remaining_ms") if x in k},
            "warnings": [d.split(" ", 1)[1] for d in parsed.get("dmesg", []) if d.startswith(name + " ")],
        }
        out[name] = rec
    return out


#: daxsim's operation string for each truncate_wait mode: a 64 KiB read in flight, then the punch
TRUNCATE_OPS = {"mapped": "r0:64k,t0:64k", "munmap": "r0:64k,u0:4M,t0:64k"}  # munmap the whole 4 MiB file


def truncate_predictions(measured: dict, series: str = "6.1") -> dict:
    """daxsim option 1a's truncate against an in-flight 64 KiB read, as the ``series`` era
    does it: with the buffer mapped the truncate waits for the I/O (dax_layout_busy_page);
    with the buffer munmapped first (``u0:4M``, the whole file) the 4.18-6.14 kernels skip the wait, the
    freed blocks go to another file and the DMA destroys its bytes (``corrupted_bytes``)."""
    from daxsim import Machine, Workload, run

    out = {}
    for name, c in measured.items():
        w = Workload(ops=TRUNCATE_OPS[c["mode"]], file_size="4M")
        m = run("1a", Machine(pmem="1G", dram="1G"), w, kernel=series).metrics
        out[name] = {
            "truncate_waits": m["truncate_waits"],
            "wait_ios": m["wait_ios"],
            "corrupted_bytes": m["corrupted_bytes"],
            "victim_bytes_written": m["victim_bytes_written"],
        }
    return out


def writeback_measured(parsed: dict) -> dict:
    """Per mapping (pmd, pte): the units fsync flushed (dax_writeback_one: pgoff, pglen in
    4 KiB pages) and their bytes; the faults that mapped them."""
    out = {}
    for name, c in parsed.get("cases", {}).items():
        ones = [
            {"pgoff": int(w["pgoff"], 16), "pglen": int(w["pglen"], 16)} for w in parsed.get("wbone", {}).get(name, [])
        ]
        ev = parsed.get("events", {}).get(name, {})
        out[name] = {
            "size": int(c["params"]["size"]),
            "offsets": [int(x) for x in c["params"]["offsets"].split(",")],
            "ok": c.get("klio", {}).get("ok") == "1",
            "extents": int(c.get("klio", {}).get("extents", 0)),
            "units": ones,
            "bytes_flushed": sum(u["pglen"] for u in ones) * PAGE_SIZE,
            "pmd_faults": ev.get("dax_pmd_fault_done:NOPAGE", 0),
            "pte_faults": ev.get("dax_pte_fault_done:NOPAGE", 0),
        }
    return out


def writeback_predictions(measured: dict) -> dict:
    """daxsim's bytes_flushed for the same stores and fsync: option huge (2 MiB mapping,
    dirty tracking at mapping granularity) for the PMD mapping, option 1a for 4 KiB PTEs."""
    from daxsim import Machine, Workload, run

    out = {}
    for name, c in measured.items():
        ops = ",".join(f"s{o}:2" for o in c["offsets"]) + ",f0:0"
        w = Workload(ops=ops, file_size=c["size"])
        if name == "pmd":
            r = run("huge", Machine(pmem="1G", dram="1G"), w, page_size="2M", dirty_granularity="mapping")
        else:
            r = run("1a", Machine(pmem="1G", dram="1G"), w)
        out[name] = {
            "option": r.option,
            "bytes_flushed": r.metrics["bytes_flushed"],
            "dirty_units": r.metrics["dirty_units"],
        }
    return out


def _mech_results(test: str, results: Path | str = RESULTS_DIR) -> dict[str, dict]:
    """The committed results of one mechanism experiment, by kernel series."""
    return {r["experiment"].rsplit("-", 1)[1]: r for r in load_results(results).values() if r["test"] == test}


#: the gup_counts quantities as the chapter's table names them
IO_LABELS = {
    "page_grabs": "page references taken",
    "bvecs": "bio_vecs",
    "pgmap_lookups": "get_dev_pagemap",
    "folios_dirtied": "folios dirtied",
    "unpins": "folios unpinned",
    "get_calls": "get_user_pages_fast",
    "pin_calls": "pin_user_pages_fast",
}


def gup_counts_table(results: Path | str = RESULTS_DIR):
    """One row per kernel, buffer, direction and size: the kernel's counts per I/O, and
    daxsim's (references: 1a per page, huge per compound page; bio_vecs: one per page)."""
    import pandas as pd

    rows = []
    for series, r in _mech_results("gup_counts", results).items():
        for name, c in r["measured"]["cases"].items():
            d, k = r["predicted"][name]["daxsim"], r["predicted"][name]["kernel"]
            pi = c["per_io"]
            rows.append(
                {
                    "kernel": series,
                    "buffer": c["buffer"],
                    "I/O": f"{'read' if c['op'] == 'r' else 'write'} {c['size'] // KiB} KiB",
                    "daxsim option": r["predicted"][name]["option"],
                    "refs kernel": int(pi["page_grabs"]),
                    "refs daxsim": int(d["refs"]),
                    "bio_vecs kernel": int(pi["bvecs"]),
                    "bio_vecs daxsim": int(d["bvecs"]),
                    "dirtied kernel": int(pi["folios_dirtied"]),
                    "unpinned kernel": int(pi["unpins"]),
                    "GUP": "pin" if pi["pin_calls"] else "get",
                    "rule = kernel": all(pi[q] == v for q, v in k.items()),
                }
            )
    return pd.DataFrame(rows)


def truncate_table(results: Path | str = RESULTS_DIR):
    """One row per kernel and case: how long the punch waited, how long the DMA still had
    to go when it began, the give-up time, bytes of the other file destroyed; and daxsim's
    prediction (waits; destroys nothing)."""
    import pandas as pd

    rows = []
    for series, r in _mech_results("truncate_wait", results).items():
        for name, c in r["measured"].items():
            p = r["predicted"][name]
            rows.append(
                {
                    "kernel": series,
                    "mapping at truncate": "kept" if c["mode"] == "mapped" else "munmap'ed",
                    "give-up (ms)": c["giveup_ms"],
                    "DMA remaining (ms)": round(c["remaining_ms"]),
                    "truncate waited (ms)": round(c["wait_ms"]),
                    "other file destroyed (B)": c["destroyed_bytes"],
                    "daxsim: waits": bool(p["truncate_waits"]),
                    "daxsim: destroyed (B)": p["corrupted_bytes"],
                    "kernel warned": any("dax_disassociate_entry" in w for w in c["warnings"]),
                }
            )
    return pd.DataFrame(rows)


def writeback_table(results: Path | str = RESULTS_DIR):
    """One row per kernel and mapping: units fsync wrote back and their bytes, against daxsim."""
    import pandas as pd

    rows = []
    for series, r in _mech_results("pmd_writeback", results).items():
        for name, c in r["measured"].items():
            p = r["predicted"][name]
            rows.append(
                {
                    "kernel": series,
                    "mapping": "2 MiB PMD" if name == "pmd" else "4 KiB PTE",
                    "stores": len(c["offsets"]),
                    "units written back": len(c["units"]),
                    "unit (KiB)": ", ".join(
                        str(k) for k in sorted({u["pglen"] * PAGE_SIZE // KiB for u in c["units"]})
                    ),
                    "bytes flushed kernel": c["bytes_flushed"],
                    "daxsim option": p["option"],
                    "bytes flushed daxsim": p["bytes_flushed"],
                }
            )
    return pd.DataFrame(rows)
