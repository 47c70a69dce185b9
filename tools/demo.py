#!/usr/bin/env python3
"""`make run`: boot eli under QEMU TCG with the demo guest and print its exit profile.

Prints eli's and the guest's output as it comes, then a table of exits by reason,
the time in guest mode and the host ticks, and saves the result as results/demo.json.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402

TIMEOUT = 120


def profile_table(r):
    """Lines of the exit profile from eli's result object."""
    secs = r["wall_cycles"] / r["tsc_hz"]
    rows = [(name, n) for name, n in r["exits"].items() if n]
    out = [f"{'exit reason':<14}{'count':>10}{'per second':>14}{'share':>9}"]
    for name, n in sorted(rows, key=lambda x: -x[1]):
        out.append(f"{name:<14}{n:>10}{n / secs:>14.0f}{100 * n / max(1, r['exits_total']):>8.1f}%")
    out.append(f"{'total':<14}{r['exits_total']:>10}{r['exits_total'] / secs:>14.0f}")
    out.append("")
    out.append(f"run time {secs:.3f} s; time in guest {100 * r['guest_cycles'] / r['wall_cycles']:.1f}%; "
               f"host ticks {r['ticks']} at {r['tick_hz']} Hz "
               f"(expected about {secs * r['tick_hz']:.0f})")
    return out


def main():
    print("eli: booting the demo guest under QEMU TCG (timeout %d s)" % TIMEOUT, flush=True)
    run = elirun.run_eli("demo", timeout=TIMEOUT, echo=sys.stdout)
    if run.reason:
        print(f"make run: stopped: {run.reason}")
        return 1
    if not run.result:
        print(f"make run: eli printed no result line ({elirun.describe_status(run.status)})")
        return 1
    print()
    print("Exit profile of the demo guest under eli (QEMU 10 TCG, this machine):")
    for line in profile_table(run.result):
        print("  " + line)
    out = Path(elirun.ROOT) / "results" / "demo.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(run.result, indent=1) + "\n")
    print(f"  saved {out.relative_to(elirun.ROOT)}")
    return 0 if run.status == elirun.STATUS["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
