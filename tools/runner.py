#!/usr/bin/env python3
"""eli's system test runner: runs the tests of a table (tests/system.cfg) on QEMU.

usage: tools/runner.py [--table tests/system.cfg] [--group G] [--filter REGEX] [--jobs N]
                       [--platform P] [--log-dir build/test-logs] [--verbose] [--list]

Platforms: qemu-svm (QEMU TCG, AMD SVM: every test) and bochs-vmx (Bochs, Intel VMX: the
tests whose `platforms` name it, as NAME@bochs-vmx; skipped when Bochs is not installed).

The table format and exit statuses are described in tools/README.md.
"""

import argparse
import ast
import builtins
import configparser
import json
import os
import re
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True  # keep tools/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bochsrun  # noqa: E402
import elirun  # noqa: E402
from elirun import ROOT, STATUS, describe_status  # noqa: E402

DEFAULT_TABLE = ROOT / "tests" / "system.cfg"
DEFAULT_LOG_DIR = ROOT / "build" / "test-logs"
FAIL_LINE = re.compile(r"^(guest: )?FAIL:")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
GUEST_RE = re.compile(r"[A-Za-z0-9_-]+")

FIELDS = {"guest", "boot", "args", "modules", "eli", "qemu", "timeout", "expect", "log",
          "nolog", "check", "bare", "bare_expect", "bare_log", "kernel", "groups", "image",
          "window", "platforms", "bochs_args", "bochs_devices"}
PLATFORMS = ["qemu-svm", "bochs-vmx"]
DEFAULT_PLATFORMS = ["qemu-svm"]
PLATFORM_BACKEND = {"qemu-svm": "svm", "bochs-vmx": "vmx"}  # eli's result line `backend`
BOOLEANS = {"yes": True, "true": True, "on": True, "1": True,
            "no": False, "false": False, "off": False, "0": False}
# Outcomes after which eli prints no result line.
NO_RESULT = {"eli-error", "panic"}


class TableError(Exception):
    """A problem in the test table."""


# ---------------------------------------------------------------------------
# The table

@dataclass
class Spec:
    """One section of the table."""
    name: str
    guest: str
    boot: str = "elf64"
    args: str = ""
    modules: list[str] = field(default_factory=list)
    eli: str = elirun.DEFAULT_ELI_OPTS
    qemu: list[str] = field(default_factory=list)
    timeout: float = 60.0
    expect: str = "pass"
    log: list[re.Pattern] = field(default_factory=list)
    nolog: list[re.Pattern] = field(default_factory=list)
    check: list[tuple[str, object]] = field(default_factory=list)
    bare: bool = False
    bare_expect: str = "pass"
    bare_log: list[re.Pattern] = field(default_factory=list)
    kernel: str = "eli"
    groups: list[str] = field(default_factory=list)
    image: str | None = None  # None: default image; "": no guest module
    window: list[re.Pattern] = field(default_factory=list)  # start and end line regexes
    platforms: list[str] = field(default_factory=lambda: list(DEFAULT_PLATFORMS))
    bochs_args: str | None = None  # the guest's command line on bochs-vmx (None: args)
    bochs_devices: list[str] = field(default_factory=list)  # extra Bochs devices (e1000)


def value_lines(text):
    """The non-empty, stripped lines of a (multi-line) value."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def one_line(text):
    """A value whose lines are joined by spaces (args, eli, qemu, modules)."""
    return " ".join(value_lines(text))


def regexes(text, key):
    """Compile one regex per line."""
    out = []
    for line in value_lines(text):
        try:
            out.append(re.compile(line))
        except re.error as err:
            raise TableError(f"{key}: bad regex {line!r}: {err}") from None
    return out


def checks(text):
    """Compile one Python expression per line: [(source, code)]."""
    out = []
    for line in value_lines(text):
        try:
            out.append((line, compile(line, "<check>", "eval")))
        except SyntaxError as err:
            raise TableError(f"check: bad expression {line!r}: {err.msg}") from None
    return out


def choice(text, key, allowed):
    """A value that must be one of allowed."""
    value = one_line(text)
    if value not in allowed:
        raise TableError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def boolean(text, key):
    """yes/no."""
    value = one_line(text).lower()
    if value not in BOOLEANS:
        raise TableError(f"{key}: {value!r} is not yes or no")
    return BOOLEANS[value]


def positive(text, key):
    """A positive number of seconds."""
    try:
        value = float(one_line(text))
    except ValueError:
        value = 0
    if value <= 0:
        raise TableError(f"{key}: {one_line(text)!r} is not a positive number")
    return value


def parse_fields(spec, sec):
    """Fill spec from the raw section values."""
    for key in sec:
        raw = sec[key]
        if key in ("args", "eli", "bochs_args"):
            setattr(spec, key, one_line(raw))
        elif key == "modules":
            spec.modules = one_line(raw).split()
        elif key == "groups":
            spec.groups = one_line(raw).split()
        elif key == "bochs_devices":
            spec.bochs_devices = one_line(raw).split()
            bad = [d for d in spec.bochs_devices if d not in bochsrun.DEVICES]
            if bad:
                raise TableError(f"bochs_devices: {' '.join(bad)}: not one of "
                                 f"{', '.join(bochsrun.DEVICES)}")
        elif key == "platforms":
            spec.platforms = one_line(raw).split()
            bad = [p for p in spec.platforms if p not in PLATFORMS]
            if bad or not spec.platforms:
                raise TableError(f"platforms: {' '.join(bad) or 'none given'}: not one of "
                                 f"{', '.join(PLATFORMS)}")
        elif key == "qemu":
            spec.qemu = shlex.split(one_line(raw))
        elif key == "boot":
            spec.boot = choice(raw, key, ["elf64", "multiboot"])
        elif key in ("expect", "bare_expect"):
            setattr(spec, key, choice(raw, key, list(STATUS)))
        elif key == "kernel":
            spec.kernel = choice(raw, key, ["eli", "none"])
        elif key in ("log", "nolog", "bare_log"):
            setattr(spec, key, regexes(raw, key))
        elif key == "window":
            spec.window = regexes(raw, key)
            if len(spec.window) != 2:
                raise TableError("window: two regexes, one per line: the line before the "
                                 "window and the line after it")
        elif key == "check":
            spec.check = checks(raw)
        elif key == "bare":
            spec.bare = boolean(raw, key)
        elif key == "timeout":
            spec.timeout = positive(raw, key)
        elif key == "image":
            value = one_line(raw)
            spec.image = "" if value == "none" else value


def validate(spec, keys):
    """Reject combinations that cannot mean what the writer intended."""
    if not GUEST_RE.fullmatch(spec.guest):
        raise TableError(f"guest: {spec.guest!r} is not a plain name (letters, digits, _ -)")
    if spec.kernel == "none":
        for key in ("check", "bare", "bare_expect", "bare_log", "boot"):
            if key in keys:
                raise TableError(f"{key}: not used with kernel=none (a bare run uses "
                                 "expect/log/nolog)")
        if spec.image == "":
            raise TableError("image=none needs kernel=eli")
    if not spec.bare and ({"bare_expect", "bare_log"} & keys):
        raise TableError("bare_expect/bare_log need bare=yes")
    if spec.bare and spec.image is not None:
        raise TableError("image: a bare twin always boots build/guests/NAME.mb.elf")
    if "bochs-vmx" in spec.platforms and (spec.kernel == "none" or spec.qemu):
        raise TableError("platforms: bochs-vmx runs eli without QEMU options (no kernel=none, "
                         "no qemu=)")
    if spec.bochs_args is not None and "bochs-vmx" not in spec.platforms:
        raise TableError("bochs_args needs bochs-vmx in platforms")
    if spec.bochs_devices and "bochs-vmx" not in spec.platforms:
        raise TableError("bochs_devices needs bochs-vmx in platforms")


def parse_spec(name, sec):
    """A Spec from one configparser section."""
    if not NAME_RE.fullmatch(name):
        raise TableError("test name: letters, digits and _ . - only ('@' is for twins)")
    keys = set(sec)
    unknown = keys - FIELDS
    if unknown:
        raise TableError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if not one_line(sec.get("guest", "")):
        raise TableError("guest: missing")
    spec = Spec(name=name, guest=one_line(sec["guest"]))
    parse_fields(spec, sec)
    validate(spec, keys)
    return spec


def load_table(path):
    """All Specs of a table; raises TableError naming the file and section."""
    parser = configparser.ConfigParser(interpolation=None, empty_lines_in_values=False,
                                       inline_comment_prefixes=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except configparser.DuplicateOptionError as err:
        raise TableError(f"{path}: [{err.section}] {err.option} given twice (put several "
                         "values on indented lines of one key)") from None
    except (OSError, configparser.Error) as err:
        raise TableError(f"{path}: {err}") from None
    specs = []
    for name in parser.sections():
        try:
            specs.append(parse_spec(name, parser[name]))
        except TableError as err:
            raise TableError(f"{path}: [{name}] {err}") from None
    return specs


# ---------------------------------------------------------------------------
# Jobs: one QEMU run each

@dataclass
class Job:
    """One QEMU run and how to judge it."""
    name: str
    kind: str  # "eli" or "bare"
    argv: list[str]
    files: list[str]  # repo-relative inputs that must exist
    timeout: float
    expect: str
    log: list[re.Pattern]
    nolog: list[re.Pattern] = field(default_factory=list)
    check: list[tuple[str, object]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    window: list[re.Pattern] = field(default_factory=list)
    platform: str = "qemu-svm"
    spec: Spec | None = None  # bochs-vmx: what bochsrun needs to build its ISO

    @property
    def needs_result(self):
        return self.kind == "eli" and self.expect not in NO_RESULT


def eli_job(spec):
    """The run of spec's guest under eli."""
    image = spec.image if spec.image is not None else elirun.guest_image(spec.guest, spec.boot)
    argv = elirun.eli_command(spec.guest, spec.args, spec.modules, spec.eli, spec.boot,
                              image, spec.qemu)
    files = [elirun.ELI_KERNEL] + ([image] if image else []) + spec.modules
    return Job(spec.name, "eli", argv, files, spec.timeout, spec.expect, spec.log,
               spec.nolog, spec.check, spec.groups, spec.window)


def bare_job(spec, name, expect, log, nolog):
    """The run of spec's guest directly on QEMU."""
    mem = elirun.mem_from_opts(spec.eli)
    argv = elirun.bare_command(spec.guest, spec.args, spec.modules, mem, spec.qemu)
    files = [elirun.guest_image(spec.guest, "multiboot")] + spec.modules
    return Job(name, "bare", argv, files, spec.timeout, expect, log, nolog, [], spec.groups)


def bochs_job(spec):
    """The run of spec's guest under eli on Bochs (VMX): NAME@bochs-vmx."""
    image = spec.image if spec.image is not None else elirun.guest_image(spec.guest, spec.boot)
    args = spec.bochs_args if spec.bochs_args is not None else spec.args
    argv = [bochsrun.bochs_binary(), f"(ISO: eli guest={spec.guest} {spec.eli}; "
            f"{image} {args})".replace(" ;", ";").replace(" )", ")")]
    files = [elirun.ELI_KERNEL] + ([image] if image else []) + spec.modules
    return Job(spec.name + "@bochs-vmx", "eli", argv, files, spec.timeout, spec.expect,
               spec.log, spec.nolog, spec.check, spec.groups, spec.window, "bochs-vmx", spec)


def jobs_for(spec):
    """The runs of one table entry: under eli (on each of its platforms) and/or bare
    (NAME@bare, on QEMU)."""
    if spec.kernel == "none":
        return [bare_job(spec, spec.name, spec.expect, spec.log, spec.nolog)]
    jobs = [eli_job(spec)] if "qemu-svm" in spec.platforms else []
    if spec.bare:
        jobs.append(bare_job(spec, spec.name + "@bare", spec.bare_expect, spec.bare_log, []))
    if "bochs-vmx" in spec.platforms:
        jobs.append(bochs_job(spec))
    return jobs


def select(jobs, groups, pattern, platforms=None):
    """The jobs in any of groups (all if none given) whose name matches pattern, on one
    of platforms (all if None)."""
    regex = re.compile(pattern) if pattern else None
    return [j for j in jobs
            if (not groups or set(groups) & set(j.groups))
            and (regex is None or regex.search(j.name))
            and (platforms is None or j.platform in platforms)]


# ---------------------------------------------------------------------------
# Checks on eli's result

class MissingKey(AttributeError):
    """A check asked for a key the result does not have."""


class Node:
    """Read-only attribute (and item) access to a JSON object or list."""
    __slots__ = ("_data", "_path")

    def __init__(self, data, path):
        self._data = data
        self._path = path

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key):
        try:
            value = self._data[key]
        except (KeyError, IndexError, TypeError):
            raise MissingKey(self._missing(key)) from None
        return wrap(value, self._child(key))

    def _child(self, key):
        if isinstance(key, int):
            return f"{self._path}[{key}]"
        return f"{self._path}.{key}" if self._path else key

    def _missing(self, key):
        where = f"`{self._path}`" if self._path else "the result"
        if isinstance(self._data, list):
            return f"no item [{key}] in {where} ({len(self._data)} items)"
        have = ", ".join(map(str, self._data)) or "nothing"
        return f"result has no key `{self._child(key)}` ({where} has: {have})"

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        if isinstance(self._data, list):
            return (wrap(v, self._child(i)) for i, v in enumerate(self._data))
        return iter(self._data)

    def __contains__(self, key):
        return key in self._data

    def __repr__(self):
        return json.dumps(self._data)


def wrap(value, path):
    """JSON objects and lists become Nodes; scalars stay as they are."""
    return Node(value, path) if isinstance(value, (dict, list)) else value


CHECK_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bool", "dict", "float", "getattr", "hasattr", "int", "isinstance",
    "len", "list", "max", "min", "round", "set", "sorted", "str", "sum", "tuple")}


def result_paths(source):
    """The `r....` expressions a check reads, outermost only, in order."""
    found = []

    def rooted(node):
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return isinstance(node, ast.Name) and node.id == "r"

    def visit(node):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and rooted(node):
            text = ast.unparse(node)
            if text not in found:
                found.append(text)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source, mode="eval"))
    return found


def evaluate(code, r):
    """Evaluate a compiled check (or path) with only r and a few builtins."""
    return eval(code, {"__builtins__": CHECK_BUILTINS}, {"r": r})


def show_values(source, r):
    """`r.a=1, r.b=2` for the result values a check reads."""
    shown = []
    for path in result_paths(source):
        try:
            text = repr(evaluate(path, r))
        except Exception:  # noqa: BLE001 - the check itself reported the error
            continue
        shown.append(f"{path}={text[:80]}")
    return ", ".join(shown)


def run_check(source, code, result):
    """None if the check holds, else the reason."""
    r = wrap(result, "")
    try:
        ok = evaluate(code, r)
    except MissingKey as err:
        return f"check `{source}`: {err}"
    except Exception as err:  # noqa: BLE001 - any error in a check is a test failure
        return f"check `{source}` raised {type(err).__name__}: {err}"
    if ok:
        return None
    values = show_values(source, r)
    return f"check `{source}` is false" + (f" ({values})" if values else "")


# ---------------------------------------------------------------------------
# Judging

def result_problem(lines):
    """(result dict, None) for exactly one valid result line, else (None, reason)."""
    texts = elirun.result_texts(lines)
    if not texts:
        return None, "no `eli: result` line"
    if len(texts) > 1:
        return None, f"{len(texts)} `eli: result` lines, expected one"
    try:
        value = json.loads(texts[0])
    except json.JSONDecodeError as err:
        return None, f"bad JSON in `eli: result` line: {err}"
    if not isinstance(value, dict):
        return None, "`eli: result` is not a JSON object"
    return value, None


def log_problems(job, lines):
    """Reasons from FAIL: lines and the log/nolog regexes (matched on raw lines)."""
    reasons = []
    if job.expect == "pass":
        failed = next((line for line in lines if FAIL_LINE.search(line)), None)
        if failed is not None:
            reasons.append(f"failure reported: {failed.strip()}")
    for regex in job.log:
        if not any(regex.search(line) for line in lines):
            reasons.append(f"no line matches /{regex.pattern}/")
    for regex in job.nolog:
        bad = next((line for line in lines if regex.search(line)), None)
        if bad is not None:
            reasons.append(f"line matches nolog /{regex.pattern}/: {bad.strip()}")
    return reasons


def judge(job, run):
    """The reasons job failed (empty if it passed)."""
    if run.status is None or run.timed_out:
        return [run.reason]
    reasons = []
    want = STATUS[job.expect]
    if run.status != want:
        reasons.append(f"exit status {describe_status(run.status)}, "
                       f"expected {want} ({job.expect})")
    result = None
    if job.kind == "eli" and (job.needs_result or job.check):
        result, problem = result_problem(run.lines)
        if problem:
            reasons.append(problem)
    reasons += log_problems(job, run.lines)
    want_backend = PLATFORM_BACKEND.get(job.platform)
    if result is not None and job.kind == "eli" and result.get("backend") != want_backend:
        reasons.append(f"eli ran backend {result.get('backend')!r}, expected {want_backend!r} "
                       f"on {job.platform}")
    if result is not None:
        result = dict(result, g=elirun.guest_result(run.lines) or {})
        if job.window:
            w = elirun.window(run.lines, result, job.window[0], job.window[1])
            if w is None:
                reasons.append("window: its two guest lines (or eli's marks of them) not found")
            result["w"] = w or {}
        reasons += filter(None, (run_check(src, code, result) for src, code in job.check))
    return reasons


@dataclass
class Outcome:
    """A judged job."""
    job: Job
    reasons: list[str]
    duration: float
    lines: list[str]

    @property
    def ok(self):
        return not self.reasons


def missing_files(job):
    """Inputs of job that do not exist."""
    return [f for f in job.files if not (ROOT / f).exists()]


def run_job(job, log_dir):
    """Run and judge one job; its output goes to LOG_DIR/NAME.log."""
    log_path = Path(log_dir) / f"{job.name}.log"
    missing = missing_files(job)
    if missing:
        reason = f"missing {', '.join(missing)} (not built?)"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(f"# {shlex.join(job.argv)}\n# {reason}\n")
        return Outcome(job, [reason], 0.0, [])
    if job.platform == "bochs-vmx":
        s = job.spec
        args = s.bochs_args if s.bochs_args is not None else s.args
        run = bochsrun.run_eli_bochs(s.guest, args, s.modules, s.eli, s.boot, s.image,
                                     job.timeout, log_path, devices=s.bochs_devices)
    else:
        run = elirun.run_command(job.argv, job.timeout, log_path)
    return Outcome(job, judge(job, run), run.duration, run.lines)


# ---------------------------------------------------------------------------
# Reporting and main

def report(outcome, verbose):
    """Print one finished job: PASS/FAIL line, then log tail (failures) or output (verbose)."""
    job = outcome.job
    if outcome.ok:
        print(f"PASS {job.name} ({outcome.duration:.1f}s)")
    else:
        print(f"FAIL {job.name}: {'; '.join(outcome.reasons)}")
    if verbose:
        print(f"    $ {shlex.join(job.argv)}")
    if verbose:
        for line in outcome.lines or ["(no output)"]:
            print(f"    {line}")
    elif not outcome.ok:
        elirun.print_tail(outcome.lines)
    sys.stdout.flush()


def run_all(jobs, n, log_dir, verbose):
    """Run jobs n at a time, reporting each as it ends; returns the outcomes."""
    outcomes = []
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(run_job, job, log_dir) for job in jobs]
        try:
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                report(outcome, verbose)
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            elirun.kill_all()
            raise
    return outcomes


def parse_args(argv):
    """Command-line options."""
    p = argparse.ArgumentParser(description="Run eli's system tests on QEMU.")
    p.add_argument("--table", default=str(DEFAULT_TABLE), help="test table (tests/system.cfg)")
    p.add_argument("--group", action="append", default=[],
                   help="only tests in this group (repeatable: any of them)")
    p.add_argument("--filter", help="only tests whose name matches this regex (re.search)")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                   help="parallel runs (default: number of CPUs)")
    p.add_argument("--platform", action="append", choices=PLATFORMS, default=[],
                   help="only tests on this platform (repeatable; default: every platform "
                        "installed)")
    p.add_argument("--log-dir", default=str(DEFAULT_LOG_DIR), help="build/test-logs")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print each test's command and whole output")
    p.add_argument("--list", action="store_true", help="print the selected test names")
    return p.parse_args(argv)


def main(argv=None):
    """0 if every selected test passed, 1 if one failed, 2 for a usage or table error."""
    opts = parse_args(argv)
    try:
        specs = load_table(opts.table)
        platforms = opts.platform or [p for p in PLATFORMS
                                      if p != "bochs-vmx" or bochsrun.available()]
        all_jobs = [j for s in specs for j in jobs_for(s)]
        jobs = select(all_jobs, opts.group, opts.filter, platforms)
        skipped = len(select(all_jobs, opts.group, opts.filter)) - len(jobs)
        if skipped and not opts.platform and not opts.list:
            print(f"runner: Bochs not installed (scripts/setup installs it): {skipped} "
                  "bochs-vmx test(s) not run")
    except TableError as err:
        print(f"runner: {err}", file=sys.stderr)
        return 2
    except re.error as err:
        print(f"runner: --filter: {err}", file=sys.stderr)
        return 2
    if opts.list:
        for job in jobs:
            print(job.name)
        return 0
    if not jobs:
        print("runner: no test selected", file=sys.stderr)
        return 2
    try:
        outcomes = run_all(jobs, max(1, opts.jobs), Path(opts.log_dir).resolve(), opts.verbose)
    except KeyboardInterrupt:
        print("runner: interrupted", file=sys.stderr)
        return 130
    failed = [o.job.name for o in outcomes if not o.ok]
    if failed:
        print(f"failed: {' '.join(failed)}")
    for platform in PLATFORMS:
        mine = [o for o in outcomes if o.job.platform == platform]
        if mine:
            bad = sum(1 for o in mine if not o.ok)
            print(f"{platform}: {len(mine) - bad} passed, {bad} failed")
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
