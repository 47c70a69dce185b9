#!/usr/bin/env python3
"""Runs eli's libFuzzer targets (built by `make fuzz-build` into BUILD/fuzz/fuzz_NAME).

Each target runs for --seconds (libFuzzer's -max_total_time) on its own corpus,
BUILD/fuzz/corpus/NAME, seeded from tests/fuzz/seeds/NAME and BUILD/fuzz/seeds/NAME (seeds
made at build time, such as stripped test guests) when present. Per target it reports the
executions, the final coverage (libFuzzer's `cov:` edges and `ft:` features) and the corpus
size; on a crash, leak, timeout or out-of-memory it prints the saved input's path (under
BUILD/fuzz/crashes/NAME/) and the first lines of the report. The full output of each run is
in BUILD/fuzz/logs/NAME.log. The last line is `N passed, N failed`, counting targets; the
exit status is non-zero when any target failed.

    tools/fuzz.py --seconds 10                 every target, 10 s each
    tools/fuzz.py --seconds 60 decode vlapic   two of them
    tools/fuzz.py --jobs 2 --seconds 30        two targets at a time
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "tests" / "fuzz" / "seeds"
DICTS = ROOT / "tests" / "fuzz"

# Inputs larger than libFuzzer's default 4096 bytes where a target reads that much:
# whole images, guest RAM, configuration space, IDT pages.
MAX_LEN = {"image": 65536, "gwalk": 65600, "bootinfo": 16384, "shadow": 8800, "vpci": 8192,
           "vlapic": 8192, "eli": 4096}

# libFuzzer's per-input time limit (seconds): far above any honest execution
INPUT_TIMEOUT = 10

FINAL_STATS = re.compile(r"^#(\d+)\s+(?:DONE|INITED|NEW|REDUCE|pulse|RELOAD)\s+cov: (\d+) ft: (\d+)"
                         r"(?: corp: (\d+)/)?")
EXECS = re.compile(r"^stat::number_of_executed_units: (\d+)")
ARTIFACT = re.compile(r"Test unit written to (\S+)")
REPORT_START = re.compile(r"^(==\d+==ERROR|==\d+== ERROR|FUZZ_CHECK failed|.*runtime error:|"
                          r"ALARM: working on the last Unit|==\d+==.*(out-of-memory|leak))")
REPORT_LINES = 14
STACK_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ ")
OWN_SOURCE = re.compile(r"/(hv|tests)/\S+\.[ch]:\d+")


def targets_available(build):
    out = Path(build) / "fuzz"
    return sorted(p.name[len("fuzz_"):] for p in out.glob("fuzz_*") if p.is_file() and os.access(p, os.X_OK))


def seed_corpus(name, build, corpus):
    """Copies the seeds not yet in the corpus (by file name)."""
    corpus.mkdir(parents=True, exist_ok=True)
    copied = 0
    for d in (SEEDS / name, Path(build) / "fuzz" / "seeds" / name):
        if not d.is_dir():
            continue
        for s in sorted(d.iterdir()):
            dst = corpus / ("seed-" + s.name)
            if s.is_file() and not dst.exists():
                shutil.copyfile(s, dst)
                copied += 1
    return copied


def first_report_lines(text):
    """The report from its first line on, stack frames outside eli's sources left out."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if REPORT_START.search(line)), None)
    if start is None:
        return lines[-REPORT_LINES:]
    kept = [line for line in lines[start:]
            if line.strip() and (not STACK_FRAME.match(line) or OWN_SOURCE.search(line))]
    return kept[:REPORT_LINES]


def run_target(name, build, seconds, extra):
    """Runs one target; returns a dict of what it reported."""
    build = Path(build)
    exe = build / "fuzz" / f"fuzz_{name}"
    corpus = build / "fuzz" / "corpus" / name
    crashes = build / "fuzz" / "crashes" / name
    logs = build / "fuzz" / "logs"
    res = {"name": name, "ok": False, "execs": None, "cov": None, "ft": None, "corpus": None,
           "artifact": None, "report": [], "note": ""}
    if not exe.is_file():
        res["note"] = f"{exe} is missing (run `make fuzz-build`)"
        return res
    seed_corpus(name, build, corpus)
    crashes.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), f"-max_total_time={seconds}", f"-timeout={INPUT_TIMEOUT}",
           "-print_final_stats=1", f"-artifact_prefix={crashes}/"]
    if name in MAX_LEN:
        cmd.append(f"-max_len={MAX_LEN[name]}")
    dict_file = DICTS / f"{name}.dict"
    if dict_file.is_file():
        cmd.append(f"-dict={dict_file}")
    cmd += extra + [str(corpus)]
    log = logs / f"{name}.log"
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace", timeout=seconds + 120)
        out, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        rc = None
        res["note"] = "did not stop in time"
    log.write_text(" ".join(cmd) + "\n" + out)
    res["log"] = str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log)
    for line in out.splitlines():
        m = FINAL_STATS.match(line)
        if m:
            res["cov"], res["ft"] = int(m.group(2)), int(m.group(3))
            res["execs"] = int(m.group(1))
            if m.group(4):
                res["corpus"] = int(m.group(4))
        m = EXECS.match(line)
        if m:
            res["execs"] = int(m.group(1))
        m = ARTIFACT.search(line)
        if m:
            res["artifact"] = m.group(1)
    if rc == 0 and not res["artifact"]:
        res["ok"] = True
    else:
        res["report"] = first_report_lines(out)
        if rc is not None and not res["note"]:
            res["note"] = f"exit status {rc}"
    return res


def fmt(v):
    return "?" if v is None else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help="target names (default: every built target)")
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--seconds", type=int, default=10, help="run time per target (default: 10)")
    ap.add_argument("--jobs", type=int, default=1, help="targets run at once (default: 1)")
    ap.add_argument("--arg", action="append", default=[], help="extra libFuzzer argument (repeatable)")
    args = ap.parse_args()

    build = Path(args.build)
    if not build.is_absolute():
        build = ROOT / build
    names = args.targets or targets_available(build)
    if not names:
        print(f"FAIL fuzz: no fuzz targets under {build}/fuzz (was `make fuzz-build` run?)")
        print("0 passed, 1 failed")
        return 1

    print(f"fuzzing {len(names)} target(s), {args.seconds} s each")
    sys.stdout.flush()
    results = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_target, n, build, args.seconds, args.arg) for n in names]
        for fut in futures:
            r = fut.result()
            results.append(r)
            stats = (f"execs {fmt(r['execs'])}, cov {fmt(r['cov'])}, ft {fmt(r['ft'])}, "
                     f"corpus {fmt(r['corpus'])}")
            if r["ok"]:
                print(f"PASS fuzz/{r['name']}: {stats}")
            else:
                print(f"FAIL fuzz/{r['name']}: {stats}; {r['note']}")
                if r["artifact"]:
                    print(f"    crash input: {r['artifact']}")
                for line in r["report"]:
                    print(f"    {line}")
                if r.get("log"):
                    print(f"    full log: {r['log']}")
            sys.stdout.flush()
    passed = sum(1 for r in results if r["ok"])
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
