#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# results.py: the results of a pvspin LAVA job, read from the dispatcher's log, and pvspin's exit status for them.
"""lava-run writes its log to stdout, one record a line:
`{"dt": ..., "lvl": ..., "msg": ...}` (`lavacli jobs logs --raw` gives the
same records as a YAML list, each line starting `- `). Test results are the
records with `"lvl": "results"`; the dispatcher's own (definition `lava`)
say whether the job itself completed.

    run = read(text)          # Run: .cases, .exit_status, .job, .timed_out,
                              # .console (the guest's serial lines: pvlog.parse
                              # reads its "# result:" JSON)
    run.status()              # pvspin's exit status for the job
    print(run.ktap(), end="") # the results as a KTAP document

The status follows run-qemu.sh: the guest's EXIT status, carried by the
case `exit` (its measurement; docs/output.md); 1 if it says 0 but a case
failed; without an `exit` case 124 when a timeout stopped the job, 3 when
the guest had started its KTAP document (it stopped without a verdict),
else 125 (the job never got QEMU running).

As a program: tools/lava/results.py LOG  (prints the KTAP document, exits
with the status).
"""
import dataclasses
import json
import re
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from lava.job import EXIT_CASE, EXIT_MONITOR, KTAP_MONITOR     # noqa: E402
from pvspin import status                                      # noqa: E402

# A record's YAML tags (lava-run's `"size": ! "594432"`, lavacli's
# `!!int "3"`) are what mostly keeps it from being JSON; a record JSON
# still cannot read (a YAML-only escape) is read by PyYAML where it exists.
_TAG = re.compile(r'(?<=[\s\[{,:])!(?:!\w+)? (?=")')
_TIMEOUT = re.compile(r"\btimed out\b|\bTimeout\b")


@dataclasses.dataclass
class Case:
    definition: str     # the monitor's name (KTAP_MONITOR, EXIT_MONITOR)
    case: str           # LAVA's case name: the KTAP name lowered, \W+ as _
    name: str           # the name as the guest printed it
    result: str         # pass, fail, skip or unknown
    measurement: str = None


@dataclasses.dataclass
class Run:
    cases: list                     # Case, in the order recorded
    job: dict                       # the dispatcher's `job` result (result, error_type, error_msg)
    timed_out: bool                 # a timeout stopped an action
    ktap_started: bool              # the guest printed "KTAP version 1"
    exit_status: int = None         # the `exit` case's status
    console: list = dataclasses.field(default_factory=list)   # the guest's lines, in order

    def status(self):
        if self.exit_status is not None:
            if self.exit_status == status.PASS and any(c.result == "fail" for c in self.cases):
                return status.TEST_FAILURE
            return self.exit_status
        if self.timed_out:
            return status.TIMEOUT
        if self.ktap_started:
            return status.GUEST_CRASH
        return status.NO_VMM

    def why_no_exit(self):
        if self.timed_out:
            return "no EXIT line: the job timed out"
        if self.ktap_started:
            return "no EXIT line: the guest stopped without a verdict"
        return "no EXIT line: the guest never ran"

    def ktap(self):
        """The cases as KTAP: the guest's, then `exit` (always present)."""
        rows = [c for c in self.cases if c.definition == KTAP_MONITOR]
        lines = []
        for n, c in enumerate(rows, 1):
            if c.result == "skip":
                lines.append(f"ok {n} {c.case} # SKIP")
            else:
                lines.append(f"{'ok' if c.result == 'pass' else 'not ok'} {n} {c.case}")
        n = len(rows) + 1
        if self.exit_status is None:
            lines.append(f"not ok {n} {EXIT_CASE} # {self.why_no_exit()}")
        else:
            ok = "ok" if self.exit_status == status.PASS else "not ok"
            lines.append(f"{ok} {n} {EXIT_CASE} # STATUS={self.exit_status}")
        if self.job.get("result") not in (None, "pass"):
            lines.append(f"# lava: job {self.job.get('result')}: {self.job.get('error_type', '')}: "
                         f"{self.job.get('error_msg', '')}")
        return "KTAP version 1\n" + f"1..{n}\n" + "".join(line + "\n" for line in lines)


def records(text):
    """The log's records (dicts), in order; lines that are none are skipped."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            line = line[2:]
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(_TAG.sub("", line))
        except ValueError:
            rec = _yaml(line)
        if isinstance(rec, dict) and "lvl" in rec:
            yield rec


def _yaml(line):
    try:
        import yaml
        return yaml.safe_load(line)
    except Exception:           # no PyYAML, or not a record: skipped
        return None


# The dispatcher writes every console line with '"' escaped as '\"'
# (lava_dispatcher/shell.py escapes double quotes for YAML); the escape only
# ever inserts a backslash before a quote, so removing those gives the
# guest's line back.
ESCAPED_QUOTE = '\\"'


def unescape(line):
    return line.replace(ESCAPED_QUOTE, '"')


def read(text):
    """The Run recorded in a dispatcher log (TEXT); its console lines as the
    guest printed them."""
    cases, job, timed_out, ktap_started, console = [], {}, False, False, []
    exit_status = None
    for rec in records(text):
        lvl, msg = rec["lvl"], rec.get("msg")
        if lvl == "target" and isinstance(msg, str):
            msg = unescape(msg)
            console.append(msg)
            ktap_started = ktap_started or "KTAP version 1" in msg
        if lvl in ("error", "exception") and isinstance(msg, str) and _TIMEOUT.search(msg):
            timed_out = True
        if lvl != "results" or not isinstance(msg, dict):
            continue
        if msg.get("definition") == "lava":
            if msg.get("case") == "job":
                job = msg
            continue
        extra = msg.get("extra") or {}
        case = Case(definition=msg.get("definition", ""), case=str(msg.get("case", "")),
                    name=str(extra.get("test_case_id", msg.get("case", ""))),
                    result=msg.get("result", "unknown"), measurement=msg.get("measurement"))
        cases.append(case)
        if case.definition == EXIT_MONITOR and case.case == EXIT_CASE:
            try:
                exit_status = int(float(case.measurement))
            except (TypeError, ValueError):
                exit_status = None
    return Run(cases=cases, job=job, timed_out=timed_out, ktap_started=ktap_started,
               exit_status=exit_status, console=console)


def read_dir(directory):
    """The Run of an output directory of tools/lava/run-local.sh (its
    lava-run.log)."""
    return read((Path(directory) / "lava-run.log").read_text(errors="replace"))


def main(argv):
    if len(argv) != 1:
        print("usage: tools/lava/results.py LOG", file=sys.stderr)
        return status.BAD_INPUT
    try:
        run = read(Path(argv[0]).read_text(errors="replace"))
    except OSError as e:
        print(f"results.py: {e}", file=sys.stderr)
        return status.BAD_INPUT
    sys.stdout.write(run.ktap())
    return run.status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
