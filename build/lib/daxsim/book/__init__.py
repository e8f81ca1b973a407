"""What the book needs beside the emulator: charts, build-time grids, widgets, the
explorer, history, sources, verdict tables, benchmark and lab results, offline assets."""

import os
from pathlib import Path


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
