#!/usr/bin/env python3
"""Build QEMU command lines for eli and its guests, run them, parse eli's result line.

Shared by tools/runner.py (the test harness), `make run` and benchmarks. Standard library only.

    from elirun import run_eli
    status, lines, result, duration = run_eli("boot_exit", args="a=1", timeout=60)

As a command: tools/elirun.py [--boot multiboot] [--eli "mem=64"] [--timeout N] GUEST [ARG...]
runs GUEST under eli with its output on the terminal and exits with QEMU's status.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ELI_KERNEL = "build/eli.elf"
GUEST_DIR = "build/guests"
DEFAULT_ELI_OPTS = "mem=64"
DEFAULT_MEM = 64

TIMEOUT_STATUS = 124

# QEMU exit status per outcome (docs/conventions.md).
STATUS = {
    "pass": 1,
    "fail": 3,
    "eli-error": 33,
    "guest-ended": 35,
    "panic": 37,
    "reset": 0,
}
STATUS_NAME = {v: k for k, v in STATUS.items()}
STATUS_NAME[TIMEOUT_STATUS] = "timeout"

MACHINE = [
    "-machine", "q35", "-accel", "tcg",
    "-cpu", "qemu64,+svm,+npt,+x2apic",
    "-smp", "1", "-nodefaults", "-no-reboot", "-display", "none",
    "-serial", "stdio",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
    # the HPET can send MSIs (eli's watchdog NMI); without it QEMU hides the capability
    "-global", "hpet.msi=on",
]
ELI_MEM = 512  # host RAM for eli itself
# QEMU's AMD IOMMU, which eli requires to assign a device: DMA remapping enforced (pt=off),
# interrupt remapping with x2APIC-format entries
IOMMU = ["-device", "amd-iommu,intremap=on,xtsup=on,pt=off"]

RESULT_PREFIX = "eli: result "
GUEST_PREFIX = "guest: "


# ---------------------------------------------------------------------------
# Command lines

def qemu_binary():
    """The QEMU binary: $QEMU or qemu-system-x86_64."""
    return os.environ.get("QEMU", "qemu-system-x86_64")


def initrd_escape(text):
    """Escape one -initrd item: QEMU splits the list on ',', a literal comma is ',,'."""
    return text.replace(",", ",,")


def initrd_list(items):
    """Join module strings ("path cmdline") into one -initrd argument."""
    return ",".join(initrd_escape(item) for item in items)


def mem_from_opts(eli_opts, default=DEFAULT_MEM):
    """The guest RAM size in MiB from eli's options (`mem=N`), else default."""
    for word in shlex.split(eli_opts or ""):
        m = re.fullmatch(r"mem=(\d+)", word)
        if m:
            return int(m.group(1))
    return default


def guest_image(guest, boot="elf64"):
    """Repo-relative image path of a guest for a boot kind (elf64 or multiboot)."""
    if boot == "elf64":
        return f"{GUEST_DIR}/{guest}.elf"
    if boot == "multiboot":
        return f"{GUEST_DIR}/{guest}.mb.elf"
    raise ValueError(f"unknown boot kind {boot!r} (elf64 or multiboot)")


def eli_command(guest, args="", modules=(), eli_opts=DEFAULT_ELI_OPTS, boot="elf64",
                image=None, qemu_extra=(), kernel=ELI_KERNEL, host_mem=ELI_MEM):
    """argv for QEMU running eli with GUEST.

    image: the guest image path; None = the default for `boot`; "" = pass no guest module.
    modules: extra module paths, handed to the guest after the image.
    """
    if image is None:
        image = guest_image(guest, boot)
    items = []
    if image:
        items.append(f"{image} {args}".rstrip())
    items.extend(modules)
    append = f"guest={guest} {eli_opts or ''}".rstrip()
    argv = [qemu_binary(), *MACHINE, "-m", str(host_mem),
            "-kernel", kernel, "-append", append]
    if items:
        argv += ["-initrd", initrd_list(items)]
    return argv + list(qemu_extra)


def bare_command(guest, args="", modules=(), mem=DEFAULT_MEM, qemu_extra=(), image=None):
    """argv for QEMU booting GUEST's multiboot image directly (no eli)."""
    image = image or guest_image(guest, "multiboot")
    argv = [qemu_binary(), *MACHINE, "-m", str(mem), "-kernel", image]
    if args:
        argv += ["-append", args]
    if modules:
        argv += ["-initrd", initrd_list(modules)]
    return argv + list(qemu_extra)


# ---------------------------------------------------------------------------
# Output

def strip_guest(line):
    """A guest's line without the `guest: ` prefix eli adds; other lines unchanged."""
    return line[len(GUEST_PREFIX):] if line.startswith(GUEST_PREFIX) else line


def guest_lines(lines):
    """Only the guest's lines, prefix stripped."""
    return [line[len(GUEST_PREFIX):] for line in lines if line.startswith(GUEST_PREFIX)]


def result_texts(lines):
    """The JSON texts of all `eli: result {json}` lines."""
    return [line[len(RESULT_PREFIX):].strip() for line in lines if line.startswith(RESULT_PREFIX)]


def parse_result(lines):
    """eli's result as a dict from the last result line; None if none or not valid JSON."""
    texts = result_texts(lines)
    if not texts:
        return None
    try:
        value = json.loads(texts[-1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


GUEST_RESULT = re.compile(r"^(?:guest: )?[A-Za-z0-9_]+-result (\{.*\})\s*$")


def guest_result(lines):
    """The JSON object of the last `NAME-result {...}` line the guest printed, or None."""
    found = None
    for line in lines:
        m = GUEST_RESULT.match(line.rstrip("\r"))
        if m:
            try:
                found = json.loads(m.group(1))
            except json.JSONDecodeError:
                continue
    return found


def window(lines, result, start_re, end_re):
    """eli's counters over the stretch between two guest lines: from the end of the last
    line matching start_re to the start of the next line matching end_re.

    eli records its counters when each guest console line starts and ends (`marks`:
    [line, tsc, exits, guest_cycles, ticks at its start, the same at its end]). Returns
    a dict (exits, guest_cycles, wall_cycles, ticks, seconds, guest_pct, exits_per_s), or
    None when a line or its mark is missing."""
    marks = {m[0]: m for m in (result or {}).get("marks", [])}
    numbered = [(i + 1, line) for i, line in
                enumerate(l for l in lines if l.startswith(GUEST_PREFIX))]
    start = end = None
    for n, line in numbered:
        text = strip_guest(line).rstrip("\r")
        if start_re.search(text):
            start, end = n, None
        elif start is not None and end is None and end_re.search(text):
            end = n
    if start is None or end is None or start not in marks or end not in marks:
        return None
    a, b = marks[start][5:9], marks[end][1:5]
    tsc_hz = result.get("tsc_hz") or 1
    w = {"exits": b[1] - a[1], "guest_cycles": b[2] - a[2], "wall_cycles": b[0] - a[0],
         "ticks": b[3] - a[3]}
    w["seconds"] = w["wall_cycles"] / tsc_hz
    w["guest_pct"] = 100.0 * w["guest_cycles"] / max(1, w["wall_cycles"])
    w["exits_per_s"] = w["exits"] / max(1e-9, w["seconds"])
    return w


def describe_status(status):
    """`33 (eli-error)` style text for a QEMU exit status."""
    if status is None:
        return "no status"
    if status < 0:
        return f"killed by signal {-status}"
    name = STATUS_NAME.get(status)
    return f"{status} ({name})" if name else str(status)


# ---------------------------------------------------------------------------
# Running

@dataclass
class Run:
    """One finished QEMU run. Unpacks as (status, lines, result, duration).

    status: QEMU's exit status; TIMEOUT_STATUS when killed at the timeout; None if it
    could not start. reason: why it stopped abnormally (timeout, start failure), else None.
    """
    status: int | None
    lines: list[str]
    result: dict | None
    duration: float
    reason: str | None = None
    argv: list[str] = field(default_factory=list)

    @property
    def timed_out(self):
        return self.status == TIMEOUT_STATUS and self.reason is not None

    def __iter__(self):
        return iter((self.status, self.lines, self.result, self.duration))


_active = set()
_active_lock = threading.Lock()
_stopping = False  # set by kill_all: runs starting afterwards are killed at once


def kill_group(proc):
    """SIGKILL the whole process group of proc (it was started as a group leader)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all():
    """Kill every run in progress, and any started from now on (for Ctrl-C)."""
    global _stopping
    with _active_lock:
        _stopping = True
        procs = list(_active)
    for proc in procs:
        kill_group(proc)


def _pump(stream, lines, log, echo):
    """Copy the child's output into lines (decoded), the log (raw) and echo (text)."""
    for raw in iter(stream.readline, b""):
        if log:
            log.write(raw)
            log.flush()
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        lines.append(text)
        if echo:
            echo.write(text + "\n")
            echo.flush()


def run_command(argv, timeout, log_path=None, echo=None, cwd=ROOT):
    """Run argv (stdout+stderr merged) in its own process group, killed after timeout s.

    log_path: file that receives the command line, the raw output and the outcome.
    echo: a text stream that receives each output line as it arrives (e.g. sys.stdout).
    """
    lines = []
    log = None
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "wb")
        log.write(f"# cwd: {cwd}\n# {shlex.join(argv)}\n".encode())
        log.flush()
    start = time.monotonic()
    try:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as err:
            reason = f"cannot run {argv[0]}: {err.strerror or err}"
            if log:
                log.write(f"# {reason}\n".encode())
            return Run(None, lines, None, 0.0, reason, argv)
        status, reason = _wait(proc, timeout, lines, log, echo)
        duration = time.monotonic() - start
        if log:
            outcome = reason or f"exit status {describe_status(status)}"
            log.write(f"\n# {outcome}, {duration:.1f}s\n".encode())
    finally:
        if log:
            log.close()
    return Run(status, lines, parse_result(lines), duration, reason, argv)


def _wait(proc, timeout, lines, log, echo):
    """Wait for proc while pumping its output; kill its group at timeout. (status, reason)"""
    with _active_lock:
        _active.add(proc)
        if _stopping:
            kill_group(proc)
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines, log, echo), daemon=True)
    reader.start()
    reason = None
    try:
        status = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.wait()
        status = TIMEOUT_STATUS
        reason = f"timeout after {timeout:g}s"
    finally:
        with _active_lock:
            _active.discard(proc)
    reader.join(5)  # output still buffered in the pipe; a stray child could hold it open
    proc.stdout.close()
    return status, reason


def run_eli(guest, args="", modules=(), eli_opts=DEFAULT_ELI_OPTS, boot="elf64", image=None,
            qemu_extra=(), timeout=60, log_path=None, echo=None):
    """Run eli with GUEST; returns a Run, which unpacks as (status, lines, result, duration)."""
    argv = eli_command(guest, args, modules, eli_opts, boot, image, qemu_extra)
    return run_command(argv, timeout, log_path, echo)


def run_bare(guest, args="", modules=(), mem=DEFAULT_MEM, qemu_extra=(), timeout=60,
             log_path=None, echo=None):
    """Run GUEST's multiboot image directly on QEMU; returns a Run (result is None)."""
    argv = bare_command(guest, args, modules, mem, qemu_extra)
    return run_command(argv, timeout, log_path, echo)


# a failed test's last lines of output, printed under its FAIL line: CI keeps no log files
TAIL_LINES = 20
TAIL_WIDTH = 300


def print_tail(lines, n=TAIL_LINES):
    """The last n of lines, indented; a long line (eli's result JSON) cut at TAIL_WIDTH."""
    for line in lines[-n:] or ["(no output)"]:
        line = line.rstrip("\r\n")
        print(f"    {line[:TAIL_WIDTH]}{' ...' if len(line) > TAIL_WIDTH else ''}")


def run_tests(items, one, jobs=2):
    """Runs one(item) -> (name, reasons) for each item, `jobs` at a time, prints PASS/FAIL
    per test (a failure with its reasons, log path and the log's last lines) and
    `N passed, N failed`; returns the exit status (1 if any failed)."""
    passed = failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, why in pool.map(one, items):
            if why:
                failed += 1
                log = ROOT / "build" / "test-logs" / f"{name}.log"
                print(f"FAIL {name}: {'; '.join(why)} (log: {log.relative_to(ROOT)})")
                print_tail(log.read_text(errors="replace").splitlines() if log.exists() else [])
                sys.stdout.flush()
            else:
                passed += 1
                print(f"PASS {name}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# Command

def main(argv=None):
    """tools/elirun.py: run one guest under eli (or bare) with its output on the terminal."""
    import argparse
    p = argparse.ArgumentParser(description="Run a guest under eli on QEMU.")
    p.add_argument("guest")
    p.add_argument("args", nargs="*", help="the guest's command line")
    p.add_argument("--boot", choices=["elf64", "multiboot"], default="elf64")
    p.add_argument("--eli", default=DEFAULT_ELI_OPTS, help="eli's options (default: mem=64)")
    p.add_argument("--module", action="append", default=[], help="extra module (repeatable)")
    p.add_argument("--qemu", default="", help="extra QEMU options (shell-split)")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--bare", action="store_true", help="boot the guest on QEMU without eli")
    p.add_argument("--log", help="also write the output to this file")
    o = p.parse_args(argv)
    args = " ".join(o.args)
    extra = shlex.split(o.qemu)
    try:
        if o.bare:
            run = run_bare(o.guest, args, o.module, mem_from_opts(o.eli), extra, o.timeout,
                           o.log, sys.stdout)
        else:
            run = run_eli(o.guest, args, o.module, o.eli, o.boot, None, extra, o.timeout,
                          o.log, sys.stdout)
    except KeyboardInterrupt:
        kill_all()
        return 130
    if run.reason:
        print(f"elirun: {run.reason}", file=sys.stderr)
    if run.status is None:
        return 125
    return 128 - run.status if run.status < 0 else run.status


if __name__ == "__main__":
    sys.exit(main())
