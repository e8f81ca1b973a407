"""Grids the chapters compute at build time for their offline-interactive charts.

Each function returns a tidy DataFrame (one row per grid point) that
:func:`daxsim.book.charts.grid_chart` or :func:`daxsim.book.charts.bar_breakdown` draws.
Infeasible grid points stay in the frame with their reason: charts mark them, tables
list them, nothing drops them. One module per concern, each named for what it models:

- :mod:`~daxsim.book.grids.iopath`: the I/O path's time and its parts (options 0, 1a);
- :mod:`~daxsim.book.grids.memmap`: the memmap's size and its initialisation time;
- :mod:`~daxsim.book.grids.pageless`: options 1b (transient struct pages), 2 (the
  truncate/DMA race and its guard) and 3 (extents);
- :mod:`~daxsim.book.grids.huge`: huge pages' vmemmap variants and write amplification;
- :mod:`~daxsim.book.grids.nvram`: a memmap on the medium, DRAM:pmem ratios.

Chapters call them through this package (``grids.io_grid(...)``).
"""

from __future__ import annotations

from daxsim.book.grids.huge import amplification_grid, memmap_variant_grid
from daxsim.book.grids.iopath import PARTS, breakdown_long, io_grid
from daxsim.book.grids.memmap import init_time_grid, memmap_grid, published_init_rates
from daxsim.book.grids.nvram import memmap_medium_cost, ratio_grid
from daxsim.book.grids.pageless import (
    contiguous_runs,
    extent_grid,
    pool_grid,
    race_trace,
    series_label,
    truncate_grid,
)

__all__ = [
    "PARTS",
    "amplification_grid",
    "breakdown_long",
    "contiguous_runs",
    "extent_grid",
    "init_time_grid",
    "io_grid",
    "memmap_grid",
    "memmap_medium_cost",
    "memmap_variant_grid",
    "pool_grid",
    "published_init_rates",
    "race_trace",
    "ratio_grid",
    "series_label",
    "truncate_grid",
]
