#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# soak.py: a long torture soak of pvspin's locks across seeds, vCPU counts, interrupt levels, faults and backends.
"""Soak pvspin's locks: run test=torture again and again in rotating
configurations until the time is up or something goes wrong.

usage: tools/soak.py [--hours H | --minutes M] [--seed S] [--nested-every N]
                     [--no-nested] [--out DIR] [--report-every SEC]
                     [--locks LIST] [--max-runs N] [--max-duration-ms MS] [--plan N]

Each iteration is one ./run-qemu.sh boot under TCG with a configuration drawn
from a PRNG seeded by (SEED, iteration): the seed, 1-3 locks, from 2 vCPUs up
to TCG's limit (sometimes squeezed onto one host CPU), irq_lock=0..4, pv=ipi|off, an
injected fault (none, spurious_wake, kick_delay_us; drop_kick only under
pv=ipi with irq_lock=0, where the ipi backend recovers lost kicks) and the
torture duration (long for small guests, short for big ones), the hold and
think times. Every Nth iteration is instead one nested-KVM batch in one L1
boot with 4 vCPUs (run-qemu.sh --accel nested --batch): a bench line twice
(every lock at 32 vCPUs pinned to L1's CPUs: the load under which the layers
below the guest fail now and then, docs/notes/nested-failures-below-the-guest.md),
a pv=kvm torture at 32 or 64 vCPUs pinned the same way and a small one.

It stops at the first run that does not pass (violation, lost update,
lockup, crash, timeout, bad input, bed failure) and keeps that run's log and
prints the command that repeats it. A nested batch in which L1 failed below
the guest (the bed's 'bed failure: L1 ...' line, status 125: L1 stalled,
stopped or ran over its limit) is run once more, with its log, batch and
the bed's diagnostics kept as failures/iterN-below.*, unless a run that L1
had finished did not pass; a second failure stops the soak. A lockup report
from a run L1 had not finished when it failed counts as explained. Results go to build/soak/<UTC time>/:
summary.md (totals, rewritten as it goes), results.jsonl (one object a run)
and failures/ (logs of runs that did not pass only). Ctrl-C stops cleanly
with the totals. The same SEED gives the same sequence of configurations.

Environment: SEED, HOURS, MINUTES (defaults for the options),
SOAK_NESTED=0 (no nested batches).
Exit: 0 the time ran out with every run passing, 1 a run did not pass,
2 bad usage (a clear message on stderr), 130 interrupted.
"""
import argparse
import datetime
import json
import os
import random
import signal
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tools'))
import pvlog  # noqa: E402
from pvspin import facts, procs, status  # noqa: E402
from pvspin.nested import report  # noqa: E402

EXIT_OK, EXIT_FAILED, EXIT_USAGE = status.PASS, status.TEST_FAILURE, status.BAD_INPUT
EXIT_INTERRUPTED = 128 + signal.SIGINT

LOCKS = facts.LOCKS
TEST_LOCKS = facts.HIDDEN_LOCKS         # broken: a soak with it must stop at once
# vCPU counts and their weights: the big ones cost 10-20 s a boot under TCG.
SMP_CHOICES = ((2, 10), (3, 4), (4, 8), (6, 2), (8, 5), (12, 2), (16, 4), (24, 2),
               (32, 3), (48, 1), (64, 2), (96, 1), (128, 1), (192, 1), (facts.TCG_MAX_VCPUS, 1))
IRQ_LEVELS_MAX = 4
# Torture durations by vCPU count. Small guests run long: that is where the
# acquisitions are (measured here: 300,000-400,000/s at 2 vCPUs, under
# 1,000/s for ticket at 8 vCPUs on 2 CPUs, a few thousand at 192) and what
# the 10^9 target needs; big ones run short (boot and bring-up cost 5-20 s).
DURATIONS_MS = ((4, (10000, 20000, 40000)), (16, (1000, 2000, 5000)),
                (64, (300, 500, 1000)), (facts.TCG_MAX_VCPUS, (100, 200, 300, 500)))
HOLD_NS = (0, 50, 200)               # time in the critical section (torture default 200)
THINK_NS = (0, 100, 500, 2000)       # time between acquisitions (default 500)
PIN_ONE_CPU_CHANCE = 0.2             # squeeze every vCPU onto host CPU 0
PIN_ONE_CPU_MAX_SMP = 32             # beyond this, pinning starves the watchdog's
                                     # own vCPUs under a loaded host
INJECT_KINDS = ('none', 'spurious_wake', 'kick_delay_us', 'drop_kick')
SPURIOUS_PPM = (100, 1000, 10000)
KICK_DELAY_US = (10, 100, 1000)
DROP_KICK_PPM = (100, 1000, 10000)
# Nested batch, sized for a 2-core host: L1 gets NESTED_L1_SMP vCPUs; its L2
# runs are a bench line of every lock at 32 vCPUs pinned to L1's CPUs (the
# load under which the layers below the guest fail now and then), pv=kvm
# torture at 32 or 64 vCPUs pinned the same way, and smaller unpinned pv=kvm
# tortures.
NESTED_L1_SMP = 4
NESTED_L1_MEM_MB = 4096
NESTED_PIN = f'0-{NESTED_L1_SMP - 1}'
NESTED_BENCH_RUNS = 2                # the bench line, a new seed each
NESTED_SMALL_RUNS = 1
NESTED_SMP = (2, 4, 8, 16)
NESTED_BIG_SMP = (32, 64)
NESTED_INJECT_KINDS = ('none', 'spurious_wake', 'kick_delay_us')  # no drop_kick:
                                     # pv=kvm has no recovery, a drop is a real lockup
NESTED_DURATIONS_MS = (200, 500, 1000)
NESTED_TIMEOUT_S = 300
NESTED_CLASS = 'nested-kvm batch'     # its class in the results and the summary
# The nested bed's failure reasons (report.bed_failure(), status.NO_VMM
# with it) that start with this are L1 failing below the guest (stalled,
# stopped, over its limit).
BED_L1_REASON = 'L1 '
BED_TRIES = 2           # a batch L1 failed below the guest is run once more
DEFAULT_MAX_DURATION_MS = 40000
DEFAULT_NESTED_EVERY = 8            # a batch takes ~45 s, a TCG run ~15 s
# Timeouts of a TCG run: boot and bring-up grow with the vCPUs, and so does
# the wall time of a torture of a given duration (measured: 255 vCPUs, three
# locks x 300 ms took 16 s on a loaded 2-core host).
TIMEOUT_BASE_S = 60
TIMEOUT_PER_CPU_S = 0.5
TIMEOUT_STRETCH_CPUS = 16
TIMEOUT_MARGIN = 3
DEFAULT_REPORT_EVERY_S = 300
# Lockup reports that blame the hypervisor, not the lock (kernel/watchdog.c).
HYPERVISOR_LOCKUP_MARKS = ('did not return',)


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def inject_option(rng, kind):
    if kind == 'spurious_wake':
        return f'spurious_wake:{rng.choice(SPURIOUS_PPM)}'
    if kind == 'kick_delay_us':
        return f'kick_delay_us:{rng.choice(KICK_DELAY_US)}'
    if kind == 'drop_kick':
        return f'drop_kick:{rng.choice(DROP_KICK_PPM)}'
    return 'none'


def tcg_timeout(smp, nlocks, duration_ms):
    stretch = max(1.0, smp / TIMEOUT_STRETCH_CPUS)
    work = nlocks * duration_ms / 1000 * stretch * TIMEOUT_MARGIN
    return int(TIMEOUT_BASE_S + smp * TIMEOUT_PER_CPU_S + work)


def tcg_config(rng, lock_set, cap_ms):
    """One TCG run: run-qemu.sh options, guest options and its class."""
    smp = weighted(rng, SMP_CHOICES)
    locks = rng.sample(lock_set, rng.randint(1, min(3, len(lock_set))))
    locks.sort(key=lock_set.index)
    pv = rng.choice(('ipi', 'off'))
    irq = rng.randint(0, IRQ_LEVELS_MAX)
    kinds = INJECT_KINDS if (pv == 'ipi' and irq == 0) else INJECT_KINDS[:-1]
    kind = rng.choice(kinds) if pv == 'ipi' else 'none'
    duration = min(cap_ms, rng.choice(next(d for n, d in DURATIONS_MS if smp <= n)))
    hold, think = rng.choice(HOLD_NS), rng.choice(THINK_NS)
    seed = rng.randrange(1, 2**32)
    pin = '0' if smp <= PIN_ONE_CPU_MAX_SMP and rng.random() < PIN_ONE_CPU_CHANCE else ''
    guest = ['test=torture', f'lock={",".join(locks)}', f'seed={seed}', f'irq_lock={irq}',
             f'pv={pv}', f'inject={inject_option(rng, kind)}', f'duration_ms={duration}',
             f'hold_ns={hold}', f'think_ns={think}']
    opts = ['--accel', 'tcg', '--smp', str(smp),
            '--timeout', str(tcg_timeout(smp, len(locks), duration))]
    if pin:
        opts += ['--pin', pin]
    return {'accel': 'tcg', 'opts': opts, 'guest': guest,
            'class': f'tcg pv={pv} inject={kind}{" pinned" if pin else ""}'}


def nested_batch(rng, cap_ms):
    """A nested batch: the lines of a --batch file."""
    def torture(smp, pin):
        kind = rng.choice(NESTED_INJECT_KINDS)
        duration = min(cap_ms, rng.choice(NESTED_DURATIONS_MS))
        return (f'--smp {smp}{" --pin " + pin if pin else ""} --timeout {NESTED_TIMEOUT_S} -- '
                f'test=torture lock=qspinlock,pvqspinlock seed={rng.randrange(1, 2**32)} '
                f'irq_lock={rng.randint(0, IRQ_LEVELS_MAX)} pv=kvm '
                f'inject={inject_option(rng, kind)} duration_ms={duration}')
    lines = [f'--smp 32 --pin {NESTED_PIN} --timeout {NESTED_TIMEOUT_S} -- test=bench '
             f'lock=tas,ticket,qspinlock,pvqspinlock duration_ms={min(cap_ms, 1000)} '
             f'warmup_ms={min(cap_ms, 200)} seed={rng.randrange(1, 2**32)}'
             for _ in range(NESTED_BENCH_RUNS)]
    lines.append(torture(rng.choice(NESTED_BIG_SMP), NESTED_PIN))
    lines += [torture(rng.choice(NESTED_SMP), '') for _ in range(NESTED_SMALL_RUNS)]
    return lines


def plan(seed, nested_every, i, lock_set=LOCKS, cap_ms=DEFAULT_MAX_DURATION_MS):
    """The configuration of iteration i: ('tcg', config) or ('nested', batch
    lines); a function of (seed, i, cap_ms) alone, so any iteration can be
    redone."""
    rng = random.Random(f'{seed}:{i}')
    if nested_every and i % nested_every == nested_every - 1:
        return ('nested', nested_batch(rng, cap_ms))
    return ('tcg', tcg_config(rng, lock_set, cap_ms))


def quote(args):
    return ' '.join(a if a and all(c.isalnum() or c in '-_=.,:/@+' for c in a)
                    else "'" + a.replace("'", "'\\''") + "'" for a in args)


class Totals:
    def __init__(self):
        self.iterations = 0
        self.runs = 0
        self.acquisitions = 0
        self.violations = 0
        self.lost_updates = 0
        self.lockups_explained = 0
        self.lockups_unexplained = 0
        self.other_failures = 0
        self.retried = []               # (iteration, reason) of batches run again
        self.by_class = {}
        self.by_lock = {}

    def add_retried(self, rec):
        """A first try that L1 failed below the guest: its boots and
        acquisitions count, not as an iteration nor as a failure."""
        self.runs += rec.get('runs', 1)
        self.acquisitions += rec['acquisitions']
        self.retried.append((rec['iteration'], rec['below_the_guest']))
        c = self.by_class.setdefault(rec['class'], [0, 0, 0, 0, 0])
        c[0] += rec.get('runs', 1)
        c[1] += rec['acquisitions']
        for lock, n in rec['per_lock'].items():
            self.by_lock[lock] = self.by_lock.get(lock, 0) + n

    def add(self, rec):
        boots = rec.get('runs', 1)      # a nested batch: its L2 runs
        self.iterations += 1
        self.runs += boots
        self.acquisitions += rec['acquisitions']
        self.violations += rec['violations']
        self.lost_updates += rec['lost_updates']
        lockup = rec.get('lockup')
        if lockup == 'explained':
            self.lockups_explained += 1
        elif lockup == 'unexplained':
            self.lockups_unexplained += 1
        elif rec['status'] != status.PASS and not rec['violations'] and not rec['lost_updates']:
            self.other_failures += 1
        c = self.by_class.setdefault(rec['class'], [0, 0, 0, 0, 0])
        c[0] += boots
        c[1] += rec['acquisitions']
        c[2] += rec['violations']
        c[3] += rec['lost_updates']
        c[4] += 1 if lockup else 0
        for lock, n in rec['per_lock'].items():
            self.by_lock[lock] = self.by_lock.get(lock, 0) + n

    def text(self, wall_s, title):
        out = [f'## {title}', '',
               f'- wall time: {int(wall_s) // 3600}:{int(wall_s) % 3600 // 60:02d}:{int(wall_s) % 60:02d}',
               f'- runs: {self.runs} (guest boots, in {self.iterations} iterations: '
               'a nested batch is one iteration)',
               f'- tortured acquisitions: {self.acquisitions}',
               f'- violations: {self.violations}',
               f'- lost updates: {self.lost_updates}',
               f'- lockups: {self.lockups_explained + self.lockups_unexplained} '
               f'({self.lockups_explained} explained, {self.lockups_unexplained} unexplained)',
               f'- other failures (crash, bad input, bed): {self.other_failures}',
               f'- nested batches run again after L1 failed below the guest: {len(self.retried)}'
               + ''.join(f'; iteration {i}: {why}' for i, why in self.retried)
               + (' (their first tries\' boots and acquisitions are in the figures above; '
                  'logs in failures/iterN-below.*)' if self.retried else ''), '',
               '| class | runs | acquisitions | violations | lost updates | lockups |',
               '|---|---|---|---|---|---|']
        for name in sorted(self.by_class):
            r, a, v, lu, lk = self.by_class[name]
            out.append(f'| {name} | {r} | {a} | {v} | {lu} | {lk} |')
        out += ['', '| lock | acquisitions |', '|---|---|']
        for lock in sorted(self.by_lock, key=lambda k: LOCKS.index(k) if k in LOCKS else 99):
            out.append(f'| {lock} | {self.by_lock[lock]} |')
        return '\n'.join(out) + '\n'


def l1_failure(err_path):
    """(reason, runs L1 finished) of an L1 failure below the guest in the
    nested bed's stderr; ('', 0) when there is none."""
    try:
        with open(err_path, encoding='utf-8', errors='replace') as f:
            reason = report.bed_failure(f.read())
    except OSError:
        return '', 0
    return (reason, report.runs_done(reason)) if reason.startswith(BED_L1_REASON) else ('', 0)


def judge_run(run, code):
    """Counts and the lockup class of one pvlog Run."""
    acq = viol = lost = 0
    per_lock = {}
    for j in run.json:
        if j.get('test') != 'torture':
            continue
        n = int(j.get('acquisitions', 0))
        acq += n
        viol += int(j.get('violations', 0))
        lost += int(j.get('lost_updates', 0))
        per_lock[j.get('lock', '?')] = per_lock.get(j.get('lock', '?'), 0) + n
    lockup = None
    if code == status.LOCKUP or run.lockup:
        text = '\n'.join(run.lockup or [])
        lockup = 'explained' if any(m in text for m in HYPERVISOR_LOCKUP_MARKS) else 'unexplained'
    elif code == status.TIMEOUT:
        lockup = 'unexplained'          # no verdict at all: nothing caught it
    return acq, viol, lost, per_lock, lockup


class Soak:
    def __init__(self, args):
        self.args = args
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
        self.dir = args.out or os.path.join(TOP, 'build', 'soak', stamp)
        os.makedirs(os.path.join(self.dir, 'failures'), exist_ok=True)
        self.totals = Totals()
        self.t0 = time.monotonic()
        self.child = None
        self.stopped_by = None
        self.results = open(os.path.join(self.dir, 'results.jsonl'), 'a', encoding='utf-8')

    def log(self, msg):
        print(f'soak: {msg}', file=sys.stderr, flush=True)

    def wall(self):
        return time.monotonic() - self.t0

    def write_summary(self, final=False):
        head = (f'# pvspin soak\n\nSEED={self.args.seed}, limit {self.args.limit_s / 60:.1f} min, '
                f'nested batch every {self.args.nested_every or "never"} iterations; '
                f'directory {self.dir}\n')
        if self.stopped_by:
            head += f'\nStopped: {self.stopped_by}\n'
        body = self.totals.text(self.wall(), 'Totals' + ('' if final else ' (so far)'))
        with open(os.path.join(self.dir, 'summary.md'), 'w', encoding='utf-8') as f:
            f.write(head + '\n' + body)
        return body

    def execute(self, cmd, log_path, timeout_s):
        """Run cmd (run-qemu.sh and its QEMU: a process group of their own)
        with stdout to log_path, stderr beside it; its status, status.TIMEOUT
        once it is stopped at TIMEOUT_S."""
        with open(log_path, 'wb') as out, open(log_path + '.err', 'wb') as err:
            self.child = procs.Group(cmd, cwd=TOP, stdout=out, stderr=err)
            code = self.child.wait(timeout_s)
            self.child = None
            return code

    def stop_child(self):
        if self.child is not None:
            self.child.stop()

    def record(self, rec, log_path, repro):
        self.results.write(json.dumps(rec, sort_keys=True) + '\n')
        self.results.flush()
        self.totals.add(rec)
        if rec['status'] == status.PASS:
            for p in (log_path, log_path + '.err'):
                os.unlink(p)
            return True
        name = os.path.join(self.dir, 'failures', f'iter{rec["iteration"]:05d}')
        os.replace(log_path, name + '.log')
        os.replace(log_path + '.err', name + '.err')
        with open(name + '.repro', 'w', encoding='utf-8') as f:
            f.write(repro + '\n')
        why = []
        if rec.get('below_the_guest'):
            tries = 'on both tries' if rec.get('attempt', 1) > 1 else 'with a finished run not passing'
            why.append(f'L1 failed below the guest {tries}: {rec["below_the_guest"]}'
                       + (f' (first try: failures/iter{rec["iteration"]:05d}-below.log)'
                          if rec.get('attempt', 1) > 1 else ''))
        if rec['violations']:
            why.append(f'{rec["violations"]} violations')
        if rec['lost_updates']:
            why.append(f'{rec["lost_updates"]} lost updates')
        if rec.get('lockup'):
            why.append(f'{rec["lockup"]} lockup')
        why.append(f'status {rec["status"]}')
        self.stopped_by = (f'iteration {rec["iteration"]} ({rec["class"]}): {", ".join(why)}; '
                           f'log {name}.log; repeat with: {repro}')
        self.log('STOP: ' + self.stopped_by)
        return False

    def one_tcg(self, i, cfg):
        cmd = ['./run-qemu.sh'] + cfg['opts'] + ['--'] + cfg['guest']
        repro = quote(cmd)
        log_path = os.path.join(self.dir, f'.run{i}.log')
        t = time.monotonic()
        timeout_s = int(cfg['opts'][cfg['opts'].index('--timeout') + 1]) + 30
        code = self.execute(cmd, log_path, timeout_s)
        runs = pvlog.parse(pvlog.read_log(log_path))
        acq, viol, lost, per_lock, lockup = judge_run(runs[0], code)
        rec = {'iteration': i, 'class': cfg['class'], 'command': repro, 'status': code,
               'acquisitions': acq, 'violations': viol, 'lost_updates': lost,
               'per_lock': per_lock, 'lockup': lockup, 'wall_s': round(time.monotonic() - t, 2)}
        return self.record(rec, log_path, repro)

    def one_nested(self, i, lines, attempt=1):
        batch = os.path.join(self.dir, f'.batch{i}')
        with open(batch, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines) + '\n')
        diag = os.path.join(self.dir, 'failures', f'iter{i:05d}-l2-diag')
        cmd = ['./run-qemu.sh', '--accel', 'nested', '--l1-smp', str(NESTED_L1_SMP),
               '--l1-mem', str(NESTED_L1_MEM_MB), '--diag-dir', diag, '--batch', batch]
        log_path = os.path.join(self.dir, f'.run{i}.log')
        t = time.monotonic()
        code = self.execute(cmd, log_path, NESTED_TIMEOUT_S * (len(lines) + 1))
        runs = [r for r in pvlog.parse(pvlog.read_log(log_path)) if r.l1 is not None]
        below, finished = l1_failure(log_path + '.err') if code == status.NO_VMM else ('', 0)
        acq = viol = lost = 0
        per_lock = {}
        lockup = None
        for n, r in enumerate(runs):
            a, v, lu, pl, lk = judge_run(r, r.exit_status if r.exit_status is not None else status.GUEST_CRASH)
            acq, viol, lost = acq + a, viol + v, lost + lu
            for k, c in pl.items():
                per_lock[k] = per_lock.get(k, 0) + c
            if lk and below and n >= finished:
                lk = 'explained'        # a run L1 had not finished when it failed below it
            lockup = lockup or lk
        if code == status.TIMEOUT and not lockup:
            lockup = 'unexplained'
        kept = os.path.join(self.dir, 'failures', f'iter{i:05d}.batch')
        repro = quote(cmd[:-1] + [kept])
        rec = {'iteration': i, 'class': NESTED_CLASS, 'command': repro, 'status': code,
               'batch': lines, 'runs': len(runs), 'acquisitions': acq, 'violations': viol,
               'lost_updates': lost, 'per_lock': per_lock, 'lockup': lockup,
               'wall_s': round(time.monotonic() - t, 2)}
        if below:
            rec['below_the_guest'] = below
            rec['attempt'] = attempt
        if below and attempt < BED_TRIES and not viol and not lost and lockup != 'unexplained':
            # Kept under names of their own: the second try reuses the log,
            # the batch and the diagnostics directory (which the bed empties).
            first = os.path.join(self.dir, 'failures', f'iter{i:05d}-below')
            os.replace(log_path, first + '.log')
            os.replace(log_path + '.err', first + '.err')
            os.replace(batch, first + '.batch')
            if os.path.isdir(diag):
                os.replace(diag, first + '-l2-diag')
            rec['command'] = quote(cmd[:-3] + [first + '-l2-diag', '--batch', first + '.batch'])
            self.results.write(json.dumps(rec, sort_keys=True) + '\n')
            self.results.flush()
            self.totals.add_retried(rec)
            self.log(f'iteration {i}: the bed failed below the guest: {below}; its logs kept as '
                     f'{first}.*, the batch runs once more')
            return self.one_nested(i, lines, attempt + 1)
        if code != status.PASS:
            os.replace(batch, kept)
        else:
            os.unlink(batch)
            if os.path.isdir(diag) and not os.listdir(diag):
                os.rmdir(diag)
        return self.record(rec, log_path, repro)

    def run(self):
        self.log(f'results in {self.dir} (SEED={self.args.seed})')
        last_report = time.monotonic()
        i = 0
        ok = True
        while self.wall() < self.args.limit_s and (not self.args.max_runs or i < self.args.max_runs):
            kind, cfg = plan(self.args.seed, self.args.nested_every, i, self.args.locks,
                             self.args.max_duration_ms)
            if kind == 'tcg':
                self.log(f'iteration {i}: {quote(cfg["opts"] + ["--"] + cfg["guest"])}')
                ok = self.one_tcg(i, cfg)
            else:
                self.log(f'iteration {i}: nested batch of {len(cfg)} pv=kvm runs')
                ok = self.one_nested(i, cfg)
            i += 1
            if not ok:
                break
            if time.monotonic() - last_report >= self.args.report_every:
                last_report = time.monotonic()
                print(self.write_summary(), file=sys.stderr, flush=True)
        return ok


def parse_args(argv):
    env = os.environ
    p = argparse.ArgumentParser(prog='tools/soak.py', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group()
    g.add_argument('--hours', type=float, default=None)
    g.add_argument('--minutes', type=float, default=None)
    p.add_argument('--seed', type=int, default=None, help='default: SEED, else 1')
    p.add_argument('--nested-every', type=int, default=DEFAULT_NESTED_EVERY,
                   help='every Nth iteration is a nested KVM batch (0: never)')
    p.add_argument('--no-nested', action='store_true', help='the same as SOAK_NESTED=0')
    p.add_argument('--out', default=None, help='result directory (default build/soak/<UTC time>)')
    p.add_argument('--report-every', type=float, default=None,
                   help=f'seconds between totals on stderr (default {DEFAULT_REPORT_EVERY_S}, '
                        'or a tenth of a run shorter than 50 min)')
    p.add_argument('--locks', default=','.join(LOCKS),
                   help='locks the TCG runs draw from (default: every correct lock; '
                        f'{",".join(TEST_LOCKS)} must stop the soak at once: a test of the soak)')
    p.add_argument('--max-duration-ms', type=int, default=DEFAULT_MAX_DURATION_MS, metavar='MS',
                   help=f'cap every torture duration (default {DEFAULT_MAX_DURATION_MS}; '
                        'tests use a short one)')
    p.add_argument('--max-runs', type=int, default=0, help='stop after N iterations (0: no limit)')
    p.add_argument('--plan', type=int, default=0, metavar='N',
                   help='print the first N configurations and exit (nothing runs)')
    a = p.parse_args(argv)

    def env_number(name, kind, what):
        try:
            return kind(env[name])
        except ValueError:
            p.error(f"{name}='{env[name]}': accepted: {what}")

    if a.seed is None:
        a.seed = env_number('SEED', int, 'an integer, 0 or more') if env.get('SEED') else 1
    if a.hours is None and a.minutes is None:
        if env.get('MINUTES'):
            a.minutes = env_number('MINUTES', float, 'minutes above 0')
        elif env.get('HOURS'):
            a.hours = env_number('HOURS', float, 'hours above 0')
        else:
            a.hours = 1.0
    a.locks = tuple(x for x in a.locks.split(',') if x)
    accepted = LOCKS + TEST_LOCKS
    bad = [x for x in a.locks if x not in accepted]
    if bad or not a.locks:
        p.error(f'--locks: unknown lock {",".join(bad) or "(none)"}; accepted: {",".join(accepted)}')
    a.limit_s = a.hours * 3600 if a.hours is not None else a.minutes * 60
    time_given = (f'--hours {a.hours:g} (or HOURS)' if a.hours is not None
                  else f'--minutes {a.minutes:g} (or MINUTES)')
    for ok, message in (
            (0 < a.limit_s < float('inf'), f'{time_given}: accepted: a number above 0'),
            (a.seed >= 0, f'--seed {a.seed}: accepted: an integer, 0 or more'),
            (a.nested_every >= 0, f'--nested-every {a.nested_every}: accepted: 0 (never) or more'),
            (a.max_runs >= 0, f'--max-runs {a.max_runs}: accepted: 0 (no limit) or more'),
            (a.plan >= 0, f'--plan {a.plan}: accepted: a number of iterations, 0 or more'),
            (a.max_duration_ms >= 1, f'--max-duration-ms {a.max_duration_ms}: accepted: 1 or more'),
            (a.report_every is None or 0 < a.report_every < float('inf'),
             f'--report-every {a.report_every}: accepted: seconds above 0')):
        if not ok:
            p.error(message)
    if a.no_nested or env.get('SOAK_NESTED') == '0':
        a.nested_every = 0
    if a.report_every is None:
        a.report_every = min(DEFAULT_REPORT_EVERY_S, max(30.0, a.limit_s / 10))
    return a


def main(argv):
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else EXIT_OK
    if args.plan:
        for i in range(args.plan):
            kind, cfg = plan(args.seed, args.nested_every, i, args.locks, args.max_duration_ms)
            if kind == 'tcg':
                print(f'{i}\ttcg\t{quote(["./run-qemu.sh"] + cfg["opts"] + ["--"] + cfg["guest"])}')
            else:
                for line in cfg:
                    print(f'{i}\tnested\t{line}')
        return EXIT_OK
    soak = Soak(args)
    interrupted = False

    def on_signal(signum, _frame):
        raise KeyboardInterrupt
    # Also SIGINT: a shell starts a background job with SIGINT ignored, and
    # Python then installs no handler of its own.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        ok = soak.run()
    except KeyboardInterrupt:
        interrupted = True
        soak.stop_child()
        soak.stopped_by = 'interrupted (the run in progress is not counted)'
        soak.log(soak.stopped_by)
        ok = False
        for name in os.listdir(soak.dir):
            if name.startswith('.'):
                os.unlink(os.path.join(soak.dir, name))
    soak.results.close()
    print(soak.write_summary(final=True), flush=True)
    print(f'soak: summary in {os.path.join(soak.dir, "summary.md")}', file=sys.stderr)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
