"""Sizes and the page, section and struct page constants of x86-64 Linux.

Sizes are read as the kernel's ``memparse()`` reads them: the suffixes K, M, G, T,
P and E are binary, so ``"8G"`` is 8 GiB. ``"8 GiB"``, ``"8GB"`` and ``"8g"`` mean the
same; a plain integer is a byte count.
"""

from __future__ import annotations

import math
import re

import numpy as np

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT  #: a base page, 4 KiB
STRUCT_PAGE_SIZE = 64  #: sizeof(struct page) on x86-64 (Documentation/mm/vmemmap_dedup.rst)
PMD_SIZE = 2 << 20  #: a 2 MiB huge page
PUD_SIZE = 1 << 30  #: a 1 GiB huge page
SECTION_SIZE_BITS = 27
SECTION_SIZE = 1 << SECTION_SIZE_BITS  #: a SPARSEMEM section, 128 MiB on x86-64
PAGES_PER_SECTION = SECTION_SIZE // PAGE_SIZE
SECTOR_SIZE = 512  #: the smallest O_DIRECT alignment a block device accepts
STRUCT_PAGES_PER_VMEMMAP_PAGE = PAGE_SIZE // STRUCT_PAGE_SIZE  #: 64

KiB, MiB, GiB, TiB, PiB = (1 << 10), (1 << 20), (1 << 30), (1 << 40), (1 << 50)

_SUFFIX = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB, "P": PiB, "E": 1 << 60}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(value, name: str = "size", minimum: int = 1) -> int:
    """Return ``value`` in bytes, read like the kernel's memparse (binary suffixes).

    Accepts an integer (a Python or numpy one), or a string such as ``"8G"``,
    ``"400 GiB"``, ``"6T"``, ``"64k"``, ``"1.5G"`` (a fraction must come out as a whole
    number of bytes). ``name`` is the parameter the value belongs to; it appears in the
    error message. ``minimum`` is the smallest size accepted (0 for an offset).

    >>> parse_size("8G") == 8 * GiB
    True
    >>> parse_size("0k", "offset", minimum=0)
    0
    """
    accepted = "a byte count or a number with a binary suffix K, M, G, T, P (e.g. '8G', '400 GiB', '6T')"
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: {value!r} is not a size; accepted: {accepted}")
    if isinstance(value, (int, np.integer)):
        n = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        n = int(value)
    elif isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m:
            raise ValueError(f"{name}: {value!r} is not a size; accepted: {accepted}")
        number, suffix = m.groups()
        scale = _SUFFIX[suffix.upper()]
        if "." in number:
            whole, frac = number.split(".")
            num, den = int(whole + frac), 10 ** len(frac)  # exact: no float rounding
            if num * scale % den:
                raise ValueError(f"{name}: {value!r} is not a whole number of bytes")
            n = num * scale // den
        else:
            n = int(number) * scale
    else:
        raise ValueError(f"{name}: {value!r} is not a size; accepted: {accepted}")
    if n < minimum:
        least = "larger than zero" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name}: {value!r} must be {least}; accepted: {accepted}")
    return n


def format_size(n: float, digits: int = 3) -> str:
    """Format a byte count with the largest binary unit that keeps it >= 1 (``6.25 GiB``)."""
    n = float(n)
    for unit, scale in (("EiB", 1 << 60), ("PiB", PiB), ("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(n) >= scale:
            value = n / scale
            text = f"{value:.{digits}g}" if value < 10**digits else f"{value:.0f}"
            return f"{text} {unit}"
    return f"{n:.0f} B"


def pages(nbytes: int) -> int:
    """Number of base pages needed to hold ``nbytes`` (rounded up)."""
    return -(-int(nbytes) // PAGE_SIZE)


def align_up(x: int, a: int) -> int:
    """Round ``x`` up to a multiple of ``a`` (the kernel's ALIGN())."""
    return -(-int(x) // a) * a


def align_down(x: int, a: int) -> int:
    """Round ``x`` down to a multiple of ``a`` (the kernel's ALIGN_DOWN())."""
    return int(x) // a * a


def memmap_bytes(nbytes: int) -> int:
    """Bytes of struct page needed to describe ``nbytes`` of memory in base pages (1/64)."""
    return (int(nbytes) // PAGE_SIZE) * STRUCT_PAGE_SIZE
