#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# ktap_check.py: the tests' check of a pvspin serial log (structure and JSON expectations).
"""Check a pvspin serial log: KTAP version 1 structure and the JSON results.

usage: ktap_check.py LOG [--pvspin] [--expect TEST.KEY=VALUE ...]
                        [--result NAME=ok|fail|skip|error ...]

The structure is checked as Documentation/dev-tools/ktap.rst defines KTAP
version 1: descriptions of several words, directives, unknown lines and
indented subtests are all allowed; the plan must match the results. With
--pvspin the log must also be in the narrower form pvspin prints
(docs/output.md): a "KTAP version 1" line, one-word descriptions, no
subtests and no lines that are not KTAP; the project's own tests use it, so
a change in the guest's output format fails them.

Exits 0 if the log is well formed and every expectation holds, else 1 with
one line per problem on stderr; 2 for bad usage. Values compare as JSON when they parse as
JSON (numbers, true/false), else as strings; ">N" and "<N" compare numbers.
Every run of the log is checked (a nested --batch log holds several);
--expect holds for every JSON result of that test, --result for the first
result of that name. Parsing is tools/pvlog.py's.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tools'))
import pvlog  # noqa: E402  (found through the path above)

# pvspin's own result line (--pvspin): its descriptions are one word. KTAP
# allows more words and trailing blanks.
PVSPIN_RESULT_RE = re.compile(r'^(ok|not ok) (\d+) (\S+)(?: # (.*))?$')
PVSPIN_VERSION = 'KTAP version 1'


def pvspin_problems(run):
    """Where a run that pvlog accepts still is not what pvspin prints.
    pvlog follows ktap.rst, which allows TAP version lines, unknown lines and
    indented subtests; pvspin prints none of them, so these checks stay here."""
    problems = list(run.problems)
    if run.version is not None and run.version != PVSPIN_VERSION:
        problems.append(f'no "{PVSPIN_VERSION}" line (found "{run.version[:pvlog.LINE_CUT]}")')
    for line in run.indented + run.unknown:
        problems.append(f'not a KTAP line: {line[:pvlog.LINE_CUT]}')
    for r in run.results:
        if not PVSPIN_RESULT_RE.match(r.line):
            problems.append(f'not a KTAP line: {r.line[:pvlog.LINE_CUT]}')
    return problems


def check_log(path, pvspin_form=False):
    """(problems, results, jsons) of every run in the log."""
    runs = pvlog.parse(pvlog.read_log(path))
    problems, results, jsons = [], [], []
    for run in runs:
        where = f'run {run.index + 1}: ' if len(runs) > 1 else ''
        own = pvspin_problems(run) if pvspin_form else list(run.problems)
        problems += [where + p for p in own]
        # pvlog starts a new run at a version or "# l1:" line; one run
        # running into the next without its EXIT line is a broken log.
        if run is not runs[-1] and run.exit_status is None:
            problems.append(f'{where}a new run starts before this one\'s EXIT line')
        results += run.results
        jsons += run.json
    return problems, results, jsons


def matches(actual, want):
    if want.startswith('>') or want.startswith('<'):
        try:
            a, w = float(actual), float(want[1:])
        except (TypeError, ValueError):
            return False
        return a > w if want[0] == '>' else a < w
    try:
        return actual == json.loads(want)
    except ValueError:
        return str(actual) == want


def expectation_problems(jsons, spec):
    """Problems of one --expect TEST.KEY=VALUE against the JSON results."""
    path, want = spec.split('=', 1)
    test, key = path.split('.', 1)
    objs = [j for j in jsons if j.get('test') == test or j.get('name') == test]
    if not objs:
        return [f'no JSON result for test {test}']
    problems = []
    for j in objs:
        actual = j
        for part in key.split('.'):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if not matches(actual, want):
            problems.append(f'{test}.{key} is {actual!r}, expected {want}')
    return problems


def result_problems(results, spec):
    """Problems of one --result NAME=STATUS against the KTAP results."""
    name, want = spec.split('=', 1)
    got = [r.status for r in results if r.description == name]
    if not got:
        return [f'no KTAP result named {name}']
    if got[0] != want:
        return [f'result {name} is {got[0]}, expected {want}']
    return []


def valid_spec(opt, spec):
    """None if SPEC is well formed for OPT, else what is wrong."""
    if '=' not in spec:
        return f'{opt} {spec!r}: accepted: ' + ('TEST.KEY=VALUE' if opt == '--expect' else 'NAME=STATUS')
    if opt == '--expect' and '.' not in spec.split('=', 1)[0]:
        return f'{opt} {spec!r}: accepted: TEST.KEY=VALUE'
    if opt == '--result' and spec.split('=', 1)[1] not in pvlog.STATUS_RANK:
        return f"{opt} {spec!r}: accepted statuses: {', '.join(pvlog.STATUS_RANK)}"
    return None


def check(path, pvspin_form=False, expects=(), results=()):
    """Every problem of the log at PATH (OSError when it cannot be read)."""
    problems, got, jsons = check_log(path, pvspin_form)
    for spec in expects:
        problems += expectation_problems(jsons, spec)
    for spec in results:
        problems += result_problems(got, spec)
    return problems


def main(argv):
    if len(argv) < 2 or argv[1].startswith('-'):
        print(__doc__, file=sys.stderr)
        return 2
    args = argv[2:]
    pvspin_form = '--pvspin' in args
    args = [a for a in args if a != '--pvspin']
    specs = {'--expect': [], '--result': []}
    while args:
        opt = args.pop(0)
        if opt not in specs:
            print(f'ktap_check: unknown option {opt}', file=sys.stderr)
            return 2
        if not args:
            print(f'ktap_check: {opt} needs a value', file=sys.stderr)
            return 2
        spec = args.pop(0)
        bad = valid_spec(opt, spec)
        if bad:
            print(f'ktap_check: {bad}', file=sys.stderr)
            return 2
        specs[opt].append(spec)
    try:
        problems = check(argv[1], pvspin_form, specs['--expect'], specs['--result'])
    except OSError as e:
        print(f'ktap_check: cannot read {argv[1]}: {e.strerror}', file=sys.stderr)
        return 1
    for p in problems:
        print(f'ktap_check: {p}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
