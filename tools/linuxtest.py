#!/usr/bin/env python3
"""System tests with an unmodified Linux guest: Debian's own kernel (build/linux/vmlinux,
built by scripts/linux-guest from Debian's packages) and a busybox initramfs, booted
bare on QEMU and under eli in baseline, eli-delivery and eli modes, with the e1000e
assigned (MSI-X, behind QEMU's AMD IOMMU) and QEMU's user network behind it.

Each run must reach the initramfs' markers: `/init` ran, eth0 came up, three pings to the
user network's gateway came back, the NIC's vectors counted in /proc/interrupts, and no
`eli-linux: FAIL` line. Under eli the run ends with Linux powering off (a halt with
interrupts off: eli ends the guest, status guest-ended), and eli's counters must show
that in eli mode the guest's timer was eli's virtual LAPIC timer and that no EOI exited
except those of injected interrupts. Prints PASS/FAIL per test and
`N passed, N failed`; with --modes, only those modes.
"""

import argparse
import re
import sys
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
CMDLINE = ("console=ttyS0 pci=noacpi printk.devkmsg=on eli.ip=10.0.2.15/24 eli.ping=10.0.2.2")
NIC = ["-device", "e1000e,netdev=n0,mac=52:54:00:12:34:56,addr=05.0", "-netdev", "user,id=n0"]
ELI_OPTS = "mem=512 kvm-signature assign=00:05.0"
QEMU_MEM = 1024
TIMEOUT = 240
MARKERS = [
    ("init ran", re.compile(r"eli-linux: init$")),
    ("eth0 up", re.compile(r"eli-linux: eth0 up$")),
    ("ping answered", re.compile(r"eli-linux: ping \S+ ok: 3 packets transmitted, 3 packets received")),
    ("done", re.compile(r"eli-linux: done$")),
]
IRQ_LINE = re.compile(r"eli-linux: irq \d+:\s+(\d+)\s+.*\b(eth0-rx-0|eth0-tx-0)$")


def command(mode):
    """QEMU's argv for one mode."""
    if mode == "bare":
        return [elirun.qemu_binary(), *elirun.MACHINE, "-m", str(QEMU_MEM), "-kernel", str(KERNEL),
                "-initrd", str(INITRD), "-append", CMDLINE, *NIC]
    return elirun.eli_command("vmlinux", CMDLINE, modules=[str(INITRD)],
                              eli_opts=f"{ELI_OPTS} mode={mode}", image=str(KERNEL),
                              qemu_extra=[*elirun.IOMMU, *NIC], host_mem=QEMU_MEM)


def judge(mode, run):
    """The reasons a run failed (empty: passed)."""
    if run.reason:
        return [run.reason]
    text = [line.rstrip("\r") for line in run.lines]
    why = [f"no `{what}` marker" for what, rx in MARKERS if not any(rx.search(t) for t in text)]
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
    return why


def one(mode):
    name = f"linux-{mode}"
    run = elirun.run_command(command(mode), TIMEOUT, LOG_DIR / f"{name}.log")
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
    return elirun.run_tests(opts.modes.split(","), one)


if __name__ == "__main__":
    sys.exit(main())
