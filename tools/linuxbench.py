#!/usr/bin/env python3
"""`make run-linux`: standard tools against Debian's own Linux kernel, booted bare on QEMU
and under eli in baseline, eli-delivery and eli modes with the e1000e assigned.

The guest (scripts/linux-guest, `eli.serve=1`) starts sockperf, iperf3, memcached and
busybox httpd and prints `eli-linux: serving`; the host runs one client through QEMU's user
network (port forwarding), then connects to the guest's port 9999, and the guest prints
`eli-linux: stopping` and its /proc/interrupts lines and powers off. eli's counters are taken
between those two lines (elirun.window); the NIC's interrupts are the growth of its
/proc/interrupts counts between the two prints. One boot per tool and mode. Prints a table,
writes results/linux.json (the keys of results/run.json; workloads sockperf, iperf3,
memcached, http) and results/linux.svg. Figures are under QEMU TCG on this machine.
"""

import argparse
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402
import linuxtest  # noqa: E402
import netbench  # noqa: E402

MODES = ["bare", "baseline", "eli-delivery", "eli"]
RESULTS = elirun.ROOT / "results"
LOG_DIR = elirun.ROOT / "build" / "run-logs"
WINDOW = (re.compile(r"eli-linux: serving"), re.compile(r"eli-linux: stopping"))
SERVE = "eli.serve=1"
GUEST_PORTS = {"sockperf": 11111, "iperf3": 5201, "memcached": 11211, "http": 80, "stop": 9999}
IRQ_LINE = re.compile(r"eli-linux: irq \d+:\s+(\d+)\s+.*\b(eth0\S*)$")
PLATFORM = ""


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forwards(ports):
    """QEMU user-network forwards: host 127.0.0.1:ports[name] -> guest GUEST_PORTS[name]."""
    fw = [f"hostfwd=tcp:127.0.0.1:{ports[n]}-:{g}" for n, g in GUEST_PORTS.items()]
    fw.append(f"hostfwd=udp:127.0.0.1:{ports['sockperf']}-:{GUEST_PORTS['sockperf']}")
    return fw


def client(tool, ports, seconds):
    """argv of the host-side client and a parser of its output -> (throughput, unit,
    latency median us, latency p99 us)."""
    p = ports[tool]
    if tool == "sockperf":
        return (["sockperf", "ping-pong", "-i", "127.0.0.1", "-p", str(p), "-t", str(seconds),
                 "--full-rtt"], parse_sockperf)
    if tool == "iperf3":
        return (["iperf3", "-c", "127.0.0.1", "-p", str(p), "-t", str(seconds), "-J"],
                parse_iperf3)
    if tool == "memcached":
        return (["memcaslap", "-s", f"127.0.0.1:{p}", "-t", f"{seconds}s", "-T", "1", "-c", "4"],
                parse_memcaslap)
    return (["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency",
             f"http://127.0.0.1:{p}/index.html"], parse_wrk)


def parse_sockperf(out):
    runtime = re.search(r"RunTime=([\d.]+) sec.*?ReceivedMessages=(\d+)", out)
    med = re.search(r"percentile 50\.000 =\s+([\d.]+)", out)
    p99 = re.search(r"percentile 99\.000 =\s+([\d.]+)", out)
    if not runtime:
        return None
    return (int(runtime.group(2)) / float(runtime.group(1)), "transactions/s",
            float(med.group(1)) if med else None, float(p99.group(1)) if p99 else None)


def parse_iperf3(out):
    try:
        bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
    except (ValueError, KeyError, TypeError):
        return None
    return bps / 1e6, "Mbit/s", None, None


def parse_memcaslap(out):
    m = re.findall(r"TPS:\s*(\d+)", out)
    return (float(m[-1]), "ops/s", None, None) if m else None


def _wrk_time_us(v, unit):
    return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def parse_wrk(out):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    med = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not rps:
        return None
    return (float(rps.group(1)), "requests/s", _wrk_time_us(*med.groups()) if med else None,
            _wrk_time_us(*p99.groups()) if p99 else None)


def nic_irqs(lines, after):
    """Sum of the NIC's /proc/interrupts counts printed after line index `after`."""
    total = None
    for line in lines[after:]:
        m = IRQ_LINE.search(line.rstrip("\r"))
        if m:
            total = (total or 0) + int(m.group(1))
    return total


def argv_for(mode, ports):
    nic = ["-device", "e1000e,netdev=n0,mac=52:54:00:12:34:56,addr=05.0",
           "-netdev", "user,id=n0," + ",".join(forwards(ports))]
    cmdline = f"{linuxtest.CMDLINE} {SERVE}"
    if mode == "bare":
        return [elirun.qemu_binary(), *elirun.MACHINE, "-m", str(linuxtest.QEMU_MEM), "-kernel",
                str(linuxtest.KERNEL), "-initrd", str(linuxtest.INITRD), "-append", cmdline, *nic]
    return elirun.eli_command("vmlinux", cmdline, modules=[str(linuxtest.INITRD)],
                              eli_opts=f"{linuxtest.ELI_OPTS} mode={mode}",
                              image=str(linuxtest.KERNEL), qemu_extra=[*elirun.IOMMU, *nic],
                              host_mem=linuxtest.QEMU_MEM)


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


def one_run(mode, tool, seconds, timeout=240):
    """Boot, serve, run one client, stop; returns (row, None) or (None, reason)."""
    ports = {n: free_tcp_port() for n in GUEST_PORTS}
    argv = argv_for(mode, ports)
    log_path = LOG_DIR / f"linux-{tool}-{mode}.log"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")
    log.write(f"# {' '.join(argv)}\n".encode())
    lines, outcome, done = [], {}, threading.Event()
    proc = subprocess.Popen(argv, cwd=elirun.ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_qemu():
        outcome["status"], outcome["reason"] = elirun._wait(proc, timeout, lines, log, None)
        done.set()

    threading.Thread(target=wait_qemu, daemon=True).start()
    deadline = time.monotonic() + timeout
    serving = wait_line(lines, WINDOW[0], deadline, done)
    reason, out = None, ""
    if serving is None:
        reason = "the guest never printed `eli-linux: serving`"
    else:
        argv_c, parse = client(tool, ports, seconds)
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
    if reason or outcome.get("reason"):
        return None, f"{reason or outcome['reason']} (log: {log_path.relative_to(elirun.ROOT)})"
    got = parse(out)
    if not got:
        return None, f"no figures in {argv_c[0]}'s output (log: {log_path.relative_to(elirun.ROOT)})"
    thr, unit, med, p99 = got
    before = nic_irqs(lines[:serving + 1], 0) or 0
    stop = wait_line(lines, WINDOW[1], time.monotonic(), done) or serving
    irqs = max(0, (nic_irqs(lines, stop) or 0) - before)
    r = elirun.result_texts(lines)
    res = json.loads(r[-1]) if r else None
    w = elirun.window(lines, res, *WINDOW) if res else None
    if mode != "bare" and not w:
        return None, f"no measurement window (log: {log_path.relative_to(elirun.ROOT)})"
    secs = w["seconds"] if w else seconds
    return {
        "workload": tool, "mode": mode, "interrupts": irqs,
        "exits": w["exits"] if w else 0,
        "exits_per_irq": w["exits"] / irqs if w and irqs else 0.0,
        "exits_per_s": w["exits_per_s"] if w else 0.0,
        "guest_pct": w["guest_pct"] if w else None,
        "irqs_per_s": irqs / secs if secs else 0.0,
        "lat_median_us": med, "lat_p99_us": p99,
        "throughput": thr, "throughput_unit": unit,
        "platform": PLATFORM,
    }, None


def table(rows):
    bare = {r["workload"]: r for r in rows if r["mode"] == "bare"}
    head = (f"{'tool':<10}{'mode':<13}{'throughput':>22}{'vs bare':>8}{'lat med':>10}"
            f"{'lat p99':>10}{'irq/s':>8}{'exits/s':>9}{'exits/irq':>10}{'guest %':>8}")
    out = [head, "-" * len(head)]
    for r in rows:
        b = bare.get(r["workload"])
        rel = f"{100 * r['throughput'] / b['throughput']:.0f}%" if b and b["throughput"] else "-"
        lat = lambda v: f"{v:.0f}us" if v is not None else "-"  # noqa: E731
        gp = f"{r['guest_pct']:.1f}" if r["guest_pct"] is not None else "-"
        out.append(f"{r['workload']:<10}{r['mode']:<13}{r['throughput']:>10.0f} "
                   f"{r['throughput_unit']:<11}{rel:>8}{lat(r['lat_median_us']):>10}"
                   f"{lat(r['lat_p99_us']):>10}{r['irqs_per_s']:>8.0f}{r['exits_per_s']:>9.0f}"
                   f"{r['exits_per_irq']:>10.4f}{gp:>8}")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=5, help="each client's run")
    p.add_argument("--tools", default="sockperf,iperf3,memcached,http")
    p.add_argument("--modes", default=",".join(MODES))
    opts = p.parse_args(argv)
    if not linuxtest.KERNEL.exists():
        print("run-linux: build/linux is missing (make linux-guest)")
        return 1
    global PLATFORM
    PLATFORM = netbench.platform_line()
    print(f"eli with Debian's Linux {(linuxtest.LINUX / 'VERSION').read_text().strip()} on "
          f"{PLATFORM}")
    print("(under QEMU TCG: compare the modes side by side)")
    steps = [(t, m) for t in opts.tools.split(",") for m in opts.modes.split(",")]
    rows, failed, start = [], [], time.monotonic()
    for i, (tool, mode) in enumerate(steps):
        print(f"run-linux: {mode} {tool} (step {i + 1}/{len(steps)}, "
              f"{time.monotonic() - start:.0f} s so far)", flush=True)
        row, why = one_run(mode, tool, opts.seconds)
        if why:
            print(f"run-linux: {mode} {tool}: failed: {why}", flush=True)
            failed.append(f"{tool}/{mode}")
        else:
            rows.append(row)
    print()
    for line in table(rows):
        print("  " + line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "linux.json").write_text(json.dumps(rows, indent=1) + "\n")
    plotted = netbench.plot_run(rows, RESULTS / "linux.svg",
                                "Debian Linux guest: throughput relative to bare metal (QEMU TCG)")
    print("saved results/linux.json" + (" and results/linux.svg" if plotted else ""))
    if failed:
        print(f"failed runs: {' '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
