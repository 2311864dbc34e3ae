#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/nested/run.py: tests of the nested KVM bed (tools/nested/nested-run.sh): unit tests, then L1 boots.
"""usage: tests/nested/run.py [--no-l1]

Ends with "N passed, N failed, N skipped"; exit status 1 if any failed,
2 for bad usage.
The unit tests (tests/nested/unit.py) run first, each one a case; then
bad usage, the cache, and the bed's failures and runs, each of which
boots L1 under TCG (30-60 s a boot). --no-l1: only the unit tests and
the bad usage (seconds).

Environment:
  PVSPIN_IMAGE        pvspin image (default build/pvspin.elf); its cases
                      are skipped when it is missing
  NESTED_TEST_288=1   also boot pvspin with 288 vCPUs (slow, docs/nested.md)
  NESTED_TEST_KEEP=1  keep the scratch directory
"""
import os
import re
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TOP / "tools"), str(TOP / "tests" / "nested")]
import pvlog  # noqa: E402
from pvspin import counts, facts, floors, procs, status  # noqa: E402
from pvspin.nested.report import EXIT_BED, EXIT_USAGE, PROG  # noqa: E402

NESTED_RUN = TOP / "tools" / "nested" / "nested-run.sh"
PVSPIN_IMAGE = Path(os.environ.get("PVSPIN_IMAGE") or TOP / "build" / "pvspin.elf")

DEBUG_EXIT_OK = status.debug_exit(status.PASS)
TINY_EXIT_VALUE = 3                # tiny's exit=3
TINY_EXIT_STATUS = status.debug_exit(TINY_EXIT_VALUE)
RESET_EXIT_STATUS = status.debug_exit(status.GUEST_CRASH)   # pvspin's EXIT status 3 after a reset
TINY_HANG_TIMEOUT_S = 4            # a hanging run's own timeout
JOB_TIMEOUT_S = 60
PIPE_L1_LIMIT_S = 600              # an L1 limit far beyond the run
PIPE_CLOSE_WITHIN_S = 120          # the run itself takes ~10-20 s
TOO_SHORT_L1_TIMEOUT_S = 3         # less than any L1 boot takes
HANG_L1_TIMEOUT_S = 20             # enough to boot L1, then it hangs
STALL_READY_LIMIT_S = 30           # L1 is ready in 5-16 s; its hooked first boot never
SOFT_LOCKUP_END_WITHIN_S = 120     # L1's boot, the report, the register dump
BED_WITHIN_S = 1800                # no single call of these tests takes longer
PVSPIN_CPU_COUNTS = (1, 4, 16)
PVSPIN_MANY_CPUS = facts.KVM_MAX_VCPUS
PVSPIN_MANY_CPUS_TIMEOUT_S = 240
DEBUG_EXIT_DEVICE = "-device isa-debug-exit,iobase=0xf4,iosize=4"
L2_COMMON = f"-M q35 -accel kvm -cpu host -nodefaults -no-reboot -display none -serial stdio {DEBUG_EXIT_DEVICE}"
CPU_LINE_RE = re.compile(r"^  L1 CPU#0 RIP=[0-9a-f]{16} CPL=[0-3] HLT=[01]: ", re.M)
PV_UNHALT_BIT = 7                  # of CPUID 0x40000001 EAX


class Cases:
    """ok / FAIL / skip lines, one a case, and the totals (pvspin.counts)."""

    def __init__(self):
        self.totals = counts.Counts()
        self.t0 = time.monotonic()

    def begin(self):
        self.t0 = time.monotonic()

    def _elapsed(self):
        return f"{time.monotonic() - self.t0:.1f}s"

    def check(self, name, ok, *detail):
        if ok:
            self.totals.passed += 1
            print(f"ok {name} ({self._elapsed()})", flush=True)
        else:
            self.totals.failed += 1
            print(f"FAIL {name}: {'|'.join(str(d) for d in detail)} ({self._elapsed()})", flush=True)
        return ok

    def skip(self, name, why):
        self.totals.skipped += 1
        print(f"skip {name}: {why}", flush=True)

    def summary(self):
        print(self.totals.line(), flush=True)
        return 1 if self.totals.failed else 0


class Bed:
    """One call of nested-run.sh: its status, stdout (bytes) and stderr."""

    def __init__(self, prefix, *args, env=None, within=BED_WITHIN_S):
        self.prefix = Path(prefix)
        with open(f"{prefix}.out", "wb") as out, open(f"{prefix}.err", "wb") as err:
            child = procs.Group([str(NESTED_RUN), *map(str, args)], stdout=out, stderr=err,
                                env={**os.environ, **(env or {})})
            self.rc = child.wait(within)
        self.out = Path(f"{prefix}.out").read_bytes()
        self.err = Path(f"{prefix}.err").read_text(errors="replace")

    def tail(self, n=3):
        return "|".join(self.err.splitlines()[-n:])

    def has(self, pattern):
        return re.search(pattern, self.err, re.M) is not None


def text(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError as e:
        return f"({e.strerror})"


def listing(d):
    return " ".join(sorted(p.name for p in Path(d).iterdir())) if Path(d).is_dir() else "(no directory)"


def job(pin, timeout_s, args):
    return f"{pin}\t{timeout_s}\t{args}\n"


class Tests:
    def __init__(self, c, scratch):
        self.c = c
        self.s = Path(scratch)
        self.tiny = self.s / "tiny.elf"
        self.empty = self.s / "empty.jobs"
        self.tiny1 = self.s / "tiny1.jobs"

    def setup(self):
        floors.assemble(floors.TINY, self.tiny)
        self.empty.write_text("")
        self.tiny1.write_text(job("-", JOB_TIMEOUT_S, f"{L2_COMMON} -m 64 -kernel @IMAGE@"))

    # --- no L1 ------------------------------------------------------------

    def unit(self):
        suite = unittest.defaultTestLoader.loadTestsFromName("unit")
        for test in iter_tests(suite):
            self.c.begin()
            r = unittest.TestResult()
            test.run(r)
            problems = [t for _, t in r.errors + r.failures]
            self.c.check(f"unit: {test.id().removeprefix('unit.')}", not problems,
                         *(p.strip().splitlines()[-1] for p in problems))

    def usage_case(self, name, want, pattern, stream, *args):
        self.c.begin()
        b = Bed(self.s / "usage", *args)
        where = b.out.decode(errors="replace") if stream == "out" else b.err
        self.c.check(name, b.rc == want and re.search(pattern, where, re.M) is not None,
                     f"status {b.rc}", b.tail())

    def usage(self):
        tiny, empty = self.tiny, self.empty
        bad, pin = self.s / "bad.jobs", self.s / "pin.jobs"
        bad.write_text("x\t10\t-M q35\n")
        pin.write_text("2\t10\t-M q35\n")
        for name, want, pattern, stream, args in (
                ("no arguments: status 2 with usage", EXIT_USAGE, "^Usage:", "err", ()),
                ("unknown option: status 2", EXIT_USAGE, "unknown option", "err",
                 ("--bogus-option", "--image", tiny, empty)),
                ("an option without its value: status 2", EXIT_USAGE, "option --l1-smp needs a value", "err",
                 ("--image", tiny, "--l1-smp")),
                ("missing image: status 2", EXIT_USAGE, "image not found", "err",
                 ("--image", self.s / "missing.elf", empty)),
                ("bad --l1-smp: status 2", EXIT_USAGE, "l1-smp", "err", ("--l1-smp", "zero", "--image", tiny, empty)),
                ("bad --l0-tcg: status 2", EXIT_USAGE, "l0-tcg must be multi or single", "err",
                 ("--l0-tcg", "double", "--image", tiny, empty)),
                ("--l0-qemu that does not exist: status 2", EXIT_USAGE, "l0-qemu: no such executable", "err",
                 ("--l0-qemu", self.s / "no-such-qemu", "--image", tiny, empty)),
                ("bad --l1-boots: status 2", EXIT_USAGE, "l1-boots must be a positive integer", "err",
                 ("--l1-boots", "0", "--image", tiny, empty)),
                ("bad --l1-stall-limit: status 2", EXIT_USAGE, "l1-stall-limit must be a positive integer", "err",
                 ("--l1-stall-limit", "-1", "--image", tiny, empty)),
                ("bad --l1-ready-limit: status 2", EXIT_USAGE, "l1-ready-limit must be a positive integer", "err",
                 ("--l1-ready-limit", "5s", "--image", tiny, empty)),
                ("bad --l1-break: status 2", EXIT_USAGE, "l1-break must be", "err",
                 ("--l1-break", "sometimes", "--image", tiny, empty)),
                ("bad job line: status 2", EXIT_USAGE, "PIN must be", "err", ("--image", tiny, bad)),
                ("PIN beyond L1's CPUs: status 2", EXIT_USAGE, "L1 lacks", "err",
                 ("--l1-smp", "2", "--image", tiny, pin)),
                ("--help: status 0", 0, "--l1-break-module", "out", ("--help",))):
            self.usage_case(name, want, pattern, stream, *args)

    def no_apt_lists_offline(self):
        """No apt lists (a fresh container image) and no network, with nothing
        cached: the bed ends in 125 with one line naming the cause."""
        self.c.begin()
        name = "no apt lists, offline, empty cache: status 125 naming apt"
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.c.skip(name, "needs root and unshare (a private mount and network namespace)")
            return
        cache = self.s / "noapt-cache"
        cache.mkdir()
        p = self.s / "noapt"
        with open(f"{p}.out", "wb") as out, open(f"{p}.err", "wb") as err:
            rc = procs.Group(["unshare", "-m", "-n", "sh", "-c",
                              'mount -t tmpfs tmpfs /var/lib/apt/lists && XDG_CACHE_HOME=$1 exec "$2" --quiet '
                              '--image "$3" "$4"', "sh", str(cache), str(NESTED_RUN), str(self.tiny),
                              str(self.tiny1)], stdout=out, stderr=err).wait(BED_WITHIN_S)
        err = text(f"{p}.err")
        self.c.check(name, rc == EXIT_BED and err.count("bed failure:") == 1 and "bed failure: apt-get update" in err,
                     f"status {rc}", "|".join(line for line in err.splitlines() if not line.startswith("W:"))[-300:])

    def prepare(self):
        self.c.begin()
        b = Bed(self.s / "prepare", "--prepare")
        return self.c.check("cache prepared", b.rc == 0, f"status {b.rc}", b.tail())

    # --- L1 failures --------------------------------------------------------

    def l1_timeout(self):
        self.c.begin()
        b = Bed(self.s / "l1timeout", "--quiet", "--timeout", TOO_SHORT_L1_TIMEOUT_S, "--image", self.tiny, self.tiny1)
        self.c.check("L1 boot timeout: status 125", b.rc == EXIT_BED and b.has("bed failure: L1 boot timed out"),
                     f"status {b.rc}", b.tail())

    def anchor_build_fails(self):
        """kvm-anchor is built per call; a build that fails is a bed failure naming it, before L1 boots."""
        self.c.begin()
        b = Bed(self.s / "anchor", "--quiet", "--image", self.tiny, self.tiny1, env={"CC": "false"})
        self.c.check("kvm-anchor cannot be built: status 125, reason names it",
                     b.rc == EXIT_BED and b.has("bed failure: cannot build L1.s kvm-anchor") and not b.out,
                     f"status {b.rc}", b.tail())

    def broken_module(self, mod):
        self.c.begin()
        b = Bed(self.s / "broken", "--quiet", "--l1-break-module", mod, "--status-file", self.s / "broken.status",
                "--image", self.tiny, self.tiny1)
        norm = mod.replace("-", "_")
        self.c.check(f"L1 without {mod}: status 125, reason names the module",
                     b.rc == EXIT_BED and b.has(f"bed failure: insmod {norm} failed") and not b.out,
                     f"status {b.rc}", b.tail())

    def panic(self):
        self.c.begin()
        diag = self.s / "panic.diag"
        b = Bed(self.s / "panic", "--quiet", "--l1-break", "panic", "--diag-dir", diag, "--image", self.tiny, self.tiny1)
        self.c.check("L1 kernel panic: status 125", b.rc == EXIT_BED and b.has("bed failure: L1 stopped"),
                     f"status {b.rc}", b.tail())
        # What ended L1 is named on the failure line; its logs are kept.
        self.c.check("L1 kernel panic: the failure names QEMU's status and the panic",
                     b.has("bed failure: L1 stopped.*L1 QEMU exited 0.*L1 kernel: .*Kernel panic"), b.tail(1))
        self.c.check("L1 kernel panic: console and L1 QEMU log in --diag-dir",
                     "Kernel panic" in text(diag / "l1-console.log") and "CPU Reset" in text(diag / "l1-qemu.log"),
                     listing(diag))

    def l1_hang(self):
        self.c.begin()
        b = Bed(self.s / "hang", "--quiet", "--l1-break", "hang", "--timeout", HANG_L1_TIMEOUT_S,
                "--image", self.tiny, self.tiny1)
        self.c.check("L1 hanging after KVM is ready: status 125 at --timeout",
                     b.rc == EXIT_BED and b.has("bed failure: L1 run exceeded the limit of"), f"status {b.rc}", b.tail())
        self.c.check("L1 hanging: where each L1 CPU was before the limit (monitor registers)",
                     CPU_LINE_RE.search(b.err) is not None, cpu_lines(b.err))

    def l1_boot_stall(self):
        """A boot that stalls before KVM is ready is stopped at --l1-ready-limit
        and L1 booted again; the jobs then run in boot 2, which the env JSON
        names. The hook hangs only boot 1."""
        self.c.begin()
        p, diag = self.s / "stall", self.s / "stall.diag"
        b = Bed(p, "--l1-break", "hang-first-boot", "--l1-ready-limit", STALL_READY_LIMIT_S,
                "--status-file", f"{p}.status", "--env-file", f"{p}.env", "--diag-dir", diag,
                "--image", self.tiny, self.tiny1)
        err = "|".join([line for line in b.err.splitlines()
                        if not re.search(f"^{PROG}: run 1|L1 ready|L1 exited", line)][-6:])
        self.c.check("L1 boot stalled before KVM: stopped at the ready limit and booted again, status 0",
                     b.rc == 0 and b.has(f"L1 boot 1 of at most 2 stalled: L1 not ready \\(KVM loaded\\) within "
                                         f"{STALL_READY_LIMIT_S} s") and b.has(r"booting L1 again \(boot 2 of at most 2\)"),
                     f"status {b.rc}", err)
        env, st = text(f"{p}.env"), text(f"{p}.status").strip()
        self.c.check("L1 boot stalled: the jobs ran in boot 2 (env JSON l1_boot 2), one '# l1:' line, the run's status",
                     '"l1_boot":2}' in env and b.out.count(b"\n# l1: ") + b.out.startswith(b"# l1: ") == 1
                     and st == str(DEBUG_EXIT_OK),
                     f"env {re.findall(r'.l1_boot.:[0-9]*', env)}, status file {st}")
        self.c.check("L1 boot stalled: where its CPUs were on stderr, its console and registers in --diag-dir "
                     "as l1-boot-1.*",
                     CPU_LINE_RE.search(b.err) is not None and (diag / "l1-boot-1.console.log").is_file()
                     and re.search("^CPU#0", text(diag / "l1-boot-1.cpus.txt"), re.M) is not None,
                     cpu_lines(b.err), listing(diag))

        b = Bed(self.s / "stall1", "--quiet", "--l1-boots", 1, "--l1-break", "hang-first-boot",
                "--l1-ready-limit", STALL_READY_LIMIT_S, "--image", self.tiny, self.tiny1)
        self.c.check("L1 boot stalled with --l1-boots 1: status 125 at the ready limit, naming it, with where "
                     "L1's CPUs were",
                     b.rc == EXIT_BED and b.has(f"bed failure: L1 not ready \\(KVM loaded\\) within "
                                                f"{STALL_READY_LIMIT_S} s of its start, in each of 1 boot")
                     and b.has(r"^  L1 CPU#1 RIP=[0-9a-f]{16} ") and not b.out,
                     f"status {b.rc}", b.tail())

    def l0_qemu(self):
        """--l0-qemu runs L1 on another QEMU binary (a wrapper of the host's
        that says a version of its own); the env JSON names that version."""
        self.c.begin()
        p, wrapper, version = self.s / "l0qemu", self.s / "l0-wrapper", "0.0.0-pvspin-l0-test"
        wrapper.write_text(f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "QEMU emulator version {version}"; exit 0; }}\n'
                           f': >"{wrapper}.used"\nexec qemu-system-x86_64 "$@"\n')
        wrapper.chmod(0o755)
        b = Bed(p, "--quiet", "--l0-qemu", wrapper, "--env-file", f"{p}.env", "--status-file", f"{p}.status",
                "--image", self.tiny, self.tiny1)
        env = text(f"{p}.env")
        self.c.check("--l0-qemu: L1 runs on that binary, the env JSON's l0 names its version, the run passes",
                     b.rc == 0 and Path(f"{wrapper}.used").exists() and text(f"{p}.status").strip() == str(DEBUG_EXIT_OK)
                     and f'"l0":"qemu {version} tcg -cpu max"' in env,
                     f"status {b.rc}", re.findall(r'"l0":"[^"]*"', env), b.tail())

    def l1_soft_lockup(self):
        """L1's watchdog reporting a CPU stuck past --l1-stall-limit ends L1 at
        once, not at the whole limit: 125 naming the report, with where L1's
        CPUs were then. The hook prints the report as Linux does, then hangs."""
        self.c.begin()
        diag = self.s / "softlockup.diag"
        b = Bed(self.s / "softlockup", "--quiet", "--l1-break", "softlockup", "--timeout", PIPE_L1_LIMIT_S,
                "--diag-dir", diag, "--image", self.tiny, self.tiny1, within=SOFT_LOCKUP_END_WITHIN_S)
        self.c.check("L1's watchdog reports a CPU stuck: L1 ended then, not at the limit, status 125 naming the report",
                     b.rc == EXIT_BED and b.has("bed failure: L1 stalled after 0 of 1 runs: .*watchdog: BUG: soft "
                                                "lockup - CPU#1 stuck for 999s"), f"status {b.rc}", b.tail(2))
        self.c.check("L1 stalled: where L1's CPUs were when the report came, kept in --diag-dir",
                     b.has("^  L1 CPUs when L1.s watchdog reported it") and b.has(r"^  L1 CPU#1 RIP=[0-9a-f]{16} ")
                     and re.search("^CPU#0", text(diag / "l1-cpus.txt"), re.M) is not None, cpu_lines(b.err))

    def pipe_closes(self):
        """The bed's output through a pipe, as run-qemu.sh reads it: the pipe
        closes when the bed is done, not at the L1 limit (a child holding the
        bed's stdout would keep it open)."""
        self.c.begin()
        p = self.s / "pipe"
        with open(f"{p}.err", "wb") as err:
            rc = procs.Group(["bash", "-c", '"$1" --quiet --timeout "$2" --image "$3" "$4" | cat >"$5"', "_",
                              str(NESTED_RUN), str(PIPE_L1_LIMIT_S), str(self.tiny), str(self.tiny1), f"{p}.out"],
                             stderr=err).wait(PIPE_CLOSE_WITHIN_S)
        self.c.check("the bed's output pipe closes when it is done (not at the L1 limit)", rc == 0,
                     f"status {rc} (124: the pipe stayed open {PIPE_CLOSE_WITHIN_S} s of a {PIPE_L1_LIMIT_S} s limit)",
                     "|".join(text(f"{p}.err").splitlines()[-3:]))

    # --- runs ---------------------------------------------------------------

    def tiny_batch(self):
        self.c.begin()
        p, diag, jobs = self.s / "batch", self.s / "batch.diag", self.s / "batch.jobs"
        jobs.write_text(job("-", JOB_TIMEOUT_S, f"{L2_COMMON} -m 64 -smp 1 -kernel @IMAGE@")
                        + job("0", JOB_TIMEOUT_S, f"{L2_COMMON} -m 64 -smp 4 -kernel @IMAGE@ -append 'exit={TINY_EXIT_VALUE}'")
                        + job("-", TINY_HANG_TIMEOUT_S, f"{L2_COMMON} -m 64 -kernel @IMAGE@ -append hang"))
        name = "batch of 3 L2 runs in one L1 boot"
        b = Bed(p, "--status-file", f"{p}.status", "--env-file", f"{p}.env", "--diag-dir", diag, "--image", self.tiny, jobs)
        if not self.c.check(f"{name}: status 0", b.rc == 0, f"status {b.rc}", b.tail()):
            return
        statuses = text(f"{p}.status").split()
        self.c.check("status file: 1, 7, 124 (timeout)",
                     statuses == [str(DEBUG_EXIT_OK), str(TINY_EXIT_STATUS), str(status.TIMEOUT)], f"got: {statuses}")
        env = text(f"{p}.env").rstrip("\n")
        l1_lines = [line for line in b.out.split(b"\n") if line.startswith(b"# l1: ")]
        self.c.check("one '# l1:' line per run, same JSON as --env-file",
                     len(l1_lines) == 3 and all(line == f"# l1: {env}".encode() for line in l1_lines),
                     f"l1 lines: {len(l1_lines)}")
        missing = [k for k in ('"kernel":', '"package":"linux-image-', '"halt_poll_ns":', '"npt":', '"avic":',
                               '"cpu_vendor":"AuthenticAMD"', r'"svm_flags":\[[^]]*"svm"', '"cpus":', '"mem_kb":',
                               '"kvm_anchor":true', '"l1_boot":1}') if not re.search(k, env)]
        self.c.check("L1 JSON has kernel, package, kvm parameters, CPU and SVM flags, kvm-anchor held", not missing,
                     f"lacks {' '.join(missing)}", env)
        # byte-exact: stdout == for each run the "# l1:" line and tiny's output
        m = re.search(rb"^tiny: hv=KVMKVMKVM feat=([0-9a-f]*)$", b.out, re.M)
        feat = m.group(1).decode() if m else ""
        expected = b"".join(f"# l1: {env}\n".encode() + b"tiny: hello\ntiny: hv=KVMKVMKVM feat="
                            + (feat or "unknown").encode() + b"\ntiny: raw\t\x00\x01\x1b\x7f\xff\r\r\nok 1 tiny\n"
                            for _ in range(3))
        first = next((i for i, (x, y) in enumerate(zip(expected, b.out)) if x != y), min(len(expected), len(b.out)))
        self.c.check("stdout byte-exact: only the L2 serial output and '# l1:' lines", expected == b.out,
                     f"differ at byte {first} (expected {len(expected)} bytes, got {len(b.out)})")
        # Runs 2 (exit=3) and 3 (timeout) did not pass: their L2 QEMU log and
        # L1's dmesg came back; run 1 passed and left nothing.
        self.c.check("--diag-dir: L2 QEMU log and L1 dmesg of the runs that failed, none of the pass",
                     "CPU Reset" in text(diag / "run-2.qemu.log") and "CPU Reset" in text(diag / "run-3.qemu.log")
                     and "kvm" in text(diag / "run-2.l1-dmesg") and not (diag / "run-1.qemu.log").exists(),
                     listing(diag))
        self.c.check(f"L2 sees KVM with PV_UNHALT (feat={feat or 'none'})",
                     bool(feat) and bool(int(feat, 16) & (1 << PV_UNHALT_BIT)), f"feat={feat}")

    def pvspin(self):
        self.c.begin()
        if not PVSPIN_IMAGE.is_file():
            self.c.skip("pvspin under nested KVM", f"no image {PVSPIN_IMAGE} (run make)")
            return
        p, diag, jobs = self.s / "pvspin", self.s / "pvspin.diag", self.s / "pvspin.jobs"
        lines = [job("-", JOB_TIMEOUT_S, f"{L2_COMMON} -bios qboot.rom -m 128 -smp {n} -kernel @IMAGE@ -append 'test=smp'")
                 for n in PVSPIN_CPU_COUNTS]
        # A triple fault on an AP, with resets allowed (as run-qemu.sh sends
        # every L2 run): the restarted guest ends the run, and QEMU's reset
        # log, with the faulting CPU's IDT of limit 0, comes back.
        lines.append(job("-", JOB_TIMEOUT_S, L2_COMMON.replace(" -no-reboot", "")
                         + " -bios qboot.rom -m 128 -smp 2 -kernel @IMAGE@ -append 'test=smp,reset'"))
        reset_run = len(PVSPIN_CPU_COUNTS) + 1
        many = os.environ.get("NESTED_TEST_288") == "1"
        if many:
            lines.append(job("-", PVSPIN_MANY_CPUS_TIMEOUT_S, f"{L2_COMMON} -bios qboot.rom -m 256 "
                             f"-smp {PVSPIN_MANY_CPUS} -kernel @IMAGE@ -append 'test=smp'"))
        jobs.write_text("".join(lines))
        b = Bed(p, "--status-file", f"{p}.status", "--diag-dir", diag, "--image", PVSPIN_IMAGE, jobs)
        if b.rc != 0:
            self.c.check("pvspin batch under nested KVM", False, f"status {b.rc}", b.tail())
            return
        statuses = text(f"{p}.status").split()
        runs = pvlog.parse(pvlog.read_log(f"{p}.out"))
        cpu_counts = list(PVSPIN_CPU_COUNTS) + ([PVSPIN_MANY_CPUS] if many else [])
        for i, n in enumerate(cpu_counts):
            idx = i if n != PVSPIN_MANY_CPUS else reset_run
            st = statuses[idx] if idx < len(statuses) else "none"
            problems = smp_problems(runs, idx + 1, n)
            self.c.check(f"pvspin test=smp at {n} vCPUs under nested KVM",
                         st == str(DEBUG_EXIT_OK) and not problems, f"status {st}", problems)
        st = statuses[reset_run - 1] if len(statuses) >= reset_run else "none"
        problems = reset_problems(runs, reset_run)
        self.c.check("a triple fault in L2: the restarted guest keeps the plan (not ok ... machine reset), status 3",
                     st == str(RESET_EXIT_STATUS) and not problems, f"status {st}", problems)
        last = last_dumps(text(diag / f"run-{reset_run}.qemu.log"))
        self.c.check("a triple fault in L2: QEMU's reset log comes back with each vCPU's state of the moment",
                     re.match(r"RIP=[0-9a-f]{16} (EIP=0000fff0|RIP=[0-9a-f]{16} 00000000$)", last) is not None,
                     f"last dumps (CPU 0 ip, CPU 1 ip, CPU 1 IDT limit): {last or 'none'}; {listing(diag)}")
        # L1's KVM saw the shutdown: its kprobe names the vCPU thread.
        trace = text(diag / f"run-{reset_run}.l1-trace")
        self.c.check("a triple fault in L2: L1's trace names the vCPU that shut down (CPU 1/KVM)",
                     re.search("CPU 1/KVM.*svm_shutdown", trace) is not None, "|".join(trace.splitlines()[:3]))
        for line in b.err.splitlines():
            if re.match(f"^{re.escape(PROG)}: (L1 ready|run [0-9]+: status|L1 exited)", line):
                print(f"# {line}")


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def cpu_lines(err):
    lines = err.splitlines()
    i = next((k for k, line in enumerate(lines) if "L1 CPUs" in line), None)
    return " ".join(lines[i:i + 3]) if i is not None else "no 'L1 CPUs' lines"


def smp_problems(runs, idx, cpus):
    """What is wrong with the smp result of run IDX; '' when all is well."""
    if len(runs) < idx:
        return f"the output holds {len(runs)} runs"
    run = runs[idx - 1]
    bad = list(run.problems)
    smp = [r.status for r in run.results if r.description == "smp"]
    if smp != ["ok"]:
        bad.append(f"smp results: {smp}")
    online = [j.get("cpus_online") for j in run.json if j.get("test") == "smp"]
    if online != [cpus]:
        bad.append(f"cpus_online: {online}")
    if run.exit_status != status.PASS:
        bad.append(f"EXIT: STATUS={run.exit_status}")
    return "; ".join(bad)


def reset_problems(runs, idx):
    """What is wrong with a test=smp,reset run; '' when all is well."""
    if len(runs) < idx:
        return f"the output holds {len(runs)} runs"
    run = runs[idx - 1]
    bad = list(run.problems)
    got = [(r.description, r.status) for r in run.results]
    if got != [("smp", "ok"), ("reset", "fail")]:
        bad.append(f"results {got}")
    if not run.reset:
        bad.append('no "# RESET:" line')
    if run.exit_status != status.GUEST_CRASH:
        bad.append(f"EXIT: STATUS={run.exit_status}")
    return "; ".join(bad)


def last_dumps(log):
    """'IP0 IP1 IDTLIMIT1': the last dump's instruction pointer of vCPUs 0
    and 1 and the IDT limit of vCPU 1, from QEMU's cpu_reset log."""
    cpu, ip, idt = 0, {}, {}
    for line in log.splitlines():
        m = re.match(r"^CPU Reset \(CPU ([0-9]+)\)", line)
        if m:
            cpu = int(m.group(1))
        elif re.match(r"^(RIP|EIP)=", line):
            ip[cpu] = line.split()[0]
        elif line.startswith("IDT="):
            f = line.split()
            idt[cpu] = f[2] if len(f) > 2 else ""
    return " ".join((ip.get(0, ""), ip.get(1, ""), idt.get(1, ""))).strip()


def main(argv):
    if argv not in ([], ["--no-l1"]):
        print(f"tests/nested/run.py: unknown arguments: {' '.join(argv)}\n{__doc__.splitlines()[0]}", file=sys.stderr)
        return 2
    no_l1 = argv == ["--no-l1"]
    c = Cases()
    if not shutil.which("nasm"):
        c.check("nasm builds tests/nested/tiny.asm", False, "nasm missing (apt-get install nasm)")
        return c.summary()
    scratch = tempfile.mkdtemp(prefix="pvspin-nested-test.", dir=os.environ.get("TMPDIR") or "/tmp")
    try:
        t = Tests(c, scratch)
        t.setup()
        t.unit()
        t.usage()
        if not no_l1:
            t.no_apt_lists_offline()
            if t.prepare():
                t.l1_timeout()
                t.anchor_build_fails()
                t.broken_module("kvm-amd")          # after the host channels are up
                t.broken_module("virtio_console")   # before: reported over the console
                t.panic()
                t.l1_hang()
                t.l1_boot_stall()
                t.l0_qemu()
                t.l1_soft_lockup()
                t.pipe_closes()
                t.tiny_batch()
                t.pvspin()
            else:
                c.skip("L1 cases", "the cache could not be prepared")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        c.summary()
        return 130
    finally:
        if os.environ.get("NESTED_TEST_KEEP") == "1":
            print(f"# scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return c.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
