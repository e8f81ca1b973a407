"""daxsim: direct I/O and DMA to persistent memory larger than DRAM, emulated.

The public surface::

    import daxsim
    m = daxsim.Machine(pmem="400G", dram="16G", memmap="dram")
    w = daxsim.Workload.from_preset("rand-64k", ios=2000, seed=1)
    r = daxsim.run("1a", m, w, hardware="optane-pmem-100")
    daxsim.frame(daxsim.compare(["0", "1a", "2+guard"], m, w))

``daxsim.OPTIONS`` maps each option id to its description; the design registry
(:mod:`daxsim.paths.registry`) holds everything else about it.
"""

from daxsim import _numba_cache  # noqa: F401  (first: keys numba's cache on daxsim's source)
from daxsim.emu.machine import Machine, namespace_layout
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import PRESETS, Workload
from daxsim.model.counters import COUNTERS
from daxsim.model.cost import FORMULA, Modelled
from daxsim.model.hardware import HARDWARE, CostModel, Figure, HardwareProfile, hardware_profile
from daxsim.paths.registry import DESIGNS
from daxsim.study.api import Result, compare, run
from daxsim.study.rows import frame, row
from daxsim.study.spec import Spec
from daxsim.study.stages import InvariantError, accounting

#: option id -> what it is (the design registry's descriptions)
OPTIONS = {k: d.description for k, d in DESIGNS.items()}

__version__ = "0.1.0"
__all__ = [
    "COUNTERS",
    "FORMULA",
    "HARDWARE",
    "OPTIONS",
    "PRESETS",
    "CostModel",
    "Figure",
    "HardwareProfile",
    "InvariantError",
    "Machine",
    "Modelled",
    "Result",
    "Spec",
    "Workload",
    "accounting",
    "compare",
    "format_size",
    "frame",
    "hardware_profile",
    "namespace_layout",
    "parse_size",
    "row",
    "run",
]
