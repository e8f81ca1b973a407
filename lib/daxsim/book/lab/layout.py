"""The namespace and kmem experiments against daxsim: the memmap's cost, the capacity lost,
the RAM a kmem online adds, as daxsim's model predicts them plus what Linux 6.1 adds
(:func:`kernel_layout`, :func:`kmem_layout`), and the chapter's tables of them."""

from __future__ import annotations

from pathlib import Path

from daxsim.book.lab.logs import MEMREMAP_COMPAT_ALIGN, RESULTS_DIR, LabLogError, free_kb, load_results
from daxsim.emu.machine import namespace_layout
from daxsim.emu.units import KiB, MiB, PAGE_SIZE, PMD_SIZE, SECTION_SIZE, STRUCT_PAGE_SIZE, align_up, parse_size

__all__ = [
    "kernel_layout",
    "kmem_layout",
    "kmem_measured",
    "kmem_predictions",
    "kmem_table",
    "model_layout",
    "ns_cost_long",
    "ns_cost_table",
    "odirect_table",
    "pin_table",
    "predictions",
]

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
    return {
        "memmap_dram_bytes": dram,
        "memmap_pmem_bytes": lay.memmap_pmem_bytes,
        "capacity_lost": lay.capacity_lost,
        "dataoff": lay.dataoff,
    }


def predictions(params: dict) -> dict:
    """daxsim's prediction (``model``) and the kernel-extended one (``kernel``) for an
    ns_cost experiment's parameters."""
    size, align = parse_size(params["size"]), parse_size(params["align"])
    m = model_layout(size, params["mode"], params["map"], align)
    return {
        "model": {
            "memmap_dram_bytes": m.memmap_dram_bytes,
            "memmap_pmem_bytes": m.memmap_pmem_bytes,
            "capacity_lost": m.capacity_lost,
            "dataoff": m.dataoff,
        },
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
        "dax_size": dax_size,
        "dax_start": int(dax.get("start", "0"), 16),
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


def kmem_layout(
    size: int, map_: str, start: int, block_size: int, align: int = PMD_SIZE, memmap_on_memory: bool = False
) -> dict:
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
    return {
        "dax_size": dax_end - dax_start,
        "ram_added": added,
        "blocks_added": added // block_size,
        "lost_to_block_rounding": dax_end - dax_start - added,
        "memmap_dram_bytes": memmap,
        "devdax_memmap_freed": lay["memmap_dram_bytes"],
        "dram_consumed": memmap - lay["memmap_dram_bytes"],
    }


def kmem_predictions(params: dict, measured: dict) -> dict:
    """The kmem prediction for an experiment, given where the kernel placed the region
    (``namespace_start``) and its memory block size: inputs, not results."""
    return {
        "kernel": kmem_layout(
            parse_size(params["size"]), params["map"], measured["namespace_start"], measured["block_size"]
        )
    }


# --- the committed results as tables (the chapter) -----------------------------------


def ns_cost_table(results: Path | str = RESULTS_DIR):
    """One row per memmap-cost experiment: measured, daxsim's model, model + kernel (MiB)."""
    import pandas as pd

    rows = []
    for r in load_results(results).values():
        if r["test"] != "ns_cost":
            continue
        p, m, pr = r["params"], r["measured"], r["predicted"]
        rows.append(
            {
                "mode": p["mode"],
                "map": p["map"],
                "size": p["size"],
                "align": p["align"],
                "DRAM measured": m["dram_consumed"] / MiB,
                "DRAM daxsim": pr["model"]["memmap_dram_bytes"] / MiB,
                "DRAM daxsim+kernel": pr["kernel"]["memmap_dram_bytes"] / MiB,
                "lost measured": m["capacity_lost"] / MiB,
                "lost daxsim": pr["model"]["capacity_lost"] / MiB,
                "lost daxsim+kernel": pr["kernel"]["capacity_lost"] / MiB,
                "create (ms, TCG)": m["create_ms"],
            }
        )
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
                rows.append(
                    {
                        "namespace": config,
                        "size": r["size"],
                        "quantity": label,
                        "source": "kernel (measured)" if src == "measured" else src,
                        "MiB": round(r[f"{q} {src}"], 3),
                    }
                )
    return pd.DataFrame(rows)


def kmem_table(results: Path | str = RESULTS_DIR):
    """One row per kmem experiment: measured against predicted (MiB)."""
    import pandas as pd

    rows = []
    for r in load_results(results).values():
        if r["test"] != "kmem":
            continue
        m, pk = r["measured"], r["predicted"]["kernel"]
        rows.append(
            {
                "devdax": f"--map={r['params']['map']} {r['params']['size']}",
                "memmap_on_memory": m["memmap_on_memory"],
                "RAM added measured": m["ram_added"] / MiB,
                "RAM added predicted": pk["ram_added"] / MiB,
                "lost to blocks measured": m["lost_to_block_rounding"] / MiB,
                "lost to blocks predicted": pk["lost_to_block_rounding"] / MiB,
                "DRAM taken measured": round(m["dram_consumed"] / MiB, 2),
                "DRAM taken predicted": round(pk["dram_consumed"] / MiB, 2),
                "online (ms, TCG)": m["online_ms"],
            }
        )
    return pd.DataFrame(rows)


def odirect_table(results: Path | str = RESULTS_DIR):
    """O_DIRECT outcome per buffer (rows) and target (columns): 'ok' when both directions
    completed and verified, else the errors."""
    import pandas as pd

    r = load_results(results)["odirect"]["measured"]
    rows = [
        {
            "buffer": c["buf"],
            "target": c["target"],
            "result": "ok"
            if all(c[k] == "ok" for k in ("write", "wverify", "read", "rverify"))
            else f"write={c['write']}/{c['wverify']} read={c['read']}/{c['rverify']}",
        }
        for c in r["odirect"]
    ]
    return pd.DataFrame(rows).pivot(index="buffer", columns="target", values="result")


def pin_table(results: Path | str = RESULTS_DIR):
    """Long-term pins (FOLL_LONGTERM) of each buffer: AF_XDP umem and io_uring fixed buffers."""
    import pandas as pd

    r = load_results(results)["odirect"]["measured"]["pin"]
    return pd.DataFrame(
        [
            {"buffer": b, "AF_XDP umem (XDP_UMEM_REG)": v["xdp"], "io_uring fixed buffer": v["uring"]}
            for b, v in r.items()
        ]
    ).set_index("buffer")
