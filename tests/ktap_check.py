#!/usr/bin/env python3
"""Check a pvspin serial log: KTAP version 1 structure and the JSON results.

usage: ktap_check.py LOG [--expect TEST.KEY=VALUE ...] [--result NAME=ok|fail|skip ...]

Exits 0 if the log is well formed and every expectation holds, else 1 with
one line per problem on stderr. Values compare as JSON when they parse as
JSON (numbers, true/false), else as strings; ">N" and "<N" compare numbers.
"""
import json
import re
import sys

RESULT_RE = re.compile(r'^(ok|not ok) (\d+) (\S+)(?: # (.*))?$')


def parse(path):
    with open(path, 'rb') as f:
        lines = f.read().decode('utf-8', 'replace').splitlines()
    problems, results, jsons, plan = [], [], [], None
    try:
        start = lines.index('KTAP version 1')
    except ValueError:
        return ['no "KTAP version 1" line'], [], [], None
    for line in lines[start + 1:]:
        if line.startswith('EXIT: STATUS='):
            break
        if plan is None and re.match(r'^1\.\.\d+$', line):
            plan = int(line[3:])
            continue
        m = RESULT_RE.match(line)
        if m:
            status = 'ok' if m.group(1) == 'ok' else 'fail'
            if m.group(4) and m.group(4).startswith('SKIP'):
                status = 'skip'
            results.append((int(m.group(2)), m.group(3), status, m.group(4)))
            continue
        if line.startswith('# result: '):
            try:
                jsons.append(json.loads(line[len('# result: '):]))
            except ValueError as e:
                problems.append(f'bad JSON on a result line: {e}: {line[:120]}')
            continue
        if line and not line.startswith('#'):
            problems.append(f'not a KTAP line: {line[:120]}')
    if plan is None:
        problems.append('no plan line "1..N"')
    elif plan != len(results):
        problems.append(f'plan says {plan} results, log has {len(results)}')
    for i, r in enumerate(results, 1):
        if r[0] != i:
            problems.append(f'result {r[1]} numbered {r[0]}, expected {i}')
    return problems, results, jsons, plan


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


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems, results, jsons, _ = parse(argv[1])
    args = argv[2:]
    while args:
        opt = args.pop(0)
        if not args:
            print(f'{opt} needs a value', file=sys.stderr)
            return 2
        spec = args.pop(0)
        if opt == '--expect':
            path, want = spec.split('=', 1)
            test, key = path.split('.', 1)
            objs = [j for j in jsons if j.get('test') == test or j.get('name') == test]
            if not objs:
                problems.append(f'no JSON result for test {test}')
                continue
            for j in objs:
                actual = j
                for part in key.split('.'):
                    actual = actual.get(part) if isinstance(actual, dict) else None
                if not matches(actual, want):
                    problems.append(f'{test}.{key} is {actual!r}, expected {want}')
        elif opt == '--result':
            name, want = spec.split('=', 1)
            got = [r[2] for r in results if r[1] == name]
            if not got:
                problems.append(f'no KTAP result named {name}')
            elif got[0] != want:
                problems.append(f'result {name} is {got[0]}, expected {want}')
        else:
            print(f'unknown option {opt}', file=sys.stderr)
            return 2
    for p in problems:
        print(f'ktap_check: {p}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
