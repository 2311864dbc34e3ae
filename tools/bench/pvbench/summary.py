# SPDX-License-Identifier: MIT
# summary.md: the Markdown summary of a run, with the overcommit goals checked.
"""summary.md from a stored run (store.Bench) and its cells.

write_summary(bench, cells) writes DIR/summary.md and returns its text. The
text is a function of the stored run alone (its date is the one stored), so
a report rebuilt later is the same byte for byte.
"""
import shlex

from pvspin import status
from pvspin.stats import median

from .common import meaning, relative
from .config import fmt_ratio
from .results import xen_of
from .stats import Cell, baseline_config, fmt_ns, fmt_rate, fmt_spread, fmt_times, ordered_configs
from .variants import (DEFAULT_SHAPE, LINUX, LOCKTORTURE_SHAPE, PVSPIN, all_series, plan_variants,
                       series)

# The overcommit goals (summary.md "Goals").
GOAL_OVERCOMMIT = 4.0
GOAL_KEEP_FRACTION = 0.5
GOAL_SPEEDUP = 5.0
# The goals under --quota and --stall, and in the taskset mode (summary.md "Goals under interference").
GOAL_INTF_SPEEDUP = 10.0        # pvqspinlock / ticket and / qspinlock
GOAL_INTF_VS_TAS = 0.9
GOAL_INTF_FAIRNESS = 0.9
GOAL_INTF_P99_DIVISOR = 10      # pvqspinlock p99 <= ticket's / 10
GOAL_INTF_SPREAD = 0.15         # (max - min) / median over repetitions, every lock
GOAL_CPU_KEEP = 0.5             # acquisitions per CPU-second at 4x vs 1x (taskset)
PV_LOCK, NATIVE_LOCK, TICKET_LOCK, TAS_LOCK = "pvqspinlock", "qspinlock", "ticket", "tas"
# pvspin's locks beside the Linux peer, each with the Linux lock it stands
# for: with the hypervisor bit set and no PV spinlocks Linux runs
# virt_spin_lock(), a test-and-set lock.
PEER_COUNTERPARTS = ((TAS_LOCK, "virt_spin_lock"), (NATIVE_LOCK, "qspinlock"), (PV_LOCK, "pvqspinlock"))
UNKNOWN = "unknown (not recorded by this run)"
ANCHORS = (
    "Linux PV qspinlock: kernel builds slowed 1.52-1.62x at 1.5x overcommit "
    "(commit cd0272fab785).",
    "Linux PV qspinlock: ebizzy throughput fell 2.9x at 2x and 7.6x at 3x VM "
    "overcommit before the queue-head boost (commit 266e85a5ec91).",
    "Preemptable ticket locks: 5.3-7.9x over plain ticket locks under "
    "overcommit (Ouyang and Lange, VEE 2013).",
)


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def cpus_word(opts):
    return "L1 CPUs" if opts.accel == "nested" else "host CPUs"


def summary_header(bench):
    opts, env, runs = bench.opts, bench.env, bench.runs
    accels = sorted({r.accel for r in runs if r.status is not None}) or [opts.accel]
    lines = [
        "# pvspin overcommit benchmark",
        "",
        f"- date: {bench.date}",
        f"- command: `{shlex.join(bench.command)}`",
        f"- host: {env['host_cpu_model']}, {env['host_cpus_online']} CPUs online "
        f"({env.get('host_cpus_online_list', '?')}), SMT {env.get('host_smt', UNKNOWN)}",
        f"- host kernel: Linux {env['host_kernel']}; scheduler {env.get('host_scheduler', UNKNOWN)}; "
        f"base slice {env.get('host_slice', UNKNOWN)}",
        f"- cgroups used: {env.get('host_cgroup', UNKNOWN)}",
        f"- accelerator: {', '.join(accels)}; {env['qemu_version']}",
        f"- vCPU pinning: {env.get('vcpu_pinning', UNKNOWN)}",
        f"- guest: {env['guest_revision']}; test=bench, {opts.reps} rep(s), "
        f"duration_ms={opts.duration_ms} warmup_ms={opts.warmup_ms} hold_ns={opts.hold_ns} "
        f"think_ns={opts.think_ns} pv={opts.pv}" + "".join(f" {g}" for g in opts.guest),
        f"- host time slice: {fmt_ns(opts.slice_ns)} ({env['slice_source']})",
        *variants_header(opts, env),
    ]
    lines += xen_header(bench)
    l1 = bench.l1
    if l1:
        lines.append(f"- L1 (nested KVM host): Linux {l1.get('kernel')} ({l1.get('package_version', '?')}), "
                     f"{l1.get('cpus')} CPUs, {l1.get('cpu_model_name')}; the cpusets are L1 CPUs")
    lines += ["- overcommit ratio = vCPUs per VM x VMs / CPUs in the cpuset", ""]
    return lines


def xen_header(bench):
    """Under --accel xen: the schedulers Xen ran, as the results' env says, with their configs."""
    if bench.opts.accel != "xen":
        return []
    ran = {}
    for r in bench.records:
        sched = xen_of(r.get("result")).get("sched") or "not reported"
        labels = ran.setdefault(sched, [])
        if r["config"] not in labels:
            labels.append(r["config"])
    said = "; ".join(f"{sched} ({', '.join(labels)})" for sched, labels in ran.items())
    return [f"- Xen's scheduler, from each result's env: {said or 'no result'}"]


def variants_header(opts, env):
    """The boots of each step, said when there is more than pvspin's default one."""
    if not opts.peer and opts.shapes == [DEFAULT_SHAPE]:
        return []
    variants = plan_variants(opts.shapes, opts.peer, opts.peer_lock)
    shapes = {DEFAULT_SHAPE: f"hold_ns={opts.hold_ns} think_ns={opts.think_ns}",
              LOCKTORTURE_SHAPE: f"shape=locktorture long_hold_ms={opts.long_hold_ms}"}
    held = (f"long_hold_ms={opts.long_hold_ms}: locktorture's long holds "
            + ("off (locktorture's default, 100 ms holds, would hold the lock for much of a run)"
               if opts.long_hold_ms == 0
               else f"of {opts.long_hold_ms} ms, one in cpus x 2000 x {opts.long_hold_ms} acquisitions"))
    lines = ["- boots per config and rep, in this order: " + "; ".join(
        f"{v.text} ({shapes[v.shape]})" if v.guest == PVSPIN else
        f"{v.text} (Linux locktorture, lock={v.lock} long_hold_ms={opts.long_hold_ms} pv={opts.pv}; "
        f"kernel {env.get('peer_image', UNKNOWN)})"
        for v in variants),
        f"- locktorture loops: {held}; hypervisor bit {opts.hypervisor_bit} (every boot)"]
    return lines


def plain_config(configs, config):
    """The same config without interference, if the matrix has it (and CONFIG has some)."""
    if not config.interference:
        return None
    return next((c for c in configs if c.base_label == config.base_label and not c.interference), None)


def vs_plain(opts, cells, config, lock):
    plain = plain_config(opts.configs, config)
    if plain is None:
        return None
    return ratio_cells(cells.get((config.label, lock)), cells.get((plain.label, lock)))


def ratio_cells(a, b):
    a, b = a and a.median("tput"), b and b.median("tput")
    return a / b if a is not None and b else None


def fmt_fraction(x):
    return "-" if x is None else f"{x:.1%}"


def sched_baselines(configs, cells, lock):
    """{Xen scheduler: the baseline config (stats.baseline_config) among its
    configs}: a config is compared with the lowest overcommit of its own
    scheduler ('' for every config outside Xen or without --xen-sched)."""
    scheds = dict.fromkeys(c.sched for c in configs)
    return {s: baseline_config([c for c in configs if c.sched == s], cells, lock) for s in scheds}


def lock_section(opts, cells, lock):
    bases = sched_baselines(opts.configs, cells, lock)
    rows = []
    for c in ordered_configs(opts.configs):
        base = bases[c.sched]
        base_tput = base and cells[(base.label, lock)].median("tput")
        cell = cells.get((c.label, lock), Cell())
        med = cell.median("tput")
        spread, rel_spread = fmt_spread(cell.tput)
        rows.append([fmt_ratio(c.overcommit), c.vcpus, f"{c.cpuset} ({len(c.cpus)})", c.vms,
                     f"{cell.ok}/{cell.total}", fmt_rate(med), spread, rel_spread,
                     "-" if not cell.fairness else f"{cell.median('fairness'):.3f}",
                     fmt_ns(cell.median("p50")), fmt_ns(cell.median("p99")),
                     fmt_ns(cell.median("p999")),
                     fmt_times(med / base_tput) if med is not None and base_tput else "-",
                     c.mode or "taskset", fmt_rate(cell.median("per_cpu_s")),
                     fmt_times(vs_plain(opts, cells, c, lock)), fmt_times(cell.median("vs_tas")),
                     *handoff_columns(cell, has_handoffs(cells))])
    header = ["overcommit", "vCPUs", cpus_word(opts), "VMs", "runs ok", "acquisitions/s (median)",
              "min-max", "spread", "fairness", "p50", "p99", "p99.9", "vs lowest overcommit",
              "mode", "acq per host CPU-s", "vs plain", "vs tas (same boot)",
              *(["slow handoffs", "long holds"] if has_handoffs(cells) else [])]
    named = [b for b in bases.values() if b]
    relative_to = ", ".join(f"{b.label} ({fmt_ratio(b.overcommit)})" for b in named) + (
        " (each config against the one of its Xen scheduler)" if len(named) > 1 else "")
    note = (f"Throughput relative to {relative_to}; "
            "spread = (max - min) / median; latencies are acquire times, medians over runs. "
            "acq per host CPU-s: acquisitions per second of CPU time the vCPU threads got in the "
            "measured window; vs plain: the same config without interference; vs tas: this lock's "
            "throughput over tas's in the same boot (median of the per-boot ratios)."
            if named else "No run measured this lock.")
    return [f"### {lock}", "", *md_table(header, rows), "", note, ""]


def has_handoffs(cells):
    return any(cell.slow_handoffs or cell.long_holds for cell in cells.values())


def handoff_columns(cell, shown):
    """The guest's slow handoffs and long holds (medians), when the table SHOWN
    them ('-' for a cell without: the Linux peer counts neither)."""
    if not shown:
        return []
    return [f"{cell.median(name):g}" if getattr(cell, name) else "-"
            for name in ("slow_handoffs", "long_holds")]


def interference_section(opts, cells):
    """What each config's interference asked for and what the host measured."""
    rows = []
    for c in ordered_configs(opts.configs):
        mine = [cell for (label, _), cell in cells.items() if label == c.label]
        merged = {name: [v for cell in mine for v in getattr(cell, name)]
                  for name in ("run_fraction", "throttled_fraction", "frozen_fraction")}
        example = next((cell.interference for cell in mine if cell.interference), None) or {}
        measured = example.get("measured", {})
        requested = ", ".join(f"{k}={v}" for k, v in example.items()
                              if k not in ("mode", "mechanism", "measured")) or "-"
        want = next((measured[k] for k in ("frozen_fraction_requested", "run_fraction_requested",
                                           "hog_run_fraction_requested") if k in measured), None)
        rows.append([c.label, c.interference.split("=")[0] or "taskset", requested,
                     fmt_fraction(want),
                     *(fmt_fraction(median(merged[n])) for n in
                       ("run_fraction", "throttled_fraction", "frozen_fraction")),
                     example.get("mechanism", "-")])
    header = ["config", "mode", "requested", "requested share", "run (median)", "throttled",
              "frozen", "mechanism"]
    return ["## Interference, measured on the host", "",
            "Per vCPU thread over each lock's measured window (the guest's warm-up excluded), "
            "medians over vCPUs, locks and runs: run = time on a CPU (schedstat), throttled = "
            "cgroup cpu.stat throttled_time, frozen = the stall driver's own record. Requested "
            "share: the quota's CPU share, the share of time each vCPU is frozen "
            "(LEN/EVERY / vCPUs), or a hog's duty. results.jsonl has every vCPU's numbers "
            "(and each hog's run time).", "",
            *md_table(header, rows), ""]


def ratio_of(cells, label, lock_a, lock_b):
    a = cells.get((label, lock_a), Cell()).median("tput")
    b = cells.get((label, lock_b), Cell()).median("tput")
    return a / b if a is not None and b else None


def side_by_side(opts, cells):
    locks = (PV_LOCK, NATIVE_LOCK, TICKET_LOCK)
    if PV_LOCK not in opts.locks:
        return ["## pvqspinlock side by side", "", f"Not measured: --locks has no {PV_LOCK}.", ""]
    rows = []
    for c in ordered_configs(opts.configs):
        med = {lock: cells.get((c.label, lock), Cell()) for lock in locks}
        rows.append([fmt_ratio(c.overcommit), c.label,
                     *(fmt_rate(med[lock].median("tput")) for lock in locks),
                     fmt_times(ratio_of(cells, c.label, PV_LOCK, NATIVE_LOCK)),
                     fmt_times(ratio_of(cells, c.label, PV_LOCK, TICKET_LOCK)),
                     *(fmt_ns(med[lock].median("p99")) for lock in locks)])
    header = ["overcommit", "config", *(f"{lock} /s" for lock in locks),
              f"{PV_LOCK} / {NATIVE_LOCK}", f"{PV_LOCK} / {TICKET_LOCK}",
              *(f"{lock} p99" for lock in locks)]
    return ["## pvqspinlock side by side", "",
            "Medians over runs; the ratios are ratios of median throughput.", "",
            *md_table(header, rows), ""]


def same_cpuset_1x(configs, config):
    """The 1x config on CONFIG's cpuset (one of CONFIG's Xen scheduler, then
    one without interference, then one with CONFIG's VMs first), or None."""
    ones = [c for c in ordered_configs(configs)
            if abs(c.overcommit - 1) < 1e-9 and c.cpus == config.cpus]
    ranked = sorted(ones, key=lambda c: (c.sched != config.sched, bool(c.interference),
                                         c.vms != config.vms))
    return ranked[0] if ranked else None


def vs_own_1x(configs, cells, config, name):
    """NAME's median at CONFIG over its median at the 1x config of the same cpuset, as text."""
    base = same_cpuset_1x(configs, config)
    if base is None:
        return f"no 1x config on {config.cpuset}"
    return fmt_times(ratio_cells(cells.get((config.label, name)), cells.get((base.label, name))))


def peer_rows(opts, cells, c):
    """The Linux peer's row and pvspin's counterparts under each shape, at config C."""
    linux = cells.get((c.label, series(LINUX, LOCKTORTURE_SHAPE, opts.peer_lock)), Cell())
    ran = ", ".join(linux.lock_impls) or "-"
    rows = []

    def row(guest, lock, shape, impl, name, vs_linux):
        cell = cells.get((c.label, name), Cell())
        spread, rel_spread = fmt_spread(cell.tput)
        rows.append([guest, lock, shape, impl, f"{cell.ok}/{cell.total}", fmt_rate(cell.median("tput")),
                     spread, rel_spread, vs_own_1x(opts.configs, cells, c, name), vs_linux])

    if opts.peer:
        row(LINUX, opts.peer_lock, LOCKTORTURE_SHAPE, ran,
            series(LINUX, LOCKTORTURE_SHAPE, opts.peer_lock), "1x" if linux.tput else "-")
    for lock, counterpart in PEER_COUNTERPARTS:
        if lock not in opts.locks:
            continue
        same = " (Linux's)" if counterpart in linux.lock_impls else ""
        for shape in opts.shapes:
            name = series(PVSPIN, shape, lock)
            vs_linux = (fmt_times(ratio_cells(cells.get((c.label, name)), linux))
                        if opts.peer and shape == LOCKTORTURE_SHAPE else "-")
            row(PVSPIN, lock, shape, counterpart + same, name, vs_linux)
    return rows


def peer_section(opts, cells):
    """Per config, the Linux peer beside pvspin's tas, qspinlock and pvqspinlock in every shape."""
    if not opts.peer and opts.shapes == [DEFAULT_SHAPE]:
        return []
    title = "## Linux peer side by side" if opts.peer else "## Shapes side by side"
    header = ["guest", "lock", "shape", "Linux lock_impl", "runs ok", "acquisitions/s (median)",
              "min-max", "spread", "vs own 1x", "vs Linux"]
    lines = [title, "",
             "Per config, medians over runs; spread = (max - min) / median. Linux's row names the "
             "lock it ran (lock_impl, read from its boot: CPUID's hypervisor bit and KVM's PV "
             "spinlocks); each pvspin row names the Linux lock it stands for, marked (Linux's) "
             "when that is the one Linux ran. Raw rates compare only within a shape: the default "
             "shape thinks between acquisitions, locktorture's loop does not. vs own 1x: the "
             "row's median over its own median at the 1x config of the same cpuset: how much of "
             "its 1x rate the lock keeps here, a figure that compares across shapes and guests. "
             "vs Linux: pvspin's locktorture shape over Linux's locktorture, the one-to-one "
             f"comparison (long_hold_ms={opts.long_hold_ms} in both; Linux's window is whole "
             "1 s stats intervals after a warm-up of at least one).", ""]
    for c in ordered_configs(opts.configs):
        base = same_cpuset_1x(opts.configs, c)
        where = (f"vs own 1x is against {base.label}" if base else
                 f"no 1x config on cpuset {c.cpuset}, so no ratio to 1x")
        lines += [f"### {c.label} ({fmt_ratio(c.overcommit)}, {c.mode or 'taskset'})", "",
                  *md_table(header, peer_rows(opts, cells, c)), "", f"{where}.", ""]
    return lines


def goal_configs(configs):
    """The taskset configs at the goals' overcommit (interference has its own goals)."""
    return [c for c in configs if abs(c.overcommit - GOAL_OVERCOMMIT) < 1e-9 and not c.interference]


def one_x_config(configs, config):
    """A 1x config to compare CONFIG with: of CONFIG's Xen scheduler if there
    is one, without interference, the same cpuset and VMs if there is one."""
    ones = [c for c in configs if abs(c.overcommit - 1) < 1e-9]
    ones = [c for c in ones if c.sched == config.sched] or ones
    plain = [c for c in ones if not c.interference]
    same = [c for c in plain if c.cpus == config.cpus and c.vms == config.vms]
    return (same or plain or ones or [None])[0]


def verdict(ok):
    return "PASS" if ok else "MISS"


def goal_keep_of(opts, cells, c, name, tag, what, unit, goal):
    """PVQSPINLOCK's median NAME at C against the 1x config's: goal TAG."""
    pv = cells.get((c.label, PV_LOCK), Cell()).median(name)
    base = one_x_config(opts.configs, c)
    base_v = base and cells.get((base.label, PV_LOCK), Cell()).median(name)
    if pv is None or not base_v:
        why = "no 1x config" if base is None else f"{PV_LOCK} not measured at {c.label} and {base.label}"
        return f"- not measured ({tag}) at {c.label}: {why}"
    keep = pv / base_v
    return (f"- {verdict(keep >= goal)} ({tag}) at {c.label}: {PV_LOCK} keeps {keep:.0%} "
            f"of its 1x {what} ({fmt_rate(pv)}{unit} vs {fmt_rate(base_v)}{unit} at {base.label}); "
            f"goal >= {goal:.0%}")


def goal_keep(opts, cells, c):
    return goal_keep_of(opts, cells, c, "tput", "a", "throughput", "/s", GOAL_KEEP_FRACTION)


def goal_speedup(cells, c):
    vs_native = ratio_of(cells, c.label, PV_LOCK, NATIVE_LOCK)
    vs_ticket = ratio_of(cells, c.label, PV_LOCK, TICKET_LOCK)
    if vs_native is None or vs_ticket is None:
        return (f"- not measured (b) at {c.label}: needs {PV_LOCK}, {NATIVE_LOCK} and "
                f"{TICKET_LOCK} there")
    ok = vs_native >= GOAL_SPEEDUP and vs_ticket >= GOAL_SPEEDUP
    return (f"- {verdict(ok)} (b) at {c.label}: {PV_LOCK} is {fmt_times(vs_native)} {NATIVE_LOCK} "
            f"and {fmt_times(vs_ticket)} {TICKET_LOCK}; goal >= {GOAL_SPEEDUP:g}x both")


def goal_latency(opts, cells, c):
    pv = cells.get((c.label, PV_LOCK), Cell()).median("p99")
    ticket = cells.get((c.label, TICKET_LOCK), Cell()).median("p99")
    if pv is None or ticket is None:
        return f"- not measured (c) at {c.label}: needs {PV_LOCK} and {TICKET_LOCK} there"
    ok = pv <= opts.slice_ns < ticket
    return (f"- {verdict(ok)} (c) at {c.label}: p99 acquire latency {PV_LOCK} {fmt_ns(pv)}, "
            f"{TICKET_LOCK} {fmt_ns(ticket)}, host time slice {fmt_ns(opts.slice_ns)}; goal: "
            f"{PV_LOCK} within the slice, {TICKET_LOCK} beyond it")


def goals_section(opts, cells):
    lines = ["## Goals", "",
             f"(a) {PV_LOCK} at {GOAL_OVERCOMMIT:g}x overcommit keeps >= {GOAL_KEEP_FRACTION:.0%} "
             f"of its 1x throughput; (b) at {GOAL_OVERCOMMIT:g}x it beats {NATIVE_LOCK} and "
             f"{TICKET_LOCK} by >= {GOAL_SPEEDUP:g}x; (c) its p99 acquire latency is within one "
             f"host time slice while {TICKET_LOCK}'s is not (checked at {GOAL_OVERCOMMIT:g}x).", ""]
    at_goal = goal_configs(ordered_configs(opts.configs))
    if not at_goal:
        return lines + [f"- not measured (a), (b), (c): no config at {GOAL_OVERCOMMIT:g}x overcommit", ""]
    for check in (lambda c: goal_keep(opts, cells, c), lambda c: goal_speedup(cells, c),
                  lambda c: goal_latency(opts, cells, c)):
        lines += [check(c) for c in at_goal]
    return lines + [""]


def intf_goal(opts, cells, c):
    """The goals under interference at one --quota or --stall config."""
    get = lambda lock: cells.get((c.label, lock), Cell())     # noqa: E731
    pv, ticket, native, tas = get(PV_LOCK), get(TICKET_LOCK), get(NATIVE_LOCK), get(TAS_LOCK)
    if not pv.tput:
        return f"- not measured at {c.label}: no {PV_LOCK} result there"
    checks = []
    for name, other, goal in ((TICKET_LOCK, ticket, GOAL_INTF_SPEEDUP),
                              (NATIVE_LOCK, native, GOAL_INTF_SPEEDUP), (TAS_LOCK, tas, GOAL_INTF_VS_TAS)):
        r = ratio_cells(pv, other)
        checks.append((r is not None and r >= goal, f"{fmt_times(r)} {name} (>= {goal:g}x)"))
    fair = pv.median("fairness")
    checks.append((fair is not None and fair >= GOAL_INTF_FAIRNESS,
                   f"fairness {'-' if fair is None else f'{fair:.3f}'} (>= {GOAL_INTF_FAIRNESS:g})"))
    p99, t99 = pv.median("p99"), ticket.median("p99")
    checks.append((p99 is not None and t99 is not None and p99 * GOAL_INTF_P99_DIVISOR <= t99,
                   f"p99 {fmt_ns(p99)} vs {TICKET_LOCK} {fmt_ns(t99)} (<= 1/{GOAL_INTF_P99_DIVISOR})"))
    spreads = {lock: (max(cell.tput) - min(cell.tput)) / cell.median("tput")
               for (label, lock), cell in cells.items() if label == c.label and len(cell.tput) > 1}
    worst = max(spreads.items(), key=lambda kv: kv[1], default=None)
    checks.append((worst is not None and worst[1] <= GOAL_INTF_SPREAD,
                   "spread " + (f"{worst[1]:.0%} at worst ({worst[0]})" if worst else "- (one rep)")
                   + f" (<= {GOAL_INTF_SPREAD:.0%})"))
    return f"- {verdict(all(ok for ok, _ in checks))} at {c.label}: {PV_LOCK} " + "; ".join(t for _, t in checks)


def goal_cpu_keep(opts, cells, c):
    return goal_keep_of(opts, cells, c, "per_cpu_s", "d", "acquisitions per host CPU-second", "",
                        GOAL_CPU_KEEP)


def intf_goals_section(opts, cells):
    lines = ["## Goals under interference", "",
             f"At every --quota or --stall config: {PV_LOCK} >= {GOAL_INTF_SPEEDUP:g}x {TICKET_LOCK} and "
             f"{NATIVE_LOCK}, >= {GOAL_INTF_VS_TAS:g}x {TAS_LOCK} in throughput, fairness >= "
             f"{GOAL_INTF_FAIRNESS:g}, p99 <= {TICKET_LOCK}'s / {GOAL_INTF_P99_DIVISOR}, every lock's "
             f"spread over repetitions <= {GOAL_INTF_SPREAD:.0%}. (d) taskset mode: {PV_LOCK}'s "
             f"acquisitions per host CPU-second at {GOAL_OVERCOMMIT:g}x keep >= {GOAL_CPU_KEEP:.0%} "
             "of 1x.", ""]
    shaped = [c for c in ordered_configs(opts.configs)
              if c.interference.split("=")[0] in ("quota", "stall")]
    lines += [intf_goal(opts, cells, c) for c in shaped] or ["- no --quota or --stall config"]
    lines += [goal_cpu_keep(opts, cells, c) for c in goal_configs(ordered_configs(opts.configs))
              if not c.interference]
    return lines + [""]


def failures_section(opts, runs):
    bad = [r for r in runs if r.status not in (None, status.PASS)]
    not_run = sum(1 for r in runs if r.status is None)
    lines = ["## Failed runs", ""]
    if bad:
        rows = [[r.config.label, r.variant.text, r.rep, r.vm, r.status, meaning(r.status),
                 r.reason.replace("|", "\\|"), relative(r.log, opts.out)] for r in bad]
        lines += md_table(["config", "boot", "rep", "VM", "status", "meaning", "reason", "log"],
                          rows) + [""]
    if not_run:
        lines += [f"{not_run} of {len(runs)} runs were not run: the runner stopped early "
                  "(a run rejected as bad input, or an interrupt).", ""]
    if not bad and not not_run:
        lines += ["None.", ""]
    return lines


def write_summary(bench, cells):
    opts = bench.opts
    lines = summary_header(bench)
    lines += ["## Results per lock", ""]
    for name in all_series(opts):
        lines += lock_section(opts, cells, name)
    lines += peer_section(opts, cells)
    lines += side_by_side(opts, cells)
    lines += interference_section(opts, cells)
    lines += goals_section(opts, cells)
    lines += intf_goals_section(opts, cells)
    lines += ["## Published anchors", "", *(f"- {a}" for a in ANCHORS), ""]
    lines += failures_section(opts, bench.runs)
    text = "\n".join(lines)
    (opts.out / "summary.md").write_text(text)
    return text
