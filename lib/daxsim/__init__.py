"""daxsim: direct I/O and DMA to persistent memory larger than DRAM, emulated.

The public surface::

    import daxsim
    m = daxsim.Machine(pmem="400G", dram="16G", memmap="dram")
    w = daxsim.Workload.from_preset("rand-64k", ios=2000, seed=1)
    r = daxsim.run("1a", m, w, hardware="optane-pmem-100")
    daxsim.frame(daxsim.compare(["0", "1a"], m, w))
"""

from daxsim import _numba_cache  # noqa: F401  (first: keys numba's cache on daxsim's source)
from daxsim.model.hardware import HARDWARE, CostModel, Figure, HardwareProfile, hardware_profile
from daxsim.emu.machine import Machine, namespace_layout
from daxsim.model.metrics import COUNTERS, FORMULA, Modelled
from daxsim.paths import DESCRIPTIONS as OPTIONS
from daxsim.study.core import InvariantError, Result, accounting, compare, frame, run
from daxsim.emu.units import format_size, parse_size
from daxsim.emu.workload import PRESETS, Workload

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
