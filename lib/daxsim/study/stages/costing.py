"""Stage 4, cost: the counters turned into modelled time; only this stage sees the
hardware. :func:`run_plan` is the four stages in a row."""

from __future__ import annotations


from daxsim.emu import hugepages
from daxsim.emu.machine import Machine
from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import (
    Workload,
)
from daxsim.model.hardware import DDR4, CostModel, hardware_profile
from daxsim.model.cost import Modelled, model
from daxsim.model.eras import era
from daxsim.study.spec import Spec
from daxsim.study.stages.emulation import dirty_shift, emulate, io_only, warm
from daxsim.study.stages.planning import Plan, huge_params
from daxsim.study.stages.verification import expect, metrics_of, verify


# --- 4. cost -------------------------------------------------------------------------------


def cost(
    plan_or_spec,
    metrics: dict,
    hardware=None,
    cost_model: CostModel | None = None,
    machine: Machine | None = None,
    workload: Workload | None = None,
    kernel=None,
    iommu: bool | None = None,
    cpus: int | None = None,
) -> Modelled:
    """The cost model over a run's metrics: the only stage that sees the hardware profile.

    Given a :class:`Plan`, its hardware, cost figures, machine and workload are the
    defaults; given a spec, ``hardware``, ``machine`` and ``workload`` must be passed."""
    if isinstance(plan_or_spec, Plan):
        plan = plan_or_spec
        spec, machine, workload = plan.spec, machine or plan.machine, workload or plan.workload
        hardware = plan.hardware if hardware is None else hardware
        cost_model = cost_model or plan.cost
        kernel = plan.era if kernel is None else kernel
        iommu = plan.iommu if iommu is None else iommu
        cpus = plan.cpus if cpus is None else cpus
    else:
        spec = Spec.of(plan_or_spec)
    hw = hardware_profile(hardware)
    cost_model = cost_model if cost_model is not None else CostModel()
    d = spec.design
    huge = huge_params(spec)
    miss = hugepages.tlb_miss_rate(huge["page_size"] if huge else PAGE_SIZE, workload.file_size)
    bounce = hw if spec.params.get("bounce_node") == "pmem" else DDR4
    return model(
        metrics,
        d,
        machine.memmap if d.struct_pages else None,
        hw,
        cost_model,
        metrics["struct_pages_initialised"],
        miss,
        1 << dirty_shift(huge),
        bounce,
        era(kernel),
        bool(iommu),
        int(workload.queue_depth),
        int(cpus or 1),
    )


def run_plan(plan: Plan, capture: dict | None = None):
    """The stages after prepare: (emulate, verify, metrics, cost); for an infeasible plan
    only the metrics of the accounting. Returns (metrics, modelled or None, wall_s, setup_s)."""
    if not plan.feasible:
        return metrics_of(plan, None, None), None, 0.0, 0.0
    warm(plan.spec.option, plan.data, io_only(plan.events[0]))  # both loops at once, before the twin runs
    expected = expect(plan) if plan.data else None
    emu = emulate(plan, expected, release=capture is None)
    checks = verify(plan, emu, capture)
    metrics = metrics_of(plan, emu.counters, checks)
    return metrics, cost(plan, metrics), emu.wall_s, emu.setup_s
