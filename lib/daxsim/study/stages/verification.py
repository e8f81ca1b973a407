"""Stage 3, verify: the same events through the ideal path on a twin machine, every
touched byte compared; every reference, bounce page and pool slot must come back. A
broken invariant raises :class:`InvariantError`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from daxsim.emu.buddy import B_ALLOCATED
from daxsim.emu.daxfs import S_BUMP, S_NMAPPED, S_NVICTIM
from daxsim.emu.machine import Booted
from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import (
    OP_MUNMAP,
    OP_READ,
    OP_WRITE,
)
from daxsim.model.counters import counters_dict, new_counters
from daxsim.model.eras import Era
from daxsim.paths.common import count_busy_pages, count_diff
from daxsim.study.pieces import Pieces, digests, release
from daxsim.paths.state import M_POOL_USED
from daxsim.study.stages.emulation import Emulation, boot, run_events, touched
from daxsim.study.stages.planning import InvariantError, Plan


# --- 3. verify -----------------------------------------------------------------------------

CHECKS = (
    "corrupted_bytes",
    "corrupted_victim_bytes",
    "corrupted_device_bytes",
    "corrupted_buffer_bytes",
    "files_corrupted",
    "leaked_pages",
    "verified_bytes",
    "pool_table_bytes",
    "pool_reserved_bytes",
)


@dataclass(frozen=True)
class Expected:
    """What the ideal run leaves in every page a run touches: digests by byte offset."""

    pmem_keys: np.ndarray  #: pmem byte offsets, sorted
    pmem_digests: np.ndarray
    dev_keys: np.ndarray  #: device byte offsets, sorted
    dev_digests: np.ndarray
    fs_state: np.ndarray  #: the block allocator's state after the run

    def match(self, keys, digests, pmem: bool) -> np.ndarray:
        """Which pages (by offset) have the digest the ideal run left (False for an unknown page)."""
        k, dg = (self.pmem_keys, self.pmem_digests) if pmem else (self.dev_keys, self.dev_digests)
        i = np.minimum(np.searchsorted(k, keys), max(len(k) - 1, 0))
        if not len(k):
            return np.zeros(len(keys), bool)
        return (k[i] == keys) & (dg[i] == digests).all(axis=1)

    def check_pages(self, b: Booted, pm: np.ndarray, dv: np.ndarray, give_back: bool = True) -> tuple:
        """Compare the run's pages at pmem offsets ``pm`` and device offsets ``dv`` with the
        twin's digests; give the memory of those that match back; return those that differ."""
        out = []
        for is_pmem, buf, starts in ((True, b.pmem, pm), (False, b.device, dv)):
            ok = self.match(starts, digests(buf, starts), is_pmem)
            if give_back:
                release(buf, starts[ok])
            out.append(starts[~ok])
        return tuple(out)


def _twin(plan: Plan, keep: tuple | None = None):
    """Run the events through the ideal path on a twin of the machine (no memmap needed), in
    pieces; record the digest of every page and give its memory back once it is final.
    ``keep`` (pmem, device offsets): return the twin with these pages still held, too."""
    op, off, length = plan.events
    twin = boot(plan, plan.machine.replace(pmem_file=None), memmap=False)
    t = touched(plan)
    pmem_starts = twin.pmem_index(0) + twin.file.pfn_of(t.fpages) * PAGE_SIZE
    log = {True: [], False: []}

    def record(pm, dv):
        for is_pmem, buf, starts in ((True, twin.pmem, pm), (False, twin.device, dv)):
            log[is_pmem].append((starts, digests(buf, starts)))
            if keep is not None:
                starts = starts[~np.isin(starts, keep[0] if is_pmem else keep[1])]
            release(buf, starts)

    pieces = Pieces(
        twin, t, 1, pmem_starts, op, length, lambda idx: record(pmem_starts[idx], t.fpages[idx[t.io[idx]]] * PAGE_SIZE)
    )
    run_events(twin, "ideal", op, off, length, 1, True, new_counters(), kernel=plan.era, pieces=pieces)
    rest = pieces.remaining()
    if keep is not None:
        for buf, starts, kept in (
            (twin.pmem, pmem_starts[rest], keep[0]),
            (twin.device, t.fpages[rest[t.io[rest]]] * PAGE_SIZE, keep[1]),
        ):
            release(buf, starts[~np.isin(starts, kept)])
        return twin
    record(np.concatenate((pmem_starts[rest], _bump_starts(twin))), t.fpages[rest[t.io[rest]]] * PAGE_SIZE)
    out = []
    for is_pmem in (True, False):
        keys = np.concatenate([k for k, _ in log[is_pmem]] or [np.zeros(0, np.int64)])
        dig = np.concatenate([d for _, d in log[is_pmem]] or [np.zeros((0, 2), np.uint64)])
        order = np.argsort(keys, kind="stable")
        out += [keys[order], dig[order]]
    return Expected(*out, twin.fs.state[:S_NMAPPED].copy())


def expect(plan: Plan) -> Expected:
    """Stage 2a: the ideal run of the plan's events on a twin machine, as page digests (its
    memory given back as it goes: a twin holds only the pages still in use)."""
    return _twin(plan)


def verify(plan: Plan, emu: Emulation, capture: dict | None = None) -> dict:
    """The run's checks (:data:`CHECKS`): leaked references, pages and pool slots; with data,
    every touched byte against the ideal path on a twin machine (pages already checked while
    the run went, the rest now), what differs attributed to the buffer, the device or another
    file. Raises :class:`InvariantError` on a leak, or on corruption where the option's design
    does not allow the hazard. ``verified_bytes`` is the bytes of the I/Os checked (with data,
    every I/O: ``bytes_requested``).

    ``capture``, a dict, receives the final bytes of the touched pages (``pmem_pages``:
    pfn -> bytes, ``dev_pages``: file page -> bytes), for :mod:`daxsim.oracle`; give it to
    :func:`emulate` too (``release=False``), or early-checked pages read as zeros."""
    d, b = plan.design, emu.booted
    checks = dict.fromkeys(CHECKS, 0)
    if counters_dict(emu.counters)["alloc_failures"]:
        raise InvariantError(f"option {d.key}: the page allocator ran dry although the run was judged feasible")
    if d.struct_pages:
        checks["leaked_pages"] = int(count_busy_pages(b.memmap, b.vmemmap_populated, plan.era.idle_refcount))
    checks["leaked_pages"] += int(b.buddy[B_ALLOCATED]) + int(emu.state.misc[M_POOL_USED])
    reserved = getattr(d.module, "reserved_dram", None)
    if reserved is not None:
        checks.update(reserved(dict(plan.spec.params)))
    if plan.data:
        op, off, length = plan.events
        expected = emu.expected if emu.expected is not None else expect(plan)
        if not np.array_equal(b.fs.state[:S_NMAPPED], expected.fs_state):  # the block allocator's state
            raise InvariantError("the filesystem handed out different blocks than in the ideal run")
        t = emu.touched
        rest = emu.pieces.remaining() if emu.pieces is not None else np.arange(len(t.fpages))
        if capture is not None:
            capture["pmem_pages"] = _pages_of(b.pmem, np.concatenate((emu.pmem_starts, _bump_starts(b))), b)
            capture["dev_pages"] = {
                int(fp): b.device[s : s + PAGE_SIZE].tobytes() for fp, s in zip(emu.fpages, emu.dev_starts)
            }
        differ = [
            *emu.differ,
            expected.check_pages(
                b,
                np.concatenate((emu.pmem_starts[rest], _bump_starts(b))),
                t.fpages[rest[t.io[rest]]] * PAGE_SIZE,
                True,
            ),
        ]
        bad_pmem = np.unique(np.concatenate([x[0] for x in differ]))
        bad_dev = np.unique(np.concatenate([x[1] for x in differ]))
        if len(bad_pmem) or len(bad_dev):
            _count_corrupted(plan, b, bad_pmem, bad_dev, checks)
        io = (op == OP_READ) | (op == OP_WRITE)
        checks["verified_bytes"] = int(length[io].sum())  # every I/O's bytes, on both sides, were checked
    munmapped = bool((plan.events[0] == OP_MUNMAP).any())
    if checks["leaked_pages"] or (checks["corrupted_bytes"] and not hazardous(d, plan.era, munmapped)):
        raise InvariantError(
            f"option {d.key}: {checks['corrupted_bytes']} corrupted bytes, "
            f"{checks['leaked_pages']} leaked pages on {plan.machine!r} with {plan.workload!r}"
        )
    return checks


def hazardous(design, kernel: Era, munmapped: bool = True) -> bool:
    """Can this option corrupt data in this era? Option 2 by design; the options that hold
    page references where the era's truncate does not wait for them (before 4.18), or skips
    the wait once nothing maps the file (4.18 to 6.14) and the workload munmaps its buffer."""
    return bool(design.hazard) or (
        bool(design.module.PINS) and (not kernel.truncate_wait or (kernel.truncate_needs_mapping and munmapped))
    )


def _bump_starts(b: Booted) -> np.ndarray:
    """Byte offsets in pmem of the blocks handed out since boot (hole refills)."""
    used = np.arange(b.bump_start, b.fs.state[S_BUMP], dtype=np.int64)
    return (used - b.pmem_base_pfn) * PAGE_SIZE


def _pages_of(buf, starts, b: Booted) -> dict:
    return {int(s // PAGE_SIZE + b.pmem_base_pfn): buf[s : s + PAGE_SIZE].tobytes() for s in np.unique(starts)}


def _count_corrupted(plan: Plan, b: Booted, bad_pmem, bad_dev, checks: dict) -> None:
    """The bytes that differ from the ideal run in the pages whose digests differ (a second
    twin keeps just those pages), attributed to the buffer, the device or another file."""
    twin = _twin(plan, keep=(bad_pmem, bad_dev))
    nv = int(b.fs.state[S_NVICTIM])
    victims = b.fs.victim[: 2 * nv].reshape(-1, 2)
    victim_starts = (victims[:, 0] - b.pmem_base_pfn) * PAGE_SIZE
    is_victim = np.isin(bad_pmem, victim_starts)
    checks["corrupted_victim_bytes"] = int(count_diff(b.pmem, twin.pmem, bad_pmem[is_victim]))
    checks["corrupted_buffer_bytes"] = int(count_diff(b.pmem, twin.pmem, bad_pmem[~is_victim]))
    checks["corrupted_device_bytes"] = int(count_diff(b.device, twin.device, bad_dev))
    checks["corrupted_bytes"] = (
        checks["corrupted_victim_bytes"] + checks["corrupted_buffer_bytes"] + checks["corrupted_device_bytes"]
    )
    if checks["corrupted_victim_bytes"]:
        bad = set(bad_pmem.tolist())
        hit = {
            int(ev)
            for (pfn, ev), s in zip(victims, victim_starts)
            if int(s) in bad and count_diff(b.pmem, twin.pmem, np.array([s]))
        }
        checks["files_corrupted"] = len(hit)
    del twin


def metrics_of(plan: Plan, counters: np.ndarray | None, checks: dict | None) -> dict:
    """A run's metrics: the accounting, every counter, the checks, and what derives from them
    (an infeasible run has only the accounting; its counters are zero)."""
    c = counters_dict(counters if counters is not None else new_counters())
    checks = checks if checks is not None else dict.fromkeys(CHECKS, 0)
    c["transient_dram_peak_bytes"] += checks["pool_table_bytes"]  # 1b's hash table is DRAM held under I/O
    m = {**plan.accounting, **c, **checks}
    m["bytes_dma"] = c["dma_to_pmem"] + c["dma_from_pmem"] + c["dma_to_dram"] + c["dma_from_dram"]
    m["bytes_cpu_copied"] = c["copy_pmem_to_dram"] + c["copy_dram_to_pmem"]
    m["struct_pages_initialised"] = plan.accounting["struct_pages_boot"] + c["struct_pages_initialised_io"]
    return m
