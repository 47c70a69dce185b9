"""Where a benchmark's processes run: QEMU's vCPU thread on a core of its own.

Under TCG the vCPU thread is the machine's CPU and QEMU's main thread is its devices (the
NIC's receive path, the IOMMU, the timers). Left to the host's scheduler on a 2-core
machine, the vCPU thread, the main thread and the load generator move between the cores
and now and then wait for each other's slot, which adds noise to every figure and more to
the mode whose emulation costs more host time. So the benchmarks give the vCPU thread the
last allowed CPU and everything else (QEMU's other threads, loadgen) the remaining ones, as
the paper's guest had its cores and netperf ran on another machine. Tests do not pin.

    placement = cpupin.plan()            # None on a machine with one allowed CPU
    argv = cpupin.confine(argv, placement.others)
    mover = cpupin.VcpuMover(proc.pid, placement.vcpu); mover.start()
Standard library only.
"""

import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

VCPU_THREAD = "CPU 0/TCG"     # QEMU's name for the vCPU thread with -name debug-threads=on
QEMU_NAMES = ["-name", "debug-threads=on"]
FIND_SECONDS = 10.0           # QEMU creates the vCPU thread while it sets the machine up


@dataclass(frozen=True)
class Placement:
    vcpu: int                 # the CPU for QEMU's vCPU thread
    others: tuple             # the CPUs for everything else

    def describe(self):
        return (f"QEMU's vCPU thread pinned to CPU {self.vcpu}; its other threads and the "
                f"load generator on CPU {','.join(map(str, self.others))}")


def plan(allowed=None):
    """The placement on the CPUs this process may use, or None with fewer than two (or no
    taskset to start processes with)."""
    cpus = sorted(allowed if allowed is not None else os.sched_getaffinity(0))
    if len(cpus) < 2 or not shutil.which("taskset"):
        return None
    return Placement(vcpu=cpus[-1], others=tuple(cpus[:-1]))


def confine(argv, cpus):
    """argv started on `cpus` only (its threads inherit that)."""
    return ["taskset", "-c", ",".join(map(str, cpus)), *argv]


def find_thread(pid, name, proc_root="/proc"):
    """The id of pid's thread called `name`, or None."""
    tasks = Path(proc_root) / str(pid) / "task"
    try:
        entries = list(tasks.iterdir())
    except OSError:
        return None
    for task in entries:
        try:
            if (task / "comm").read_text().strip() == name:
                return int(task.name)
        except (OSError, ValueError):
            continue
    return None


class VcpuMover(threading.Thread):
    """Moves QEMU's vCPU thread to its CPU once QEMU has created it. `.moved` tells whether
    it did, `.why` why not."""

    def __init__(self, pid, cpu, timeout=FIND_SECONDS):
        super().__init__(daemon=True)
        self.pid, self.cpu, self.timeout = pid, cpu, timeout
        self.moved, self.why = False, None

    def run(self):
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            tid = find_thread(self.pid, VCPU_THREAD)
            if tid is not None:
                try:
                    os.sched_setaffinity(tid, {self.cpu})
                    self.moved = True
                except OSError as err:
                    self.why = f"cannot pin thread {tid}: {err.strerror or err}"
                return
            if not Path(f"/proc/{self.pid}").exists():
                self.why = "QEMU ended before its vCPU thread was seen"
                return
            time.sleep(0.02)
        self.why = f"no thread named {VCPU_THREAD!r} within {self.timeout:g} s"
