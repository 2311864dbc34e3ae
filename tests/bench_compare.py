#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench_compare.py: unit tests of the matrix as LAVA jobs, import-lava, merge, compare and their statistics.
"""Host-only tests of tools/bench/pvbench's lavajobs, importlava, merge and
compare, and of tools/pvspin/stats.py's ratio_interval: no VM is booted and
no dispatcher runs (the LAVA logs are written in lava-run's own format).

Prints 'ok bench compare: NAME' or 'FAIL bench compare: NAME: WHY' per test
and ends with 'N passed, N failed'. Status 0 when all passed, else 1.
"""
import contextlib
import io
import json
import math
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools" / "bench"), str(ROOT / "tools")]

from pvspin import stats, unitrun  # noqa: E402
from pvbench import compare, importlava, lavajobs, merge  # noqa: E402
from pvbench.cli import Options, parse_args  # noqa: E402
from pvbench.common import UsageError  # noqa: E402
from pvbench.config import Config  # noqa: E402
from pvbench.report import rebuild  # noqa: E402
from pvbench.runs import Run  # noqa: E402
from pvbench.store import Bench, load, save  # noqa: E402

ENV = {"qemu_version": "QEMU 7.2", "host_cpu_model": "a CPU", "host_cpus_online": 2,
       "host_kernel": "6.1", "guest_revision": "abc1234", "slice_ns": 3000000,
       "slice_source": "--slice-ms"}
LOCKS = ("tas", "pvqspinlock")


def quiet_call(fn, *args):
    """(status, stdout, stderr) of FN(*ARGS); a SystemExit's code is the status."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = fn(*args)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


def options(out, configs, reps, **more):
    return Options(**{**dict(locks=list(LOCKS), configs=configs, reps=reps, duration_ms=100,
                             warmup_ms=20, hold_ns=200, think_ns=500, pv="auto", guest=[],
                             accel="tcg", l1_smp=2, pin_vcpus=False, seed=1,
                             stall_mechanism="auto", timeout=60, slice_ns=3000000,
                             slice_source="--slice-ms", run_qemu=Path("/bin/true"), out=out,
                             default_out=False, plot=False, quiet=True, shapes=["default"],
                             peer="", peer_lock="", long_hold_ms=0, hypervisor_bit="on",
                             peer_timeout=60), **more})


def result_set(out, tputs, env=ENV, config=Config(4, (0, 1))):
    """A stored run: lock -> its throughputs, one per repetition."""
    (out / "logs").mkdir(parents=True)
    reps = max(len(v) for v in tputs.values())
    runs = [Run(config, rep, 1, out / "logs" / f"r{rep}.log", out / "logs" / f"r{rep}.err", 0, 1.0, "tcg")
            for rep in range(1, reps + 1)]
    records = [{"config": config.label, "lock": lock, "status": "ok", "reason": "", "rep": rep,
                "vm": 1, "accel": "tcg", "throughput_per_s": t, "fairness": 0.9,
                "latency_p50_ns": 100, "latency_p99_ns": 500, "latency_p999_ns": 900}
               for lock, values in tputs.items() for rep, t in enumerate(values, 1)]
    save(Bench(options(out, [config], reps, locks=list(tputs)), env, ["matrix.py"], "2026-12-07",
               None, runs, records))
    return out


class Statistics(unittest.TestCase):
    def test_counts(self):
        """Mann-Whitney U's null counts: C(m+n, m) orderings, symmetric, the known 4x4 row"""
        for m, n in ((1, 1), (3, 5), (4, 4), (7, 2)):
            counts = stats.mann_whitney_counts(m, n)
            self.assertEqual(sum(counts), math.comb(m + n, m))
            self.assertEqual(counts, counts[::-1])
        self.assertEqual(stats.mann_whitney_counts(4, 4),
                         [1, 1, 2, 3, 5, 5, 7, 7, 8, 7, 7, 5, 5, 3, 2, 1, 1])

    def test_minimum_n(self):
        """95% needs C(m+n, m) >= 40: 4 a side (70), not 3 (20); 1 against 39 but not 38"""
        self.assertEqual(stats.min_orderings(0.95), 40)
        self.assertEqual(stats.min_per_side(0.95), 4)
        self.assertEqual(stats.min_per_side(0.99), 5)
        self.assertFalse(stats.decidable(3, 3))
        self.assertTrue(stats.decidable(4, 4))
        self.assertTrue(stats.decidable(2, 8))
        self.assertTrue(stats.decidable(1, 39))
        self.assertFalse(stats.decidable(1, 38))

    def test_critical_ranks(self):
        """the interval's ranks are the tables' critical values (5x5: U <= 2; 10x10: U <= 23)"""
        self.assertEqual(stats._rank_k(5, 5, 0.95)[0], 3)
        self.assertEqual(stats._rank_k(10, 10, 0.95)[0], 24)
        k, coverage = stats._rank_k(4, 4, 0.95)
        self.assertEqual(k, 1)
        self.assertAlmostEqual(coverage, 1 - 2 / 70)

    def test_ratio(self):
        """a 30% drop: estimate 0.7, interval below 1; equal sets: 1 inside; big sets use the normal law"""
        base = [1000 + 10 * i for i in range(5)]
        r = stats.ratio_interval(base, [0.7 * v for v in base])
        self.assertAlmostEqual(r.ratio, 0.7)
        self.assertTrue(r.hi < 1 and r.excludes_one())
        same = stats.ratio_interval(base, base)
        self.assertEqual(same.ratio, 1.0)
        self.assertFalse(same.excludes_one())
        big = [100 + i for i in range(120)]
        wide = stats.ratio_interval(big, [2 * v for v in big])
        self.assertAlmostEqual(wide.ratio, 2.0, places=6)
        self.assertTrue(wide.lo < 2.0 < wide.hi)

    def test_shift(self):
        """+10 on every value: estimate 10, interval around it; equal sets: 0 inside; the verdicts"""
        base = [100.0 + 3 * i for i in range(5)]
        s = stats.shift_interval(base, [v + 10 for v in base])
        self.assertEqual(s.shift, 10.0)
        self.assertTrue(s.lo <= 10.0 <= s.hi and s.lo > 0)
        self.assertAlmostEqual(s.coverage, 1 - 2 * 4 / 252)   # 5x5: U <= 2 in 1 + 1 + 2 orderings
        same = stats.shift_interval(base, base)
        self.assertTrue(same.lo < 0 < same.hi)
        self.assertEqual(stats.at_most(s.lo, s.hi, s.hi), stats.MET)
        self.assertEqual(stats.at_most(s.lo, s.hi, s.lo - 0.1), stats.MISSED)
        self.assertEqual(stats.at_most(s.lo, s.hi, 10.0), stats.UNDECIDED)
        with self.assertRaises(stats.TooFew):
            stats.shift_interval(base[:3], base[:3])

    def test_too_few(self):
        """one repetition a side: TooFew, saying 4 are needed; a zero: ValueError"""
        with self.assertRaises(stats.TooFew) as e:
            stats.ratio_interval([1.0], [2.0])
        self.assertEqual(e.exception.needed, 4)
        self.assertIn("at least 4 a side", str(e.exception))
        with self.assertRaises(ValueError):
            stats.ratio_interval([0.0, 1, 2, 3], [1.0, 2, 3, 4])


class LavaJobs(unittest.TestCase):
    def opts(self, out, *argv):
        return parse_args(["--lava-jobs", str(out), "--locks", ",".join(LOCKS), "--duration-ms", "100",
                           "--warmup-ms", "20", *argv])

    def test_one_job_per_config_and_rep(self):
        """--lava-jobs: one job per config x rep, named like the run's log, each its vCPUs and seed"""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "jobs"
            opts = self.opts(out, "--configs", "1@0,2@0", "--reps", "3")
            written = lavajobs.write_jobs(opts, ["matrix.py"], "2026-12-07")
            manifest = json.loads((out / lavajobs.MANIFEST).read_text())
            self.assertEqual(len(written), 3 * 2 + 1)
            self.assertEqual(len(manifest["jobs"]), 6)
            self.assertEqual([(j["config"], j["rep"]) for j in manifest["jobs"]],
                             [(c, r) for r in (1, 2, 3) for c in ("1@0", "2@0")])
            for j in manifest["jobs"]:
                text = (out / j["job"]).read_text()
                self.assertIn(f"'-smp {j['smp']}'", text)
                self.assertIn(f"seed={j['rep']}", j["guest_options"])
                self.assertIn("test=bench", j["guest_options"])
                self.assertIn(" ".join(j["guest_options"]), text)
                self.assertEqual(j["locks"], list(LOCKS))
            self.assertEqual(manifest["options"]["reps"], 3)

    def test_refusals(self):
        """refused with a reason: interference, --pin-vcpus, VMs sharing a cpuset, the peer, one job for two configs"""
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "jobs"
            cases = ((("--configs", "1@0", "--quota", "50"), "cannot be dialled"),
                     (("--configs", "1@0", "--stall", "5/10"), "cannot be dialled"),
                     (("--configs", "1@0", "--pin-vcpus"), "cannot be dialled"),
                     (("--configs", "1@0x2"), "one job's QEMU at a time"),
                     (("--configs", "1@0", "--peer", "linux"), "Linux peer"),
                     (("--configs", "2@0,2@0-1"), "no cpuset"))
            for argv, why in cases:
                opts = self.opts(out, *argv)
                with self.assertRaises(UsageError) as e:
                    lavajobs.plan(opts)
                self.assertIn(why, str(e.exception), argv)
            self.assertFalse(out.exists())
            self.assertEqual(quiet_call(parse_args, ["--lava-image-url", "http://x/"])[0], 2)
            opts = self.opts(out, "--configs", "1@0", "--out", str(Path(tmp) / "o"))
            self.assertIn("--out", lavajobs.refusal(opts))


def lava_log(entry, cpu='AuthenticAMD \\"QEMU TCG CPU version 2.5+\\"', exit_status=0, raw=False):
    """A dispatcher log of ENTRY's job as lava-run writes it (console quotes escaped);
    RAW: as lavacli jobs logs --raw gives it (a YAML list)."""
    def rec(lvl, msg):
        return json.dumps({"dt": "2026-12-07T10:00:0%d.000000" % min(len(lines), 9), "lvl": lvl, "msg": msg})
    lines = []
    lines.append(rec("info", "lava-dispatcher, installed at version: 2023.01"))
    lines.append(rec("info", "qemu-system-x86, installed at version: 1:7.2+test, host architecture: amd64"))
    target = ["KTAP version 1", f"1..{len(entry['locks'])}",
              f'# boot: multiboot1 loader=\\"qemu\\" cmdline=\\"/tmp/x/pvspin.elf '
              f'{" ".join(entry["guest_options"])}\\"',
              f"# cpu: {cpu} kvm=no", "# tsc: 2600000000 Hz from hpet",
              f"# smp: {entry['smp']} of {entry['smp']} CPUs online (xapic, madt)"]
    for n, lock in enumerate(entry["locks"], 1):
        result = {"test": "bench", "lock": lock, "cpus": entry["smp"], "shape": "default",
                  "throughput_per_s": 1000.0 * n + entry["rep"], "acquisitions": 100,
                  "fairness": 0.9, "duration_ns": 100000000, "latency_ns": {"p50": 1, "p99": 2, "p999": 3}}
        target += ["# result: " + json.dumps(result).replace('"', '\\"'), f"ok {n} bench:{lock}"]
    target.append(f"EXIT: STATUS={exit_status}")
    lines += [rec("target", t) for t in target]
    for n, lock in enumerate(entry["locks"], 1):
        lines.append(rec("results", {"case": f"bench_{lock}", "definition": "pvspin-ktap",
                                     "extra": {"test_case_id": f"bench:{lock}"}, "result": "pass"}))
    lines.append(rec("results", {"case": "exit", "definition": "pvspin-exit", "measurement": str(exit_status),
                                 "result": "pass" if exit_status == 0 else "fail"}))
    lines.append(rec("results", {"case": "job", "definition": "lava", "result": "pass"}))
    return "".join(("- " if raw else "") + line + "\n" for line in lines)


class ImportLava(unittest.TestCase):
    def jobs(self, tmp, reps=2):
        out = Path(tmp) / "jobs"
        opts = parse_args(["--lava-jobs", str(out), "--locks", ",".join(LOCKS), "--configs", "1@0,2@0",
                           "--reps", str(reps), "--duration-ms", "100", "--warmup-ms", "20"])
        lavajobs.write_jobs(opts, ["matrix.py"], "2026-12-07")
        return out, json.loads((out / lavajobs.MANIFEST).read_text())["jobs"]

    def run_local_dir(self, jobs, entry, **kw):
        """What tools/lava/run-local.sh --output-dir DIR leaves: job.yaml, lava-run.log."""
        d = jobs / Path(entry["job"]).stem
        d.mkdir()
        (d / "job.yaml").write_text((jobs / entry["job"]).read_text())
        (d / "lava-run.log").write_text(lava_log(entry, **kw))

    def test_run_local_dirs(self):
        """run-local output directories become a run directory that report reads, every record ok"""
        with tempfile.TemporaryDirectory() as tmp:
            jobs, entries = self.jobs(tmp)
            for e in entries:
                self.run_local_dir(jobs, e)
            out = Path(tmp) / "run"
            bench = importlava.import_runs(out, [jobs], None, None, ["import-lava"])
            self.assertEqual(len(bench.records), len(entries) * len(LOCKS))
            self.assertEqual({r["status"] for r in bench.records}, {"ok"})
            loaded = load(out, plot=False)
            self.assertEqual(len(loaded.records), len(bench.records))
            r = loaded.records[0]
            self.assertEqual((r["config"], r["lock"], r["rep"]), ("1@0", "tas", 1))
            self.assertEqual(r["throughput_per_s"], 1001.0)
            self.assertEqual(r["qemu_version"], "1:7.2+test")
            self.assertEqual(r["env"]["guest_cpu"], 'AuthenticAMD "QEMU TCG CPU version 2.5+" kvm=no')
            self.assertEqual(r["env"]["lava_device"], importlava.RUN_LOCAL_DEVICE)
            self.assertEqual(r["env"]["guest_tsc"], "2600000000 Hz from hpet")
            summary, _ = rebuild(out, False, None)
            self.assertIn("1:7.2+test", summary)

    def test_lavacli_logs(self):
        """lavacli --raw logs: matched by name or by command line; the device from --device; a job without a log is not started"""
        with tempfile.TemporaryDirectory() as tmp:
            jobs, entries = self.jobs(tmp)
            logs = Path(tmp) / "logs"
            logs.mkdir()
            (logs / entries[0]["job"].replace(".yaml", ".log")).write_text(lava_log(entries[0], raw=True))
            (logs / "4711.log").write_text(lava_log(entries[1], raw=True, exit_status=1))
            out = Path(tmp) / "run"
            bench = importlava.import_runs(out, [logs], jobs / lavajobs.MANIFEST, "lab-qemu-01", [])
            started = [r for r in bench.runs if r.status is not None]
            self.assertEqual(sorted((r.config.label, r.rep, r.status) for r in started),
                             [("1@0", 1, 0), ("2@0", 1, 1)])
            self.assertEqual(len(bench.records), 2 * len(LOCKS))
            self.assertEqual({r["env"]["lava_device"] for r in bench.records}, {"lab-qemu-01"})
            self.assertEqual(bench.env["lava_devices"], ["lab-qemu-01"])

    def test_bad_input(self):
        """no manifest, a log of no job, two logs of one job, not a LAVA log: UsageError each"""
        with tempfile.TemporaryDirectory() as tmp:
            jobs, entries = self.jobs(tmp)
            logs = Path(tmp) / "logs"
            logs.mkdir()
            (logs / "a.log").write_text(lava_log(entries[0]))
            with self.assertRaisesRegex(UsageError, "no manifest"):
                importlava.import_runs(Path(tmp) / "r1", [logs], None, None, [])
            (logs / "b.log").write_text(lava_log(entries[0]))
            with self.assertRaisesRegex(UsageError, "both logs of"):
                importlava.import_runs(Path(tmp) / "r2", [logs], jobs / lavajobs.MANIFEST, None, [])
            (logs / "b.log").write_text(lava_log({**entries[0], "guest_options": ["test=smp"]}))
            with self.assertRaisesRegex(UsageError, "matches no job"):
                importlava.import_runs(Path(tmp) / "r3", [logs], jobs / lavajobs.MANIFEST, None, [])
            (logs / "b.log").write_text("hello\n")
            with self.assertRaisesRegex(UsageError, "not a LAVA job log"):
                importlava.import_runs(Path(tmp) / "r4", [logs], jobs / lavajobs.MANIFEST, None, [])
            code, _, err = quiet_call(importlava.main, [str(logs)])
            self.assertEqual(code, 2)


class Compare(unittest.TestCase):
    BASE = [100000.0, 101000, 99000, 100500, 99500]

    def sets(self, tmp, new, base=None):
        base_dir = result_set(Path(tmp) / "base", {"tas": self.BASE, "pvqspinlock": base or self.BASE})
        new_dir = result_set(Path(tmp) / "new", {"tas": self.BASE, "pvqspinlock": new})
        return str(base_dir), str(new_dir)

    def test_drop_is_flagged(self):
        """a 30% drop of pvqspinlock, 5 reps each: REGRESSION, status 1; tas unchanged"""
        with tempfile.TemporaryDirectory() as tmp:
            code, out, _ = quiet_call(compare.main, list(self.sets(tmp, [0.7 * v for v in self.BASE])))
            self.assertEqual(code, 1)
            rows = {line.split()[0]: line for line in out.splitlines() if "4@0-1" in line}
            self.assertIn("REGRESSION", rows["pvqspinlock"])
            self.assertIn("-30.0%", rows["pvqspinlock"])
            self.assertIn("~", rows["tas"])
            self.assertIn("1 significant regression(s)", out)

    def test_identical_and_small(self):
        """identical sets: status 0; a 5% drop with --threshold 10: not significant; a rise: status 0"""
        with tempfile.TemporaryDirectory() as tmp:
            base, _ = self.sets(tmp, self.BASE)
            self.assertEqual(quiet_call(compare.main, [base, base])[0], 0)
        with tempfile.TemporaryDirectory() as tmp:
            code, out, _ = quiet_call(compare.main, list(self.sets(tmp, [0.95 * v for v in self.BASE])))
            self.assertEqual(code, 0)
            self.assertIn("within 10%", out)
        with tempfile.TemporaryDirectory() as tmp:
            code, out, _ = quiet_call(compare.main, list(self.sets(tmp, [1.5 * v for v in self.BASE])))
            self.assertEqual(code, 0)
            self.assertIn("improvement", out)

    def test_drift(self):
        """the host 30% slower for every lock: throughput flags tas too, --metric vs_tas flags nothing"""
        with tempfile.TemporaryDirectory() as tmp:
            base = result_set(Path(tmp) / "base", {"tas": self.BASE, "pvqspinlock": self.BASE})
            slower = [0.7 * v for v in self.BASE]
            new = result_set(Path(tmp) / "new", {"tas": slower, "pvqspinlock": slower})
            code, out, _ = quiet_call(compare.main, [str(base), str(new)])
            self.assertEqual((code, out.count("REGRESSION")), (1, 2))
            code, out, _ = quiet_call(compare.main, ["--metric", "vs_tas", str(base), str(new)])
            self.assertEqual((code, out.count("REGRESSION")), (0, 0))
            self.assertIn("over tas's in the same boot", out)

    def test_one_rep(self):
        """one repetition: status 2, saying how many are needed"""
        with tempfile.TemporaryDirectory() as tmp:
            base = result_set(Path(tmp) / "base", {"pvqspinlock": [1000.0]})
            new = result_set(Path(tmp) / "new", {"pvqspinlock": [700.0]})
            code, _, err = quiet_call(compare.main, [str(base), str(new)])
            self.assertEqual(code, 2)
            self.assertIn("C(m+n, m) >= 40 (here 2), e.g. 4 a side", err)

    def test_no_common_config(self):
        """sets with no configuration in common, a bad --threshold, a missing DIR: status 2"""
        with tempfile.TemporaryDirectory() as tmp:
            base = result_set(Path(tmp) / "base", {"tas": self.BASE})
            new = result_set(Path(tmp) / "new", {"tas": self.BASE}, config=Config(2, (0,)))
            code, _, err = quiet_call(compare.main, [str(base), str(new)])
            self.assertEqual(code, 2)
            self.assertIn("share no lock", err)
            self.assertEqual(quiet_call(compare.main, ["--threshold", "-1", str(base), str(base)])[0], 2)
            self.assertEqual(quiet_call(compare.main, [str(base), str(Path(tmp) / "none")])[0], 2)


class Merge(unittest.TestCase):
    def test_every_row_named(self):
        """merge keeps every record, each naming its set; merged.md has a column per set"""
        with tempfile.TemporaryDirectory() as tmp:
            a = result_set(Path(tmp) / "a", {"tas": [1.0, 2.0], "pvqspinlock": [3.0]})
            b = result_set(Path(tmp) / "b", {"tas": [5.0, 6.0, 7.0]},
                           env={**ENV, "host_cpu_model": "another CPU", "host_kernel": "6.18"})
            out = Path(tmp) / "m"
            code, text, _ = quiet_call(merge.main, ["-o", str(out), "--label", f"{b}=kernel-6.18",
                                                    str(a), str(b)])
            self.assertEqual(code, 0)
            rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
            self.assertEqual(len(rows), 3 + 3)
            self.assertEqual([r["set"] for r in rows], ["a"] * 3 + ["kernel-6.18"] * 3)
            self.assertEqual({r["set_host"] for r in rows}, {"a CPU", "another CPU"})
            self.assertEqual({r["set_kernel"] for r in rows}, {"6.1", "6.18"})
            self.assertIn("| config | a | kernel-6.18 |", text)
            self.assertEqual(len((out / "results.csv").read_text().splitlines()), 1 + 6)
            sets = json.loads((out / merge.MERGE_JSON).read_text())["sets"]
            self.assertEqual([s["records"] for s in sets], [3, 3])

    def test_labels(self):
        """--label NAME per DIR in order; too few names, a clash, a non-empty OUT: status 2"""
        with tempfile.TemporaryDirectory() as tmp:
            a = result_set(Path(tmp) / "x" / "run", {"tas": [1.0]})
            b = result_set(Path(tmp) / "y" / "run", {"tas": [2.0]})
            self.assertEqual(merge.parse_labels(["A", "B"], [a, b]), {a: "A", b: "B"})
            for labels in (["A"], [], ["A", f"{b}=B"]):
                with self.assertRaises(UsageError):
                    merge.parse_labels(labels, [a, b])
            code, _, err = quiet_call(merge.main, ["-o", str(a), "--label", "A", "--label", "B", str(a), str(b)])
            self.assertEqual(code, 2)
            self.assertIn("not an empty directory", err)


if __name__ == "__main__":
    sys.exit(unitrun.main(sys.modules[__name__], "bench compare"))
