#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench_wake.py: tests of tools/bench/wake.py (make bench-wake) with a stand-in run-qemu.sh: nothing is booted.
"""tools/bench/wake.py run against a stand-in for run-qemu.sh (--run-qemu)
that prints canned KTAP and a pvqspinlock bench result per stack: the
boots' order, their command lines, the parsed figures and the summary,
a skipped stack (status 125), a failed boot, a wrong backend, a boot
without kicks, and bad usage.

Prints 'ok bench wake: NAME' or 'FAIL bench wake: NAME: WHY' per test and
ends with 'N passed, N failed, N skipped'. Status 0 when all passed, else 1.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import facts, hostinfo, status, unitrun  # noqa: E402

WAKE = REPO / "tools" / "bench" / "wake.py"

# The stand-in: what each --accel prints, the figures scaled by the seed
# (so a stack's median and spread over seeds 1..3 are known); WAKE_FAKE
# ("STACK=MODE,...") makes one stack skip, fail, time out, report another
# backend or send no kick; every call's argv is appended to WAKE_FAKE_CALLS.
FAKE_RUN_QEMU = r'''#!/usr/bin/env python3
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["WAKE_FAKE_CALLS"], "a") as f:
    f.write(json.dumps(argv) + "\n")
accel = argv[argv.index("--accel") + 1]
stack = {"tcg": "tcg", "xen": "xen", "nested": "nested"}[accel]
guest = dict(o.split("=", 1) for o in argv[argv.index("--") + 1:])
seed = int(guest["seed"])
modes = dict(m.split("=") for m in os.environ.get("WAKE_FAKE", "").split(",") if m)
mode = modes.get(stack, "ok")
print(f"run-qemu.sh: accel={accel} (fake), machine=q35, smp=4", file=sys.stderr)
if mode == "skip":
    if stack == "xen":
        print("xen.py: Xen cannot start: package xen-hypervisor-nosuch not known to apt-cache", file=sys.stderr)
        print("run-qemu.sh: --accel xen: Xen cannot start (the cause is above)", file=sys.stderr)
    else:
        print("nested-run.sh: bed failure: L1 not ready (KVM loaded) within 70 s of its start", file=sys.stderr)
    sys.exit(125)
if mode == "timeout":
    print("KTAP version 1\n1..1")
    print("run-qemu.sh: timeout after 64 s", file=sys.stderr)
    sys.exit(124)
base = {"tcg": (11000, 4000000, 4194304, 16777216, 16),
        "xen": (250000, 5000000, 8388608, 33554432, 30),
        "nested": (30000, 120000, 131072, 1048576, 50)}[stack]
kick, wake, p50, p99, kicks = (v * seed for v in base)
backend = {"tcg": "ipi", "xen": "xen", "nested": "kvm"}[stack]
if mode == "wrongbackend":
    backend = "off"
events = {"pv_kick_unlock": kicks, "pv_kick_wake": kicks}
if mode == "nokick":
    kick = wake = p50 = p99 = kicks = 0
    events = {}
result = {"test": "bench", "lock": "pvqspinlock", "cpus": int(argv[argv.index("--smp") + 1]),
          "duration_ns": 1000000000, "acquisitions": 100000 * seed, "throughput_per_s": 100000.0 * seed,
          "pv_backend": backend,
          "pv": {"halts": kicks + 1, "kicks_sent": kicks, "kicks_received": kicks, "hypercalls": 0,
                 "xen_polls": kicks if stack == "xen" else 0, "xen_sends": kicks if stack == "xen" else 0,
                 "kick_mean_ns": kick, "wake_mean_ns": wake,
                 "wake_latency_ns": {"p50": p50, "p99": p99, "max": p99}},
          "events": events}
l1 = {"kernel": "6.1.0-57-amd64", "package": "linux-image-6.1.0-57-amd64", "package_version": "6.1.192-3",
      "cpus": 2, "modules": {"kvm": {"halt_poll_ns": "200000"}}}
if stack == "xen":
    result = {"env": {"accel": "xen", "xen": {"version": "4.17.7-fake", "sched": "credit2", "cpus": 2}}, **result}
if stack == "nested":
    print("# l1: " + json.dumps(l1))
    result = {"env": {"accel": "nested", "l1": l1}, **result}
verdict = 0 if mode != "fail" else 1
print("KTAP version 1\n1..1\n# pvspin: test=bench seed=%d" % seed)
print("# result: " + json.dumps(result))
print("ok 1 bench:pvqspinlock" if verdict == 0 else "not ok 1 bench:pvqspinlock # 1 violation")
print("EXIT: STATUS=%d" % verdict)
if verdict and stack == "nested":
    print("run-qemu.sh: nested run 1 of 1: status 1", file=sys.stderr)
sys.exit(verdict)
'''


def load_wake():
    spec = importlib.util.spec_from_file_location("bench_wake_tool", WAKE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Fake:
    """A temporary directory with the stand-in, its calls file and an --out."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-wake-")
        self.dir = Path(self.tmp.name)
        self.script = self.dir / "run-qemu.sh"
        self.script.write_text(FAKE_RUN_QEMU)
        self.script.chmod(0o755)
        self.calls_file = self.dir / "calls"
        self.out = self.dir / "out"

    def run(self, *args, modes="", out=True):
        env = {**os.environ, "WAKE_FAKE_CALLS": str(self.calls_file), "WAKE_FAKE": modes}
        argv = [sys.executable, str(WAKE), "--run-qemu", str(self.script), *args]
        if out:
            argv += ["--out", str(self.out)]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    def calls(self):
        if not self.calls_file.exists():
            return []
        return [json.loads(l) for l in self.calls_file.read_text().splitlines()]

    def records(self):
        return [json.loads(l) for l in (self.out / "results.jsonl").read_text().splitlines()]

    def summary(self):
        return (self.out / "summary.md").read_text()

    def close(self):
        self.tmp.cleanup()


def accel_of(argv):
    return argv[argv.index("--accel") + 1]


class Order(unittest.TestCase):
    def test_rotation(self):
        """each repetition starts one stack later, so each stack takes each place once in 3"""
        wake = load_wake()
        stacks = ["a", "b", "c"]
        self.assertEqual([wake.order(stacks, r) for r in (1, 2, 3, 4)],
                         [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]])
        self.assertEqual(wake.order(["a"], 5), ["a"])


class Runs(unittest.TestCase):
    def setUp(self):
        self.fake = Fake()

    def tearDown(self):
        self.fake.close()

    def test_all_pass(self):
        """3 reps of every stack: interleaved and rotated, every figure parsed, medians and spreads, status 0"""
        p = self.fake.run("--reps", "3")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        self.assertEqual([accel_of(c) for c in self.fake.calls()],
                         ["tcg", "xen", "nested", "xen", "nested", "tcg", "nested", "tcg", "xen"])
        recs = self.fake.records()
        self.assertEqual(len(recs), 9)
        self.assertTrue(all(r["outcome"] == "ok" and r["status"] == 0 for r in recs), recs)
        nested2 = next(r for r in recs if r["stack"] == "nested" and r["rep"] == 2)
        self.assertEqual((nested2["backend"], nested2["place"], nested2["kicks_sent"], nested2["halts"],
                          nested2["kick_mean_ns"], nested2["wake_mean_ns"], nested2["wake_p50_ns"],
                          nested2["wake_p99_ns"], nested2["throughput_per_s"]),
                         ("kvm", 2, 100, 101, 60000, 240000, 262144, 2097152, 200000.0))
        self.assertTrue(Path(nested2["log"]).read_text().startswith("# l1: "))
        xen = next(r for r in recs if r["stack"] == "xen")
        self.assertEqual(xen["under"], "Xen 4.17.7-fake (credit2, 2 Xen CPUs)")
        self.assertIn("L1 Linux 6.1.0-57-amd64", nested2["under"])
        self.assertIn("kvm.halt_poll_ns=200000", nested2["under"])
        self.assertEqual(xen["xen_sends"], xen["kicks_sent"])
        self.assertEqual(recs[0]["machine"], hostinfo.describe())
        text = self.fake.summary()
        # kick mean 11, 22, 33 us; wake mean 4,000, 8,000, 12,000 us; kicks 16, 32, 48
        self.assertIn("| tcg | ipi | 3/3 | 22.0 [11.0-33.0] | 8,000 [4,000-12,000] | "
                      "8,389 [4,194-12,583] | 33,554 [16,777-50,332] | 32 [16-48] | 33 [17-49] | "
                      "200,000 [100,000-300,000] |", text)
        self.assertIn("| xen | xen | 3/3 | 500.0 [250.0-750.0] |", text)
        self.assertIn("| nested | kvm | 3/3 | 60.0 [30.0-90.0] |", text)
        self.assertIn(f"Machine: {hostinfo.describe()}.", text)
        self.assertIn(text, p.stdout)

    def test_command_lines(self):
        """every boot: the stack's run-qemu.sh options, --smp, and the same guest with its pv= and seed=REP"""
        p = self.fake.run("--reps", "2", "--smp", "6", "--duration-ms", "300", "--warmup-ms", "50",
                          "--timeout", "77", "--spin-threshold", "128")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        calls = self.fake.calls()
        self.assertEqual(len(calls), 6)
        stack_options = {"tcg": ["--accel", "tcg", "--pin", "0-1"],
                         "xen": ["--accel", "xen", "--xen-cpus", "2", "--pin", "0-1"],
                         "nested": ["--accel", "nested", "--l1-smp", "2"]}
        backend = {"tcg": "ipi", "xen": "xen", "nested": "kvm"}
        for i, argv in enumerate(calls):
            rep, accel = i // 3 + 1, accel_of(argv)
            self.assertEqual(argv, stack_options[accel] + ["--smp", "6", "--timeout", "77", "--",
                             "test=bench", "lock=pvqspinlock", "duration_ms=300", "warmup_ms=50",
                             "hold_ns=200", "think_ns=500", "pv_spin_threshold=128",
                             f"pv={backend[accel]}", f"seed={rep}"])
        self.fake.calls_file.unlink()
        self.fake.out = self.fake.dir / "out2"
        p = self.fake.run("--reps", "1", "--stacks", "xen")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        (argv,) = self.fake.calls()
        self.assertIn("pv_spin_threshold=64", argv)   # waiters halt within a short run, under Xen too

    def test_stacks_subset(self):
        """--stacks nested,tcg boots only those, in that order first"""
        p = self.fake.run("--reps", "2", "--stacks", "nested,tcg")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        self.assertEqual([accel_of(c) for c in self.fake.calls()], ["nested", "tcg", "tcg", "nested"])
        self.assertNotIn("| xen |", self.fake.summary())

    def test_skipped_stack(self):
        """a stack whose VMM cannot run (125) is skipped with run-qemu.sh's reason; the others run; status 1"""
        p = self.fake.run("--reps", "2", modes="xen=skip")
        self.assertEqual(p.returncode, status.TEST_FAILURE, p.stderr)
        self.assertEqual(len(self.fake.calls()), 6)
        recs = self.fake.records()
        xen = [r for r in recs if r["stack"] == "xen"]
        self.assertEqual([(r["outcome"], r["status"]) for r in xen], [("skipped", 125)] * 2)
        self.assertIn("xen.py: Xen cannot start: package xen-hypervisor-nosuch", xen[0]["reason"])
        self.assertNotIn("accel=", xen[0]["reason"])
        self.assertTrue(all(r["outcome"] == "ok" for r in recs if r["stack"] != "xen"))
        text = self.fake.summary()
        self.assertIn("| xen | xen | 0/2 | - | - |", text)
        self.assertIn("xen rep 1: skipped, status 125 (QEMU could not run): xen.py: Xen cannot start", text)

    def test_failed_boot(self):
        """a boot that fails is recorded with the guest's reason and its log kept; the rest go on; status 1"""
        p = self.fake.run("--reps", "2", modes="nested=fail")
        self.assertEqual(p.returncode, status.TEST_FAILURE, p.stderr)
        self.assertEqual(len(self.fake.calls()), 6)
        nested = [r for r in self.fake.records() if r["stack"] == "nested"]
        self.assertEqual([(r["outcome"], r["status"]) for r in nested], [("failed", 1)] * 2)
        self.assertEqual(nested[0]["reason"], "bench:pvqspinlock # 1 violation")
        self.assertIn("EXIT: STATUS=1", Path(nested[0]["log"]).read_text())
        self.assertIn("| nested | kvm | 0/2 |", self.fake.summary())
        self.assertIn("| tcg | ipi | 2/2 |", self.fake.summary())

    def test_timeout(self):
        """a boot that times out (124) is failed, named as a timeout"""
        p = self.fake.run("--reps", "1", "--stacks", "tcg", modes="tcg=timeout")
        self.assertEqual(p.returncode, status.TEST_FAILURE, p.stderr)
        (r,) = self.fake.records()
        self.assertEqual((r["outcome"], r["status"], r["meaning"]), ("failed", 124, "timeout"))
        self.assertIn("run-qemu.sh: timeout", r["reason"])

    def test_wrong_backend(self):
        """a result of another backend than the stack's is a failure, naming both"""
        p = self.fake.run("--reps", "1", "--stacks", "tcg", modes="tcg=wrongbackend")
        self.assertEqual(p.returncode, status.TEST_FAILURE, p.stderr)
        (r,) = self.fake.records()
        self.assertEqual(r["outcome"], "failed")
        self.assertIn("pv_backend off, not ipi", r["reason"])

    def test_no_kicks(self):
        """a boot without a kick passes, but has no kick or wake latency (no value, not 0)"""
        p = self.fake.run("--reps", "2", "--stacks", "tcg,nested", modes="tcg=nokick")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        tcg = [r for r in self.fake.records() if r["stack"] == "tcg"]
        self.assertEqual([(r["kick_mean_ns"], r["wake_mean_ns"], r["wake_p99_ns"], r["kicks_sent"])
                          for r in tcg], [(None, None, None, 0)] * 2)
        self.assertIn("| tcg | ipi | 2/2 | - | - | - | - | 0 [0-0] |", self.fake.summary())

    def test_default_out(self):
        """without --out: build/bench/wake-<timestamp>, build/bench/wake-latest points to it"""
        wake = load_wake()
        a = wake.parse_args(["--run-qemu", str(self.fake.script)])
        self.assertTrue(a.default_out)
        self.assertEqual(a.out.parent, REPO / "build" / "bench")
        self.assertRegex(a.out.name, r"^wake-\d{8}-\d{6}$")
        self.assertEqual(a.out.parent / wake.LATEST_NAME, REPO / "build" / "bench" / "wake-latest")


class Usage(unittest.TestCase):
    def setUp(self):
        self.fake = Fake()

    def tearDown(self):
        self.fake.close()

    def test_bad_usage(self):
        """bad usage: status 2, a message naming the option, nothing booted, nothing written"""
        cases = {("--stacks", "tcg,foo"): "'foo' is not a stack",
                 ("--stacks", "tcg,tcg"): "named twice",
                 ("--stacks", ""): "no stack",
                 ("--reps", "0"): "--reps '0'",
                 ("--reps", "x"): "--reps 'x'",
                 ("--smp",): "expected one argument",
                 ("--smp", "1"): "--smp '1'",
                 ("--smp", "256"): "--smp '256'",
                 ("--duration-ms", "0"): "--duration-ms '0'",
                 ("--spin-threshold", "0"): "--spin-threshold '0'",
                 ("--bogus",): "unrecognized arguments"}
        wrong = []
        for args, message in cases.items():
            p = self.fake.run(*args)
            if p.returncode != status.BAD_INPUT or message not in p.stderr:
                wrong.append(f"{' '.join(args)}: status {p.returncode}, stderr {p.stderr.strip()!r}")
        self.assertEqual(wrong, [])
        self.assertEqual(self.fake.calls(), [])
        self.assertFalse(self.fake.out.exists())

    def test_smp_bound(self):
        """--smp: at most the smallest vCPU limit of the stacks asked for (facts), status 2 naming that stack"""
        xen, tcg, kvm = facts.XEN_PVH_MAX_VCPUS, facts.TCG_MAX_VCPUS, facts.KVM_MAX_VCPUS
        refused = {(str(xen + 1),): f"--smp '{xen + 1}': the xen stack runs at most {xen} vCPUs "
                                    f"(a PVH domain under Xen); accepted: an integer 2..{xen}, "
                                    "or --stacks without xen",
                   (str(xen + 1), "--stacks", "xen"): f"the xen stack runs at most {xen} vCPUs",
                   (str(tcg + 1), "--stacks", "nested,tcg"): f"the tcg stack runs at most {tcg} vCPUs",
                   (str(kvm + 1), "--stacks", "nested"): f"the nested stack runs at most {kvm} vCPUs"}
        wrong = []
        for (smp, *stacks), message in refused.items():
            p = self.fake.run("--smp", smp, *stacks)
            if p.returncode != status.BAD_INPUT or message not in p.stderr:
                wrong.append(f"--smp {smp} {' '.join(stacks)}: status {p.returncode}, "
                             f"stderr {p.stderr.strip()!r}")
        self.assertEqual(wrong, [])
        self.assertEqual(self.fake.calls(), [])
        wake = load_wake()
        for smp, stacks in ((xen, "tcg,xen,nested"), (xen + 1, "tcg,nested"), (tcg, "tcg"),
                            (tcg + 1, "nested"), (kvm, "nested")):
            a = wake.parse_args(["--run-qemu", str(self.fake.script), "--out", str(self.fake.out),
                                 "--smp", str(smp), "--stacks", stacks])
            self.assertEqual(a.smp, smp, stacks)
        p = self.fake.run("--reps", "1", "--smp", str(xen + 1), "--stacks", "tcg,nested")
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        self.assertEqual([c[c.index("--smp") + 1] for c in self.fake.calls()], [str(xen + 1)] * 2)

    def test_out_not_empty(self):
        """--out: an existing directory with files in it is refused (status 2)"""
        self.fake.out.mkdir()
        (self.fake.out / "x").write_text("")
        p = self.fake.run("--reps", "1")
        self.assertEqual(p.returncode, status.BAD_INPUT)
        self.assertIn("not an empty directory", p.stderr)
        self.assertEqual(self.fake.calls(), [])

    def test_help_states_statuses(self):
        """--help names the stacks and the exit statuses"""
        p = self.fake.run("--help", out=False)
        self.assertEqual(p.returncode, 0)
        for words in ("tcg", "xen", "nested", "Exit status: 0 every boot asked for passed; 1", "2 bad usage"):
            self.assertIn(words, " ".join(p.stdout.split()))


if __name__ == "__main__":
    sys.exit(unitrun.main(sys.modules[__name__], "bench wake"))
