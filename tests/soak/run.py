#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/soak/run.py: tests of tools/soak.py: its plan, its stop at the first failure, its totals and Ctrl-C.
"""usage: tests/soak/run.py

Ends with "N passed, N failed, N skipped".
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TOP / 'tools'), str(TOP / 'tests')]
from pvspin import procs, status  # noqa: E402
from pvspin.nested import report  # noqa: E402
from runner.tally import Tally  # noqa: E402

SOAK = [sys.executable, str(TOP / 'tools' / 'soak.py')]
PLAN_N = 400
EXIT_FAILED, EXIT_INTERRUPTED = status.TEST_FAILURE, 128 + signal.SIGINT
INT_AFTER_S = 3
RUN_LIMIT_S = 600
# tools/soak.py's rules for its plan (README "Soak"): vCPU counts 2..255,
# pv=ipi or off, every irq_lock level and injection kind, a nested kind,
# the nested bench shape that overcommits 32 vCPUs on CPUs 0-3, long small
# runs and short big ones.
SMP_RANGE = (2, 255)
IRQ_LEVELS = 5
INJECT_KINDS = 4
SHORT_MS, LONG_MS = 300, 10000


def soak(*args, env=None):
    """tools/soak.py ARGS: (status, stdout)."""
    p = subprocess.run(SOAK + list(args), capture_output=True, text=True, cwd=TOP,
                       env=dict(os.environ, **(env or {})), timeout=RUN_LIMIT_S)
    return p.returncode, p.stdout


L1_LINE = '# l1: {"kernel": "stand-in", "cpus": 4}'
BED_STALL = 'L1 stalled ' + report.RUNS_DONE.format(done='{}', total=2) + ': a stand-in'
STAND_IN_LOCKUP = '# LOCKUP: CPU 0 made no progress for 13224 ms'
DIAG_FILE = 'l1-console.log'


def nested_retry_case(scratch, outcomes):
    """One nested batch of two runs through tools/soak.py's Soak, its bed
    stood in by OUTCOMES, one a try: 'below' = the first run locks up and L1
    stalls after 0 of 2 runs; 'late' = the first run finished with a lockup,
    then L1 stalls after 1 of 2; 'pass'. Each try writes a diagnostics file.
    Returns (returned ok, files in failures/ and its diag dirs, records,
    summary text, stopped_by)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('soak_under_test', TOP / 'tools' / 'soak.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = mod.parse_args(['--minutes', '1', '--out', str(scratch)])
    s = mod.Soak(args)
    tries = iter(outcomes)

    def execute(cmd, log_path, timeout_s):
        kind = next(tries, 'pass')
        diag = Path(cmd[cmd.index('--diag-dir') + 1])
        if kind != 'pass':          # the bed writes diagnostics when it fails
            diag.mkdir(parents=True, exist_ok=True)
            (diag / DIAG_FILE).write_text(kind)
        run = f'{L1_LINE}\nKTAP version 1\n1..1\n'
        if kind == 'pass':
            text = (run + 'ok 1 torture\nEXIT: STATUS=0\n') * 2
        elif kind == 'below':       # L1 stalled in the first run: it never ends
            text = run + STAND_IN_LOCKUP + '\n'
        else:                       # the first run ended with a lockup, L1 stalled in the second
            text = run + STAND_IN_LOCKUP + f'\nnot ok 1 torture\nEXIT: STATUS={status.LOCKUP}\n' + run
        with open(log_path, 'w') as f:
            f.write(text)
        with open(log_path + '.err', 'w') as f:
            if kind != 'pass':
                done = 0 if kind == 'below' else 1
                report.Reporter(f).say(f'{report.BED_FAILURE}: {BED_STALL.format(done)}')
        return status.PASS if kind == 'pass' else status.NO_VMM
    s.execute = execute
    s.log = lambda msg: None
    ok = s.one_nested(0, ['--smp 2 -- test=torture lock=tas duration_ms=10'] * 2)
    s.results.close()
    records = [json.loads(line) for line in (scratch / 'results.jsonl').read_text().splitlines()]
    files = sorted(str(p.relative_to(scratch / 'failures')) for p in (scratch / 'failures').rglob('*'))
    return ok, files, records, s.totals.text(1, 'Totals'), s.stopped_by or ''


def plan_problem(plan):
    """What in the plan breaks a rule or does not rotate, or None."""
    smps, pvs, irqs, kinds, durations, nested, big_bench = set(), set(), set(), set(), set(), 0, 0
    for line in plan.splitlines():
        _, kind, cmd = line.split('\t')
        opt = dict(re.findall(r'(\w+)=(\S+)', cmd))
        if kind == 'nested':
            nested += 1
            if opt['test'] == 'bench':
                big_bench += ('--smp 32 --pin 0-3 ' in cmd and
                              'lock=tas,ticket,qspinlock,pvqspinlock' in cmd)
            elif opt['pv'] != 'kvm' or opt['inject'].startswith('drop_kick'):
                return f'breaks a rule: {line}'
            continue
        inj = opt['inject'].split(':')[0]
        durations.add(int(opt['duration_ms']))
        smp = int(re.search(r'--smp (\d+)', cmd).group(1))
        smps.add(smp), pvs.add(opt['pv']), irqs.add(opt['irq_lock']), kinds.add(inj)
        if (not SMP_RANGE[0] <= smp <= SMP_RANGE[1] or opt['pv'] not in ('ipi', 'off')
                or (inj == 'drop_kick' and (opt['pv'] != 'ipi' or opt['irq_lock'] != '0'))
                or (inj != 'none' and opt['pv'] != 'ipi')):
            return f'breaks a rule: {line}'
    if not (set(SMP_RANGE) <= smps and pvs == {'ipi', 'off'} and len(irqs) == IRQ_LEVELS
            and len(kinds) == INJECT_KINDS and nested and big_bench):
        return (f'does not rotate: smp {sorted(smps)} pv {pvs} irq {irqs} inject {kinds} '
                f'nested {nested} big nested bench {big_bench}')
    if not (min(durations) <= SHORT_MS and max(durations) >= LONG_MS):
        return f'durations {sorted(durations)}: no long small runs or no short big ones'
    return None


def qemus(mark):
    """The QEMUs whose environment holds MARK: started under this runner's
    soak.py, whoever else runs QEMU on the machine."""
    out = subprocess.run(['pgrep', '-f', 'qemu-system-x86_64'], capture_output=True, text=True)
    found = []
    for pid in out.stdout.split():
        try:
            if mark.encode() in Path(f'/proc/{pid}/environ').read_bytes().split(b'\0'):
                found.append(pid)
        except OSError:
            pass    # it ended meanwhile
    return found


def main(argv):
    if argv[1:]:
        print(__doc__ if argv[1:] in (['-h'], ['--help']) else
              f"tests/soak/run.py: unknown argument '{argv[1]}' (it takes none)", file=sys.stderr)
        return 0 if argv[1:] in (['-h'], ['--help']) else 2
    t = Tally()
    scratch = Path(tempfile.mkdtemp(prefix='pvspin-soak-test.'))
    try:
        a, b = soak('--plan', '20', '--seed', '5')[1], soak('--plan', '20', '--seed', '5')[1]
        c = soak('--plan', '20', env={'SEED': '6'})[1]
        t.check('the same SEED gives the same plan, another SEED another', a and a == b and a != c,
                f'plans: equal={a == b} differ={a != c}')

        st, plan = soak('--plan', str(PLAN_N), '--seed', '9')
        why = plan_problem(plan) if st == 0 and plan else f'status {st}, plan {plan[:100]!r}'
        t.check(f'the plan keeps to its rules ({PLAN_N} iterations)', not why, why)

        sts = [soak(*args)[0] for args in (('--minutes', '0'), ('--max-duration-ms', '0', '--plan', '1'),
                                           ('--locks', 'nosuchlock', '--plan', '1'))]
        t.check('bad usage: status 2', sts == [status.BAD_INPUT] * 3, f'statuses {sts}')

        ok, files, recs, summary, _ = nested_retry_case(scratch / 'below-once', ['below', 'pass'])
        kept = {'iter00000-below.log', 'iter00000-below.err', 'iter00000-below.batch',
                f'iter00000-below-l2-diag/{DIAG_FILE}'}
        good = (ok and kept <= set(files)
                and [r['status'] for r in recs] == [status.NO_VMM, status.PASS]
                and recs[0]['lockup'] == 'explained' and recs[0]['below_the_guest'] == BED_STALL.format(0)
                and 'iter00000-below.batch' in recs[0]['command']
                and re.search(r'^- runs: 3 \(guest boots, in 1 iterations', summary, re.M)
                and re.search(r'^- nested batches run again after L1 failed below the guest: 1; iteration 0: L1 stalled',
                              summary, re.M)
                and re.search(r'^- lockups: 0 ', summary, re.M))
        t.check('a nested batch L1 failed below the guest runs once more; its log, batch and diagnostics kept',
                good, f'ok {ok}, files {files}, records {recs}, summary {summary}')
        ok, files, recs, _, stopped = nested_retry_case(scratch / 'below-twice', ['below', 'below'])
        good = (not ok and {'iter00000.log', 'iter00000-below.log', f'iter00000-below-l2-diag/{DIAG_FILE}'} <= set(files)
                and len(recs) == 2 and 'L1 failed below the guest on both tries' in stopped
                and 'iter00000-below.log' in stopped)
        t.check('a batch L1 fails below the guest twice stops the soak, both tries kept, the stop says so',
                good, f'ok {ok}, files {files}, stopped {stopped!r}')
        ok, files, recs, _, stopped = nested_retry_case(scratch / 'late', ['late', 'pass'])
        good = (not ok and len(recs) == 1 and recs[0]['lockup'] == 'unexplained'
                and 'unexplained lockup' in stopped)
        t.check('a lockup in a run L1 finished is not excused by a later L1 failure: no retry, the soak stops',
                good, f'ok {ok}, records {recs}, stopped {stopped!r}')

        out = scratch / 'broken'
        p = subprocess.run(SOAK + ['--minutes', '5', '--no-nested', '--locks', 'broken', '--max-duration-ms',
                                   '300', '--out', str(out)], capture_output=True, text=True, cwd=TOP,
                           timeout=RUN_LIMIT_S)
        results, log = out / 'results.jsonl', out / 'failures' / 'iter00000.log'
        repro, summary = out / 'failures' / 'iter00000.repro', out / 'summary.md'
        good = (p.returncode == EXIT_FAILED and all(f.exists() for f in (results, log, repro, summary))
                and len(results.read_text().splitlines()) == 1 and log.stat().st_size > 0
                and re.search(r'^\./run-qemu\.sh .*lock=broken', repro.read_text(), re.M)
                and re.search(r'^- violations: [1-9]', summary.read_text(), re.M)
                and 'repeat with: ./run-qemu.sh' in p.stderr)
        t.check('lock=broken: stops at once, keeps the log, says how to repeat it', good,
                f'status {p.returncode}; {" ".join(p.stderr.splitlines()[-2:])}')

        out = scratch / 'ok'
        p = subprocess.run(SOAK + ['--minutes', '5', '--no-nested', '--max-runs', '2', '--max-duration-ms', '300',
                                   '--seed', '2', '--out', str(out)], capture_output=True, text=True, cwd=TOP,
                           timeout=RUN_LIMIT_S)
        summary = (out / 'summary.md').read_text() if (out / 'summary.md').exists() else ''
        acq = re.search(r'^- tortured acquisitions: (\d+)', summary, re.M)
        good = (p.returncode == 0 and re.search(r'^- runs: 2 \(guest boots, in 2 iterations', summary, re.M)
                and acq and int(acq.group(1)) > 0 and not any((out / 'failures').iterdir())
                and re.search(r'^- violations: 0$', p.stdout, re.M))
        t.check('two passing runs: totals, no failure logs', good,
                f'status {p.returncode}, acquisitions {acq.group(1) if acq else "none"}; '
                f'{" ".join(p.stderr.splitlines()[-2:])}')

        out = scratch / 'int'
        mark = f'PVSPIN_SOAK_TEST={os.getpid()}'
        with open(scratch / 'int.stdout', 'w') as so, open(scratch / 'int.stderr', 'w') as se:
            child = procs.Group(SOAK + ['--minutes', '5', '--no-nested', '--max-duration-ms', '30000',
                                        '--seed', '4', '--out', str(out)], stdout=so, stderr=se, cwd=TOP,
                                env=dict(os.environ, PVSPIN_SOAK_TEST=str(os.getpid())))
            try:
                time.sleep(INT_AFTER_S)
                os.kill(child.pid, signal.SIGINT)
                st = child.proc.wait(RUN_LIMIT_S)
            finally:
                child.stop(grace=3)
        time.sleep(1)
        left = qemus(mark)
        summary = (out / 'summary.md').read_text() if (out / 'summary.md').exists() else ''
        good = (st == EXIT_INTERRUPTED and re.search(r'^Stopped: interrupted', summary, re.M)
                and re.search(r'^- runs: ', (scratch / 'int.stdout').read_text(), re.M)
                and not list(out.rglob('.*')) and not left)
        t.check('SIGINT: the run in progress and its QEMU are stopped, totals printed, status 130', good,
                f'status {st}; QEMU left running: {" ".join(left) or "none"}; '
                f'{" ".join((scratch / "int.stderr").read_text().splitlines()[-2:])}')
        for pid in left:
            os.kill(int(pid), signal.SIGTERM)
    finally:
        subprocess.run(['rm', '-rf', str(scratch)])
    return t.end()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
