#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/run.py: pvspin's test runner (make check, make test): runs the matrix of tests/cases.cfg.
"""usage: tests/run.py [--tier check|test] [--only GROUP,...] [--case NAME,...]
                   [--jobs N] [--no-nested] [--cases FILE] [--list] [--help]

Runs the cases of tests/cases.cfg (the matrix as data: each guest boot
with its run-qemu.sh and guest options, expected status and checks; the
sub-runners of the lock library, the nested bed, the model, the log
reader, the Linux peer, the soak and the fuzz targets) and ends with
"N passed, N failed, N skipped". Guest logs go to build/test-logs/
(PVSPIN_TEST_LOGS overrides).

  --tier check   the fast tier (make check): no nested KVM, no 64- or
                 255-vCPU boots, no long runs
  --tier test    everything (make test; the default)
  --only LIST    only these groups (comma-separated; --list shows them)
  --case LIST    only these cases (and the cases they read, "after =")
  --jobs N       cases at once (default 2; a case marked "alone" always
                 runs by itself)
  --no-nested    skip every case that boots nested KVM (so does the
                 environment variable PVSPIN_SKIP_NESTED set to anything
                 but the empty string)
  --cases FILE   another cases file (default tests/cases.cfg)
  --list         print the selected cases, one a line, and exit

Status: 0 when nothing failed, 1 when a case failed, 2 for bad usage or a
malformed cases file, 130 when interrupted (every QEMU it started is
stopped first).
"""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TOP / 'tools'), str(TOP / 'tests')]
from pvspin import counts  # noqa: E402
from runner import cfg, execute  # noqa: E402
import cases  # noqa: E402  (tests/cases/: registers the group modules' functions)

CASES_FILE = TOP / 'tests' / 'cases.cfg'
USAGE_STATUS = 2
INTERRUPTED_STATUS = 130
DEFAULT_JOBS = 2


def usage_error(message):
    print(f'tests/run.py: {message}', file=sys.stderr)
    print(__doc__.split('\n\n')[0], file=sys.stderr)
    return USAGE_STATUS


def parse_args(argv):
    """The options as a dict, or a str saying what is wrong."""
    opts = {'tier': 'test', 'only': None, 'case': None, 'jobs': DEFAULT_JOBS, 'cases': CASES_FILE,
            'no_nested': bool(os.environ.get('PVSPIN_SKIP_NESTED')), 'list': False, 'help': False}
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ('-h', '--help'):
            opts['help'] = True
        elif a == '--list':
            opts['list'] = True
        elif a == '--no-nested':
            opts['no_nested'] = True
        elif a in ('--tier', '--only', '--case', '--jobs', '--cases'):
            if not args or args[0].startswith('--'):
                return f'{a} needs a value'
            value = args.pop(0)
            if a == '--tier':
                if value not in cfg.TIERS:
                    return f"--tier '{value}': accepted: {', '.join(cfg.TIERS)}"
                opts['tier'] = value
            elif a == '--cases':
                opts['cases'] = Path(value)
            elif a == '--jobs':
                if not value.isdigit() or int(value) < 1:
                    return f"--jobs '{value}': accepted: an integer 1.."
                opts['jobs'] = int(value)
            else:
                items = [x for x in value.split(',') if x]
                if not items:
                    return f"{a} '{value}': accepted: a comma-separated list"
                opts[a[2:]] = items
        else:
            return f"unknown option '{a}' (accepted: --tier, --only, --case, --jobs, --no-nested, --cases, --list, --help)"
    return opts


def select(groups, all_cases, opts):
    """The cases to run, in the file's order, or a str saying what is wrong."""
    for g in opts['only'] or []:
        if g not in groups:
            return f"--only '{g}': no such group; accepted: {', '.join(groups)}"
    by_name = {c.name: c for c in all_cases}
    for name in opts['case'] or []:
        if name not in by_name:
            return f"--case '{name}': no such case (tests/run.py --list shows them)"
    tiers = ('check',) if opts['tier'] == 'check' else cfg.TIERS
    chosen = set()
    for c in all_cases:
        if c.tier not in tiers:
            continue
        if opts['only'] and not set(c.groups) & set(opts['only']):
            continue
        if opts['case'] and c.name not in opts['case']:
            continue
        chosen.add(c.name)
    # A case reads what its "after =" case left: that case runs too.
    for name in list(chosen):
        while by_name[name].after:
            name = by_name[name].after
            chosen.add(name)
    return [c for c in all_cases if c.name in chosen]


def empty_groups(groups, all_cases, opts):
    """Groups asked for that the cases file has no case of: each a failure."""
    return [g for g in opts['only'] or groups if not any(g in c.groups for c in all_cases)]


class Printer:
    """One case's lines at a time (cases may end together)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.total = counts.Counts()

    def outcome(self, case, o):
        with self.lock:
            head = f'{case.name} ({o.seconds:.1f}s): {case.desc}'
            if o.state == 'counts':
                print(f'== {case.name}: {case.desc}')
                for line in o.output.splitlines():
                    print(f'  {line}')
                if o.why:
                    print(f'FAIL {o.why}')
                self.total.add(o.totals)
                print(f'== {case.name}: {o.totals.line()} ({o.seconds:.1f}s)')
            elif o.state == 'pass':
                self.total.passed += 1
                print(f'ok {head}')
            elif o.state == 'skip':
                self.total.skipped += 1
                print(f'skip {head}: {o.why}')
            else:
                self.total.failed += 1
                if case.kind == 'runner':
                    for line in o.output.splitlines():
                        print(f'  {line}')
                print(f'FAIL {head}\n    {o.why}')
            for note in o.notes:
                print(note)
            sys.stdout.flush()

    def failure(self, what):
        with self.lock:
            self.total.failed += 1
            print(f'FAIL {what}')


def schedule(selected, env, jobs, printer):
    """Run the cases, JOBS at a time; an "alone" case with nothing beside
    it; a case after the one it reads."""
    pending = list(selected)
    running = {}            # name -> thread
    done = set()
    cond = threading.Condition()

    def work(case):
        outcome = execute.run_case(case, env)
        printer.outcome(case, outcome)
        with cond:
            env.outcomes[case.name] = outcome
            done.add(case.name)
            del running[case.name]
            cond.notify_all()

    with cond:
        while pending or running:
            started = False
            for case in list(pending):
                alone_running = any(c.alone for c in (by for by in selected if by.name in running))
                if case.after and case.after not in done:
                    continue
                if alone_running or len(running) >= jobs or (case.alone and running):
                    break
                pending.remove(case)
                t = threading.Thread(target=work, args=(case,), daemon=True)
                running[case.name] = t
                t.start()
                started = True
                if case.alone:
                    break
            if not started:
                cond.wait(1.0)


def interrupted(signum, frame):
    """SIGTERM ends the runner as Ctrl-C does: every child stopped first."""
    raise KeyboardInterrupt


def build(printer):
    """The host tools (installed as root) and the guest's images."""
    if subprocess.run([str(TOP / 'tools' / 'deps.sh'), 'build', 'run', 'iso', 'test']).returncode:
        return USAGE_STATUS
    if subprocess.run(['make', '-s', '-C', str(TOP), 'all', 'iso', 'pvh'],
                      stdout=subprocess.DEVNULL).returncode:
        printer.failure('build: make all iso pvh failed')
        return 1
    return 0


def main(argv):
    opts = parse_args(argv)
    if isinstance(opts, str):
        return usage_error(opts)
    if opts['help']:
        print(__doc__)
        return 0
    try:
        groups, all_cases = cfg.load(opts['cases'])
    except (cfg.CfgError, OSError) as e:
        print(f'tests/run.py: {e}', file=sys.stderr)
        return USAGE_STATUS
    selected = select(groups, all_cases, opts)
    if isinstance(selected, str):
        return usage_error(selected)
    if opts['list']:
        for c in selected:
            print(f"{c.name:<34} {','.join(c.groups):<8} {c.tier:<6} {c.desc}")
        return 0
    printer = Printer()
    for problem in cases.LOAD_ERRORS:
        printer.failure(problem)
    for g in empty_groups(groups, all_cases, opts):
        printer.failure(f'group {g}: no case in {opts["cases"]}')
    st = build(printer)
    if st == USAGE_STATUS:
        return st
    env = execute.Env(os.environ.get('PVSPIN_TEST_LOGS', TOP / 'build' / 'test-logs'),
                      opts['tier'], opts['no_nested'])
    signal.signal(signal.SIGTERM, interrupted)
    t0 = time.monotonic()
    if st == 0:
        try:
            schedule(selected, env, opts['jobs'], printer)
        except KeyboardInterrupt:
            env.stop_all()
            print(f'tests/run.py: interrupted after {time.monotonic() - t0:.0f} s; '
                  'every QEMU it started is stopped')
            print(printer.total.line())
            return INTERRUPTED_STATUS
    print(f'# tier {opts["tier"]}: {len(selected)} cases in {time.monotonic() - t0:.0f} s')
    print(printer.total.line())
    return 1 if printer.total.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
