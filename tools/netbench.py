#!/usr/bin/env python3
"""The network experiments: the `nic` guest drives its assigned e1000e, the host-side load
generator drives it from outside the VM (as netperf does from a remote machine).

    netbench.py run          rr, stream and kv under bare, baseline, eli-delivery and eli
    netbench.py coalescing   the NIC's interrupt throttling swept from aggressive to none
    netbench.py ratio        computation per request swept (the computation-to-I/O ratio)
    netbench.py gap          rr under bare, eli and eli with no IOMMU: what eli's distance
                             from bare is made of under QEMU TCG

Each prints a table, writes JSON (the keys of results/run.json, docs/results.md) and a
gnuplot plot under results/. Figures are under QEMU TCG on this machine.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpupin  # noqa: E402
import elirun  # noqa: E402
import netrun  # noqa: E402
from compare import platform_line  # noqa: E402

MODES = ["bare", "baseline", "eli-delivery", "eli"]
RESULTS = elirun.ROOT / "results"
LOG_DIR = elirun.ROOT / "build" / "run-logs"

WORKLOADS = {
    "rr": ["--size", "1"],
    "stream": ["--size", "1024", "--rate", "4000"],
    "kv": ["--keys", "100", "--get-ratio", "0.9"],
}


def one_run(mode, workload, lg_args, guest_args, seconds, log_name, timeout=180, iommu=True,
            label=None, guest_cycles=False):
    """One workload in one mode; returns a results/run.json object, or (None, reason).
    iommu=False: eli with no IOMMU (netrun.qemu_argv); label: the row's mode then.
    guest_cycles: add the guest's own TSC cycles per receive interrupt and per TDT write."""
    args = list(lg_args) + ["--duration", str(seconds)]
    # one file per run in LOG_DIR: a step's name like "run (round 1/5)" must not make a folder
    log = LOG_DIR / (re.sub(r"[^A-Za-z0-9._]+", "-", log_name).strip("-") + ".log")
    run = netrun.run_workload(mode, workload, guest_args, args, timeout=timeout, log_path=log,
                              pin=PIN, iommu=iommu)
    if PIN and run.pin_error:
        print(f"  note: {mode} {workload}: the vCPU thread was not pinned ({run.pin_error})",
              flush=True)
    lg, r = run.loadgen, run.result
    g = elirun.guest_result(run.guest) or {}
    if run.reason or not lg or not g:
        return None, f"{run.reason or 'no result'} (log: {log.relative_to(elirun.ROOT)})"
    w = netrun.nic_window(run)
    if r and not w:
        return None, f"no measurement window (log: {log.relative_to(elirun.ROOT)})"
    irqs = netrun.irqs_of(g)
    seconds_w = w["seconds"] if w else g["cycles"] / g["tsc_hz"] if g.get("tsc_hz") else seconds
    row = {
        "workload": workload,
        "mode": label or mode,
        "interrupts": irqs,
        "exits": w["exits"] if w else 0,
        "exits_per_irq": w["exits"] / irqs if w and irqs else 0.0,
        "exits_per_s": w["exits_per_s"] if w else 0.0,
        "guest_pct": w["guest_pct"] if w else None,
        "irqs_per_s": irqs / seconds_w if seconds_w else 0.0,
        "lat_median_us": lg.get("lat_median_us"),
        "lat_p99_us": lg.get("lat_p99_us"),
        "throughput": lg["tps"] if workload != "stream" else lg["fps"],
        "throughput_unit": "transactions/s" if workload != "stream" else "frames/s",
        "platform": PLATFORM,
    }
    if guest_cycles:
        row.update(rx_handler_cycles=g.get("rx_handler_cycles", 0) / max(1, g.get("irq_rx", 0)),
                   tdt_cycles=g.get("tdt_cycles", 0) / max(1, g.get("tx_packets", 0)))
    if workload == "stream":
        row.update(bps=lg["bps"], sent=lg["sent"], received=lg["received"], lost=lg["lost"])
    else:
        row.update(lost=lg.get("lost", 0), errors=lg.get("errors", 0))
    return row, None


UNIT_SHORT = {"transactions/s": "tps", "frames/s": "fps"}


def table(rows, extra=None):
    """The comparison table of rows (results/*.json objects); `extra` names the swept
    parameter shown first. Also make run-linux's (its units are longer)."""
    base = {(r["workload"], r.get("param")): r for r in rows if r["mode"] == "bare"}
    units = [UNIT_SHORT.get(r["throughput_unit"], r["throughput_unit"]) for r in rows]
    uw = max([3] + [len(u) for u in units])
    ww = max([9] + [len(r["workload"]) + 1 for r in rows])
    head = (f"{'workload':<{ww}}{'mode':<13}{'throughput':>{15 + uw}}{'vs bare':>8}{'lat med':>9}"
            f"{'lat p99':>9}{'irq/s':>8}{'exits/s':>9}{'exits/irq':>10}{'guest %':>8}")
    if extra:
        head = f"{extra:>8}  " + head
    out = [head, "-" * len(head)]
    for r, unit in zip(rows, units):
        b = base.get((r["workload"], r.get("param")))
        rel = f"{100 * r['throughput'] / b['throughput']:.0f}%" if b and b["throughput"] else "-"
        lat = lambda v: f"{v:.0f}us" if v is not None else "-"  # noqa: E731
        gp = f"{r['guest_pct']:.1f}" if r["guest_pct"] is not None else "-"
        line = (f"{r['workload']:<{ww}}{r['mode']:<13}{r['throughput']:>14.0f} {unit:<{uw}}{rel:>8}"
                f"{lat(r['lat_median_us']):>9}{lat(r['lat_p99_us']):>9}{r['irqs_per_s']:>8.0f}"
                f"{r['exits_per_s']:>9.0f}{r['exits_per_irq']:>10.4f}{gp:>8}")
        if extra:
            line = f"{str(r.get('param')):>8}  " + line
        out.append(line)
    return out


STEP_OVERHEAD_S = 1.5    # a step's boot and QUIT beside its load, under TCG here


def sweep(name, workloads, modes, seconds, later_steps=0):
    """Runs (workload, param, loadgen args, guest args) x modes with progress lines; the
    time left counts later_steps more steps of the same length after these."""
    rows, failed = [], []
    steps = [(w, m) for w in workloads for m in modes]
    start = time.monotonic()
    for i, ((wl, param, lg, ga), mode) in enumerate(steps):
        per_step = (time.monotonic() - start) / i if i else seconds + STEP_OVERHEAD_S
        left = per_step * (len(steps) - i + later_steps)
        print(f"{name}: {mode} {wl} {param if param is not None else ''} "
              f"(step {i + 1}/{len(steps)}, about {left:.0f} s left)", flush=True)
        row, reason = one_run(mode, wl, lg, ga, seconds, f"{name}-{wl}-{param}-{mode}")
        if reason:
            print(f"{name}: {mode} {wl}: failed: {reason}", flush=True)
            failed.append(f"{wl}/{param}/{mode}")
            continue
        row["param"] = param
        rows.append(row)
    return rows, failed


def rotated(seq, k):
    """seq in the order round k runs it: each round starts with another item, so that none
    always runs last (drift in the host's load during a round would otherwise fall on one)."""
    k %= len(seq)
    return seq[k:] + seq[:k]


def sweep_rounds(name, wls, modes, seconds, ks, total, later_steps=0):
    """sweep() once for each round index in ks (of `total` in the experiment), the modes
    rotated(); returns the rounds' rows and the failed steps. later_steps: the experiment's
    steps after these, for the time left."""
    rounds, failed = [], []
    for i, k in enumerate(ks):
        order = rotated(modes, k)
        left = (len(ks) - i - 1) * len(wls) * len(modes) + later_steps
        rows, f = sweep(f"{name} (round {k + 1}/{total})", wls, order, seconds, left)
        rounds.append(rows)
        failed += f
    return rounds, failed


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"netbench: gnuplot failed: {err}")
        return False


def plot_run(rows, out, title="Throughput relative to bare metal (QEMU TCG)"):
    """Throughput relative to bare metal per workload and mode; whether gnuplot made it."""
    data = out.with_suffix(".dat")
    lines = ["# workload " + " ".join(MODES)]
    for wl in dict.fromkeys(r["workload"] for r in rows):
        base = next((r for r in rows if r["workload"] == wl and r["mode"] == "bare"), None)
        vals = []
        for m in MODES:
            r = next((r for r in rows if r["workload"] == wl and r["mode"] == m), None)
            vals.append(f"{100 * r['throughput'] / base['throughput']:.1f}" if r and base else "0")
        lines.append(f"{wl} " + " ".join(vals))
    data.write_text("\n".join(lines) + "\n")
    return gnuplot(f"""set terminal svg size 800,420
set output '{out}'
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "% of bare metal"
set yrange [0:*]
set key outside right
plot '{data}' using 2:xtic(1) title 'bare', '' using 3 title 'baseline', '' using 4 title 'eli-delivery', '' using 5 title 'eli'
""")


def plot_sweep(rows, out, xlabel, title):
    """Throughput and interrupt rate against the swept parameter, one line per mode."""
    data = out.with_suffix(".dat")
    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    params = sorted({r["param"] for r in rows})
    lines = ["# param " + " ".join(f"{m}_tput {m}_irqs" for m in modes)]
    for p in params:
        vals = []
        for m in modes:
            r = next((r for r in rows if r["mode"] == m and r["param"] == p), None)
            vals += [f"{r['throughput']:.1f}", f"{r['irqs_per_s']:.1f}"] if r else ["NaN", "NaN"]
        lines.append(f"{p} " + " ".join(vals))
    data.write_text("\n".join(lines) + "\n")
    plots = ", ".join(f"'{data}' using 1:{2 + 2 * i} with linespoints title '{m}'"
                      for i, m in enumerate(modes))
    plots2 = ", ".join(f"'{data}' using 1:{3 + 2 * i} with linespoints dt 2 title '{m} irq/s'"
                       for i, m in enumerate(modes))
    gnuplot(f"""set terminal svg size 800,460
set output '{out}'
set title "{title} (QEMU TCG)"
set xlabel "{xlabel}"
set ylabel "throughput"
set y2label "interrupts/s"
set ytics nomirror
set y2tics
set key outside right
plot {plots}, {plots2.replace("title", "axes x1y2 title")}
""")


def save(rows, name):
    out = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    return out


def median_rows(rounds):
    """Per workload, swept parameter and mode (in the first round's order), every figure's
    median over its runs (a figure, not a run: one run's latency moves with the host as much
    as its throughput), and `runs`, how many there were."""
    runs = {}
    for rows in rounds:
        for r in rows:
            runs.setdefault((r["workload"], r.get("param"), r["mode"]), []).append(r)
    out = []
    for (wl, param, mode), rs in runs.items():
        row = dict(rs[0], runs=len(rs))
        for k in rs[0]:
            values = [r.get(k) for r in rs]
            if k != "param" and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                    for x in values):
                row[k] = statistics.median(values)
        out.append(row)
        if len(rs) > 1:
            what = wl if param is None else f"{wl} {param}"
            each = ", ".join(f"{r['throughput']:.0f}" for r in rs)
            print(f"  {what:<{max(8, len(what) + 1)}}{mode:<13}{each} "
                  f"{rs[0]['throughput_unit']}: median {row['throughput']:.0f}")
    return out


def paired_ratios(rounds, modes=MODES):
    """Each mode's throughput (and median latency, where measured) over bare's in the same
    round, and the median of those: the two runs of a pair saw the host in nearly the same
    state, so this is steadier under a shared machine than the ratio of the two medians."""
    out = []
    for wl in WORKLOADS:
        for mode in modes[1:]:
            for key, what in (("throughput", "vs bare"), ("lat_median_us", "latency vs bare")):
                ratios = []
                for rows in rounds:
                    got = {r["mode"]: r.get(key) for r in rows if r["workload"] == wl}
                    if got.get("bare") and got.get(mode):
                        ratios.append(got[mode] / got["bare"])
                if ratios:
                    med = statistics.median(ratios)
                    out.append(f"{wl:<8}{mode:<13}{what} in each round: " +
                               ", ".join(f"{100 * x:.0f}%" for x in ratios) +
                               f"; median {100 * med:.0f}%")
    return out


# rr under eli against bare is the closest comparison in the table (the network issue bounds
# it within 5%), and one run's throughput moves with the host by about as much, so that pair
# gets more runs than the others: o.rr_rounds in all, the extra rounds rr under those two only.
CLOSE_PAIR = ("rr", ["bare", "eli"])


def cmd_run(o):
    """The workloads in every mode, o.rounds times over (each round all of them, so that
    every mode sees the host as it was then), then rr under bare and eli alone until they
    have o.rr_rounds runs; each figure is its median over the runs."""
    wls = [(wl, None, args, "", ) for wl, args in WORKLOADS.items()]
    pair_wl, pair_modes = CLOSE_PAIR
    total = max(o.rounds, o.rr_rounds)
    extra = range(o.rounds, total)
    rounds, failed = sweep_rounds("run", wls, MODES, o.seconds, range(o.rounds), total,
                                  len(extra) * len(pair_modes))
    more, f = sweep_rounds(f"run, {pair_wl}", [(pair_wl, None, WORKLOADS[pair_wl], "")],
                           pair_modes, o.seconds, extra, total)
    rounds += more
    failed += f
    print()
    rows = median_rows(rounds)
    print()
    for line in paired_ratios(rounds):
        print("  " + line)
    print()
    for line in table(rows):
        print("  " + line)
    out = save(rows, o.name)
    plot_run(rows, RESULTS / f"{o.name}.svg")
    print(f"saved {out.relative_to(elirun.ROOT)} and results/{o.name}.svg")
    return rows, failed


# netbench.py gap: where eli's rr time goes under QEMU TCG. The third variant is eli in the
# same mode on a QEMU with no IOMMU (unsafe: for this measurement only), so eli's distance
# from bare splits into what QEMU's software IOMMU costs and the rest.
GAP_VARIANTS = [("bare", "bare", True), ("eli", "eli", True), ("eli-no-iommu", "eli", False)]


CYCLE_KEYS = (("rx_handler_cycles", "receive handler"), ("tdt_cycles", "TDT write"))


def cycles_of(rounds, variant, key):
    """The variant's per-run guest cycle counts for key, round by round."""
    return [r[key] for rows in rounds for r in rows if r["mode"] == variant]


def cycles_table(rounds, variants):
    """The guest's own TSC cycles per receive interrupt (the whole handler, replies included)
    and per TDT write (QEMU transmits during it), round by round (in thousands) and each
    variant's median. The TSC counts wall time, so these hold what QEMU does meanwhile for
    the vCPU thread, and whatever else the host does then."""
    out = []
    for key, what in CYCLE_KEYS:
        for v in variants:
            vals = cycles_of(rounds, v, key)
            if vals:
                out.append(f"{what:<16} {v:<13}" + ", ".join(f"{x / 1000:.0f}k" for x in vals) +
                           f" TSC cycles: median {statistics.median(vals):.0f}")
    return out


def cmd_gap(o):
    """rr under bare, eli and eli without an IOMMU, o.rounds times (the variants rotated());
    the paired ratios, then each variant's medians."""
    rounds, failed = [], []
    n = len(GAP_VARIANTS)
    for k in range(o.rounds):
        order = rotated(GAP_VARIANTS, k)
        rows = []
        for i, (label, mode, iommu) in enumerate(order):
            print(f"gap (round {k + 1}/{o.rounds}): {label} rr (step {i + 1}/{n})", flush=True)
            row, reason = one_run(mode, "rr", WORKLOADS["rr"], "", o.seconds, f"gap-{label}",
                                  iommu=iommu, label=label, guest_cycles=True)
            if reason:
                print(f"gap: {label} rr: failed: {reason}", flush=True)
                failed.append(f"rr/{label}")
                continue
            rows.append(row)
        rounds.append(rows)
    print()
    rows = median_rows(rounds)
    print()
    for line in paired_ratios(rounds, [v[0] for v in GAP_VARIANTS]):
        print("  " + line)
    print()
    for line in table(rows):
        print("  " + line)
    print()
    for line in cycles_table(rounds, [v[0] for v in GAP_VARIANTS]):
        print("  " + line)
    for r in rows:  # the row's figures are medians already; the _median keys stay for readers
        for key, _ in CYCLE_KEYS:
            r[f"{key}_median"] = r[key]
    out = save(rows, "rr-gap")
    print(f"saved {out.relative_to(elirun.ROOT)}")
    return rows, failed


def cmd_coalescing(o):
    # ITR interval in 256 ns units: none (QEMU's floor, 128 us) .. 5 ms. A fixed offered load
    # (4000 frames/s), so the interrupt rate is what the throttling makes of it.
    itrs = [0, 1000, 4000, 20000]
    wls = [("stream", itr, ["--size", "1024", "--rate", "4000"], f"itr={itr}") for itr in itrs]
    rounds, failed = sweep_rounds("coalescing", wls, MODES, o.seconds, range(o.rounds),
                                  o.rounds)
    print()
    rows = median_rows(rounds)
    print()
    for line in table(rows, extra="itr"):
        print("  " + line)
    out = save(rows, "coalescing")
    plot_sweep(rows, RESULTS / "coalescing.svg", "ITR interval (256 ns units)",
               "Stream throughput and interrupt rate vs interrupt coalescing")
    print(f"saved {out.relative_to(elirun.ROOT)} and results/coalescing.svg")
    return rows, failed


def cmd_ratio(o):
    works = [0, 20000, 100000, 500000]  # TSC cycles of computation per request
    wls = [("rr", w, ["--size", "1"], f"work={w}") for w in works]
    rounds, failed = sweep_rounds("ratio", wls, ["bare", "baseline", "eli"], o.seconds,
                                  range(o.rounds), o.rounds)
    print()
    rows = median_rows(rounds)
    print()
    for line in table(rows, extra="work"):
        print("  " + line)
    out = save(rows, "ratio")
    plot_sweep(rows, RESULTS / "ratio.svg", "computation per request (TSC cycles)",
               "Request-response rate vs computation per request")
    print(f"saved {out.relative_to(elirun.ROOT)} and results/ratio.svg")
    return rows, failed


PLATFORM = ""
PIN = None      # cpupin.Placement for every run, or None


def main(argv=None):
    global PLATFORM, PIN
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment", choices=["run", "coalescing", "ratio", "gap"])
    p.add_argument("--seconds", type=float,
                   help="load per step (`run` 3, the others 4)")
    p.add_argument("--name", default="net", help="results/NAME.json for `run`")
    p.add_argument("--rounds", type=int,
                   help="every step this many times (`run` 5, `gap` 8, the sweeps 3); each "
                        "figure is its median over them")
    p.add_argument("--rr-rounds", type=int, default=15,
                   help="`run`: rr under bare and eli (the closest pair) this many times in "
                        "all, the rounds after --rounds with those two only")
    p.add_argument("--no-pin", action="store_true",
                   help="leave QEMU's vCPU thread where the host scheduler puts it")
    o = p.parse_args(argv)
    if o.rounds is None:
        o.rounds = {"run": 5, "gap": 8}.get(o.experiment, 3)
    if o.seconds is None:
        o.seconds = 3 if o.experiment == "run" else 4
    if o.rounds < 1:
        p.error("--rounds must be at least 1")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    PIN = None if o.no_pin else cpupin.plan()
    PLATFORM = platform_line() + "; " + (PIN.describe() if PIN else "no CPU pinning")
    print(f"eli network experiment `{o.experiment}` on {PLATFORM}")
    print("(under QEMU TCG: compare the modes side by side)")
    rows, failed = {"run": cmd_run, "coalescing": cmd_coalescing, "ratio": cmd_ratio,
                    "gap": cmd_gap}[o.experiment](o)
    if failed:
        print(f"failed steps: {' '.join(failed)}")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
