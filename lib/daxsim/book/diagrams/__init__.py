"""SVG diagrams of the mechanisms, drawn from daxsim's own numbers.

OSTEP's rule, a diagram for every mechanism, with Distill's: the numbers in a figure are
computed, never typed. Each function runs (or reads) daxsim and returns a
:class:`Diagram`, which a notebook displays as inline SVG (``<figure
class="daxsim-diagram">``): the text stays text, searchable and sharp, and it needs no
script, so it shows alike in the book, JupyterLab and Voila.

- :func:`io_paths`: each option's I/O path, one lane per option, four steps (find the
  pages, describe the I/O, DMA, complete), with the counts of one I/O;
- :func:`namespace_layout`: a namespace as ``nd_pfn_init()`` lays it out (info block,
  memmap on pmem with ``--map=dev``, data), and where DRAM pays with ``--map=mem``;
- :func:`race_swimlanes`: the truncate/DMA race, one lane per actor, one row per event;
- :func:`dirty_tracking`: which bytes a huge page's dirty bit makes ``fsync`` flush.
"""

from daxsim.book.diagrams.dirty import dirty_tracking
from daxsim.book.diagrams.drawing import Diagram
from daxsim.book.diagrams.iopath import io_paths
from daxsim.book.diagrams.layout import namespace_layout
from daxsim.book.diagrams.race import race_swimlanes

__all__ = ["Diagram", "dirty_tracking", "io_paths", "namespace_layout", "race_swimlanes"]
