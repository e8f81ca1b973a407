"""daxsim: direct I/O and DMA to persistent memory larger than DRAM, emulated.

The public surface::

    import daxsim
    m = daxsim.Machine(pmem="400G", dram="16G", memmap="dram")
    w = daxsim.Workload.from_preset("rand-64k", ios=2000, seed=1)
    r = daxsim.run("1a", m, w, hardware="optane-pmem-100")
    daxsim.frame(daxsim.compare(["0", "1a"], m, w))
"""

from . import _numba_cache  # noqa: F401  (first: keys numba's cache on daxsim's source)
from .hardware import HARDWARE, CostModel, Figure, HardwareProfile, hardware_profile
from .machine import Machine, namespace_layout
from .metrics import COUNTERS, FORMULA, Modelled
from .paths import DESCRIPTIONS as OPTIONS
from .study import InvariantError, Result, accounting, compare, frame, run
from .units import format_size, parse_size
from .workload import PRESETS, Workload

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
    "Workload",
    "accounting",
    "compare",
    "format_size",
    "frame",
    "hardware_profile",
    "namespace_layout",
    "parse_size",
    "run",
]
