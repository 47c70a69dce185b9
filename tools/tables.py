#!/usr/bin/env python3
"""Markdown tables of results/*.json, for the README: `tools/tables.py [FILE...]`."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows):
    out = ["| workload | mode | throughput | vs bare | exits/s | exits/irq | guest % | "
           "latency median / p99 (us) | interrupts/s |",
           "|---|---|---|---|---|---|---|---|---|"]
    bare = {(r["workload"], r.get("param")): r for r in rows if r["mode"] == "bare"}
    for r in rows:
        b = bare.get((r["workload"], r.get("param")))
        rel = f"{100 * r['throughput'] / b['throughput']:.0f}%" if b and b["throughput"] else "-"
        irqs = r.get("irqs_per_s", r["throughput"] if r["throughput_unit"] == "interrupts/s" else None)
        name = r["workload"] + (f" ({r['param']})" if r.get("param") is not None else "")
        out.append(f"| {name} | {r['mode']} | {r['throughput']:.0f} {r['throughput_unit']} | {rel} "
                   f"| {r['exits_per_s']:.0f} | {r['exits_per_irq']:.4f} | {fmt(r['guest_pct'], '.1f')} "
                   f"| {fmt(r['lat_median_us'], '.1f')} / {fmt(r['lat_p99_us'], '.1f')} "
                   f"| {fmt(irqs, '.0f')} |")
    return out


def main(argv):
    for name in argv or ["results/run.json"]:
        rows = json.loads((ROOT / name).read_text())
        print(f"{name}:\n")
        print("\n".join(table(rows)))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
