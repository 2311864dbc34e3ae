# SPDX-License-Identifier: MIT
# locks.py: what tests/cases.cfg's locks group cannot say as a table: the lockup report's shape, nesting, the nested batches.
import re

import pvlog
from pvspin.runner import split_nested
from runner.registry import case, check

# The seeds of the extra runs of random-nesting, in order.
NESTING_SEEDS = (2, 3)
NESTING_GUEST = ('test=torture lock=qspinlock,pvqspinlock duration_ms=300 watchdog_ms=60000 '
                 'irq_lock=4 pv_spin_threshold=64').split()


def runs_of(path):
    return pvlog.parse(pvlog.read_log(str(path)))


def results(run, test):
    return [j for j in run.json if j.get('test') == test]


@check('whole-report')
def whole_report(ctx, ncpus):
    """The lockup header, then exactly one '# LOCKUP: cpu N' line per CPU in
    order with no other line among them and a 'stopped at' line for each,
    then the not-ok line and EXIT: STATUS=4 last."""
    n = int(ncpus)
    lines = ctx.text().splitlines()
    heads = [i for i, l in enumerate(lines) if re.match(r'^# LOCKUP: CPU [0-9]+ made no progress', l)]
    if not heads:
        return 'no lockup report'
    if len(heads) > 1:
        return 'two reports'
    i, cpu = heads[0] + 1, 0
    while cpu < n and i < len(lines):
        if not lines[i].startswith(f'# LOCKUP: cpu {cpu} '):
            return f'line {i + 1} inside the report: {lines[i][:60]}'
        cpu, i = cpu + 1, i + 1
    if cpu < n:
        return f'report stops after cpu {cpu - 1}'
    stops = sum(1 for l in lines if re.match(r'^# LOCKUP: cpu [0-9]+ stopped at: ', l))
    if stops != n:
        return f'{stops} "stopped at" lines for {n} CPUs'
    if len(lines) < 2 or not re.match(r'^not ok 1 (hang|starve) # lockup', lines[-2]):
        return 'no not-ok line before EXIT'
    if lines[-1] != 'EXIT: STATUS=4':
        return 'last line is not EXIT: STATUS=4'
    return None


@case('random-nesting')
def random_nesting(ctx):
    """Node 3 needs three interrupt levels to pile up on one CPU: on a
    loaded host a 300 ms run sometimes has none, so up to two more runs
    (other seeds) may add theirs before the case fails."""
    logs = [ctx.after_log()]

    def used():
        r = [j for path in logs for run in runs_of(path) for j in run.json]
        return {k: sum(x.get('events', {}).get(k, 0) for x in r)
                for k in ('lock_use_node2', 'lock_use_node3', 'lock_use_node4', 'lock_no_node')}

    n = used()
    for seed in NESTING_SEEDS:
        if n['lock_use_node2'] and n['lock_use_node3']:
            break
        st = ctx.run_qemu(['--smp', '64'], NESTING_GUEST + [f'seed={seed}'],
                          logname=f'torture-nesting-seed{seed}', timeout=300)
        if st != 0:
            break
        logs.append(ctx.log)
        n = used()
    where = ' '.join(str(l) for l in logs)
    ctx.require(n['lock_use_node2'] and n['lock_use_node3'],
                f"node2 {n['lock_use_node2']} node3 {n['lock_use_node3']} in {len(logs)} run(s), "
                f'last status {ctx.status} ({where})')
    ctx.note(f"#   node2 {n['lock_use_node2']}, node3 {n['lock_use_node3']}, node4 {n['lock_use_node4']}, "
             f"no_node {n['lock_no_node']} in {len(logs)} run(s) ({where})")


@case('drop-recovered')
def drop_recovered(ctx):
    """The run ending at all shows no waiter was left asleep; every dropped
    kick was recovered (two drops to one waiter before it wakes count as
    one recovery) and the sleep it cost was measured."""
    run = runs_of(ctx.after_log())[0]
    t = results(run, 'torture')
    ctx.require(t, f'no torture result (log: {ctx.after_log()})')
    r = t[0]['inject']
    ctx.note(f"#   dropped {r['dropped_kicks']}, recovered {r['recovered']}, slept mean "
             f"{r['slept_mean_ns']} ns, max {r['slept_max_ns']} ns")
    ctx.require(0 < r['recovered'] <= r['dropped_kicks'] and r['slept_max_ns'] > 0,
                f'no recovery measured (log: {ctx.after_log()})')


@check('nested-statuses')
def nested_statuses(ctx, nruns, *failing):
    """Of a --batch of NRUNS runs, exactly the runs given as I=STATUS ended
    other than 0, each with its status (run-qemu.sh says 'nested run I of
    N: status S' for each)."""
    said = re.findall(rf'^run-qemu\.sh: nested run ([0-9]+) of {nruns}: status ([0-9]+)',
                      ctx.text(ctx.err), re.M)
    want = [tuple(f.split('=')) for f in failing]
    if sorted(said) != sorted(want):
        return f'runs not passing: {said}, expected {want}'
    return None


def _torture(run):
    t = results(run, 'torture')
    return t[0] if t else {}


@check('kvm-batch')
def kvm_batch(ctx):
    """The ten real-KVM runs of pv-kvm-nested (tests/cases.cfg), each what
    its line asks."""
    parsed = [r for r in runs_of(ctx.log) if r.l1 is not None]
    bad = []
    if len(parsed) != 10:
        return f'{len(parsed)} runs, expected 10'
    for i in range(3):
        t = _torture(parsed[i])
        pv = t.get('pv', {})
        if (not t or t['violations'] or t['lost_updates'] or not pv.get('halts')
                or not pv.get('kicks_sent') or not pv.get('hypercalls') or t.get('pv_backend') != 'kvm'):
            bad.append(f'run {i + 1}: {t}')
    if not _torture(parsed[2]).get('steal_ns'):
        bad.append(f'pinned run: no steal time reported: {_torture(parsed[2])}')
    t = _torture(parsed[3])
    if t.get('pv_backend') != 'off' or t.get('pv', {}).get('halts'):
        bad.append(f'REALTIME run: {t}')
    s = results(parsed[4], 'pvswitch')
    if not s or s[0]['pv_backend'] != 'kvm' or not s[0]['trylock_after'] or not s[0]['free_after_unlock']:
        bad.append(f'pvswitch run: {s}')
    # 20% of waits wake spuriously: with 10 or more waits, none is a bug (on
    # a loaded host a run may have only a handful of waits).
    t = _torture(parsed[5])
    inj = t.get('inject', {})
    waits = t.get('pv', {}).get('halts', 0) + inj.get('spurious_wakes', 0)
    if (not t or t['violations'] or t['lost_updates'] or t['pv_backend'] != 'kvm'
            or (waits >= 10 and not inj.get('spurious_wakes')) or not inj.get('delayed_kicks')):
        bad.append(f'kvm + spurious/late kicks: {waits} waits, inject {inj}')
    t = _torture(parsed[6])
    if not t or t['violations'] or t['pv_backend'] != 'ipi' or not t['pv'].get('sched_yields'):
        bad.append(f'ipi pinned, KVM_HC_SCHED_YIELD to preempted wakees: {t}')
    if 'seen by the NMI watchdog' not in '\n'.join(parsed[7].lockup or []) or parsed[7].exit_status != 4:
        bad.append('run 8 (hang): no NMI watchdog report')
    # A kvm wait entered with interrupts on halts with sti;hlt (as Linux's
    # safe_halt), so the next interrupt ends a wait whose kick was dropped
    # and the waiter re-checks its byte (docs/pv.md).
    t = _torture(parsed[8])
    inj = t.get('inject', {})
    if (parsed[8].exit_status != 0 or not t or t['violations'] or t['lost_updates']
            or not inj.get('dropped_kicks') or not inj.get('recovered')):
        bad.append(f'run 9 (drop_kick under pv=kvm): dropped kicks not recovered: {inj}')
    t = _torture(parsed[9])
    pv = t.get('pv', {})
    if (parsed[9].exit_status != 0 or not t or t['violations'] or t['lost_updates']
            or t.get('pv_backend') != 'kvm' or not pv.get('hypercalls')):
        bad.append(f'run 10 (pvqspinlock_adaptive under pv=kvm): {t}')
    return '; '.join(b[:300] for b in bad) or None


@check('hyperv-batch')
def hyperv_batch(ctx):
    """The six runs of pv-hyperv-nested (tests/cases.cfg): pv=hyperv with
    both hypercalls and no errors, with faults injected, pvwait, and the
    backend pv=auto picks from what is offered."""
    parsed = [r for r in runs_of(ctx.log) if r.l1 is not None]
    if len(parsed) != 6:
        return f'{len(parsed)} runs, expected 6'
    texts = ['\n'.join(run.lines) for run in split_nested(ctx.text())]

    def first(i, test):
        r = results(parsed[i], test)
        return r[0] if r else {}

    bad = []
    for i in (0, 1):
        t = first(i, 'torture')
        pv = t.get('pv', {})
        if (t.get('pv_backend') != 'hyperv' or t.get('violations') != 0 or t.get('lost_updates') != 0
                or not pv.get('halts') or not pv.get('hv_send_ipi') or not pv.get('hv_long_spin_wait')
                or pv.get('hv_hypercall_errors') != 0):
            bad.append(f'run {i + 1}: backend {t.get("pv_backend")}, violations {t.get("violations")}, pv {pv}')
    inj = first(1, 'torture').get('inject', {})
    if not inj.get('spurious_wakes') or not inj.get('delayed_kicks'):
        bad.append(f'run 2: nothing injected: {inj}')
    w = first(2, 'pvwait')
    if (w.get('pv_backend') != 'hyperv' or w.get('nmi', {}).get('nmi_waits') != 1
            or w.get('irqs_off', {}).get('irqoff_waits') != 1 or not w.get('halted_ipi', {}).get('answered')):
        bad.append(f'run 3 (pvwait): {w}')
    for i, want, offer in ((3, 'kvm', 'Hyper-V at 0x40000000, KVM at 0x40000100 with PV_UNHALT'),
                           (4, 'hyperv', 'offered: Hyper-V at 0x40000000)'),
                           (5, 'kvm', 'offered: KVM at 0x40000000 with PV_UNHALT')):
        s = first(i, 'pvswitch')
        if s.get('pv_backend') != want or offer not in texts[i]:
            bad.append(f'run {i + 1} (pv=auto): backend {s.get("pv_backend")}, wanted {want} with "{offer}"')
    return '; '.join(b[:400] for b in bad) or None
