"""Physical memory as sparse numpy arrays, and the 64-byte struct page.

A 6 TiB pmem range cannot be a dense array on a 24 GiB host. Every large array here is
an anonymous ``MAP_NORESERVE`` mapping (or a sparse file, when the contents must
persist): the host backs only the 4 KiB pages a run touches, so memory use follows the
bytes touched, not the bytes emulated.
"""

from __future__ import annotations

import errno
import mmap
import os

import numpy as np

from daxsim.emu.units import PAGE_SIZE, STRUCT_PAGE_SIZE

#: struct page as on x86-64 (include/linux/mm_types.h), 64 bytes. The union after
#: ``flags`` is shown in its page-cache/buddy shape: lru (next, prev), mapping, index,
#: private; ``lru_next`` doubles as ``compound_head`` for tail pages.
STRUCT_PAGE = np.dtype(
    [
        ("flags", "<u8"),
        ("lru_next", "<i8"),
        ("lru_prev", "<i8"),
        ("mapping", "<u8"),
        ("index", "<u8"),
        ("private", "<u8"),
        ("mapcount", "<i4"),
        ("refcount", "<i4"),
        ("memcg_data", "<u8"),
    ]
)
assert STRUCT_PAGE.itemsize == STRUCT_PAGE_SIZE

# page->flags bits used by the emulator (a subset of enum pageflags)
PG_RESERVED = np.uint64(1 << 10)
PG_BUDDY = np.uint64(1 << 20)  # the kernel keeps PageBuddy in page_type; a flag is simpler
ZONE_SHIFT = 28
ZONE_NORMAL = 2
ZONE_DEVICE = 4
SECTION_SHIFT_IN_FLAGS = 32  # set_page_links() packs the section number high in flags

#: the host's address space is shared by all sparse arrays; x86-64 user space is 128 TiB
HOST_VIRTUAL_LIMIT = 64 << 40


def sparse_array(nbytes: int, dtype=np.uint8, path: str | os.PathLike | None = None, offset: int = 0) -> np.ndarray:
    """A zero-filled array of ``nbytes`` whose host memory follows the pages touched.

    With ``path``, the array is a shared mapping of a sparse file (created or extended to
    ``nbytes + offset``), so its contents survive the process.
    """
    dtype = np.dtype(dtype)
    if nbytes % dtype.itemsize:
        raise ValueError(f"size {nbytes} is not a multiple of {dtype.itemsize}")
    if nbytes == 0:
        return np.zeros(0, dtype)
    if path is None:
        flags = (
            mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_NORESERVE", 0x4000)
        )  # Linux value; Python < 3.13 lacks the name
        try:
            mm = mmap.mmap(-1, nbytes, flags=flags)
        except OSError as e:
            raise ValueError(
                f"cannot reserve {nbytes} bytes of host address space for the emulated memory: {e}"
            ) from None
        return np.frombuffer(mm, dtype=dtype)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise ValueError(f"pmem_file: {os.fspath(path)!r} cannot be opened for writing ({e.strerror})") from None
    try:
        if os.fstat(fd).st_size < nbytes + offset:
            os.ftruncate(fd, nbytes + offset)
        mm = mmap.mmap(fd, nbytes + offset, flags=mmap.MAP_SHARED)
    except OSError as e:
        raise ValueError(
            f"pmem_file: {os.fspath(path)!r} cannot hold {nbytes + offset} bytes as a sparse file ({e.strerror})"
        ) from None
    finally:
        os.close(fd)
    return np.frombuffer(mm, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset)


def msync(arr: np.ndarray) -> None:
    """Flush a file-backed array made by :func:`sparse_array` to its file (msync)."""
    base = arr.base
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "obj", None) if isinstance(base, memoryview) else getattr(base, "base", None)
    if base is not None:
        base.flush()


def struct_pages(raw: np.ndarray) -> np.ndarray:
    """View a byte array (a multiple of 64 bytes) as an array of struct page."""
    return raw.view(STRUCT_PAGE)


def host_rss_bytes() -> int:
    """Resident memory of this process now (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def host_available_bytes() -> int:
    """Memory this host can still give a process (MemAvailable in /proc/meminfo; without
    it, the physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def host_peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (VmHWM; ru_maxrss would include a parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


__all__ = [
    "PAGE_SIZE",
    "STRUCT_PAGE",
    "host_available_bytes",
    "host_peak_rss_bytes",
    "host_rss_bytes",
    "sparse_array",
    "struct_pages",
]


MADV_HUGEPAGE = 14
#: ranges up to this size are backed by transparent huge pages on the host (fewer host TLB
#: misses on the data path); larger ones stay in 4 KiB pages so memory follows the bytes touched
HOST_THP_LIMIT = 4 << 30


def advise_hugepages(
    arr: np.ndarray, start: int = 0, nbytes: int | None = None, limit: int | None = HOST_THP_LIMIT
) -> bool:
    """Ask the host for transparent huge pages over bytes [start, start+nbytes) of ``arr``.

    Only done when the range is at most ``limit`` (None: any size); returns whether it was.
    A host performance hint, nothing the emulated machine can see.
    """
    import ctypes

    nbytes = arr.nbytes - start if nbytes is None else nbytes
    if nbytes <= 0 or (limit is not None and nbytes > limit):
        return False
    huge = 2 << 20
    lo = (arr.ctypes.data + start) // huge * huge
    hi = -(-(arr.ctypes.data + start + nbytes) // huge) * huge
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), MADV_HUGEPAGE) == 0


MADV_POPULATE_WRITE = 23  #: Linux >= 5.14: fault a range in, writable, in one call
_POPULATE_UNSUPPORTED = False  #: set once the host's kernel has refused MADV_POPULATE_WRITE


def populate(arr: np.ndarray, starts, length: int = PAGE_SIZE, granule: int = PAGE_SIZE) -> int:
    """Fault in the host pages of ``arr`` under bytes [s, s + length) for each s in ``starts``,
    before a timed region, so that the host's page faults are not counted as the emulated
    machine's time (its memory is always present). Returns the bytes populated.

    Each range is widened to whole ``granule`` blocks (the host page: 4 KiB, or 2 MiB
    where the array is backed by transparent huge pages, which the host allocates whole
    anyway), the blocks are merged into runs, and each run is populated with
    ``madvise(MADV_POPULATE_WRITE)`` (Linux 5.14); where the kernel refuses it (EINVAL),
    a byte of every page is rewritten with its own value instead. Contents never change.
    """
    global _POPULATE_UNSUPPORTED
    import ctypes

    starts = np.asarray(starts, np.int64)
    if arr.nbytes == 0 or len(starts) == 0:
        return 0
    u8 = arr.reshape(-1).view(np.uint8)
    base = u8.ctypes.data
    host = os.sysconf("SC_PAGE_SIZE")
    granule = max(int(granule), host)
    lo = np.maximum((base + starts) // granule * granule, base // host * host)
    hi = np.minimum(-(-(base + starts + length) // granule) * granule, -(-(base + u8.nbytes) // host) * host)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    new_run = np.ones(len(lo), bool)
    new_run[1:] = lo[1:] > hi[:-1]
    first = np.flatnonzero(new_run)
    run_lo = lo[first]
    run_hi = np.maximum.reduceat(hi, first)
    if not _POPULATE_UNSUPPORTED:
        libc = ctypes.CDLL(None, use_errno=True)
        for a, b in zip(run_lo.tolist(), run_hi.tolist()):
            if libc.madvise(ctypes.c_void_p(a), ctypes.c_size_t(b - a), MADV_POPULATE_WRITE) != 0:
                if ctypes.get_errno() != errno.EINVAL:
                    raise OSError(ctypes.get_errno(), f"madvise(MADV_POPULATE_WRITE) of {b - a} bytes failed")
                _POPULATE_UNSUPPORTED = True
                break
        else:
            return int((run_hi - run_lo).sum())
    for a, b in zip(run_lo.tolist(), run_hi.tolist()):  # touch: a byte of every host page, rewritten
        idx = np.arange(max(a, base), min(b, base + u8.nbytes), host, dtype=np.int64) - base
        u8[idx] = u8[idx]
    return int((run_hi - run_lo).sum())
