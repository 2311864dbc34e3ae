#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/lava/run.py: pvspin as LAVA jobs: the job generator, the stock device, run-local.sh and the results reader.
"""tests/lava/run.py [--quick]   (--quick: a stride of the jobs against the schema; of the dispatcher's runs a pass and a failure, and bad input)

  jobs      every combination of run-qemu.sh's options a job carries: the
            refused ones refused (status 2, the rule restated here), the
            others against the golden structure, lava_common's strict
            schema, PyYAML reading back the same job, and (under TCG, one
            option varied at a time) run-qemu.sh --dry-run's QEMU command
            line, less what the stock qemu type gives itself
  device    the in-tree device is qemu.jinja2's rendering, and applying a
            job's context to it gives what the template gives
  frontdoor run-qemu.sh --lava-job's refusals and bad values: status 2
  results   the log reader on synthetic logs (lavacli's raw format, YAML
            tags, a job with no EXIT line)
  run-local jobs run by tools/lava/run-local.sh (root, the dispatcher
            installed): pass, a failure, skips, a crash, a lockup, a
            timeout (not with --quick) and bad jobs

Prints 'ok NAME', 'FAIL NAME: why' or 'skip NAME: why' per case and ends
with 'N passed, N failed, N skipped'; status 0 when none failed.
"""
import functools
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from lava import dispatcher, job, results   # noqa: E402
from pvspin import facts, status            # noqa: E402
from pvspin.counts import Counts            # noqa: E402

RUN_QEMU = REPO / "run-qemu.sh"
RUN_LOCAL = REPO / "tools" / "lava" / "run-local.sh"
LAVA_SIDE = Path(__file__).resolve().parent / "lava_side.py"
QUICK_SCHEMA_STRIDE = 7         # --quick: every 7th combination (103 of 720)
QUICK_RUNS = ("pass", "failure")  # --quick: the dispatcher runs kept
# What the stock qemu type adds around a job's extra_options.
STOCK_OPTIONS = ["-nographic", "-net", "nic,model=virtio,macaddr=52:54:00:12:34:58",
                 "-net", "user", "-m", "MEM", "-monitor", "none"]

counts = Counts()


def ok(name):
    counts.passed += 1
    print(f"ok {name}", flush=True)


def fail(name, why):
    counts.failed += 1
    print(f"FAIL {name}: {why}", flush=True)


def skip(name, why):
    counts.skipped += 1
    print(f"skip {name}: {why}", flush=True)


def check(name, problems):
    if problems:
        fail(name, "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    else:
        ok(name)


# ---- the generator -------------------------------------------------------
AXES = {
    "accel": ("auto", "tcg", "kvm", "nested"),
    "machine": ("q35", "pc", "microvm"),
    "firmware": ("", "qboot", "seabios"),
    "boot": ("multiboot", "pvh", "iso"),
    "exit": ("debug-exit", "acpi"),
    "hyperv": (False, True),
    "hypervisor_bit": ("on", "off"),
    "smp": (1, 4, facts.TCG_MAX_VCPUS, facts.TCG_MAX_VCPUS + 1),
}


def refused(o):
    """The options a job must refuse, stated independently of job.check()."""
    tcg = o.accel in ("auto", "tcg")
    return (o.accel == "nested" or o.boot == "iso"
            or (o.machine == "microvm" and o.firmware)
            or (o.hyperv and tcg)
            or (o.smp > facts.TCG_MAX_VCPUS and (tcg or o.machine != "q35")))


def golden_default():
    """The whole job for the default options, written out."""
    image = REPO / "build" / "pvspin.elf"
    return {
        "job_name": "pvspin test=smp (q35, tcg, 4 vCPUs)",
        "device_type": "qemu", "visibility": "public", "priority": "medium",
        "timeouts": {"job": {"seconds": 300 + 60 + 120 + 60}, "action": {"seconds": 120},
                     "connection": {"seconds": 120}},
        "context": {"arch": "amd64", "no_kvm": True, "memory": 256, "extra_options": [
            "-M q35", "-bios qboot.rom", "-accel tcg,thread=multi,tb-size=64", "-cpu max", "-smp 4",
            "-nodefaults", "-display none", "-serial stdio",
            "-device isa-debug-exit,iobase=0xf4,iosize=4"]},
        "metadata": {"pvspin.smp": "4", "pvspin.mem": "256", "pvspin.accel": "tcg",
                     "pvspin.machine": "q35", "pvspin.boot": "multiboot",
                     "pvspin.exit": "debug-exit", "pvspin.cmdline": "test=smp",
                     "pvspin.timeout": "120"},
        "actions": [
            {"deploy": {"to": "tmpfs", "timeout": {"seconds": 300}, "images": {"kernel": {
                "url": image.as_uri(), "image_arg": '-kernel {kernel} -append "test=smp"',
                "sha256sum": job._sha256(image)}}}},
            {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"seconds": 60}}},
            {"test": {"timeout": {"seconds": 120}, "monitors": job.MONITORS}},
        ],
    }


def structure(o, j):
    """What every generated job holds for options O; the problems found."""
    p = []
    accel = "tcg" if o.accel == "auto" else o.accel
    if list(j) != list(golden_default()):
        p.append(f"keys {list(j)}")
    if [next(iter(a)) for a in j["actions"]] != ["deploy", "boot", "test"]:
        p.append("actions are not deploy, boot, test")
    if j["actions"][2]["test"]["monitors"] != job.MONITORS:
        p.append("monitors differ")
    ctx = j["context"]
    if ctx["no_kvm"] != (accel != "kvm") or ctx["memory"] != o.mem or ctx["arch"] != "amd64":
        p.append(f"context {ctx}")
    extra = " ".join(ctx["extra_options"])
    want = {"-accel tcg,thread=multi": accel == "tcg",
            "-global kvm-pit.lost_tick_policy=discard": accel == "kvm",
            "isa-debug-exit": o.exit == "debug-exit", "-no-reboot": o.exit == "acpi" or o.machine == "microvm",
            "-bios qboot.rom": o.machine != "microvm" and o.firmware != "seabios",
            job.HYPERV_CPU_FLAGS: o.hyperv, "hypervisor=off": o.hypervisor_bit == "off",
            f"-smp {o.smp} ": True, f"-M {o.machine} ": True}
    for text, present in want.items():
        if (text in extra + " ") != present:
            p.append(f"extra_options {'lack' if present else 'hold'} '{text}'")
    kernel = j["actions"][0]["deploy"]["images"]["kernel"]
    if not kernel["url"].endswith("/" + job.IMAGES[o.boot]):
        p.append(f"image url {kernel['url']}")
    t = j["timeouts"]["job"]["seconds"]
    if t != job.DEPLOY_S + job.BOOT_S + o.timeout + job.JOB_MARGIN_S:
        p.append(f"job timeout {t}")
    return p


def test_jobs(lava_ok, quick=False):
    job._sha256 = functools.lru_cache(None)(job._sha256)
    made, problems, n_refused = [], [], 0
    for values in itertools.product(*AXES.values()):
        o = job.Options(**dict(zip(AXES, values)), guest_args=["test=smp"])
        try:
            j = job.build_job(o)
        except job.BadJob:
            n_refused += 1
            if not refused(o):
                problems.append(f"refused {values}")
            continue
        if refused(o):
            problems.append(f"not refused {values}")
            continue
        problems += [f"{values}: {x}" for x in structure(o, j)]
        made.append((values, j))
    if job.build_job(job.Options(guest_args=["test=smp"])) != golden_default():
        problems.append("the default job is not the golden one")
    check(f"jobs: {len(made)} combinations built to the golden structure, {n_refused} refused", problems)

    # Bad values of build_job's own options (matrix.py calls it directly).
    bad = [dict(smp=0), dict(smp=facts.KVM_MAX_VCPUS + 1, accel="kvm"), dict(mem=63), dict(timeout=0),
           dict(accel="xen"), dict(machine="virt"), dict(exit="reset"), dict(cpu="max,x y"),
           dict(qemu_extra=["-append 'x'"]), dict(guest_args=['seed="1"']), dict(guest_args=[""]),
           dict(qemu_extra=["-no-acpi,acpi=off"], exit="acpi")]
    p = []
    for kw in bad:
        try:
            job.build_job(job.Options(**kw))
            p.append(f"{kw} accepted")
        except job.BadJob:
            pass
    check("jobs: bad values refused (BadJob)", p)

    if not lava_ok:
        skip("jobs: lava_common strict schema", lava_ok is None and "not root" or "no dispatcher")
        skip("device: qemu.jinja2 renderings", "as above")
        return
    # --quick: a stride through the combinations (every option value still
    # among them), against lava_common's schema and PyYAML; all of them
    # otherwise (the schema's validation is most of this test's time).
    checked = made[::QUICK_SCHEMA_STRIDE] if quick else made
    texts = [job.to_yaml(j) for _, j in checked]
    contexts = []
    for _, j in checked:
        if j["context"] not in contexts:
            contexts.append(j["context"])
    contexts.append({"arch": "amd64", "no_kvm": False, "memory": 1024, "extra_options": ["-smp 2"]})
    argv, env = dispatcher.python()
    got = subprocess.run(argv + [str(LAVA_SIDE), str(dispatcher.templates())],
                         input=json.dumps({"jobs": texts, "contexts": contexts}),
                         env=env, capture_output=True, text=True)
    if got.returncode != 0:
        fail("jobs: lava_common strict schema", got.stderr.strip()[-400:])
        return
    side = json.loads(got.stdout)
    check(f"jobs: lava_common strict schema ({len(texts)} jobs)",
          [f"{v}: {e}" for (v, _), e in zip(checked, side["schema"]) if e])
    check("jobs: PyYAML reads each job back as generated",
          [f"{v}" for (v, j), back in zip(checked, side["loaded"]) if back != j])
    check("device: the in-tree qemu-device.yaml is qemu.jinja2's rendering", [] if side["in_tree"] else ["differs"])
    check(f"device: a job's context applied as qemu.jinja2 applies it ({len(contexts)} contexts)",
          [f"{c}" for c, a, d in zip(contexts, side["applied"], side["devices"]) if a != d])


def worker_args(j, image):
    """The QEMU arguments a worker adds after the stock ones: extra_options
    and the deploy's image_arg, split into words."""
    words = []
    for item in j["context"]["extra_options"]:
        words += shlex.split(item)
    kernel = j["actions"][0]["deploy"]["images"]["kernel"]
    return words + shlex.split(kernel["image_arg"].replace("{kernel}", str(image)))


def unsummed(text):
    return "".join(line for line in text.splitlines(True) if "sha256sum:" not in line)


def test_same_command():
    """Under TCG, one option varied at a time: the job's QEMU command line is
    run-qemu.sh's, but for -m (the stock type's, from the context) and where
    --qemu's arguments go."""
    variants = [[], ["--machine", "pc"], ["--machine", "microvm"], ["--firmware", "seabios"],
                ["--machine", "pc", "--firmware", "seabios"], ["--boot", "pvh"], ["--exit", "acpi"],
                ["--hypervisor-bit", "off"], ["--cpu", "qemu64"], ["--smp", "1"], ["--smp", "8"], ["--smp", "64"], ["--mem", "512"],
                ["--qemu", "-rtc", "--qemu", "base=utc"], ["--timeout", "30"]]
    p = []
    for v in variants:
        common = ["--accel", "tcg"] + v + ["--", "test=smp", "seed=7"]
        dry = subprocess.run([str(RUN_QEMU), "--dry-run"] + common, capture_output=True, text=True)
        gen = subprocess.run([str(RUN_QEMU), "--lava-job"] + common, capture_output=True, text=True)
        if dry.returncode or gen.returncode:
            p.append(f"{v}: status {dry.returncode}/{gen.returncode}: {(dry.stderr + gen.stderr)[-200:]}")
            continue
        words = shlex.split(dry.stdout)
        assert words[0] == "timeout" and words[2] == "qemu-system-x86_64", words
        qemu = words[3:]
        mem = qemu.index("-m")
        want = qemu[:mem] + qemu[mem + 2:]
        # --qemu's arguments: last in run-qemu.sh's line, before the image
        # in a job's (the dispatcher adds image_arg after extra_options)
        extra = [b for a, b in zip([""] + v, v) if a == "--qemu"]
        if extra:
            want = want[:-len(extra)]
            at = want.index("-kernel")
            want[at:at] = extra
        image = qemu[qemu.index("-kernel") + 1]
        # run-qemu.sh passes each --qemu value as --qemu=ARG (it may start with -)
        jv = [f"--qemu={b}" if a == "--qemu" else b for a, b in zip([""] + v, v) if b != "--qemu"]
        j = job.build_job(job.parse(["--accel", "tcg"] + jv + ["--", "test=smp", "seed=7"]))
        if worker_args(j, image) != want:
            p.append(f"{v}: job {worker_args(j, image)} != run-qemu.sh {want}")
        if str(j["context"]["memory"]) != qemu[mem + 1]:
            p.append(f"{v}: memory {j['context']['memory']} != -m {qemu[mem + 1]}")
        # (but for the image's checksum: the shared tree may be rebuilt meanwhile)
        if unsummed(gen.stdout) != unsummed(job.to_yaml(j)):
            p.append(f"{v}: run-qemu.sh --lava-job printed another job than job.py")
    check(f"jobs: run-qemu.sh --dry-run's QEMU command line ({len(variants)} variants)", p)


def test_frontdoor():
    cases = [
        (["--accel", "nested"], "a lab's qemu device"), (["--guest", "linux"], "--guest linux"),
        (["--gdb"], "--gdb"), (["--iso"], "--boot iso"), (["--boot", "iso"], "--boot iso"),
        (["--pin", "0"], "--pin"), (["--log", "/tmp/x.log"], "--log"),
        (["--reset-log", "/tmp/x.log"], "--reset-log"), (["--dry-run"], "--dry-run"),
        (["--hyperv"], "--hyperv with TCG"), (["--accel", "kvm", "--smp", "256", "--machine", "pc"], "--smp 256"),
        (["--lava-image-url"], "needs a value"), (["--lava-image-url", "--smp", "2"], "needs a value"),
        (["--lava-image-url", ""], "needs a value"), (["--lava-image-url", "not a url"], "a base URL"),
        (["--qemu", "-append", "--qemu", "a b"], "without whitespace"),
    ]
    p = []
    for args, says in cases:
        got = subprocess.run([str(RUN_QEMU), "--lava-job"] + args + ["--", "test=smp"],
                             capture_output=True, text=True)
        if got.returncode != status.BAD_INPUT or says not in got.stderr or got.stdout:
            p.append(f"{args}: status {got.returncode}, stderr {got.stderr.strip()[-150:]!r}")
    got = subprocess.run([str(RUN_QEMU), "--lava-image-url", "file:///srv", "--", "test=smp"],
                         capture_output=True, text=True)
    if got.returncode != status.BAD_INPUT:
        p.append(f"--lava-image-url without --lava-job: status {got.returncode}")
    got = subprocess.run([str(RUN_QEMU), "--lava-job", "--lava-image-url", "https://ci.invalid/b/7/"],
                         capture_output=True, text=True)
    if got.returncode != 0 or "url: 'https://ci.invalid/b/7/pvspin.elf'" not in got.stdout:
        p.append(f"--lava-image-url: status {got.returncode}, {got.stderr[-150:]}")
    check(f"frontdoor: run-qemu.sh --lava-job refusals and bad values ({len(cases) + 2})", p)


# ---- the results reader --------------------------------------------------
def log_line(lvl, msg, raw=False):
    return ("- " if raw else "") + json.dumps({"dt": "2026-12-07T00:00:00", "lvl": lvl, "msg": msg})


def result(definition, case, res, **more):
    return log_line("results", {"definition": definition, "case": case, "result": res, **more})


def test_results():
    k, e = job.KTAP_MONITOR, job.EXIT_MONITOR
    boot = [log_line("target", "KTAP version 1"),
            '{"dt": "x", "lvl": "results", "msg": {"case": "file-download", "definition": "lava", '
            '"extra": {"size": ! "594432"}, "result": "pass"}}']
    runs = {
        "pass": (boot + [result(k, "smp", "pass"), result(k, "nesting_qspinlock", "skip"),
                         result(e, "exit", "pass", measurement="0")], status.PASS,
                 "ok 2 nesting_qspinlock # SKIP\nok 3 exit # STATUS=0\n"),
        "fail": (boot + [result(k, "torture_broken", "fail"), result(e, "exit", "fail", measurement="1")],
                 status.TEST_FAILURE, "not ok 1 torture_broken\nnot ok 2 exit # STATUS=1\n"),
        "exit 0 after a failed case": (boot + [result(k, "a", "fail"), result(e, "exit", "pass", measurement="0")],
                                       status.TEST_FAILURE, "not ok 1 a\n"),
        "lockup": (boot + [result(e, "exit", "fail", measurement="4")], status.LOCKUP, "not ok 1 exit # STATUS=4\n"),
        "no EXIT line": (boot + [result(k, "fault", "fail")], status.GUEST_CRASH,
                         "not ok 2 exit # no EXIT line: the guest stopped without a verdict\n"),
        "timeout": (boot + [log_line("exception", "lava-test-monitor timed out after 5 seconds")],
                    status.TIMEOUT, "not ok 1 exit # no EXIT line: the job timed out\n"),
        "never booted": ([log_line("error", "qemu-system-x86_64: -foo: invalid option"),
                          result("lava", "job", "fail", error_type="Job", error_msg="boom")],
                         status.NO_VMM, "# lava: job fail: Job: boom\n"),
        "lavacli raw": ([log_line("target", "KTAP version 1", raw=True),
                         "- " + result(k, "smp", "pass"),
                         '- {"dt": "x", "lvl": "results", "msg": {"case": "exit", "definition": "'
                         + e + '", "measurement": !!int "0", "result": "pass"}}'],
                        status.PASS, "1..2\nok 1 smp\nok 2 exit # STATUS=0\n"),
    }
    p = []
    for name, (lines, want, text) in runs.items():
        r = results.read("\n".join(lines) + "\n")
        if r.status() != want or text not in r.ktap():
            p.append(f"{name}: status {r.status()} (want {want}), ktap {r.ktap()!r}")
    check(f"results: synthetic logs read ({len(runs)})", p)


# ---- run-local.sh --------------------------------------------------------
LOCAL = [
    ("pass", ["--smp", "4", "--", "test=smp,torture"], status.PASS,
     ["KTAP version 1", f"1..{len(facts.LOCKS) + 2}", "ok 1 smp"]
     + [f"ok {n} torture_{lock}" for n, lock in enumerate(facts.LOCKS, 2)]
     + [f"ok {len(facts.LOCKS) + 2} exit # STATUS=0"]),
    # The broken lock fails when two vCPUs meet in its window: no think
    # time and a second of contention, so a host busy with other tests
    # still lets them meet.
    ("failure", ["--smp", "4", "--", "test=torture", "lock=broken", "think_ns=0", "duration_ms=1000"],
     status.TEST_FAILURE, ["not ok 1 torture_broken", "not ok 2 exit # STATUS=1"]),
    ("skip", ["--smp", "1", "--", "test=smp,nesting"], status.PASS,
     ["ok 2 nesting_qspinlock # SKIP", "ok 3 nesting_pvqspinlock # SKIP", "ok 4 exit # STATUS=0"]),
    ("crash", ["--", "test=fault"], status.GUEST_CRASH, ["not ok 1 fault", "not ok 2 exit # STATUS=3"]),
    ("bad guest option", ["--", "seed=abc"], status.BAD_INPUT, ["not ok 1 cmdline", "not ok 2 exit # STATUS=2"]),
    ("lockup", ["--smp", "2", "--", "test=hang"], status.LOCKUP, ["not ok 1 hang", "not ok 2 exit # STATUS=4"]),
    ("microvm, acpi exit", ["--machine", "microvm", "--exit", "acpi", "--", "test=smp"], status.PASS,
     ["ok 1 smp", "ok 2 exit # STATUS=0"]),
    ("timeout", ["--timeout", "5", "--smp", "2", "--", "test=torture", "lock=tas", "duration_ms=60000"],
     status.TIMEOUT, ["not ok 1 exit # no EXIT line: the job timed out"]),
]


def private_images(tmp):
    """A copy of this build's images: jobs that fetch them (--lava-image-url
    file://...) stay valid while the shared tree is rebuilt."""
    d = tmp / "images"
    d.mkdir()
    for name in job.IMAGES.values():
        shutil.copy2(REPO / "build" / name, d / name)
    return ["--lava-image-url", d.as_uri()]


def run_local(args, cwd):
    return subprocess.run([str(RUN_LOCAL)] + args, capture_output=True, text=True, cwd=cwd)


def test_run_local(quick, lava_ok, tmp):
    if not lava_ok:
        for name, *_ in LOCAL:
            skip(f"run-local: {name}", "needs root" if lava_ok is None else "no dispatcher here")
        return
    images = private_images(tmp)
    for name, args, want, lines in LOCAL:
        if quick and name not in QUICK_RUNS:
            skip(f"run-local: {name}", "--quick")
            continue
        jf = tmp / f"{name.replace(' ', '_').replace(',', '')}.yaml"
        gen = subprocess.run([str(RUN_QEMU), "--lava-job"] + images + args, capture_output=True, text=True)
        if gen.returncode != 0:
            fail(f"run-local: {name}", f"--lava-job status {gen.returncode}: {gen.stderr[-200:]}")
            continue
        jf.write_text(gen.stdout)
        # its own output directory: a run that did not pass keeps its log
        got = run_local(["--output-dir", str(jf.with_suffix(".out")), str(jf)], tmp)
        out = got.stdout.splitlines()
        missing = [line for line in lines if line not in out]
        if got.returncode != want or missing or out[:1] != ["KTAP version 1"]:
            fail(f"run-local: {name}", f"status {got.returncode} (want {want}), missing {missing}; "
                 f"stdout {got.stdout[-300:]!r} stderr {got.stderr[-300:]!r}")
        else:
            ok(f"run-local: {name} (status {want})")

    # Bad input: status 2 and nothing run.
    good = tmp / "pass.yaml"
    (tmp / "other.yaml").write_text(good.read_text().replace("device_type: qemu", "device_type: qemu-aarch64"))
    (tmp / "schema.yaml").write_text(good.read_text().replace("visibility: public", "visibility: everyone"))
    (tmp / "context.yaml").write_text(good.read_text().replace("  memory: 256", "  memory: 256\n  vga: '-vga std'"))
    (tmp / "list.yaml").write_text("- a\n- b\n")
    (tmp / "notyaml.yaml").write_text("job_name: [\n")
    bad = {"no job": [], "no such file": [str(tmp / "none.yaml")], "two jobs": [str(good), str(good)],
           "--output-dir without a value": ["--output-dir"], "unknown option": ["--fast", str(good)],
           "another device type": [str(tmp / "other.yaml")], "schema": [str(tmp / "schema.yaml")],
           "a context key the device does not apply": [str(tmp / "context.yaml")],
           "not a mapping": [str(tmp / "list.yaml")], "not YAML": [str(tmp / "notyaml.yaml")]}
    p = []
    for name, args in bad.items():
        got = run_local(args, tmp)
        if got.returncode != status.BAD_INPUT or got.stdout or "run-local.sh: " not in got.stderr:
            p.append(f"{name}: status {got.returncode}, {got.stderr.strip()[-150:]!r}")
    check(f"run-local: bad input is status 2 ({len(bad)})", p)

    if quick:
        skip("run-local: --output-dir keeps the job, the device and lava-run.log", "--quick")
        return
    kept = tmp / "kept"
    got = run_local(["--output-dir", str(kept), str(good)], tmp)
    names = sorted(x.name for x in kept.iterdir()) if kept.is_dir() else []
    r = results.read_dir(kept) if (kept / "lava-run.log").exists() else None
    check("run-local: --output-dir keeps the job, the device and lava-run.log (results.read_dir reads it)",
          [] if got.returncode == 0 and {"job.yaml", "device.yaml", "lava-run.log"} <= set(names)
          and r and r.status() == status.PASS and "EXIT: STATUS=0" in r.console
          and any(line.startswith("# result: {") for line in r.console)
          else [f"status {got.returncode}, {names}"])


def lava_available():
    """True when run-local.sh can run jobs here, None when not root, False
    when the dispatcher cannot be installed."""
    if os.geteuid() != 0:
        return None
    deps = subprocess.run([str(REPO / "tools" / "deps.sh"), "lava"], capture_output=True, text=True)
    if deps.returncode != 0:
        print(f"# tools/deps.sh lava: {deps.stderr.strip()[-300:]}", flush=True)
        return False
    try:
        dispatcher.command()
        dispatcher.templates()
    except dispatcher.NoDispatcher as e:
        print(f"# {e}", flush=True)
        return False
    return True


def main(argv):
    quick = "--quick" in argv
    if set(argv) - {"--quick"}:
        print("usage: tests/lava/run.py [--quick]", file=sys.stderr)
        return status.BAD_INPUT
    lava_ok = lava_available()
    # The generator's image: built as run-qemu.sh --lava-job builds it.
    subprocess.run(["make", "-s", "-C", str(REPO), "all", "pvh"], check=False,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="pvspin-lava-test.") as tmp:
        test_jobs(lava_ok, quick)
        test_same_command()
        test_frontdoor()
        test_results()
        test_run_local(quick, lava_ok, Path(tmp))
    print(counts.line())
    return 1 if counts.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
