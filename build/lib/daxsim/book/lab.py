"""The real-kernel lab's results: parse the guests' serial logs, and hold daxsim's model
to what the kernel measured.

The experiments (:data:`EXPERIMENTS`) are run by ``lab/runner.py`` (``make lab``): one
guest boot each under QEMU with an emulated NVDIMM, one JSON per experiment under
``lab/results/``. The guest prints ``KL: <key> <values...>`` lines (``lab/tests/*.sh``);
:func:`parse_log` turns a serial log into a dict, :func:`ns_cost_measured` into the
measured quantities, :func:`kernel_layout` predicts them from daxsim's model plus what
the kernel adds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from daxsim.book import checkout
from daxsim.emu.machine import namespace_layout
from daxsim.emu.units import KiB, MiB, PAGE_SIZE, PMD_SIZE, SECTION_SIZE, STRUCT_PAGE_SIZE, align_up, parse_size

LAB_DIR = checkout("lab")
RESULTS_DIR = LAB_DIR / "results"

#: memremap_compat_align() on x86: SUBSECTION_SIZE. nd_pfn_init() aligns the data offset
#: to max(--align, this), so a 4K-aligned namespace still pads its info block to 2 MiB.
MEMREMAP_COMPAT_ALIGN = PMD_SIZE




# --- the serial log -------------------------------------------------------------------

# --- the experiments ------------------------------------------------------------------

def _ns(mode, map_, size, align):
    name = f"ns_cost-{mode}-{map_}-{size}-{align}"
    return {"name": name, "test": "ns_cost",
            "params": {"mode": mode, "map": map_, "size": size, "align": align}}


#: memmap cost (option 1a / nvram): a small matrix, one boot each
EXPERIMENTS = [
    *[_ns(mode, map_, size, "2M") for mode in ("fsdax", "devdax") for map_ in ("mem", "dev")
      for size in ("1G", "2G")],
    _ns("fsdax", "mem", "1G", "4K"),
    _ns("fsdax", "dev", "1G", "4K"),
    _ns("devdax", "mem", "1G", "4K"),
    _ns("devdax", "mem", "2G", "1G"),
    _ns("devdax", "dev", "2G", "1G"),
]
#: pmem as System RAM (kmem), with and without memory_hotplug.memmap_on_memory
EXPERIMENTS += [
    {"name": "kmem-devdax-dev-2G", "test": "kmem", "params": {"map": "dev", "size": "2G"}},
    {"name": "kmem-devdax-mem-2G", "test": "kmem", "params": {"map": "mem", "size": "2G"}},
    {"name": "kmem-devdax-dev-2G-memmap_on_memory", "test": "kmem", "params": {"map": "dev", "size": "2G"},
     "cmdline": ["memory_hotplug.memmap_on_memory=1"]},
]
#: O_DIRECT with a DAX mapping as the user buffer, and long-term pins of it (one boot)
EXPERIMENTS += [{"name": "odirect", "test": "odirect", "params": {}}]
#: persistence: data stored through DAX mappings survives a power-off with no sync
EXPERIMENTS += [{"name": "persistence", "test": "persistence", "params": {},
                 "boots": [("persist_write", ["kl.nosync=1"]), ("persist_read", [])]}]
#: the mechanisms, on each kernel (``kernel``: lab/work for Debian 12's, lab/work/backports
#: for bookworm-backports'; the name ends with the kernel series the guest must report)
KERNELS = {"6.1": "debian", "6.12": "backports"}
EXPERIMENTS += [
    {"name": f"{test}-{series}", "test": test, "params": params, "kernel": kernel, "series": series}
    for series, kernel in KERNELS.items()
    for test, params in (("gup_counts", {"n": 32}), ("truncate_wait", {"delay": 3000}), ("pmd_writeback", {}))
]
SMOKE = {"name": "smoke", "test": "smoke", "params": {}}


class LabLogError(ValueError):
    """A serial log the lab cannot use (no KL: lines, a missing end, a failed test)."""


def parse_log(text: str) -> dict:
    """Parse the ``KL:`` lines of a guest's serial log.

    Returns a dict with ``test``, ``uname``, ``ndctl``, ``uptime_s``, ``status``,
    ``region`` (size, available, align), ``meminfo`` ({tag: {memtotal_kb, memfree_kb,
    pcp_pages}}), ``times_ms`` (one per timed command, with its exit status), ``ns``
    (ndctl's JSON), ``attrs`` ({device: {attr: value}}), ``blockdev``, ``daxdev``,
    ``errors`` and the raw ``kl`` lines. Raises :class:`LabLogError` when the log has
    no ``KL: begin`` or no ``KL: end`` line (the guest did not finish).
    """
    out: dict = {"meminfo": {}, "times_ms": [], "attrs": {}, "blockdev": {}, "daxdev": {},
                 "errors": [], "kl": [], "ns": None, "status": None}
    case: dict = {}
    ended = False
    for line in text.splitlines():
        # ndctl's stderr can share a console line with the KL: line that follows it
        m = re.search(r"KL: (\S+) ?(.*)$", line.rstrip("\r"))
        if not m:
            continue
        key, rest = m.group(1), m.group(2).strip()
        out["kl"].append(f"{key} {rest}".strip())
        f = rest.split()
        try:
            if key == "begin":
                out["test"] = rest
            elif key == "end":
                ended = True
            elif key == "uname":
                out["uname"] = rest
            elif key == "ndctl":
                out["ndctl"] = rest
            elif key == "uptime":
                out["uptime_s"] = float(f[0])
            elif key == "status":
                out["status"] = int(f[0])
            elif key == "region":
                out["region"] = {"size": int(f[0]), "available": int(f[1]), "align": int(f[2], 0)}
            elif key == "meminfo":
                out["meminfo"][f[0]] = {"memtotal_kb": int(f[1]), "memfree_kb": int(f[2]), "pcp_pages": int(f[3])}
            elif key == "time":
                out["times_ms"].append({"ms": float(f[0]), "exit": int(f[1])})
            elif key == "ns":
                out["ns"] = json.loads(rest) if rest else None
            elif key == "attr":
                out["attrs"][f[0]] = dict(kv.split("=", 1) for kv in f[1:])
            elif key == "blockdev":
                out["blockdev"][f[0]] = int(f[1])
            elif key == "daxdev":
                out["daxdev"][f[0]] = dict(kv.split("=", 1) for kv in f[1:])
            elif key == "blocks":
                out.setdefault("blocks", {})[f[0]] = {"total": int(f[1]), "online": int(f[2])}
            elif key == "block_size":
                out["block_size"] = int(f[0], 16)
            elif key == "memmap_on_memory":
                out["memmap_on_memory"] = rest
            elif key == "odirect":
                out.setdefault("odirect", []).append(
                    {"buf": f[0], "target": f[1], **dict(kv.split("=", 1) for kv in f[2:])})
            elif key == "pin":
                out.setdefault("pin", {})[f[0]] = dict(kv.split("=", 1) for kv in f[1:])
            elif key == "devices":
                out["devices"] = f
            elif key == "case":
                case = {"name": f[0], "params": _kv(f[1:]), "steps": []}
                out.setdefault("cases", {})[f[0]] = case
            elif key == "klio":
                target = out["cases"][case["name"]] if out.get("cases") else out.setdefault("klio", {})
                if f[0] == "step":
                    target["steps"].append(f[1:])
                else:
                    target["klio"] = _kv(f[1:])
            elif key in ("calls", "events", "graph"):
                out.setdefault(key, {})[f[0]] = {k: int(v) for k, v in (kv.rsplit("=", 1) for kv in f[1:])}
            elif key in ("traceable", "untraceable", "events_missing"):
                out[key] = f
            elif key == "stage":
                out.setdefault("stages", {})[f[0]] = float(f[1])
            elif key in ("wbone", "wbrange"):
                out.setdefault(key, {}).setdefault(f[0], []).append(_kv(f[1:]))
            elif key in ("cmd", "meminfo_raw", "mount", "dmesg"):
                out.setdefault(key, []).append(rest)
            elif key == "error":
                out["errors"].append(rest)
            else:
                out.setdefault("other", {})[key] = rest
        except (IndexError, ValueError) as e:
            raise LabLogError(f"serial log: cannot parse line {line.strip()!r} ({e})") from None
    if "test" not in out:
        raise LabLogError("serial log: no 'KL: begin' line (the guest never reached /init)")
    if not ended:
        raise LabLogError(f"serial log: no 'KL: end' line for test {out['test']!r} (the guest died or timed out)")
    return out


def _kv(fields: list[str]) -> dict:
    """``k=v`` fields as a dict (values stay strings)."""
    return dict(kv.split("=", 1) for kv in fields)


def free_kb(meminfo: dict) -> int:
    """Free DRAM as the buddy allocator sees it: MemFree plus the per-CPU page lists."""
    return meminfo["memfree_kb"] + meminfo["pcp_pages"] * PAGE_SIZE // KiB


def ns_cost_measured(parsed: dict) -> dict:
    """The measured quantities of an ``ns_cost`` log: DRAM consumed by creating the
    namespace, its size, usable size, capacity lost and creation time."""
    ns = parsed["ns"]
    if not ns:
        raise LabLogError(f"serial log: test {parsed.get('test')!r} printed no namespace (ndctl failed?)")
    mi = parsed["meminfo"]
    if "before" not in mi or "after" not in mi:
        raise LabLogError("serial log: meminfo before/after missing")
    raw_size = int(parsed["attrs"].get("namespace0.0", {}).get("size", "0") or 0)
    usable = int(ns["size"])
    return {
        "namespace_size": raw_size,
        "usable_size": usable,
        "capacity_lost": raw_size - usable,
        "dram_consumed": (free_kb(mi["before"]) - free_kb(mi["after"])) * KiB,
        "memtotal_delta": (mi["after"]["memtotal_kb"] - mi["before"]["memtotal_kb"]) * KiB,
        "create_ms": parsed["times_ms"][0]["ms"] if parsed["times_ms"] else None,
        "create_exit": parsed["times_ms"][0]["exit"] if parsed["times_ms"] else None,
        "align": int(ns.get("align", 0)) or None,
    }


# --- daxsim's predictions, and what the kernel adds to them ---------------------------

def model_layout(size: int, mode: str, map_: str, align: int):
    """daxsim's own model (``namespace_layout``); devdax is laid out as fsdax is."""
    return namespace_layout(size, "fsdax", map_, align)


def kernel_layout(size: int, mode: str, map_: str, align: int) -> dict:
    """What Linux 6.1 does, as a small extension of :func:`daxsim.namespace_layout`.

    - nd_pfn_init() aligns the data offset to max(align, memremap_compat_align()), which
      is 2 MiB on x86, so a 4K-aligned namespace also loses 2 MiB to its info block.
    - devdax with ``--map=mem`` and an alignment above 4K uses compound pages, and
      vmemmap_populate_compound_pages() maps only two vmemmap pages per compound page
      (the head and one tail page; the other tail pages map the same page), and for a
      compound page larger than a section, none for the sections after its first.
      Those vmemmap pages are mapped with 4K PTEs: one page table per section.
    - the 2 MiB vmemmap blocks of ``--map=mem`` fsdax are PMD-mapped; their page tables
      (one PMD page per GiB of vmemmap) are below the lab's noise and left out.
    """
    eff_align = max(align, MEMREMAP_COMPAT_ALIGN)
    lay = namespace_layout(size, "fsdax", map_, eff_align)
    dram = lay.memmap_dram_bytes
    if mode == "devdax" and map_ == "mem" and align > PAGE_SIZE:
        vmemmap_pages = 2 * (size // align)
        page_tables = (size // SECTION_SIZE) * PAGE_SIZE
        dram = vmemmap_pages * PAGE_SIZE + page_tables
    return {"memmap_dram_bytes": dram, "memmap_pmem_bytes": lay.memmap_pmem_bytes,
            "capacity_lost": lay.capacity_lost, "dataoff": lay.dataoff}


def predictions(params: dict) -> dict:
    """daxsim's prediction (``model``) and the kernel-extended one (``kernel``) for an
    ns_cost experiment's parameters."""
    size, align = parse_size(params["size"]), parse_size(params["align"])
    m = model_layout(size, params["mode"], params["map"], align)
    return {
        "model": {"memmap_dram_bytes": m.memmap_dram_bytes, "memmap_pmem_bytes": m.memmap_pmem_bytes,
                  "capacity_lost": m.capacity_lost, "dataoff": m.dataoff},
        "kernel": kernel_layout(size, params["mode"], params["map"], align),
    }


def kmem_measured(parsed: dict) -> dict:
    """The measured quantities of a ``kmem`` log: System RAM added, the DRAM its memmap
    took (free pages before and after the memory was added, still offline), memory
    blocks added (net of the devdax memmap freed when device_dax lets go of the range),
    and how much of the devdax range was lost to memory-block rounding."""
    mi, blocks = parsed["meminfo"], parsed.get("blocks", {})
    for tag in ("devdax", "added", "online", "offline"):
        if tag not in mi:
            raise LabLogError(f"serial log: kmem meminfo {tag!r} missing")
    dax = parsed["daxdev"].get("dax0.0", {})
    dax_size = int(dax.get("size", 0))
    added = (mi["online"]["memtotal_kb"] - mi["devdax"]["memtotal_kb"]) * KiB
    times = [t["ms"] for t in parsed["times_ms"]]
    return {
        "namespace_size": int(parsed["attrs"]["namespace0.0"]["size"]),
        "namespace_start": int(parsed["attrs"]["namespace0.0"]["resource"], 16),
        "dax_size": dax_size, "dax_start": int(dax.get("start", "0"), 16),
        "block_size": parsed.get("block_size"),
        "memmap_on_memory": parsed.get("memmap_on_memory"),
        "ram_added": added,
        "lost_to_block_rounding": dax_size - added,
        "blocks_added": blocks["added"]["total"] - blocks["devdax"]["total"],
        "blocks_online": blocks["online"]["online"] - blocks["devdax"]["online"],
        "dram_consumed": (free_kb(mi["devdax"]) - free_kb(mi["added"])) * KiB,
        "memtotal_after_offline_delta": (mi["offline"]["memtotal_kb"] - mi["devdax"]["memtotal_kb"]) * KiB,
        "create_ms": times[0] if times else None,
        "reconfigure_ms": times[1] if len(times) > 1 else None,
        "online_ms": times[2] if len(times) > 2 else None,
        "offline_ms": times[3] if len(times) > 3 else None,
    }


def kmem_layout(size: int, map_: str, start: int, block_size: int, align: int = PMD_SIZE,
                memmap_on_memory: bool = False) -> dict:
    """System RAM that dax_kmem adds for a devdax namespace at physical ``start``.

    dev_dax_kmem_probe() trims the device range to whole memory blocks (start rounded up,
    end rounded down to ``memory_block_size_bytes()``); the hot-plugged memory gets an
    ordinary vmemmap in DRAM, 64 bytes per 4 KiB page. Linux 6.1's kmem does not pass
    MHP_MEMMAP_ON_MEMORY (that came in 6.5), so ``memmap_on_memory`` changes nothing
    here; the argument is kept for the kernels that honour it. ``dram_consumed`` is net
    of the devdax memmap (``--map=mem``) that is freed when device_dax unbinds.
    """
    lay = kernel_layout(size, "devdax", map_, align)
    dax_start, dax_end = start + lay["dataoff"], start + size
    first = align_up(dax_start, block_size)
    last = dax_end // block_size * block_size
    added = max(0, last - first)
    memmap = 0 if memmap_on_memory else added // PAGE_SIZE * STRUCT_PAGE_SIZE
    return {"dax_size": dax_end - dax_start, "ram_added": added, "blocks_added": added // block_size,
            "lost_to_block_rounding": dax_end - dax_start - added, "memmap_dram_bytes": memmap,
            "devdax_memmap_freed": lay["memmap_dram_bytes"],
            "dram_consumed": memmap - lay["memmap_dram_bytes"]}


def kmem_predictions(params: dict, measured: dict) -> dict:
    """The kmem prediction for an experiment, given where the kernel placed the region
    (``namespace_start``) and its memory block size: inputs, not results."""
    return {"kernel": kmem_layout(parse_size(params["size"]), params["map"], measured["namespace_start"],
                                  measured["block_size"])}


# --- the committed results as tables (the chapter) -----------------------------------

def load_results(results: Path | str = RESULTS_DIR) -> dict[str, dict]:
    """Every committed result, by experiment name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(results).glob("*.json"))}


def ns_cost_table(results: Path | str = RESULTS_DIR):
    """One row per memmap-cost experiment: measured, daxsim's model, model + kernel (MiB)."""
    import pandas as pd
    rows = []
    for r in load_results(results).values():
        if r["test"] != "ns_cost":
            continue
        p, m, pr = r["params"], r["measured"], r["predicted"]
        rows.append({
            "mode": p["mode"], "map": p["map"], "size": p["size"], "align": p["align"],
            "DRAM measured": m["dram_consumed"] / MiB,
            "DRAM daxsim": pr["model"]["memmap_dram_bytes"] / MiB,
            "DRAM daxsim+kernel": pr["kernel"]["memmap_dram_bytes"] / MiB,
            "lost measured": m["capacity_lost"] / MiB,
            "lost daxsim": pr["model"]["capacity_lost"] / MiB,
            "lost daxsim+kernel": pr["kernel"]["capacity_lost"] / MiB,
            "create (ms, TCG)": m["create_ms"],
        })
    return pd.DataFrame(rows).sort_values(["mode", "map", "align", "size"], ignore_index=True)


def ns_cost_long(results: Path | str = RESULTS_DIR):
    """:func:`ns_cost_table` in long form for a chart: one row per experiment, quantity
    (DRAM consumed, pmem capacity lost) and source (measured, daxsim, daxsim+kernel)."""
    import pandas as pd
    t = ns_cost_table(results)
    rows = []
    for _, r in t.iterrows():
        config = f"{r['mode']} {r['map']} {r['align']}"
        for q, label in (("DRAM", "DRAM consumed"), ("lost", "pmem capacity lost")):
            for src in ("measured", "daxsim", "daxsim+kernel"):
                rows.append({"namespace": config, "size": r["size"], "quantity": label,
                             "source": "kernel (measured)" if src == "measured" else src,
                             "MiB": round(r[f"{q} {src}"], 3)})
    return pd.DataFrame(rows)


def kmem_table(results: Path | str = RESULTS_DIR):
    """One row per kmem experiment: measured against predicted (MiB)."""
    import pandas as pd
    rows = []
    for r in load_results(results).values():
        if r["test"] != "kmem":
            continue
        m, pk = r["measured"], r["predicted"]["kernel"]
        rows.append({
            "devdax": f"--map={r['params']['map']} {r['params']['size']}",
            "memmap_on_memory": m["memmap_on_memory"],
            "RAM added measured": m["ram_added"] / MiB, "RAM added predicted": pk["ram_added"] / MiB,
            "lost to blocks measured": m["lost_to_block_rounding"] / MiB,
            "lost to blocks predicted": pk["lost_to_block_rounding"] / MiB,
            "DRAM taken measured": round(m["dram_consumed"] / MiB, 2),
            "DRAM taken predicted": round(pk["dram_consumed"] / MiB, 2),
            "online (ms, TCG)": m["online_ms"],
        })
    return pd.DataFrame(rows)


def odirect_table(results: Path | str = RESULTS_DIR):
    """O_DIRECT outcome per buffer (rows) and target (columns): 'ok' when both directions
    completed and verified, else the errors."""
    import pandas as pd
    r = load_results(results)["odirect"]["measured"]
    rows = [{"buffer": c["buf"], "target": c["target"],
             "result": "ok" if all(c[k] == "ok" for k in ("write", "wverify", "read", "rverify"))
             else f"write={c['write']}/{c['wverify']} read={c['read']}/{c['rverify']}"} for c in r["odirect"]]
    return pd.DataFrame(rows).pivot(index="buffer", columns="target", values="result")


def pin_table(results: Path | str = RESULTS_DIR):
    """Long-term pins (FOLL_LONGTERM) of each buffer: AF_XDP umem and io_uring fixed buffers."""
    import pandas as pd
    r = load_results(results)["odirect"]["measured"]["pin"]
    return pd.DataFrame([{"buffer": b, "AF_XDP umem (XDP_UMEM_REG)": v["xdp"],
                          "io_uring fixed buffer": v["uring"]} for b, v in r.items()]).set_index("buffer")


# --- the runner -----------------------------------------------------------------------


def persistence_measured(parsed: list[dict]) -> dict:
    """{path: {"write": result, "check": result, "map_sync": ...}} over the two boots."""
    out: dict = {}
    for p in parsed:
        for op, path, res, *extra in (ln.split()[1:] for ln in p["kl"] if ln.startswith("pattern ")):
            out.setdefault(path, {})[op] = res
            for kv in extra:
                k, v = kv.split("=", 1)
                out[path][k] = v
    return out


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
            "buffer": name.rsplit("-", 2)[0], "map": p["map"], "op": p["op"], "size": int(p["size"]), "n": n,
            "ok": k.get("ok") == "1", "extents": int(k.get("extents", 0)),
            "phys_mod_2m": int(k.get("phys_mod_2m", 0)),
            "pmd_faults": ev.get("dax_pmd_fault_done:NOPAGE", 0),
            "pmd_fallbacks": ev.get("dax_pmd_fault_done:FALLBACK", 0),
            "pte_faults": ev.get("dax_pte_fault_done:NOPAGE", 0),
            "calls": calls, "totals": tot,
            "per_io": {q: sum(tot.get(f, 0) for f in fns) / n for q, fns in IO_QUANTITIES.items()},
        }
    return {"cases": cases, "traceable": parsed.get("traceable", []),
            "untraceable": parsed.get("untraceable", []), "graph": parsed.get("graph", {})}


def daxsim_io_counts(option: str, op: str, size: int, n: int = 4) -> dict:
    """daxsim's counters per I/O for ``n`` O_DIRECT I/Os of ``size`` (``op`` r or w) at
    consecutive offsets of a DAX buffer, with ``option`` (``1a``, or ``huge`` with 2 MiB
    mappings): gup_pages, references taken, bio_vecs, references dropped."""
    from daxsim import Machine, Workload, run
    ops = ",".join(f"{op}{i * size}:{size}" for i in range(n))
    kw = {"page_size": "2M"} if option == "huge" else {}
    r = run(option, Machine(pmem="1G", dram="1G"), Workload(ops=ops, file_size="4M"), data=False, **kw)
    m = r.metrics
    refs = m["compound_refs"] if option == "huge" else m["gup_pages"]
    return {"gup_pages": m["gup_pages"] / n, "refs": refs / n, "bvecs": m["descriptor_entries"] / n,
            "puts": m["put_pages"] / n}


def kernel_io_counts(series: str, buffer: str, op: str, size: int, daxsim: dict, runs: int = 1) -> dict:
    """What Linux ``series`` (6.1 or 6.12) does per I/O, as a function of daxsim's counters.

    The rules, each measured by gup_counts on Debian 12's 6.1 (stable release 6.1.192) and
    bookworm-backports' 6.12:

    - One GUP call per I/O: ``get_user_pages_fast`` (FOLL_GET) on 6.1, ``pin_user_pages_fast``
      (FOLL_PIN, from ``iov_iter_extract_pages``, 6.5 and later) on 6.12.
    - GUP references every 4 KiB page it returns, whatever maps it (a 4 KiB PTE, an fsdax
      PMD or a device-dax PMD over a compound page): ``page_grabs`` = daxsim's
      ``gup_pages``, which is option 1a's reference count; option huge's one reference per
      compound page is not what these kernels do. One ``get_dev_pagemap`` per page.
    - The block layer merges physically contiguous pages into one multi-page bio_vec:
      ``bvecs`` = the buffer's physically contiguous runs (``runs``), where daxsim builds
      one per 4 KiB page. 6.1 offers every page to the merge; 6.12 adds the pages folio by
      folio (a compound device-dax folio in one piece) and offers each folio but the
      first of an empty bio.
    - Completion works per folio (``__bio_release_pages``, once per bio): a read dirties
      each folio, and 6.12 unpins each folio once (``unpin_user_folio(folio, npages)``).
      fsdax pages are order-0 folios (one per 4 KiB page), device-dax pages compound
      folios (one per 2 MiB). On 6.1 the references are dropped inline: no call to count.
    """
    pages = daxsim["gup_pages"]
    compound = GUP_BUFFERS[buffer]["compound"]
    folios = pages if compound == PAGE_SIZE else -(-size // compound)
    pin = series != "6.1"
    return {
        "get_calls": 0 if pin else 1, "pin_calls": 1 if pin else 0, "page_grabs": pages, "pgmap_lookups": pages,
        "merge_tries": folios - 1 if pin else pages, "bvecs": runs, "bios_released": 1,
        "folios_dirtied": folios if op == "r" else 0, "devmap_puts": 0, "unpins": folios if pin else 0,
    }


def gup_counts_predictions(measured: dict, series: str) -> dict:
    """daxsim's counters per I/O (``daxsim``) and the kernel-era rule applied to them
    (``kernel``, :func:`kernel_io_counts`) for every case of a gup_counts result."""
    out = {}
    for name, c in measured["cases"].items():
        opt = GUP_BUFFERS[c["buffer"]]["option"]
        d = daxsim_io_counts(opt, c["op"], c["size"])
        out[name] = {"option": opt, "daxsim": d,
                     "kernel": kernel_io_counts(series, c["buffer"], c["op"], c["size"], d, runs=c["extents"])}
    return out


def truncate_measured(parsed: dict) -> dict:
    """Per case: the punch's wait, the read's timeline and the other file's destroyed bytes
    (milliseconds of guest CLOCK_MONOTONIC; bytes), and the kernel's warnings."""
    out = {}
    for name, c in parsed.get("cases", {}).items():
        k = c.get("klio", {})
        ints = ("delay_ms", "giveup_ms", "read_ok", "in_flight_after_punch", "other_bytes", "overlap_bytes",
                "destroyed_bytes", "dev_bytes", "other_written_before_dma")
        rec = {"mode": k.get("mode"), "punch": k.get("punch"),
               **{x: int(k[x]) for x in ints if x in k},
               **{x: float(k[x]) for x in ("wait_ms", "read_ms", "remaining_ms") if x in k},
               "warnings": [d.split(" ", 1)[1] for d in parsed.get("dmesg", []) if d.startswith(name + " ")]}
        out[name] = rec
    return out


def truncate_predictions(measured: dict) -> dict:
    """daxsim option 1a's truncate against an in-flight 64 KiB read (``r0:64k,t0:64k``):
    the truncate waits for the I/O (dax_layout_busy_page) and no byte of another file is
    destroyed. daxsim has no munmap: the same prediction stands for both modes."""
    from daxsim import Machine, Workload, run
    r = run("1a", Machine(pmem="1G", dram="1G"), Workload(ops="r0:64k,t0:64k", file_size="4M"))
    m = r.metrics
    pred = {"truncate_waits": m["truncate_waits"], "wait_ios": m["wait_ios"],
            "corrupted_bytes": m["corrupted_bytes"], "victim_bytes_written": m["victim_bytes_written"]}
    return {name: dict(pred) for name in measured}


def writeback_measured(parsed: dict) -> dict:
    """Per mapping (pmd, pte): the units fsync flushed (dax_writeback_one: pgoff, pglen in
    4 KiB pages) and their bytes; the faults that mapped them."""
    out = {}
    for name, c in parsed.get("cases", {}).items():
        ones = [{"pgoff": int(w["pgoff"], 16), "pglen": int(w["pglen"], 16)} for w in parsed.get("wbone", {}).get(name, [])]
        ev = parsed.get("events", {}).get(name, {})
        out[name] = {"size": int(c["params"]["size"]), "offsets": [int(x) for x in c["params"]["offsets"].split(",")],
                     "ok": c.get("klio", {}).get("ok") == "1", "extents": int(c.get("klio", {}).get("extents", 0)),
                     "units": ones, "bytes_flushed": sum(u["pglen"] for u in ones) * PAGE_SIZE,
                     "pmd_faults": ev.get("dax_pmd_fault_done:NOPAGE", 0),
                     "pte_faults": ev.get("dax_pte_fault_done:NOPAGE", 0)}
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
        out[name] = {"option": r.option, "bytes_flushed": r.metrics["bytes_flushed"],
                     "dirty_units": r.metrics["dirty_units"]}
    return out


def _mech_results(test: str, results: Path | str = RESULTS_DIR) -> dict[str, dict]:
    """The committed results of one mechanism experiment, by kernel series."""
    return {r["experiment"].rsplit("-", 1)[1]: r for r in load_results(results).values() if r["test"] == test}


#: the gup_counts quantities as the chapter's table names them
IO_LABELS = {
    "page_grabs": "page references taken", "bvecs": "bio_vecs", "pgmap_lookups": "get_dev_pagemap",
    "folios_dirtied": "folios dirtied", "unpins": "folios unpinned", "get_calls": "get_user_pages_fast",
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
            rows.append({
                "kernel": series, "buffer": c["buffer"], "I/O": f"{'read' if c['op'] == 'r' else 'write'} "
                f"{c['size'] // KiB} KiB", "daxsim option": r["predicted"][name]["option"],
                "refs kernel": int(pi["page_grabs"]), "refs daxsim": int(d["refs"]),
                "bio_vecs kernel": int(pi["bvecs"]), "bio_vecs daxsim": int(d["bvecs"]),
                "dirtied kernel": int(pi["folios_dirtied"]), "unpinned kernel": int(pi["unpins"]),
                "GUP": "pin" if pi["pin_calls"] else "get",
                "rule = kernel": all(pi[q] == v for q, v in k.items()),
            })
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
            rows.append({
                "kernel": series, "mapping at truncate": "kept" if c["mode"] == "mapped" else "munmap'ed",
                "give-up (ms)": c["giveup_ms"], "DMA remaining (ms)": round(c["remaining_ms"]),
                "truncate waited (ms)": round(c["wait_ms"]), "other file destroyed (B)": c["destroyed_bytes"],
                "daxsim: waits": bool(p["truncate_waits"]), "daxsim: destroyed (B)": p["corrupted_bytes"],
                "kernel warned": any("dax_disassociate_entry" in w for w in c["warnings"]),
            })
    return pd.DataFrame(rows)


def writeback_table(results: Path | str = RESULTS_DIR):
    """One row per kernel and mapping: units fsync wrote back and their bytes, against daxsim."""
    import pandas as pd
    rows = []
    for series, r in _mech_results("pmd_writeback", results).items():
        for name, c in r["measured"].items():
            p = r["predicted"][name]
            rows.append({
                "kernel": series, "mapping": "2 MiB PMD" if name == "pmd" else "4 KiB PTE",
                "stores": len(c["offsets"]), "units written back": len(c["units"]),
                "unit (KiB)": ", ".join(str(k) for k in sorted({u["pglen"] * PAGE_SIZE // KiB for u in c["units"]})),
                "bytes flushed kernel": c["bytes_flushed"], "daxsim option": p["option"],
                "bytes flushed daxsim": p["bytes_flushed"],
            })
    return pd.DataFrame(rows)
