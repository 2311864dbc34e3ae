#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/pvlog/run.py: tests of tools/pvlog.py and tests/ktap_check.py on real and hand-made serial logs.
"""usage: tests/pvlog/run.py

Real logs (fixtures/, made with ./run-qemu.sh): default.log (2 vCPUs),
bad-option.log, fault.log (crash), hang.log (lockup), broken.log
(lock=broken), skip.log (nesting at 1 vCPU), batch.log (two nested runs).
Hand-made: bad-plan, misnumbered, bad-json, truncated, no-version,
crash-backtrace (fault.log with a backtrace as kernel/backtrace.c prints
it), and spec.log (ktap.rst's shapes: subtests, directives, unknown lines).
Ends with "N passed, N failed, N skipped".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path[:0] = [str(TOP / 'tools'), str(TOP / 'tests')]
import pvlog  # noqa: E402
from runner.tally import Tally  # noqa: E402

PVLOG = TOP / 'tools' / 'pvlog.py'
KTAP_CHECK = TOP / 'tests' / 'ktap_check.py'
FX = HERE / 'fixtures'
XSD = HERE / 'junit.xsd'
OUT = Path(os.environ.get('PVSPIN_TEST_LOGS', TOP / 'build' / 'test-logs')) / 'pvlog'
REAL_LOGS = ('default', 'bad-option', 'fault', 'hang', 'broken', 'skip', 'batch')
GOOD_MADE_LOGS = ('crash-backtrace', 'spec')
BROKEN_LOGS = ('bad-plan', 'misnumbered', 'bad-json', 'truncated', 'no-version')


def parse(name):
    return pvlog.parse(pvlog.read_log(str(FX / f'{name}.log')))


def first(name):
    return parse(name)[0]


# (name, fixture, what must hold of (runs, run = runs[0]))
API_CASES = [
    ('default run: plan 8, 8 ok results, 8 JSON objects, EXIT 0', 'default',
     lambda runs, run: len(runs) == 1 and run.plan == 8 and [r.status for r in run.results] == ['ok'] * 8
     and len(run.json) == 8 and run.exit_status == 0 and not run.problems and run.status == 'ok'),
    ('each result carries the JSON printed before it', 'default',
     lambda runs, run: run.results[0].json[0]['test'] == 'smp' and run.results[7].json[0]['lock'] == 'pvqspinlock'),
    ('tables and options: pv-table rows, summary lines, test=default', 'default',
     lambda runs, run: len(run.tables['pv-table']) == 7 and run.tables['summary'][-1].startswith('8 passed')
     and run.options.startswith('test=default')),
    ('bad option: one failed result with the reason, EXIT 2', 'bad-option',
     lambda runs, run: run.results[0].status == 'fail' and run.results[0].reason.startswith('bad option')
     and run.results[0].directive is None and run.exit_status == 2),
    ('crash: the CRASH line and its 5 register lines, EXIT 3', 'fault',
     lambda runs, run: len(run.crash) == 6 and run.crash[0].startswith('# CRASH: #PF')
     and run.crash[-1].startswith('# r13=') and run.lockup is None and run.exit_status == 3
     and run.results[0].reason.startswith('crash:')),
    ('crash with a backtrace: the backtrace lines belong to the report', 'crash-backtrace',
     lambda runs, run: len(run.crash) == 10 and run.crash[6] == '# backtrace: #0 0x00000000001067c5'
     and run.crash[-1] == '# backtrace: end (chain corrupt)' and not run.problems),
    ("lockup: the watchdog's LOCKUP lines, EXIT 4", 'hang',
     lambda runs, run: len(run.lockup) == 3 and 'NMI watchdog' in run.lockup[0] and run.crash is None
     and run.exit_status == 4 and run.status == 'fail'),
    ('lock=broken: a failed result with violations in its JSON', 'broken',
     lambda runs, run: run.results[0].status == 'fail' and run.results[0].json[0]['violations'] > 0
     and run.exit_status == 1),
    ('skips: SKIP directive and reason; a run of skips is skip', 'skip',
     lambda runs, run: [(r.status, r.directive, r.reason) for r in run.results]
     == [('skip', 'SKIP', 'needs 8 CPUs, 1 online')] * 2 and run.status == 'skip'),
    ('batch: two runs, each with its l1 host and its own results', 'batch',
     lambda runs, run: len(runs) == 2 and all(r.l1['kernel'] for r in runs)
     and runs[0].results[0].description == 'smp' and runs[1].status == 'skip'
     and runs[0].json[0]['env']['accel'] == 'nested'
     and all(r.exit_status == 0 and not r.problems for r in runs)),
    ('bad plan: a problem names the count', 'bad-plan',
     lambda runs, run: run.problems == ['plan says 3 results, log has 2'] and run.missing == [3]
     and run.status == 'error'),
    ('misnumbered result: a problem', 'misnumbered',
     lambda runs, run: any('numbered 3, expected 2' in p for p in run.problems)),
    ('bad JSON: a problem, the result still read', 'bad-json',
     lambda runs, run: any(p.startswith('bad JSON') for p in run.problems)
     and run.results[0].status == 'ok' and run.json == []),
    ('truncated: missing results 5..8, no EXIT, status error', 'truncated',
     lambda runs, run: run.missing == [5, 6, 7, 8] and run.exit_status is None and run.status == 'error'),
    ('no version line: one run, a problem, status error', 'no-version',
     lambda runs, run: len(runs) == 1 and run.problems == ['no "KTAP version 1" line']
     and run.status == 'error' and len(run.outside) == 2),
    ('ktap.rst shapes: TAP version 14, nested subtests, multi-word descriptions', 'spec',
     lambda runs, run: run.version == 'TAP version 14' and not run.problems
     and run.results[0].description == 'first group of tests'
     and [s.description for s in run.results[0].subtests] == ['middle group', 'middle skipped']
     and [(t.status, t.directive, t.reason) for t in run.results[0].subtests[0].subtests]
     == [('ok', None, None), ('error', 'TIMEOUT', '30 seconds')]),
    ('ktap.rst directives: XFAIL/TODO/KNOWN_FAILURE skip, ERROR error, other text a reason', 'spec',
     lambda runs, run: [r.status for r in run.results] == ['fail', 'skip', 'skip', 'ok', 'error', 'skip']
     and run.results[3].reason == 'rcode=0' and run.results[3].directive is None and run.status == 'error'),
    ('ktap.rst unknown lines: recorded, not problems', 'spec',
     lambda runs, run: run.unknown == ['a kernel message, an unknown line']
     and run.outside == ['firmware noise before the document']),
]


def test_api(t):
    for name, fixture, holds in API_CASES:
        try:
            runs = parse(fixture)
            good, why = holds(runs, runs[0]), ''
        except (LookupError, TypeError, AttributeError, ValueError) as e:
            good, why = False, f'{type(e).__name__}: {e}'
        if not good and not why:
            run = runs[0]
            why = (f'run 1: status {run.status}, plan {run.plan}, {len(run.results)} results, '
                   f'exit {run.exit_status}, problems {run.problems}')
        t.check(name, good, why[:400])


def pvlog_cli(*args, stdin=None):
    """(status, stdout + stderr) of tools/pvlog.py ARGS."""
    p = subprocess.run([sys.executable, str(PVLOG), *map(str, args)], stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


# (name, status, pattern ('' = says nothing), args)
CLI_CASES = [(f'check {f}.log: well formed, says nothing', 0, '', ('check', FX / f'{f}.log'))
             for f in REAL_LOGS + GOOD_MADE_LOGS] + [
    ('check bad-plan.log: status 1, the problem on stderr', 1, 'plan says 3 results, log has 2',
     ('check', FX / 'bad-plan.log')),
    ('check misnumbered.log: status 1', 1, 'numbered 3, expected 2', ('check', FX / 'misnumbered.log')),
    ('check bad-json.log: status 1', 1, 'bad JSON on a result line', ('check', FX / 'bad-json.log')),
    ('check truncated.log: status 1', 1, 'plan says 8 results, log has 4', ('check', FX / 'truncated.log')),
    ('check no-version.log: status 1', 1, 'no "KTAP version 1" line', ('check', FX / 'no-version.log')),
    ('check from stdin (-)', 0, '', ('check', '-')),
    ('no command: status 2 with usage', 2, 'usage:', ()),
    ('unknown command: status 2', 2, "unknown command 'frob'", ('frob', FX / 'default.log')),
    ('two logs: status 2', 2, 'takes one LOG', ('check', FX / 'default.log', FX / 'skip.log')),
    ('junit -o without a file: status 2', 2, '-o needs a file name', ('junit', FX / 'default.log', '-o')),
    ('unknown option: status 2', 2, 'takes one LOG', ('jsonl', '--frob')),
    ('unreadable log: status 2', 2, 'cannot read', ('summary', OUT / 'no-such.log')),
    ('summary: one line per result, totals', 0, '8 ok, 0 fail, 0 skip, 0 error', ('summary', FX / 'default.log')),
    ('summary of a crash names it', 0, '# CRASH: #PF', ('summary', FX / 'fault.log')),
    ('--help: status 0', 0, 'junit LOG', ('--help',)),
]


def test_cli(t):
    for name, want, pattern, args in CLI_CASES:
        with open(FX / 'default.log') as stdin:
            st, out = pvlog_cli(*args, stdin=stdin)
        said = ' '.join(out.splitlines()[:2])
        if st != want:
            t.fail(name, f'exit status {st}, expected {want}: {said}')
        elif not pattern and out:
            t.fail(name, f'said: {said}')
        elif pattern and not re.search(re.escape(pattern), out):
            t.fail(name, f'output lacks /{pattern}/: {said}')
        else:
            t.ok(name)


JSONL_CASES = [
    ("jsonl default: 8 records, KTAP status and the guest's JSON fields merged", 'default',
     lambda recs: len(recs) == 8 and all(r['run'] == 1 and r['status'] == 'ok' for r in recs)
     and recs[0]['test'] == 'smp' and recs[0]['cpus_online'] == 2 and recs[2]['lock'] == 'tas'),
    ('jsonl batch: records of both runs, run index 1 and 2', 'batch',
     lambda recs: [(r['run'], r['status']) for r in recs] == [(1, 'ok'), (2, 'skip'), (2, 'skip')]
     and recs[0]['env']['accel'] == 'nested'),
    ('jsonl truncated: the 4 missing results as errors', 'truncated',
     lambda recs: [r['status'] for r in recs] == ['ok'] * 4 + ['error'] * 4 and recs[-1]['number'] == 8),
    ('jsonl no-version: one error record for the run', 'no-version',
     lambda recs: len(recs) == 1 and recs[0]['status'] == 'error' and recs[0]['number'] is None),
]


def test_jsonl(t):
    for name, fixture, holds in JSONL_CASES:
        st, out = pvlog_cli('jsonl', FX / f'{fixture}.log')
        if st:
            t.fail(name, f'pvlog.py jsonl failed: {out[:200]}')
            continue
        recs = [json.loads(l) for l in out.splitlines()]
        t.check(name, holds(recs), f'false; records {[(r["run"], r["number"], r["status"]) for r in recs]}')


JUNIT_COUNTS = (('tests', None), ('failures', 'failure'), ('errors', 'error'), ('skipped', 'skipped'))
JUNIT_CASES = [
    ('default', lambda root: len(root.findall('testsuite')) == 1 and root.get('tests') == '8'
     and root.find('testsuite/properties/property').get('value') == '0'),
    ('fault', lambda root: '# CRASH: #PF' in root.find('testsuite/system-out').text
     and '# rax=' in root.find('testsuite/testcase/failure').text),
    ('crash-backtrace', lambda root: '# backtrace: end (chain corrupt)' in root.find('testsuite/system-out').text),
    ('hang', lambda root: '# LOCKUP:' in root.find('testsuite/system-out').text and root.get('failures') == '1'),
    ('skip', lambda root: root.get('skipped') == '2'
     and root.find('testsuite/testcase/skipped').get('message') == 'SKIP needs 8 CPUs, 1 online'),
    ('batch', lambda root: len(root.findall('testsuite')) == 2 and root.get('tests') == '3'),
    ('truncated', lambda root: [c.get('name') for c in root.findall('testsuite/testcase')][4:]
     == ['result 5', 'result 6', 'result 7', 'result 8'] and root.get('errors') == '4'),
    ('no-version', lambda root: root.find('testsuite/testcase').get('name') == 'log structure'
     and root.get('errors') == '1'),
    ('spec', lambda root: root.get('errors') == '1' and root.get('skipped') == '3' and root.get('failures') == '1'),
] + [(f, None) for f in ('bad-option', 'broken', 'bad-plan', 'misnumbered', 'bad-json')]
# Faults planted in a valid document, each of which the schema must reject.
PLANTS = [
    ('<testcase name="smp" ', '<testcase '),
    ('tests="8" failures', 'tests="-1" failures'),
    ('<testcase name="smp" classname="pvspin.run1" />',
     '<testcase name="smp" classname="pvspin.run1"><skipped /><failure /></testcase>'),
    ('<properties>', '<properties><bogus />'),
]


def schema_ok(path):
    """(valid, xmllint's first lines)."""
    p = subprocess.run(['xmllint', '--noout', '--schema', str(XSD), str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode == 0, ' '.join(p.stdout.splitlines()[:2])


def junit_counts_agree(root):
    bad = []
    for node in [root] + root.findall('testsuite'):
        cases = node.findall('.//testcase')
        for key, tag in JUNIT_COUNTS:
            n = len(cases) if tag is None else sum(1 for c in cases if c.find(tag) is not None)
            if node.get(key) != str(n):
                bad.append(f'{node.tag} {node.get("name")}: {key}={node.get(key)}, counted {n}')
    return bad


def test_junit(t):
    if not shutil.which('xmllint'):
        t.skip('JUnit XML against tests/pvlog/junit.xsd', 'no xmllint (apt-get install libxml2-utils)')
        return
    for fixture, holds in JUNIT_CASES:
        name = f'junit {fixture}.log: valid against junit.xsd, counts agree{", content" if holds else ""}'
        xml = OUT / f'{fixture}.junit.xml'
        st, out = pvlog_cli('junit', FX / f'{fixture}.log', '-o', xml)
        if st:
            t.fail(name, f'pvlog.py junit failed: {out[:200]}')
            continue
        valid, said = schema_ok(xml)
        if not valid:
            t.fail(name, f'schema: {said}')
            continue
        root = ET.parse(xml).getroot()
        bad = junit_counts_agree(root)
        if holds and not holds(root):
            bad.append('content not as expected')
        t.check(name, not bad, '; '.join(bad)[:400])
    good = (OUT / 'default.junit.xml').read_text()
    accepted = []
    for old, new in PLANTS:
        planted = good.replace(old, new, 1)
        (OUT / 'planted.xml').write_text(planted)
        if planted == good:
            accepted.append(f'plant did not apply: {old}')
        elif schema_ok(OUT / 'planted.xml')[0]:
            accepted.append(f'accepted: {new}')
    t.check('junit.xsd rejects planted faults (no name, a negative count, two outcomes, a stray element)',
            not accepted, ' '.join(accepted))


def ktap_check(*args):
    """(status, stderr) of tests/ktap_check.py ARGS."""
    p = subprocess.run([sys.executable, str(KTAP_CHECK), *map(str, args)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stderr


def test_ktap_check(t):
    """ktap_check.py follows ktap.rst; --pvspin adds the narrower form pvspin prints."""
    for mode in ((), ('--pvspin',)):
        label = f'ktap_check.py{" " + mode[0] if mode else ""}'
        bad = [f for f in REAL_LOGS + ('crash-backtrace',) if ktap_check(FX / f'{f}.log', *mode)[0]]
        t.check(f'{label} accepts every real log (and a crash with a backtrace)', not bad,
                f'rejected: {" ".join(bad)}')
        bad = [f for f in BROKEN_LOGS if not ktap_check(FX / f'{f}.log', *mode)[0]]
        t.check(f'{label} rejects every broken log', not bad, f'accepted: {" ".join(bad)}')
    st, err = ktap_check(FX / 'spec.log', '--result', 'first group of tests=fail', '--result',
                         'check return code=ok', '--result', 'could not run=error', '--result',
                         'not done yet=skip')
    t.check('ktap_check.py accepts what ktap.rst allows: words, directives, unknown lines, subtests (spec.log)',
            st == 0, ' '.join(err.splitlines()[:3]))
    st, err = ktap_check(FX / 'spec.log', '--pvspin')
    wanted = ('no "KTAP version 1" line (found "TAP version 14")', 'not a KTAP line: a kernel message',
              'not a KTAP line:   KTAP version 1', 'not a KTAP line: not ok 1 first group of tests')
    t.check('ktap_check.py --pvspin rejects what KTAP allows but pvspin never prints (spec.log)',
            st == 1 and all(w in err for w in wanted), f'status {st}: {" ".join(err.splitlines()[:3])}')
    good = ktap_check(FX / 'batch.log', '--result', 'smp=ok', '--result', 'nesting:qspinlock=skip',
                      '--expect', 'smp.cpus_online=2')[0] == 0
    wrong = ktap_check(FX / 'batch.log', '--expect', 'smp.cpus_online=3')[0] == 1
    t.check('ktap_check.py --expect and --result on a batch log read both runs', good and wrong,
            f'expectations on {FX / "batch.log"}')
    bad = [args for args in (('--expect', 'smp'), ('--result', 'smp'), ('--result', 'smp=great'),
                             ('--expect',), ('--frob', 'x'))
           if ktap_check(FX / 'default.log', *args)[0] != 2]
    t.check('ktap_check.py bad usage: a malformed --expect or --result, an option without its value, '
            'an unknown option: status 2', not bad, f'not status 2: {bad}')


def main(argv):
    if argv[1:] in (['-h'], ['--help']):
        print(__doc__)
        return 0
    if argv[1:]:
        print(f"tests/pvlog/run.py: unknown argument '{argv[1]}' (it takes none)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    t = Tally()
    test_api(t)
    test_cli(t)
    test_jsonl(t)
    test_junit(t)
    test_ktap_check(t)
    return t.end()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
