"""python -m daxsim run | compare | verdict | sweep: the emulator from the command line.

Every run prints its parameters first (seed included), so any output can be reproduced.
Bad input exits with status 2 and one line that names the parameter, the value and what
is accepted.
"""

from __future__ import annotations

import argparse
import json
import sys

from daxsim.emu.machine import MEMMAP_PLACEMENTS, Machine
from daxsim.emu.units import format_size
from daxsim.emu.workload import DEFAULT_PRESET, PRESETS, Workload
from daxsim.model.eras import DEFAULT_ERA, ERAS
from daxsim.model.hardware import DEFAULT_HARDWARE, HARDWARE
from daxsim.paths.registry import DESIGNS, designs
from daxsim.study.api import run
from daxsim.study.report import params_line, text_report
from daxsim.study.spec import Spec


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        self.exit(2, f"daxsim: error: {message}\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pmem", required=True, help="persistent memory size, e.g. 400G (binary suffixes)")
    p.add_argument("--dram", required=True, help="DRAM size, e.g. 16G")
    p.add_argument(
        "--memmap",
        choices=MEMMAP_PLACEMENTS,
        default=None,
        help="where a permanent memmap lives (options 1a, huge): dram (--map=mem, the default) or pmem (--map=dev)",
    )
    p.add_argument(
        "--align",
        default=None,
        help="namespace alignment of an fsdax namespace (options 1a, huge, nvram): 4K, 2M or 1G (default 2M)",
    )
    p.add_argument(
        "--workload",
        default=DEFAULT_PRESET,
        help=f"a preset ({', '.join(PRESETS)}) or an operation string like 'w0:8k,r8k:4k'",
    )
    p.add_argument("--ios", type=int, help="number of I/Os (default: the preset's)")
    p.add_argument("--io-size", help="bytes per I/O, e.g. 4k, 64k")
    p.add_argument("--read-fraction", type=float, help="share of reads (device -> pmem), 0..1")
    p.add_argument("--pattern", choices=("random", "sequential"))
    p.add_argument("--queue-depth", type=int, help="I/Os in flight together")
    p.add_argument("--file-size", help="size of the DAX file (default 1G)")
    p.add_argument("--extent-size", help="file fragmentation: extents of this size, in random order")
    p.add_argument("--truncate-rate", type=float, help="probability of a truncate racing with each I/O (0..1)")
    for name, owner, param in _option_params():
        flag = "--" + name.replace("_", "-")
        if param.flag:
            p.add_argument(flag, action="store_true", default=None, help=f"option {owner}: {param.help}")
        else:
            p.add_argument(
                flag,
                metavar=param.metavar or None,
                help=f"option {owner}: {param.help} (default {_default_text(param)})",
            )
    p.add_argument("--store-fraction", type=float, help="share of events that are CPU stores through the mapping")
    p.add_argument("--store-size", type=int, help="bytes per store (default 2)")
    p.add_argument("--fsync-every", type=int, help="an fsync after every this many events")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--hardware", choices=sorted(HARDWARE), default=DEFAULT_HARDWARE, help="the medium behind the pmem range"
    )
    p.add_argument(
        "--kernel",
        choices=list(ERAS),
        default=DEFAULT_ERA,
        help=f"the Linux release (or proposal) modelled, mechanism by mechanism (default {DEFAULT_ERA})",
    )
    p.add_argument("--iommu", action="store_true", help="DMA through an IOMMU: charge the mapping of every page")
    p.add_argument("--cpus", type=int, default=1, help="CPUs submitting at once, each with --queue-depth in flight")
    p.add_argument("--pmem-file", help="back pmem with this sparse file (its contents persist)")
    p.add_argument("--no-data", action="store_true", help="metadata only: move no bytes")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _option_params():
    """(name, owning option(s), Param) of every option's own parameter, once each."""
    seen = {}
    for key, d in DESIGNS.items():
        for param in d.params:
            if param.name in seen:
                seen[param.name][1].append(key)
            else:
                seen[param.name] = (param, [key])
    return [(name, " or ".join(keys), param) for name, (param, keys) in seen.items()]


def _spec_text(text: str) -> str:
    """--option's value, checked as a spec (argparse reports the error with the flag's name)."""
    try:
        Spec.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _default_text(param) -> str:
    return format_size(param.default) if param.name == "page_size" else str(param.default)


def option_params(a) -> dict:
    """The option parameters given on the command line (None: not given)."""
    return {name: getattr(a, name) for name, _owner, _param in _option_params()}


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m daxsim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run one option")
    r.add_argument(
        "--option",
        required=True,
        metavar="OPTION",
        type=_spec_text,
        help=f"one of {', '.join(designs(bounds=True))}, or a spec like 2+guard",
    )
    _common(r)
    c = sub.add_parser("compare", help="run several options on the same machine and workload")
    c.add_argument(
        "--options",
        default=",".join(designs()),
        help=f"comma-separated options or specs (default: {', '.join(designs())}; 'ideal' is the bound)",
    )
    _common(c)
    v = sub.add_parser("verdict", help="which option wins across the ranges of every assumed figure (or a tie)")
    v.add_argument(
        "--options",
        default=",".join(designs()),
        help=f"comma-separated options or specs (default: {', '.join(designs())})",
    )
    v.add_argument("--draws", type=int, default=2000, help="draws of the figures' ranges (default 2000)")
    v.add_argument("--sample-seed", type=int, default=0, help="seed of the draws (default 0)")
    v.add_argument("--share", type=float, default=0.9, help="share of the draws a winner must win (default 0.9)")
    _common(v)
    s = sub.add_parser("sweep", help="run every point of a parameter grid, in parallel, into a CSV or Parquet table")
    s.add_argument("--grid", help="a TOML or YAML file: parameter = value or list (flags given too override it)")
    for axis, text in _SWEEP_FLAGS.items():
        s.add_argument("--" + axis.replace("_", "-"), help=f"comma-separated {text}")
    s.add_argument("--no-data", action="store_true", help="metadata only: move no bytes (corruption is not checked)")
    s.add_argument(
        "--out",
        help="write the table here (.csv, or .parquet with pyarrow); resumes an interrupted "
        "sweep; default: CSV on stdout",
    )
    s.add_argument("--jobs", type=int, help="worker processes (default: every core)")
    s.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the points on a Dask distributed cluster: its scheduler's address, e.g. tcp://host:8786 "
        "(needs pip install 'daxsim[dask]'; default: local worker processes)",
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    return p


#: sweep axes that take a comma-separated list on the command line
_SWEEP_FLAGS = {
    "option": f"options or specs like 2+guard (default: all of {', '.join(designs())})",
    "pmem": "pmem sizes, e.g. 8G,400G,6T",
    "dram": "DRAM sizes, e.g. 16G,1T",
    "memmap": "memmap placements: dram, pmem",
    "hardware": f"hardware profiles: {', '.join(HARDWARE)}",
    "kernel": f"kernel eras: {', '.join(ERAS)}",
    "workload": f"workload presets: {', '.join(PRESETS)} (operation strings: in a --grid file)",
    "ios": "numbers of I/Os per point",
    "truncate_rate": "truncate rates, 0..1",
    "seed": "seeds",
}


def _sweep_list(axis: str, text: str) -> list:
    """One flag's comma-separated values, numbers converted (the sweep checks ranges)."""
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise ValueError(f"{axis}: {text!r} has an empty item; give a comma-separated list like 8G,400G")
    if axis == "workload" and any(":" in t for t in items):
        raise ValueError(f"workload: {text!r}: operation strings contain commas; put them in a --grid file")
    if axis in ("ios", "seed", "truncate_rate"):
        conv = float if axis == "truncate_rate" else int
        out = []
        for t in items:
            try:
                out.append(conv(t))
            except ValueError:
                kind = "a number between 0 and 1" if axis == "truncate_rate" else "an integer"
                raise ValueError(f"{axis}: {t!r} is not {kind}") from None
        return out
    return items


def sweep_main(a) -> int:
    """``python -m daxsim sweep``: the grid from --grid and the flags, the table to --out or stdout."""
    from daxsim.study.sweep import (
        SweepInterrupted,
        check_jobs,
        check_out,
        check_scheduler,
        normalise_grid,
        points,
        read_grid_file,
        sweep,
    )

    try:
        grid = read_grid_file(a.grid) if a.grid else {}
        for axis in _SWEEP_FLAGS:
            if getattr(a, axis) is not None:
                grid[axis] = _sweep_list(axis, getattr(a, axis))
        if a.no_data:
            grid["data"] = [False]
        g = normalise_grid(grid)
        n = len(points(grid))
        check_jobs(a.jobs)
        check_scheduler(a.scheduler)
        if a.out:
            check_out(a.out)
        shown = " ".join(
            f"{k}={','.join(format_size(x) if k in ('pmem', 'dram') else str(x) for x in v)}" for k, v in g.items()
        )
        where = f"scheduler={a.scheduler}" if a.scheduler else f"jobs={a.jobs or 'all'}"
        print(f"ARG {shown} {where} out={a.out or '-'} points={n}", file=sys.stderr)
        df = sweep(grid, jobs=a.jobs, out=a.out, progress=not a.quiet, scheduler=a.scheduler)
    except ValueError as e:
        print(f"daxsim: error: {e}", file=sys.stderr)
        return 2
    except SweepInterrupted as e:
        print(("\n" if not a.quiet else "") + str(e), file=sys.stderr)
        return 130
    print(
        f"sweep: {df.attrs['computed']} points computed ({df.attrs['emulations']} emulations), "
        f"{df.attrs['reused']} already in {a.out}"
        if a.out
        else f"sweep: {df.attrs['computed']} points computed ({df.attrs['emulations']} emulations)",
        file=sys.stderr,
    )
    if not a.out:
        df.to_csv(sys.stdout, index=False)
    return 0


def workload_from_args(a) -> Workload:
    """The Workload the flags describe (preset or operation string, then overrides)."""
    over = {
        k: v
        for k, v in {
            "ios": a.ios,
            "io_size": a.io_size,
            "read_fraction": a.read_fraction,
            "pattern": a.pattern,
            "queue_depth": a.queue_depth,
            "file_size": a.file_size,
            "extent_size": a.extent_size,
            "truncate_rate": a.truncate_rate,
            "store_fraction": a.store_fraction,
            "store_size": a.store_size,
            "fsync_every": a.fsync_every,
        }.items()
        if v is not None
    }
    over["seed"] = a.seed
    if ":" in a.workload:
        return Workload(ops=a.workload, **over)
    return Workload.from_preset(a.workload, **over)


def specs_from_args(a) -> list[Spec]:
    """The option specs the command names, with the option flags given; every flag must
    apply to the option (run), or to at least one of the options (compare)."""
    if a.command == "run":
        texts = [a.option]
    else:
        texts = [o.strip() for o in a.options.split(",")]
        if not any(texts) or not all(texts):
            raise ValueError(
                f"options: {a.options!r} is not a comma-separated list of options; accepted: any of "
                f"{', '.join(designs(bounds=True))}"
            )
    for t in texts:
        if t.split("+")[0].strip() not in DESIGNS:
            raise ValueError(f"options: {t!r} is not an option; accepted: any of {', '.join(designs(bounds=True))}")
    specs = [Spec.parse(t) for t in texts]
    given = {k: v for k, v in option_params(a).items() if v is not None}
    for name, value in given.items():
        takers = [s for s in specs if s.design.param(name) is not None]
        if not takers:
            Spec.of(specs[0], **{name: value})  # raises: names the option that takes it
    return [Spec.of(s, **{k: v for k, v in given.items() if s.design.param(k) is not None}) for s in specs]


def verdict_main(a) -> int:
    """``python -m daxsim verdict``: the options run once, re-costed over the figures' ranges."""
    from daxsim.study.verdict import verdict

    try:
        specs = specs_from_args(a)
        machine = machine_from_args(a, specs)
        workload = workload_from_args(a)
        results = [
            run(
                s,
                machine,
                workload,
                hardware=a.hardware,
                data=not a.no_data,
                kernel=a.kernel,
                iommu=a.iommu,
                cpus=a.cpus,
            )
            for s in specs
        ]
        v = verdict(
            machine,
            workload,
            hardware=a.hardware,
            kernel=a.kernel,
            draws=a.draws,
            seed=a.sample_seed,
            share=a.share,
            results=results,
        )
    except ValueError as e:
        print(f"daxsim: error: {e}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(v.to_dict()))
        return 0
    print(
        params_line(results[0]).replace(f"option={results[0].spec.key} ", "") + f" draws={v.draws} sample_seed={v.seed}"
    )
    print(f"verdict: {v.answer}")
    print(
        f"  figures drawn from their ranges: {len(v.figures)}; time is ns per operation (I/Os, stores "
        "and fsyncs), over the draws"
    )
    print(f"  {'option':<24} {'safe':<5} {'DRAM held':>10} {'ns p5':>9} {'median':>9} {'p95':>9} {'wins':>6}")
    for r in v.options.itertuples():
        med = f"{r.ns_median:9,.0f}" if r.feasible else f"{'infeasible':>9}"
        p5 = f"{r.ns_p5:9,.0f}" if r.feasible else " " * 9
        p95 = f"{r.ns_p95:9,.0f}" if r.feasible else " " * 9
        print(
            f"  {r.option:<24} {'yes' if r.safe else 'no':<5} {format_size(r.dram_held_bytes):>10} {p5} {med} "
            f"{p95} {r.wins:6.1%}"
        )
    return 0


def machine_from_args(a, specs: list[Spec]) -> Machine:
    """The Machine the flags describe. --memmap and --align must matter to one of the
    options: a permanent memmap whose placement the machine decides (1a, huge), an fsdax
    namespace to align (1a, huge, nvram)."""
    if a.memmap is not None:
        takers = [s for s in specs if s.design.struct_pages and s.design.memmap in (None, a.memmap)]
        if not takers:
            which = ", ".join(s.key for s in specs)
            raise ValueError(
                f"memmap: {a.memmap!r} does not apply to option {which} (no permanent memmap whose "
                "placement the machine decides); accepted: leave --memmap out, or an option with one "
                f"({', '.join(k for k, d in DESIGNS.items() if d.struct_pages and not d.memmap)})"
            )
    if a.align is not None and not any(s.design.struct_pages for s in specs):
        which = ", ".join(s.key for s in specs)
        raise ValueError(
            f"align: {a.align!r} does not apply to option {which} (a raw namespace, without a memmap "
            "to align); accepted: leave --align out, or an option with struct pages "
            f"({', '.join(k for k, d in DESIGNS.items() if d.struct_pages)})"
        )
    return Machine(a.pmem, a.dram, memmap=a.memmap or "dram", align=a.align or "2M", pmem_file=a.pmem_file)


def main(argv=None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # a sweep says what it saved; a run has nothing to keep
        print("daxsim: interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # what the checks before the run could not foresee: one line, exit 2
        print(
            "daxsim: error: the host ran out of memory for this run; accepted: fewer I/Os, a smaller "
            "file_size, or --no-data",
            file=sys.stderr,
        )
        return 2
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"daxsim: error: the host refused an operation: {e.strerror or e}{where}", file=sys.stderr)
        return 2


def _main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    if a.command == "sweep":
        return sweep_main(a)
    if a.command == "verdict":
        return verdict_main(a)
    try:
        specs = specs_from_args(a)
        machine = machine_from_args(a, specs)
        workload = workload_from_args(a)
        results = [
            run(
                s,
                machine,
                workload,
                hardware=a.hardware,
                data=not a.no_data,
                kernel=a.kernel,
                iommu=a.iommu,
                cpus=a.cpus,
            )
            for s in specs
        ]
    except ValueError as e:
        print(f"daxsim: error: {e}", file=sys.stderr)
        return 2
    if a.json:
        out = [r.to_dict() for r in results]
        print(json.dumps(out[0] if a.command == "run" else out, indent=None))
    else:
        print("\n\n".join(text_report(r) for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
