"""Seeded workloads: O_DIRECT reads and writes between a DAX-mapped buffer and a device.

The application maps a file of the DAX filesystem and uses the mapping as the buffer of
O_DIRECT I/O to a file on a block device. A **write** (``w``) moves bytes from the
buffer (pmem) to the device; a **read** (``r``) moves bytes from the device into the
buffer (pmem). The device file mirrors the DAX file: an I/O at buffer offset ``x`` goes
to device offset ``x``.

I/Os in flight together (any ``queue_depth`` consecutive I/Os) never conflict: no two of
them overlap unless both are writes (which read the same buffer bytes and write the same
device bytes). Random workloads redraw a conflicting offset, as fio's
``serialize_overlap`` would hold it back; an operation string that conflicts is refused.

A **truncate** fault (``t``) punches a hole in the DAX file while I/O may be in flight:
the filesystem frees the blocks, gives them to another file that writes them at once,
and the hole is filled with new blocks when the buffer is next touched. ``t0:64k``
punches 64 KiB at offset 0; ``truncate_rate`` adds, after each I/O with that
probability, a truncate of the range that I/O uses (a truncate racing with the I/O).

The application may **munmap** part of its buffer (``u0:64k``), say while an O_DIRECT
read into it is still in flight: the range's PTEs and its part of the VMA go, the pages
stay pinned; no later event may use the range. It may also **store** through its mapping
(``s4096:2`` stores 2 bytes at offset 4096; no alignment needed) and **fsync** (``f0:0``): the kernel tracks dirty
pages of a DAX mapping at the mapping's granularity, and fsync flushes each dirty unit
whole. ``store_fraction`` makes that share of the events stores of ``store_size``
bytes at random offsets; ``fsync_every`` adds an fsync after every that many events
(and one at the end when there are stores).

An operation string spells a hand-traceable workload: ``"w0:8k,r8k:4k"`` writes 8 KiB
from buffer offset 0, then reads 4 KiB into buffer offset 8 KiB. Offsets and lengths
take the usual size suffixes and must be multiples of 512 bytes (O_DIRECT alignment).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from daxsim.emu.memory import host_available_bytes
from daxsim.emu.units import GiB, PAGE_SIZE, SECTOR_SIZE, format_size, parse_size

OP_READ = 0  #: device -> pmem buffer
OP_WRITE = 1  #: pmem buffer -> device
OP_TRUNC = 2  #: punch a hole in the DAX file (a fault, not an I/O)
OP_STORE = 3  #: the application stores bytes through its DAX mapping (CPU writes, dirtying the mapping)
OP_FSYNC = 4  #: fsync(): write back (flush) every dirty unit of the mapping
OP_MUNMAP = 5  #: munmap() a range of the buffer: its PTEs and its part of the VMA go; pins stay

PATTERNS = ("random", "sequential")

#: named workloads: the settings each preset changes from the defaults
PRESETS: dict[str, dict] = {
    "rand-4k": {"io_size": 4096, "read_fraction": 0.5, "pattern": "random", "queue_depth": 1},
    "oltp-4k": {"io_size": 4096, "read_fraction": 0.7, "pattern": "random", "queue_depth": 32},
    "rand-64k": {"io_size": 64 << 10, "read_fraction": 0.5, "pattern": "random", "queue_depth": 8},
    "seq-1m": {"io_size": 1 << 20, "read_fraction": 0.0, "pattern": "sequential", "queue_depth": 4},
    "log-512": {"io_size": 512, "read_fraction": 0.0, "pattern": "sequential", "queue_depth": 1},
    "scatter-2b": {"store_fraction": 1.0, "store_size": 2, "fsync_every": 64},
    # a database: 4 KiB I/O to its log and data files beside 64-byte stores through the mapping,
    # an fsync after every 64 events (what huge pages' 2 MiB write-back is charged against)
    "oltp-stores": {
        "io_size": 4096,
        "read_fraction": 0.7,
        "pattern": "random",
        "queue_depth": 32,
        "store_fraction": 0.5,
        "store_size": 64,
        "fsync_every": 64,
    },
}
DEFAULT_PRESET = "rand-4k"
DEFAULT_FILE_SIZE = GiB
DEFAULT_IOS = 1000  # I/Os of a generated workload when ios is not given


def queue_file_size(io_size: int, queue_depth: int) -> int:
    """The smallest file in which ``queue_depth`` random I/Os of ``io_size`` can be in
    flight together without overlapping: twice their bytes, so a redraw finds a free slot."""
    return 2 * int(queue_depth) * int(io_size)


#: the most events a workload may have (a bound on the arrays numpy is asked for)
MAX_EVENTS = 1 << 40
#: host bytes per event while a workload is generated: op (1), offset and length (8 + 8), and
#: the generator's temporaries (random draws, masks, the truncates' insertion)
EVENT_HOST_BYTES = 64

_OPS_SPELLS = {
    "io_size": "each event has its own length",
    "read_fraction": "r and w events",
    "pattern": "each event has its own offset",
    "truncate_rate": "t events",
    "store_fraction": "s events",
    "store_size": "each s event has its own length",
    "fsync_every": "f0:0 events",
}


def _integer(name: str, v, lo: int, hi: int, what: str) -> int:
    """``v`` as an int in [lo, hi] (Python or numpy integers), or a ValueError naming ``name``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError(f"{name}: {v!r} is not an integer from {lo} to {hi:,} ({what})")
    return int(v)


def _fraction(name: str, v) -> float:
    """``v`` as a float in [0, 1], or a ValueError naming ``name``."""
    if (
        isinstance(v, (bool, np.bool_))
        or not isinstance(v, (int, float, np.integer, np.floating))
        or not 0.0 <= float(v) <= 1.0
    ):
        raise ValueError(f"{name}: {v!r} is not a number between 0 and 1")
    return float(v)


_OP_RE = re.compile(r"^\s*([rwtsfu])\s*([0-9.]+\s*[kmgtKMGT]?(?:i?[bB])?)\s*:\s*([0-9.]+\s*[kmgtKMGT]?(?:i?[bB])?)\s*$")


@dataclass(frozen=True)
class Workload:
    """A seeded O_DIRECT workload over a DAX file (see the module docstring).

    Parameters
    ----------
    ios : number of I/Os; None: 1000 (with ``ops``: leave it out, or give the string's own count).
    io_size : bytes per I/O, a multiple of 512.
    read_fraction : share of reads (device -> pmem), 0..1.
    pattern : ``"random"`` (offsets aligned to io_size) or ``"sequential"`` (wrapping).
    queue_depth : I/Os in flight together (submitted as a batch, then completed).
    file_size : size of the DAX file (and of the device file); None: 1 GiB, or half the
        pmem namespace's data area when that is smaller (``run`` fits it to the machine).
    extent_size : file fragmentation: extents of this size in random order; None = one extent.
    seed : seed of the random choices.
    ops : an explicit operation string; overrides ios/io_size/read_fraction/pattern/truncate_rate.
    truncate_rate : probability that a truncate of its range races with each I/O (0..1).
    store_fraction : share of events that are CPU stores through the mapping (0..1).
    store_size : bytes per store (1 .. 4 KiB).
    fsync_every : an fsync after every this many events (0: only one at the end).
    preset : the preset this workload was made from (a label only).
    """

    ios: int | None = None
    io_size: int = 4096
    read_fraction: float = 0.5
    pattern: str = "random"
    queue_depth: int = 1
    file_size: int | None = None
    extent_size: int | None = None
    seed: int = 0
    ops: str | None = None
    truncate_rate: float = 0.0
    store_fraction: float = 0.0
    store_size: int = 2
    fsync_every: int = 0
    preset: str | None = None

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)
        if self.ops is not None and not isinstance(self.ops, str):
            raise ValueError(f"ops: {self.ops!r} is not an operation string; accepted: events like 'w0:8k,r8k:4k'")
        if self.preset is not None and not isinstance(self.preset, str):
            raise ValueError(f"preset: {self.preset!r} is not a preset name; accepted: {', '.join(PRESETS)}")
        set_("io_size", parse_size(self.io_size, "io_size"))
        object.__setattr__(self, "_auto_file_size", self.file_size is None)
        set_("file_size", DEFAULT_FILE_SIZE if self.file_size is None else parse_size(self.file_size, "file_size"))
        if self.extent_size is not None:
            set_("extent_size", parse_size(self.extent_size, "extent_size"))
            if self.extent_size % PAGE_SIZE:
                raise ValueError(f"extent_size: {format_size(self.extent_size)} is not a multiple of 4 KiB")
        if self.file_size % PAGE_SIZE:
            raise ValueError(f"file_size: {self.file_size} is not a multiple of 4 KiB")
        if self.io_size % SECTOR_SIZE:
            raise ValueError(f"io_size: {self.io_size} is not a multiple of 512 bytes (O_DIRECT alignment)")
        if self.io_size > self.file_size:
            raise ValueError(
                f"io_size: {format_size(self.io_size)} is larger than file_size {format_size(self.file_size)}"
            )
        given_ios = self.ios
        ios = DEFAULT_IOS if given_ios is None else given_ios
        set_("ios", _integer("ios", ios, 0 if self.ops is not None else 1, MAX_EVENTS, "the number of I/Os"))
        for name in ("read_fraction", "truncate_rate", "store_fraction"):
            set_(name, _fraction(name, getattr(self, name)))
        set_("store_size", _integer("store_size", self.store_size, 1, PAGE_SIZE, "bytes per store"))
        set_("fsync_every", _integer("fsync_every", self.fsync_every, 0, MAX_EVENTS, "events between fsyncs"))
        if not isinstance(self.pattern, str) or self.pattern not in PATTERNS:
            raise ValueError(f"pattern: {self.pattern!r} is not one of {', '.join(PATTERNS)}")
        set_("queue_depth", _integer("queue_depth", self.queue_depth, 1, 4096, "I/Os in flight"))
        set_("seed", _integer("seed", self.seed, 0, 2**63 - 1, "seed"))
        if self.ops is not None:
            self._check_ops_alone()
            op = self.generate()[0]  # validates the string, too
            n = int(np.isin(op, (OP_READ, OP_WRITE)).sum())
            if n == 0 and not (op == OP_STORE).any():
                raise ValueError(
                    f"ops: {self.ops!r} has no I/O and no store, so nothing to measure; accepted: at "
                    "least one r, w or s event, e.g. 'w0:4k,f0:0'"
                )
            if given_ios is not None and self.ios != n:
                raise ValueError(
                    f"ios: {self.ios!r} does not apply to an operation string ({self.ops!r} has {n} "
                    f"I/O{'s' if n != 1 else ''}); accepted: leave ios out, or use a preset"
                )
            set_("ios", n)

    def _check_ops_alone(self) -> None:
        """An operation string spells every event: the settings of a generated workload do not apply."""
        for name in (
            "io_size",
            "read_fraction",
            "pattern",
            "truncate_rate",
            "store_fraction",
            "store_size",
            "fsync_every",
        ):
            default = getattr(Workload, name)
            if getattr(self, name) != default:
                raise ValueError(
                    f"{name}: {getattr(self, name)!r} does not apply to an operation string "
                    f"({self.ops!r} spells its own events: {_OPS_SPELLS[name]}); accepted: leave "
                    f"{name} out, or use a preset"
                )

    def event_bytes(self) -> int:
        """Host bytes the event arrays of this workload take while they are generated (an
        upper bound: op, offset and length, and the generator's temporaries)."""
        if self.ops is not None:
            return 0
        n = int(self.ios)
        n += int(n * float(self.truncate_rate)) + 1  # the truncates
        if self.fsync_every:
            n += n // int(self.fsync_every) + 1
        return n * EVENT_HOST_BYTES

    @classmethod
    def from_preset(cls, name: str, **overrides) -> Workload:
        """A workload from a named preset (see :data:`PRESETS`), with some settings changed."""
        if not isinstance(name, str) or name not in PRESETS:
            raise ValueError(
                f"workload: {name!r} is not a preset; accepted: {', '.join(PRESETS)} "
                "or an operation string like 'w0:8k,r8k:4k'"
            )
        return cls(**{**PRESETS[name], **overrides, "preset": name})

    def replace(self, **changes) -> Workload:
        if self._auto_file_size and "file_size" not in changes:
            changes["file_size"] = None
        if changes.get("ops", self.ops) is not None and "ios" not in changes:
            changes["ios"] = None  # an operation string counts its own I/Os
        return dataclasses.replace(self, **changes)

    def fitted(self, data_bytes: int) -> Workload:
        """This workload on a machine with ``data_bytes`` of data area: a default file_size
        shrinks to half of it (a power of two) when 1 GiB would not leave room."""
        if not self._auto_file_size or 2 * self.file_size <= data_bytes:
            return self
        size = 1 << max(12, (data_bytes // 2).bit_length() - 1)
        return dataclasses.replace(self, file_size=max(size, queue_file_size(self.io_size, self.queue_depth)))

    def params(self) -> dict:
        return dataclasses.asdict(self)

    def generate(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The events as arrays: op (``OP_READ``/``OP_WRITE``/``OP_TRUNC``), buffer offset, length."""
        qd = int(self.queue_depth)
        if self.ops is not None:
            op, off, length = parse_ops(self.ops, self.file_size)
            bad = first_conflict(op, off, length, qd)
            if bad is not None:
                items = [t.strip() for t in self.ops.split(",")]
                raise ValueError(
                    f"ops: {items[bad[0]]!r} (event {bad[0] + 1}) and {items[bad[1]]!r} (event "
                    f"{bad[1] + 1}) overlap while in flight together (queue_depth={self.queue_depth}) "
                    "and one of them is a read; accepted: overlapping I/Os in one queue only if all "
                    "are writes, or a smaller queue_depth"
                )
            return op, off, length
        need, avail = self.event_bytes(), host_available_bytes()
        if need > avail:
            raise ValueError(
                f"ios: {self.ios} I/Os need {format_size(need)} of host memory for their events, "
                f"but this host has {format_size(avail)} available (MemAvailable); accepted: at most "
                f"about {avail // EVENT_HOST_BYTES // (1 + int(self.truncate_rate > 0)):,} I/Os here"
            )
        rng = np.random.default_rng(self.seed)
        n = int(self.ios)
        slots = self.file_size // self.io_size
        if qd > 1 and self.file_size < queue_file_size(self.io_size, qd):
            raise ValueError(
                f"queue_depth: {qd} I/Os of {format_size(self.io_size)} cannot be in flight together "
                f"without overlapping in a {format_size(self.file_size)} file; use a larger file_size"
            )
        if self.pattern == "random":
            off = rng.integers(0, slots, n, dtype=np.int64) * self.io_size
        else:
            off = (np.arange(n, dtype=np.int64) % slots) * self.io_size
        op = np.where(rng.random(n) < float(self.read_fraction), OP_READ, OP_WRITE).astype(np.int8)
        length = np.full(n, self.io_size, np.int64)
        if self.store_fraction > 0:  # some events are CPU stores through the mapping instead
            st = rng.random(n) < float(self.store_fraction)
            op[st] = OP_STORE
            off[st] = rng.integers(0, self.file_size - self.store_size + 1, int(st.sum()), dtype=np.int64)
            length[st] = self.store_size
        if qd > 1 and self.pattern == "random":
            _redraw_conflicts(op, off, qd, slots, self.io_size, rng)
        if self.truncate_rate > 0:
            hit = np.flatnonzero(rng.random(n) < float(self.truncate_rate))
            first = off[hit] // PAGE_SIZE * PAGE_SIZE
            t_len = -(-(off[hit] + length[hit]) // PAGE_SIZE) * PAGE_SIZE - first
            at = np.insert(np.arange(n), hit + 1, -1)  # -1 marks where a truncate goes
            trunc = at < 0
            op2 = np.empty(len(at), np.int8)
            off2 = np.empty(len(at), np.int64)
            len2 = np.empty(len(at), np.int64)
            op2[~trunc], off2[~trunc], len2[~trunc] = op, off, length
            op2[trunc], off2[trunc], len2[trunc] = OP_TRUNC, first, t_len
            op, off, length = op2, off2, len2
        if self.fsync_every or (op == OP_STORE).any():
            op, off, length = _add_fsyncs(op, off, length, int(self.fsync_every))
        return op, off, length


def preset_values(name: str) -> dict:
    """Preset ``name``'s parameters, with the I/O size and queue depth it leaves to the defaults."""
    return {"io_size": Workload.io_size, "queue_depth": Workload.queue_depth, **PRESETS[name]}


def _add_fsyncs(op, off, length, every):
    """An fsync after every ``every`` events, and one at the end."""
    at = np.arange(every, len(op), every) if every else np.zeros(0, np.int64)
    op = np.append(np.insert(op, at, OP_FSYNC), np.int8(OP_FSYNC)).astype(np.int8)
    off = np.append(np.insert(off, at, 0), 0)
    length = np.append(np.insert(length, at, 0), 0)
    return op, off, length


def _redraw_conflicts(op, off, qd, slots, io_size, rng):
    """Give a new offset to any I/O that overlaps a conflicting one among the qd-1 I/Os
    before it. Counted in I/Os, as the queue counts them: stores between take no slot."""
    last_any: dict[int, int] = {}  # offset -> number (among the I/Os) of the latest I/O there
    last_read: dict[int, int] = {}  # offset -> number of the latest read there
    for k, j in enumerate(np.flatnonzero((op == OP_READ) | (op == OP_WRITE))):
        while True:
            o = int(off[j])
            near = last_read if op[j] == OP_WRITE else last_any
            if near.get(o, -qd) <= k - qd:
                break
            off[j] = rng.integers(0, slots) * io_size
        last_any[o] = k
        if op[j] == OP_READ:
            last_read[o] = k


def first_conflict(op, off, length, qd):
    """The first pair of I/Os in flight together that overlap with a read among them, or None.

    I/Os in flight together are any ``qd`` consecutive I/Os (truncates do not take a slot).
    """
    if qd <= 1:
        return None
    ios = np.flatnonzero((op == OP_READ) | (op == OP_WRITE))
    for k, b in enumerate(ios):
        for a in ios[max(0, k - qd + 1) : k]:
            overlap = off[b] < off[a] + length[a] and off[a] < off[b] + length[b]
            if overlap and (op[a] == OP_READ or op[b] == OP_READ):
                return (int(a), int(b))
    return None


def parse_ops(ops: str, file_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``"w0:8k,r8k:4k"`` into (op, offset, length) arrays, checking each I/O."""
    if not isinstance(ops, str) or not ops.strip():
        raise ValueError(f"ops: {ops!r} is empty; write I/Os like 'w0:8k,r8k:4k'")
    out = []
    for item in ops.split(","):
        m = _OP_RE.match(item)
        if not m:
            raise ValueError(
                f"ops: {item.strip()!r} is not an event; accepted: r|w|t|s|u OFFSET:LENGTH or f0:0, e.g. 'w0:8k'"
            )
        kind, off_s, len_s = m.groups()
        off = parse_size(off_s.strip(), f"ops: {item.strip()!r}: offset", minimum=0)
        if kind == "f":
            out.append((OP_FSYNC, 0, 0))
            continue
        length = parse_size(len_s.strip(), f"ops: {item.strip()!r}: length")
        if kind == "s":
            if length > PAGE_SIZE or off + length > file_size:
                raise ValueError(f"ops: {item.strip()!r}: a store is 1 byte to 4 KiB inside the file")
            out.append((OP_STORE, off, length))
            continue
        if off % SECTOR_SIZE or length % SECTOR_SIZE:
            raise ValueError(f"ops: {item.strip()!r} is not 512-byte aligned (O_DIRECT needs sector alignment)")
        if off + length > file_size:
            raise ValueError(
                f"ops: {item.strip()!r} ends at {format_size(off + length)}, "
                f"past the end of the {format_size(file_size)} file"
            )
        if kind == "t" and (off % PAGE_SIZE or length % PAGE_SIZE):
            raise ValueError(f"ops: {item.strip()!r}: a truncate punches whole 4 KiB blocks; align it to 4 KiB")
        if kind == "u" and (off % PAGE_SIZE or length % PAGE_SIZE or not length):
            raise ValueError(f"ops: {item.strip()!r}: munmap takes whole 4 KiB pages; align it to 4 KiB")
        out.append(({"r": OP_READ, "w": OP_WRITE, "t": OP_TRUNC, "u": OP_MUNMAP}[kind], off, length))
    a = np.array(out, dtype=np.int64)
    op, off, length = a[:, 0].astype(np.int8), a[:, 1].copy(), a[:, 2].copy()
    _check_unmapped_unused(op, off, length)
    return op, off, length


def _check_unmapped_unused(op, off, length) -> None:
    """No I/O or store may use a page after munmap took it out of the buffer."""
    gone: set[int] = set()
    for e in range(len(op)):
        pages = range(int(off[e]) // PAGE_SIZE, -(-int(off[e] + length[e]) // PAGE_SIZE))
        if op[e] == OP_MUNMAP:
            gone.update(pages)
        elif op[e] in (OP_READ, OP_WRITE, OP_STORE) and gone.intersection(pages):
            raise ValueError(
                f"ops: event {e + 1} uses the buffer at {format_size(int(off[e]))}, which an earlier "
                "munmap (u) took away; accepted: I/O and stores on mapped ranges only"
            )


def touched_file_pages(off: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Sorted distinct file pages that the events touch (an fsync, of length 0, touches none)."""
    keep = length > 0
    off, length = off[keep], length[keep]
    first = off // PAGE_SIZE
    last = (off + length - 1) // PAGE_SIZE
    if len(first) == 0 or (last == first).all():
        return np.unique(first)
    # the union of the page ranges, merged on the events (not on every page they touch)
    order = np.argsort(first, kind="stable")
    first, last = first[order], last[order]
    reach = np.maximum.accumulate(last)
    new = np.ones(len(first), bool)
    new[1:] = first[1:] > reach[:-1] + 1
    lo = first[new]
    hi = np.maximum.reduceat(last, np.flatnonzero(new))
    counts = hi - lo + 1
    steps = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(lo, counts) + steps
