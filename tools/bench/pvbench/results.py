# SPDX-License-Identifier: MIT
# results.py: per-lock result records from the runs' logs, and the CSV files.
"""Result records and the CSV files made from them.

make_records() turns every started run's serial log into one record per
lock (status ok, not ok or missing, the flat fields of CSV_FIELDS plus the
guest's own result); a record says which guest and shape ran it, and a
pvspin result that names another shape than the boot asked for (or none,
when it asked for locktorture: a guest without the shape) is not ok, and
so is one whose env names another Xen scheduler than the config's
(xen_sched: what the result's env says Xen ran).
explain_failures() sets each failed run's reason;
first_l1() finds the L1 description under nested. write_csvs() writes
results.csv and runs.csv from records and runs (the report's inputs).
"""
import csv
import re

from pvspin import status

from .common import PROG, meaning, read_text, relative
from .env import host_env
from .logs import parse_log
from .variants import DEFAULT_SHAPE, LINUX, variant_locks

NS_PER_S = 1e9

ACCEL_LINE_RE = re.compile(r"^run-qemu\.sh: accel=(\w+) ")

CSV_FIELDS = (
    "config", "lock", "guest", "shape", "lock_impl", "status", "reason", "rep", "vm", "vms", "vcpus",
    "host_cpus", "host_cpu_count", "overcommit", "accel", "xen_sched", "pin_vcpus", "hypervisor_bit",
    "pv", "pv_backend", "seed", "duration_ns", "warmup_ns", "hold_ns", "think_ns",
    "long_hold_ms", "long_holds_taken",
    "acquisitions", "throughput_per_s", "fairness",
    "latency_p50_ns", "latency_p99_ns", "latency_p999_ns", "latency_max_ns",
    "overruns", "halts", "kicks_sent", "kicks_received", "sched_yields",
    "slow_handoffs", "long_holds", "max_handoff_ns",
    "wake_p99_ns", "steal_ns", "run_status", "qemu_version", "host_cpu_model",
    "l1_kernel", "l1_cpus", "l1_cpu_model", "log",
    "interference_mode", "base_config", "host_cpu_ns", "acquisitions_per_cpu_s",
    "run_fraction", "throttled_fraction", "frozen_fraction", "slow_handoffs", "long_holds",
)
# The Linux peer's result fields that keep their names in the flat record.
PEER_FLAT_KEYS = ("duration_ns", "warmup_ns", "acquisitions", "throughput_per_s", "fairness",
                  "long_hold_ms", "lock_impl")
RUN_CSV_FIELDS = (
    "config", "guest", "shape", "rep", "vm", "vms", "vcpus", "host_cpus", "overcommit", "accel",
    "status", "meaning", "seconds", "reason", "log", "err",
)


def failure_reason(run):
    """The guest's first 'not ok', else run-qemu.sh's or our last message."""
    reason = parse_log(run.log).first_not_ok
    if reason:
        return reason
    messages = [l for l in read_text(run.err).splitlines()
                if l.startswith(("run-qemu.sh:", f"{PROG}:", "nested-run.sh:"))
                and not ACCEL_LINE_RE.match(l)]
    return messages[-1] if messages else f"status {run.status}"


def explain_failures(runs):
    """Every started run that failed gets its reason (the summary's and runs.csv's)."""
    for run in runs:
        run.reason = "" if run.status in (None, status.PASS) else failure_reason(run)


def first_l1(runs):
    """The first L1 description ('# l1:' line) of the started runs, or None."""
    infos = (parse_log(r.log) for r in runs if r.status is not None)
    return next((info.l1 for info in infos if info.l1), None)


def flat_result(result):
    """The flat fields of one guest result. The peer's long_holds counts
    locktorture's long holds taken (pvspin's locktorture shape calls them
    long_holds_taken), not pvspin's critical sections over 1 ms."""
    if result is None:
        return {}
    if result.get("guest") == LINUX:
        flat = {key: result.get(key) for key in PEER_FLAT_KEYS}
        flat["long_holds_taken"] = result.get("long_holds")
        return flat
    lat, pv = result.get("latency_ns", {}), result.get("pv", {})
    return {
        "pv_backend": result.get("pv_backend"),
        "duration_ns": result.get("duration_ns"), "warmup_ns": result.get("warmup_ns"),
        "hold_ns": result.get("hold_ns"), "think_ns": result.get("think_ns"),
        "acquisitions": result.get("acquisitions"),
        "throughput_per_s": result.get("throughput_per_s"),
        "fairness": result.get("fairness"),
        "latency_p50_ns": lat.get("p50"), "latency_p99_ns": lat.get("p99"),
        "latency_p999_ns": lat.get("p999"), "latency_max_ns": lat.get("max"),
        "overruns": result.get("overruns"),
        "slow_handoffs": result.get("slow_handoffs"), "long_holds": result.get("long_holds"),
        "max_handoff_ns": result.get("max_handoff_ns"),
        "halts": pv.get("halts"), "kicks_sent": pv.get("kicks_sent"),
        "kicks_received": pv.get("kicks_received"), "sched_yields": pv.get("sched_yields"),
        "wake_p99_ns": pv.get("wake_latency_ns", {}).get("p99"),
        "steal_ns": result.get("steal_ns"),
        "slow_handoffs": result.get("slow_handoffs"), "long_holds": result.get("long_holds"),
        "long_hold_ms": result.get("long_hold_ms"), "long_holds_taken": result.get("long_holds_taken"),
    }


def shape_mismatch(variant, result):
    """Why a pvspin RESULT is not of the shape its boot asked for, or ''."""
    if result is None or variant.guest == LINUX:
        return ""
    ran = result.get("shape")
    if ran is None and variant.shape != DEFAULT_SHAPE:
        return (f"the guest's result names no shape: this guest does not know "
                f"shape={variant.shape}, so it ran its default loop")
    if ran is not None and ran != variant.shape:
        return f"the guest ran shape={ran}, the runner asked for shape={variant.shape}"
    return ""


def xen_of(result):
    """The Xen a guest result names in its env (run-qemu.sh --accel xen: version,
    sched, cpus), or {} for a result without one."""
    env = (result or {}).get("env")
    xen = env.get("xen") if isinstance(env, dict) else None
    return xen if isinstance(xen, dict) else {}


def sched_mismatch(config, result):
    """Why a RESULT did not run under its config's Xen scheduler, or ''."""
    if result is None or not config.sched:
        return ""
    ran = xen_of(result).get("sched")
    if ran != config.sched:
        return (f"Xen ran sched={ran or 'unknown (the result names no env.xen.sched)'}, "
                f"the runner asked for sched={config.sched}")
    return ""


def host_fields(config, host, result):
    """The host's measurements of one lock's window (hostrun.Session.measure)."""
    host = host or {}
    cpu_ns = host.get("host_cpu_ns")
    acquisitions = (result or {}).get("acquisitions")
    measured = host.get("interference", {}).get("measured", {})
    return {
        "interference_mode": config.interference or "taskset", "base_config": config.base_label,
        "host_cpu_ns": cpu_ns,
        "acquisitions_per_cpu_s": (round(acquisitions / (cpu_ns / NS_PER_S), 1)
                                   if cpu_ns and acquisitions is not None else None),
        "run_fraction": measured.get("run_fraction"),
        "throttled_fraction": measured.get("throttled_fraction"),
        "frozen_fraction": measured.get("frozen_fraction"),
    }


def with_guest_steal(interference, result):
    """The guest's steal time (KVM offers it; TCG does not: null) beside the host's numbers."""
    if "measured" in interference:
        interference["measured"]["guest_steal_ns"] = (result or {}).get("steal_ns")
    return interference


def make_records(opts, env, runs):
    records = []
    for run in (r for r in runs if r.status is not None):
        info = parse_log(run.log)
        l1 = info.l1 or {}
        c, v = run.config, run.variant
        for lock in variant_locks(opts, v):
            outcome = info.outcomes.get(lock)
            if outcome is None:
                status, reason = "missing", f"run ended with status {run.status} before this lock's result"
            else:
                status, reason = ("ok" if outcome.ok else "not ok"), outcome.reason
            mismatch = (shape_mismatch(v, outcome and outcome.result)
                        or sched_mismatch(c, outcome and outcome.result))
            if mismatch:
                status, reason = "not ok", mismatch
            record = dict.fromkeys(CSV_FIELDS)
            record.update({
                "config": c.label, "lock": lock, "guest": v.guest, "shape": v.shape,
                "status": status, "reason": reason,
                "rep": run.rep, "vm": run.vm, "vms": c.vms, "vcpus": c.vcpus,
                "host_cpus": c.cpuset, "host_cpu_count": len(c.cpus),
                "overcommit": round(c.overcommit, 4), "accel": run.accel,
                "xen_sched": xen_of(outcome and outcome.result).get("sched"),
                "pin_vcpus": int(opts.pin_vcpus), "hypervisor_bit": opts.hypervisor_bit,
                "pv": opts.pv, "seed": run.rep,
                "run_status": run.status,
                "qemu_version": env["qemu_version"], "host_cpu_model": env["host_cpu_model"],
                "l1_kernel": l1.get("kernel"), "l1_cpus": l1.get("cpus"),
                "l1_cpu_model": l1.get("cpu_model_name"),
                "log": relative(run.log, opts.out),
            })
            record.update(flat_result(outcome and outcome.result))
            record.update(host_fields(c, (run.host or {}).get(lock), outcome and outcome.result))
            record["interference"] = with_guest_steal(
                (run.host or {}).get(lock, {}).get("interference")
                or {"mode": c.interference.split("=")[0] or "taskset"}, outcome and outcome.result)
            record["env"] = host_env(env, run.accel)
            record["result"] = outcome and outcome.result
            records.append(record)
    return records


def write_csvs(out, records, runs):
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RUN_CSV_FIELDS)
        w.writeheader()
        for run in runs:
            if run.status is None:
                continue
            c = run.config
            w.writerow({"config": c.label, "guest": run.variant.guest, "shape": run.variant.shape,
                        "rep": run.rep, "vm": run.vm, "vms": c.vms,
                        "vcpus": c.vcpus, "host_cpus": c.cpuset,
                        "overcommit": round(c.overcommit, 4), "accel": run.accel,
                        "status": run.status, "meaning": meaning(run.status),
                        "seconds": round(run.seconds, 2), "reason": run.reason,
                        "log": relative(run.log, out), "err": relative(run.err, out)})
