#!/usr/bin/env python3
"""System tests with an unmodified Linux guest: Debian's own kernel (build/linux/vmlinux,
built by scripts/linux-guest from Debian's packages) and a busybox initramfs, booted
bare on QEMU and under eli in baseline, eli-delivery and eli modes, with the e1000e
assigned (MSI-X, behind QEMU's AMD IOMMU) and QEMU's user network behind it.

Each run boots with the benchmark servers on (`eli.serve=1`) and must reach the
initramfs' markers: `/init` ran, eth0 came up, three pings to the user network's gateway
came back, a short sockperf ping-pong from the host (through QEMU's port forwarding) got
its answers, the NIC's vectors counted in /proc/interrupts, and no `eli-linux: FAIL`
line. A second boot in each eli mode (`eli.run=shell`) must show busybox's shell prompt
on the console: userspace output through the UART, which Linux polls (IRQ 0 from the
DSDT's PNP0501 device). Under eli the run ends with Linux powering off (a halt with
interrupts off: eli ends the guest, status guest-ended), and eli's counters must show
that in eli mode the guest's timer was eli's virtual LAPIC timer and that no EOI exited
except those of injected interrupts. Prints PASS/FAIL per test and
`N passed, N failed`; with --modes, only those modes.
"""

import argparse
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402

LINUX = elirun.ROOT / "build" / "linux"
KERNEL = LINUX / "vmlinux"
INITRD = LINUX / "initramfs.cpio.gz"
MODES = ["bare", "baseline", "eli-delivery", "eli"]
LOG_DIR = elirun.ROOT / "build" / "test-logs"
# eli's virtual ECAM holds bus 0 only, and its DSDT names no host bridge: Linux scans
# the bus itself. printk.devkmsg=on: the initramfs writes its markers to /dev/kmsg.
# The timer (docs/linux-guest.md, "The guest's tick"): a periodic LAPIC tick, which runs
# on the physical APIC timer in direct mode with no exit, and the TSC trusted (Linux's
# clocksource watchdog would judge it against jiffies). The same line boots bare.
CMDLINE = ("console=ttyS0 pci=noacpi printk.devkmsg=on lapic=notscdeadline nohz=off highres=off "
           "tsc=reliable eli.ip=10.0.2.15/24 eli.ping=10.0.2.2")
# eli.serve=1: the servers until the host connects to port 9999 (scripts/linux-guest)
SERVE = "eli.serve=1"
WINDOW = (re.compile(r"eli-linux: serving"), re.compile(r"eli-linux: stopping"))
# eli mode while serving: eli's 5 Hz tick, and one exit per character (and status read) of
# a kernel line printed meanwhile (about 90 for `random: crng init done`), stay well under
# this; Linux polling the interrupt-less UART through an open console tty (about 95 reads
# a second, docs/linux-guest.md, "The console") does not
MAX_SERVING_EXITS_PER_S = 60
GUEST_PORTS = {"sockperf": 11111, "iperf3": 5201, "memcached": 11211, "http": 80, "stop": 9999}
SOCKPERF_SECONDS = 2
ELI_OPTS = "mem=512 kvm-signature assign=00:05.0"
QEMU_MEM = 1024
TIMEOUT = 240
MARKERS = [
    ("init ran", re.compile(r"eli-linux: init$")),
    ("eth0 up", re.compile(r"eli-linux: eth0 up$")),
    ("ping answered", re.compile(r"eli-linux: ping \S+ ok: 3 packets transmitted, 3 packets received")),
    ("servers up", WINDOW[0]),
    ("stop seen", WINDOW[1]),
    ("done", re.compile(r"eli-linux: done$")),
]
IRQ_LINE = re.compile(r"eli-linux: irq \d+:\s+(\d+)\s+.*\b(eth0-rx-0|eth0-tx-0)$")


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forwards(ports):
    """QEMU user-network forwards: host 127.0.0.1:ports[name] -> guest GUEST_PORTS[name]."""
    fw = [f"hostfwd=tcp:127.0.0.1:{ports[n]}-:{g}" for n, g in GUEST_PORTS.items()]
    fw.append(f"hostfwd=udp:127.0.0.1:{ports['sockperf']}-:{GUEST_PORTS['sockperf']}")
    return fw


def command(mode, ports, run=SERVE):
    """QEMU's argv for one mode, the guest serving on the host's `ports` (or, with
    run="eli.run=shell", giving a shell on its console)."""
    nic = ["-device", "e1000e,netdev=n0,mac=52:54:00:12:34:56,addr=05.0",
           "-netdev", "user,id=n0," + ",".join(forwards(ports))]
    cmdline = f"{CMDLINE} {run}"
    if mode == "bare":
        return [elirun.qemu_binary(), *elirun.MACHINE, "-m", str(QEMU_MEM), "-kernel", str(KERNEL),
                "-initrd", str(INITRD), "-append", cmdline, *nic]
    return elirun.eli_command("vmlinux", cmdline, modules=[str(INITRD)],
                              eli_opts=f"{ELI_OPTS} mode={mode}", image=str(KERNEL),
                              qemu_extra=[*elirun.IOMMU, *nic], host_mem=QEMU_MEM)


def sockperf_argv(port, seconds):
    return ["sockperf", "ping-pong", "-i", "127.0.0.1", "-p", str(port), "-t", str(seconds),
            "--full-rtt"]


def parse_sockperf(out):
    """(transactions/s, unit, latency median us, p99 us) from sockperf's output, or None."""
    runtime = re.search(r"RunTime=([\d.]+) sec.*?ReceivedMessages=(\d+)", out)
    med = re.search(r"percentile 50\.000 =\s+([\d.]+)", out)
    p99 = re.search(r"percentile 99\.000 =\s+([\d.]+)", out)
    if not runtime:
        return None
    return (int(runtime.group(2)) / float(runtime.group(1)), "transactions/s",
            float(med.group(1)) if med else None, float(p99.group(1)) if p99 else None)


def wait_line(lines, rx, deadline, done):
    """Index of the first line matching rx, or None at the deadline or when QEMU ended."""
    while time.monotonic() < deadline:
        for i, line in enumerate(list(lines)):
            if rx.search(line):
                return i
        if done.is_set():
            return None
        time.sleep(0.2)
    return None


@dataclass
class Session:
    """One boot that served: QEMU's output, the line index of `serving`, the client's
    output, and why it went wrong (None: it did not)."""
    lines: list
    serving: int | None
    client_out: str
    reason: str | None
    result: dict | None


@dataclass
class Boot:
    """QEMU running in the background: its output lines so far, `done` once it ended
    (`outcome`: status and reason), its log file."""
    proc: subprocess.Popen
    lines: list
    done: threading.Event
    outcome: dict
    log: object


def boot(argv, timeout, log_path):
    """Starts QEMU with argv, its output collected and logged; killed at the timeout."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    log.write(f"# {' '.join(argv)}\n".encode())
    b = Boot(subprocess.Popen(argv, cwd=elirun.ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True), [], threading.Event(), {}, log)

    def wait_qemu():
        b.outcome["status"], b.outcome["reason"] = elirun._wait(b.proc, timeout, b.lines, log, None)
        b.done.set()

    threading.Thread(target=wait_qemu, daemon=True).start()
    return b


def qemu_state(b, timeout):
    """Why a boot went no further: QEMU killed at the timeout, ended (its status), or still
    running when the wait for a marker gave up."""
    if not b.done.is_set():
        return f"QEMU still running after {timeout:g} s"
    return b.outcome.get("reason") or f"QEMU ended: {elirun.describe_status(b.outcome.get('status'))}"


def serve_session(mode, client_argv, seconds, timeout, log_path):
    """Boot with eli.serve=1, run client_argv(ports) once the guest serves, then stop it
    (connect to its port 9999) and wait for QEMU to end."""
    ports = {n: free_tcp_port() for n in GUEST_PORTS}
    b = boot(command(mode, ports), timeout, log_path)
    lines, done, log = b.lines, b.done, b.log
    deadline = time.monotonic() + timeout
    serving = wait_line(lines, WINDOW[0], deadline, done)
    reason, out = None, ""
    if serving is None:
        reason = f"the guest never printed `eli-linux: serving` ({qemu_state(b, timeout)})"
    else:
        argv_c = client_argv(ports)
        try:
            c = subprocess.run(argv_c, capture_output=True, text=True, timeout=seconds + 60)
            out = c.stdout + c.stderr
        except (OSError, subprocess.TimeoutExpired) as err:
            reason = f"{argv_c[0]}: {err}"
        log.write(f"# {' '.join(argv_c)}\n{out}\n".encode())
    try:
        with socket.create_connection(("127.0.0.1", ports["stop"]), timeout=10) as s:
            s.sendall(b"stop\n")
    except OSError as err:
        reason = reason or f"cannot stop the guest: {err}"
    done.wait(max(1, deadline - time.monotonic()))
    log.close()
    return Session(lines, serving, out, reason or b.outcome.get("reason"),
                   elirun.parse_result(lines))


def judge(mode, run):
    """The reasons a run (a Session) failed (empty: passed)."""
    if run.reason:
        return [run.reason]
    text = [line.rstrip("\r") for line in run.lines]
    got = parse_sockperf(run.client_out)
    if not got or got[0] <= 0:
        why_sp = run.client_out.strip().splitlines()[-1:] or ["no output"]
        text_sp = [f"sockperf from the host got no answers: {why_sp[0]}"]
    else:
        text_sp = []
    why = [f"no `{what}` marker" for what, rx in MARKERS if not any(rx.search(t) for t in text)]
    why += text_sp
    why += [t.split("eli-linux: ", 1)[1] for t in text if "eli-linux: FAIL" in t]
    counts = {m.group(2): int(m.group(1)) for t in text for m in [IRQ_LINE.search(t)] if m}
    if not counts.get("eth0-rx-0") or not counts.get("eth0-tx-0"):
        why.append(f"the NIC's MSI-X vectors did not count in /proc/interrupts: {counts}")
    if mode == "bare":
        return why
    r = run.result
    if not r:
        return why + ["no result line from eli"]
    if r.get("end") != "halt-with-interrupts-off":
        why.append(f"eli's run ended with {r.get('end')}, not Linux's power-off halt")
    if not r.get("integrity", {}).get("ok"):
        why.append("eli's image changed")
    n = r.get("eli", {})
    if mode == "eli":
        if not r.get("lapic", {}).get("timer_fires"):
            why.append("the guest's timer (eli's virtual LAPIC timer) never fired")
        if n.get("eoi_exits") != n.get("injected"):
            why.append(f"{n.get('eoi_exits')} EOI exits for {n.get('injected')} injected "
                       "interrupts: an EOI of a directly delivered one exited")
        w = elirun.window(run.lines, r, *WINDOW)
        if not w:
            why.append("no measurement window (eli's marks of `serving` and `stopping`)")
        elif w["exits_per_s"] > MAX_SERVING_EXITS_PER_S:
            why.append(f"{w['exits']} exits in {w['seconds']:.1f} s while serving, more than "
                       f"{MAX_SERVING_EXITS_PER_S}/s: something polls an exiting device "
                       "(an open console tty polls the UART about 95 times a second)")
    return why


# busybox sh's prompt for root (PS1 '\w # ', then its query of the cursor position, which
# eli shows as `?[6n`): no newline follows, and eli sends a partial line when the guest's
# 8250 driver turns its transmit interrupt off (hv/dev/vuart.c)
PROMPT = re.compile(r"^guest: [~/]\S* # ")
SHELL_MODES = ["baseline", "eli-delivery", "eli"]


def shell_session(mode, timeout, log_path):
    """Boot to the shell (`eli.run=shell`); returns (QEMU's lines, whether the prompt
    came on the console). QEMU is killed once it has, or at the timeout."""
    ports = {n: free_tcp_port() for n in GUEST_PORTS}
    b = boot(command(mode, ports, run="eli.run=shell"), timeout, log_path)
    found = wait_line(b.lines, PROMPT, time.monotonic() + timeout, b.done) is not None
    elirun.kill_group(b.proc)
    b.done.wait(10)
    b.log.close()
    return b.lines, found


def one_shell(mode):
    name = f"linux-{mode}-shell"
    lines, found = shell_session(mode, TIMEOUT, LOG_DIR / f"{name}.log")
    why = [] if found else ["no shell prompt (`/ # `) on the console"]
    why += [t.split("eli-linux: ", 1)[1].rstrip() for t in lines if "eli-linux: FAIL" in t]
    return name, why


def one_item(item):
    kind, mode = item
    return one_shell(mode) if kind == "shell" else one(mode)


def one(mode):
    name = f"linux-{mode}"
    run = serve_session(mode, lambda ports: sockperf_argv(ports["sockperf"], SOCKPERF_SECONDS),
                        SOCKPERF_SECONDS, TIMEOUT, LOG_DIR / f"{name}.log")
    return name, judge(mode, run)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", default=",".join(MODES))
    opts = p.parse_args(argv)
    if not KERNEL.exists() or not INITRD.exists():
        print(f"FAIL linux: {KERNEL.relative_to(elirun.ROOT)} or its initramfs is missing "
              "(make linux-guest builds them)")
        print("0 passed, 1 failed")
        return 1
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    modes = opts.modes.split(",")
    items = [("run", m) for m in modes] + [("shell", m) for m in SHELL_MODES if m in modes]
    return elirun.run_tests(items, one_item)


if __name__ == "__main__":
    sys.exit(main())
