"""NV-RAM as RAM: pmem as System RAM (kmem), and a power loss that really kills a process."""

import json
import signal
import subprocess
import sys

import pytest

import daxsim
from daxsim.study import powerloss
from daxsim.emu.kmem import kmem_online
from daxsim.emu.units import GiB, MiB

CHILD = """
import json, os, signal, sys, daxsim
from daxsim.study import powerloss
m = daxsim.Machine("256M", "128M", memmap="pmem", pmem_file=sys.argv[1])
w = daxsim.Workload(ios=400, io_size="16k", queue_depth=8, file_size="32M", seed=3)
print(json.dumps(powerloss.crash(sys.argv[2], m, w, stop_after=int(sys.argv[3]))), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("option", ["1a", "nvram", "3"])
def test_power_loss_keeps_every_completed_io(option, tmp_path):
    path = str(tmp_path / "pmem.img")
    p = subprocess.run(
        [sys.executable, "-c", CHILD, path, option, "250"], capture_output=True, text=True, timeout=300, check=False
    )
    assert p.returncode == -signal.SIGKILL, p.stderr  # the process was killed, not finished
    done = json.loads(p.stdout)
    assert done["submitted"] == 250 and done["inflight_lost"] == 8 and done["completed"] == 242
    m = daxsim.Machine("256M", "128M", memmap="pmem", pmem_file=path)
    w = daxsim.Workload(ios=400, io_size="16k", queue_depth=8, file_size="32M", seed=3)
    after = powerloss.recover(option, m, w, completed=done["completed"])
    assert after["bytes_lost"] == 0 and after["bytes_checked"] > 0
    if option in ("1a", "nvram"):  # the memmap on pmem still holds the lost I/Os' references
        assert after["stale_struct_pages"] > 0 and after["memmap_reinit_struct_pages"] > 0
    else:  # option 3 keeps no struct pages: nothing stale, nothing to initialise again
        assert after["stale_struct_pages"] == 0 and after["memmap_reinit_struct_pages"] == 0
    # the check has teeth: claiming the in-flight I/Os completed too finds bytes that are not there
    assert powerloss.recover(option, m, w, completed=done["submitted"])["bytes_lost"] > 0


@pytest.mark.parametrize("domain, loses", [("adr", False), ("eadr", False), ("adr-ddio", True)])
def test_the_durability_domain_decides_what_a_completed_read_keeps(domain, loses, tmp_path):
    """Under ADR with DDIO, a completed read's DMA still sits in the LLC: the power cut drops
    it, and the recovery check finds the loss; under ADR without DDIO, or eADR, nothing."""
    m = daxsim.Machine("256M", "128M", memmap="pmem", pmem_file=str(tmp_path / "pmem.img"))
    w = daxsim.Workload(ios=200, io_size="16k", queue_depth=4, file_size="32M", seed=5, read_fraction=1.0)
    done = powerloss.crash("1a", m, w, stop_after=120, domain=domain)
    after = powerloss.recover("1a", m, w, completed=done["completed"])
    assert done["domain"] == domain and (done["dma_bytes_in_llc"] > 0) == loses
    assert (after["bytes_lost"] > 0) == loses, after
    if loses:  # what is lost is at most what DDIO held
        assert after["bytes_lost"] <= done["dma_bytes_in_llc"] <= powerloss.DDIO_BYTES
    with pytest.raises(ValueError, match="^domain: 'adr2' is not a durability domain; accepted: adr, adr-ddio, eadr"):
        powerloss.crash("1a", m, w, stop_after=10, domain="adr2")


def test_power_loss_refuses_what_it_cannot_model(tmp_path):
    m = daxsim.Machine("256M", "128M", pmem_file=str(tmp_path / "x.img"))
    with pytest.raises(ValueError, match="^workload: power-loss runs take I/O only"):
        powerloss.crash("1a", m, daxsim.Workload(ios=10, store_fraction=0.5, file_size="8M"), 5)
    with pytest.raises(ValueError, match="^pmem_file: "):
        powerloss.crash("1a", m.replace(pmem_file=None), daxsim.Workload(ios=10, file_size="8M"), 5)
    with pytest.raises(ValueError, match="^stop_after: "):
        powerloss.crash("1a", m, daxsim.Workload(ios=10, file_size="8M"), 0)


def test_kmem_rounds_to_memory_blocks_and_places_the_memmap():
    off = kmem_online("2G", map="mem")
    # the 2 MiB info-block padding pushes the first whole 128 MiB block up: one block lost
    assert off["blocks"] == 15 and off["rounding_lost_bytes"] == 128 * MiB - 2 * MiB
    assert off["ram_added_bytes"] == 15 * 128 * MiB and off["memmap_dram_bytes"] == 15 * 2 * MiB
    on = kmem_online("2G", map="mem", memmap_on_memory=True)
    assert on["memmap_dram_bytes"] == 0 and on["ram_added_bytes"] == 15 * (128 - 2) * MiB
    dev = kmem_online("64G", map="dev")
    assert dev["namespace_memmap_pmem_bytes"] == pytest.approx(GiB, rel=0.01)  # 64 GiB / 64
    with pytest.raises(ValueError, match="^block: "):
        kmem_online("2G", block="100M")


def test_bounce_pages_on_the_pmem_node_cost_more():
    m = daxsim.Machine("8G", "1G")
    w = daxsim.Workload(ios=100, file_size="64M")
    dram, pmem = (daxsim.run("0", m, w, bounce_node=n) for n in ("dram", "pmem"))
    assert pmem.modelled.breakdown["cpu_copy"] > dram.modelled.breakdown["cpu_copy"]
    assert pmem.to_dict()["params"]["bounce_node"] == "pmem"
    with pytest.raises(ValueError, match="^bounce_node: only option 0"):
        daxsim.run("1a", m, w, bounce_node="pmem")


def test_kmem_block_size_follows_the_kernels_rule():
    """probe_memory_block_size(): 128 MiB below 64 GiB of RAM (the lab's VM), 2 GiB on bare
    metal from 64 GiB, the aligned size under a hypervisor."""
    from daxsim.emu.kmem import memory_block_size

    assert memory_block_size("16G") == 128 * MiB and memory_block_size("256G") == 2 * GiB
    assert memory_block_size("65G", bare_metal=False) == 1 * GiB  # 65 GiB is 1 GiB aligned, not 2
    big = kmem_online("400G", dram="256G")
    assert big["block"] == 2 * GiB and big["blocks"] == 199  # the info block pushes the first 2 GiB block up
    assert kmem_online("400G")["block"] == 128 * MiB


def test_namespace_end_is_truncated_to_the_alignment():
    from daxsim.emu.machine import namespace_layout

    ns = namespace_layout(3 * GiB + 512 * MiB, "fsdax", "mem", 1 * GiB)
    assert ns.end_trunc == 512 * MiB and ns.npfns == (3 * GiB + 512 * MiB - ns.dataoff - ns.end_trunc) // 4096
    assert namespace_layout(2 * GiB, "fsdax", "mem", 2 * MiB).end_trunc == 0
