"""The lab's experiments and their serial logs: what each boot runs, and the parser that
turns a guest's ``KL:`` lines into a dict (:func:`parse_log`), then into measured
quantities (:func:`ns_cost_measured`, :func:`persistence_measured`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from daxsim.book import checkout
from daxsim.emu.units import KiB, PAGE_SIZE, PMD_SIZE

__all__ = [
    "EXPERIMENTS",
    "KERNELS",
    "LAB_DIR",
    "MEMREMAP_COMPAT_ALIGN",
    "RESULTS_DIR",
    "SMOKE",
    "LabLogError",
    "free_kb",
    "load_results",
    "ns_cost_measured",
    "parse_log",
    "persistence_measured",
]

LAB_DIR = checkout("lab")
RESULTS_DIR = LAB_DIR / "results"

#: memremap_compat_align() on x86: SUBSECTION_SIZE. nd_pfn_init() aligns the data offset
#: to max(--align, this), so a 4K-aligned namespace still pads its info block to 2 MiB.
MEMREMAP_COMPAT_ALIGN = PMD_SIZE


# --- the serial log -------------------------------------------------------------------

# --- the experiments ------------------------------------------------------------------


def _ns(mode, map_, size, align):
    name = f"ns_cost-{mode}-{map_}-{size}-{align}"
    return {"name": name, "test": "ns_cost", "params": {"mode": mode, "map": map_, "size": size, "align": align}}


#: memmap cost (option 1a / nvram): a small matrix, one boot each
EXPERIMENTS = [
    *[_ns(mode, map_, size, "2M") for mode in ("fsdax", "devdax") for map_ in ("mem", "dev") for size in ("1G", "2G")],
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
    {
        "name": "kmem-devdax-dev-2G-memmap_on_memory",
        "test": "kmem",
        "params": {"map": "dev", "size": "2G"},
        "cmdline": ["memory_hotplug.memmap_on_memory=1"],
    },
]
#: O_DIRECT with a DAX mapping as the user buffer, and long-term pins of it (one boot)
EXPERIMENTS += [{"name": "odirect", "test": "odirect", "params": {}}]
#: persistence: data stored through DAX mappings survives a power-off with no sync
EXPERIMENTS += [
    {
        "name": "persistence",
        "test": "persistence",
        "params": {},
        "boots": [("persist_write", ["kl.nosync=1"]), ("persist_read", [])],
    }
]
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
    out: dict = {
        "meminfo": {},
        "times_ms": [],
        "attrs": {},
        "blockdev": {},
        "daxdev": {},
        "errors": [],
        "kl": [],
        "ns": None,
        "status": None,
    }
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
                    {"buf": f[0], "target": f[1], **dict(kv.split("=", 1) for kv in f[2:])}
                )
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


def load_results(results: Path | str = RESULTS_DIR) -> dict[str, dict]:
    """Every committed result, by experiment name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(results).glob("*.json"))}
