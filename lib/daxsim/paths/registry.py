"""The design registry: one record per option, holding everything that defines it.

A :class:`Design` names the option's path module (the numba ``submit`` / ``complete`` /
``busy`` an I/O goes through, and ``make_state``), its oracle (the slow pure-Python
twin in :mod:`daxsim.oracle`), whether pmem gets struct pages, the hazard it allows, its
parameters with their checks, its cost terms and its labels. Everything that lists or
tells options apart (the CLI's choices, the explorer's specs, the sweep's grid, the
history's tags, the cost model, the oracle's dispatch) reads it from here.

Adding an option is a :func:`register` call with a new record, a path module and an
oracle class; nothing else changes (``tests/paths/test_registry.py`` shows it with a toy).
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from numba import njit

from daxsim.emu.hugepages import VARIANTS, check_page_size
from daxsim.emu.units import format_size

__all__ = [
    "DESIGNS",
    "CostTerms",
    "Design",
    "Param",
    "announce_compile",
    "compile_notice",
    "design",
    "designs",
    "event_loop",
    "register",
]

#: what every path module provides (see daxsim/paths/loop.py)
PATH_INTERFACE = (
    "STRUCT_PAGES",
    "ENTRY_BYTES",
    "BATCH",
    "PINS",
    "make_state",
    "submit",
    "complete",
    "busy",
    "dma_start",
    "warm",
)


@dataclass(frozen=True)
class Param:
    """One parameter an option takes: its name, meaning, default and check.

    ``check(value)`` returns the value in canonical form or raises a ValueError that names
    the parameter, the value and what is accepted. ``neutral`` is the value that means
    "not given" when another option receives it (``guard=False``, ``bounce_node="dram"``).
    A ``flag`` is a boolean written ``+name`` in a spec string.
    """

    name: str
    help: str
    default: Any
    check: Callable[[Any], Any]
    neutral: Any = None
    flag: bool = False
    metavar: str = ""


@dataclass(frozen=True)
class CostTerms:
    """Which figures the cost model charges an option (see :func:`daxsim.model.cost.model`).

    ``gup``: ``"page"`` (``gup_ns_*`` / ``put_ns_*`` per 4 KiB page) or ``"compound"``
    (the per-4 KiB figures measured on compound pages); ``alloc``: the CostModel figure
    an allocation costs; ``extent_refs``: refcount operations are extent references
    (``extent_ref_ns``); ``only``: charge only these parts (the ideal bound); ``shared``:
    counters of atomics on lines shared by every submitting CPU (1b's global table and
    free list), charged a cache-line transfer when several CPUs submit.
    """

    gup: str = "page"
    alloc: str = "page_alloc_ns"
    extent_refs: bool = False
    only: tuple[str, ...] | None = None
    shared: tuple[str, ...] = ()  #: counters of atomics on lines every submitting CPU writes


@dataclass(frozen=True)
class Design:
    """One design option: what it is, how it runs, how it is costed and checked."""

    key: str  #: the option's id: "0", "1a", ...
    description: str
    path: str  #: the module implementing it (PATH_INTERFACE)
    oracle: str  #: "module:Class" of its pure-Python reference
    struct_pages: bool  #: does pmem get a memmap (an fsdax namespace) or not (raw)
    memmap: str | None = None  #: a forced memmap placement ("pmem" for nvram), else the machine's
    hazard: str | None = None  #: the hazard the design allows (corruption is counted, not raised)
    params: tuple[Param, ...] = ()
    cost: CostTerms = field(default_factory=CostTerms)
    state: tuple[tuple[str, Any], ...] = ()  #: fixed arguments of make_state (nvram: wear)
    bound: bool = False  #: a bound (ideal), not one of the thread's options
    power_loss: bool = False  #: may run the power-loss experiment (I/O only, no page allocator)
    explorer: tuple[str, ...] = ()  #: the specs the explorers offer ("2", "2+guard")

    @property
    def label(self) -> str:
        return f"option {self.key}"

    @property
    def module(self) -> types.ModuleType:
        return importlib.import_module(self.path)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def make_state(self, booted, params: dict):
        """The path's state for a booted machine and checked parameters."""
        return self.module.make_state(booted, {**dict(self.state), **params})

    def __repr__(self) -> str:
        return f"<Design {self.key!r}: {self.description}>"


# --- parameter checks ------------------------------------------------------------------


def _positive_int(name: str) -> Callable[[Any], int]:
    def check(v):
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) and not hasattr(v, "__index__") or int(v) < 1:
            raise ValueError(f"{name}: {v!r} is not a positive integer")
        return int(v)

    return check


def _bool(name: str) -> Callable[[Any], bool]:
    def check(v):
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if type(v).__name__ not in ("bool", "bool_"):
            raise ValueError(f"{name}: {v!r} must be True or False")  # noqa: TRY004 (bad input)
        return bool(v)

    return check


def _choice(name: str, choices) -> Callable[[Any], str]:
    def check(v):
        if v not in choices:
            raise ValueError(f"{name}: {v!r} is not one of {', '.join(choices)}")
        return v

    return check


POOL_PAGES = Param(
    "pool_pages", "transient struct pages in option 1b's pool", 4096, _positive_int("pool_pages"), metavar="N"
)
GUARD = Param(
    "guard", "a filesystem range lock that truncate waits for", False, _bool("guard"), neutral=False, flag=True
)
PAGE_SIZE_PARAM = Param("page_size", "the mapping's page size: 4K, 2M or 1G", 2 << 20, check_page_size, metavar="SIZE")
MEMMAP_VARIANT = Param(
    "memmap_variant",
    f"the huge pages' memmap: {', '.join(VARIANTS)}",
    "base",
    _choice("memmap_variant", VARIANTS),
    metavar="VARIANT",
)
DIRTY_GRANULARITY = Param(
    "dirty_granularity",
    "dirty tracking per mapping unit or per 4 KiB: mapping, 4k",
    "mapping",
    _choice("dirty_granularity", ("mapping", "4k")),
    metavar="UNIT",
)
BOUNCE_NODE = Param(
    "bounce_node",
    "where the bounce pages live: dram, or pmem onlined as System RAM (kmem)",
    "dram",
    _choice("bounce_node", ("dram", "pmem")),
    neutral="dram",
    metavar="NODE",
)

# --- the registry ----------------------------------------------------------------------

DESIGNS: dict[str, Design] = {}
_LOOPS: dict[str, Callable] = {}  #: compiled event loops, by option (see event_loop)


def register(d: Design, replace: bool = False) -> Design:
    """Add a design (``replace`` to redefine one); its path module must provide PATH_INTERFACE."""
    if d.key in DESIGNS and not replace:
        raise ValueError(f"option: {d.key!r} is already registered")
    if not d.key or any(c in d.key for c in "+=, :/"):
        raise ValueError(f"option: {d.key!r} is not a valid option id (letters, digits, '-' and '_')")
    missing = [name for name in PATH_INTERFACE if not hasattr(d.module, name)]
    if missing:
        raise ValueError(f"option {d.key}: its path module {d.path} lacks {', '.join(missing)}")
    if not d.explorer:
        object.__setattr__(d, "explorer", () if d.bound else (d.key,))
    DESIGNS[d.key] = d
    _LOOPS.pop(d.key, None)
    return d


def unregister(key: str) -> None:
    """Remove a design (tests register toy options and take them away again)."""
    DESIGNS.pop(key, None)
    _LOOPS.pop(key, None)


def design(option) -> Design:
    """The design called ``option``; a ValueError names the accepted options."""
    if isinstance(option, Design):
        return option
    key = str(option)
    if key not in DESIGNS:
        raise ValueError(f"option: {option!r} is not an option; accepted: {', '.join(DESIGNS)}")
    return DESIGNS[key]


def designs(bounds: bool = False) -> tuple[str, ...]:
    """The registered options, in registration order; ``bounds`` adds the ideal bound."""
    return tuple(k for k, d in DESIGNS.items() if bounds or not d.bound)


for _d in (
    Design(
        "0",
        "bounce through DRAM page-cache pages (no struct pages for pmem)",
        "daxsim.paths.option0",
        "daxsim.oracle.options:Option0",
        struct_pages=False,
        params=(BOUNCE_NODE,),
    ),
    Design(
        "1a",
        "a permanent struct page for every pmem page",
        "daxsim.paths.option1a",
        "daxsim.oracle.options:Option1a",
        struct_pages=True,
        power_loss=True,
        cost=CostTerms(alloc="desc_alloc_ns"),
    ),
    Design(
        "1b",
        "struct pages only while a page is under I/O",
        "daxsim.paths.option1b",
        "daxsim.oracle.options:Option1b",
        struct_pages=False,
        params=(POOL_PAGES,),
        cost=CostTerms(alloc="pool_alloc_ns", shared=("lookups", "allocations", "frees")),
    ),
    Design(
        "2",
        "PFNs instead of struct pages (nothing pins the block)",
        "daxsim.paths.option2",
        "daxsim.oracle.options:Option2",
        struct_pages=False,
        hazard="nothing pins the block",
        params=(GUARD,),
        power_loss=True,
        explorer=("2", "2+guard"),
    ),
    Design(
        "3",
        "an extent-based descriptor for DRAM and PMEM",
        "daxsim.paths.option3",
        "daxsim.oracle.options:Option3",
        struct_pages=False,
        cost=CostTerms(extent_refs=True),
        power_loss=True,
    ),
    Design(
        "huge",
        "huge pages (2 MiB, 1 GiB): compound struct pages, dirty tracking per huge page",
        "daxsim.paths.optionhuge",
        "daxsim.oracle.options:Huge",
        struct_pages=True,
        params=(PAGE_SIZE_PARAM, MEMMAP_VARIANT, DIRTY_GRANULARITY),
        cost=CostTerms(gup="compound", alloc="desc_alloc_ns"),
    ),
    Design(
        "nvram",
        "NV-RAM as RAM: the memmap on pmem itself, its writes counted as wear",
        "daxsim.paths.option1a",
        "daxsim.oracle.options:Nvram",
        struct_pages=True,
        memmap="pmem",
        state=(("wear", True),),
        power_loss=True,
        cost=CostTerms(alloc="desc_alloc_ns"),
    ),
    Design(
        "ideal",
        "the bound: no metadata, no copy",
        "daxsim.paths.ideal",
        "daxsim.oracle.options:Ideal",
        struct_pages=False,
        cost=CostTerms(only=("fixed", "dma")),
        bound=True,
    ),
):
    register(_d)


# --- one event loop per option -----------------------------------------------------------

_LOOP_FILE = Path(__file__).resolve().with_name("loop.py")


def event_loop(option, batch: bool | None = None, io_only: bool = False) -> Callable:
    """The compiled event loop of ``option``: daxsim/paths/loop.py with ``path`` bound to
    the option's path module.

    The file runs once per option as its own module (``daxsim.paths.loop[1a]``), and its
    ``run`` gets a per-option name, so numba caches each option's loop on its own (keyed on
    loop.py's source) with that option's functions called directly. Compiled on first use.
    ``batch=False`` gives the loop that takes every I/O one at a time even where the option
    allows batches (the tests hold the batched loop to it). ``io_only=True`` gives the loop
    for events that are all reads and writes (``run_1a_io``): without the truncate, store
    and fsync branches, it compiles in about half the time.
    """
    d = design(option)
    path = d.module
    key = d.key
    if batch is not None and batch != path.BATCH:
        key = f"{d.key}/batch={batch}"
        path = types.ModuleType(f"{d.path}[batch={batch}]")
        path.__dict__.update({k: v for k, v in vars(d.module).items() if not k.startswith("__")})
        path.BATCH = batch
    if io_only:
        key += "/io"
    if key not in _LOOPS:
        name = f"daxsim.paths.loop[{key}]"
        module = types.ModuleType(name)
        module.__file__ = str(_LOOP_FILE)
        code = compile(_LOOP_FILE.read_text(), str(_LOOP_FILE), "exec")
        exec(code, module.__dict__)  # noqa: S102 (our own file)
        module.path = path
        module.ALL_EVENTS = not io_only
        sys.modules[name] = module  # numba's cache finds the module again by name
        fn = module.run
        fn.__qualname__ = "run_" + "".join(c if c.isalnum() else "_" for c in key)
        _LOOPS[key] = njit(cache=True)(fn)
    return _LOOPS[key]


#: about how long a first compile takes on two shared cores (measured, helpers aside): the
#: loop of an option, with every event kind or reads and writes only, and the twin's ideal loop
COMPILE_S = {"loop": 7.5, "loop/io": 5.0, "ideal": 6.0, "ideal/io": 5.0}


def is_cached(loop: Callable) -> bool:
    """Does numba's on-disk cache hold a compiled version of this loop? (Reads the cache's
    index, compiles nothing; a stale index, from an edited source, counts as empty.)"""
    if loop.overloads:
        return True
    cache = getattr(loop, "_cache", None)
    try:
        return bool(cache._cache_file._load_index())
    except (AttributeError, OSError, EOFError, ValueError):
        return False


def compile_notice(option, data: bool = True, io_only: bool = False) -> str | None:
    """The line to show before the kernels of a run are compiled, or None when numba's
    cache already has them: the option's event loop, and with ``data`` the ideal loop
    of the verification twin."""
    d = design(option)
    kind = "io" if io_only else ""
    needed = [("loop", event_loop(d.key, io_only=io_only))]
    if data and d.key != "ideal":
        needed.append(("ideal", event_loop("ideal", io_only=io_only)))
    todo = [name for name, loop in needed if not is_cached(loop)]
    if not todo:
        return None
    # the ideal loop and the page checks compile in a second process meanwhile (compile_ideal_aside)
    seconds = max(COMPILE_S[f"{name}/io" if kind else name] for name in todo) + 2.0
    return f"daxsim: compiling the kernels of option {d.key} once, about {seconds:.0f} s"


def compile_ideal_aside(io_only: bool = False):
    """Start compiling the verification twin's ideal loop and the page checks in another
    process (:func:`~daxsim.study.stages.emulation.warm_twin`), while this one compiles
    the option's own loop (numba compiles one function at a time per process; a first
    run on two cores takes the longer of the two, not their sum; with the page checks
    over there too, an empty-cache run of option 1a measured 0.5-1.3 s shorter). Returns
    the process to wait for, or None when the loop is cached or the host has one core."""
    import os
    import subprocess

    if (os.cpu_count() or 1) < 2 or is_cached(event_loop("ideal", io_only=io_only)):
        return None
    code = f"from daxsim.study.stages.emulation import warm_twin; warm_twin(io={bool(io_only)})"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def announce_compile(option, data: bool = True, io_only: bool = False) -> None:
    """Print :func:`compile_notice` on stderr when the kernels are about to compile; not
    inside a Jupyter kernel, where the line would land in a chapter's output (the book's
    and Voila's kernels are compiled at install: ``python -m daxsim.book.precompute``)."""
    line = compile_notice(option, data, io_only)
    if line and "ipykernel" not in sys.modules:
        print(line, file=sys.stderr, flush=True)


def describe(option) -> str:
    """One line: the option, its description and what it takes."""
    d = design(option)
    takes = ", ".join(
        f"{p.name} (default {format_size(p.default) if p.name == 'page_size' else p.default})" for p in d.params
    )
    return f"{d.label}: {d.description}" + (f"; takes {takes}" if takes else "")
