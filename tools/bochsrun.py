#!/usr/bin/env python3
"""Run eli under Bochs (Intel VMX): a GRUB ISO, a bochsrc, serial to a file.

The bochs-vmx platform of the test runner. Bochs always exits with status 1 and has no
debug-exit device, so a run is judged from its serial log: this module reads eli's lines
and gives the run the status QEMU's isa-debug-exit would have given (docs/conventions.md),
so that callers judge both platforms alike. Standard library only.

    from bochsrun import run_eli_bochs
    status, lines, result, duration = run_eli_bochs("boot_exit", timeout=60)

As a command: tools/bochsrun.py [--eli "mem=64"] [--timeout N] GUEST [ARG...]
Facts this relies on: ../shared/design/vmx-under-bochs.md (summarized in tools/README.md).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import elirun  # noqa: E402
from elirun import ROOT, Run, TIMEOUT_STATUS  # noqa: E402

BOCHS_DIR = ROOT / "build" / "bochs"
CPU_MODEL = "corei7_skylake_x"
HOST_MEM = 256  # MiB of emulated RAM: eli plus the guest's mem=64
# eli's option that ends the run with Bochs's shutdown port (docs/conventions.md)
ELI_BOCHS_OPT = "bochs-shutdown"
BIOS = "/usr/share/bochs/BIOS-bochs-latest"
# Debian's own vgabios link is dangling: the VGA BIOS comes from seabios
VGA_BIOS = "/usr/share/seabios/vgabios-isavga.bin"

ERROR_LINE = re.compile(r"^eli: error: ")
PANIC_LINE = re.compile(r"^eli: PANIC: ")


def bochs_binary():
    """The Bochs binary: $BOCHS or bochs."""
    return os.environ.get("BOCHS", "bochs")


def available():
    """True when Bochs and the ISO tools are installed."""
    return all(shutil.which(t) for t in (bochs_binary(), "grub-mkrescue", "xorriso")) and \
        Path(BIOS).exists() and Path(VGA_BIOS).exists()


def grub_cfg(eli_cmdline, modules):
    """grub.cfg: boot eli at once with its command line and modules ((iso name, args))."""
    out = ["set timeout=0", "set default=0", "", 'menuentry "eli" {',
           f"    multiboot /boot/eli.elf {eli_cmdline}".rstrip()]
    for name, args in modules:
        out.append(f"    module /boot/{name} {name} {args}".rstrip())
    out += ["    boot", "}", ""]
    return "\n".join(out)


# Devices a run may add (`devices`): Bochs's 82540EM on the PCI slot that makes it 00:02.0,
# fed by the `vnet` packet mover (answers ARP and ping for 192.168.10.1 inside Bochs).
E1000_MAC = "52:54:00:12:34:56"
E1000_BDF = "00:02.0"
DEVICES = ["e1000"]


def device_lines(devices, work):
    """bochsrc lines for the extra devices named in `devices` ("e1000")."""
    out = []
    for dev in devices:
        if dev == "e1000":
            out += ["pci: enabled=1, chipset=i440fx, slot1=e1000",
                    f"e1000: enabled=1, mac={E1000_MAC}, ethmod=vnet, ethdev={work}"]
        else:
            raise ValueError(f"unknown Bochs device {dev!r} (known: e1000)")
    return out


def bochsrc(iso, serial, devices=(), work="."):
    """The machine: one VMX CPU, the ISO on a CD-ROM, COM1 to a file, no window."""
    return "\n".join(device_lines(devices, work) + [
        f"cpu: model={CPU_MODEL}, count=1, ips=50000000, reset_on_triple_fault=0",
        f"megs: {HOST_MEM}",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGA_BIOS}",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        "boot: cdrom",
        # rfb with no wait for a client: no window, and parallel runs take the next port
        'display_library: rfb, options="timeout=0"',
        f"com1: enabled=1, mode=file, dev={serial}",
        "speaker: enabled=0",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "clock: sync=none",
        "panic: action=fatal",
        "log: -",
        "",
    ])


def build_iso(work, eli_cmdline, items, kernel):
    """A GRUB rescue ISO in work/ holding eli and the modules; returns its path.

    items: (repo-relative path, args) for each module, in order. Each module keeps its file
    name, which eli's `guest=NAME` matches up to the first '.'."""
    tree = work / "iso"
    boot = tree / "boot"
    (boot / "grub").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / kernel, boot / "eli.elf")
    mods = []
    for path, args in items:
        name = Path(path).name
        shutil.copyfile(ROOT / path, boot / name)
        mods.append((name, args))
    (boot / "grub" / "grub.cfg").write_text(grub_cfg(eli_cmdline, mods))
    iso = work / "eli.iso"
    p = subprocess.run(["grub-mkrescue", "-o", str(iso), str(tree)], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    if p.returncode:
        raise RuntimeError(f"grub-mkrescue failed: {p.stderr.strip()[-400:]}")
    return iso


def status_from_lines(lines):
    """The QEMU-style status of a Bochs run, from eli's serial lines (None: it never ended).

    eli's result line carries the value it wrote to the debug-exit port; a configuration
    error or panic prints its own line and writes 0x10 or 0x12."""
    for line in lines:
        if ERROR_LINE.match(line):
            return (0x10 << 1) | 1
        if PANIC_LINE.match(line):
            return (0x12 << 1) | 1
    result = elirun.parse_result(lines)
    if result is not None and isinstance(result.get("guest_status"), int):
        return (result["guest_status"] << 1) | 1
    return None


def split_items(guest, args, modules, boot, image):
    """(path, args) of the guest image and the extra modules, as elirun passes them."""
    if image is None:
        image = elirun.guest_image(guest, boot)
    items = [(image, args)] if image else []
    return items + [(m, "") for m in modules]


def run_eli_bochs(guest, args="", modules=(), eli_opts=elirun.DEFAULT_ELI_OPTS, boot="elf64",
                  image=None, timeout=60, log_path=None, echo=None, kernel=elirun.ELI_KERNEL,
                  devices=()):
    """Run eli with GUEST under Bochs; returns an elirun.Run (status as QEMU would give)."""
    BOCHS_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{guest}-", dir=BOCHS_DIR))
    cmdline = f"guest={guest} {ELI_BOCHS_OPT} {eli_opts or ''}".rstrip()
    serial = work / "serial.log"
    argv = [bochs_binary(), "-q", "-f", str(work / "bochsrc"), "-rc", str(work / "rc")]
    start = time.monotonic()
    log = open(log_path, "w") if log_path else None
    try:
        if log:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            log.write(f"# bochs-vmx: eli {cmdline}\n# modules: "
                      f"{split_items(guest, args, modules, boot, image)}\n# {' '.join(argv)}\n")
        try:
            iso = build_iso(work, cmdline, split_items(guest, args, modules, boot, image), kernel)
        except (RuntimeError, OSError) as err:
            return Run(None, [], None, 0.0, str(err), argv)
        (work / "bochsrc").write_text(bochsrc(iso, serial, devices, work))
        # the Debian build has the debugger: `c` runs the machine instead of a prompt
        (work / "rc").write_text("c\n")
        run = elirun.run_command(argv, timeout, None, None, cwd=work)
        lines = []
        if serial.exists():
            lines = serial.read_bytes().decode("utf-8", errors="replace").splitlines()
        lines = [line.rstrip("\r") for line in lines]
        if echo:
            for line in lines:
                echo.write(line + "\n")
        status = status_from_lines(lines)
        reason = run.reason
        if status is None:
            status = TIMEOUT_STATUS if run.timed_out else None
            reason = reason or f"bochs ended (status {run.status}) before eli ended the run"
        elif run.timed_out:
            reason = None  # eli ended; Bochs only failed to stop at the shutdown port
        duration = time.monotonic() - start
        if log:
            log.write("\n".join(lines) + "\n")
            log.write("# bochs output:\n" + "\n".join(run.lines[-40:]) + "\n")
            log.write(f"# {reason or 'status ' + elirun.describe_status(status)}, "
                      f"{duration:.1f}s\n")
        return Run(status, lines, elirun.parse_result(lines), duration, reason, argv)
    finally:
        if log:
            log.close()
        if not os.environ.get("ELI_KEEP_BOCHS"):
            shutil.rmtree(work, ignore_errors=True)


def run_bare_bochs(guest, args="", devices=(), timeout=60, done=re.compile(r"^SUMMARY:"),
                   log_path=None):
    """The guest booted straight by GRUB on Bochs, no eli: returns (lines, seconds).

    A bare guest ends in `cli; hlt` (no debug-exit device on Bochs), so the serial log is
    watched and Bochs (this process's own child) is killed once a line matches `done`, or
    at the timeout."""
    BOCHS_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{guest}-bare-", dir=BOCHS_DIR))
    serial = work / "serial.log"
    start = time.monotonic()
    lines = []
    try:
        image = elirun.guest_image(guest, "multiboot")
        iso = build_iso(work, args, [], image)
        (work / "bochsrc").write_text(bochsrc(iso, serial, devices, work))
        (work / "rc").write_text("c\n")
        argv = [bochs_binary(), "-q", "-f", str(work / "bochsrc"), "-rc", str(work / "rc")]
        proc = subprocess.Popen(argv, cwd=work, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            while proc.poll() is None and time.monotonic() - start < timeout:
                time.sleep(0.25)
                if serial.exists():
                    text = serial.read_bytes().decode("utf-8", errors="replace")
                    lines = [line.rstrip("\r") for line in text.splitlines()]
                    if any(done.search(line) for line in lines):
                        break
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if serial.exists():
            text = serial.read_bytes().decode("utf-8", errors="replace")
            lines = [line.rstrip("\r") for line in text.splitlines()]
        if log_path:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            Path(log_path).write_text(f"# bochs-vmx bare: {guest} {args}\n" + "\n".join(lines)
                                      + "\n")
        return lines, time.monotonic() - start
    finally:
        if not os.environ.get("ELI_KEEP_BOCHS"):
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    """tools/bochsrun.py: run one guest under eli on Bochs, printing its serial output."""
    import argparse
    p = argparse.ArgumentParser(description="Run a guest under eli on Bochs (VMX).")
    p.add_argument("guest")
    p.add_argument("args", nargs="*", help="the guest's command line")
    p.add_argument("--boot", choices=["elf64", "multiboot"], default="elf64")
    p.add_argument("--eli", default=elirun.DEFAULT_ELI_OPTS, help="eli's options")
    p.add_argument("--module", action="append", default=[], help="extra module (repeatable)")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--device", action="append", default=[], help="extra Bochs device: e1000")
    p.add_argument("--log", help="also write the output to this file")
    o = p.parse_args(argv)
    run = run_eli_bochs(o.guest, " ".join(o.args), o.module, o.eli, o.boot, None, o.timeout,
                        o.log, sys.stdout, devices=o.device)
    if run.reason:
        print(f"bochsrun: {run.reason}", file=sys.stderr)
    print(f"bochsrun: status {elirun.describe_status(run.status)}, {run.duration:.1f}s",
          file=sys.stderr)
    return 125 if run.status is None else run.status


if __name__ == "__main__":
    sys.exit(main())
