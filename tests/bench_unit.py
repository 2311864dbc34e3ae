#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench_unit.py: unit tests of the bench runner's pure pieces (tools/bench/pvbench).
"""Host-only unit tests of tools/bench/pvbench: no VM is booted.

Run by tests/bench.sh; prints 'ok bench unit: NAME' or 'FAIL bench unit:
NAME: WHY' per test and ends with 'N passed, N failed'. Status 0 when all
passed, else 1.
"""
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tools" / "bench"), str(Path(__file__).resolve().parents[1] / "tools")]

from pvbench.cli import Options  # noqa: E402
from pvbench.common import UsageError  # noqa: E402
from pvbench.config import (LOCKS, Config, format_cpuset, parse_configs,  # noqa: E402
                            parse_cpuset, parse_locks)
from pvbench.logs import guest_verdict, parse_log  # noqa: E402
from pvbench.runs import Run  # noqa: E402
from pvbench.stats import Cell, build_cells, fmt_ns, fmt_rate, fmt_times  # noqa: E402
from pvbench.store import Bench, StoreError, load, save  # noqa: E402
from pvbench.summary import goal_keep, goal_latency, goal_speedup  # noqa: E402
from pvbench.variants import Variant  # noqa: E402
from pvspin import facts, unitrun  # noqa: E402

ENV = {"qemu_version": "QEMU 7.2", "host_cpu_model": "a CPU", "host_cpus_online": 2,
       "host_kernel": "6.1", "guest_revision": "abc1234", "slice_ns": 3000000,
       "slice_source": "--slice-ms"}


def options(out, configs, locks=("pvqspinlock", "qspinlock", "ticket"), **peer):
    """Options of a matrix without the peer; PEER overrides its options (peer, shapes, ...)."""
    return Options(**{**dict(locks=list(locks), configs=configs, reps=1, duration_ms=100, warmup_ms=20,
                   hold_ns=200, think_ns=500, pv="auto", guest=[], accel="tcg", l1_smp=2,
                   pin_vcpus=False, seed=1, stall_mechanism="auto", timeout=60, slice_ns=3000000, slice_source="--slice-ms",
                   run_qemu=Path("/bin/true"), out=out, default_out=False, plot=False,
                   quiet=True, shapes=["default"], peer="", peer_lock="", long_hold_ms=0,
                   hypervisor_bit="on", peer_timeout=60), **peer})


def record(config, lock, status="ok", tput=1000.0, p99=500):
    return {"config": config, "lock": lock, "status": status, "reason": "",
            "throughput_per_s": tput, "fairness": 0.9, "latency_p50_ns": 100,
            "latency_p99_ns": p99, "latency_p999_ns": 900, "result": {"test": "bench"}}


class Configs(unittest.TestCase):
    def test_cpuset_round_trip(self):
        """a cpuset reads and prints back the same; bad ones are refused"""
        self.assertEqual(parse_cpuset("0-1,4,6-7"), (0, 1, 4, 6, 7))
        self.assertEqual(format_cpuset((0, 1, 4, 6, 7)), "0-1,4,6-7")
        for bad in ("3-1", "a", "0-", ""):
            with self.assertRaises(UsageError):
                parse_cpuset(bad)

    def test_configs(self):
        """--configs items, commas inside cpusets, labels and overcommit"""
        configs = parse_configs("2@0-1,4@0,2x2;8@0-1")
        self.assertEqual(configs, [Config(2, (0, 1)), Config(4, (0, 2), 2), Config(8, (0, 1))])
        self.assertEqual([c.label for c in configs], ["2@0-1", "4@0,2x2", "8@0-1"])
        self.assertEqual(configs[1].slug, "4@0+2x2")
        self.assertEqual([c.overcommit for c in configs], [1.0, 4.0, 4.0])
        with self.assertRaises(UsageError):
            parse_configs("2@0-1,x")

    def test_locks(self):
        """--locks: all expands in order, repeats are dropped, unknown ones refused"""
        self.assertEqual(parse_locks("ticket,all,tas"), ["ticket"] + [l for l in LOCKS if l != "ticket"])
        with self.assertRaises(UsageError):
            parse_locks("tas,frob")


    def test_int_in(self):
        """int_in: LOW..HIGH, or LOW and up when HIGH is None; the message names the option and the range"""
        from pvbench.config import int_in
        self.assertEqual([int_in(v, 1, 4, "--n") for v in ("1", "4")], [1, 4])
        self.assertEqual(int_in("1000000", 2, None, "--n"), 1000000)
        for text, high, message in (("5", 4, "--n '5': accepted: an integer 1..4"),
                                    ("0", None, "--n '0': accepted: an integer 1 or more"),
                                    ("x", None, "--n 'x': accepted: an integer 1 or more")):
            with self.assertRaisesRegex(UsageError, re.escape(message)):
                int_in(text, 1, high, "--n")


class Common(unittest.TestCase):
    def test_latest_link(self):
        """update_latest_link(out, name): the link NAME beside OUT points to it, relative, replaced at once; one copy"""
        from pvbench import common
        with tempfile.TemporaryDirectory() as tmp:
            first, second = Path(tmp) / "run-1", Path(tmp) / "run-2"
            for out in (first, second):
                out.mkdir()
                common.update_latest_link(out, "latest")
                link = Path(tmp) / "latest"
                self.assertEqual((str(link.readlink()), link.resolve()), (out.name, out.resolve()))
            self.assertEqual(sorted(p.name for p in Path(tmp).iterdir()), ["latest", "run-1", "run-2"])
        tools = Path(__file__).resolve().parents[1] / "tools" / "bench"
        for path in (tools / "wake.py", tools / "pvbench" / "main.py"):
            text = path.read_text()
            self.assertNotIn("def update_latest_link", text, path)
            self.assertIn("update_latest_link(", text, path)


class Formats(unittest.TestCase):
    def test_numbers(self):
        """times, rates and ratios as the summary prints them"""
        self.assertEqual([fmt_ns(v) for v in (None, 512, 1500, 2.56e6, 4e9)],
                         ["-", "512 ns", "1.5 us", "2.56 ms", "4 s"])
        self.assertEqual([fmt_rate(v) for v in (None, 12.345, 123456.7)], ["-", "12.3", "123,457"])
        self.assertEqual([fmt_times(v) for v in (None, 1.234, 2362.4)], ["-", "1.23x", "2,362x"])


class Logs(unittest.TestCase):
    LOG = "\n".join([
        '# l1: {"kernel": "6.1.0", "cpus": 4}',
        "KTAP version 1",
        "1..6",
        '# result: {"test": "bench", "lock": "tas", "throughput_per_s": 5}',
        "ok 1 bench:tas",
        "not ok 2 bench:ticket # no progress",
        "ok 3 bench:ttas # SKIP not built",
        "not ok 4 bench:qspinlock",
        '# result: {"test": "bench", "lock": "mcs"}',
        '# result: {"test": "bench", "lock": "pvqspin',
        "EXIT: STATUS=4",
        "KTAP version 1",
        "1..0",
        "EXIT: STATUS=1",
        ""])

    def test_parse_log(self):
        """verdicts paired with results, the first not ok, L1, the last exit status"""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "run.log"
            path.write_text(self.LOG)
            info = parse_log(path)
            self.assertEqual(info.l1, {"kernel": "6.1.0", "cpus": 4})
            self.assertEqual(info.first_not_ok, "bench:ticket # no progress")
            self.assertTrue(info.outcomes["tas"].ok)
            self.assertEqual(info.outcomes["tas"].result["throughput_per_s"], 5)
            self.assertEqual((info.outcomes["ticket"].ok, info.outcomes["ticket"].reason),
                             (False, "no progress"))
            self.assertEqual((info.outcomes["ttas"].ok, info.outcomes["ttas"].reason),
                             (False, "SKIP not built"))
            self.assertEqual(info.outcomes["qspinlock"].reason, "no result line before the verdict")
            self.assertEqual((info.outcomes["mcs"].ok, info.outcomes["mcs"].reason),
                             (False, "no KTAP verdict after the result"))
            self.assertNotIn("pvqspinlock", info.outcomes)
            self.assertEqual(guest_verdict(path), 1)
            self.assertIsNone(guest_verdict(Path(tmp) / "missing.log"))


class Nested(unittest.TestCase):
    def runs(self, tmp, logs):
        out = []
        for i, text in enumerate(logs, 1):
            log = Path(tmp) / f"r{i}.log"
            log.write_text(text)
            out.append(Run(Config(2, (0, 1)), 1, i, log, Path(tmp) / f"r{i}.err"))
        return out

    def test_statuses(self):
        """a nested batch's runs get run-qemu.sh's status lines, else the guest's verdict or the bed's status"""
        from pvbench.nested import assign_nested_statuses
        from pvspin import runner, status
        passed, crashed = "KTAP version 1\nEXIT: STATUS=0\n", "KTAP version 1\nEXIT: STATUS=3\n"
        with tempfile.TemporaryDirectory() as tmp:
            err = Path(tmp) / "batch.err"
            err.write_text("run-qemu.sh: accel=nested\n" + runner.status_line(2, 3, status.LOCKUP) + "\n")
            runs = self.runs(tmp, [passed, passed, passed])
            assign_nested_statuses(runs, 3, status.LOCKUP, err)
            self.assertEqual([r.status for r in runs], [status.PASS, status.LOCKUP, status.PASS])
            # The bed failed (no status lines): verdicts where the guest gave one, the bed's status
            # for the rest, and a run never started gets it too.
            err.write_text("run-qemu.sh: nested bed failure\n")
            runs = self.runs(tmp, [crashed, "KTAP version 1\n", ""])
            assign_nested_statuses(runs, 2, status.NO_VMM, err)
            self.assertEqual([r.status for r in runs], [status.GUEST_CRASH, status.NO_VMM, status.NO_VMM])


class Statistics(unittest.TestCase):
    def test_cells(self):
        """medians over the ok records only; every record counted"""
        records = [record("2@0-1", "tas", tput=t) for t in (1.0, 5.0, 3.0)]
        records.append(record("2@0-1", "tas", status="not ok", tput=1000.0))
        cell = build_cells(records)[("2@0-1", "tas")]
        self.assertEqual((cell.total, cell.ok, cell.median("tput")), (4, 3, 3.0))
        self.assertIsNone(Cell().median("p99"))

    def test_goals(self):
        """the goals (a), (b), (c) pass and miss on their thresholds"""
        one, four = Config(2, (0, 1)), Config(8, (0, 1))
        opts = options(Path("/nonexistent"), [one, four])
        cells = build_cells([record("2@0-1", "pvqspinlock", tput=1000.0),
                             record("8@0-1", "pvqspinlock", tput=600.0, p99=2000000),
                             record("8@0-1", "qspinlock", tput=100.0),
                             record("8@0-1", "ticket", tput=200.0, p99=9000000)])
        self.assertTrue(goal_keep(opts, cells, four).startswith("- PASS (a) at 8@0-1"))
        self.assertTrue(goal_speedup(cells, four).startswith("- MISS (b) at 8@0-1"))
        self.assertTrue(goal_latency(opts, cells, four).startswith("- PASS (c) at 8@0-1"))
        cells[("8@0-1", "pvqspinlock")].tput = [400.0]
        self.assertTrue(goal_keep(opts, cells, four).startswith("- MISS (a)"))


class Store(unittest.TestCase):
    def stored(self, tmp):
        out = Path(tmp)
        config = Config(2, (0, 1))
        runs = [Run(config, 1, 1, out / "logs/a.log", out / "logs/a.err", 0, 1.5, "tcg"),
                Run(config, 2, 1, out / "logs/b.log", out / "logs/b.err", 4, 2.25, "tcg",
                    "not ok 1 bench:tas"),
                Run(config, 3, 1, out / "logs/c.log", out / "logs/c.err")]
        records = [record("2@0-1", "tas"), record("2@0-1", "tas", status="missing", tput=None)]
        bench = Bench(options(out, [config], ["tas"]), ENV, ["matrix.py", "--reps", "3"],
                      "2026-01-01T00:00:00+00:00", None, runs, records)
        save(bench)
        return bench

    def test_round_trip(self):
        """what save() writes, load() reads back the same"""
        with tempfile.TemporaryDirectory() as tmp:
            saved = self.stored(tmp)
            loaded = load(Path(tmp), plot=False, quiet=True)
            self.assertEqual(loaded, saved)

    def test_bad_records(self):
        """a line that is not JSON, or an ok record without its numbers, is refused with its line"""
        with tempfile.TemporaryDirectory() as tmp:
            self.stored(tmp)
            results = Path(tmp) / "results.jsonl"
            good = results.read_text()
            for bad, why in (('{"config": "2@0-1", "lo\n', "line 3: not JSON"),
                             (json.dumps(record("2@0-1", "tas", p99=None)) + "\n",
                              "line 3: an ok record without a number in latency_p99_ns"),
                             (json.dumps(record("9@0", "tas")) + "\n", "line 3: config '9@0'")):
                results.write_text(good + bad)
                with self.assertRaisesRegex(StoreError, why):
                    load(Path(tmp))
            (Path(tmp) / "matrix.json").write_text("{}")
            with self.assertRaisesRegex(StoreError, "not a matrix.json"):
                load(Path(tmp))


class Interference(unittest.TestCase):
    def test_specs(self):
        """mode texts round-trip; the option forms give the same specs"""
        from pvbench.interference import parse_mode, parse_quota, parse_stall, parse_hog
        for text in ("quota=25/10", "stall=5/10:rr", "stall=2.5/10:random", "hog=0-1:50%/10:fifo",
                     "hog=0:30%/20"):
            self.assertEqual(parse_mode(text, machine_cpus={0, 1}).text, text)
        self.assertEqual(parse_quota("25").text, "quota=25/10")
        self.assertEqual(parse_stall("5/10").text, "stall=5/10:rr")
        self.assertEqual(parse_hog("0,1:50/10", machine_cpus={0, 1}).cpus, (0, 1))
        self.assertEqual(parse_mode("none"), parse_mode(""))

    def test_bad_specs(self):
        """every malformed or impossible pattern is a UsageError naming the option"""
        from pvbench.interference import parse_mode, parse_quota, parse_stall, parse_hog, parse_sweep
        for call, why in ((lambda: parse_quota("0"), "--quota '0': PCT"),
                          (lambda: parse_quota("100"), "--quota '100': PCT"),
                          (lambda: parse_quota("25/2000"), "PERIOD_MS"),
                          (lambda: parse_quota("5"), "minimum quota"),
                          (lambda: parse_stall("10/10"), "below EVERY_MS"),
                          (lambda: parse_stall("5/10:often"), "order 'often'"),
                          (lambda: parse_hog("2:50/10", machine_cpus={0, 1}), "CPU 2 is not"),
                          (lambda: parse_hog("0:50/10:rt", machine_cpus={0}), "policy 'rt'"),
                          (lambda: parse_mode("spin=1"), "accepted: quota="),
                          (lambda: parse_sweep("0,x", 10), "--stall-sweep 'x'")):
            with self.assertRaisesRegex(UsageError, why):
                call()

    def test_quota_fits_cpuset(self):
        """--quota takes several vCPU threads per CPU while their quotas add up to at most 100%"""
        from pvbench.interference import check_spec, parse_quota
        check_spec(parse_quota("25"), Config(2, (0, 1)))
        check_spec(parse_quota("25"), Config(2, (0, 1), 2))
        check_spec(parse_quota("50"), Config(4, (0, 1)))
        with self.assertRaisesRegex(UsageError, "4 vCPU threads on one CPU at 50% each is 200%"):
            check_spec(parse_quota("50"), Config(8, (0, 1)))

    def test_config_labels(self):
        """a --configs item's ~MODE is part of its label; slugs are file names"""
        c = parse_configs("2@0-1~stall=5/10:rr,8@0-1")
        self.assertEqual([x.label for x in c], ["2@0-1~stall=5/10:rr", "8@0-1"])
        self.assertEqual(c[0].base_label, "2@0-1")
        self.assertNotIn("/", c[0].slug)

    def test_window_arithmetic(self):
        """counters interpolated at the window's ends; stalls cut to the window"""
        from pvbench.hostrun import delta, overlap
        samples = [(0, [(0, None, None, None)]), (100, [(50, None, None, None)]),
                   (200, [(150, None, None, None)])]
        self.assertEqual(delta(samples, 50, 150, 0, 0), 75)
        self.assertIsNone(delta(samples, 50, 150, 0, 1))
        self.assertEqual(overlap([(0, 10), (40, 60), (90, 120)], 50, 100), 20)

    def test_scheduler_class(self):
        """EEVDF from Linux 6.6, CFS before, from the kernel version"""
        from pvbench.env import scheduler_class
        self.assertTrue(scheduler_class("6.6.0").startswith("EEVDF"))
        self.assertTrue(scheduler_class("6.18.44-fc").startswith("EEVDF"))
        self.assertTrue(scheduler_class("6.1.0-13-amd64").startswith("CFS"))
        self.assertTrue(scheduler_class("weird").startswith("unknown"))


LINUX_LOG = "\n".join([
    "KTAP version 1",
    "1..1",
    "# linux: test=torture lock=spin_lock duration_ms=1000 warmup_ms=200 long_hold_ms=0 pv=auto",
    "# console: [    0.653125] spin_lock-torture:--- Start of test: long_hold=0 nwriters_stress=2",
    "# console: [    1.724436] Writes:  Total: 1749724  Max/Min: 881428/868296   Fail: 0 ",
    "# console: [    2.756135] Writes:  Total: 3378476  Max/Min: 1846991/1531485   Fail: 0 ",
    "# console: [    3.772230] Writes:  Total: 5440550  Max/Min: 2944434/2496116   Fail: 0 ",
    '# result: {"test":"torture","guest":"linux","lock":"spin_lock","shape":"locktorture",'
    '"lock_impl":"virt_spin_lock","long_hold_ms":0,"long_holds":2,"warmup_ns":1071311000,'
    '"duration_ns":1031699000,"acquisitions":1628752,"throughput_per_s":1578708.5,"fairness":null}',
    "ok 1 torture:linux-spin_lock",
    "EXIT: STATUS=0",
    ""])


def pvspin_log(lock, shape, **fields):
    """A test=bench boot's log with one lock's result (SHAPE None: a guest that names none)."""
    result = {"test": "bench", "lock": lock, "throughput_per_s": 2000.0, "fairness": 0.9,
              "latency_ns": {"p50": 50, "p99": 90, "p999": 100}, **fields}
    if shape:
        result["shape"] = shape
    return "\n".join(["KTAP version 1", "1..1", f"# result: {json.dumps(result)}",
                      f"ok 1 bench:{lock}", "EXIT: STATUS=0", ""])


def peer_record(config, guest, shape, lock, tput, impl=None):
    """A result record of one series; the peer's has no fairness and no latencies."""
    r = record(config, lock, tput=tput)
    r.update(guest=guest, shape=shape, lock_impl=impl)
    if guest == "linux":
        r.update(fairness=None, latency_p50_ns=None, latency_p99_ns=None, latency_p999_ns=None)
    return r


def peer_options(out, configs, locks=("tas",), **more):
    return options(out, configs, locks, **{**dict(peer="linux", peer_lock="spin_lock",
                                                  shapes=["default", "locktorture"]), **more})


class Peer(unittest.TestCase):
    def parse(self, tmp, *args):
        """parse_args on ARGS (--configs 2@0 unless given); (Options or None, stderr, status)."""
        from contextlib import redirect_stderr
        from io import StringIO
        from pvbench.cli import parse_args
        argv = [*args, "--out", f"{tmp}/out"] + ([] if "--configs" in args else ["--configs", "2@0"])
        err = StringIO()
        try:
            with redirect_stderr(err):
                return parse_args(argv), err.getvalue(), 0
        except SystemExit as e:
            return None, err.getvalue(), e.code

    def test_options(self):
        """--peer linux adds the locktorture shape, spin_lock, no long holds; bad peer options are status 2"""
        with tempfile.TemporaryDirectory() as tmp:
            opts, _, _ = self.parse(tmp, "--peer", "linux")
            self.assertEqual((opts.peer, opts.peer_lock, opts.shapes, opts.long_hold_ms, opts.hypervisor_bit),
                             ("linux", "spin_lock", ["default", "locktorture"], 0, "on"))
            self.assertGreater(opts.peer_timeout, 60)
            opts, _, _ = self.parse(tmp, "--shapes", "locktorture", "--long-hold-ms", "5",
                                    "--hypervisor-bit", "off")
            self.assertEqual((opts.peer, opts.shapes, opts.long_hold_ms, opts.hypervisor_bit),
                             ("", ["locktorture"], 5, "off"))
            opts, _, _ = self.parse(tmp)
            self.assertEqual((opts.peer, opts.shapes), ("", ["default"]))
            for args, why in ((["--peer", "bsd"], "--peer 'bsd': accepted: linux"),
                              (["--peer", "linux", "--peer-lock", "frob"],
                               "--peer-lock 'frob': not a lock type.*accepted: .*spin_lock"),
                              (["--peer-lock", "spin_lock"], "goes with --peer linux"),
                              (["--peer", "linux", "--pv", "ipi"], "--pv 'ipi' with --peer linux"),
                              (["--long-hold-ms", "5"], "--long-hold-ms '5': goes with --peer linux"),
                              (["--peer", "linux", "--long-hold-ms", "5000"], "an integer 0..1000"),
                              (["--shapes", "default,frob"], "unknown shape 'frob'"),
                              (["--hypervisor-bit", "maybe"], "--hypervisor-bit 'maybe': accepted: on, off"),
                              (["--guest", "shape=locktorture"], "the runner sets shape= itself")):
                opts, err, status = self.parse(tmp, *args)
                self.assertEqual(status, 2, args)
                self.assertRegex(err, why)

    def test_plan(self):
        """each config's steps: pvspin, its locktorture shape, then Linux, with their own options"""
        from pvbench.nested import nested_batch_line
        from pvbench.runs import guest_cmdline, plan_runs, run_qemu_options
        from pvbench.variants import plan_variants
        opts = peer_options(Path("/out"), [Config(2, (0, 1)), Config(4, (0, 1))], long_hold_ms=7,
                            hypervisor_bit="off", peer_timeout=90)
        runs = plan_runs(opts, Path("/out/logs"), plan_variants(opts.shapes, opts.peer, opts.peer_lock))
        self.assertEqual([r.name for r in runs[:3]],
                         ["2@0-1-rep1-vm1", "2@0-1-pvspin-locktorture-rep1-vm1",
                          "2@0-1-linux-spin_lock-rep1-vm1"])
        self.assertEqual([(r.config.label, r.variant.text) for r in runs[3:]],
                         [("4@0-1", "pvspin"), ("4@0-1", "pvspin locktorture"), ("4@0-1", "linux spin_lock")])
        default, shaped, linux = (guest_cmdline(opts, r) for r in runs[:3])
        self.assertIn("hold_ns=200", default)
        self.assertNotIn("shape=locktorture", default)
        self.assertEqual([w for w in shaped if w.startswith(("shape=", "long_hold_ms=", "hold_ns="))],
                         ["shape=locktorture", "long_hold_ms=7"])
        self.assertEqual(linux, ["lock=spin_lock", "duration_ms=100", "warmup_ms=20", "long_hold_ms=7",
                                 "pv=auto", "seed=1"])
        self.assertEqual(run_qemu_options(opts, runs[2]),
                         ["--guest", "linux", "--smp", "2", "--pin", "0-1", "--hypervisor-bit", "off",
                          "--timeout", "90"])
        self.assertEqual(run_qemu_options(opts, runs[0])[-4:], ["--hypervisor-bit", "off", "--timeout", "60"])
        self.assertTrue(nested_batch_line(opts, runs[2]).startswith("--guest linux --smp 2"))

    def test_l1_params(self):
        """--l1-param reaches run-qemu.sh for pvspin's L1 and the peer's alike; only with --accel nested"""
        from pvbench.nested import batch_argv
        opts = peer_options(Path("/out"), [Config(2, (0, 1))], accel="nested",
                            l1_params=("kvm_amd.npt=0", "kvm.halt_poll_ns=0"))
        for guest in ("pvspin", "linux"):
            argv = batch_argv(opts, guest, Path("/out/b.batch"))
            self.assertEqual([argv[i + 1] for i, w in enumerate(argv) if w == "--l1-param"],
                             ["kvm_amd.npt=0", "kvm.halt_poll_ns=0"], guest)
        self.assertNotIn("--l1-param", batch_argv(options(Path("/out"), [Config(2, (0, 1))], accel="nested"),
                                                  "pvspin", Path("/out/b.batch")))
        with tempfile.TemporaryDirectory() as tmp:
            for args, why in ((["--l1-param", "kvm_amd.npt=0"], "--l1-param goes with --accel nested"),
                              (["--accel", "nested", "--l1-param", "npt=0"], "MODULE.PARAM=VALUE")):
                opts, err, status = self.parse(tmp, *args)
                self.assertEqual(status, 2, args)
                self.assertRegex(err, why)

    def test_peer_log(self):
        """the peer's verdict is its lock's; its window ends at the stats line its result names"""
        from pvbench.hostrun import VmWatch
        from pvbench.logs import peer_stats_times, peer_window_end
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "linux.log"
            path.write_text(LINUX_LOG)
            outcome = parse_log(path).outcomes["spin_lock"]
            self.assertTrue(outcome.ok)
            self.assertEqual(outcome.result["lock_impl"], "virt_spin_lock")
            self.assertEqual(peer_stats_times(LINUX_LOG), [1724436000, 2756135000, 3772230000])
            self.assertEqual(peer_window_end(LINUX_LOG), ("spin_lock", 2756135000, 1031699000))
            watch = VmWatch(Run(Config(2, (0, 1)), 1, 1, path, path), [])
            watch.stats_seen = {1724436000: 10, 2756135000: 20, 3772230000: 30}
            self.assertEqual(watch.peer_end(), {"spin_lock": (20, 1031699000)})
            self.assertEqual(peer_window_end(pvspin_log("tas", "default")), None)

    def test_records(self):
        """records say guest, shape and lock_impl; a result of another shape than asked is not ok"""
        from pvbench.results import make_records
        from pvbench.variants import Variant
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            config = Config(2, (0, 1))
            opts = peer_options(out, [config], long_hold_ms=0, hypervisor_bit="off")
            logs = (("a", Variant("pvspin", "default"), pvspin_log("tas", "default")),
                    ("b", Variant("pvspin", "locktorture"),
                     pvspin_log("tas", "locktorture", long_hold_ms=0, long_holds_taken=3)),
                    ("c", Variant("linux", "locktorture", "spin_lock"), LINUX_LOG),
                    ("d", Variant("pvspin", "locktorture"), pvspin_log("tas", None)),
                    ("e", Variant("pvspin", "locktorture"), pvspin_log("tas", "default")))
            runs = []
            for name, variant, text in logs:
                (out / f"{name}.log").write_text(text)
                runs.append(Run(config, 1, 1, out / f"{name}.log", out / f"{name}.err", 0, 1.0, "tcg",
                                variant=variant))
            records = make_records(opts, ENV, runs)
            got = [(r["guest"], r["shape"], r["lock"], r["lock_impl"], r["status"], r["long_holds_taken"],
                    r["hypervisor_bit"]) for r in records]
            self.assertEqual(got[:3], [("pvspin", "default", "tas", None, "ok", None, "off"),
                                       ("pvspin", "locktorture", "tas", None, "ok", 3, "off"),
                                       ("linux", "locktorture", "spin_lock", "virt_spin_lock", "ok", 2, "off")])
            self.assertIsNone(records[2]["long_holds"])
            self.assertEqual(records[2]["throughput_per_s"], 1578708.5)
            self.assertEqual(records[3]["status"], "not ok")
            self.assertIn("does not know shape=locktorture", records[3]["reason"])
            self.assertIn("ran shape=default", records[4]["reason"])

    def test_table(self):
        """the side-by-side table: Linux's lock_impl, spreads, ratios to the own 1x run, no 1x said"""
        from pvbench.summary import write_summary
        configs = [Config(2, (0, 1)), Config(4, (0, 1)), Config(4, (0,))]
        rows = [("linux", "locktorture", "spin_lock", "virt_spin_lock", (800.0, 1200.0, 500.0, 300.0)),
                ("pvspin", "default", "tas", None, (100.0, 100.0, 80.0, 40.0)),
                ("pvspin", "locktorture", "tas", None, (2000.0, 2000.0, 500.0, 600.0))]
        records = []
        for guest, shape, lock, impl, (a, b, c, d) in rows:
            for config, tput in (("2@0-1", a), ("2@0-1", b), ("4@0-1", c), ("4@0", d)):
                records.append(peer_record(config, guest, shape, lock, tput, impl))
        with tempfile.TemporaryDirectory() as tmp:
            opts = peer_options(Path(tmp), configs)
            bench = Bench(opts, ENV, ["matrix.py", "--peer", "linux"], "2026-01-01T00:00:00+00:00", None,
                          [], records)
            text = write_summary(bench, build_cells(records))
        section = text[text.index("## Linux peer side by side"):]
        tables = {c.label: section[section.index(f"### {c.label} "):] for c in configs}
        self.assertIn("| linux | spin_lock | locktorture | virt_spin_lock | 2/2 | 1,000 | 800-1,200 | 40% "
                      "| 1x | 1x |", tables["2@0-1"])
        self.assertIn("| pvspin | tas | locktorture | virt_spin_lock (Linux's) | 2/2 | 2,000 | "
                      "2,000-2,000 | 0% | 1x | 2x |", tables["2@0-1"])
        self.assertIn("| linux | spin_lock | locktorture | virt_spin_lock | 1/1 | 500 | 500-500 | 0% "
                      "| 0.5x | 1x |", tables["4@0-1"])
        self.assertIn("| pvspin | tas | default | virt_spin_lock (Linux's) | 1/1 | 80 | 80-80 | 0% "
                      "| 0.8x | - |", tables["4@0-1"])
        self.assertIn("| pvspin | tas | locktorture | virt_spin_lock (Linux's) | 1/1 | 500 | 500-500 | 0% "
                      "| 0.25x | 1x |", tables["4@0-1"])
        self.assertIn("vs own 1x is against 2@0-1.", tables["4@0-1"])
        self.assertIn("| 1/1 | 300 | 300-300 | 0% | no 1x config on 0 | 1x |", tables["4@0"])
        self.assertIn("no 1x config on cpuset 0, so no ratio to 1x", tables["4@0"])
        self.assertIn("long_hold_ms=0: locktorture's long holds off", text)
        self.assertIn("### linux spin_lock", text)
        self.assertIn("### tas (locktorture)", text)

    def test_store(self):
        """the peer's options, L1's parameters, boots and records are stored; an older matrix.json reads as
        pvspin's default shape and no L1 parameters"""
        from pvbench.variants import PVSPIN_DEFAULT, Variant
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            config = Config(2, (0, 1))
            linux = Variant("linux", "locktorture", "spin_lock")
            runs = [Run(config, 1, 1, out / "logs/a.log", out / "logs/a.err", 0, 1.5, "tcg"),
                    Run(config, 1, 1, out / "logs/b.log", out / "logs/b.err", 0, 6.5, "tcg", variant=linux)]
            records = [peer_record("2@0-1", "pvspin", "default", "tas", 10.0),
                       peer_record("2@0-1", "linux", "locktorture", "spin_lock", 20.0, "qspinlock")]
            bench = Bench(peer_options(out, [config], long_hold_ms=3, hypervisor_bit="off", peer_timeout=90,
                                       l1_params=("kvm_amd.npt=0",)),
                          ENV, ["matrix.py"], "2026-01-01T00:00:00+00:00", None, runs, records)
            save(bench)
            self.assertEqual(load(out, plot=False, quiet=True), bench)
            doc = json.loads((out / "matrix.json").read_text())
            self.assertEqual(doc["options"]["l1_params"], ["kvm_amd.npt=0"])
            for name in ("shapes", "peer", "peer_lock", "long_hold_ms", "hypervisor_bit", "peer_timeout", "l1_params"):
                del doc["options"][name]
            for run in doc["runs"]:
                del run["variant"]
            (out / "matrix.json").write_text(json.dumps(doc))
            (out / "results.jsonl").write_text(json.dumps(records[0]) + "\n")
            old = load(out, plot=False, quiet=True)
            self.assertEqual((old.opts.peer, old.opts.shapes, old.opts.hypervisor_bit, old.opts.peer_timeout,
                              old.opts.l1_params), ("", ["default"], "on", 60, ()))
            self.assertEqual({r.variant for r in old.runs}, {PVSPIN_DEFAULT})


class MakefileMatrices(unittest.TestCase):
    parse = Peer.parse

    @staticmethod
    def matrices():
        """The Makefile's BENCH_*_MATRIX := values, continued lines joined: {name: [words]}."""
        text = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
        text = re.sub(r"\\\n", " ", text)
        return {m.group(1): m.group(2).split()
                for m in re.finditer(r"^(BENCH_\w*MATRIX)\s*:=(.*)$", text, re.M)}

    def test_parser_accepts(self):
        """every BENCH_*_MATRIX of the Makefile is a command line pvbench's parser accepts (no boot)"""
        from unittest import mock
        matrices = self.matrices()
        self.assertGreaterEqual(len(matrices), 5, matrices)
        self.assertIn("BENCH_XEN_MATRIX", matrices)
        # The matrices name host CPUs 0-1 (a 2-CPU host); whether this host has them is not theirs to say.
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch("os.sched_getaffinity", return_value=set(range(facts.KVM_MAX_VCPUS))):
            for name, words in matrices.items():
                opts, err, status = self.parse(tmp, *words)
                self.assertEqual((status, err), (0, ""), f"{name}: {' '.join(words)}")
                self.assertTrue(opts.configs, name)

    def test_bad_matrix_refused(self):
        """BENCH_XEN_MATRIX with an unknown lock or Xen scheduler in it is refused (status 2 naming it)"""
        from unittest import mock
        xen = self.matrices()["BENCH_XEN_MATRIX"]
        with tempfile.TemporaryDirectory() as tmp, \
                mock.patch("os.sched_getaffinity", return_value=set(range(facts.KVM_MAX_VCPUS))):
            for old, new in (("pvqspinlock", "frob"), ("credit2", "fifo")):
                words = [w.replace(old, new) if old in w.split(",") else w for w in xen]
                self.assertNotEqual(words, xen, old)
                opts, err, status = self.parse(tmp, *words)
                self.assertEqual(status, 2, words)
                self.assertIn(f"'{new}'", err)


class XenSched(unittest.TestCase):
    """Xen's scheduler as a config's mode (~sched=NAME) and --xen-sched."""
    parse = Peer.parse

    def test_label(self):
        """~sched=NAME is the config's Xen scheduler, kept in its label and base label; an unknown name lists facts.XEN_SCHEDS"""
        c = parse_configs("8@0-1~sched=credit,2@0-1")
        self.assertEqual(c, [Config(8, (0, 1), sched="credit"), Config(2, (0, 1))])
        self.assertEqual((c[0].label, c[0].base_label, c[0].mode, c[0].interference),
                         ("8@0-1~sched=credit", "8@0-1~sched=credit", "sched=credit", ""))
        self.assertEqual(c[0].slug, "8@0-1~sched=credit")
        self.assertEqual((c[1].label, c[1].mode), ("2@0-1", ""))
        self.assertIn("credit2", facts.XEN_SCHEDS)
        self.assertIn("credit", facts.XEN_SCHEDS)
        with self.assertRaisesRegex(UsageError, re.escape(
                f"--configs '8@0-1~sched=fifo': 'fifo' is not one of Xen's schedulers; "
                f"accepted: {', '.join(facts.XEN_SCHEDS)}")):
            parse_configs("8@0-1~sched=fifo")

    def test_crossing(self):
        """--xen-sched credit2,credit crosses every config without its own scheduler; without it, a config has no scheduler (run-qemu.sh's default) and no ~sched= in its label"""
        with tempfile.TemporaryDirectory() as tmp:
            opts, err, status = self.parse(tmp, "--accel", "xen", "--configs", "1@0,4@0",
                                           "--xen-sched", "credit2,credit")
            self.assertEqual(status, 0, err)
            self.assertEqual([c.label for c in opts.configs],
                             ["1@0~sched=credit2", "1@0~sched=credit", "4@0~sched=credit2", "4@0~sched=credit"])
            opts, err, _ = self.parse(tmp, "--accel", "xen", "--configs", "1@0~sched=rtds,4@0",
                                      "--xen-sched", "credit", "--xen-sched", "credit")
            self.assertEqual([c.label for c in opts.configs], ["1@0~sched=rtds", "4@0~sched=credit"])
            opts, err, _ = self.parse(tmp, "--accel", "xen", "--configs", "1@0,4@0")
            self.assertEqual([(c.label, c.sched) for c in opts.configs], [("1@0", ""), ("4@0", "")])

    def test_refused(self):
        """a Xen scheduler without --accel xen, an unknown one, null on more vCPUs than Xen CPUs, more vCPUs than a PVH domain has: status 2"""
        accepted = ", ".join(facts.XEN_SCHEDS)
        with tempfile.TemporaryDirectory() as tmp:
            for args, why in ((["--xen-sched", "credit"],
                               f"--xen-sched credit with --accel tcg: .*goes with --accel xen; "
                               f"accepted: --accel xen with one of {accepted}"),
                              (["--accel", "kvm", "--configs", "2@0~sched=credit"],
                               "--configs '2@0~sched=credit' with --accel kvm: ~sched=NAME is Xen's"),
                              (["--accel", "xen", "--xen-sched", "credit,fifo"],
                               f"--xen-sched: 'fifo' is not one of Xen's schedulers; accepted: {accepted}"),
                              (["--accel", "xen", "--configs", "4@0", "--xen-sched", "null"],
                               "config 4@0~sched=null: Xen's null scheduler runs one vCPU per Xen CPU"),
                              (["--accel", "xen", "--xen-sched", "credit", "--stall", "5/10"],
                               "--quota, --stall and --hog: under --accel xen"),
                              (["--accel", "xen", "--configs", f"{facts.XEN_PVH_MAX_VCPUS + 1}@0"],
                               f"config {facts.XEN_PVH_MAX_VCPUS + 1}@0: .*a PVH domain under Xen has "
                               f"at most {facts.XEN_PVH_MAX_VCPUS}")):
                opts, err, status = self.parse(tmp, *args)
                self.assertEqual(status, 2, args)
                self.assertRegex(err, why)

    def test_run_qemu_argv(self):
        """a ~sched=NAME config boots with run-qemu.sh --xen-sched NAME; one without, with Xen's default"""
        from pvbench.runs import plan_runs, vm_argv
        opts = options(Path("/out"), [Config(8, (0, 1), sched="credit"), Config(2, (0, 1))], accel="xen")
        credit, default = plan_runs(opts, Path("/out/logs"), [Variant("pvspin", "default")])
        argv = vm_argv(opts, credit, "/tmp/q.sock")
        self.assertEqual(argv[1:3], ["--accel", "xen"])
        at = argv.index("--xen-sched")
        self.assertEqual(argv[at + 1], "credit")
        self.assertIn("--xen-cpus", argv[:argv.index("--")])
        self.assertNotIn("--xen-sched", vm_argv(opts, default, "/tmp/q.sock"))
        self.assertEqual(credit.name, "8@0-1~sched=credit-rep1-vm1")

    def test_records(self):
        """each record says the scheduler its result's env names; one other than the config's is not ok"""
        from pvbench.results import make_records
        xen = lambda sched: {"accel": "xen", "xen": {"version": "4.17", "sched": sched, "cpus": 2}}  # noqa: E731
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            credit, default = Config(2, (0, 1), sched="credit"), Config(2, (0, 1))
            runs = []
            for name, config, sched in (("a", credit, "credit"), ("b", credit, "credit2"), ("c", default, "credit2")):
                (out / f"{name}.log").write_text(pvspin_log("tas", "default", env=xen(sched)))
                runs.append(Run(config, 1, 1, out / f"{name}.log", out / f"{name}.err", 0, 1.0, "xen"))
            records = make_records(options(out, [credit, default], ["tas"], accel="xen"), ENV, runs)
            self.assertEqual([(r["config"], r["xen_sched"], r["status"]) for r in records],
                             [("2@0-1~sched=credit", "credit", "ok"), ("2@0-1~sched=credit", "credit2", "not ok"),
                              ("2@0-1", "credit2", "ok")])
            self.assertIn("Xen ran sched=credit2, the runner asked for sched=credit", records[1]["reason"])

    def test_store(self):
        """a scheduler is stored in matrix.json and read back; a matrix.json without one reads as Xen's default"""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            config = Config(2, (0, 1), sched="credit")
            runs = [Run(config, 1, 1, out / "logs/a.log", out / "logs/a.err", 0, 1.5, "xen")]
            bench = Bench(options(out, [config], ["tas"], accel="xen"), ENV, ["matrix.py"],
                          "2026-01-01T00:00:00+00:00", None, runs, [record(config.label, "tas")])
            save(bench)
            self.assertEqual(load(out, plot=False, quiet=True), bench)
            doc = json.loads((out / "matrix.json").read_text())
            del doc["options"]["configs"][0]["sched"]
            doc["runs"][0]["config"] = "2@0-1"
            (out / "matrix.json").write_text(json.dumps(doc))
            (out / "results.jsonl").write_text(json.dumps(record("2@0-1", "tas")) + "\n")
            self.assertEqual(load(out, plot=False, quiet=True).opts.configs, [Config(2, (0, 1))])

    def test_reports(self):
        """goal (a), 'vs lowest overcommit' and the plot's lines compare each config with its own scheduler's"""
        from pvbench.plots import write_throughput_data
        from pvbench.summary import lock_section
        configs = [Config(n, (0, 1), sched=s) for n in (2, 8) for s in ("credit2", "credit")]
        cells = build_cells([record("2@0-1~sched=credit2", "pvqspinlock", tput=1000.0),
                             record("2@0-1~sched=credit", "pvqspinlock", tput=100.0),
                             record("8@0-1~sched=credit2", "pvqspinlock", tput=400.0),
                             record("8@0-1~sched=credit", "pvqspinlock", tput=80.0)])
        with tempfile.TemporaryDirectory() as tmp:
            opts = options(Path(tmp), configs, accel="xen")
            self.assertTrue(goal_keep(opts, cells, configs[3]).startswith(
                "- PASS (a) at 8@0-1~sched=credit: pvqspinlock keeps 80% of its 1x throughput (80/s vs 100/s "
                "at 2@0-1~sched=credit)"))
            self.assertTrue(goal_keep(opts, cells, configs[2]).startswith("- MISS (a) at 8@0-1~sched=credit2"))
            rows = [l for l in lock_section(opts, cells, "pvqspinlock") if l.startswith("| 4x")]
            self.assertEqual([r.split(" | ")[12:14] for r in rows],
                             [["0.4x", "sched=credit2"], ["0.8x", "sched=credit"]])
            blocks = write_throughput_data(opts, cells)
            self.assertEqual([t for t, _ in blocks], ["pvqspinlock on 0-1, sched=credit2",
                                                      "pvqspinlock on 0-1, sched=credit"])


class Layers(unittest.TestCase):
    def test_import_order(self):
        """each pvbench module imports only those listed above it (no cycles)"""
        package = Path(__file__).resolve().parents[1] / "tools" / "bench" / "pvbench"
        doc = (package / "__init__.py").read_text()
        order = re.findall(r"^  ([a-z]+) ", doc, re.M)
        self.assertEqual(sorted(order), sorted(p.stem for p in package.glob("*.py")
                                               if p.stem != "__init__"))
        for i, name in enumerate(order):
            text = (package / f"{name}.py").read_text()
            used = re.findall(r"^from \.(\w*) import (\w+)", text, re.M)
            used = [module or imported for module, imported in used]
            later = [m for m in used if m not in order[:i]]
            self.assertEqual(later, [], f"{name} imports {later}")


if __name__ == "__main__":
    sys.exit(unitrun.main(sys.modules[__name__], "bench unit"))
