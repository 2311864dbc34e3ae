#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/peer/run.py: tests of the Linux peer: its console reader on recorded consoles, its options, its boots.
"""The Linux peer's tests (make test's "peer" group).

usage: tests/peer/run.py [--no-boots] [--no-nested]

Unit checks (seconds): the console reader on consoles recorded from the
peer (fixtures/), the option mapping, the agreement of the facts kept in
two places (locktorture's lock types, the end-of-run pattern, the exit
statuses). Boots (CASES below): the peer built once per machine (cached),
booted at 4 vCPUs under TCG (hypervisor bit on and off) and under nested
KVM. Ends with "N passed, N failed, N skipped".
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER = REPO / "tools" / "peer" / "linux"
sys.path[:0] = [str(REPO / "tools"), str(PEER)]
from pvspin import facts, runner, status  # noqa: E402
from pvspin.nested import report  # noqa: E402
import options  # noqa: E402
import build  # noqa: E402
import console as consolemod  # noqa: E402
import bench_boot  # noqa: E402  (the peer's, tools/peer/linux)
from console import Console  # noqa: E402

FIX = HERE / "fixtures"
RUN_QEMU = REPO / "run-qemu.sh"
LOG_DIR = REPO / "build" / "test-logs" / "peer"

counts = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    counts["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)


def skip(name, why):
    counts["skipped"] += 1
    print(f"SKIP {name}: {why}", flush=True)


def read(fixture, opts=(), smp=4, vmm=0):
    plan = options.parse(list(opts), smp)
    c = Console(plan)
    for line in (FIX / fixture).read_text(errors="replace").splitlines():
        c.feed(line)
    return c, c.finish(vmm, 30)


# -- the console reader, on recorded consoles ------------------------------------
def unit_console():
    c, v = read("pass-tcg-virt_spin_lock.console", ["duration_ms=5000"])
    r = v.result
    check("console: a pass under TCG is status 0", v.status == status.PASS, v.reason)
    check("console: TCG with the hypervisor bit is virt_spin_lock", r["lock_impl"] == "virt_spin_lock", r["lock_impl"])
    check("console: the window is bounded by periodic stats lines after the warm-up",
          r["duration_ns"] and 4.5e9 < r["duration_ns"] < 6e9 and r["warmup_ns"] >= 100e6,
          f"{r['duration_ns']} {r['warmup_ns']}")
    check("console: the rate is acquisitions over the window",
          abs(r["throughput_per_s"] - r["acquisitions"] * 1e9 / r["duration_ns"]) < 1, str(r))
    check("console: the last stats line gives totals and per-writer min/max",
          r["acquisitions_total"] >= r["acquisitions"] and r["per_cpu_min"] <= r["per_cpu_max"]
          and r["violations"] == 0, str(r))
    check("console: long holds counted from locktorture's delay lines", r["long_holds"] >= 1, str(r["long_holds"]))
    check("console: CPUID facts from the peer's init", r["cpuid"] == {
        "hypervisor": True, "signature": "TCGTCGTCGTCG", "leaf_40000001_eax": "0x00000000",
        "pv_unhalt": False}, str(r["cpuid"]))
    check("console: kernel version and CPUs online", r["kernel"] == "6.12.118" and r["vcpus_online"] == 4, str(r))

    _, v = read("pass-tcg-qspinlock.console")
    check("console: hypervisor bit off is native qspinlock", v.result["lock_impl"] == "qspinlock"
          and v.status == status.PASS, f"{v.result['lock_impl']} {v.status}")

    _, v = read("lock_busted-fail.console", ["lock=lock_busted"])
    check("console: lock_busted's Fail: 1 is a test failure (status 1)",
          v.status == status.TEST_FAILURE and v.result["violations"] == 1 and "Fail: 1" in v.reason, v.reason)
    for line, want in (("[    3.0] Writes:  Total: 100  Max/Min: 90/10 ???  Fail: 0 ", True),
                       ("[    3.0] Writes:  Total: 100  Max/Min: 30/20   Fail: 0 ", False)):
        c = Console(options.parse([], 4))
        c.feed(line)
        check(f"console: locktorture's ??? (max/2 > min) is imbalance={want}",
              c.writes and c.writes[-1].imbalance is want and c.writes[-1].total == 100)

    c, v = read("panic-no-init.console")
    check("console: a panic is a crash (status 3)", v.status == status.GUEST_CRASH and "Kernel panic" in v.reason,
          v.reason)
    check("console: a panic decides the run", c.decided)

    c, v = read("timeout-cut.console", vmm=status.TIMEOUT)
    check("console: a console cut by the timeout is status 124, TIMEOUT directive",
          v.status == status.TIMEOUT and v.directive == "TIMEOUT" and not c.decided, f"{v.status} {v.reason}")
    _, v = read("timeout-cut.console", vmm=0)
    check("console: a console that stops without an end is a crash (status 3)",
          v.status == status.GUEST_CRASH, f"{v.status} {v.reason}")

    plan = options.parse(["duration_ms=1000", "warmup_ms=100"], 64, lpj=10399996)
    c = Console(plan)
    for line in ("[    3.5] spin_lock-torture:--- Start of test: nwriters_stress=64",
                 "[    7.6] Writes:  Total: 1454316  Max/Min: 76120/0 ???  Fail: 0 ",
                 "[    7.8] spin_lock-torture: torture_shutdown task shutting down system",
                 "[    7.9] Writes:  Total: 1496401  Max/Min: 76121/1 ???  Fail: 0 ",
                 "[    7.9] spin_lock-torture:--- End of test: SUCCESS: acq_writer_lim=0"):
        c.feed(line)
    r = c.finish(0).result
    check("console: one periodic line: the final line closes the window (window_end final)",
          r["window_end"] == "final" and r["acquisitions"] == 1496401 - 1454316
          and r["duration_ns"] == 300_000_000, str({k: r[k] for k in ("window_end", "acquisitions", "duration_ns")}))
    check("console: the result carries the lpj the kernel was given", r["lpj"] == 10399996, str(r["lpj"]))
    check("options: lpj goes on the kernel command line",
          "lpj=10399996" in plan.kernel_cmdline().split() and "lpj=" not in options.parse([], 4).kernel_cmdline())
    check("options: shutdown_secs allows a second per 16 writers",
          plan.shutdown_secs == options.parse(["duration_ms=1000", "warmup_ms=100"], 16).shutdown_secs + 3)

    c = Console(options.parse([], 4))
    for line in (FIX / "pass-tcg-virt_spin_lock.console").read_text(errors="replace").splitlines()[:40] + \
            (FIX / "pass-tcg-virt_spin_lock.console").read_text(errors="replace").splitlines():
        c.feed(line)
    v = c.finish(0)
    check("console: a second 'Linux version' (the machine reset and Linux booted again) is a crash",
          v.status == status.GUEST_CRASH and "reset" in v.reason and c.decided, f"{v.status} {v.reason}")
    c = Console(options.parse([], 4))
    for line in (FIX / "pass-tcg-virt_spin_lock.console").read_text(errors="replace").splitlines()[:-40]:
        c.feed(line)
    v = c.finish(0)
    check("console: QEMU exiting 0 before the end without Linux powering off is a machine reset (status 3)",
          v.status == status.GUEST_CRASH and v.reason == consolemod.MACHINE_RESET_REASON, v.reason)
    check("tests: a nested run is tried once more only for a failure below the guest",
          below_guest(v.reason) != "" and below_guest("not ok 1 x # crash: Kernel panic") == ""
          and below_guest("", "nested-run.sh: bed failure: L1 stopped after 0 of 1 runs") != ""
          and below_guest("", "run-qemu.sh: nested bed reported 0 of 2 runs") != "")

    _, v = read("few-stats.console")
    check("console: too few stats lines for a window is a failure naming why",
          v.status == status.TEST_FAILURE and "no rate" in v.reason and v.result["throughput_per_s"] is None,
          f"{v.status} {v.reason}")

    c, v = read("bad-type.console")
    check("console: an unknown torture type is bad input (status 2)",
          v.status == status.BAD_INPUT and c.decided, f"{v.status} {v.reason}")

    _, v = read("pass-tcg-virt_spin_lock.console", ["pv=kvm"])
    check("console: pv=kvm where Linux ran no pvqspinlock is bad input",
          v.status == status.BAD_INPUT and "pv=kvm" in v.reason, v.reason)

    plan = options.parse([], 4)
    c = Console(plan)
    for line in ("[    0.1] Linux version 6.12.118 (x)", "[    0.2] kvm-guest: PV spinlocks enabled"):
        c.feed(line)
    check("console: kvm-guest's 'PV spinlocks enabled' is pvqspinlock",
          consolemod.lock_impl(None, c.kvm_line)[0] == "pvqspinlock")
    for line, impl in (("PV spinlocks disabled, no host support", "virt_spin_lock"),
                       ("PV spinlocks disabled with KVM_HINTS_REALTIME hints", "qspinlock"),
                       ("PV spinlocks disabled, single CPU", "qspinlock"),
                       ('PV spinlocks disabled, forced by "nopvspin" parameter', "qspinlock")):
        c = Console(plan)
        c.feed(f"[    0.2] kvm-guest: {line}")
        got = consolemod.lock_impl({"hypervisor": True, "signature": "KVMKVMKVM..."}, c.kvm_line)[0]
        check(f"console: '{line}' is {impl}", got == impl, got)
    check("console: no CPUID line and no kvm line: the lock is unknown, never assumed",
          consolemod.lock_impl(None, None)[0] is None)

    ere = re.compile(consolemod.DECIDED_ERE)
    # One sample of every pattern after which the verdict is known (a test
    # below fails when a pattern has none), with the status it gives.
    decided_lines = {
        "[    3.851509] spin_lock-torture:--- End of test: SUCCESS: acq_writer_lim=0": None,
        "[    3.851509] lock_busted-torture:--- End of test: FAILURE: acq_writer_lim=0": None,
        "[    1.407495] Kernel panic - not syncing: Requested init /missing failed (error -2).": status.GUEST_CRASH,
        "[    2.000000] Oops: general protection fault, probably for non-canonical address": status.GUEST_CRASH,
        "[    2.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008": status.GUEST_CRASH,
        "[    2.000000] general protection fault: 0000 [#1] PREEMPT SMP": status.GUEST_CRASH,
        "[    2.000000] kernel BUG at kernel/locking/locktorture.c:100!": status.GUEST_CRASH,
        '[    0.847319] lock-torture: invalid torture type: "no_such_lock"': status.BAD_INPUT,
        "[    3.854351] reboot: Power down": None,
        "[   30.000000] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [lock_torture_wr:64]": status.LOCKUP,
        "[   30.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:": status.LOCKUP,
        "[   30.000000] rcu: INFO: rcu_preempt self-detected stall on CPU": status.LOCKUP,
        "[   30.000000] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: {": status.LOCKUP,
        "[   30.000000] NMI watchdog: Watchdog detected hard LOCKUP on cpu 3": status.LOCKUP,
        "[   30.000000] INFO: task lock_torture_wr:64 blocked for more than 120 seconds.": status.LOCKUP,
        "[    1.000000] pvspin-peer: /locktorture.ko failed: error -22; powering off": status.GUEST_CRASH,
    }
    for pattern in consolemod.LOCKUP_ERES + consolemod.LOCKUP_ANYWHERE_ERES + consolemod.CRASH_ERES:
        check(f"end pattern: a sample line for '{pattern}'",
              any(re.search(pattern, line) for line in decided_lines))
    grep = subprocess.run(["grep", "-E", "-e", consolemod.DECIDED_ERE], input="\n".join(decided_lines) + "\n",
                          capture_output=True, text=True)
    check("end pattern: grep -E -e matches every sample (as l1-init.sh runs it)",
          grep.stdout.splitlines() == list(decided_lines), grep.stderr or grep.stdout)
    for line, st in decided_lines.items():
        c = Console(plan)
        c.feed(line)
        got = c.finish(0).status if st is not None else st
        check(f"end pattern and reader agree: {line[15:60]}", bool(ere.search(line)) and c.decided and got == st,
              f"ere={bool(ere.search(line))} decided={c.decided} status={got}")
    for line in ("[    1.884614] Writes:  Total: 1399686  Max/Min: 405147/293730   Fail: 0 ",
                 "[    0.9] input: Power Button as /devices/LNXSYSTM:00/LNXPWRBN:00/input/input0"):
        c = Console(plan)
        c.feed(line)
        check(f"end pattern and reader agree: not decided by {line[15:50]}",
              not ere.search(line) and not c.decided)


# -- the options -----------------------------------------------------------------
def unit_options():
    p = options.parse(["lock=spin_lock", "duration_ms=5000", "cpus=2", "warmup_ms=0"], 4)
    cl = p.kernel_cmdline()
    for want in ("locktorture.torture_type=spin_lock", "locktorture.nwriters_stress=2",
                 "locktorture.shutdown_secs=8", "locktorture.stutter=0", "locktorture.shuffle_interval=0",
                 "locktorture.rt_boost=0", "locktorture.stat_interval=1", "locktorture.long_hold=100"):
        check(f"options: the kernel command line has {want}", want in cl.split(), cl)
    check("options: cpus=0 (the default) is one writer per vCPU",
          "locktorture.nwriters_stress=6" in options.parse([], 6).kernel_cmdline().split())
    check("options: pv=off is nopvspin", "nopvspin" in options.parse(["pv=off"], 4).kernel_cmdline().split())
    check("options: long_hold_ms=0 turns long holds off",
          "locktorture.long_hold=0" in options.parse(["long_hold_ms=0"], 4).kernel_cmdline().split())
    for bad, words in (("a digit that is not 0-9", ["duration_ms=\u00b2"]), ("unknown lock", ["lock=spinlock"]), ("a lock list", ["lock=spin_lock,mutex_lock"]),
                       ("no counterpart", ["hold_ns=5"]), ("pvspin's long_hold", ["long_hold=4"]),
                       ("unknown key", ["frobnicate=1"]), ("a missing value", ["duration_ms="]),
                       ("not key=value", ["lock"]), ("cpus above the vCPUs", ["cpus=5"]),
                       ("a test other than torture", ["test=smp"]), ("pv=ipi", ["pv=ipi"]),
                       ("an option twice", ["seed=1", "seed=2"]), ("duration_ms=0", ["duration_ms=0"])):
        try:
            options.parse(words, 4)
            check(f"options: {bad} is bad input", False, "accepted")
        except options.BadOption as e:
            check(f"options: {bad} is bad input", "accepted" in str(e) or "twice" in str(e), str(e))


# -- facts kept twice --------------------------------------------------------------
def unit_agreement():
    cache = build.cache_root(None)
    src = sorted((cache / "src").glob("*/linux/kernel/locking/locktorture.c"))
    if not src:
        skip("options: LOCK_TYPES match the built locktorture's torture_ops[]", "no peer source unpacked yet")
    else:
        text = src[-1].read_text()
        ops = re.search(r"torture_ops\[\] = \{(.*?)\};", text, re.S).group(1)
        names = {re.search(r'\.name\s*=\s*"([^"]+)"', text[text.find(f"struct lock_torture_ops {o} ="):]).group(1)
                 for o in re.findall(r"&(\w+)", ops)}
        config = next(cache.glob("*/config"), None)
        if config and "CONFIG_RT_MUTEXES=y" not in config.read_text():
            names.discard("rtmutex_lock")
        check("options: LOCK_TYPES are the built locktorture's torture_ops[]",
              names == set(options.LOCK_TYPES), f"source {sorted(names)} vs {sorted(options.LOCK_TYPES)}")
    exit_h = (REPO / "kernel" / "exit.h").read_text()
    pairs = (("PASS", status.PASS), ("TEST_FAILURE", status.TEST_FAILURE), ("BAD_INPUT", status.BAD_INPUT),
             ("GUEST_CRASH", status.GUEST_CRASH), ("LOCKUP", status.LOCKUP))
    check("status: the guest's statuses are kernel/exit.h's", all(f"EXIT_{n} = {v}" in exit_h for n, v in pairs))
    rq = RUN_QEMU.read_text()
    check("status: run-qemu.sh takes its statuses from tools/facts.sh and writes none of its own",
          '. "$TOP/tools/facts.sh"' in rq and not re.search(r"^\s*(readonly\s+)?ST_[A-Z_]+=", rq, re.M))
    l1_init = (REPO / "tools" / "nested" / "l1-init.sh").read_text()
    check("the serial-copy token is the same in run-qemu.sh and the L1 init",
          "logfile=@SERIAL_COPY@" in rq and "*@SERIAL_COPY@*)" in l1_init)
    fragment = (PEER / "peer.config").read_text()
    check("vCPU limits: the peer's bench_boot.py and NR_CPUS are the library's",
          bench_boot.MAX_VCPUS == {"tcg": facts.TCG_MAX_VCPUS, "kvm": facts.KVM_MAX_VCPUS}
          and f"CONFIG_NR_CPUS={facts.KVM_MAX_VCPUS}" in fragment, str(bench_boot.MAX_VCPUS))


# -- the runner's translation of the nested bed's stream ------------------------
def unit_translate():
    base = (FIX / "pass-tcg-virt_spin_lock.console").read_text(errors="replace")
    tmp = LOG_DIR / "translate"
    tmp.mkdir(parents=True, exist_ok=True)
    stream = tmp / "stream.log"
    stream.write_text("a line of L1 before any run\n# l1: {\"kernel\":\"x\"}\n" + base
                      + '# l1: {"kernel":"x"}\n')
    (tmp / "plans").write_text("4 duration_ms=5000\n4 duration_ms=5000\n")
    (tmp / "status").write_text("0\n1\n")

    def translate(*extra):
        return subprocess.run([sys.executable, str(PEER / "run.py"), "translate", *extra, str(stream)],
                              capture_output=True, text=True)

    p = translate("--plans", str(tmp / "plans"), "--status-file", str(tmp / "status"))
    docs = p.stdout.count("KTAP version 1")
    check("translate: lines before the first '# l1:' are no run; each run its document",
          docs == 2 and "a line of L1" not in p.stdout, f"{docs} documents")
    check("translate: a run whose QEMU printed nothing and failed is status 125, not ok ERROR",
          p.returncode == status.NO_VMM and "# ERROR not run: QEMU could not run" in p.stdout,
          f"status {p.returncode}")
    (tmp / "plans").write_text("4 duration_ms=5000\n")
    p = translate("--plans", str(tmp / "plans"), "--status-file", str(tmp / "status"))
    check("translate: runs and plans that do not agree are status 125",
          p.returncode == status.NO_VMM and "must agree" in p.stderr, p.stderr[-200:])


# -- boots -------------------------------------------------------------------------
# L1's KVM shadows L2's page tables for the peer (kvm_amd.npt=0): with nested
# paging under QEMU 7.2's TCG, L2 Linux's boot resets or hangs now and then
# at its PCI set-up, below the guest (docs/notes/nested-failures-below-the-guest.md).
L1_PARAMS = ["--l1-param", "kvm_amd.npt=0"]
# (name, run-qemu.sh options, guest options, expected status, {result field: value})
CASES = [
    ("TCG, hypervisor bit on: virt_spin_lock", ["--accel", "tcg", "--smp", "4"],
     ["lock=spin_lock", "duration_ms=2000"], status.PASS, {"lock_impl": "virt_spin_lock", "violations": 0}),
    ("TCG, hypervisor bit off: native qspinlock", ["--accel", "tcg", "--smp", "4", "--hypervisor-bit", "off"],
     ["lock=spin_lock", "duration_ms=2000"], status.PASS, {"lock_impl": "qspinlock", "violations": 0}),
    ("TCG: lock_busted fails (status 1)", ["--accel", "tcg", "--smp", "4"],
     ["lock=lock_busted", "duration_ms=1000"], status.TEST_FAILURE, {"violations": 1}),
    ("TCG: a bad guest option is status 2 before any boot", ["--accel", "tcg"],
     ["lock=spinlock"], status.BAD_INPUT, None),
    ("TCG: the timeout ends the run with 124", ["--accel", "tcg", "--smp", "4", "--timeout", "3"],
     ["duration_ms=60000"], status.TIMEOUT, None),
    ("nested KVM: pvqspinlock", ["--accel", "nested", "--smp", "4", *L1_PARAMS],
     ["lock=spin_lock", "duration_ms=3000"], status.PASS, {"lock_impl": "pvqspinlock", "violations": 0}),
]
# One L1 boot, two L2 runs: (run-qemu.sh options and guest options of each
# batch line, its expected verdict, {result field: value}); the batch's
# status is the first run's that did not pass.
NESTED_BATCH = [
    ("--smp 4 -- lock=spin_lock duration_ms=2000 long_hold_ms=0", status.PASS,
     {"lock_impl": "pvqspinlock", "violations": 0, "long_hold_ms": 0}),
    ("--smp 2 --pin 0 -- lock=lock_busted duration_ms=1000", status.TEST_FAILURE, {"violations": 1, "vcpus": 2}),
]
# run-qemu.sh options that are bad input with --guest linux
BAD_RUNNER_OPTIONS = [["--boot", "pvh"], ["--iso"], ["--exit", "debug-exit"], ["--gdb"],
                      ["--machine", "microvm"], ["--hypervisor-bit", "maybe"], ["--guest", "windows"],
                      ["--guest"], ["--hypervisor-bit"]]


def l1_params_problems(result):
    """L1_PARAMS as the result's L1 has them (its env names kvm's and
    kvm_amd's parameters): [] when every one reached L1."""
    modules = result.get("env", {}).get("l1", {}).get("modules", {})
    problems = []
    for param in L1_PARAMS[1::2]:
        name, value = param.split("=", 1)
        module, key = name.split(".", 1)
        got = modules.get(module, {}).get(key)
        # Y/N for booleans; KVM takes 0/1 for them on the command line
        if got not in (value, {"0": "N", "1": "Y"}.get(value)):
            problems.append(f"L1's {name}={got!r}: --l1-param {param} did not reach L1")
    return problems


def below_guest(stdout, stderr=""):
    """Why a failed nested run failed below the guest, or '': the bed itself
    failed (L1 panicked or stalled) or the machine reset without Linux
    asking or reporting it. (A Linux guest's RIPs share the kernel half with
    L1's, so L1's trace cannot tell its vCPU running L1's code; the bed
    leaves them unnamed: run-qemu.sh passes --guest-kernel-half.)"""
    reason = report.bed_failure(stderr)
    if reason:
        return "the nested bed failed: " + reason[:160]
    m = re.search(r"^run-qemu\.sh: nested bed reported \d+ of \d+ runs$", stderr, re.M)
    if m:
        return "the bed lost runs: " + m.group(0)
    if consolemod.MACHINE_RESET_REASON in stdout:
        return "the L2 machine reset with no word from Linux"
    return ""


def run_nested_once_more(argv, log, diag):
    """Run ARGV; under the nested bed, once more when the first run failed
    below the guest (docs/nested.md), saying so; a repeat still fails."""
    nested = "nested" in argv
    if nested:
        argv = argv[:argv.index("--accel")] + ["--diag-dir", str(diag)] + argv[argv.index("--accel"):]
    p = subprocess.run(argv, capture_output=True, text=True)
    why = below_guest(p.stdout, p.stderr) if nested and p.returncode not in (0, 1, 2) else ""
    if why:
        log.with_suffix(".first.log").write_text(p.stdout + "\n--- stderr\n" + p.stderr)
        print(f"note: {log.stem}: first run failed below the guest ({why}); its log "
              f"{log.with_suffix('.first.log')}, diagnostics {diag}; running it once more", flush=True)
        p = subprocess.run(argv, capture_output=True, text=True)
    return p


def boot(name, args, guest, want_status, want_fields):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".log")
    t0 = time.monotonic()
    p = run_nested_once_more([str(RUN_QEMU), "--guest", "linux", *args, "--", *guest], log,
                             log.with_suffix(".diag"))
    log.write_text(p.stdout + "\n--- stderr\n" + p.stderr)
    got = p.returncode
    results = [json.loads(line[len("# result: "):]) for line in p.stdout.splitlines()
               if line.startswith("# result: ")]
    problems = []
    if got != want_status:
        problems.append(f"status {got}, want {want_status}")
    if want_fields is not None:
        if len(results) != 1:
            problems.append(f"{len(results)} results")
        else:
            r = results[0]
            for k, v in want_fields.items():
                if r.get(k) != v:
                    problems.append(f"{k}={r.get(k)!r}, want {v!r}")
            if want_status == status.PASS and not (r.get("throughput_per_s") or 0) > 0:
                problems.append("no positive throughput_per_s")
            if want_status == status.PASS and "--smp" in args and not r.get("lpj"):
                problems.append("no lpj from the 1-vCPU probe")
            if r.get("guest") != "linux":
                problems.append("no guest=linux")
            if "--l1-param" in args:
                problems += l1_params_problems(r)
    lines = p.stdout.splitlines()
    if lines and runner.is_l1_line(lines[0]):        # a nested run names its L1 first
        lines = lines[1:]
        if "--accel" in args and "nested" in args and '"l1":' not in p.stdout.split("# result: ", 1)[-1]:
            problems.append("a nested result without its L1 in env")
    if len(lines) < 2 or lines[0] != "KTAP version 1" or lines[1] != "1..1":
        problems.append("no KTAP header")
    if sum(1 for line in lines if re.match(r"^(not )?ok 1 ", line)) != 1:
        problems.append("not one result line")
    check(f"boot: {name} ({time.monotonic() - t0:.0f} s)", not problems,
          "; ".join(problems) + f" (log {log}; stderr ends: "
          + " | ".join(p.stderr.strip().splitlines()[-4:]) + ")")


def nested_batch():
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    batch = LOG_DIR / "nested-batch.txt"
    batch.write_text("".join(line + "\n" for line, _, _ in NESTED_BATCH))
    t0 = time.monotonic()
    p = run_nested_once_more([str(RUN_QEMU), "--guest", "linux", "--accel", "nested", *L1_PARAMS, "--batch", str(batch)],
                             LOG_DIR / "nested-batch.log", LOG_DIR / "nested-batch.diag")
    (LOG_DIR / "nested-batch.log").write_text(p.stdout + "\n--- stderr\n" + p.stderr)
    problems = []
    want = next((st for _, st, _ in NESTED_BATCH if st != status.PASS), status.PASS)
    if p.returncode != want:
        problems.append(f"status {p.returncode}, want {want}")
    said_statuses = runner.nested_statuses(p.stderr)
    for i, (_, st, _) in enumerate(NESTED_BATCH, 1):
        said = said_statuses.get(i) == st
        if said != (st != status.PASS):
            problems.append(f"run {i}'s status line on stderr: {'there' if said else 'missing'}")
    docs = p.stdout.split("KTAP version 1\n")[1:]
    if len(docs) != len(NESTED_BATCH):
        problems.append(f"{len(docs)} KTAP documents, want {len(NESTED_BATCH)}")
    for i, (doc, (line, st, fields)) in enumerate(zip(docs, NESTED_BATCH), 1):
        exits = re.findall(r"^EXIT: STATUS=(\d+)$", doc, re.M)
        results = [json.loads(x) for x in re.findall(r"^# result: (\{.*\})$", doc, re.M)]
        if exits != [str(st)]:
            problems.append(f"run {i}: EXIT {exits}, want {st}")
        if len(results) != 1:
            problems.append(f"run {i}: {len(results)} results")
            continue
        for k, v in fields.items():
            if results[0].get(k) != v:
                problems.append(f"run {i}: {k}={results[0].get(k)!r}, want {v!r}")
        if results[0].get("env", {}).get("accel") != "nested":
            problems.append(f"run {i}: no nested env")
        problems += [f"run {i}: {p}" for p in l1_params_problems(results[0])]
    check(f"boot: nested KVM batch, one L1 boot: a pass and lock_busted ({time.monotonic() - t0:.0f} s)",
          not problems, "; ".join(problems) + f" (log {LOG_DIR / 'nested-batch.log'}; stderr ends: "
          + " | ".join(p.stderr.strip().splitlines()[-4:]) + ")")


def main(argv):
    boots = "--no-boots" not in argv
    nested = "--no-nested" not in argv
    unit_console()
    unit_options()
    unit_agreement()
    unit_translate()
    for bad in (["--smp", "256"], ["--smp", "x"], ["--reps", "0"], ["--accel", "nested"], ["--smp"]):
        p = subprocess.run([sys.executable, str(PEER / "bench_boot.py"), *bad], capture_output=True, text=True)
        check(f"bench_boot.py {' '.join(bad)} is status 2", p.returncode == status.BAD_INPUT,
              f"status {p.returncode}: {p.stderr.strip()[-200:]}")
    p = subprocess.run([str(RUN_QEMU), "--guest", "linux", "--dry-run"], capture_output=True, text=True,
                       env={**os.environ, "PVSPIN_PEER_IMAGE": "/nonexistent/bzImage"})
    check("run-qemu.sh --guest linux with PVSPIN_PEER_IMAGE naming no file is status 2",
          p.returncode == status.BAD_INPUT, f"status {p.returncode}: {p.stderr.strip()[-200:]}")
    cached = subprocess.run([sys.executable, str(PEER / "build.py"), "--cached"]).returncode == 0
    if not cached:
        skip("run-qemu.sh --guest linux boots the image PVSPIN_PEER_IMAGE names", "the peer is not built yet")
    else:
        image = subprocess.run([sys.executable, str(PEER / "build.py")], capture_output=True,
                               text=True).stdout.strip()
        named = LOG_DIR / "named-bzImage"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        named.write_bytes(Path(image).read_bytes())
        p = subprocess.run([str(RUN_QEMU), "--guest", "linux", "--dry-run"], capture_output=True, text=True,
                           env={**os.environ, "PVSPIN_PEER_IMAGE": str(named)})
        check("run-qemu.sh --guest linux boots the image PVSPIN_PEER_IMAGE names",
              p.returncode == 0 and f"-kernel {named} " in p.stdout, p.stdout[-300:] + p.stderr[-300:])
        check("the peer keeps QEMU's default translation buffer (the tb-size cap is pvspin's)",
              p.returncode == 0 and "thread=multi " in p.stdout.replace("\\,", ",")
              and "tb-size" not in p.stdout, p.stdout[-300:])
    if cached:
        p = subprocess.run([str(RUN_QEMU), "--guest", "linux", "--dry-run", "--qemu", "-S"],
                           capture_output=True, text=True)
        check("the lpj probe is a plain boot: the run's extra QEMU arguments (-S) are not its",
              p.returncode == 0 and " lpj=" in p.stdout, p.stdout[-300:] + p.stderr[-300:])
    batch = LOG_DIR / "mixed-batch.txt"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    batch.write_text("--smp 2 -- lock=spin_lock\n--guest pvspin --smp 2 -- test=smp\n")
    p = subprocess.run([str(RUN_QEMU), "--guest", "linux", "--accel", "nested", "--batch", str(batch), "--dry-run"],
                       capture_output=True, text=True)
    check("run-qemu.sh --batch: a line naming another guest than the batch's is status 2",
          p.returncode == status.BAD_INPUT and "one guest per batch" in p.stderr, p.stderr[-300:])
    for bad in BAD_RUNNER_OPTIONS:
        p = subprocess.run([str(RUN_QEMU), "--guest", "linux", *bad] if bad[0] != "--guest"
                           else [str(RUN_QEMU), *bad], capture_output=True, text=True)
        check(f"run-qemu.sh --guest linux {' '.join(bad)} is status 2", p.returncode == status.BAD_INPUT,
              f"status {p.returncode}: {p.stderr.strip()[-200:]}")
    if boots:
        b = subprocess.run([sys.executable, str(PEER / "build.py")], capture_output=True, text=True)
        check("the peer builds (or is cached)", b.returncode == 0, b.stderr[-2000:])
        if b.returncode == 0:
            for name, args, guest, st, fields in CASES:
                if "nested" in args and not nested:
                    skip(f"boot: {name}", "--no-nested")
                    continue
                boot(name, args, guest, st, fields)
            if nested:
                nested_batch()
            else:
                skip("boot: nested KVM batch", "--no-nested")
    else:
        for name, *_ in CASES:
            skip(f"boot: {name}", "--no-boots")
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
