"""A run in pieces, so that the host memory it holds follows the pages still in use.

A run touches pmem and device pages; the verification compares every one of them with
the ideal run of the same events. Holding both runs whole costs four times the bytes
touched. Instead the twin (the ideal run) goes first, in pieces of about
:data:`PIECE_BYTES` of I/O: each page is filled with its pattern just before the first
event that uses it, and once no later event can touch it, its digest is recorded and its
host memory given back. The run then goes the same way, comparing each finished page's
digest with the twin's and giving back the pages that match; the pages that differ (a
hazard the option allows, or a bug) are kept and compared byte by byte at the end with a
second twin that keeps just those. Pages whose blocks a truncate moves are checked at the
end, with the blocks handed out since boot.

A page is finished once the last event that uses it has run and, for an I/O, once it has
completed: at most ``queue_depth`` I/Os are in flight, so I/O number ``k`` has completed
once I/O ``k + queue_depth`` has been submitted (waits only complete I/Os sooner).

A digest is two 64-bit sums of a strong mix of each 8-byte word with its position: equal
digests mean equal pages but for a chance of about 2**-128.
"""

from __future__ import annotations

import ctypes
import mmap
from dataclasses import dataclass

import numpy as np
from numba import njit

from daxsim.emu.units import PAGE_SHIFT, PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_TRUNC, OP_WRITE, touched_file_pages
from daxsim.paths.common import fill_pattern

__all__ = ["PIECE_BYTES", "Pieces", "Touched", "digests", "release", "stops"]

#: the I/O bytes a piece of a run moves before the pages it finished are checked and given back
PIECE_BYTES = 64 << 20
MADV_DONTNEED = 4


@dataclass
class Touched:
    """The file pages a run's events use (sorted), and when."""

    fpages: np.ndarray  #: file pages used by any event with a length (I/O, store, truncate, munmap)
    first: np.ndarray  #: the first event that uses each
    last: np.ndarray  #: the last event that uses each
    last_io: np.ndarray  #: the number (among the I/Os) of the last I/O that uses each, or -1
    io: np.ndarray  #: used by an I/O (its device page is checked too)
    cut: np.ndarray  #: in a truncated range: its blocks move, it is checked at the end
    io_event: np.ndarray  #: the event of each I/O, by number
    events: int

    @classmethod
    def of(cls, op, off, length) -> Touched:
        fpages = touched_file_pages(off, length)
        n = len(fpages)
        first, last, last_io = np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        io, cut = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
        io_event = np.zeros(int(((op == OP_READ) | (op == OP_WRITE)).sum()), np.int64)
        at = np.searchsorted(fpages, off >> PAGE_SHIFT)  # each event's first page among fpages
        _spans(op, off, length, at, first, last, last_io, io, cut, io_event)
        return cls(fpages, first, last, last_io, io, cut, io_event, len(op))

    def peak_pages(self, op, length, qd: int, piece_bytes: int = PIECE_BYTES) -> int:
        """The most pmem and device data pages a run in pieces (:class:`Pieces`) holds on the
        host at once: a page is filled before the piece of its first event and given back
        before the first piece that starts once it is final."""
        if not len(self.fpages):
            return 0
        ends = np.asarray(stops(op, length, piece_bytes), np.int64)
        starts = np.concatenate(([0], ends[:-1]))
        # the piece a page is filled for: the first whose stop + qd passes its first event
        filled = np.searchsorted(ends + qd, self.first, side="right")
        filled = np.minimum(filled, len(ends) - 1)
        # the piece before which it is given back: the first that starts at or after done_at
        freed = np.searchsorted(starts, self.done_at(qd), side="left")
        weight = 1 + self.io.astype(np.int64)  # its pmem page, and its device page for an I/O
        held = np.zeros(len(ends) + 2, np.int64)
        np.add.at(held, filled, weight)
        np.add.at(held, np.maximum(freed, filled + 1), -weight)
        return int(np.cumsum(held).max())

    def done_at(self, qd: int) -> np.ndarray:
        """Per page: the first event a piece may start at once the page is final, in a run
        with ``qd`` I/Os in flight (``events + 1``: only at the end)."""
        never = self.events + 1
        d = self.last + 1
        has = self.last_io >= 0
        j = self.last_io + qd
        ok = has & (j < len(self.io_event))
        d[ok] = np.maximum(d[ok], self.io_event[j[ok]] + 1)
        d[has & ~ok] = never
        d[self.cut] = never
        return d


@njit(cache=True)
def _spans(op, off, length, at, first, last, last_io, io, cut, io_event):
    """Fill in, for each touched page, the first and last events that use it. ``at[e]`` is
    the index of event e's first page among the touched pages (found by numpy beforehand:
    numba's searchsorted would add half a second to the first compile)."""
    k = 0
    for e in range(len(op)):
        is_io = op[e] == OP_READ or op[e] == OP_WRITE
        if is_io:
            io_event[k] = e
        if length[e] > 0:
            lo = off[e] >> PAGE_SHIFT
            hi = (off[e] + length[e] - 1) >> PAGE_SHIFT
            i = at[e]
            for _fp in range(lo, hi + 1):
                if first[i] < 0:
                    first[i] = e
                last[i] = e
                if is_io:
                    last_io[i] = k
                    io[i] = True
                if op[e] == OP_TRUNC:
                    cut[i] = True
                i += 1
        if is_io:
            k += 1


def stops(op, length, piece_bytes: int = PIECE_BYTES) -> tuple[int, ...]:
    """Where the pieces of a run end (event indices): about ``piece_bytes`` of I/O each."""
    io = (op == OP_READ) | (op == OP_WRITE)
    moved = np.cumsum(np.where(io, length, 0))
    total = int(moved[-1]) if len(moved) else 0
    if total <= piece_bytes:
        return (len(op),)
    marks = np.arange(piece_bytes, total, piece_bytes)
    ends = np.searchsorted(moved, marks, side="right")  # events before it moved at most the mark
    return (*sorted({int(c) for c in ends if 0 < c < len(op)}), len(op))


@njit(cache=True)
def digests(buf, starts):
    """The digest (two uint64) of each 4 KiB page of ``buf`` at byte offsets ``starts``."""
    words = buf.view(np.uint64)
    out = np.empty((len(starts), 2), np.uint64)
    for i in range(len(starts)):
        w0 = starts[i] >> 3
        h1 = np.uint64(0)
        h2 = np.uint64(0)
        for j in range(PAGE_SIZE >> 3):
            x = words[w0 + j] ^ (np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h1 += x ^ (x >> np.uint64(31))
            y = words[w0 + j] + np.uint64(j + 1) * np.uint64(0xD6E8FEB86659FD93)
            y = (y ^ (y >> np.uint64(32))) * np.uint64(0xD6E8FEB86659FD93)
            y = (y ^ (y >> np.uint64(32))) * np.uint64(0xD6E8FEB86659FD93)
            h2 += y ^ (y >> np.uint64(32))
        out[i, 0] = h1
        out[i, 1] = h2
    return out


_LIBC = None


def release(buf: np.ndarray, starts: np.ndarray) -> None:
    """Give the host memory of the 4 KiB pages of ``buf`` at ``starts`` back (madvise
    MADV_DONTNEED): they read as zeros again, or from the file of a file-backed array."""
    global _LIBC
    if len(starts) == 0 or not _mmapped(buf):
        return
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
        _LIBC.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    s = np.unique(starts)
    brk = np.flatnonzero(np.diff(s) != PAGE_SIZE) + 1
    lo = s[np.concatenate(([0], brk))]
    hi = s[np.concatenate((brk - 1, [len(s) - 1]))] + PAGE_SIZE
    base = buf.ctypes.data
    for a, b in zip(lo.tolist(), hi.tolist()):
        _LIBC.madvise(ctypes.c_void_p(base + a), ctypes.c_size_t(b - a), MADV_DONTNEED)


def _mmapped(buf: np.ndarray) -> bool:
    """Is ``buf`` a page-aligned view of an mmap (a sparse array of daxsim.emu.memory)?"""
    base = buf.base
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "obj", None) if isinstance(base, memoryview) else getattr(base, "base", None)
    return base is not None and buf.ctypes.data % mmap.PAGESIZE == 0


class Pieces:
    """How a run goes in pieces on a booted machine: the stops, and before each piece, the
    pages to fill (first used in it) and the pages the pieces so far finished (handed to
    ``finished``, as indices into ``touched.fpages``)."""

    def __init__(
        self,
        booted,
        touched: Touched,
        qd: int,
        pmem_starts: np.ndarray,
        op,
        length,
        finished=None,
        piece_bytes: int = PIECE_BYTES,
    ):
        self.b, self.t, self.qd, self.pmem_starts, self.finished = booted, touched, int(qd), pmem_starts, finished
        self.stops = stops(op, length, piece_bytes)
        self.by_first = np.argsort(touched.first, kind="stable")
        self.first_sorted = touched.first[self.by_first]
        self.filled = 0
        done = touched.done_at(self.qd)
        self.by_done = np.argsort(done, kind="stable")
        self.done_sorted = done[self.by_done]
        self.taken = 0

    def before(self, next_e: int, stop: int) -> None:
        """Called before the piece that starts at event ``next_e`` and runs up to ``stop``."""
        if self.finished is not None:
            j = int(np.searchsorted(self.done_sorted, next_e, side="right"))
            if j > self.taken:
                self.finished(self.by_done[self.taken : j])
                self.taken = j
        # a batch that starts before stop may run qd - 1 events past it
        j = (
            len(self.first_sorted)
            if stop >= self.t.events
            else int(np.searchsorted(self.first_sorted, stop + self.qd, side="left"))
        )
        if j > self.filled:
            idx = np.sort(self.by_first[self.filled : j])
            fill_pattern(self.b.pmem, self.pmem_starts[idx], 0x1)
            fill_pattern(self.b.device, self.t.fpages[idx[self.t.io[idx]]] * PAGE_SIZE, 0x2)
            self.filled = j

    def remaining(self) -> np.ndarray:
        """The pages not yet handed to ``finished`` (indices into ``touched.fpages``, sorted)."""
        return np.sort(self.by_done[self.taken :])
