"""Live ipywidgets explorers shared by the chapters.

- :mod:`~daxsim.book.widgets.chapter`: :func:`explorer`, a few options side by side with
  every counter of their runs (each option chapter has one);
- :mod:`~daxsim.book.widgets.live`: :func:`live_explorer`, every option on one machine,
  its status, DRAM held and time per operation, a verdict line, a chart and a power cut
  (the explorer chapter);
- :mod:`~daxsim.book.widgets.predict`: :func:`predict`, OSTEP's "predict, then reveal";
- :mod:`~daxsim.book.widgets.common`: the values the sliders offer and the controls and
  helpers both explorers use.

Each explorer's result is an ``HTML`` widget with the CSS class ``daxsim-result`` (a
browser test reads it). Widgets need a running kernel (JupyterLab, Voila, Binder); the
static book leaves them out and draws charts over precomputed grids instead, and each
explorer says so in a one-line note above it.
"""

from __future__ import annotations

from daxsim.book.widgets.chapter import Explorer, explorer
from daxsim.book.widgets.common import DRAM_SIZES, PMEM_SIZES, STATIC_NOTE
from daxsim.book.widgets.live import LiveExplorer, live_explorer
from daxsim.book.widgets.predict import predict

__all__ = [
    "DRAM_SIZES",
    "PMEM_SIZES",
    "STATIC_NOTE",
    "Explorer",
    "LiveExplorer",
    "explorer",
    "live_explorer",
    "predict",
]
