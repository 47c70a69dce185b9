#!/usr/bin/env python3
"""Run a NIC guest on QEMU (bare, or under eli with the e1000e assigned) and drive it from
outside the VM with build/tools/loadgen.

QEMU gets an e1000e on a `-netdev dgram` over loopback (each UDP datagram is one Ethernet
frame): QEMU receives on port P1 and sends to P2, loadgen binds P2 and sends to P1.

    from netrun import run_workload
    lg, result, guest, status, reason = run_workload("eli", "rr", "", ["--duration", "5"], 120)

As a command:
    tools/netrun.py [--mode eli] [--guest nic] [--guest-args ARGS] [--itr N] WORKLOAD [LOADGEN_ARG...]
prints loadgen's result, the guest's result line and how QEMU ended.
Standard library only.
"""

import json
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpupin  # noqa: E402
import elirun  # noqa: E402
from elirun import ROOT  # noqa: E402

LOADGEN = "build/tools/loadgen"
DEFAULT_GUEST = "nic"
GUEST_MAC = "52:54:00:12:34:56"
NIC_SLOT = "05.0"          # the e1000e's PCI device.function on bus 0
NIC_BDF = "00:05.0"        # what eli's assign= takes
MODES = ("bare", "baseline", "eli-delivery", "eli")
WORKLOADS = ("rr", "stream", "kv", "quit")

# the nic guest's measurement window (eli marks the lines: elirun.window) and its NIC
# interrupts, counted by the guest itself
WINDOW = (re.compile(r"^nic: serving"), re.compile(r"^nic: stopping"))


def irqs_of(g):
    """The NIC's interrupts in the guest's result object g."""
    return g.get("irq_rx", 0) + g.get("irq_tx", 0) + g.get("irq_other", 0)


def nic_window(run):
    """eli's counters over the guest's measurement window (elirun.window), or None (bare,
    or no window)."""
    return elirun.window(run.lines, run.result, *WINDOW) if run.result else None


LOADGEN_PREFIX = "loadgen-result "
QUIT_TIMEOUT = 5.0         # loadgen's limit for the final QUIT
EXIT_GRACE = 10.0          # how long QEMU may take to end after BYE


def free_udp_ports(n=2):
    """n distinct UDP ports on 127.0.0.1 that were free a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def nic_args(port_qemu, port_loadgen, mac=GUEST_MAC):
    """QEMU options for the e1000e on the dgram netdev (QEMU on port_qemu, loadgen on port_loadgen)."""
    netdev = ("dgram,id=n0,local.type=inet,local.host=127.0.0.1,"
              f"local.port={port_qemu},remote.type=inet,remote.host=127.0.0.1,"
              f"remote.port={port_loadgen}")
    return ["-netdev", netdev, "-device", f"e1000e,netdev=n0,mac={mac},addr={NIC_SLOT}"]


def guest_command_args(guest_args="", itr=None):
    """The guest's command line: guest_args, then `itr=N` when itr is given."""
    args = guest_args.strip() if isinstance(guest_args, str) else " ".join(guest_args)
    if itr is not None:
        args = f"{args} itr={itr}".strip()
    return args


# eli without an IOMMU: the NIC's DMA is not confined and its messages are not remapped.
# Only for measuring what QEMU's emulation of the IOMMU costs (netbench.py gap).
NO_IOMMU_OPTS = "unsafe-no-iommu unsafe-dma-offset"


def qemu_argv(mode, guest, args, port_qemu, port_loadgen, eli_opts=elirun.DEFAULT_ELI_OPTS,
              iommu=True):
    """argv for QEMU: bare (the guest's multiboot image on QEMU) or under eli in `mode`;
    iommu=False: eli on a machine with no IOMMU, told NO_IOMMU_OPTS."""
    net = nic_args(port_qemu, port_loadgen)
    if mode == "bare":
        return elirun.bare_command(guest, args, mem=elirun.mem_from_opts(eli_opts),
                                   qemu_extra=net)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    opts = f"{eli_opts or ''} assign={NIC_BDF} mode={mode}".strip()
    if not iommu:
        return elirun.eli_command(guest, args, eli_opts=f"{opts} {NO_IOMMU_OPTS}",
                                  qemu_extra=net)
    return elirun.eli_command(guest, args, eli_opts=opts, qemu_extra=elirun.IOMMU + net)


def parse_loadgen(text):
    """The JSON object of loadgen's `loadgen-result {json}` line, or None."""
    for line in reversed(text.splitlines()):
        if line.startswith(LOADGEN_PREFIX):
            try:
                value = json.loads(line[len(LOADGEN_PREFIX):])
            except json.JSONDecodeError:
                return None
            return value if isinstance(value, dict) else None
    return None


@dataclass
class LoadgenRun:
    argv: list
    workload: str
    status: int | None     # exit status; None if it could not start or was killed
    result: dict | None    # its loadgen-result object
    output: str            # stdout then stderr
    duration: float

    def error(self):
        """Why it failed in one line (its last stderr line), or None if it succeeded."""
        if self.status == 0:
            return None
        last = [l for l in self.output.splitlines() if l.strip() and
                not l.startswith(LOADGEN_PREFIX)]
        what = last[-1] if last else "no output"
        return f"loadgen {self.workload} exit {self.status}: {what}"


def run_loadgen(workload, args, port_loadgen, port_qemu, limit, cpus=None):
    """Runs loadgen's workload with options `args` against the ports; limit bounds it (s).
    cpus: the CPUs it may run on (default: any)."""
    binary = ROOT / LOADGEN
    argv = [str(binary), "--port-local", str(port_loadgen), "--port-qemu", str(port_qemu),
            "--json", workload, *args]
    if cpus:
        argv = cpupin.confine(argv, cpus)
    start = time.monotonic()
    try:
        # loadgen stops itself at its --timeout; this is only the backstop.
        p = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=limit + 10)
        out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
        status = p.returncode
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        out += f"\nloadgen: killed after {limit + 10:g}s\n"
        status = None
    except OSError as e:
        out, status = f"loadgen: cannot run {binary}: {e.strerror or e}\n", None
    rel = [LOADGEN, *argv[1:]]
    return LoadgenRun(rel, workload, status, parse_loadgen(out), out, time.monotonic() - start)


@dataclass
class NetRun:
    """One finished run. Unpacks as (loadgen, result, guest, status, reason).

    loadgen: the workload's loadgen-result object (None if it printed none); result: eli's
    result object (None for bare runs or when eli printed none); guest: the guest's lines
    (prefix stripped under eli); status: QEMU's exit status (elirun.TIMEOUT_STATUS when
    killed at the timeout, negative when killed otherwise, None if it could not start);
    reason: why the run went wrong (loadgen failure, no BYE, timeout), else None.
    """
    loadgen: dict | None
    result: dict | None
    guest: list
    status: int | None
    reason: str | None
    lines: list = field(default_factory=list)      # all of QEMU's output
    loadgen_runs: list = field(default_factory=list)
    argv: list = field(default_factory=list)
    ports: tuple = ()
    duration: float = 0.0
    pin_error: str | None = None # pinning was asked and the vCPU thread was not pinned: why

    def __iter__(self):
        return iter((self.loadgen, self.result, self.guest, self.status, self.reason))


def _missing(mode, guest):
    need = [LOADGEN]
    if mode == "bare":
        need.append(elirun.guest_image(guest, "multiboot"))
    else:
        need += [elirun.ELI_KERNEL, elirun.guest_image(guest, "elf64")]
    return [p for p in need if not (ROOT / p).exists()]


def run_workload(mode, workload, guest_args="", loadgen_args=(), timeout=120, itr=None,
                 log_path=None, *, guest=DEFAULT_GUEST, ready=None,
                 eli_opts=elirun.DEFAULT_ELI_OPTS, quit=True, echo=None, pin=None, iommu=True):
    """Boots GUEST on QEMU with the e1000e, runs loadgen's `workload` against it, then QUIT.

    mode: "bare" or one of eli's modes (baseline, eli-delivery, eli). guest_args: the guest's
    command line (str); itr: appended to it as `itr=N`. loadgen_args: more loadgen options
    (list, or a str that is shell-split), e.g. ["--duration", "5", "--size", "64"].
    timeout: seconds for everything; QEMU's process group is killed at it. ready: how long
    loadgen waits for the guest to answer first (default: half the timeout, 5..60 s).
    quit: send QUIT after the workload (the guest then prints its results and ends QEMU);
    False: the guest is expected to end by itself before the timeout.
    log_path: file for QEMU's command line and output, then loadgen's commands and output.
    echo: a text stream that gets QEMU's lines as they come.
    pin: a cpupin.Placement: QEMU's vCPU thread on its CPU, the rest and loadgen on the
    others (benchmarks); None: wherever the host puts them (tests).
    iommu: False runs eli with no IOMMU in QEMU (qemu_argv), for measurements only.

    Returns a NetRun, which unpacks as (loadgen result, eli result, guest lines, status, reason).
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r} (one of {', '.join(WORKLOADS)})")
    if isinstance(loadgen_args, str):
        loadgen_args = shlex.split(loadgen_args)
    args = guest_command_args(guest_args, itr)
    start = time.monotonic()
    deadline = start + timeout
    missing = _missing(mode, guest)
    if missing:
        return NetRun(None, None, [], None,
                      f"missing {', '.join(missing)} (not built? make all tools)")
    port_qemu, port_loadgen = free_udp_ports(2)
    argv = qemu_argv(mode, guest, args, port_qemu, port_loadgen, eli_opts, iommu)
    others = None
    if pin:
        argv = cpupin.confine(argv + cpupin.QEMU_NAMES, pin.others)
        others = pin.others
    run = NetRun(None, None, [], None, None, argv=argv, ports=(port_qemu, port_loadgen))

    log = None
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "wb")
        log.write(f"# cwd: {ROOT}\n# {shlex.join(argv)}\n".encode())
        log.flush()
    try:
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as err:
            run.reason = f"cannot run {argv[0]}: {err.strerror or err}"
            return run
        outcome = {}
        mover = None
        if pin:
            mover = cpupin.VcpuMover(proc.pid, pin.vcpu)
            mover.start()

        def wait_qemu():
            # elirun's waiter: pumps the output, kills the group at the timeout, and
            # registers the process for elirun.kill_all (Ctrl-C).
            outcome["status"], outcome["reason"] = elirun._wait(
                proc, timeout, run.lines, log, echo)

        waiter = threading.Thread(target=wait_qemu, daemon=True)
        waiter.start()
        reasons = []
        killed_by_us = False
        try:
            # The workload, limited so that the QUIT and QEMU's exit still fit.
            left = deadline - time.monotonic()
            reserve = min(QUIT_TIMEOUT + 2.0, 0.3 * timeout) if quit else 0.0
            limit = max(1.0, left - reserve)
            wait = ready if ready is not None else max(5.0, min(60.0, timeout / 2))
            wait = min(wait, limit)
            lg = run_loadgen(workload, ["--wait-ready", f"{wait:g}", "--timeout", f"{limit:g}",
                                        *loadgen_args], port_loadgen, port_qemu, limit, others)
            run.loadgen_runs.append(lg)
            run.loadgen = lg.result
            if lg.error():
                reasons.append(lg.error())
            if not waiter.is_alive() and workload != "quit":
                last = run.lines[-1] if run.lines else "no output"
                reasons.insert(0, f"QEMU ended during the workload "
                                  f"({elirun.describe_status(outcome.get('status'))}): {last}")
            quit_ok = workload == "quit" and lg.status == 0
            if quit and workload != "quit" and waiter.is_alive():
                left = deadline - time.monotonic()
                q = run_loadgen("quit", ["--timeout", f"{max(1.0, min(QUIT_TIMEOUT, left)):g}"],
                                port_loadgen, port_qemu, QUIT_TIMEOUT, others)
                run.loadgen_runs.append(q)
                quit_ok = q.status == 0
                if q.error() and not reasons:
                    reasons.append(q.error())
            # QEMU ends by itself after BYE (or, with quit=False, when the guest is done).
            grace = EXIT_GRACE if quit_ok else (2.0 if quit else None)
            left = max(0.0, deadline - time.monotonic())
            waiter.join(left if grace is None else min(grace, left))
            if waiter.is_alive():
                killed_by_us = True
                elirun.kill_group(proc)
                waiter.join()
        except BaseException:
            elirun.kill_group(proc)
            waiter.join(10)
            raise
        run.status = outcome.get("status")
        if mover:
            mover.join(1)
            # not a failure: the run is valid, only placed by the host (the caller says so)
            if not mover.moved:
                run.pin_error = mover.why or "still looking"
        if outcome.get("reason"):
            reasons.append(outcome["reason"])
        elif killed_by_us:
            why = "it did not end after BYE" if quit_ok else "the guest could not be stopped"
            reasons.append(f"QEMU killed: {why}")
        run.reason = "; ".join(reasons) or None
    finally:
        run.duration = time.monotonic() - start
        if log:
            for lg in run.loadgen_runs:
                log.write(f"\n# {shlex.join(lg.argv)}\n".encode())
                log.write(lg.output.encode())
                log.write(f"# loadgen exit {lg.status}, {lg.duration:.1f}s\n".encode())
            outcome_text = run.reason or f"exit status {elirun.describe_status(run.status)}"
            log.write(f"\n# {outcome_text}, {run.duration:.1f}s\n".encode())
            log.close()

    run.result = elirun.parse_result(run.lines) if mode != "bare" else None
    run.guest = (list(run.lines) if mode == "bare" else elirun.guest_lines(run.lines))
    return run


# ---------------------------------------------------------------------------
# Command

def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(
        description="Boot a NIC guest on QEMU (bare or under eli) and drive it with loadgen.",
        epilog="example: tools/netrun.py --mode eli rr --duration 5 --size 64")
    p.add_argument("--mode", choices=MODES, default="eli")
    p.add_argument("--guest", default=DEFAULT_GUEST)
    p.add_argument("--guest-args", default="", help="the guest's command line")
    p.add_argument("--itr", type=int, help="passed to the guest as itr=N")
    p.add_argument("--eli", default=elirun.DEFAULT_ELI_OPTS, help="eli's options (mem=64)")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--ready", type=float, help="seconds to wait for the guest to answer")
    p.add_argument("--no-quit", action="store_true", help="do not send QUIT after the workload")
    p.add_argument("--log", help="write QEMU's and loadgen's output to this file")
    p.add_argument("--verbose", action="store_true", help="show QEMU's output as it comes")
    p.add_argument("workload", choices=WORKLOADS)
    p.add_argument("loadgen_args", nargs=argparse.REMAINDER, help="loadgen options")
    o = p.parse_args(argv)
    try:
        run = run_workload(o.mode, o.workload, o.guest_args, o.loadgen_args, o.timeout, o.itr,
                           o.log, guest=o.guest, ready=o.ready, eli_opts=o.eli,
                           quit=not o.no_quit, echo=sys.stdout if o.verbose else None)
    except KeyboardInterrupt:
        elirun.kill_all()
        return 130
    print(f"loadgen: {json.dumps(run.loadgen)}")
    gres = elirun.guest_result(run.guest)
    if gres is not None:
        print(f"guest: {json.dumps(gres)}")
    if run.result is not None:
        r = run.result
        print(f"eli: exits {r.get('exits_total')}, mode {r.get('mode', o.mode)}")
    print(f"qemu: {elirun.describe_status(run.status)}; {run.duration:.1f}s")
    if run.reason:
        print(f"netrun: {run.reason}", file=sys.stderr)
        tail = run.lines[-10:]
        if tail and not o.verbose:
            print("last QEMU lines:", *tail, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
