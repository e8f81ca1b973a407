"""Run the real-kernel lab: boot Debian's kernel under QEMU with an emulated NVDIMM, once
per experiment, and write one JSON result (with its serial log) per experiment.

``python lab/runner.py [--only SUBSTRING] [--list] [--smoke] [--reparse] [--results DIR]``; ``make
lab`` installs and builds what the lab needs first (``lab/setup.sh``) and runs them all.
The experiments and the parsers live in :mod:`daxsim.book.lab`, which the book and the
tests read the results with.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from daxsim.book.lab import (
    EXPERIMENTS,
    SMOKE,
    LabLogError,
    gup_counts_measured,
    gup_counts_predictions,
    kmem_measured,
    kmem_predictions,
    ns_cost_measured,
    parse_log,
    persistence_measured,
    predictions,
    truncate_measured,
    truncate_predictions,
    writeback_measured,
    writeback_predictions,
)
from daxsim.emu.units import MiB

LAB_DIR = Path(__file__).resolve().parent
RESULTS_DIR = LAB_DIR / "results"


#: where each kernel's vmlinux and initramfs are built (lab/setup.sh; --backports)
KERNEL_DIRS = {"debian": LAB_DIR / "work", "backports": LAB_DIR / "work" / "backports"}


def _versions(kernel: str = "debian") -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    def dpkg(pkg):
        return out(["dpkg-query", "-W", "-f", "${Version}", pkg])

    kdir = KERNEL_DIRS[kernel]
    kver = (kdir / "kver").read_text().strip()
    package = dpkg(f"linux-image-{kver}") if kernel == "debian" else (kdir / "package").read_text().strip()
    return {
        "kernel": kver,
        "kernel_package": package,
        "kernel_source": "bookworm" if kernel == "debian" else "bookworm-backports (downloaded, not installed)",
        "qemu": (out(["qemu-system-x86_64", "--version"]) or "").splitlines()[0] or None,
        "qemu_package": dpkg("qemu-system-x86"),
        "ndctl_package": dpkg("ndctl"),
        "busybox_package": dpkg("busybox-static"),
    }


def kernel_args(exp: dict) -> list[str]:
    return [*exp.get("cmdline", []), *(f"kl.{k}={v}" for k, v in exp["params"].items())]


def boot(name: str, test: str, args: list[str], env: dict | None = None, timeout: int = 300) -> tuple[str, float, str]:
    """Boot one guest running ``test``; returns (serial log, wall seconds, QEMU command line)."""
    cmd = [str(LAB_DIR / "run-qemu.sh"), test, *args]
    t0 = time.monotonic()
    p = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TIMEOUT": str(timeout), **(env or {})},
    )
    wall = time.monotonic() - t0
    qemu_cmd = next((ln[2:] for ln in p.stderr.splitlines() if ln.startswith("+ timeout")), None)
    if p.returncode != 0:
        failed = LAB_DIR / "work" / f"{name}.failed.log"
        failed.write_text(p.stdout + p.stderr)
        tail = (p.stdout + p.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{name}: run-qemu.sh exited {p.returncode} (log: {failed}): " + " | ".join(tail))
    return p.stdout, wall, qemu_cmd


def _checked(name: str, log: str) -> dict:
    parsed = parse_log(log)
    if parsed["status"] != 0 or parsed["errors"]:
        raise RuntimeError(f"{name}: guest test failed (status {parsed['status']}, errors {parsed['errors']})")
    return parsed


def run_persistence(exp: dict, results: Path, versions: dict) -> dict:
    """Two boots from one NVDIMM backing file: write, power off without sync, read."""
    img = LAB_DIR / "work" / f"persist-{os.getpid()}.img"
    img.unlink(missing_ok=True)
    env = {"FRESH": "0", "IMG": str(img)}
    boots = []
    try:
        for test, args in exp["boots"]:
            log, wall, qemu_cmd = boot(exp["name"], test, args, env)
            boots.append(
                {"test": test, "log": log, "wall": wall, "qemu": qemu_cmd, "parsed": _checked(exp["name"], log)}
            )
    finally:
        img.unlink(missing_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{exp['name']}.log").write_text("".join(b["log"] for b in boots))
    record = {
        "experiment": exp["name"],
        "test": exp["test"],
        "params": exp["params"],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {
            **versions,
            "guest_uname": boots[0]["parsed"].get("uname"),
            "guest_ndctl": boots[0]["parsed"].get("ndctl"),
        },
        "command": {"runner": "python lab/runner.py", "qemu": [b["qemu"] for b in boots]},
        "boot_wall_s": [round(b["wall"], 2) for b in boots],
        "raw": {b["test"]: {"devices": b["parsed"].get("devices"), "kl": b["parsed"]["kl"]} for b in boots},
        "measured": persistence_measured([b["parsed"] for b in boots]),
    }
    (results / f"{exp['name']}.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def run_experiment(exp: dict, results: Path, versions: dict) -> dict:
    if "boots" in exp:
        return run_persistence(exp, results, versions)
    kernel = exp.get("kernel", "debian")
    versions = _versions(kernel) if kernel != "debian" else versions
    log, wall, qemu_cmd = boot(exp["name"], exp["test"], kernel_args(exp), env={"LAB_KERNEL": kernel})
    parsed = _checked(exp["name"], log)
    if "series" in exp and not parsed.get("uname", "").startswith(exp["series"] + "."):
        raise RuntimeError(
            f"{exp['name']}: the guest runs {parsed.get('uname')}, not Linux {exp['series']}:"
            " rename the experiment in daxsim.book.lab.KERNELS"
        )
    if exp["test"] == "smoke" and (not parsed["ns"] or parsed.get("other", {}).get("ok") != "pmem"):
        raise RuntimeError("smoke: the guest created no fsdax namespace with a /dev/pmem block device")
    record = {
        "experiment": exp["name"],
        "test": exp["test"],
        "params": exp["params"],
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {**versions, "guest_uname": parsed.get("uname"), "guest_ndctl": parsed.get("ndctl")},
        "command": {"runner": "python lab/runner.py", "qemu": qemu_cmd, "lab_kernel": kernel},
        "boot_wall_s": round(wall, 2),
        "guest_uptime_at_init_s": parsed.get("uptime_s"),
        "raw": {
            k: parsed[k]
            for k in (
                "region",
                "meminfo",
                "times_ms",
                "ns",
                "attrs",
                "blockdev",
                "daxdev",
                "blocks",
                "block_size",
                "memmap_on_memory",
                "cmd",
                "devices",
                "mount",
                "dmesg",
            )
            if k in parsed
        },
    }
    if exp["test"] == "ns_cost":
        record["measured"] = ns_cost_measured(parsed)
        record["predicted"] = predictions(exp["params"])
    elif exp["test"] == "odirect":
        record["measured"] = {"odirect": parsed.get("odirect", []), "pin": parsed.get("pin", {})}
    elif exp["test"] in MECHANISMS:
        measure, predict = MECHANISMS[exp["test"]]
        record["measured"] = measure(parsed)
        record["predicted"] = predict(record["measured"], exp)
    elif exp["test"] == "kmem":
        record["command"]["kernel_cmdline_extra"] = exp.get("cmdline", [])
        record["measured"] = kmem_measured(parsed)
        record["predicted"] = kmem_predictions(exp["params"], record["measured"])
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{exp['name']}.log").write_text(log)
    (results / f"{exp['name']}.json").write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return record


MECHANISMS = {
    "gup_counts": (gup_counts_measured, lambda m, exp: gup_counts_predictions(m, exp["series"])),
    "truncate_wait": (truncate_measured, lambda m, exp: truncate_predictions(m, exp["series"])),
    "pmd_writeback": (writeback_measured, lambda m, exp: writeback_predictions(m)),
}


def reparse(results: Path) -> int:
    """Recompute ``measured`` and ``predicted`` of the committed mechanism results from their
    serial logs (after a parser or prediction change; no boot)."""
    n = 0
    for exp in EXPERIMENTS:
        path = results / f"{exp['name']}.json"
        if exp["test"] not in MECHANISMS or not path.exists():
            continue
        rec = json.loads(path.read_text())
        measure, predict = MECHANISMS[exp["test"]]
        rec["measured"] = measure(_checked(exp["name"], path.with_suffix(".log").read_text()))
        rec["predicted"] = predict(rec["measured"], exp)
        path.write_text(json.dumps(rec, indent=1) + "\n")
        n += 1
    print(f"daxsim.book.lab: re-parsed {n} result(s) in {results}")
    return 0


def _fmt(n):
    return f"{n / MiB:9.2f} MiB" if n is not None else "        -"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="lab/runner.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None, help="run only experiments whose name contains this")
    ap.add_argument("--smoke", action="store_true", help="run the one-boot smoke test only")
    ap.add_argument("--list", action="store_true", help="list the experiments and exit")
    ap.add_argument(
        "--reparse",
        action="store_true",
        help="recompute the mechanism results' measured and predicted values from their logs (no boot)",
    )
    ap.add_argument("--results", default=str(RESULTS_DIR), help="directory for the JSON results")

    def one_line_error(message):
        print(f"daxsim.book.lab: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)

    ap.error = one_line_error
    args = ap.parse_args(argv)
    exps = [SMOKE] if args.smoke else [e for e in EXPERIMENTS if args.only is None or args.only in e["name"]]
    if args.list:
        for e in EXPERIMENTS:
            print(e["name"])
        return 0
    if args.reparse:
        return reparse(Path(args.results))
    if not exps:
        print(f"daxsim.book.lab: error: --only {args.only!r} matches no experiment (see --list)", file=sys.stderr)
        return 2
    if not (LAB_DIR / "work" / "initramfs.cpio.gz").exists():
        print("daxsim.book.lab: error: lab/work is not built; run `make lab` or lab/setup.sh", file=sys.stderr)
        return 2
    versions = _versions()
    missing = sorted(
        {e["kernel"] for e in exps if not (KERNEL_DIRS[e.get("kernel", "debian")] / "initramfs.cpio.gz").exists()}
    )
    for k in missing:
        print(
            f"daxsim.book.lab: the {k} kernel is not built (lab/setup.sh --backports); skipping its experiments",
            file=sys.stderr,
        )
    exps = [e for e in exps if e.get("kernel", "debian") not in missing]
    results = Path(args.results)
    t0 = time.monotonic()
    for i, exp in enumerate(exps, 1):
        print(f"[{i}/{len(exps)}] {exp['name']}: booting ...", flush=True)
        try:
            rec = run_experiment(exp, results, versions)
        except (RuntimeError, LabLogError) as e:
            print(f"daxsim.book.lab: error: {e}", file=sys.stderr)
            return 1
        walls = rec["boot_wall_s"] if isinstance(rec["boot_wall_s"], list) else [rec["boot_wall_s"]]
        msg = "      boot " + " + ".join(f"{w:.1f}" for w in walls) + " s"
        if rec["test"] == "persistence":
            msg += "; " + ", ".join(f"{k}: {v}" for k, v in rec["measured"].items())
        elif rec["test"] == "kmem":
            m, p = rec["measured"], rec["predicted"]["kernel"]
            msg += (
                f"; RAM added {_fmt(m['ram_added'])} (predicted {_fmt(p['ram_added'])}),"
                f" DRAM taken {_fmt(m['dram_consumed'])} (predicted {_fmt(p['dram_consumed'])}),"
                f" reconfigure {m['reconfigure_ms']:.0f} ms, online {m['online_ms']:.0f} ms"
            )
        elif rec["test"] == "gup_counts":
            msg += "; per I/O (kernel / predicted): " + ", ".join(
                f"{n}: bvecs {c['per_io']['bvecs']:g}/{rec['predicted'][n]['kernel']['bvecs']:g}"
                f" grabs {c['per_io']['page_grabs']:g}/{rec['predicted'][n]['kernel']['page_grabs']:g}"
                for n, c in rec["measured"]["cases"].items()
                if n.endswith("-r-65536")
            )
        elif rec["test"] == "truncate_wait":
            msg += "; " + ", ".join(
                f"{n}: wait {c.get('wait_ms', 0):.0f} ms, destroyed {c.get('destroyed_bytes')} B"
                for n, c in rec["measured"].items()
            )
        elif rec["test"] == "pmd_writeback":
            msg += "; " + ", ".join(
                f"{n}: flushed {c['bytes_flushed']} B (daxsim {rec['predicted'][n]['bytes_flushed']})"
                for n, c in rec["measured"].items()
            )
        elif rec["test"] == "odirect":
            m = rec["measured"]
            ok = sum(all(c[k] == "ok" for k in ("write", "wverify", "read", "rverify")) for c in m["odirect"])
            msg += f"; O_DIRECT {ok}/{len(m['odirect'])} verified; pins " + ", ".join(
                f"{b}: xdp={v['xdp']} uring={v['uring']}" for b, v in m["pin"].items()
            )
        elif "measured" in rec:
            m, p = rec["measured"], rec["predicted"]["kernel"]
            msg += (
                f"; DRAM {_fmt(m['dram_consumed'])} (predicted {_fmt(p['memmap_dram_bytes'])}),"
                f" lost {_fmt(m['capacity_lost'])} (predicted {_fmt(p['capacity_lost'])}),"
                f" create {m['create_ms']:.0f} ms"
            )
        print(msg, flush=True)
    print(f"daxsim.book.lab: {len(exps)} experiment(s) in {time.monotonic() - t0:.0f} s -> {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
