#!/usr/bin/env python3
"""The comparison on bochs-vmx (Intel VMX under Bochs 2.7): an assigned device's interrupts
bare, under baseline, eli-delivery and eli; and the VMX-preemption timer's way back.

`make run PLATFORM=bochs-vmx`. The workload is tests/guests/intx_nic.c: Bochs's 82540EM
(INTx on an IOAPIC line, eli owning the IOAPIC) answering ARP requests from Bochs's vnet,
one in flight, so the interrupt rate is set by vnet's packet timing. Prints a table, saves
results/run-bochs.json with the keys of results/run.json (the latency fields are null: this
guest does not measure latency). Then runs hostile_cpu case=cli (a guest spinning with
interrupts off in direct mode) and prints the worst time it held eli out, from eli's
watchdog lines, saved to results/way-back-bochs.json. Standard library only.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bochsrun  # noqa: E402
import compare  # noqa: E402
import elirun  # noqa: E402

MODES = ["bare", "baseline", "eli-delivery", "eli"]
ELI_OPTS = f"mem=64 assign={bochsrun.E1000_BDF} unsafe-no-iommu unsafe-dma-offset"
WINDOW = (re.compile(r"^intx_nic: [0-9]+ ARP requests"), re.compile(r"^intx_nic: handled"))
WATCHDOG = re.compile(r"^eli: watchdog \(.*\): no tick for ([0-9]+) us with the guest in direct")
TSC_HZ = 50000000  # Bochs's TSC with ips=50000000 (no PIT under eli)


def platform_line():
    """What the figures were measured on."""
    ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "bochs"], capture_output=True,
                         text=True).stdout.strip() or "unknown version"
    return (f"Bochs {ver} (Debian), cpu {bochsrun.CPU_MODEL}, ips=50000000, e1000 with "
            "ethmod=vnet")


def run_mode(mode, args, timeout, log_dir):
    """One run in `mode`: (guest result, eli result, window, reason)."""
    log = log_dir / f"compare-bochs-{mode}.log"
    if mode == "bare":
        lines, _ = bochsrun.run_bare_bochs("intx_nic", args, ["e1000"], timeout, log_path=log)
        g = elirun.guest_result(lines)
        if not g or not any(line.startswith("SUMMARY: ") and ", 0 unexpected" in line
                            for line in lines):
            return None, None, None, f"no passing run (log: {log})"
        return g, None, None, None
    run = bochsrun.run_eli_bochs("intx_nic", f"{args} tsc_hz={TSC_HZ}",
                                 eli_opts=f"{ELI_OPTS} mode={mode}", timeout=timeout,
                                 log_path=log, devices=["e1000"])
    g = elirun.guest_result(run.lines)
    if run.reason or run.status != elirun.STATUS["pass"] or not g:
        why = run.reason or f"status {elirun.describe_status(run.status)}"
        return None, None, None, f"{why} (log: {log})"
    w = elirun.window(run.lines, run.result, *WINDOW)
    if not run.result or not w:
        return None, None, None, f"no result line or window (log: {log})"
    return g, run.result, w, None


def row(mode, g, r, w, tsc_hz, plat):
    """One results/run-bochs.json object (the keys of results/run.json)."""
    irqs = g["interrupts"]
    seconds = w["seconds"] if w else g["cycles"] / tsc_hz
    out = {
        "workload": "intx-e1000",
        "mode": mode,
        "interrupts": irqs,
        "exits": w["exits"] if w else 0,
        "exits_per_irq": (w["exits"] / irqs) if w and irqs else 0.0,
        "exits_per_s": w["exits_per_s"] if w else 0.0,
        "guest_pct": w["guest_pct"] if w else None,
        "lat_min_us": None,
        "lat_median_us": None,
        "lat_p99_us": None,
        "throughput": irqs / seconds if seconds else 0.0,
        "throughput_unit": "interrupts/s",
        "rate": 0,
        "platform": plat,
        "tsc_hz": tsc_hz,
    }
    if r:
        out["bounces"] = r["eli"]["bounces"]
        out["injected"] = r["eli"]["injected"]
        out["ticks_per_s"] = w["ticks"] / w["seconds"] if w["seconds"] else 0.0
    return out


def way_back(timeout, log_dir):
    """hostile_cpu case=cli under eli: (worst us eli was held out, expiries, reason)."""
    log = log_dir / "compare-bochs-hostile-cli.log"
    run = bochsrun.run_eli_bochs("hostile_cpu", "case=cli cycles=300000000", timeout=timeout,
                                 log_path=log)
    held = [int(m.group(1)) for m in map(WATCHDOG.match, run.lines) if m]
    if not held or not run.result:
        return None, None, f"no watchdog line or result (log: {log})"
    return max(held), run.result.get("watchdog_nmis"), None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=5000, help="interrupts per run")
    p.add_argument("--out", default="results/run-bochs.json")
    p.add_argument("--timeout", type=int, default=120)
    opts = p.parse_args(argv)
    log_dir = elirun.ROOT / "build" / "run-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    plat = platform_line()
    print(f"eli comparison on bochs-vmx: {plat}")
    print("(times are emulated TSC cycles under Bochs: compare the modes side by side)")
    args = f"count={opts.count} timeout=30"
    results, failed = {}, []
    for i, mode in enumerate(MODES):
        print(f"compare: intx_nic [{args}] mode {mode} ({i + 1}/{len(MODES)})", flush=True)
        g, r, w, reason = run_mode(mode, args, opts.timeout, log_dir)
        if reason:
            print(f"compare: {mode}: failed: {reason}")
            failed.append(mode)
            continue
        results[mode] = (g, r, w)
    tsc_hz = next((r["tsc_hz"] for g, r, w in results.values() if r), TSC_HZ)
    rows = [row(m, *results[m], tsc_hz, plat) for m in MODES if m in results]
    print()
    print(f"workload intx-e1000: 82540EM INTx interrupts through the IOAPIC, {args}")
    for line in compare.table(rows, latency=False):
        print("  " + line)
    print("  exits by reason over each whole run (boot and console output included):")
    for mode in MODES:
        if mode in results and results[mode][1]:
            by = results[mode][1]["exits"]
            shown = ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda x: -x[1]) if v)
            print(f"    {mode:<13} {shown}")
    print("compare: hostile_cpu case=cli (the preemption timer's way back)", flush=True)
    held_us, expiries, reason = way_back(opts.timeout, log_dir)
    if reason:
        print(f"compare: way back: failed: {reason}")
        failed.append("hostile-cli")
    else:
        print(f"  way back (VMX-preemption timer): a guest with interrupts off held eli out at "
              f"most {held_us / 1000:.1f} ms ({expiries} expiries, hostile_cpu case=cli)")
    out = elirun.ROOT / opts.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    saved = [out]
    if held_us is not None:
        # a file of its own, so that every object of run-bochs.json has run.json's keys
        wb = out.with_name("way-back-bochs.json")
        wb.write_text(json.dumps({"workload": "hostile-cli", "mode": "eli",
                                  "way_back_max_us": held_us, "watchdog_expiries": expiries,
                                  "platform": plat}, indent=1) + "\n")
        saved.append(wb)
    print("saved " + " and ".join(str(f.relative_to(elirun.ROOT)) for f in saved))
    if failed:
        print(f"failed runs: {' '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
