#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# pvspin_unit.py: unit tests of the host tools' shared library (tools/pvspin) and of tools/facts.sh.
"""Host-only unit tests of tools/pvspin: no VM is booted.

Prints 'ok pvspin unit: NAME' or 'FAIL pvspin unit: NAME: WHY' per test and
ends with 'N passed, N failed'. Status 0 when all passed, else 1.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from pvspin import counts, deps, facts, hostinfo, procs, runner, stats, status, unitrun, xen_stall  # noqa: E402

RUN_QEMU = REPO / "run-qemu.sh"
NESTED_RUN = REPO / "tools" / "nested" / "nested-run.sh"


def gone(pid):
    """True once PID is no process any more, or only a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def wait_gone(pid, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


class Status(unittest.TestCase):
    def test_guest_statuses(self):
        """the guest's statuses are kernel/exit.h's enum, the host's own 124 and 125"""
        enum = re.search(r"enum exit_status \{(.*?)\};", (REPO / "kernel" / "exit.h").read_text(), re.S)
        guest = {n: int(v) for n, v in re.findall(r"EXIT_([A-Z_]+)\s*=\s*(\d+)", enum.group(1))}
        self.assertEqual((status.PASS, status.TEST_FAILURE, status.BAD_INPUT, status.GUEST_CRASH,
                          status.LOCKUP),
                         (guest["PASS"], guest["TEST_FAILURE"], guest["BAD_INPUT"],
                          guest["GUEST_CRASH"], guest["LOCKUP"]))
        self.assertEqual((status.TIMEOUT, status.NO_VMM), (124, 125))

    def test_debug_exit(self):
        """isa-debug-exit's status is the one run-qemu.sh maps back to the guest's verdict"""
        self.assertEqual([status.debug_exit(v) for v in (0, 3)], [1, 7])
        self.assertIn("$(( (n << 1) | 1 ))", (REPO / "run-qemu.sh").read_text())

    def test_meaning(self):
        """every status has its meaning, and no two share one"""
        every = (status.PASS, status.TEST_FAILURE, status.BAD_INPUT, status.GUEST_CRASH,
                 status.LOCKUP, status.TIMEOUT, status.NO_VMM)
        self.assertEqual(sorted(status.MEANING), sorted(every))
        self.assertEqual(len(set(status.MEANING.values())), len(every))


class Stats(unittest.TestCase):
    def test_summary(self):
        """median, min, max and quartiles; one value; none"""
        self.assertEqual(stats.summary([3.0, 1.0, 2.0]), stats.Summary(3, 2.0, 1.0, 3.0, 1.5, 2.5))
        self.assertEqual(stats.summary([7]), stats.Summary(1, 7, 7, 7, 7, 7))
        self.assertIsNone(stats.summary([]))
        self.assertEqual(stats.summary([4, 1, 3, 2]).median, 2.5)
        self.assertEqual(stats.summary([1, 2, 3]).as_dict(),
                         {"n": 3, "median": 2, "min": 1, "max": 3, "q1": 1.5, "q3": 2.5})

    def test_median_fmt(self):
        """median of none is None; fmt gives 'median [min-max]', one value alone, '-' for none"""
        self.assertIsNone(stats.median([]))
        self.assertEqual(stats.median(iter([5, 1, 3])), 3)
        self.assertEqual(stats.fmt(stats.summary([3.0, 1.0, 2.0]), "{:.1f}"), "2.0 [1.0-3.0]")
        self.assertEqual(stats.fmt(stats.summary([2])), "2")
        self.assertEqual(stats.fmt(None), "-")


class Procs(unittest.TestCase):
    # The leader starts a child that ignores SIGTERM and says its pid, then waits.
    TREE = ("import os, signal, subprocess, sys, time\n"
            "c = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)'],"
            " stdout=subprocess.PIPE)\n"
            "c.stdout.readline()\n"
            "print(c.pid, flush=True)\n"
            "time.sleep(60)\n")

    def start_tree(self, out):
        group = procs.Group([sys.executable, "-c", self.TREE], stdout=out)
        deadline = time.monotonic() + 10
        while not Path(out.name).read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(Path(out.name).read_text().split()[0])
        return group, child

    def test_stop_tree(self):
        """stop() ends the leader and a child that ignores SIGTERM (after the grace)"""
        with tempfile.NamedTemporaryFile("w+") as out:
            group, child = self.start_tree(out)
            t0 = time.monotonic()
            group.stop(grace=1)
            self.assertIsNotNone(group.poll())
            self.assertTrue(wait_gone(child), f"child {child} survived the group's stop")
            self.assertLess(time.monotonic() - t0, 8)
            group.stop(grace=1)         # again, after the end: no error

    def test_wait_timeout(self):
        """wait(timeout) stops the whole group and gives status.TIMEOUT"""
        with tempfile.NamedTemporaryFile("w+") as out:
            group, child = self.start_tree(out)
            self.assertEqual(group.wait(0.2), status.TIMEOUT)
            self.assertTrue(wait_gone(child), f"child {child} survived the timeout")

    def test_run_status(self):
        """run() gives the child's own status"""
        self.assertEqual(procs.run([sys.executable, "-c", "raise SystemExit(3)"], timeout=30), 3)


class Deps(unittest.TestCase):
    def test_table(self):
        """tools/deps.txt reads as purposes of (tool, package); an unknown purpose names the known"""
        table = deps.table()
        self.assertTrue(table)
        for purpose, rows in table.items():
            self.assertTrue(rows, purpose)
            for tool, package in rows:
                self.assertTrue(tool and package, (purpose, tool, package))
        with self.assertRaises(KeyError) as e:
            deps.need("no-such-purpose")
        self.assertIn(sorted(table)[0], str(e.exception))
        self.assertEqual(deps.install_line(["a", "b"]),
                         "apt-get install -y --no-install-recommends a b")

    def test_missing(self):
        """missing() lists what is absent once, with its package"""
        purpose = next(iter(deps.table()))
        tools, packages = deps.missing(purpose, purpose)
        self.assertEqual(len(tools), len(set(tools)))
        self.assertTrue(all(not deps.present(t) for t in tools))
        self.assertLessEqual(len(packages), len(tools))


class Facts(unittest.TestCase):
    def test_locks(self):
        """the guest's lock names are read from lock/'s registry, in its order; broken is hidden"""
        self.assertTrue(facts.LOCKS)
        for name in ("tas", "ticket", "qspinlock", "pvqspinlock"):
            self.assertIn(name, facts.LOCKS)
        self.assertLess(facts.LOCKS.index("qspinlock"), facts.LOCKS.index("pvqspinlock"))
        self.assertIn("broken", facts.HIDDEN_LOCKS)
        self.assertFalse(set(facts.LOCKS) & set(facts.HIDDEN_LOCKS))
        # Each is defined in lock/, named by a string or by LOCK_TYPE_DEFINE(name, ...).
        text = "".join(p.read_text(errors="replace") for p in (REPO / "lock").rglob("*.[ch]"))
        for name in facts.LOCKS + facts.HIDDEN_LOCKS:
            self.assertRegex(text, rf'\.name\s*=\s*"{name}"|\bLOCK_TYPE_\w*\(\s*{name}\s*,',
                             f"lock/ defines no lock type {name}")

    def test_pv_choices(self):
        """the guest's pv= values are read from kernel/, one for each PV_ member of enum pv_choice"""
        for name in ("auto", "kvm", "ipi", "off", "hyperv"):
            self.assertIn(name, facts.PV_CHOICES)
        text = "".join(p.read_text(errors="replace") for p in (REPO / "kernel").rglob("*.[ch]"))
        enum = re.search(r"\benum\s+pv_choice\s*\{(.*?)\}", text, re.S)
        self.assertTrue(enum, "kernel/ has no enum pv_choice")
        members = re.findall(r"\bPV_(\w+)", enum.group(1))
        self.assertEqual([m.lower() for m in members[:len(facts.PV_CHOICES)]], list(facts.PV_CHOICES))

    def test_cpulist(self):
        """CPU lists parse, print back, and bad ones name what is accepted"""
        self.assertEqual(facts.parse_cpulist("0-1,4,6-7"), (0, 1, 4, 6, 7))
        self.assertEqual(facts.parse_cpulist("3,1,1-2"), (1, 2, 3))
        self.assertEqual(facts.format_cpulist((0, 1, 4, 6, 7)), "0-1,4,6-7")
        self.assertEqual(facts.format_cpulist({5, 3, 4}), "3-5")
        for bad in ("3-1", "a", "0-", "", "0,,1", "0-1,", " 0", "0\n", None):
            with self.assertRaises(ValueError, msg=repr(bad)):
                facts.parse_cpulist(bad)
        with self.assertRaises(ValueError) as e:
            facts.parse_cpulist("x")
        self.assertIn("accepted", str(e.exception))

    def test_cpulist_re_in_bash(self):
        """bash's =~ takes CPULIST_RE as Python does"""
        cases = ("0", "0-1", "0,2-3", "0-", "a", "0,,1", "1-2,")
        script = ". tools/facts.sh; for x in " + " ".join(f"'{c}'" for c in cases) + \
                 "; do [[ $x =~ $CPULIST_RE ]] && echo y || echo n; done"
        got = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True).stdout.split()
        want = ["y" if re.fullmatch(facts.CPULIST_RE, c) else "n" for c in cases]
        self.assertEqual(got, want)
        self.assertEqual(want, ["y", "y", "y", "n", "n", "n", "n"])

    def test_facts_sh(self):
        """tools/facts.sh is the generator's output byte for byte; bad options are status 2"""
        p = subprocess.run([sys.executable, str(REPO / "tools" / "pvspin" / "facts.py"), "--sh"],
                           capture_output=True)
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        self.assertEqual(p.stdout, facts.FACTS_SH.read_bytes(),
                         "tools/facts.sh is stale: regenerate it with python3 tools/pvspin/facts.py --sh")
        self.assertTrue(p.stdout.startswith(b"# SPDX-License-Identifier: MIT\n"))
        for argv in ([], ["--shell"], ["--sh", "x"]):
            q = subprocess.run([sys.executable, str(REPO / "tools" / "pvspin" / "facts.py"), *argv],
                               capture_output=True, text=True)
            self.assertEqual(q.returncode, status.BAD_INPUT, argv)
            self.assertIn("accepted: --sh", q.stderr)

    def test_facts_sh_sources(self):
        """tools/facts.sh sources in sh and gives the statuses, limits and locks"""
        got = subprocess.run(["sh", "-c", ". tools/facts.sh; echo $ST_PASS $ST_FAIL $ST_BAD_INPUT "
                              "$ST_CRASH $ST_LOCKUP $ST_TIMEOUT $ST_NO_QEMU $TCG_MAX_VCPUS "
                              "$XEN_PVH_MAX_VCPUS $LOCKS"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
        self.assertEqual(got, [str(v) for v in (status.PASS, status.TEST_FAILURE, status.BAD_INPUT,
                                                status.GUEST_CRASH, status.LOCKUP, status.TIMEOUT,
                                                status.NO_VMM, facts.TCG_MAX_VCPUS,
                                                facts.XEN_PVH_MAX_VCPUS)] + list(facts.LOCKS))

    def test_docs_list_xen_scheds(self):
        """every list of Xen's schedulers in the user docs is XEN_SCHEDS, in its order"""
        docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
        sep = r"`?(?:\||, )`?"
        found = 0
        for path in docs:
            for m in re.finditer(rf"`?{facts.XEN_SCHEDS[0]}`?(?:\s*\([^)]*\))?(?:{sep}\w+(?=[`|,):]))+", path.read_text()):
                names = re.findall(r"\w+", re.sub(r"\([^)]*\)", "", m.group(0)))
                if set(names) & set(facts.XEN_SCHEDS[1:]):
                    found += 1
                    self.assertEqual(tuple(names), facts.XEN_SCHEDS, f"{path.name}: {m.group(0)}")
        self.assertGreater(found, 0, "no list of Xen's schedulers found in the docs")

    def test_docs_state_boot_targets(self):
        """README and docs/bench.md state make bench-boot's targets and default repetitions as tools/bench/boot.py's TARGET_* and DEFAULT_REPS_*"""
        sys.path.insert(0, str(REPO / "tools" / "bench"))
        import boot
        ms, vcpus, ratio = boot.TARGET_DIFF_MS, boot.TARGET_DIFF_MAX_VCPUS, boot.TARGET_RATIO
        for path, words in (("README.md", f"within {ms:g} ms of the floor up to {vcpus} vCPUs,\nwithin {ratio:g}x above"),
                            ("docs/bench.md", f"pvspin at most the floor + {ms:g} ms up to {vcpus} vCPUs,\n"
                                              f"at most {ratio:g}x the floor above")):
            text = re.sub(r"\s+", " ", (REPO / path).read_text())
            self.assertIn(re.sub(r"\s+", " ", words), text, path)
        reps = (f"{boot.DEFAULT_REPS_FEW} up to {vcpus} vCPUs, {boot.DEFAULT_REPS} above and "
                f"{boot.DEFAULT_REPS_MANY} at {boot.MANY_VCPUS}")
        for path in ("README.md", "docs/bench.md"):
            text = re.sub(r"\s+", " ", (REPO / path).read_text())
            self.assertIn(f"default repetitions: {reps}", text, f"{path}: its default repetitions are not DEFAULT_REPS_*")

    def test_docs_state_retry_line(self):
        """docs/output.md states the line a runner prints for a case run once more as counts.retry_line writes it"""
        line = counts.retry_line("NAME", "why", "FILE")
        self.assertIn(f"`{line}`", (REPO / "docs" / "output.md").read_text())

    def test_docs_state_xen_stall_wait(self):
        """docs/xen.md states how long a Xen boot runs before its CPUs are sampled as tests/xen/run.py's STALL_S"""
        stall_s = re.search(r"^STALL_S = (\d+)", (REPO / "tests" / "xen" / "run.py").read_text(), re.M).group(1)
        text = re.sub(r"\s+", " ", (REPO / "docs" / "xen.md").read_text())
        self.assertIn(f"A boot still running after {stall_s} s has Xen's CPUs sampled", text)

    def test_shell_copies_agree(self):
        """a limit or CPU-list regex the shell scripts still spell out themselves is facts.py's"""
        for path in (RUN_QEMU, NESTED_RUN):
            text = path.read_text()
            for name, value in (("TCG_MAX_VCPUS", facts.TCG_MAX_VCPUS),
                                ("KVM_MAX_VCPUS", facts.KVM_MAX_VCPUS),
                                ("XEN_PVH_MAX_VCPUS", facts.XEN_PVH_MAX_VCPUS)):
                for found in re.findall(rf"\b{name}=(\d+)", text):
                    self.assertEqual(int(found), value, f"{path.name}: {name}={found}")
            for found in re.findall(r"=~ (\^\[0-9\]\+\(-\[0-9\]\+\)\S*)", text):
                self.assertEqual(found.rstrip(" ]"), facts.CPULIST_RE, path.name)


class XenStall(unittest.TestCase):
    """tools/pvspin/xen_stall.py: a silent run under --accel xen is taken for
    a wakeup lost below the guest only when every CPU is halted in Xen."""
    XEN_IDLE = "RIP=ffff82d0402f9c06 RFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=1"
    GUEST_SPIN = "RIP=0000000000106ddb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0"
    GUEST_HLT = "RIP=0000000000106ddb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1"
    XEN_BUSY = "RIP=ffff82d0402f9c06 RFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0"

    def dump(self, *rips):
        return "".join(f"CPU#{i}\r\nRAX=0\r\n{r}\r\nCR0=8005003b\r\n" for i, r in enumerate(rips))

    def test_all_idle_in_xen(self):
        """every CPU halted in Xen, in every sample: below the guest"""
        self.assertTrue(xen_stall.all_idle_in_xen([self.dump(self.XEN_IDLE, self.XEN_IDLE)] * 3))

    def test_not_below(self):
        """a CPU in the guest, halted or not, a busy Xen CPU, one such sample, no CPUs, no samples: not below"""
        idle = self.dump(self.XEN_IDLE, self.XEN_IDLE)
        for other in (self.GUEST_SPIN, self.GUEST_HLT, self.XEN_BUSY):
            self.assertFalse(xen_stall.all_idle_in_xen([idle, self.dump(self.XEN_IDLE, other), idle]), other)
        self.assertFalse(xen_stall.all_idle_in_xen(["QMP: no QMP socket after 5 s"]))
        self.assertFalse(xen_stall.all_idle_in_xen([]))
        truncated = self.dump(self.XEN_IDLE, self.XEN_IDLE) + "CPU#2\r\nRAX=0\r\n"
        self.assertFalse(xen_stall.all_idle_in_xen([truncated]), "a CPU without its RIP line")


class HostInfo(unittest.TestCase):
    def test_machine_line(self):
        """the machine line is pvspin.hostinfo's, and the benchmarks keep no copy of it"""
        line = hostinfo.describe()
        self.assertIn(f", {os.cpu_count()} host CPUs, Linux ", line)
        self.assertTrue(line.endswith(hostinfo.qemu_version()), line)
        for path in ("tools/bench/boot.py", "tools/peer/linux/bench_boot.py", "tools/bench/wake.py",
                     "tools/nested/bench.py"):
            text = (REPO / path).read_text()
            self.assertIn("hostinfo.describe()", text, path)
            self.assertNotIn("def machine(", text, path)

    def test_versions(self):
        """a command's --version line: the first line it prints, 'unknown' when it cannot run; only hostinfo runs one"""
        self.assertEqual(hostinfo.first_line(["sh", "-c", "echo ' one '; echo two"]), "one")
        for argv in (["sh", "-c", "true"], ["/nonexistent/qemu"]):
            self.assertEqual(hostinfo.first_line(argv), hostinfo.UNKNOWN, argv)
        self.assertEqual(hostinfo.qemu_version("/nonexistent/qemu"), hostinfo.UNKNOWN)
        copies = [str(p.relative_to(REPO)) for p in (REPO / "tools").rglob("*.py")
                  if p.name != "hostinfo.py" and re.search(r"""["']--version["']""", p.read_text())]
        self.assertEqual(copies, [], "run a --version through pvspin.hostinfo")


class Runner(unittest.TestCase):
    STREAM = "\n".join([
        "a line of L1 before any run",
        '# l1: {"kernel": "6.1.0", "cpus": 4}',
        "KTAP version 1",
        "1..1",
        "ok 1 smp",
        "EXIT: STATUS=0",
        "# l1: not json",
        "KTAP version 1",
        "EXIT: STATUS=3",
        ""])

    def test_split_nested(self):
        """runs start at '# l1:' lines; what comes before the first is no run's"""
        runs = runner.split_nested(self.STREAM)
        self.assertEqual(len(runs), 2)
        self.assertEqual(runs[0].l1, {"kernel": "6.1.0", "cpus": 4})
        self.assertEqual(runs[0].lines, ["KTAP version 1", "1..1", "ok 1 smp", "EXIT: STATUS=0"])
        self.assertIsNone(runs[1].l1)
        self.assertEqual(runs[1].l1_line, "# l1: not json")
        self.assertEqual(runs[1].lines, ["KTAP version 1", "EXIT: STATUS=3"])
        self.assertEqual(runner.split_nested("KTAP version 1\nok 1 x\n"), [])

    def test_l1_line(self):
        """is_l1_line takes str and bytes; l1_of reads its JSON"""
        self.assertTrue(runner.is_l1_line('# l1: {"a":1}'))
        self.assertTrue(runner.is_l1_line(b'# l1: {"a":1}\n'))
        self.assertFalse(runner.is_l1_line("## l1: x"))
        self.assertEqual(runner.l1_of('# l1: {"a":1}'), {"a": 1})

    def test_status_lines(self):
        """the nested status line, written and read back; other stderr lines are ignored"""
        line = runner.status_line(3, 10, 124)
        self.assertEqual(line, "run-qemu.sh: nested run 3 of 10: status 124")
        err = "\n".join(["run-qemu.sh: accel=nested", line, "  run-3.qemu.log: ...",
                         runner.status_line(7, 10, 4), "x run-qemu.sh: nested run 8 of 10: status 1",
                         "run-qemu.sh: nested run 9 of 10: status 1 and more"])
        self.assertEqual(runner.nested_statuses(err), {3: 124, 7: 4})
        self.assertEqual(runner.nested_statuses(""), {})

    def test_run_qemu_prints_the_format(self):
        """run-qemu.sh prints the nested status line in runner.py's format"""
        text = RUN_QEMU.read_text()
        said = re.findall(r'echo "(run-qemu\.sh: nested run \$\w+ of \$\w+: status \$\w+)" >&2', text)
        self.assertTrue(said, "run-qemu.sh prints no nested status line")
        for s in said:
            self.assertTrue(runner.NESTED_STATUS_RE.match(re.sub(r"\$\w+", "1", s)), s)


class Soak(unittest.TestCase):
    SOAK = REPO / "tools" / "soak.py"

    def test_bad_numbers(self):
        """soak.py refuses a negative --plan (and other bad numbers) with status 2 and a message"""
        for argv in (["--plan", "-3"], ["--plan"], ["--max-runs", "-1"], ["--report-every", "0"],
                     ["--seed", "x"]):
            p = subprocess.run([sys.executable, str(self.SOAK), *argv], capture_output=True, text=True)
            self.assertEqual(p.returncode, status.BAD_INPUT, argv)
            self.assertEqual(p.stdout, "", argv)
            self.assertIn(argv[0], p.stderr, argv)

    def test_plan(self):
        """soak.py --plan N prints N iterations; its nested batch's bench lines use the guest's locks"""
        p = subprocess.run([sys.executable, str(self.SOAK), "--plan", "8", "--seed", "3"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, status.PASS, p.stderr)
        self.assertEqual({line.split("\t")[0] for line in p.stdout.splitlines()},
                         {str(i) for i in range(8)})
        self.assertIn("\tnested\t", p.stdout)


if __name__ == "__main__":
    os.environ.pop("SEED", None)
    sys.exit(unitrun.main(sys.modules[__name__], "pvspin unit"))
