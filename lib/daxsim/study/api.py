"""run / compare: boot a machine, run a workload through an option's path, check it, cost it.

:func:`run` is the four stages of :mod:`daxsim.study.stages` in a row: prepare (check the
request, account, judge feasibility), emulate, verify (every touched byte against the
ideal path on a twin machine, every reference back to idle; a broken invariant raises
:class:`~daxsim.study.stages.InvariantError`), cost. Its :class:`Result` prints as the
JSON of ``python -m daxsim run --json`` and becomes a table row by
:func:`daxsim.study.rows.row`.
"""

from __future__ import annotations

from dataclasses import dataclass

from daxsim.emu.machine import Machine
from daxsim.emu.workload import Workload
from daxsim.model.hardware import DEFAULT_HARDWARE, CostModel, HardwareProfile
from daxsim.model.cost import Modelled
from daxsim.model.eras import DEFAULT_ERA, Era
from daxsim.paths.registry import DESIGNS, designs
from daxsim.study.spec import Spec
from daxsim.study.stages import huge_params, prepare, run_plan

__all__ = ["Result", "compare", "run"]


@dataclass(frozen=True)
class Result:
    """The outcome of one run: parameters, feasibility, metrics and modelled time."""

    spec: Spec
    machine: Machine
    workload: Workload
    hardware: HardwareProfile
    cost: CostModel
    data: bool
    feasible: bool
    reason: str
    metrics: dict
    modelled: Modelled | None
    wall_s: float  #: the emulator's time on the data path (the event loop)
    kernel: Era = None  #: the kernel era the run modelled
    iommu: bool = False
    cpus: int = 1
    setup_s: float = 0.0  #: the emulator's set-up before wall_s: boot, host memory populated, patterns, prefault

    @property
    def option(self) -> str:
        return self.spec.option

    @property
    def pool_pages(self) -> int | None:
        return self.spec.params.get("pool_pages")

    @property
    def guard(self) -> bool:
        return bool(self.spec.params.get("guard", False))

    @property
    def huge(self) -> dict | None:
        return huge_params(self.spec)

    @property
    def bounce_node(self) -> str:
        return self.spec.params.get("bounce_node", "dram")

    def params(self) -> dict:
        return {
            "option": self.option,
            **self.machine.params(),
            **self.workload.params(),
            "hardware": self.hardware.name,
            "data": self.data,
            "pool_pages": self.pool_pages,
            "guard": self.guard,
            **(self.huge or {}),
            "bounce_node": self.bounce_node,
            "kernel": self.kernel.name,
            "iommu": self.iommu,
            "cpus": self.cpus,
            "cost": {k: f.value for k, f in self.cost.figures().items()},
        }

    def to_dict(self) -> dict:
        """The JSON object ``python -m daxsim run --json`` prints."""
        m = dict(self.metrics)
        m["modelled"] = self.modelled.to_dict() if self.modelled else None
        m["wall_s"] = self.wall_s
        m["setup_s"] = self.setup_s
        return {
            "option": self.option,
            "params": self.params(),
            "feasible": self.feasible,
            "reason": self.reason,
            "metrics": m,
        }

    def __repr__(self) -> str:
        t = f"{self.modelled.per_io_ns:.0f} ns/I/O" if self.modelled and self.feasible else self.reason
        return f"<Result option={self.spec.key!r} {self.machine!r} {t}>"


def run(
    option,
    machine: Machine,
    workload: Workload | None = None,
    hardware=DEFAULT_HARDWARE,
    cost: CostModel | None = None,
    data: bool = True,
    pool_pages: int | None = None,
    guard: bool | None = None,
    page_size=None,
    memmap_variant: str | None = None,
    dirty_granularity: str | None = None,
    bounce_node: str | None = None,
    capture: dict | None = None,
    kernel=DEFAULT_ERA,
    iommu: bool = False,
    cpus: int = 1,
) -> Result:
    """Run ``workload`` through ``option``'s I/O path on ``machine``; return its :class:`Result`.

    ``option`` is an option id (``"1a"``), a spec string (``"2+guard"``) or a
    :class:`~daxsim.study.spec.Spec`. ``data=False`` runs the metadata path only (no bytes
    copied, nothing to verify). The option's own parameters: ``pool_pages`` sizes option
    1b's pool of transient struct pages; ``guard`` gives option 2 a filesystem range lock
    that truncate waits for; option ``huge`` takes the mapping's ``page_size`` (4K, 2M,
    1G; default 2M), the ``memmap_variant`` (see :mod:`daxsim.emu.hugepages`; default
    ``base``) and the ``dirty_granularity`` (``mapping``, the default, or ``4k``);
    ``bounce_node="pmem"`` puts option 0's bounce pages on pmem onlined as System RAM (the
    kmem node; see :mod:`daxsim.emu.kmem`), costed at pmem's figures. Option ``nvram``
    always keeps its memmap on pmem. A parameter that does not apply to the option is an
    error. ``kernel`` is the Linux release (or proposal) the run models, mechanism by
    mechanism (:mod:`daxsim.model.eras`; default the newest); ``iommu`` charges the DMA
    mapping of every page; ``cpus`` CPUs submit at once (they contend for shared lines, and
    the throughput is for their queues). ``capture``, a dict, receives the final bytes of the touched
    pages (see :func:`daxsim.study.stages.verify`).
    """
    plan = prepare(
        option,
        machine,
        workload,
        hardware,
        cost,
        data,
        kernel=kernel,
        iommu=iommu,
        cpus=cpus,
        pool_pages=pool_pages,
        guard=guard,
        page_size=page_size,
        memmap_variant=memmap_variant,
        dirty_granularity=dirty_granularity,
        bounce_node=bounce_node,
    )
    metrics, modelled, wall, setup = run_plan(plan, capture)
    return Result(
        plan.spec,
        plan.machine,
        plan.workload,
        plan.hardware,
        plan.cost,
        plan.data,
        plan.feasible,
        plan.reason,
        metrics,
        modelled,
        wall,
        plan.era,
        plan.iommu,
        plan.cpus,
        setup,
    )


def compare(options, machine: Machine, workload: Workload | None = None, **kwargs) -> list[Result]:
    """Run several options (ids or spec strings) on the same machine and workload; ``None``
    runs every design option. An option's own parameter (``pool_pages=``, ``guard=``, ...)
    goes to the options that take it, and is an error when none of them does."""
    options = list(designs()) if options is None else list(options)
    if not options:
        raise ValueError(f"options: empty; accepted: any of {', '.join(designs(bounds=True))}")
    specs = [Spec.parse(o) if isinstance(o, str) else Spec.of(o) for o in options]
    own = {k: v for k, v in kwargs.items() if any(d.param(k) for d in DESIGNS.values())}
    rest = {k: v for k, v in kwargs.items() if k not in own}
    for name, value in own.items():
        if value is not None and not any(s.design.param(name) for s in specs):
            Spec.of(specs[0], **{name: value})  # the error that names the option that takes it
    return [
        run(Spec.of(s, **{k: v for k, v in own.items() if s.design.param(k)}), machine, workload, **rest) for s in specs
    ]
