"""Text formatting of results: the one place where numbers are turned into words."""

from __future__ import annotations

from daxsim.emu.units import format_size

#: metrics shown in the text report, with how to format each
_SIZES = (
    "memmap_dram_bytes",
    "memmap_pmem_bytes",
    "pmem_capacity_lost_bytes",
    "transient_dram_peak_bytes",
    "bytes_requested",
    "bytes_dma",
    "bytes_cpu_copied",
    "bytes_flushed",
    "verified_bytes",
)
_COUNTS = (
    "ios_completed",
    "struct_pages_initialised",
    "struct_pages_materialised",
    "refcount_ops",
    "gup_pages",
    "pfn_walks",
    "allocations",
    "descriptor_entries",
    "lookups",
    "pool_pages_peak",
    "pool_stalls",
    "page_faults",
    "truncates",
    "truncate_waits",
    "wait_ios",
    "corrupted_bytes",
    "corrupted_victim_bytes",
    "corrupted_device_bytes",
    "files_corrupted",
    "compound_refs",
    "stores",
    "dirty_faults",
    "dirty_units",
    "xplines_dirtied",
    "fsyncs",
    "memmap_line_writes",
    "memmap_line_max_writes",
    "leaked_pages",
)


def params_line(result) -> str:
    """The parameters of a run, OSTEP style: everything needed to reproduce it."""
    w = result.workload
    what = (
        f"ops={w.ops!r}"
        if w.ops
        else (f"workload={w.preset} " if w.preset else "")
        + (f"ios={w.ios} io_size={format_size(w.io_size)} read_fraction={w.read_fraction:g} pattern={w.pattern}")
    )
    return (
        f"ARG option={result.spec.key} pmem={format_size(result.machine.pmem)} "
        f"dram={format_size(result.machine.dram)} memmap={result.machine.memmap} "
        f"align={format_size(result.machine.align)} {what} queue_depth={w.queue_depth} "
        f"file_size={format_size(w.file_size)} extent_size="
        f"{format_size(w.extent_size) if w.extent_size else 'none'} seed={w.seed} "
        f"truncate_rate={w.truncate_rate:g} store_fraction={w.store_fraction:g} store_size={w.store_size} "
        f"fsync_every={w.fsync_every} hardware={result.hardware.name} kernel={result.kernel.name} "
        f"iommu={result.iommu} cpus={result.cpus} data={result.data}"
        + "".join(f" {k}={format_size(v) if k == 'page_size' else v}" for k, v in result.spec.params.items())
    )


def text_report(result) -> str:
    """A readable report of one :class:`~daxsim.study.api.Result`."""
    lines = [params_line(result)]
    if not result.feasible:
        lines.append(f"infeasible: {result.reason}")
    m = result.metrics
    width = max(len(k) for k in _SIZES + _COUNTS)
    for k in _SIZES:
        lines.append(f"  {k:<{width}}  {format_size(m[k]) if m[k] else '0'}")
    for k in _COUNTS:
        lines.append(f"  {k:<{width}}  {m[k]:,}")
    if result.modelled:
        lines.append(f"  {'modelled ns per I/O':<{width}}  {result.modelled.per_io_ns:,.0f}")
        for k, v in result.modelled.breakdown.items():
            lines.append(f"    {k:<{width - 2}}  {v:,.1f}")
        mo = result.modelled
        lines.append(f"  {'CPU / device per I/O':<{width}}  {mo.cpu_ns:,.0f} / {mo.device_ns:,.0f} ns (modelled)")
        lines.append(
            f"  {'queue of ' + str(result.workload.queue_depth * result.cpus):<{width}}  {mo.iops:,.0f} IOPS, "
            f"{mo.gbps:,.2f} GB/s, {mo.latency_ns:,.0f} ns latency, bound by {mo.bound} (modelled)"
        )
        lines.append(f"  {'memmap init at boot':<{width}}  {result.modelled.memmap_init_s:.3g} s (modelled)")
        if result.metrics["stores"]:
            lines.append(f"  {'store, mean extra':<{width}}  {result.modelled.store_ns:,.0f} ns (modelled)")
        if result.metrics["fsyncs"]:
            lines.append(
                f"  {'fsync, mean':<{width}}  {result.modelled.fsync_ns:,.0f} ns (modelled), "
                f"{format_size(result.modelled.media_bytes) if result.modelled.media_bytes else '0 B'} to media"
            )
        if result.metrics["truncates"]:
            lines.append(f"  {'truncate wait, mean':<{width}}  {result.modelled.truncate_wait_ns:,.0f} ns (modelled)")
    lines.append(f"  {'emulator wall time':<{width}}  {result.wall_s:.3g} s")
    lines.append(
        f"  {'emulator set-up time':<{width}}  {result.setup_s:.3g} s (boot, host memory populated, before it)"
    )
    return "\n".join(lines)
