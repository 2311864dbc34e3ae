#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/nested/unit.py: unit tests of the nested bed's pieces (pvspin.nested), fast, no QEMU.
"""Watchers fed with lines and fake elapsed times, the options and the job
file, the cpio writer read back, the control lines, the register summary
and the failure texts. Run alone (python3 tests/nested/unit.py) or by
tests/nested/run.py, which counts each test as a case."""
import io
import os
import sys
import tempfile
import threading
import unittest
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tools"))

from pvspin import status  # noqa: E402
from pvspin.nested import cache, cachedir, control, cpio, jobcpio, kernel, monitor, options, report, results  # noqa: E402
from pvspin.nested.l1 import STATUS_KILLED  # noqa: E402
from pvspin.nested.watchers import (DumpTimer, FileLines, OutputCopier, Progress, ReadyWatch,  # noqa: E402
                                    StallWatch, cs_to_s, fmt_s)

LOCKUP = "[   61.000000] watchdog: BUG: soft lockup - CPU#3 stuck for {}s! [khugepaged:35]"


class Scratch(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="pvspin-nested-unit.")
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()


class TestFileLines(Scratch):
    def test_lines_as_they_come_partial_kept_until_finish(self):
        p = self.dir / "log"
        f = FileLines(p)
        self.assertEqual(f.poll(), [])                       # no file yet
        p.write_bytes(b"one\ntw")
        self.assertEqual(f.poll(), ["one"])
        with open(p, "ab") as out:
            out.write(b"o\nthree")
        self.assertEqual(f.poll(), ["two"])
        self.assertEqual(f.finish(), ["three"])
        self.assertEqual(f.finish(), [])

    def test_bytes_that_are_not_utf8_survive(self):
        p = self.dir / "log"
        p.write_bytes(b"a\xff\x00b\n")
        line = FileLines(p).poll()[0]
        self.assertEqual(line.encode("utf-8", "surrogateescape"), b"a\xff\x00b")


class TestProgress(unittest.TestCase):
    def feed(self, line, elapsed=6.617):
        got = []
        Progress(got.append).feed(line, elapsed)
        return got

    def test_lines(self):
        self.assertEqual(self.feed("ready 453\r"), ["L1 ready (KVM loaded) after 6.61 s (L1 uptime 4.53 s)"])
        self.assertEqual(self.feed("start 2"), ["run 2 started"])
        self.assertEqual(self.feed("status 2 7 85"), ["run 2: status 7 after 0.85 s"])
        self.assertEqual(self.feed("log run 2: warning"), ["L1: run 2: warning"])
        self.assertEqual(self.feed("diag 2 qemu CPU Reset"), [])
        self.assertEqual(self.feed("fail insmod"), [])
        self.assertEqual(self.feed("done"), [])

    def test_seconds_are_cut_not_rounded(self):
        self.assertEqual(fmt_s(12.999), "12.99")
        self.assertEqual(fmt_s(0.0), "0.00")
        self.assertEqual(cs_to_s("409"), "4.09")


class TestReadyWatch(unittest.TestCase):
    def test_fires_once_at_the_limit_when_not_ready(self):
        fired = []
        w = ReadyWatch(70, lambda: False, lambda: fired.append(1))
        w.poll(69.9)
        self.assertEqual(fired, [])
        w.poll(70.0)
        w.poll(80.0)
        self.assertEqual(fired, [1])
        self.assertTrue(w.fired)

    def test_quiet_when_ready(self):
        fired = []
        w = ReadyWatch(70, lambda: True, lambda: fired.append(1))
        w.poll(71)
        self.assertEqual(fired, [])
        self.assertFalse(w.fired)

    def test_ready_is_asked_only_at_the_limit(self):
        asked = []
        w = ReadyWatch(10, lambda: asked.append(1) or True, lambda: None)
        for t in range(10):
            w.poll(t)
        self.assertEqual(asked, [])
        w.poll(10)
        self.assertEqual(asked, [1])


class TestStallWatch(unittest.TestCase):
    def make(self, ready=True, limit=40):
        self.fired = []
        return StallWatch(limit, lambda: ready, self.fired.append)

    def test_report_past_the_limit_once_ready(self):
        w = self.make()
        w.feed("[   1.0] some line")
        w.feed(LOCKUP.format(22))                 # below the limit
        self.assertEqual(self.fired, [])
        w.feed(LOCKUP.format(48) + "\r")
        w.feed(LOCKUP.format(74))                 # only the first
        self.assertEqual(self.fired, [LOCKUP.format(48)])

    def test_the_limit_itself_counts(self):
        w = self.make(limit=40)
        w.feed(LOCKUP.format(40))
        self.assertEqual(len(self.fired), 1)

    def test_before_ready_it_is_the_ready_watch_s(self):
        w = self.make(ready=False)
        w.feed(LOCKUP.format(999))
        self.assertEqual(self.fired, [])


class TestDumpTimer(unittest.TestCase):
    def test_once_at_its_time(self):
        fired = []
        t = DumpTimer(12, lambda: fired.append(1))
        t.poll(11.9)
        t.poll(12)
        t.poll(13)
        self.assertEqual(fired, [1])

    def test_never_when_the_limit_is_shorter_than_the_lead(self):
        fired = []
        t = DumpTimer(3 - 8, lambda: fired.append(1))
        t.poll(100)
        self.assertEqual(fired, [])


class TestOutputCopier(Scratch):
    def test_bytes_copied_exactly_then_eof(self):
        r, w = os.pipe()
        copier = OutputCopier(str(self.dir / "out.fifo"), w)
        data = b"# l1: {}\n\x00\x01\x1b\x7f\xff\r\r\nok 1\n" * 1000
        with open(self.dir / "out.fifo", "wb") as f:   # the writer (QEMU)
            f.write(data)
        copier.stop()
        os.close(w)
        with os.fdopen(r, "rb") as f:
            self.assertEqual(f.read(), data)

    def test_stop_when_no_writer_ever_came(self):
        copier = OutputCopier(str(self.dir / "out.fifo"), 1)
        t = threading.Thread(target=copier.stop)
        t.start()
        t.join(10)
        self.assertFalse(t.is_alive())

    def test_reader_gone_keeps_draining(self):
        r, w = os.pipe()
        os.close(r)
        copier = OutputCopier(str(self.dir / "out.fifo"), w)
        with open(self.dir / "out.fifo", "wb") as f:
            f.write(b"x" * 200000)                        # more than a pipe holds
        copier.stop()
        os.close(w)


class TestOptions(Scratch):
    def setUp(self):
        super().setUp()
        self.image = self.dir / "tiny.elf"
        self.image.write_bytes(b"\x7fELF")
        self.jobs = self.dir / "jobs"
        self.jobs.write_text("")

    def parse(self, *argv, env=None):
        return options.parse(list(argv), env or {})

    def bad(self, text, *argv, env=None):
        with self.assertRaises(report.UsageError) as cm:
            self.parse(*argv, env=env)
        self.assertIn(text, str(cm.exception))

    def test_defaults(self):
        o = self.parse("--image", str(self.image), str(self.jobs))
        self.assertEqual((o.smp, o.mem_mb, o.boots, o.stall_limit_s, o.l0_accel),
                         (options.DEFAULT_L1_SMP, options.DEFAULT_L1_MEM_MB, options.DEFAULT_L1_BOOTS,
                          options.DEFAULT_L1_STALL_LIMIT_S, "tcg"))
        self.assertTrue(o.anchor)

    def test_bad_usage(self):
        img, jobs = str(self.image), str(self.jobs)
        self.bad("expected exactly one JOBFILE")
        self.bad("option --image needs a value", "--image")
        self.bad("option --l1-param needs a value", "--image", img, "--l1-param")
        self.bad("unknown option: --bogus", "--bogus", "--image", img, jobs)
        self.bad("--image is required", jobs)
        self.bad("image not found", "--image", str(self.dir / "none"), jobs)
        self.bad("job file not found", "--image", img, str(self.dir / "none"))
        self.bad("--prepare takes no JOBFILE", "--prepare", jobs)
        self.bad("--l1-smp must be a positive integer: zero", "--l1-smp", "zero", "--image", img, jobs)
        self.bad("--l0-tcg must be multi or single", "--l0-tcg", "double", "--image", img, jobs)
        self.bad("--l0-qemu: no such executable", "--l0-qemu", str(self.dir / "q"), "--image", img, jobs)
        self.bad("--l1-boots must be a positive integer", "--l1-boots", "0", "--image", img, jobs)
        self.bad("--l1-stall-limit must be a positive integer", "--l1-stall-limit", "-1", "--image", img, jobs)
        self.bad("--l1-ready-limit must be a positive integer", "--l1-ready-limit", "5s", "--image", img, jobs)
        self.bad("--l1-break must be", "--l1-break", "sometimes", "--image", img, jobs)
        self.bad("--l1-break must be", "--image", img, jobs, env={"PVSPIN_NESTED_BREAK": "x"})
        self.bad("--l1-param must be MODULE.PARAM=VALUE", "--l1-param", "kvm", "--image", img, jobs)
        self.bad("--end-pattern goes with --end-grace", "--end-pattern", "x", "--image", img, jobs)
        self.bad("--end-pattern goes with --end-grace", "--end-pattern", "x", "--end-grace", "0s",
                 "--image", img, jobs)
        self.jobs.write_text("-\t5\t-serial chardev:s,logfile=@SERIAL_COPY@\n")
        self.bad("need --end-pattern", "--image", img, jobs)

    def test_help(self):
        with self.assertRaises(options.HelpRequested):
            self.parse("-h", "--bogus")
        text = options.usage({})
        self.assertIn("--l1-break-module", text)
        self.assertIn(f"{report.EXIT_BED} bed\nfailure", text)
        self.assertNotIn("@HOST_QEMU@", text)

    def test_hooks_from_the_environment_and_options(self):
        o = self.parse("--l1-break-module", "kvm-amd", "--l1-no-anchor", "--prepare",
                       env={"PVSPIN_NESTED_BREAK_MODULE": "ccp", "PVSPIN_NESTED_BREAK": "hang"})
        self.assertEqual((o.break_modules, o.break_mode, o.anchor), ("ccp kvm-amd", "hang", False))
        self.assertFalse(self.parse("--prepare", env={"PVSPIN_NESTED_NO_ANCHOR": "1"}).anchor)

    def test_guest_kernel_half(self):
        self.assertFalse(self.parse("--prepare").guest_kernel_half)
        self.assertTrue(self.parse("--guest-kernel-half", "--prepare").guest_kernel_half)
        self.assertIn("--guest-kernel-half", options.usage({}))

    def read_jobs(self, text, smp="2"):
        self.jobs.write_text(text)
        return options.read_jobs(self.parse("--l1-smp", smp, "--image", str(self.image), str(self.jobs)))

    def test_job_lines(self):
        jobs = self.read_jobs("# note\n\n  \n0-1\t60\t-kernel @IMAGE@ -append 'a b'\n-\t4\t-m 64")
        self.assertEqual([j.line() for j in jobs],
                         ["0-1\t60\t-kernel /job/image -append 'a b'", "-\t4\t-m 64"])

    def test_bad_job_lines(self):
        for text, msg in (("x\t10\t-M q35\n", ":1: PIN must be '-' or a CPU list: x"),
                          ("-\t10 -M q35\n", ":1: expected PIN<TAB>TIMEOUT_SEC<TAB>QEMU_ARGS"),
                          ("\n2\t10\t-M q35\n", ":2: PIN 2 names CPUs that L1 lacks (--l1-smp 2: 0-1)"),
                          ("1-0\t10\t-M q35\n", "PIN 1-0 names CPUs that L1 lacks"),
                          ("-\t0\t-M q35\n", "TIMEOUT_SEC must be a positive integer: 0"),
                          ("-\t10\t  \n", "empty QEMU_ARGS")):
            with self.assertRaises(report.UsageError) as cm:
                self.read_jobs(text)
            self.assertIn(msg, str(cm.exception))


class TestBedFailureLine(unittest.TestCase):
    def test_reason_and_runs_done(self):
        """the failure line the bed says is the one its callers read, runs done included"""
        out = io.StringIO()
        reason = f"L1 stopped {report.RUNS_DONE.format(done=2, total=5)} (L1 QEMU exited 0)"
        report.Reporter(out).say(f"{report.BED_FAILURE}: {reason}")
        text = "run-qemu.sh: accel=nested\n" + out.getvalue() + "run-qemu.sh: try --help\n"
        self.assertEqual(report.bed_failure(text), reason)
        self.assertEqual(report.runs_done(report.bed_failure(text)), 2)
        self.assertEqual(report.bed_failure("nested-run.sh: L1 ready\n"), "")
        self.assertEqual(report.runs_done("L1 boot timed out"), 0)


class TestCpio(Scratch):
    def test_tree_read_back(self):
        root = self.dir / "root"
        (root / "job").mkdir(parents=True)
        (root / "job" / "image").write_bytes(b"\x7fELF" + bytes(range(256)))
        (root / "init").write_text("#!/bin/sh\n")
        os.chmod(root / "init", 0o755)
        (root / "bin").mkdir()
        (root / "bin" / "sh").symlink_to("busybox")
        (root / "lib-x").mkdir()
        out = io.BytesIO()
        cpio.write_tree(root, out)
        data = out.getvalue()
        self.assertEqual(len(data) % cpio.BLOCK, 0)
        members = cpio.read_names(data)
        self.assertEqual([m[0] for m in members], ["bin", "bin/sh", "init", "job", "job/image", "lib-x"])
        by = {m[0]: m for m in members}
        self.assertEqual(by["bin/sh"][3], b"busybox")
        self.assertEqual(by["init"][1] & 0o777, 0o755)
        self.assertEqual(by["job/image"][3], (root / "job" / "image").read_bytes())

    def test_directories_before_their_contents(self):
        names = ["a/b", "a", "a-b", "a/b/c"]
        root = self.dir / "r"
        for n in ("a/b/c", "a-b"):
            (root / n).mkdir(parents=True)
        self.assertEqual(cpio.tree_names(root), ["a", "a-b", "a/b", "a/b/c"])
        self.assertEqual(sorted(names), cpio.tree_names(root))


class TestCacheKeys(Scratch):
    def test_key(self):
        self.assertEqual(cachedir.key("qemu_7.2.22 (Debian 1:7.2+dfsg)"), "qemu_7.2.22__Debian_1_7.2+dfsg_")

    def test_module_depends(self):
        ko = self.dir / "kvm_amd.ko"
        ko.write_bytes(b"\x00\x01license=GPL\x00depends=kvm,ccp\x00retpoline=Y\x00")
        self.assertEqual(kernel.module_depends(ko), ["kvm", "ccp"])
        ko.write_bytes(b"\x00depends=\x00name=irqbypass\x00")
        self.assertEqual(kernel.module_depends(ko), [])

    def test_root(self):
        self.assertEqual(cachedir.cache_root({"XDG_CACHE_HOME": "/c"}), Path("/c/pvspin/nested"))
        self.assertEqual(cachedir.cache_root({"HOME": "/h"}), Path("/h/.cache/pvspin/nested"))


class TestConfig(unittest.TestCase):
    def test_tokens_and_quoting(self):
        o = options.Options(break_modules=" it's", module_params=["kvm.a=1", "kvm_amd.b=2"],
                            end_pattern="^--- End", end_grace="5", l0_accel="tcg,thread=single")
        prep = cache.Prepared("linux-image-x", "6.1-1", "1.35", "7.2", "q", "7.2.22", None, None, None)
        text = jobcpio.config_text(o, prep)
        self.assertIn("BREAK_MODULES=' it'\\''s'\n", text)
        self.assertIn("L0_DESC='qemu 7.2.22 tcg,thread=single -cpu max'\n", text)
        self.assertIn("MODULE_PARAMS='kvm.a=1 kvm_amd.b=2'\n", text)
        self.assertIn("ANCHOR=1\n", text)
        self.assertIn("GUEST_KERNEL_HALF=0\n", text)
        o.guest_kernel_half = True
        self.assertIn("GUEST_KERNEL_HALF=1\n", jobcpio.config_text(o, prep))
        self.assertIn("END_GRACE_S=5\n", text)
        self.assertIn("EARLY_CTL_PREFIX='@@pvspin-ctl '\n", text)
        # every token l1-init.sh reads from /job/config is written
        init = jobcpio.L1_INIT_SRC.read_text()
        for token in ("END_PATTERN", "END_GRACE_S", "L1_PACKAGE", "L1_PACKAGE_VERSION", "L0_DESC",
                      "BREAK_MODULES", "BREAK_MODE", "MODULE_PARAMS", "FIRMWARE_DIR", "OUT_PORT_NAME",
                      "CTL_PORT_NAME", "EARLY_CTL_PREFIX", "ANCHOR", "GUEST_KERNEL_HALF"):
            self.assertIn(f"\n{token}=", "\n" + text, token)
            self.assertIn(token, init, token)


class TestControl(Scratch):
    def test_early_lines_then_the_control_log(self):
        (self.dir / "console.log").write_bytes(
            b"[ 1.0] noise\r\n[ 2.0] @@pvspin-ctl log L1 up\r\n<2>@@pvspin-ctl fail insmod x failed\r\n")
        (self.dir / "ctl.log").write_text("ready 453\nstatus 1 7 85\n")
        lines = control.control_lines(self.dir)
        self.assertEqual(lines, ["log L1 up", "fail insmod x failed", "ready 453", "status 1 7 85"])
        self.assertTrue(control.l1_ready(lines))
        self.assertEqual(control.parse_control(lines + ["env {}", "done"]),
                         (True, True, "{}", ["7"], "insmod x failed"))

    def test_nothing_yet(self):
        self.assertEqual(control.control_lines(self.dir), [])
        self.assertFalse(control.l1_ready([]))


class TestMonitorSummary(unittest.TestCase):
    def test_one_line_a_cpu(self):
        dump = ("CPU#0\nRAX=0 RBX=0\nRIP=ffffffff81a592eb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
                "CPU#1\nRIP=0000000000101234 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\n")
        self.assertEqual(monitor.summary(dump), [
            "  L1 CPU#0 RIP=ffffffff81a592eb CPL=0 HLT=1: in L1's kernel",
            "  L1 CPU#1 RIP=0000000000101234 CPL=0 HLT=0: not L1's kernel: L2 code (L1 never got back "
            "from L2), or L1 user space"])


class TestResults(Scratch):
    def test_l1_end(self):
        self.assertTrue(results.l1_end(self.dir, 0).startswith("L1 QEMU exited 0: L1 powered off"))
        self.assertEqual(results.l1_end(self.dir, status.TIMEOUT), "L1 QEMU killed at the limit (SIGTERM)")
        self.assertEqual(results.l1_end(self.dir, STATUS_KILLED), "L1 QEMU killed at the limit (SIGKILL)")
        self.assertEqual(results.l1_end(self.dir, 128 + 6), "L1 QEMU killed by signal 6 (SIGABRT)")
        self.assertEqual(results.l1_end(self.dir, 3), "L1 QEMU exited 3")
        (self.dir / "console.log").write_text("[ 4.9] Kernel panic - not syncing: sysrq triggered crash\r\n")
        (self.dir / "l1-qemu.log").write_text("Triple fault\n")
        self.assertEqual(results.l1_end(self.dir, 0).split("; ", 1)[1],
                         "L1 kernel: [ 4.9] Kernel panic - not syncing: sysrq triggered crash; "
                         "L1 QEMU logged a triple fault")

    def test_stall_report_without_timestamp(self):
        (self.dir / "l1-stalled").write_text(LOCKUP.format(48) + "\n")
        self.assertEqual(results.stall_report(self.dir),
                         "watchdog: BUG: soft lockup - CPU#3 stuck for 48s! [khugepaged:35]")

    def test_diag_split_and_kept(self):
        keep = self.dir / "keep"
        d = results.Diag(self.dir, keep)
        keep.mkdir()
        (keep / "run-9.qemu.log").write_text("old")
        (keep / "other").write_text("not ours")
        d.prepare_dir()
        self.assertEqual(sorted(p.name for p in keep.iterdir()), ["other"])
        saved = report.REPORT.stream
        report.REPORT.stream = io.StringIO()
        try:
            d.split(["diag 2 qemu CPU Reset (CPU 0)", "diag 0 dmesg [ 1.0] kvm: x", "diag 2 trace t\r",
                     "diag 2 dmesg ", "status 2 7 85", "diag x qemu no"])
        finally:
            report.REPORT.stream = saved
        self.assertEqual((self.dir / "diag" / "run-2.qemu.log").read_text(), "CPU Reset (CPU 0)\n")
        self.assertEqual((self.dir / "diag" / "run-2.l1-trace").read_text(), "t\n")
        self.assertEqual(sorted(p.name for p in keep.iterdir()),
                         ["other", "run-2.l1-dmesg", "run-2.l1-trace", "run-2.qemu.log"])


if __name__ == "__main__":
    unittest.main()
