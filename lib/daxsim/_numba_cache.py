"""Key numba's on-disk cache on the source of daxsim's emulator.

numba invalidates a cached function only when its own file changes, not when a function
it calls (in another module) does; a kernel could then run stale code. Pointing
``CACHE_DIR`` at a folder named after a hash of the emulator's source files (the folders
whose modules numba compiles, and the constants they read) makes any edit there start a
fresh cache, while an edit to the book's modules, the CLI or the cost model keeps it.
A new folder removes the old ones beyond the few used last (:func:`use_cache`).
Imported by ``daxsim/__init__.py`` before any kernel is defined.
"""

import hashlib
import os
from pathlib import Path

import numba.core.config as _config

_SRC = Path(__file__).resolve().parent
#: what numba compiles, and every module whose constants its kernels read
KERNEL_SOURCES = ("emu", "paths", "model/counters.py")
HASH_LEN = 16  #: hex digits of source_hash(): the name of each cache folder


def source_hash() -> str:
    h = hashlib.sha256()
    for part in KERNEL_SOURCES:
        root = _SRC / part
        for p in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            h.update(p.relative_to(_SRC).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:HASH_LEN]


#: the caches kept: this source's and the ones used most recently before it (other
#: checkouts, a branch switched back to); every edit to the emulator makes a new one
KEEP = 4


def _is_hash(name: str) -> bool:
    return len(name) == HASH_LEN and all(c in "0123456789abcdef" for c in name)


def use_cache(root: Path, key: str, keep: int = KEEP) -> Path:
    """The cache folder ``root/key``, marked as just used (its mtime). When it is new, the
    hash-named folders beside it beyond the ``keep`` most recently used (this one included)
    are removed: without that, each edit of the emulator's source left its compiled
    kernels behind for good.
    Anything else in ``root`` is left alone; a folder that cannot be removed is skipped."""
    import shutil

    folder = root / key
    new = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
    except OSError:  # numba reports an unwritable cache itself
        return folder
    if new:

        def used(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:  # removed meanwhile by another process
                return 0.0

        others = sorted(
            (p for p in root.iterdir() if p.name != key and _is_hash(p.name) and p.is_dir()), key=used, reverse=True
        )
        for stale in others[keep - 1 :]:
            shutil.rmtree(stale, ignore_errors=True)
    return folder


if not os.environ.get("NUMBA_CACHE_DIR"):
    _config.CACHE_DIR = str(
        use_cache(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "daxsim-numba", source_hash())
    )
