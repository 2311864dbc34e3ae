# SPDX-License-Identifier: MIT
# execute.py: running one case of tests/cases.cfg and checking what it left (logs, status, KTAP).
"""run_case(case, env) -> Outcome.

A run case boots the guest through run-qemu.sh (its log and stderr kept in
build/test-logs/NAME.log and NAME.log.err); a command case runs another
program the same way; a func case is a function of tests/cases/GROUP.py; a
runner case is a sub-runner whose final totals (tools/pvspin/counts.py)
are added to the matrix's. Every child runs in its own process group
(tools/pvspin/procs.py) and is stopped with it when the case's time is up
or the runner is interrupted.
"""
import os
import re
import shlex
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from pvspin import counts, procs, status
from runner import needs, registry

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'tests'))
import ktap_check  # noqa: E402  (tests/ on the path above)
import pvlog  # noqa: E402  (tools/ is on the path of tests/run.py)

RUN_QEMU = TOP / 'run-qemu.sh'
# The host stops a case this long after its own timeout: run-qemu.sh's
# default limit (a case without "timeout") and the nested bed's one reboot
# of a stalled L1 fit in it.
HOST_GRACE_S = 300
# A command, func or runner case without a timeout of its own.
DEFAULT_LIMIT_S = 1800
# How much of a failure's evidence goes on the runner's output: CI keeps
# only that.
QUOTE_LINES = 3
LINE_CUT = 240


class CaseFailed(Exception):
    pass


class CaseSkipped(Exception):
    pass


@dataclass
class Outcome:
    state: str                      # pass | fail | skip | counts
    why: str = ''
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    totals: counts.Counts = None    # a runner's totals
    output: str = ''                # a runner's output


class Env:
    """What every case of one invocation shares."""

    def __init__(self, logs, tier, no_nested):
        self.top, self.logs, self.tier, self.no_nested = TOP, Path(logs), tier, no_nested
        self.logs.mkdir(parents=True, exist_ok=True)
        self.outcomes = {}              # name -> Outcome, for "after ="
        self._live, self._lock, self._once = set(), threading.Lock(), {}
        self.stopping = False

    def once(self, key, fn):
        with self._lock:
            if key not in self._once:
                self._once[key] = fn()
            return self._once[key]

    def spawn(self, argv, **kw):
        with self._lock:
            if self.stopping:
                raise CaseFailed('the runner is stopping')
            group = procs.Group(argv, cwd=str(self.top), **kw)
            self._live.add(group)
        return group

    def reap(self, group):
        with self._lock:
            self._live.discard(group)

    def stop_all(self):
        """Stop every child still running (the runner was interrupted)."""
        with self._lock:
            self.stopping = True
            live = list(self._live)
        for group in live:
            group.stop(grace=3)


def expand(words, ctx):
    """The {logs}, {top} and {log} placeholders of a case's words."""
    subst = {'logs': str(ctx.env.logs), 'top': str(ctx.env.top), 'log': str(ctx.log)}
    return [re.sub(r'\{(logs|top|log)\}', lambda m: subst[m.group(1)], w) for w in words]


def check_args(rest, ctx):
    """The arguments a check function gets from the words after its name
    in tests/cases.cfg: placeholders expanded, then split as the shell
    would."""
    return shlex.split(' '.join(expand([rest], ctx)))


def quote(path, n=QUOTE_LINES, tail=True):
    """The last (or first) N lines of a file, on one line."""
    try:
        lines = Path(path).read_text(errors='replace').splitlines()
    except OSError:
        return ''
    lines = lines[-n:] if tail else lines[:n]
    return ' '.join(l.strip() for l in lines)[:LINE_CUT]


def verdict_lines(log):
    """What the guest said about its end: the crash, reset or lockup
    headline, the lock and the stuck CPUs, the not-ok lines."""
    try:
        runs = pvlog.parse(pvlog.read_log(log))
    except OSError:
        return []
    out = []
    for run in runs:
        out += (run.crash or [])[:1] + ([run.reset] if run.reset else [])
        lockup = run.lockup or []
        out += [l for l in lockup if re.match(r'^# LOCKUP: (CPU |lock|irq_lock|inject|mcs tail)', l)][:6]
        out += [l for l in lockup if re.match(r'^# LOCKUP: cpu [0-9]+ .* STUCK', l)][:3]
        out += [r.line for r in run.results if not r.ok][:3]
    return [l[:LINE_CUT] for l in out]


class Ctx:
    """One case's view: its logs, its status, and the helpers of tests/cases/*.py."""

    def __init__(self, case, env):
        self.case, self.env = case, env
        self.log = env.logs / f'{case.name}.log'
        self.status = None
        self.notes = []

    @property
    def err(self):
        return Path(f'{self.log}.err')

    @property
    def logs(self):
        return self.env.logs

    @property
    def top(self):
        return self.env.top

    # ---- ends of a case
    def fail(self, why):
        raise CaseFailed(why)

    def skip(self, why):
        raise CaseSkipped(why)

    def note(self, text):
        self.notes.append(text)

    # ---- running things
    def run(self, argv, logname=None, timeout=None, env=None, stdin=None):
        """Run ARGV with stdout to the case's log and stderr beside it (or
        to LOGNAME's); its status, also in self.status."""
        if logname:
            self.log = self.env.logs / f'{logname}.log'
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        with open(self.log, 'wb') as out, open(self.err, 'wb') as err:
            group = self.env.spawn([str(a) for a in argv], stdout=out, stderr=err, env=full_env)
            try:
                self.status = group.wait(timeout or DEFAULT_LIMIT_S)
            finally:
                self.env.reap(group)
        return self.status

    def run_qemu(self, options, guest=(), logname=None, timeout=None, env=None):
        """Boot through run-qemu.sh: OPTIONS, then -- GUEST when there are any."""
        argv = [RUN_QEMU, *options]
        if timeout:
            argv += ['--timeout', str(timeout)]
        if guest:
            argv += ['--', *guest]
        return self.run(argv, logname, (timeout or 0) + HOST_GRACE_S, env)

    def spawn(self, argv, **kw):
        """A background child, stopped with the runner; call reap() when done with it."""
        return self.env.spawn([str(a) for a in argv], **kw)

    def reap(self, group):
        group.stop(grace=3)
        self.env.reap(group)

    # ---- checks (each fails the case with its evidence)
    def text(self, path=None):
        try:
            return Path(path or self.log).read_text(errors='replace').replace('\r', '')
        except OSError:
            return ''

    def expect_status(self, want):
        if self.status != want:
            lines = verdict_lines(self.log)
            self.fail(f'exit status {self.status} ({status.MEANING.get(self.status, "?")}), '
                      f'expected {want} (log: {self.log}; {quote(self.err, 2)})'
                      + ''.join(f'\n    {l}' for l in lines))

    def ktap(self, expects=(), results=(), log=None):
        log = log or self.log
        try:
            problems = ktap_check.check(str(log), True, expects, results)
        except OSError as e:
            problems = [f'cannot read {log}: {e.strerror}']
        if problems:
            self.fail('; '.join(problems[:QUOTE_LINES])[:LINE_CUT * 2] + f' (log: {log})')

    def has(self, regex, paths=None):
        """Whether a line of the log or its stderr (or PATHS) matches REGEX."""
        pattern = re.compile(regex)
        for path in paths or (self.log, self.err):
            if any(pattern.search(l) for l in self.text(path).splitlines()):
                return True
        return False

    def grep(self, regex, paths=None):
        if not self.has(regex, paths):
            self.fail(f'output lacks /{regex}/ (log: {self.log})')

    def nogrep(self, regex):
        pattern = re.compile(regex)
        hit = [l for l in self.text().splitlines() if pattern.search(l)]
        if hit:
            self.fail(f'output has /{regex}/: {hit[0][:LINE_CUT]} (log: {self.log})')

    def require(self, cond, why):
        if not cond:
            self.fail(why)

    def after_log(self):
        """The log of the case named by "after =" (tests/cases.cfg)."""
        return self.env.logs / f'{self.case.after}.log'


def _run_checks(ctx):
    """The case's checks, in the file's order; result/expect go to
    ktap_check at the place of the first one."""
    checks = [(w, ' '.join(expand([r], ctx))) for w, r in ctx.case.checks]
    expects = [r for w, r in checks if w == 'expect']
    results = [r for w, r in checks if w == 'result']
    ktap_done = False
    for (word, rest), (_, raw) in zip(checks, ctx.case.checks):
        if word in ('expect', 'result', 'ktap'):
            if not ktap_done:
                ctx.ktap(expects, results)
                ktap_done = True
        elif word == 'grep':
            ctx.grep(rest)
        elif word == 'nogrep':
            ctx.nogrep(rest)
        else:
            fn = registry.lookup('check', word)
            if fn is None:
                ctx.fail(f"check '{word}': no such check in tests/cases/*.py")
            why = fn(ctx, *check_args(raw, ctx))
            if why:
                ctx.fail(f'{why} (log: {ctx.log})')


def _run_once(ctx):
    case = ctx.case
    env = case.env
    if case.kind == 'run':
        options = expand(case.run, ctx)
        if case.batch:
            batch = ctx.logs / f'{case.name}.batch'
            batch.write_text(''.join(line + '\n' for line in case.batch))
            options += ['--batch', str(batch)]
        ctx.run_qemu(options, expand(case.guest, ctx), timeout=case.timeout, env=env)
    else:
        ctx.run(expand(case.command, ctx), timeout=case.timeout, env=env)
    ctx.expect_status(case.status)
    _run_checks(ctx)


def _setup(ctx):
    if ctx.case.setup:
        name, *args = expand(shlex.split(ctx.case.setup), ctx)
        fn = registry.lookup('setup', name)
        if fn is None:
            ctx.fail(f"setup '{name}': no such setup in tests/cases/*.py")
        fn(ctx, *args)


def _guest_case(ctx):
    case = ctx.case
    _setup(ctx)
    try:
        _run_once(ctx)
        return
    except CaseFailed as first:
        rule = registry.lookup('retry', case.retry) if case.retry else None
        if case.retry and rule is None:
            ctx.fail(f"retry '{case.retry}': no such rule in tests/cases/*.py; {first}")
        why = rule(ctx) if rule else None
        if not why:
            raise
    kept = ctx.env.logs / f'{case.name}-first.log'
    shutil.move(str(ctx.log), kept)
    shutil.move(str(ctx.err), f'{kept}.err')
    ctx.note(counts.retry_line(case.name, why, kept))
    ctx.log = ctx.env.logs / f'{case.name}.log'
    _run_once(ctx)


def _runner_case(ctx):
    """A sub-runner: the first of its alternatives that exists, its totals added."""
    case = ctx.case
    argv = next((alt for alt in case.runner if (ctx.top / alt[0]).exists() or
                 (os.sep not in alt[0] and shutil.which(alt[0]))), None)
    if argv is None:
        ctx.fail('no such runner: ' + ' or '.join(alt[0] for alt in case.runner))
    if os.sep in argv[0] and not os.access(ctx.top / argv[0], os.X_OK):
        ctx.fail(f'{argv[0]} is not executable')
    _setup(ctx)
    argv = list(argv)
    if ctx.env.tier == 'check':
        argv += case.check_args
    if ctx.env.no_nested:
        argv += case.no_nested_args
    env = case.env
    ctx.log = ctx.env.logs / f'{case.name}.runner.log'
    with open(ctx.log, 'wb') as out:
        full_env = dict(os.environ, **env)
        group = ctx.env.spawn(argv, stdout=out, stderr=out, env=full_env)
        try:
            ctx.status = group.wait(case.timeout or DEFAULT_LIMIT_S)
        finally:
            ctx.env.reap(group)
    output = ctx.text()
    try:
        got = counts.parse(output)
    except counts.NoTotals as e:
        return Outcome('fail', f'{" ".join(argv)}: {e} (log: {ctx.log})', output=output)
    why = ''
    if ctx.status != 0 and got.failed == 0:
        got.failed += 1
        why = f'{" ".join(argv)}: exit status {ctx.status} with no failure counted (log: {ctx.log})'
    return Outcome('counts', why, totals=got, output=output)


def run_case(case, env):
    ctx = Ctx(case, env)
    t0 = time.monotonic()
    try:
        skip, unknown = needs.unmet(env, case.needs)
        if unknown:
            ctx.fail(f"needs '{unknown}': no such need (tests/runner/needs.py)")
        if skip:
            ctx.skip(skip)
        before = env.outcomes.get(case.after) if case.after else None
        if before is not None and before.state == 'fail':
            ctx.skip(f'it reads what {case.after} left, and {case.after} failed')
        if case.kind == 'runner':
            outcome = _runner_case(ctx)
        elif case.kind == 'func':
            name, *args = expand(shlex.split(case.func), ctx)
            fn = registry.lookup('case', name)
            if fn is None:
                ctx.fail(f"func '{name}': no such case function in tests/cases/*.py")
            fn(ctx, *args)
            outcome = Outcome('pass')
        else:
            _guest_case(ctx)
            outcome = Outcome('pass')
    except CaseFailed as e:
        outcome = Outcome('fail', str(e))
    except CaseSkipped as e:
        outcome = Outcome('skip', str(e))
    except Exception:   # a bug in the test code is this case's failure, not the runner's end
        outcome = Outcome('fail', 'the test code raised: '
                          + traceback.format_exc().strip().splitlines()[-1][:LINE_CUT]
                          + f'\n{traceback.format_exc()}')
    outcome.notes = ctx.notes + outcome.notes
    outcome.seconds = time.monotonic() - t0
    return outcome
