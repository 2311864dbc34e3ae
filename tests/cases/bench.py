# SPDX-License-Identifier: MIT
# bench.py: what tests/cases.cfg's bench group cannot say as a table: handoff counts, the runner's output files, interference, cleanup.
import csv
import filecmp
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pvlog
from runner.execute import check_args
from runner.registry import case, check, retry, setup

MATRIX = 'tools/bench/matrix.py'
# How far a measured interference may be from what was asked (the one
# timing-dependent check of the runner).
TOLERANCE = 0.3
# The host keys every record of the runner carries.
RECORD_KEYS = ('accel', 'qemu_version', 'host_cpu_model', 'host_cpus', 'host_cpu_count', 'vcpus',
               'vms', 'vm', 'rep', 'overcommit', 'pv_backend', 'log', 'slow_handoffs',
               'long_holds', 'max_handoff_ns')
# Where an ended runner could leave something behind.
CGROUP_GLOBS = ('/sys/fs/cgroup/cpu/pvspin-bench-*', '/sys/fs/cgroup/freezer/pvspin-bench-*',
                '/sys/fs/cgroup/unified/pvspin-bench-*')
HOG = 'pvbench/hog.py'
INTERRUPT_WAIT_S = 15        # for the run to start its interference
INTERRUPT_AFTER_S = 0.5      # then this long under it before the signal
INTERRUPT_LIMIT_S = 120


def bench_results(path):
    return [j for run in pvlog.parse(pvlog.read_log(str(path))) for j in run.json
            if j.get('test') == 'bench']


def bench_tables(path):
    return [row.split() for run in pvlog.parse(pvlog.read_log(str(path)))
            for row in run.tables.get('bench-table', [])]


@check('handoffs')
def handoffs(ctx, min_slow, max_handoffs=None):
    """Every bench result has the handoff fields, consistent (slow <=
    handoffs <= acquisitions; a slow handoff iff the largest gap is over
    the limit), at least MIN_SLOW slow handoffs and at most MAX_HANDOFFS
    handoffs per lock; the bench-table has the three columns, filled as
    the JSON."""
    results = bench_results(ctx.log)
    table = bench_tables(ctx.log)
    bad = [] if results else ['no bench result']
    for r in results:
        lock = r.get('lock')
        keys = ('slow_limit_ns', 'handoffs', 'slow_handoffs', 'max_handoff_ns', 'long_holds')
        if any(not isinstance(r.get(k), int) or r[k] < 0 for k in keys):
            bad.append(f'{lock}: handoff fields missing: ' + str({k: r.get(k) for k in keys}))
            continue
        ctx.note(f"#   {lock}: acquisitions {r['acquisitions']}, handoffs {r['handoffs']}, "
                 f"slow {r['slow_handoffs']}, max {r['max_handoff_ns']} ns, long holds {r['long_holds']}")
        if not r['slow_handoffs'] <= r['handoffs'] <= r['acquisitions']:
            bad.append(f'{lock}: not slow <= handoffs <= acquisitions')
        if r['long_holds'] > r['acquisitions']:
            bad.append(f'{lock}: more long holds than acquisitions')
        if (r['slow_handoffs'] > 0) != (r['max_handoff_ns'] > r['slow_limit_ns']):
            bad.append(f"{lock}: slow_handoffs {r['slow_handoffs']} but max_handoff_ns {r['max_handoff_ns']}")
        if r['slow_handoffs'] < int(min_slow):
            bad.append(f"{lock}: slow_handoffs {r['slow_handoffs']}, expected at least {min_slow}")
        if max_handoffs is not None and r['handoffs'] > int(max_handoffs):
            bad.append(f"{lock}: handoffs {r['handoffs']}, expected at most {max_handoffs}")
    if not table or table[0][-3:] != ['slow_hoff', 'long_hold', 'max_hoff_us']:
        bad.append(f'bench-table header lacks the handoff columns: {table[:1]}')
    elif len(table) != len(results) + 1 or any(len(row) != len(table[0]) for row in table):
        bad.append('bench-table rows do not match its header and the results')
    else:
        for row, r in zip(table[1:], results):
            if row[-3:] != [str(r['slow_handoffs']), str(r['long_holds']), str(r['max_handoff_ns'] // 1000)]:
                bad.append(f"bench-table row of {r['lock']} differs from its JSON: {row[-3:]}")
    return '; '.join(bad[:5]) or None


@case('bench-default-shape')
def bench_default_shape(ctx):
    """A default bench run (the case it comes after) names its shape, hold
    and think time in every result and on its # bench: line."""
    log = ctx.after_log()
    ctx.ktap(['bench.shape=default', 'bench.hold_ns=200', 'bench.think_ns=500'], log=log)
    ctx.grep(r'^# bench: shape=default lock=.* hold_ns=200 think_ns=500 ', [log])


@check('bench-outputs')
def bench_outputs(ctx, out, rows):
    """results.jsonl and results.csv parse and have ROWS rows, every one
    measured and sane; summary.md has its title; runs.csv is not empty."""
    out, rows = Path(out), int(rows)
    try:
        jsonl = [json.loads(l) for l in ctx.text(out / 'results.jsonl').splitlines()]
        table = list(csv.DictReader(open(out / 'results.csv')))
        runs = list(csv.DictReader(open(out / 'runs.csv')))
    except (OSError, ValueError) as e:
        return f'outputs in {out}: {e}'
    bad = []
    if len(jsonl) != rows or len(table) != rows:
        bad.append(f'{len(jsonl)} JSON and {len(table)} CSV rows, expected {rows}')
    for r in jsonl:
        where = f"{r.get('config')} {r.get('lock')}"
        if r.get('status') != 'ok':
            bad.append(f"{where}: status {r.get('status')} ({r.get('reason')})")
            continue
        if not r['throughput_per_s'] > 0:
            bad.append(f"{where}: throughput_per_s {r['throughput_per_s']}")
        if not 0 < r['fairness'] <= 1:
            bad.append(f"{where}: fairness {r['fairness']}")
        bad += [f'{where}: no {k}' for k in RECORD_KEYS if r.get(k) in (None, '')]
        if r.get('overcommit') != r['vcpus'] * r['vms'] / r['host_cpu_count']:
            bad.append(f"{where}: overcommit {r.get('overcommit')}")
        if r.get('result', {}).get('test') != 'bench':
            bad.append(f'{where}: no guest result kept')
    for r in table:
        if r['status'] == 'ok' and not float(r['throughput_per_s']) > 0:
            bad.append(f"CSV {r['config']} {r['lock']}: throughput_per_s {r['throughput_per_s']}")
    if not ctx.text(out / 'summary.md').startswith('# pvspin overcommit benchmark'):
        bad.append('summary.md has no title')
    if not runs:
        bad.append('runs.csv is empty')
    return '; '.join(bad[:5]) or None


REPORT_FILES = ('summary.md', 'results.csv', 'runs.csv')


@case('bench-report')
def bench_report(ctx, out):
    """`matrix.py report DIR` on a finished run's directory writes its
    summary.md, results.csv and runs.csv again, byte for byte."""
    out = Path(out)
    kept = ctx.logs / 'bench-report-kept'
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for f in REPORT_FILES:
        ctx.require((out / f).exists(), f'{out / f}: missing after the run')
        shutil.move(str(out / f), kept / f)
    ctx.run([MATRIX, 'report', '--no-plot', out])
    ctx.expect_status(0)
    differ = [f for f in REPORT_FILES if not (out / f).exists() or
              not filecmp.cmp(kept / f, out / f, shallow=False)]
    ctx.require(not differ, f"rebuilt files differ from the run's: {' '.join(differ)} "
                f'(kept: {kept}, rebuilt: {out})')


@setup('bench-copy')
def bench_copy(ctx, src, dst, how):
    """A copy of a finished run's directory, broken HOW: a malformed last
    line of results.jsonl, or no results.jsonl at all."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    jsonl = Path(dst) / 'results.jsonl'
    if how == 'malformed':
        with open(jsonl, 'a') as f:
            f.write('{"config": "2@0", "lock": "tic\n')
    else:
        jsonl.unlink()


@check('peer-outputs')
def peer_outputs(ctx, out, configs, locks, impl, hv):
    """A --peer linux run's results.jsonl has, per config of CONFIGS, every
    lock of LOCKS under pvspin's default and locktorture shapes and one
    Linux row that ran IMPL, all measured (the Linux window too, on the
    host); every pvspin log shows CPUID's hypervisor bit HV; results.csv has
    the columns; summary.md has the side-by-side table per config, its rows
    filled and a ratio to 1x."""
    out, configs, locks = Path(out), configs.split(','), locks.split(',')
    records = [json.loads(l) for l in ctx.text(out / 'results.jsonl').splitlines()]
    bad = []
    for config in configs:
        for shape in ('default', 'locktorture'):
            for lock in locks:
                mine = [r for r in records if (r['config'], r['guest'], r['shape'], r['lock']) ==
                        (config, 'pvspin', shape, lock)]
                if len(mine) != 1:
                    bad.append(f'{config} pvspin {shape} {lock}: {len(mine)} records')
                elif mine[0]['status'] != 'ok' or mine[0]['result'].get('shape') != shape:
                    bad.append(f"{config} pvspin {shape} {lock}: {mine[0]['status']} {mine[0]['reason']}, "
                               f"result shape {mine[0]['result'].get('shape')}")
        linux = [r for r in records if r['config'] == config and r['guest'] == 'linux']
        if len(linux) != 1:
            bad.append(f'{config}: {len(linux)} Linux records')
            continue
        r = linux[0]
        if (r['lock'], r['shape'], r['status'], r['lock_impl']) != ('spin_lock', 'locktorture', 'ok', impl):
            bad.append(f"{config} linux: {r['lock']} {r['shape']} {r['status']} ({r['reason']}) "
                       f"lock_impl {r['lock_impl']}, expected {impl}")
        if not (r['throughput_per_s'] or 0) > 0 or not (r['host_cpu_ns'] or 0) > 0:
            bad.append(f"{config} linux: throughput_per_s {r['throughput_per_s']}, host_cpu_ns {r['host_cpu_ns']}")
        if r['long_hold_ms'] != 0 or r['hypervisor_bit'] != hv:
            bad.append(f"{config} linux: long_hold_ms {r['long_hold_ms']}, hypervisor_bit {r['hypervisor_bit']}")
    want = 'hypervisor="none"' if hv == 'off' else 'hypervisor="TCG'
    for r in records:
        if r['guest'] == 'pvspin' and want not in ctx.text(out / r['log']):
            bad.append(f"{r['log']}: no {want} in its # cpu: line")
            break
    header = next(csv.reader(open(out / 'results.csv')))
    for column in ('guest', 'shape', 'lock_impl', 'long_hold_ms', 'long_holds_taken', 'hypervisor_bit'):
        if column not in header:
            bad.append(f'results.csv has no {column} column')
    summary = ctx.text(out / 'summary.md')
    if '## Linux peer side by side' not in summary:
        bad.append('summary.md has no Linux peer section')
    else:
        section = summary[summary.index('## Linux peer side by side'):]
        for config in configs:
            m = re.search(rf'^### {re.escape(config)} \((.*?)x.*?\n\n(.*?)\n\n', section, re.M | re.S)
            if not m:
                bad.append(f'summary.md: no side-by-side table for {config}')
                continue
            rows = [row.split(' | ') for row in m.group(2).splitlines()[2:]]
            want_rows = 1 + 2 * len([l for l in locks if l in ('tas', 'qspinlock', 'pvqspinlock')])
            if len(rows) != want_rows:
                bad.append(f'summary.md {config}: {len(rows)} rows, expected {want_rows}')
            if not rows or rows[0][:2] != ['| linux', 'spin_lock'] or rows[0][3] != impl:
                bad.append(f'summary.md {config}: the first row is not Linux spin_lock with {impl}: {rows[:1]}')
            for row in rows:
                if row[4] != '1/1' or not re.match(r'^[0-9.,]+$', row[5]) or not row[8].endswith('x'):
                    bad.append(f'summary.md {config}: row {row}')
    return '; '.join(bad[:6]) or None


@check('interference')
def interference(ctx, out, mode, *mechanism):
    """A one-lock, 2-vCPU run under MODE (quota or stall) ran under TCG as
    asked, through MECHANISM, with the interference measured on the host
    within TOLERANCE of what was asked (a quota is a ceiling: a loaded host
    may give less, never more)."""
    wrong, off = interference_problems(ctx, out, mode, ' '.join(mechanism))
    return '; '.join((wrong + off)[:5]) or None


def interference_problems(ctx, out, mode, mechanism):
    """What is wrong with the run in OUT, in two lists: what the runner
    got wrong, and the measured interference outside TOLERANCE of what was
    asked (the host's timing)."""
    out = Path(out)
    errs = ''.join(ctx.text(p) for p in glob.glob(str(out / 'logs' / '*.err')))
    if 'run-qemu.sh: accel=tcg (forced)' not in errs:
        return [f'run-qemu.sh was not given --accel tcg (outputs: {out})'], []
    if not re.search(rf'"mechanism": "{re.escape(mechanism)}', ctx.text(out / 'results.jsonl')):
        return [f'the mechanism is not /{mechanism}/ (outputs: {out})'], []
    records = [json.loads(l) for l in ctx.text(out / 'results.jsonl').splitlines()]
    bad, off = ([] if records else ['no records']), []
    for r in records:
        where = f"{r['config']} {r['lock']}"
        i = r.get('interference') or {}
        m = i.get('measured') or {}
        if r['status'] != 'ok':
            bad.append(f"{where}: status {r['status']} ({r.get('reason')})")
            continue
        if i.get('mode') != mode or not i.get('mechanism'):
            bad.append(f'{where}: interference {json.dumps(i)[:200]}')
            continue
        if r.get('accel') != 'tcg' or r.get('env', {}).get('accel') != 'tcg':
            bad.append(f"{where}: accel {r.get('accel')}, expected tcg")
        if not (r.get('host_cpu_ns') or 0) > 0 or not (r.get('acquisitions_per_cpu_s') or 0) > 0:
            bad.append(f"{where}: host_cpu_ns {r.get('host_cpu_ns')}, "
                       f"acquisitions_per_cpu_s {r.get('acquisitions_per_cpu_s')}")
        for key in ('host_scheduler', 'host_slice', 'host_cgroup', 'host_smt', 'vcpu_pinning'):
            if not r.get('env', {}).get(key):
                bad.append(f'{where}: env has no {key}')
        vcpus = m.get('per_vcpu', [])
        for v in vcpus:
            w = m['window_ns']
            if mode == 'quota':
                want = i['pct'] / 100
                if v['run_ns'] / w > want * (1 + TOLERANCE):
                    off.append(f"{where} vCPU {v['vcpu']}: ran {v['run_ns'] / w:.1%} of the window, "
                               f'quota {want:.0%}')
            else:
                want = i['len_ms'] / i['every_ms'] / len(vcpus)
                got = v['frozen_ns'] / w
                if not abs(got - want) <= want * TOLERANCE:
                    off.append(f"{where} vCPU {v['vcpu']}: frozen {got:.1%} of the window, asked {want:.1%}")
        if mode == 'quota' and not (sum(v['throttled_ns'] or 0 for v in vcpus) > 0 and
                                    sum(v['nr_throttled'] or 0 for v in vcpus) > 0):
            bad.append(f'{where}: no vCPU throttled: ' +
                       ', '.join(f"{v['throttled_ns']} ns in {v['nr_throttled']} periods" for v in vcpus))
        if mode == 'stall' and not abs(m.get('stall_ms_mean', 0) - i['len_ms']) <= i['len_ms'] * TOLERANCE:
            off.append(f"{where}: stalls of {m.get('stall_ms_mean')} ms on average, asked {i['len_ms']}")
    return bad, off


@retry('host-timing')
def host_timing(ctx):
    """A run whose only fault is interference measured outside TOLERANCE
    runs once more, its outputs kept beside (so the case still fails if it
    happens twice): how long the host takes to freeze, thaw or throttle a
    thread is the host's (docs/notes/host-timing.md)."""
    args = next((check_args(rest, ctx) for word, rest in ctx.case.checks if word == 'interference'), None)
    if args is None:
        return None
    out, mode, *mechanism = args
    try:
        wrong, off = interference_problems(ctx, out, mode, ' '.join(mechanism))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if wrong or not off:
        return None
    first = Path(f'{out}-first')
    shutil.rmtree(first, ignore_errors=True)
    shutil.move(out, first)
    return f'the host timing alone was off ({off[0]})'


@case('host-timing-rule')
def host_timing_rule(ctx):
    """The interference check's two kinds of fault on made-up runs: a
    vCPU frozen for less than asked, or stalls too short, are the host's
    timing (the case may run once more); a failed run or a wrong mechanism
    are the runner's (it may not)."""
    mech = 'cgroup v1 freezer'
    out = ctx.logs / ctx.case.name

    def problems(status='ok', frozen=(0.25, 0.25), stall_ms=5.0, mechanism=mech):
        shutil.rmtree(out, ignore_errors=True)
        (out / 'logs').mkdir(parents=True)
        (out / 'logs' / 'run.err').write_text('run-qemu.sh: accel=tcg (forced)\n')
        window = 10 ** 9
        env = {k: 'x' for k in ('accel', 'host_scheduler', 'host_slice', 'host_cgroup', 'host_smt', 'vcpu_pinning')}
        record = {'config': '2@0-1~stall=5/10:rr', 'lock': 'tas', 'status': status, 'reason': 'made up',
                  'accel': 'tcg', 'env': dict(env, accel='tcg'), 'host_cpu_ns': 1, 'acquisitions_per_cpu_s': 1,
                  'interference': {'mode': 'stall', 'mechanism': mechanism, 'len_ms': 5, 'every_ms': 10,
                                   'measured': {'window_ns': window, 'stall_ms_mean': stall_ms,
                                                'per_vcpu': [{'vcpu': i, 'frozen_ns': f * window}
                                                             for i, f in enumerate(frozen)]}}}
        (out / 'results.jsonl').write_text(json.dumps(record) + '\n')
        return interference_problems(ctx, out, 'stall', mech)

    ctx.require(problems() == ([], []), f'a run as asked has problems: {problems()}')
    wrong, off = problems(frozen=(0.174, 0.237))
    ctx.require(not wrong and len(off) == 1 and 'frozen 17.4%' in off[0],
                f'a vCPU frozen 17.4% against 25% is not the host timing alone: {wrong}, {off}')
    wrong, off = problems(stall_ms=3.0)
    ctx.require(not wrong and len(off) == 1, f'stalls of 3 ms against 5 are not the host timing alone: {wrong}, {off}')
    wrong, off = problems(status='failed', frozen=(0.174, 0.237))
    ctx.require(wrong, f'a failed run was taken for the host timing: {wrong}, {off}')
    wrong, off = problems(mechanism='cgroup v2 freezer')
    ctx.require(wrong, f'a wrong mechanism was taken for the host timing: {wrong}, {off}')


def hogs():
    out = subprocess.run(['pgrep', '-f', HOG], capture_output=True, text=True).stdout.split()
    return [f'hog process {p}' for p in out]


def leftovers():
    """What an ended runner left behind: cgroups, frozen groups, hogs."""
    left = [f'cgroup {d}' for g in CGROUP_GLOBS for d in glob.glob(g)]
    for state in glob.glob('/sys/fs/cgroup/freezer/*/freezer.state'):
        if 'FROZEN' in Path(state).read_text():
            left.append(f'frozen {state}')
    for events in glob.glob('/sys/fs/cgroup/unified/*/cgroup.events') + \
            glob.glob('/sys/fs/cgroup/unified/*/*/cgroup.events'):
        if re.search(r'^frozen 1', Path(events).read_text(), re.M):
            left.append(f'frozen {events}')
    return left + hogs()


@case('bench-interrupt')
def bench_interrupt(ctx, sig, mode, *args):
    """A runner stopped by SIG mid-run, while its VM runs under MODE's
    interference, leaves nothing behind and says it was interrupted."""
    out = ctx.logs / f'bench-interrupt-{ctx.case.name}'
    shutil.rmtree(out, ignore_errors=True)
    argv = [MATRIX, '--configs', f'2@0-1~{mode}', '--locks', 'tas', '--reps', '3', '--duration-ms',
            '3000', '--warmup-ms', '30', '--no-plot', '--out', out, *args]
    with open(ctx.log, 'wb') as so, open(ctx.err, 'wb') as se:
        child = ctx.spawn(argv, stdout=so, stderr=se)
        try:
            deadline = time.monotonic() + INTERRUPT_WAIT_S
            started = False
            while time.monotonic() < deadline and child.poll() is None:
                if any(glob.glob(g) for g in CGROUP_GLOBS) or hogs():
                    started = True
                    break
                time.sleep(0.1)
            time.sleep(INTERRUPT_AFTER_S)
            # The runner alone gets the signal, as from a terminal's Ctrl-C
            # or a CI's stop: its own cleanup is under test.
            os.kill(child.pid, getattr(signal, f'SIG{sig}'))
            ctx.status = child.proc.wait(INTERRUPT_LIMIT_S)
        finally:
            ctx.reap(child)
    left = leftovers()
    ctx.require(not left, 'left behind: ' + ' '.join(left))
    ctx.require(started, f'the run never started its interference (log: {ctx.log})')
    ctx.require('interrupted' in ctx.text(ctx.err), f'status {ctx.status}, no \'interrupted\' message (log: {ctx.log})')


FAKE_RUN_QEMU = '''#!/bin/sh
echo "run-qemu.sh: accel=kvm (fake: a runner that ignores --accel)" >&2
exec {run_qemu} "$@"
'''


@setup('fake-run-qemu')
def fake_run_qemu(ctx, path):
    """A run-qemu.sh stand-in that says it runs KVM whatever it is asked."""
    Path(path).write_text(FAKE_RUN_QEMU.format(run_qemu=ctx.top / 'run-qemu.sh'))
    os.chmod(path, 0o755)
    shutil.rmtree(ctx.logs / 'bench-accel', ignore_errors=True)
