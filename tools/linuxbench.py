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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402
import linuxtest  # noqa: E402
import netbench  # noqa: E402

MODES = ["bare", "baseline", "eli-delivery", "eli"]
RESULTS = elirun.ROOT / "results"
LOG_DIR = elirun.ROOT / "build" / "run-logs"
WINDOW = linuxtest.WINDOW
IRQ_LINE = re.compile(r"eli-linux: irq \d+:\s+(\d+)\s+.*\b(eth0\S*)$")
PLATFORM = ""


def client(tool, ports, seconds):
    """argv of the host-side client and a parser of its output -> (throughput, unit,
    latency median us, latency p99 us)."""
    p = ports[tool]
    if tool == "sockperf":
        return linuxtest.sockperf_argv(p, seconds), linuxtest.parse_sockperf
    if tool == "iperf3":
        return (["iperf3", "-c", "127.0.0.1", "-p", str(p), "-t", str(seconds), "--bidir", "-J"],
                parse_iperf3)
    if tool == "memcached":
        return (["memcaslap", "-s", f"127.0.0.1:{p}", "-t", f"{seconds}s", "-T", "1", "-c", "4"],
                parse_memcaslap)
    return (["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency",
             f"http://127.0.0.1:{p}/index.html"], parse_wrk)


def parse_iperf3(out):
    """TCP in both directions at once (--bidir): the sum of what each side received."""
    try:
        end = json.loads(out)["end"]
        bps = end["sum_received"]["bits_per_second"] + \
            end["sum_received_bidir_reverse"]["bits_per_second"]
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


def one_run(mode, tool, seconds, timeout=240):
    """Boot, serve, run one client, stop; returns (row, None) or (None, reason)."""
    log_path = LOG_DIR / f"linux-{tool}-{mode}.log"
    parse = client(tool, {t: 0 for t in linuxtest.GUEST_PORTS}, seconds)[1]
    s = linuxtest.serve_session(mode, lambda ports: client(tool, ports, seconds)[0], seconds,
                                timeout, log_path)
    rel = log_path.relative_to(elirun.ROOT)
    if s.reason:
        return None, f"{s.reason} (log: {rel})"
    got = parse(s.client_out)
    if not got:
        return None, f"no figures in {tool}'s output (log: {rel})"
    thr, unit, med, p99 = got
    lines = s.lines
    before = nic_irqs(lines[:s.serving + 1], 0) or 0
    stop = next((i for i, t in enumerate(lines) if WINDOW[1].search(t)), s.serving)
    irqs = max(0, (nic_irqs(lines, stop) or 0) - before)
    r = elirun.result_texts(lines)
    res = json.loads(r[-1]) if r else None
    w = elirun.window(lines, res, *WINDOW) if res else None
    if mode != "bare" and not w:
        return None, f"no measurement window (log: {rel})"
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
    for line in netbench.table(rows):
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
