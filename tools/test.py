#!/usr/bin/env python3
"""`make test`: the host unit tests, then the system test table; one summary line.

Unit tests are the cmocka executables build/unit/test_*; each counts as many tests as it
reports. System tests are run by tools/runner.py. The last line is `N passed, N failed`.
Extra arguments go to the runner (for example --group foundation or --filter REGEX).
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNIT_DIR = ROOT / "build" / "unit"
UNIT_TIMEOUT = 120

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed\s*$")
PLATFORM = re.compile(r"^(qemu-svm|bochs-vmx): \d+ passed, \d+ failed\s*$")
platform_lines = []  # the runner's counts per platform, repeated in the closing note
CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test")
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test")


def run_unit(exe):
    """Runs one cmocka executable; returns (passed, failed)."""
    try:
        p = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True,
                           timeout=UNIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"FAIL unit/{exe.name}: timeout after {UNIT_TIMEOUT}s")
        return 0, 1
    out = p.stdout + p.stderr
    passed = sum(int(m.group(1)) for m in map(CMOCKA_PASSED.match, out.splitlines()) if m)
    failed = sum(int(m.group(1)) for m in map(CMOCKA_FAILED.match, out.splitlines()) if m)
    if p.returncode != 0 and failed == 0:
        failed = 1  # crashed, or a sanitizer stopped it before cmocka's summary
    if failed:
        print(f"FAIL unit/{exe.name}: {failed} failed (exit status {p.returncode})")
        for line in out.splitlines()[-30:]:
            print(f"    {line}")
    else:
        print(f"PASS unit/{exe.name} ({passed} tests)")
    return passed, failed


def run_units():
    exes = sorted(e for e in UNIT_DIR.glob("test_*") if e.is_file() and e.stat().st_mode & 0o111)
    if not exes:
        print("FAIL unit: no unit-test executables under build/unit (was `make unit` run?)")
        return 0, 1
    totals = [run_unit(e) for e in exes]
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


def run_phase(name, argv):
    """Runs a test program that ends with `N passed, N failed`; returns the two counts."""
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    summary = None
    for line in p.stdout:
        m = SUMMARY.match(line)
        if m:
            summary = (int(m.group(1)), int(m.group(2)))
            continue
        if PLATFORM.match(line):
            platform_lines.append(line.strip())
        print(line, end="", flush=True)
    rc = p.wait()
    if summary is None:
        print(f"FAIL {name}: it ended (status {rc}) without a summary")
        return 0, 1
    return summary


def run_lint():
    """cppcheck must stay quiet: one test."""
    p = subprocess.run(["make", "--no-print-directory", "lint"], cwd=ROOT, capture_output=True,
                       text=True)
    if p.returncode:
        print("FAIL lint: cppcheck found something:")
        for line in (p.stdout + p.stderr).splitlines()[-30:]:
            print(f"    {line}")
        return 0, 1
    print("PASS lint (cppcheck quiet)")
    return 1, 0


def main(argv):
    counts = [run_lint(), run_units()]
    print(f"unit tests: {counts[-1][0]} passed, {counts[-1][1]} failed", flush=True)
    counts.append(run_phase("system", [sys.executable, str(ROOT / "tools" / "runner.py"), *argv]))
    print(f"system tests: {counts[-1][0]} passed, {counts[-1][1]} failed", flush=True)
    if not argv:  # a filtered run is about the table only
        counts.append(run_phase("network", [sys.executable, str(ROOT / "tools" / "nettest.py")]))
        print(f"network tests: {counts[-1][0]} passed, {counts[-1][1]} failed", flush=True)
        counts.append(run_phase("linux", [sys.executable, str(ROOT / "tools" / "linuxtest.py")]))
        print(f"linux tests: {counts[-1][0]} passed, {counts[-1][1]} failed", flush=True)
        if (ROOT / "tools" / "fuzz.py").exists():
            counts.append(run_phase("fuzz", ["make", "--no-print-directory", "fuzz-short"]))
            print(f"fuzz (short): {counts[-1][0]} passed, {counts[-1][1]} failed", flush=True)
    passed, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
    for line in platform_lines:
        print(f"system tests on {line}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
