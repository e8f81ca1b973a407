"""Key numba's on-disk cache on the source of daxsim's emulator.

numba invalidates a cached function only when its own file changes, not when a function
it calls (in another module) does; a kernel could then run stale code. Pointing
``CACHE_DIR`` at a folder named after a hash of the emulator's source files (the folders
whose modules numba compiles, and the constants they read) makes any edit there start a
fresh cache, while an edit to the book's modules, the CLI or the cost model keeps it.
Imported by ``daxsim/__init__.py`` before any kernel is defined.
"""

import hashlib
import os
from pathlib import Path

import numba.core.config as _config

_SRC = Path(__file__).resolve().parent
#: what numba compiles, and every module whose constants its kernels read
KERNEL_SOURCES = ("emu", "paths", "model/counters.py")


def source_hash() -> str:
    h = hashlib.sha256()
    for part in KERNEL_SOURCES:
        root = _SRC / part
        for p in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            h.update(p.relative_to(_SRC).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


if not os.environ.get("NUMBA_CACHE_DIR"):
    _config.CACHE_DIR = str(
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "daxsim-numba" / source_hash()
    )
