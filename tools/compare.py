#!/usr/bin/env python3
"""The paper-style comparison: the same interrupt workload under bare metal (the guest
booted straight on QEMU), baseline assignment, eli-delivery and eli, in one run.

`make run` runs the edu interrupt workload (QEMU's edu device, assigned to the guest);
`make bench` the longer version with an interrupt-rate sweep. Prints a table, saves
results/run.json (or results/bench.json): a list with one object per workload and mode.
Every figure is measured under QEMU TCG on this machine; compare modes within one run.
"""

import argparse
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402

MODES = ["bare", "baseline", "eli-delivery", "eli"]
EDU_QEMU = ["-device", "edu,addr=04.0"]
EDU_ELI = "mem=64 assign=00:04.0"
WINDOW = (re.compile(r"^edu_irq:"), re.compile(r"^raised"))


def platform_line():
    """What the figures were measured on."""
    qemu = subprocess.run([elirun.qemu_binary(), "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = len([1 for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("processor")])
    return (f"{qemu.replace('QEMU emulator version', 'QEMU')} TCG, q35, -cpu "
            f"qemu64,+svm,+npt,+x2apic, on {cores} x {cpu} ({platform.system()})")


def run_mode(mode, args, timeout, log_dir):
    """One run of edu_irq in `mode`; returns (guest result, eli result, window, reason)."""
    log = log_dir / f"compare-{mode}.log"
    if mode == "bare":
        run = elirun.run_bare("edu_irq", args=args, qemu_extra=EDU_QEMU, timeout=timeout,
                              log_path=log)
    else:
        run = elirun.run_eli("edu_irq", args=args, eli_opts=f"{EDU_ELI} mode={mode}",
                             qemu_extra=elirun.IOMMU + EDU_QEMU, timeout=timeout, log_path=log)
    g = elirun.guest_result(run.lines)
    if run.reason or run.status != elirun.STATUS["pass"] or not g:
        why = run.reason or f"QEMU status {elirun.describe_status(run.status)}"
        return None, None, None, f"{why} (log: {log.relative_to(elirun.ROOT)})"
    if mode == "bare":
        return g, None, None, None
    w = elirun.window(run.lines, run.result, *WINDOW)
    if not run.result or not w:
        return None, None, None, f"no result line or window (log: {log})"
    return g, run.result, w, None


def row(workload, mode, g, r, w, tsc_hz, plat):
    """One results/run.json object."""
    irqs = g["handled"]
    us = 1e6 / tsc_hz
    seconds = w["seconds"] if w else g["cycles"] / tsc_hz
    out = {
        "workload": workload,
        "mode": mode,
        "interrupts": irqs,
        "exits": w["exits"] if w else 0,
        "exits_per_irq": (w["exits"] / irqs) if w and irqs else 0.0,
        "exits_per_s": w["exits_per_s"] if w else 0.0,
        "guest_pct": w["guest_pct"] if w else None,
        "lat_min_us": g["lat_min"] * us,
        "lat_median_us": g["lat_median"] * us,
        "lat_p99_us": g["lat_p99"] * us,
        "throughput": irqs / seconds if seconds else 0.0,
        "throughput_unit": "interrupts/s",
        "rate": g.get("rate", 0),
        "platform": plat,
    }
    out["tsc_hz"] = tsc_hz
    if r:
        out["bounces"] = r["eli"]["bounces"]
        out["injected"] = r["eli"]["injected"]
        out["ticks_per_s"] = w["ticks"] / w["seconds"] if w["seconds"] else 0.0
    return out


def table(rows, latency=True):
    """The printed comparison (latency: the guest measured it, so print its columns)."""
    bare = next((r for r in rows if r["mode"] == "bare"), None)
    lat_head = f"{'lat med us':>12}{'lat p99 us':>12}" if latency else ""
    head = (f"{'mode':<14}{'interrupts':>11}{'exits':>9}{'exits/irq':>11}{'exits/s':>10}"
            f"{'guest %':>9}{lat_head}{'irq/s':>10}{'vs bare':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        rel = f"{100 * r['throughput'] / bare['throughput']:.0f}%" if bare else "-"
        gp = f"{r['guest_pct']:.1f}" if r["guest_pct"] is not None else "-"
        lat = f"{r['lat_median_us']:>12.2f}{r['lat_p99_us']:>12.2f}" if latency else ""
        lines.append(f"{r['mode']:<14}{r['interrupts']:>11}{r['exits']:>9}"
                     f"{r['exits_per_irq']:>11.4f}{r['exits_per_s']:>10.0f}{gp:>9}{lat}"
                     f"{r['throughput']:>10.0f}{rel:>9}")
    return lines


def compare(workload, args, timeout, log_dir, plat):
    """All four modes of one workload; returns the rows (eli's TSC rate used for bare)."""
    results, failed = {}, []
    for i, mode in enumerate(MODES):
        print(f"compare: {workload} [{args}] mode {mode} ({i + 1}/{len(MODES)}, up to {timeout} s)",
              flush=True)
        g, r, w, reason = run_mode(mode, args, timeout, log_dir)
        if reason:
            print(f"compare: {mode}: failed: {reason}")
            failed.append(mode)
            continue
        results[mode] = (g, r, w)
    tsc_hz = next((r["tsc_hz"] for g, r, w in results.values() if r), None)
    if not tsc_hz:
        return [], failed
    rows = [row(workload, m, *results[m], tsc_hz, plat) for m in MODES if m in results]
    reasons = {m: results[m][1]["exits"] for m in MODES if m in results and results[m][1]}
    return rows, failed, reasons


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=100000, help="interrupts per run")
    p.add_argument("--rates", default="", help="also sweep these interrupt rates (per second)")
    p.add_argument("--out", default="results/run.json")
    p.add_argument("--timeout", type=int, default=300)
    opts = p.parse_args(argv)
    log_dir = elirun.ROOT / "build" / "run-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    plat = platform_line()
    print(f"eli comparison on {plat}")
    print("(times are TSC-based under QEMU TCG: compare the modes side by side, not with "
          "real hardware)")
    workloads = [("edu", f"count={opts.count}")]
    workloads += [(f"edu-rate-{r}", f"count={min(opts.count, 5 * int(r))} rate={r}")
                  for r in filter(None, opts.rates.split(","))]
    rows, failed = [], []
    tsc_hz = None
    for name, args in workloads:
        if "rate=" in args:
            if not tsc_hz:
                failed.append(f"{name}/all (no TSC rate from the first workload)")
                continue
            # under eli there is no PIT to calibrate against: the guest is told the TSC
            # rate, as Linux is with tsc_early_khz=
            args += f" tsc_hz={tsc_hz}"
        got, bad, reasons = compare(name, args, opts.timeout, log_dir, plat)
        tsc_hz = tsc_hz or next((r.get("tsc_hz") for r in got if r.get("tsc_hz")), None)
        rows += got
        failed += [f"{name}/{m}" for m in bad]
        print()
        print(f"workload {name}: edu device interrupts, {args}")
        for line in table(got):
            print("  " + line)
        print("  exits by reason over each whole run (boot and console output included):")
        for mode, by in reasons.items():
            shown = ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda x: -x[1]) if v)
            print(f"    {mode:<13} {shown}")
        print()
    out = elirun.ROOT / opts.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"saved {out.relative_to(elirun.ROOT)}")
    if failed:
        print(f"failed runs: {' '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
