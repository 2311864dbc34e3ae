# SPDX-License-Identifier: MIT
# cfg.py: the reader of tests/cases.cfg, the test matrix as data (its format is in that file's head).
"""Cases and groups from tests/cases.cfg.

load(path) -> (groups, cases): groups maps a group's name to what it
tests, in the file's order; cases are Case objects in the file's order.
Anything malformed raises CfgError naming the file and line: the runner
turns it into status 2, never into a silently shorter matrix.
"""
import re
import shlex
from dataclasses import dataclass, field

from pvspin import status

TIERS = ('check', 'test')
# A case's expected status by name: the numbers live in kernel/exit.h and
# tools/pvspin/status.py only.
STATUS_NAMES = {
    'pass': status.PASS, 'test-failure': status.TEST_FAILURE, 'bad-input': status.BAD_INPUT,
    'guest-crash': status.GUEST_CRASH, 'lockup': status.LOCKUP, 'timeout': status.TIMEOUT,
    'no-vmm': status.NO_VMM,
}
# The ways a case runs: exactly one of them per case.
KINDS = ('run', 'command', 'func', 'runner')
SINGLE_KEYS = {'desc', 'groups', 'tier', 'run', 'guest', 'command', 'func', 'runner', 'status',
               'timeout', 'needs', 'after', 'alone', 'retry', 'setup', 'check-args',
               'no-nested-args'}
REPEATED_KEYS = {'check', 'env', 'batch'}
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9._-]*$')
SECTION_RE = re.compile(r'^\[([^\]]*)\]$')
KEY_RE = re.compile(r'^([a-z-]+)\s*=\s*(.*)$')


class CfgError(ValueError):
    pass


@dataclass
class Case:
    name: str
    line: int
    desc: str = ''
    groups: list = field(default_factory=list)
    tier: str = 'check'
    kind: str = ''
    run: list = field(default_factory=list)       # run-qemu.sh options
    guest: list = field(default_factory=list)     # guest options, after --
    command: list = field(default_factory=list)
    func: str = None
    runner: list = field(default_factory=list)    # alternatives, each an argv
    status: int = status.PASS
    timeout: int = None
    needs: list = field(default_factory=list)
    after: str = None
    alone: bool = False
    retry: str = None
    setup: str = None
    checks: list = field(default_factory=list)    # (word, rest) pairs
    env: dict = field(default_factory=dict)
    batch: list = field(default_factory=list)   # --batch lines (--accel nested)
    check_args: list = field(default_factory=list)
    no_nested_args: list = field(default_factory=list)


def _words(value, where):
    try:
        return shlex.split(value)
    except ValueError as e:
        raise CfgError(f'{where}: {e}') from None


def _case(name, line, keys, path, groups):
    where = f'{path}:{line}: [{name}]'
    case = Case(name, line)
    kinds = [k for k in KINDS if k in keys]
    if len(kinds) != 1:
        raise CfgError(f'{where}: needs exactly one of {", ".join(KINDS)} (has {", ".join(kinds) or "none"})')
    case.kind = kinds[0]
    for key in ('desc', 'groups'):
        if not keys.get(key):
            raise CfgError(f'{where}: no {key}')
    case.desc = keys['desc']
    case.groups = keys['groups'].replace(',', ' ').split()
    for g in case.groups:
        if g not in groups:
            raise CfgError(f'{where}: group {g!r} is not declared in [groups] (declared: {", ".join(groups)})')
    case.tier = keys.get('tier', 'check')
    if case.tier not in TIERS:
        raise CfgError(f'{where}: tier {case.tier!r}; accepted: {", ".join(TIERS)}')
    if 'guest' in keys and case.kind != 'run':
        raise CfgError(f'{where}: guest options go with run')
    case.run = _words(keys.get('run', ''), where)
    case.guest = _words(keys.get('guest', ''), where)
    case.command = _words(keys.get('command', ''), where)
    case.func = keys.get('func')
    if 'runner' in keys:
        case.runner = [_words(alt, where) for alt in keys['runner'].split('||')]
        if not all(case.runner):
            raise CfgError(f'{where}: an empty runner alternative')
    if 'status' in keys:
        if case.kind not in ('run', 'command'):
            raise CfgError(f'{where}: status goes with run or command')
        if keys['status'] not in STATUS_NAMES:
            raise CfgError(f'{where}: status {keys["status"]!r}; accepted: {", ".join(STATUS_NAMES)}')
        case.status = STATUS_NAMES[keys['status']]
    if 'timeout' in keys:
        if not keys['timeout'].isdigit() or int(keys['timeout']) < 1:
            raise CfgError(f'{where}: timeout {keys["timeout"]!r}; accepted: seconds, 1 or more')
        case.timeout = int(keys['timeout'])
    case.needs = keys.get('needs', '').replace(',', ' ').split()
    case.after = keys.get('after')
    if keys.get('alone', 'no') not in ('yes', 'no'):
        raise CfgError(f'{where}: alone {keys["alone"]!r}; accepted: yes, no')
    case.alone = keys.get('alone') == 'yes'
    case.retry, case.setup = keys.get('retry'), keys.get('setup')
    for check in keys.get('check', []):
        word, _, rest = check.partition(' ')
        case.checks.append((word, rest.strip()))
    if case.checks and case.kind not in ('run', 'command'):
        raise CfgError(f'{where}: checks go with run or command')
    for item in keys.get('env', []):
        var, eq, value = item.partition('=')
        if not eq or not var:
            raise CfgError(f'{where}: env {item!r}; accepted: NAME=VALUE')
        case.env[var.strip()] = value.strip()
    case.batch = keys.get('batch', [])
    if case.batch and case.kind != 'run':
        raise CfgError(f'{where}: batch lines go with run')
    case.check_args = _words(keys.get('check-args', ''), where)
    case.no_nested_args = _words(keys.get('no-nested-args', ''), where)
    return case


def load(path):
    """(groups, cases) of the cases file at PATH."""
    groups, cases, names = {}, [], set()
    section, keys, start = None, {}, 0

    def close():
        if section is None:
            return
        if section == 'groups':
            return
        if section in names:
            raise CfgError(f'{path}:{start}: a second case named [{section}]')
        names.add(section)
        cases.append(_case(section, start, keys, path, groups))

    with open(path) as f:
        lines = f.read().splitlines()
    for n, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith('#'):
            continue
        m = SECTION_RE.match(text)
        if m:
            close()
            section, keys, start = m.group(1).strip(), {}, n
            if section != 'groups' and not NAME_RE.match(section):
                raise CfgError(f'{path}:{n}: case name [{section}]: accepted: a-z, 0-9, ".", "_", "-"')
            continue
        m = KEY_RE.match(text)
        if section is None or not m:
            raise CfgError(f'{path}:{n}: expected "[name]" or "key = value": {text[:80]}')
        key, value = m.group(1), m.group(2).strip()
        if section == 'groups':
            if key in groups:
                raise CfgError(f'{path}:{n}: group {key} declared twice')
            groups[key] = value
        elif key in REPEATED_KEYS:
            keys.setdefault(key, []).append(value)
        elif key in SINGLE_KEYS:
            if key in keys:
                raise CfgError(f'{path}:{n}: [{section}] has {key} twice')
            keys[key] = value
        else:
            raise CfgError(f'{path}:{n}: unknown key {key!r}; accepted: '
                           + ', '.join(sorted(SINGLE_KEYS | REPEATED_KEYS)))
    close()
    by_name = {c.name for c in cases}
    for c in cases:
        if c.after and c.after not in by_name:
            raise CfgError(f'{path}:{c.line}: [{c.name}] after {c.after!r}: no such case')
    return groups, cases
