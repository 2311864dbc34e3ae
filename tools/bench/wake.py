#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# wake.py: make bench-wake: pvqspinlock's kick and wake latency under the ipi, xen and kvm PV backends, side by side in one run.
"""make bench-wake: pvqspinlock's kick and wake latency under three
hypervisor stacks, each with its own PV backend, interleaved in one run.

usage: tools/bench/wake.py [--reps N] [--smp N] [--duration-ms MS] [--warmup-ms MS]
                           [--spin-threshold N] [--stacks LIST] [--timeout SEC]
                           [--out DIR] [--run-qemu PATH]

stacks (--stacks, a comma list; default tcg,xen,nested):
  tcg     run-qemu.sh --accel tcg --pin 0-1, pv=ipi: a fixed IPI kicks, HLT waits
  xen     run-qemu.sh --accel xen --xen-cpus 2 --pin 0-1, pv=xen: pvspin is
          Xen's PVH dom0 (Xen under TCG); EVTCHNOP_send kicks, SCHEDOP_poll waits
  nested  run-qemu.sh --accel nested --l1-smp 2, pv=kvm: real KVM in an L1
          booted under TCG; KVM_HC_KICK_CPU kicks, HLT waits
Every stack runs the guest's N vCPUs (--smp, default 4) on 2 CPUs: host
CPUs 0-1, Xen's 2 CPUs, or L1's 2 CPUs. 2x overcommit makes queued waiters
halt and get kicked. N is at most the smallest vCPU limit of the stacks
asked for (tools/pvspin/facts.py: TCG's, a PVH domain's under Xen, q35's
under KVM). Every boot runs the same guest, `test=bench lock=pvqspinlock
duration_ms=D warmup_ms=W hold_ns=H think_ns=T pv_spin_threshold=S
seed=REP` plus the stack's pv=, with the matrix's defaults
(tools/bench/matrix.py) but for S: a waiter spins S times before it halts
(--spin-threshold), and only a waiter that halted is kicked. The default,
64, makes waiters halt under every stack; the guest's own default is
Linux's spin count (lock/pv_ops.h), which a waiter under Xen rarely
reaches before the lock comes: few kicks to measure.

Interleaving: repetition 1 boots every stack once, then repetition 2, and
so on; each repetition starts one stack later (tcg,xen,nested, then
xen,nested,tcg, ...), so every stack takes each place in a repetition
equally often (when --reps is a multiple of the stacks) and a change of
the host's load, or one stack's effect on the boot after it, falls on
all stacks alike.

Per boot, from the guest's pvqspinlock result ("pv", docs/output.md):
kick_mean_ns (the unlocker's time inside one kick), wake_mean_ns and the
wake latency's p50/p99 (kick to the woken waiter running; the percentiles
are upper ends of log2 buckets), kicks_sent, halts, acquisitions/s. A boot
without a kick (or without a wake) has no kick (or wake) latency: it
counts as no value, not as 0.

A boot whose status is 125 (the VMM could not run: no Xen could be
fetched, the nested bed failed) is skipped, with run-qemu.sh's reason;
any other status but 0, or no pvqspinlock result of the backend asked
for, is a failed boot; its logs are kept and the other boots go on.

Writes DIR/results.jsonl (one object per boot), DIR/summary.md (per stack
median [min-max] over the boots that passed, the machine named; printed
too) and DIR/logs/STACK-repN.log and .err (run-qemu.sh's stdout and
stderr). DIR defaults to build/bench/wake-<timestamp>, with
build/bench/wake-latest pointing to it; a given DIR must be new or empty.

Exit status: 0 every boot asked for passed; 1 a boot failed or was
skipped (or the run was interrupted; what ran is written); 2 bad usage
(--smp above a stack's limit among them), nothing run.
"""
import argparse
import datetime
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tools"), str(REPO / "tools" / "bench")]
from pvspin import facts, hostinfo, procs, stats, status  # noqa: E402
from pvbench import logs  # noqa: E402
from pvbench.cli import (DEFAULT_DURATION_MS, DEFAULT_HOLD_NS, DEFAULT_REPS,  # noqa: E402
                         DEFAULT_THINK_NS, DEFAULT_WARMUP_MS, default_timeout)
from pvbench.common import BENCH_DIR, UsageError, read_text, update_latest_link  # noqa: E402
from pvbench.config import int_in  # noqa: E402

PROG = "bench/wake.py"
DEFAULT_RUN_QEMU = REPO / "run-qemu.sh"
LATEST_NAME = "wake-latest"                     # in BENCH_DIR, beside the runs
LOCK = "pvqspinlock"
DEFAULT_SMP = 4
MIN_SMP = 2                                     # a holder and a waiter
DEFAULT_SPIN_THRESHOLD = 64
HOST_CPUS = "0-1"                               # the CPUs every stack's vCPUs share
CPUS = len(facts.parse_cpulist(HOST_CPUS))
# Beyond run-qemu.sh's --timeout (the guest's own limit): the nested bed's
# L1 boots (at most two, each up to 60 s + 5 s per L1 CPU before it is
# ready), Xen's boot, and the build run-qemu.sh starts with.
HOST_MARGIN_S = 300
# Lines of the tools run-qemu.sh calls that say why a boot could not run.
MESSAGE_RE = re.compile(r"^(?:run-qemu\.sh|nested-run\.sh|xen\.py): ")
ACCEL_LINE_RE = re.compile(r"^run-qemu\.sh: accel=")
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
NS_PER_US = 1000


@dataclass(frozen=True)
class Stack:
    name: str
    backend: str            # the guest's pv=
    options: tuple          # run-qemu.sh's options besides --smp and --timeout
    what: str               # the kick and the wait, for people
    max_vcpus: int          # the guest's vCPU limit on this stack
    limit: str              # what sets it


STACKS = {s.name: s for s in (
    Stack("tcg", "ipi", ("--accel", "tcg", "--pin", HOST_CPUS),
          "QEMU TCG: fixed IPI kicks, HLT waits",
          facts.TCG_MAX_VCPUS, "QEMU's TCG has no x2APIC"),
    Stack("xen", "xen", ("--accel", "xen", "--xen-cpus", str(CPUS), "--pin", HOST_CPUS),
          "Xen under TCG, pvspin its PVH dom0: EVTCHNOP_send kicks, SCHEDOP_poll waits",
          facts.XEN_PVH_MAX_VCPUS, "a PVH domain under Xen"),
    Stack("nested", "kvm", ("--accel", "nested", "--l1-smp", str(CPUS)),
          "KVM in an L1 under TCG: KVM_HC_KICK_CPU kicks, HLT waits",
          facts.KVM_MAX_VCPUS, "QEMU's q35 under KVM"),
)}


def order(stacks, rep):
    """The stacks in repetition REP's order (from 1): each one starts one later."""
    k = (rep - 1) % len(stacks)
    return stacks[k:] + stacks[:k]


def parse_stacks(text):
    """--stacks: the Stacks named, in that order."""
    names = [n for n in text.split(",") if n] if text else []
    unknown = [n for n in names if n not in STACKS]
    accepted = f"accepted: a comma list of distinct stacks out of {', '.join(STACKS)}"
    if not names:
        raise UsageError(f"--stacks {text!r}: no stack; {accepted}")
    if unknown:
        raise UsageError(f"--stacks {text!r}: {', '.join(map(repr, unknown))} is not a stack; {accepted}")
    if len(set(names)) != len(names):
        raise UsageError(f"--stacks {text!r}: a stack named twice; {accepted}")
    return [STACKS[n] for n in names]


def parse_smp(text, stacks):
    """--smp: MIN_SMP or more, and at most the smallest limit of STACKS."""
    smp = int_in(text, MIN_SMP, None, "--smp")
    tight = min(stacks, key=lambda s: s.max_vcpus)
    if smp > tight.max_vcpus:
        others = f", or --stacks without {tight.name}" if len(stacks) > 1 else ""
        raise UsageError(f"--smp '{text}': the {tight.name} stack runs at most {tight.max_vcpus} "
                         f"vCPUs ({tight.limit}); accepted: an integer {MIN_SMP}..{tight.max_vcpus}"
                         f"{others}")
    return smp


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[2:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", default=str(DEFAULT_REPS), metavar="N",
                   help=f"repetitions, each booting every stack once (default {DEFAULT_REPS})")
    p.add_argument("--smp", default=str(DEFAULT_SMP), metavar="N",
                   help=f"the guest's vCPUs on every stack's {CPUS} CPUs, {MIN_SMP} up to the "
                        f"smallest limit of the stacks asked for (default {DEFAULT_SMP})")
    p.add_argument("--duration-ms", default=str(DEFAULT_DURATION_MS), metavar="MS",
                   help=f"measured time (default {DEFAULT_DURATION_MS})")
    p.add_argument("--warmup-ms", default=str(DEFAULT_WARMUP_MS), metavar="MS",
                   help=f"unmeasured time before it (default {DEFAULT_WARMUP_MS})")
    p.add_argument("--spin-threshold", default=str(DEFAULT_SPIN_THRESHOLD), metavar="N",
                   help=f"the guest's pv_spin_threshold: spins before a waiter halts "
                        f"(default {DEFAULT_SPIN_THRESHOLD})")
    p.add_argument("--stacks", default=",".join(STACKS), metavar="LIST",
                   help=f"which stacks, in this order (default {','.join(STACKS)})")
    p.add_argument("--timeout", metavar="SEC",
                   help="run-qemu.sh's --timeout per boot (default: the matrix's for one lock)")
    p.add_argument("--out", metavar="DIR", help="output directory (default build/bench/wake-<timestamp>)")
    p.add_argument("--run-qemu", default=str(DEFAULT_RUN_QEMU), metavar="PATH",
                   help="the run-qemu.sh to call (a stand-in for tests)")
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        raise SystemExit(status.BAD_INPUT if e.code else 0)
    a.reps = int_in(a.reps, 1, None, "--reps")
    a.stacks = parse_stacks(a.stacks)
    a.smp = parse_smp(a.smp, a.stacks)
    a.duration_ms = int_in(a.duration_ms, 1, None, "--duration-ms")
    a.warmup_ms = int_in(a.warmup_ms, 0, None, "--warmup-ms")
    a.spin_threshold = int_in(a.spin_threshold, 1, None, "--spin-threshold")
    a.timeout = (int_in(a.timeout, 1, None, "--timeout") if a.timeout is not None
                 else default_timeout(1, a.duration_ms, a.warmup_ms))
    if not (os.path.isfile(a.run_qemu) and os.access(a.run_qemu, os.X_OK)):
        raise UsageError(f"--run-qemu {a.run_qemu!r}: not an executable file")
    a.default_out = a.out is None
    if a.default_out:
        a.out = BENCH_DIR / f"wake-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    a.out = Path(a.out).resolve()
    if a.out.exists() and (not a.out.is_dir() or any(a.out.iterdir())):
        raise UsageError(f"--out '{a.out}': exists and is not an empty directory; "
                         "accepted: a new or empty directory")
    return a


def guest_options(a, stack, rep):
    return ["test=bench", f"lock={LOCK}", f"duration_ms={a.duration_ms}", f"warmup_ms={a.warmup_ms}",
            f"hold_ns={DEFAULT_HOLD_NS}", f"think_ns={DEFAULT_THINK_NS}",
            f"pv_spin_threshold={a.spin_threshold}", f"pv={stack.backend}", f"seed={rep}"]


def boot_argv(a, stack, rep):
    return [str(a.run_qemu), *stack.options, "--smp", str(a.smp), "--timeout", str(a.timeout),
            "--", *guest_options(a, stack, rep)]


def messages(err):
    """Why run-qemu.sh (or a tool it called) stopped: its last two messages
    on stderr, the accelerator line left out."""
    lines = [l.rstrip() for l in read_text(err).splitlines()
             if MESSAGE_RE.match(l) and not ACCEL_LINE_RE.match(l)]
    return "; ".join(lines[-2:])


def under(stack, result, l1):
    """The hypervisor below the guest, from what the boot's results name."""
    env = (result or {}).get("env") or {}
    if stack.name == "xen" and env.get("xen"):
        x = env["xen"]
        return f"Xen {x.get('version')} ({x.get('sched')}, {x.get('cpus')} Xen CPUs)"
    l1 = env.get("l1") or l1
    if stack.name == "nested" and l1:
        kvm = (l1.get("modules") or {}).get("kvm") or {}
        return (f"L1 Linux {l1.get('kernel')} ({l1.get('package')} {l1.get('package_version')}), "
                f"{l1.get('cpus')} L1 CPUs, kvm.halt_poll_ns={kvm.get('halt_poll_ns')}")
    return None                                 # TCG: the machine line names QEMU


def record(stack, rep, place, argv, code, log, err, seconds):
    """One boot's record: its outcome and, where the guest reported, its PV figures."""
    info = logs.parse_log(log)
    outcome = info.outcomes.get(LOCK)
    result = outcome.result if outcome else None
    pv = (result or {}).get("pv") or {}
    events = (result or {}).get("events") or {}
    wake = pv.get("wake_latency_ns") or {}
    kicks, wakes = events.get("pv_kick_unlock", 0), events.get("pv_kick_wake", 0)
    if code == status.NO_VMM:
        verdict, reason = SKIPPED, messages(err) or f"status {code} ({status.MEANING[code]})"
    elif code != status.PASS:
        verdict = FAILED
        reason = (info.first_not_ok or messages(err)
                  or f"status {code} ({status.MEANING.get(code, 'unknown')})")
    elif result is None or not outcome.ok:
        verdict, reason = FAILED, (outcome.reason if outcome else f"no bench:{LOCK} result")
    elif result.get("pv_backend") != stack.backend:
        verdict = FAILED
        reason = f"the guest ran pv_backend {result.get('pv_backend')}, not {stack.backend}"
    else:
        verdict, reason = OK, ""
    return {
        "stack": stack.name, "backend": stack.backend, "rep": rep, "place": place,
        "status": code, "meaning": status.MEANING.get(code, "unknown"), "outcome": verdict,
        "reason": reason, "under": under(stack, result, info.l1),
        "pv_backend": (result or {}).get("pv_backend"), "cpus": (result or {}).get("cpus"),
        "kicks_sent": pv.get("kicks_sent"), "halts": pv.get("halts"),
        "unlock_kicks": kicks, "wakes": wakes,
        "kick_mean_ns": pv.get("kick_mean_ns") if kicks else None,
        "wake_mean_ns": pv.get("wake_mean_ns") if wakes else None,
        "wake_p50_ns": wake.get("p50") if wakes else None,
        "wake_p99_ns": wake.get("p99") if wakes else None,
        "wake_max_ns": wake.get("max") if wakes else None,
        "xen_polls": pv.get("xen_polls"), "xen_sends": pv.get("xen_sends"),
        "hypercalls": pv.get("hypercalls"),
        "acquisitions": (result or {}).get("acquisitions"),
        "throughput_per_s": (result or {}).get("throughput_per_s"),
        "duration_ns": (result or {}).get("duration_ns"),
        "seconds": round(seconds, 1), "command": argv, "log": str(log), "err": str(err),
    }


def boot(a, stack, rep, place):
    """Boot STACK once for repetition REP; its record."""
    name = f"{stack.name}-rep{rep}"
    log, err = a.out / "logs" / f"{name}.log", a.out / "logs" / f"{name}.err"
    argv = boot_argv(a, stack, rep)
    t0 = time.monotonic()
    with open(log, "wb") as out, open(err, "wb") as errf:
        child = procs.Group(argv, stdout=out, stderr=errf, cwd=REPO)
        code = child.wait(a.timeout + HOST_MARGIN_S)
    return record(stack, rep, place, argv, code, log, err, time.monotonic() - t0)


# ---- the report ----------------------------------------------------------
# (record key, column title, the value shown: ns as us, counts and rates as they are)
COLUMNS = (
    ("kick_mean_ns", "kick mean us", lambda v: v / NS_PER_US, "{:,.1f}"),
    ("wake_mean_ns", "wake mean us", lambda v: v / NS_PER_US, "{:,.0f}"),
    ("wake_p50_ns", "wake p50 us", lambda v: v / NS_PER_US, "{:,.0f}"),
    ("wake_p99_ns", "wake p99 us", lambda v: v / NS_PER_US, "{:,.0f}"),
    ("kicks_sent", "kicks", lambda v: v, "{:,.0f}"),
    ("halts", "halts", lambda v: v, "{:,.0f}"),
    ("throughput_per_s", "acquisitions/s", lambda v: v, "{:,.0f}"),
)


def summarize(records, stacks):
    """Per stack: its boots, how many passed, and each column's summary over those that did."""
    out = {}
    for s in stacks:
        mine = [r for r in records if r["stack"] == s.name]
        ok = [r for r in mine if r["outcome"] == OK]
        out[s.name] = {
            "boots": len(mine), "ok": len(ok),
            "skipped": sum(r["outcome"] == SKIPPED for r in mine),
            "columns": {key: stats.summary(scale(r[key]) for r in ok if r[key] is not None)
                        for key, _, scale, _ in COLUMNS},
            "under": next((r["under"] for r in ok + mine if r["under"]), None),
        }
    return out


def report(a, records, host, when, interrupted):
    summary = summarize(records, a.stacks)
    lines = [f"# make bench-wake, {when}", "",
             f"Machine: {host}.",
             f"Guest: `{' '.join(o for o in guest_options(a, a.stacks[0], 'REP') if not o.startswith('pv='))}` "
             f"and the stack's pv= (below), {a.smp} vCPUs on {CPUS} CPUs; {a.reps} repetition(s), the stacks "
             f"interleaved, each repetition starting one stack later.", ""]
    for s in a.stacks:
        u = summary[s.name]["under"]
        lines.append(f"- {s.name} (pv={s.backend}): {s.what}" + (f"; {u}" if u else "") + ".")
    lines += ["",
              "Median [min-max] over the boots that passed; kick and wake figures over those "
              "with a kick (a wake). kick mean: the unlocker's time inside one kick; wake: "
              "kick to the woken waiter running (p50/p99: upper ends of log2 buckets); kicks, "
              "halts: per boot (one boot a repetition).", "",
              "| stack | backend | boots ok | " + " | ".join(title for _, title, _, _ in COLUMNS) + " |",
              "|---|---|---|" + "---|" * len(COLUMNS)]
    for s in a.stacks:
        sm = summary[s.name]
        cells = " | ".join(stats.fmt(sm["columns"][key], spec) for key, _, _, spec in COLUMNS)
        lines.append(f"| {s.name} | {s.backend} | {sm['ok']}/{sm['boots']} | {cells} |")
    bad = [r for r in records if r["outcome"] != OK]
    if bad:
        lines += ["", "Boots that did not pass:", ""]
        lines += [f"- {r['stack']} rep {r['rep']}: {r['outcome']}, status {r['status']} "
                  f"({r['meaning']}): {r['reason']} (log {r['log']})" for r in bad]
    if interrupted:
        lines += ["", "Interrupted: the boots above are all that ran."]
    text = "\n".join(lines) + "\n"
    (a.out / "summary.md").write_text(text)
    with open(a.out / "results.jsonl", "w") as f:
        for r in records:
            f.write(json.dumps({**r, "machine": host, "date": when}) + "\n")
    print(text, end="")
    print(f"{PROG}: wrote {a.out / 'summary.md'} and {a.out / 'results.jsonl'}", file=sys.stderr)


def progress(r, reps):
    figures = (f", {r['kicks_sent']} kicks, wake mean {r['wake_mean_ns']} ns"
               if r["outcome"] == OK else f": {r['reason']}")
    print(f"bench-wake: rep {r['rep']}/{reps} {r['stack']} (pv={r['backend']}): {r['outcome']}"
          f"{figures} ({r['seconds']:.0f} s)", file=sys.stderr, flush=True)


def main(argv):
    try:
        a = parse_args(argv)
    except UsageError as e:
        print(f"{PROG}: {e} (see --help)", file=sys.stderr)
        return status.BAD_INPUT
    (a.out / "logs").mkdir(parents=True, exist_ok=True)
    if a.default_out:
        update_latest_link(a.out, LATEST_NAME)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    host = hostinfo.describe()
    records, interrupted = [], False
    try:
        for rep in range(1, a.reps + 1):
            for place, stack in enumerate(order(a.stacks, rep), 1):
                records.append(boot(a, stack, rep, place))
                progress(records[-1], a.reps)
    except KeyboardInterrupt:
        interrupted = True
        print(f"{PROG}: interrupted", file=sys.stderr)
    report(a, records, host, when, interrupted)
    passed = not interrupted and all(r["outcome"] == OK for r in records)
    return status.PASS if passed else status.TEST_FAILURE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
