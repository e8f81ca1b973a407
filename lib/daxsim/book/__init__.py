"""What the book needs beside the emulator: charts, build-time grids, widgets, the
explorer, history, sources, verdict tables, benchmark and lab results, offline assets."""

import os
import sys
from pathlib import Path

# jsonschema, which altair validates its charts with, builds rfc3987-syntax's IRI grammar
# when it is imported (about 3 s, in every kernel that draws a chart); no schema altair
# checks uses the "iri" formats it serves, so the book's processes go without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def in_live_app() -> bool:
    """Is this kernel Voila's (the live app, ``make live`` or Binder's ``voila/render``)?"""
    return "VOILA_BASE_URL" in os.environ or "VOILA_KERNEL_ID" in os.environ


def _book_checks(line, cell):
    """``%%book_checks``: a chapter's checks and glued numbers, run when the book is built
    or its notebooks are tested, skipped in the live app, which shows none of them (its
    first view comes sooner)."""
    if in_live_app():
        return
    from IPython import get_ipython

    shell = get_ipython()
    exec(compile(cell, "<book_checks>", "exec"), shell.user_ns)  # noqa: S102 (the notebook's own cell)


def _register_magics() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "register_magic_function"):
        shell.register_magic_function(_book_checks, "cell", "book_checks")


_register_magics()


def checkout(*parts: str) -> Path:
    """A path in the daxsim checkout the book is built from (``bench/results``, ``lab/results``,
    ``book/references.bib``): ``$DAXSIM_ROOT``, else the checkout this package sits in, else
    the current directory. An installed package has no checkout: callers say so when a file
    they need is missing."""
    root = os.environ.get("DAXSIM_ROOT")
    if root is None:
        here = Path(__file__).resolve().parents[3]
        root = here if (here / "_toc.yml").exists() else Path.cwd()
    return Path(root).joinpath(*parts)
