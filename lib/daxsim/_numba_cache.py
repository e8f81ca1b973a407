"""Key numba's on-disk cache on the source of daxsim itself.

numba invalidates a cached function only when its own file changes, not when a function
it calls (in another module) does; a kernel could then run stale code. Pointing
``CACHE_DIR`` at a folder named after a hash of every daxsim source file makes any edit
start a fresh cache. Imported by ``daxsim/__init__.py`` before any kernel is defined.
"""

import hashlib
import os
from pathlib import Path

import numba.core.config as _config

_SRC = Path(__file__).resolve().parent


def source_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(_SRC.rglob("*.py")):
        h.update(p.relative_to(_SRC).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


if not os.environ.get("NUMBA_CACHE_DIR"):
    _config.CACHE_DIR = str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                            / "daxsim-numba" / source_hash())
