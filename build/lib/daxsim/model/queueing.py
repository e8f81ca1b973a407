"""Time that overlaps: throughput and latency of a queue of I/Os from CPU and device service.

An I/O needs ``cpu_ns`` of a CPU (the syscall and block layer, the option's metadata work,
option 0's copy) and ``device_ns`` of the device (the DMA at the device's and the memory's
bandwidth). ``cpus`` submitting threads, each on its own core, keep ``queue_depth`` I/Os
in flight each: a closed queueing network of ``cpus * queue_depth`` customers visiting a
CPU station of ``cpus`` servers and one device. Mean value analysis gives the throughput
and the mean latency; a multi-server station is handled with Seidmann's approximation (a
single server of demand ``D/m`` plus a pure delay of ``D (m - 1) / m``). At one I/O in
flight the latency is ``cpu_ns + device_ns``, the serial sum the cost model reports.

Simpler than a real system: no interrupt or completion batching, the device one server
(its bandwidth shared by the I/Os in flight), waits for 1b's pool not modelled here.

    >>> q = throughput(cpu_ns=1000, device_ns=500, queue_depth=32)
    >>> q.bound, round(q.iops)
    ('cpu', 1000000)
    >>> throughput(cpu_ns=1000, device_ns=500, queue_depth=1).latency_ns
    1500.0
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Throughput", "crossover_io_size", "throughput"]


class Throughput(NamedTuple):
    """What a queue of I/Os achieves."""

    iops: float  #: I/Os per second
    latency_ns: float  #: mean time from submission to completion
    cpu_utilisation: float  #: busy share of each submitting core
    device_utilisation: float  #: busy share of the device
    bound: str  #: "cpu", "device", or "queue depth" when neither resource is near saturation


def throughput(cpu_ns: float, device_ns: float, queue_depth: int = 1, cpus: int = 1) -> Throughput:
    """Closed mean value analysis of ``cpus * queue_depth`` I/Os in flight (module docstring)."""
    if queue_depth < 1 or cpus < 1:
        raise ValueError(f"queue_depth, cpus: {queue_depth!r}, {cpus!r} must be positive integers")
    cpu_ns, device_ns = max(float(cpu_ns), 0.0), max(float(device_ns), 0.0)
    n_total = int(queue_depth) * int(cpus)
    d_cpu = cpu_ns / cpus  # Seidmann: the queueing part of the multi-server CPU station
    delay = cpu_ns * (cpus - 1) / cpus  # ... and its pure-delay part
    q_cpu = q_dev = 0.0
    x = 0.0
    r = delay + d_cpu + device_ns
    for n in range(1, n_total + 1):
        r_cpu = d_cpu * (1 + q_cpu)
        r_dev = device_ns * (1 + q_dev)
        r = delay + r_cpu + r_dev
        if r <= 0:
            return Throughput(float("inf"), 0.0, 0.0, 0.0, "queue depth")
        x = n / r  # I/Os per ns
        q_cpu, q_dev = x * r_cpu, x * r_dev
    u_cpu, u_dev = x * cpu_ns / cpus, x * device_ns
    bound = "queue depth"
    if max(u_cpu, u_dev) >= 0.9:
        bound = "cpu" if u_cpu >= u_dev else "device"
    return Throughput(x * 1e9, r, u_cpu, u_dev, bound)


def crossover_io_size(cpu_ns_fixed: float, cpu_ns_per_byte: float, device_ns_per_byte: float) -> float | None:
    """The I/O size at which the device's time per I/O overtakes the CPU's (bytes): above it a
    deep queue is device-bound, below it CPU-bound; None if the CPU's grows as fast."""
    slope = device_ns_per_byte - cpu_ns_per_byte
    if slope <= 0:
        return None
    return cpu_ns_fixed / slope
