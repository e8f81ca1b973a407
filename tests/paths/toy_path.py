"""A toy option for tests/paths/test_registry.py: option 2's PFN path, with a range lock that is
always on (truncate waits for any in-flight I/O on its range). It shows what a new option
needs: this path module, an oracle class, and a registry record."""

from numba import njit

from daxsim.oracle.options import Option2
from daxsim.paths.common import inflight_overlaps
from daxsim.paths.option2 import BATCH, ENTRY_BYTES, PINS, STRUCT_PAGES, complete, dma_start, submit, warm  # noqa: F401
from daxsim.paths.state import PfnState, new_misc


def make_state(b, params):
    return PfnState(new_misc(b, params, guard=True))


@njit(cache=True)
def busy(t_off, t_len, fs, pmem_base_pfn, off, length, slot_io, slot_n, head, count, ring, maxp, b0, b2, st):
    """A truncate waits for every in-flight I/O on its range."""
    return inflight_overlaps(t_off, t_len, off, length, slot_io, head, count, ring)


class ToyOracle(Option2):
    """The oracle: option 2's, guarded."""

    def submitted(self, e, entries):
        self.c["range_locks"] += 1

    def busy(self, t_off, t_len):
        return self.w.overlaps_inflight(t_off, t_len)
