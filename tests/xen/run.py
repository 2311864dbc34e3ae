#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/xen/run.py: run-qemu.sh --accel xen: its options, a Xen that cannot start, boots of pvspin as Xen's PVH dom0.
"""run-qemu.sh --accel xen (docs/xen.md).

usage: tests/xen/run.py [--no-boots]

Bad values of the Xen options, and Xen options without --accel xen, are
status 2 naming the option; an unknown scheduler's refusal lists exactly
tools/pvspin/facts.py's XEN_SCHEDS, and --help states them and the PVH
vCPU limit, XEN_PVH_MAX_VCPUS. A Xen that cannot be had (an empty cache
with apt offline, an unknown package, a broken cache entry with apt
offline) is status 125 naming the cause. Boots (skipped when this machine has no Xen
and cannot fetch it, or with --no-boots): test=smp at 2 vCPUs on 2 Xen CPUs
and at 4 on 2 (overcommit), each with a KTAP document, Xen's version,
scheduler and CPUs in every result's env and Xen's console kept in the file
named on stderr; --verbose puts that console on stderr instead; and
pvspin as a PVH guest: every CPU online, the TSC from Xen, the memory map
read. Each boot's log is kept in build/test-logs/xen/. A boot still
running after STALL_S has Xen's CPUs sampled through QMP on the L0 QEMU
(tools/pvspin/xen_stall.py); one that then fails with all of them idle in
Xen, a wakeup lost below the guest, keeps its log as *-first.log and runs
once more, and fails if that repeats. Ends with
"N passed, N failed, N skipped".
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import facts, status, xen, xen_stall  # noqa: E402
from pvspin.counts import retry_line  # noqa: E402

RUN_QEMU = REPO / "run-qemu.sh"
FETCH = REPO / "tools" / "xen" / "fetch.py"
BOOT_TIMEOUT_S = 90
STALL_S = 60                    # a boot here takes 2-20 s; one still running is sampled
counts = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    counts["passed" if ok else "failed"] += 1
    print(f"ok {name}" if ok else f"FAIL {name}: {detail}", flush=True)


def skip(name, why):
    counts["skipped"] += 1
    print(f"skip {name}: {why}", flush=True)


def run(*argv, env=None, timeout=BOOT_TIMEOUT_S + 30):
    return subprocess.run([str(RUN_QEMU), *argv], capture_output=True, text=True,
                          timeout=timeout, env=env)


LOG_DIR = REPO / "build" / "test-logs" / "xen"


def tail(p):
    """What a failure shows: the status, where the guest's output ended, stderr's end."""
    out = " | ".join(p.stdout.strip().splitlines()[-3:])
    return f"status {p.returncode}; stdout ends {out[-300:]!r}; stderr {p.stderr.strip()[-300:]!r}"


def bad_options():
    cases = [
        (["--accel", "xen", "--xen-cpus", "0"], "--xen-cpus '0'"),
        (["--accel", "xen", "--xen-cpus", "two"], "--xen-cpus 'two'"),
        (["--accel", "xen", "--xen-cpus", "256"], "--xen-cpus '256'"),
        (["--accel", "xen", "--xen-sched", "fifo"],
         f"--xen-sched 'fifo': accepted: {', '.join(facts.XEN_SCHEDS)}\n"),
        (["--accel", "xen", "--smp", str(facts.XEN_PVH_MAX_VCPUS + 1)],
         f"--smp {facts.XEN_PVH_MAX_VCPUS + 1}: a PVH domain under Xen has at most "
         f"{facts.XEN_PVH_MAX_VCPUS} vCPUs"),
        (["--xen-cpus", "2"], "go with --accel xen"),
        (["--xen-sched", "credit"], "go with --accel xen"),
        (["--xen-arg", "loglvl=none"], "go with --accel xen"),
        (["--accel", "xen", "--guest", "linux"], "--guest linux"),
        (["--accel", "xen", "--boot", "multiboot"], "--boot multiboot"),
        (["--accel", "xen", "--iso"], "--iso"),
        (["--accel", "xen", "--machine", "microvm"], "--machine microvm"),
        (["--accel", "xen", "--exit", "acpi"], "--exit acpi"),
        (["--accel", "xen", "--hyperv"], "--hyperv"),
        (["--accel", "xen", "--hypervisor-bit", "off"], "--hypervisor-bit off"),
        (["--accel", "xen", "--firmware", "qboot"], "--firmware"),
        (["--accel", "xen", "--xen-sched"], "option --xen-sched needs a value"),
        (["--accel", "xen", "--xen-cpus", "--smp", "2"], "option --xen-cpus needs a value"),
        (["--accel", "xen", "--xen-arg", ""], "option --xen-arg needs a value"),
    ]
    for argv, text in cases:
        p = run(*argv, "--dry-run", "--", "test=smp")
        check(f"run-qemu.sh {' '.join(argv)}: status 2 naming it",
              p.returncode == status.BAD_INPUT and text in p.stderr, tail(p))


def xen_translation_buffer():
    """Xen under TCG keeps QEMU's default translation buffer (the tb-size cap is pvspin's)."""
    p = run("--accel", "xen", "--smp", "4", "--dry-run", "--", "test=smp")
    cmd = p.stdout.replace("\\,", ",")
    check("run-qemu.sh --accel xen: QEMU's default translation buffer, no tb-size",
          p.returncode == status.PASS and "-accel tcg,thread=multi " in cmd and "tb-size" not in cmd,
          tail(p))


def help_text():
    """--help states the Xen facts tools/facts.sh gives run-qemu.sh."""
    p = run("--help")
    check("run-qemu.sh --help: no @NAME@ left unfilled, and the vCPU limits from tools/pvspin/facts.py",
          p.returncode == status.PASS and not re.search(r"@[A-Z_]+@", p.stdout)
          and f"at most {facts.TCG_MAX_VCPUS} under TCG, {facts.KVM_MAX_VCPUS} under KVM" in p.stdout,
          tail(p))
    for what, text in (("the schedulers", "|".join(facts.XEN_SCHEDS)),
                       ("the PVH vCPU limit", f"at most {facts.XEN_PVH_MAX_VCPUS}")):
        check(f"run-qemu.sh --help: {what} from tools/pvspin/facts.py ({text})",
              p.returncode == status.PASS
              and re.search(rf"(?<![\w|]){re.escape(text)}(?![\w|])", p.stdout), tail(p))


def offline_env(d, **extra):
    """PATH with an apt-get that fails as apt does offline; the cache in D."""
    stub = Path(d) / "bin"
    stub.mkdir()
    (stub / "apt-get").write_text("#!/bin/sh\necho 'E: Failed to fetch: Temporary failure "
                                  "resolving deb.debian.org' >&2\nexit 100\n")
    (stub / "apt-get").chmod(0o755)
    env = dict(os.environ, PATH=f"{stub}:{os.environ['PATH']}", PVSPIN_XEN_CACHE=f"{d}/cache")
    env.update(extra)
    return env


def cannot_start():
    with tempfile.TemporaryDirectory() as d:
        p = run("--accel", "xen", "--", "test=smp", env=offline_env(d))
        check("an empty cache with apt offline: status 125 naming the failed download",
              p.returncode == status.NO_VMM and "Xen cannot start" in p.stderr
              and "apt-get download" in p.stderr, tail(p))
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, PVSPIN_XEN_CACHE=f"{d}/cache",
                   PVSPIN_XEN_PACKAGE="xen-hypervisor-0.0-none")
        p = run("--accel", "xen", "--", "test=smp", env=env)
        check("a Xen package apt does not know: status 125 naming it",
              p.returncode == status.NO_VMM and "xen-hypervisor-0.0-none not known" in p.stderr,
              tail(p))
    with tempfile.TemporaryDirectory() as d:
        cache = Path(d) / "cache"
        entry = cache / "broken"
        entry.mkdir(parents=True)
        (entry / xen.ELF_NAME).write_bytes(b"not an ELF")
        (entry / xen.VERSION_NAME).write_text("0\n")
        (cache / "current").mkdir()
        (cache / "current" / xen.PACKAGE).write_text("broken\n")
        p = run("--accel", "xen", "--", "test=smp", env=offline_env(d))
        check("a broken cache entry with apt offline: status 125, fetched again and failing",
              p.returncode == status.NO_VMM and "Xen cannot start" in p.stderr, tail(p))
    with tempfile.TemporaryDirectory() as d:
        blocker = Path(d) / "file"
        blocker.write_text("")
        env = dict(os.environ, PVSPIN_XEN_CACHE=f"{blocker}/cache")
        p = run("--accel", "xen", "--", "test=smp", env=env)
        check("a cache that cannot be created: status 125 naming it",
              p.returncode == status.NO_VMM and "cannot use the cache" in p.stderr, tail(p))


def results(stdout):
    return [json.loads(m) for m in re.findall(r"^# result: (\{.*\})$", stdout, re.M)]


def boot_once(argv):
    """A boot with a QMP socket on the L0 QEMU; if it has not ended after
    STALL_S, Xen's CPUs are sampled (xen_stall) before run-qemu.sh's
    timeout ends it. (CompletedProcess, the samples or None)."""
    with tempfile.TemporaryDirectory() as d:
        sock = f"{d}/qmp"
        proc = subprocess.Popen([str(RUN_QEMU), "--qemu", "-qmp", "--qemu", f"unix:{sock},server=on,wait=off",
                                 *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples = None
        try:
            out, err = proc.communicate(timeout=STALL_S)
        except subprocess.TimeoutExpired:
            samples = xen_stall.sample(sock, proc)
            out, err = proc.communicate(timeout=BOOT_TIMEOUT_S + 30)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), samples


def boot(smp, xen_cpus, verbose=False):
    name = f"--accel xen --smp {smp} --xen-cpus {xen_cpus}" + (" --verbose" if verbose else "")
    argv = ["--accel", "xen", "--smp", str(smp), "--xen-cpus", str(xen_cpus),
            "--timeout", str(BOOT_TIMEOUT_S), *(["--verbose"] if verbose else []), "--", "test=smp"]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"boot-{smp}-on-{xen_cpus}{'-verbose' if verbose else ''}.log"
    # A boot that went silent with every one of Xen's CPUs idle in Xen lost
    # a wakeup below the guest: its logs are kept beside this boot's, and
    # it runs once more; the same again fails the checks below.
    for attempt in range(2):
        p, samples = boot_once(argv)
        text = p.stdout + "\n--- stderr\n" + p.stderr
        if samples:
            text += "\n--- L0's CPUs (info registers -a), sampled after " + f"{STALL_S} s\n" + \
                    "\n=== next sample\n".join(samples)
        log.write_text(text)
        below = p.returncode != status.PASS and samples and xen_stall.all_idle_in_xen(samples)
        if not below or attempt:
            break
        first = log.with_name(log.stem + "-first.log")
        log.rename(first)
        print(retry_line(name, "silent with every Xen CPU idle in Xen, a wakeup lost below the guest", first),
              flush=True)
    out = p.stdout
    check(f"{name}: a whole KTAP document with its verdict",
          out.startswith("KTAP version 1") and re.search(r"^EXIT: STATUS=\d+$", out, re.M), tail(p))
    rs = results(out)
    hv = xen.ensure()
    want = {"accel": "xen", "xen": {"version": hv.version, "sched": facts.XEN_SCHEDS[0], "cpus": xen_cpus}}
    check(f"{name}: every result's env names Xen's version, scheduler and CPUs",
          rs and all(r.get("env") == want for r in rs), [r.get("env") for r in rs])
    m = re.search(r"^run-qemu\.sh: Xen's console: (\S+)$", p.stderr, re.M)
    if verbose:
        check(f"{name}: Xen's console on stderr, no file",
              "(XEN) Xen version" in p.stderr and not m, tail(p))
    else:
        console = Path(m.group(1)) if m else None
        check(f"{name}: Xen's console kept in the file named on stderr, apart from pvspin's output",
              console and console.is_file() and "(XEN) Xen version" in console.read_text(errors="replace")
              and "(XEN)" not in out, tail(p))
    # pvspin as a PVH guest under Xen: every CPU, Xen's clock, Xen's memory map.
    smp_r = next((r for r in rs if r.get("test") == "smp"), {})
    check(f"{name}: status 0, {smp} of {smp} CPUs online",
          p.returncode == status.PASS and smp_r.get("cpus_online") == smp, f"{tail(p)} (log {log})")
    check(f"{name}: the TSC frequency from Xen, not assumed",
          smp_r.get("tsc_source", "").startswith("xen"), smp_r.get("tsc_source"))
    check(f"{name}: the memory map read",
          re.search(r"^# memory: [1-9]\d* MiB usable", out, re.M), "no '# memory: N MiB usable'")


def xen_here():
    """'' when Xen is cached or can be fetched, else why not."""
    p = subprocess.run([sys.executable, str(FETCH)], capture_output=True, text=True)
    return "" if p.returncode == 0 else p.stderr.strip()


def main(argv):
    if argv not in ([], ["--no-boots"]):
        print("usage: tests/xen/run.py [--no-boots]", file=sys.stderr)
        return status.BAD_INPUT
    bad_options()
    help_text()
    cannot_start()
    why = "--no-boots" if argv else xen_here()
    for smp, cpus, verbose in ((2, 2, False), (4, 2, False), (2, 2, True)):
        name = f"boot --smp {smp} --xen-cpus {cpus}" + (" --verbose" if verbose else "")
        if why:
            skip(name, why)
        else:
            boot(smp, cpus, verbose)
    if why:
        skip("run-qemu.sh --accel xen: QEMU's default translation buffer, no tb-size", why)
    else:
        xen_translation_buffer()
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
