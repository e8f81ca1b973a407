"""A run in four stages, each a function with one job.

1. :func:`prepare` checks the whole request and decides what the kernel would set aside
   and whether the machine can do it at all (accounting, feasibility). No numba.
2. :func:`emulate` boots the machine and runs the events through the option's path.
3. :func:`verify` runs the same events through the ideal path on a twin machine and
   compares every touched byte; checks that every reference, bounce page and pool slot
   came back. A broken invariant raises :class:`InvariantError`.
4. :func:`cost` turns the counters into modelled time; only this stage sees the hardware.

:func:`daxsim.run` is the four in a row; the sweep re-costs (stage 4 alone) for other
hardware; the power-loss experiment calls :func:`boot` and :func:`run_events` itself.
"""

from daxsim.study.stages.planning import (
    HOST_BYTES_PER_PAGE,
    InvariantError,
    Plan,
    accounting,
    dram_needs,
    host_bytes,
    huge_params,
    max_window_pages,
    pages_per_io,
    prepare,
)
from daxsim.study.stages.emulation import Emulation, boot, dirty_shift, emulate, io_only, run_events, touched, warm
from daxsim.study.stages.verification import CHECKS, Expected, expect, hazardous, metrics_of, verify
from daxsim.study.stages.costing import cost, run_plan

__all__ = [
    "CHECKS",
    "HOST_BYTES_PER_PAGE",
    "Emulation",
    "Expected",
    "InvariantError",
    "Plan",
    "accounting",
    "boot",
    "cost",
    "dirty_shift",
    "dram_needs",
    "emulate",
    "expect",
    "hazardous",
    "host_bytes",
    "huge_params",
    "io_only",
    "max_window_pages",
    "metrics_of",
    "pages_per_io",
    "prepare",
    "run_events",
    "run_plan",
    "touched",
    "verify",
    "warm",
]
