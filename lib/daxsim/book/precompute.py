"""What the live pages show first, computed once at build or install time.

A chapter served by Voila runs every cell before the page appears. Two things made that
slow the first time: numba compiling the kernels the page runs, and the explorer's
build-time grid (hundreds of emulator runs). ``python -m daxsim.book.precompute`` does
both ahead (``make live``, ``make book`` and Binder's ``postBuild`` run it): it compiles
every option's event loops into numba's cache, and saves the frames the pages draw
(:func:`cached_frame`) under the cache folder, keyed on daxsim's own source and on the
arguments, so that a page reads what the same code would compute, and an edit to any of
daxsim's modules computes it again.

The live explorer's first view (the default comparison and its chart) is saved the same
way, and so is the vega bundle a live kernel's first chart carries (vl_convert takes about
2 s to build it); every later update runs daxsim, loading the kernels it needs when it
first needs them.

The cache folder is ``$DAXSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/daxsim`` (``~/.cache/daxsim``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["cache_dir", "cached", "cached_frame", "compile_kernels", "source_hash"]

_PACKAGE = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Where the precomputed frames live."""
    root = os.environ.get("DAXSIM_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "daxsim"


def source_hash() -> str:
    """A hash of every module of the daxsim package (a frame depends on all of them)."""
    h = hashlib.sha256()
    for p in sorted(_PACKAGE.rglob("*.py")):
        h.update(p.relative_to(_PACKAGE).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


_HASH: str | None = None


def cached(name: str, arguments: dict, compute: Callable[[], object]) -> object:
    """``compute()``, or what it returned before for the same ``name``, ``arguments``
    (their repr) and daxsim source (a frame, a chart's SVG); saved after computing. An
    unreadable or unwritable cache only means computing again."""
    global _HASH
    if _HASH is None:
        _HASH = source_hash()
    key = hashlib.sha256(f"{name}|{sorted(arguments.items())!r}|{_HASH}".encode()).hexdigest()[:20]
    path = cache_dir() / "frames" / f"{name}-{key}.pkl"  # pickles this package wrote itself
    try:
        with open(path, "rb") as f:
            return pickle.load(f)  # noqa: S301 (written by this function)
    except Exception:  # noqa: BLE001 (missing, partial or from another pandas: compute it again)
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
    return value


cached_frame = cached  #: a frame's cache (:func:`cached`)


def compile_kernels(options=None, log=None) -> float:
    """Compile (or load) every option's event loops, both kinds (every event, reads and
    writes only), and the twin's ideal loops; returns the seconds it took."""
    from daxsim.paths.registry import designs
    from daxsim.study.stages import warm

    t0 = time.perf_counter()
    for option in options or designs(bounds=True):
        for io in (True, False):
            warm(option, data=True, io=io)
        if log:
            log(f"precompute: kernels of option {option} ready ({time.perf_counter() - t0:.0f} s)")
    return time.perf_counter() - t0


def frames(log=None) -> None:
    """Compute and save the frames the live pages draw at first."""
    from daxsim.book import explore, widgets
    from daxsim.book.render import _vega_bundle_js

    t0 = time.perf_counter()
    explore.explorer_grid()
    widgets.live_explorer()  # its first view: the default comparison and its chart
    _vega_bundle_js()  # what a live kernel's first chart carries inline
    if log:
        log(f"precompute: the explorer's grid and first view ready ({time.perf_counter() - t0:.0f} s)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m daxsim.book.precompute", description=__doc__.splitlines()[0])
    p.add_argument("--kernels-only", action="store_true", help="compile the kernels, skip the frames")
    a = p.parse_args(argv)

    def log(line):
        print(line, file=sys.stderr, flush=True)

    compile_kernels(log=log)
    if not a.kernels_only:
        frames(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
