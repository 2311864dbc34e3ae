#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# pvlog.py: the one reader of pvspin's serial log (KTAP version 1 plus pvspin's own lines).
"""Read pvspin's serial log: as a module, or from the command line.

usage: pvlog.py check LOG              exit 0 if every run is well formed, else 1
                                       (one problem a line on stderr)
       pvlog.py junit LOG [-o FILE]    JUnit XML (GitLab, Jenkins) on stdout or FILE
       pvlog.py jsonl LOG              one JSON object per result
       pvlog.py summary LOG            a short table for people
LOG may be "-" for stdin. Bad usage and an unreadable LOG exit 2; junit,
jsonl and summary exit 0 whatever the tests' outcome (check decides that).

The log follows Documentation/dev-tools/ktap.rst (KTAP version 1): a
version line, a plan "1..N", result lines "ok N description # DIRECTIVE
reason" (directives SKIP, TODO, XFAIL, TIMEOUT, KNOWN_FAILURE, ERROR),
"#" diagnostic lines, subtests indented under a version line of their own,
and unknown lines (allowed; recorded). On top of that, pvspin's own lines
(docs/output.md): "# result: {json}" before the result it describes,
"EXIT: STATUS=n" ending a run, the "# CRASH:" register dump, the watchdog's
"# LOCKUP:" report, "# bench-table:", "# pv-table:" and "# summary:" lines.
One stream may hold several runs (run-qemu.sh --accel nested, --batch): a
run starts at an unindented version line or at a "# l1: {json}" line, and
ends at its EXIT line.

API:
  parse(text) -> list[Run]         at least one Run, even for empty text
  Run.index       its place in the stream, from 0
  Run.version     the version line, or None
  Run.plan        N of "1..N", or None
  Run.results     list[Result] of the top level
  Run.json        list of dicts from the run's "# result:" lines
  Run.exit_status int from "EXIT: STATUS=n", or None
  Run.crash       the "# CRASH:" line and the register and backtrace lines
                  after it, or None
  Run.lockup      the "# LOCKUP:" lines, or None
  Run.reset       the "# RESET:" line (the machine reset under the run and
                  the restarted guest ended it), or None
  Run.tables      {"bench-table"|"pv-table"|"summary": [text after the prefix]}
  Run.l1          the "# l1:" JSON of a nested run, or None
  Run.options     the text of "# pvspin: ..." (test=... seed=...), or None
  Run.problems    strings: where the run breaks KTAP or pvspin's rules (no
                  version line, no plan, plan/result count mismatch,
                  misnumbered results, bad JSON, a bad EXIT line, ...)
  Run.unknown     unknown lines (KTAP allows them)
  Run.indented    every indented line (pvspin prints none; tests/ktap_check.py
                  rejects them)
  Run.outside     lines outside the KTAP document: before the version line
                  ("# l1:", firmware), and after the last run's EXIT line
  Run.status      worst of the results ("error" > "fail" > "ok" > "skip");
                  "error" when planned results are missing or nothing ran
  Run.missing     numbers of planned results never printed
  Result(number, ok, description, directive, reason, status) and
    .json (dicts of the "# result:" lines just before it), .diagnostics
    ("#" lines since the previous result), .subtests, .line (the raw text)
  Result.status   "skip" (SKIP; or an expected failure: not ok with TODO,
                  XFAIL or KNOWN_FAILURE), "error" (ERROR, TIMEOUT), else
                  "ok" / "fail" from ok / not ok (an unknown directive falls
                  back to ok / not ok, as ktap.rst asks)
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

VERSION_RE = re.compile(r'^(KTAP version 1|TAP version 1[34])$')
PLAN_RE = re.compile(r'^1\.\.(\d+)$')
RESULT_RE = re.compile(r'^(ok|not ok) (\d+)(?:$| (.*)$)')
EXIT_RE = re.compile(r'^EXIT: STATUS=(\d+)$')
# The lines of a crash report after its first "# CRASH:" line
# (kernel/trap.c, kernel/backtrace.c): more "# CRASH: ..." lines (a lock
# library bug), the registers "# error=...", "# rax=...", "# r9 =...", and
# the backtrace "# backtrace: #N 0x...", "# backtrace: stopped: ...",
# "# backtrace: end (...)".
CRASH_MORE_RE = re.compile(r'^# (?:CRASH: |backtrace: |(?:error|[a-z0-9]{2,3} ?)=)')

DIRECTIVES = ('SKIP', 'TODO', 'XFAIL', 'TIMEOUT', 'KNOWN_FAILURE', 'ERROR')
EXPECTED_FAILURE = ('TODO', 'XFAIL', 'KNOWN_FAILURE')
STATUS_RANK = {'skip': 0, 'ok': 1, 'fail': 2, 'error': 3}
TABLES = ('bench-table', 'pv-table', 'summary')

RESULT_PREFIX = '# result: '
from pvspin.runner import L1_PREFIX  # noqa: E402  (the '# l1:' line that starts a nested run)
OPTIONS_PREFIX = '# pvspin: '
EXIT_PREFIX = 'EXIT: STATUS='
LINE_CUT = 120   # how much of a bad line a problem quotes


@dataclass
class Result:
    number: int
    ok: bool
    description: str
    directive: str = None
    reason: str = None
    status: str = 'ok'
    json: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)
    subtests: list = field(default_factory=list)
    line: str = ''


@dataclass
class Run:
    index: int = 0
    version: str = None
    plan: int = None
    results: list = field(default_factory=list)
    json: list = field(default_factory=list)
    exit_status: int = None
    crash: list = None
    lockup: list = None
    reset: str = None
    tables: dict = field(default_factory=dict)
    l1: dict = None
    options: str = None
    problems: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    indented: list = field(default_factory=list)
    outside: list = field(default_factory=list)

    @property
    def missing(self):
        if self.plan is None or self.plan <= len(self.results):
            return []
        return list(range(len(self.results) + 1, self.plan + 1))

    @property
    def status(self):
        if self.version is None or self.missing:
            return 'error'
        if not self.results:
            return 'skip' if self.plan == 0 else 'error'
        return max((r.status for r in self.results), key=STATUS_RANK.get)


def result_status(ok, directive):
    if directive == 'SKIP':
        return 'skip'
    if directive in ('ERROR', 'TIMEOUT'):
        return 'error'
    if directive in EXPECTED_FAILURE and not ok:
        return 'skip'
    return 'ok' if ok else 'fail'


def parse_result(text):
    """A Result from a result line (without its indentation), or None."""
    m = RESULT_RE.match(text)
    if not m:
        return None
    rest = m.group(3) or ''
    description, hash_, tail = rest.partition('#')
    directive, reason = None, None
    if hash_:
        word, _, more = tail.strip().partition(' ')
        if word in DIRECTIVES:
            directive, reason = word, more.strip()
        else:
            reason = tail.strip()
    ok = m.group(1) == 'ok'
    return Result(int(m.group(2)), ok, description.strip(), directive, reason,
                  result_status(ok, directive), line=text)


def check_numbers(plan, results, problems, where=''):
    if plan is None:
        problems.append(f'{where}no plan line "1..N"')
    elif plan != len(results):
        problems.append(f'{where}plan says {plan} results, log has {len(results)}')
    for i, r in enumerate(results, 1):
        if r.number != i:
            problems.append(f'{where}result {r.description} numbered {r.number}, expected {i}')


class _Doc:
    """One KTAP document: the run's top level or an indented subtest."""

    def __init__(self, indent, lineno):
        self.indent, self.lineno = indent, lineno
        self.plan, self.results = None, []
        self.json, self.diagnostics, self.subtests = [], [], None


def _close_doc(doc, parent, run):
    check_numbers(doc.plan, doc.results, run.problems,
                  f'subtest at line {doc.lineno}: ')
    if parent.subtests is not None:
        run.problems.append(f'subtest at line {parent.subtests[0]} has no result line')
    parent.subtests = (doc.lineno, doc.results)


def _pvspin_line(run, doc, text, state):
    """pvspin's own unindented lines; True when the line was one."""
    if text.startswith(RESULT_PREFIX):
        try:
            obj = json.loads(text[len(RESULT_PREFIX):])
        except ValueError as e:
            run.problems.append(f'bad JSON on a result line: {e}: {text[:LINE_CUT]}')
            return True
        if not isinstance(obj, dict):
            run.problems.append(f'result JSON is not an object: {text[:LINE_CUT]}')
            return True
        run.json.append(obj)
        doc.json.append(obj)
        return True
    if state.get('crash') and CRASH_MORE_RE.match(text):
        run.crash.append(text)
        return False    # a diagnostic as well
    if text.startswith('# CRASH:'):
        run.crash = [text]
        state['crash'] = True
        return False
    state['crash'] = False
    if text.startswith('# LOCKUP:'):
        run.lockup = (run.lockup or []) + [text]
    elif text.startswith('# RESET:'):
        run.reset = text
    elif text.startswith(OPTIONS_PREFIX) and run.options is None:
        run.options = text[len(OPTIONS_PREFIX):]
    else:
        for name in TABLES:
            if text.startswith(f'# {name}: '):
                run.tables.setdefault(name, []).append(text[len(name) + 4:])
    return False


def _parse_body(run, body):
    """The lines of one run after its version line."""
    stack = [_Doc(0, 0)]
    state = {}
    for lineno, raw in body:
        if not raw:
            continue
        if not raw.strip():
            run.unknown.append(raw)
            continue
        text = raw.lstrip(' ')
        indent = len(raw) - len(text)
        if indent:
            run.indented.append(raw)
        else:
            if text.startswith(EXIT_PREFIX):
                m = EXIT_RE.match(text)
                if m:
                    run.exit_status = int(m.group(1))
                else:
                    run.problems.append(f'bad EXIT line: {text[:LINE_CUT]}')
                break
        while indent < stack[-1].indent:
            doc = stack.pop()
            _close_doc(doc, stack[-1], run)
        doc = stack[-1]
        if indent > doc.indent or (indent and VERSION_RE.match(text)):
            if VERSION_RE.match(text):
                if indent == doc.indent:   # a second subtest, the first without a result
                    stack.pop()
                    _close_doc(doc, stack[-1], run)
                stack.append(_Doc(indent, lineno))
            elif text.startswith('#'):
                doc.diagnostics.append(text)
            else:
                run.unknown.append(raw)
            continue
        if not indent and _pvspin_line(run, doc, text, state):
            continue
        m = PLAN_RE.match(text)
        if m:
            if doc.plan is None:
                doc.plan = int(m.group(1))
            else:
                run.problems.append(f'a second plan line: {text[:LINE_CUT]}')
            continue
        r = parse_result(text)
        if r:
            r.json, r.diagnostics = doc.json, doc.diagnostics
            if doc.subtests is not None:
                r.subtests = doc.subtests[1]
            doc.json, doc.diagnostics, doc.subtests = [], [], None
            r.line = raw
            doc.results.append(r)
        elif text.startswith('#'):
            doc.diagnostics.append(text)
        else:
            run.unknown.append(raw)
    while len(stack) > 1:
        doc = stack.pop()
        _close_doc(doc, stack[-1], run)
    if stack[0].subtests is not None:
        run.problems.append(f'subtest at line {stack[0].subtests[0]} has no result line')
    run.plan, run.results = stack[0].plan, stack[0].results
    check_numbers(run.plan, run.results, run.problems)


def _split_runs(lines):
    """Cut the numbered lines into runs: {'outside': [...], 'body': [...]}
    each, body from the version line on; and the lines after the last EXIT."""
    runs, cur, pending = [], None, []
    for line in lines:
        raw = line[1]
        is_version, is_l1 = VERSION_RE.match(raw), raw.startswith(L1_PREFIX)
        if is_version or is_l1:
            if cur is None or cur['closed'] or cur['body'] or (is_l1 and cur['l1']):
                cur = {'outside': pending, 'body': [], 'closed': False, 'l1': False}
                runs.append(cur)
                pending = []
            if is_version:
                cur['body'].append(line)
            else:
                cur['l1'] = True
                cur['outside'].append(line)
        elif cur is None or cur['closed']:
            pending.append(line)
        elif cur['body']:
            cur['body'].append(line)
            cur['closed'] = raw.startswith(EXIT_PREFIX)
        else:
            cur['outside'].append(line)
    return runs, pending


def parse(text):
    """Every run in a serial log (str), in order; at least one."""
    lines = list(enumerate(text.splitlines(), 1))
    chunks, trailing = _split_runs(lines)
    if not chunks:
        chunks, trailing = [{'outside': trailing, 'body': []}], []
    chunks[-1]['outside'] += trailing
    runs = []
    for i, chunk in enumerate(chunks):
        run = Run(index=i, outside=[raw for _, raw in chunk['outside']])
        for raw in run.outside:
            if raw.startswith(L1_PREFIX):
                try:
                    run.l1 = json.loads(raw[len(L1_PREFIX):])
                except ValueError as e:
                    run.problems.append(f'bad JSON on the l1 line: {e}')
        if not chunk['body']:
            run.problems.append('no "KTAP version 1" line')
        else:
            run.version = chunk['body'][0][1]
            _parse_body(run, chunk['body'][1:])
        runs.append(run)
    return runs


def read_log(path):
    """The text of a log file ("-": stdin); bytes that are not UTF-8 become U+FFFD."""
    if path == '-':
        data = sys.stdin.buffer.read()
    else:
        with open(path, 'rb') as f:
            data = f.read()
    return data.decode('utf-8', 'replace')


# ---- JUnit XML -----------------------------------------------------------
# Characters XML 1.0 cannot carry (serial logs can hold any byte).
_XML_BAD = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _xml_text(s):
    return _XML_BAD.sub(lambda m: f'\\x{ord(m.group()):02x}', s)


def run_title(run):
    title = f'run {run.index + 1}'
    return f'{title}: {run.options}' if run.options else title


def run_report(run):
    """The crash or lockup report, the problems and the exit status, as text."""
    lines = (run.crash or []) + (run.lockup or []) + ([run.reset] if run.reset else [])
    lines += [f'problem: {p}' for p in run.problems]
    lines.append(f'EXIT: STATUS={run.exit_status}' if run.exit_status is not None
                 else 'no EXIT line: the run did not finish')
    return '\n'.join(lines)


def _case(suite, run, name):
    return ET.SubElement(suite, 'testcase', name=_xml_text(name),
                         classname=f'pvspin.run{run.index + 1}')


JUNIT_COUNTS = (('tests', 'testcase'), ('failures', 'testcase/failure'),
                ('errors', 'testcase/error'), ('skipped', 'testcase/skipped'))


def _junit_suite(root, run):
    suite = ET.SubElement(root, 'testsuite', name=_xml_text(run_title(run)))
    props = ET.SubElement(suite, 'properties')
    ET.SubElement(props, 'property', name='exit_status',
                  value='none' if run.exit_status is None else str(run.exit_status))
    for r in run.results:
        case = _case(suite, run, r.description or f'result {r.number}')
        message = _xml_text(' '.join(x for x in (r.directive, r.reason) if x))
        body = _xml_text('\n'.join(r.diagnostics + [r.line]))
        if r.status == 'skip':
            ET.SubElement(case, 'skipped', message=message)
        elif r.status == 'fail':
            ET.SubElement(case, 'failure', message=message, type='not ok').text = body
        elif r.status == 'error':
            ET.SubElement(case, 'error', message=message, type=r.directive or 'error').text = body
    report = _xml_text(run_report(run))
    for n in run.missing:
        ET.SubElement(_case(suite, run, f'result {n}'), 'error', type='missing',
                      message=f'the run ended before result {n} of {run.plan}').text = report
    if run.problems and not run.missing:
        ET.SubElement(_case(suite, run, 'log structure'), 'error', type='structure',
                      message=_xml_text(run.problems[0])).text = report
    ET.SubElement(suite, 'system-out').text = report
    for key, path in JUNIT_COUNTS:
        suite.set(key, str(len(suite.findall(path))))


def junit(runs):
    """JUnit XML (str) for the runs: one <testsuite> per run."""
    root = ET.Element('testsuites', name='pvspin')
    for run in runs:
        _junit_suite(root, run)
    for key, path in JUNIT_COUNTS:
        root.set(key, str(len(root.findall('testsuite/' + path))))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding='unicode') + '\n'


# ---- JSON lines ----------------------------------------------------------
def records(runs):
    """One dict per result (and per missing result): the result's JSON
    fields, then the KTAP fields run, number, description, ok, status,
    directive, reason (these win over a JSON field of the same name)."""
    for run in runs:
        for r in run.results:
            rec = {}
            for obj in r.json:
                rec.update(obj)
            rec.update(run=run.index + 1, number=r.number, description=r.description,
                       ok=r.ok, status=r.status, directive=r.directive, reason=r.reason)
            yield rec
        for n in run.missing:
            yield {'run': run.index + 1, 'number': n, 'description': None, 'ok': False,
                   'status': 'error', 'directive': None,
                   'reason': f'missing: the run ended before result {n} of {run.plan}'}
        if not run.results and not run.missing and run.status == 'error':
            yield {'run': run.index + 1, 'number': None, 'description': None, 'ok': False,
                   'status': 'error', 'directive': None,
                   'reason': '; '.join(run.problems) or 'no results'}


# ---- summary -------------------------------------------------------------
def summary(runs):
    """A short table for people (str)."""
    out = []
    for run in runs:
        exit_text = 'no EXIT line' if run.exit_status is None else f'EXIT {run.exit_status}'
        out.append(f'{run_title(run)}: {run.status} ({exit_text})')
        for r in run.results:
            note = ' '.join(x for x in (r.directive, r.reason) if x)
            out.append(f'  {r.status:<5} {r.number:>3} {r.description}{"  # " + note if note else ""}')
        for n in run.missing:
            out.append(f'  {"error":<5} {n:>3} (missing: the run ended before it)')
        for line in (run.crash or [])[:1] + (run.lockup or [])[:1] + ([run.reset] if run.reset else []):
            out.append(f'  {line}')
        for p in run.problems:
            out.append(f'  problem: {p}')
    counts = {s: 0 for s in STATUS_RANK}
    for rec in records(runs):
        counts[rec['status']] += 1
    out.append(f'{len(runs)} run(s): ' + ', '.join(f'{counts[s]} {s}' for s in ('ok', 'fail', 'skip', 'error')))
    return '\n'.join(out) + '\n'


# ---- command line --------------------------------------------------------
def usage_error(message):
    print(f'pvlog.py: {message}', file=sys.stderr)
    print(__doc__[__doc__.index('usage:'):].split('\n\n')[0], file=sys.stderr)
    return EXIT_USAGE


def main(argv):
    args = argv[1:]
    if args and args[0] in ('-h', '--help'):
        print(__doc__)
        return EXIT_OK
    if not args:
        return usage_error('missing command')
    cmd, args = args[0], args[1:]
    if cmd not in ('check', 'junit', 'jsonl', 'summary'):
        return usage_error(f"unknown command '{cmd}' (accepted: check, junit, jsonl, summary)")
    out_path = None
    if cmd == 'junit' and '-o' in args:
        i = args.index('-o')
        if i + 1 >= len(args):
            return usage_error('-o needs a file name')
        out_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or (args[0].startswith('-') and args[0] != '-'):
        return usage_error(f'{cmd} takes one LOG' + (' and -o FILE' if cmd == 'junit' else ''))
    try:
        runs = parse(read_log(args[0]))
    except OSError as e:
        print(f'pvlog.py: cannot read {args[0]}: {e.strerror}', file=sys.stderr)
        return EXIT_USAGE
    if cmd == 'check':
        bad = 0
        for run in runs:
            for p in run.problems:
                where = f'run {run.index + 1}: ' if len(runs) > 1 else ''
                print(f'pvlog: {where}{p}', file=sys.stderr)
                bad += 1
        return EXIT_PROBLEMS if bad else EXIT_OK
    if cmd == 'junit':
        text = junit(runs)
        if out_path is None:
            sys.stdout.write(text)
        else:
            try:
                with open(out_path, 'w', encoding='utf-8') as f:
                    f.write(text)
            except OSError as e:
                print(f'pvlog.py: cannot write {out_path}: {e.strerror}', file=sys.stderr)
                return EXIT_USAGE
    elif cmd == 'jsonl':
        for rec in records(runs):
            print(json.dumps(rec, separators=(',', ':')))
    else:
        sys.stdout.write(summary(runs))
    return EXIT_OK


if __name__ == '__main__':
    sys.exit(main(sys.argv))
