# SPDX-License-Identifier: MIT
# importlava.py: LAVA job logs of a --lava-jobs matrix turned back into a run directory (matrix.py import-lava).
"""matrix.py import-lava -o OUT [--manifest FILE] [--device NAME] SOURCE...

A SOURCE is the --lava-jobs directory (its manifest.json, and any logs put
in it), a directory of tools/lava/run-local.sh --output-dir (its
lava-run.log and job.yaml), or a log file (`lavacli jobs logs --raw ID`,
or lava-run's own), and a directory is searched for both kinds. Each log
is matched to one job of the manifest: by its job.yaml (a run-local
directory), else by its name (NAME.log or a directory NAME, for the job
NAME.yaml), else by the guest command line and vCPU count the log shows.

OUT then holds what a run of the matrix leaves: logs/NAME.log (the guest's
serial lines from the log), logs/NAME.err (the dispatcher's errors, where
the log came from), matrix.json, results.jsonl (records.make_records) and
every report, so `matrix.py report OUT` works on it. Jobs without a log
are runs not started. Each record's env describes the worker as far as
its log does (LAVA device, QEMU version, the guest's `# cpu:` and `# tsc:`
lines); matrix.json's env joins them.

Bad input (status 2): no manifest, a log that matches no job or the same
job as another, a file that is no LAVA log, OUT not new or empty.
"""
import datetime
import json
import re
import shlex
from pathlib import Path

from lava import results as lava_results

from . import report
from .cli import Parser
from .common import EXIT_OK, PROG, UsageError, die_usage, warn
from .env import HOST_ENV_KEYS, gnuplot_png_terminal
from .lavajobs import JOB_SUFFIX, MANIFEST, MANIFEST_KIND
from .results import explain_failures, make_records
from .runs import plan_runs
from .store import Bench, options_from_json, save
from .variants import plan_variants

RUN_LOCAL_LOG = "lava-run.log"      # tools/lava/run_local.py's names in its --output-dir
RUN_LOCAL_JOB = "job.yaml"
RUN_LOCAL_DEVICE = "run-local (tools/lava/run-local.sh, the in-tree qemu device)"
UNKNOWN_DEVICE = "unknown (a LAVA log does not name its device; give --device)"
NOT_IN_LOG = "unknown (not in a LAVA job's log)"
QEMU_RE = re.compile(r"^qemu-system-\S+, installed at version: ([^,]+)")
BOOT_RE = re.compile(r'^# boot: .*\bcmdline="\S+ ?(.*)"\s*$')
SMP_RE = re.compile(r"^# smp: \d+ of (\d+) CPUs")
CPU_PREFIX, TSC_PREFIX = "# cpu: ", "# tsc: "


class Log:
    """One job's log as the importer needs it."""

    def __init__(self, path, text, job_text, device):
        self.path, self.job_text, self.device = path, job_text, device
        self.records = list(lava_results.records(text))
        if not self.records:
            raise UsageError(f"import-lava: {path}: not a LAVA job log (no dispatcher records)")
        self.run = lava_results.read(text)
        self.console = self.run.console
        self.qemu = next((m.group(1) for r in self.records if isinstance(r.get("msg"), str)
                          for m in [QEMU_RE.match(r["msg"])] if m), None)
        self.cpu = self.line_after(CPU_PREFIX)
        self.tsc = self.line_after(TSC_PREFIX)
        self.cmdline = next((m.group(1).split() for l in self.console
                             for m in [BOOT_RE.match(l)] if m), None)
        self.smp = next((int(m.group(1)) for l in self.console for m in [SMP_RE.match(l)] if m), None)

    def line_after(self, prefix):
        return next((l[len(prefix):].strip() for l in self.console if l.startswith(prefix)), None)

    def times(self):
        """(first, last) of the records' dates (UTC), or None."""
        dates = []
        for r in (self.records[0], self.records[-1]):
            try:
                dates.append(datetime.datetime.fromisoformat(str(r.get("dt"))).replace(
                    tzinfo=datetime.timezone.utc))
            except ValueError:
                return None
        return dates

    def errors(self):
        return [r["msg"] for r in self.records
                if r["lvl"] in ("error", "exception") and isinstance(r.get("msg"), str)]

    def host(self):
        """The worker as this log describes it (a record's env, beside host_env's keys)."""
        return {"lava_device": self.device, "qemu_version": self.qemu or NOT_IN_LOG,
                "guest_cpu": self.cpu or NOT_IN_LOG, "guest_tsc": self.tsc or NOT_IN_LOG,
                "lava_log": str(self.path)}


def read_text(path):
    try:
        return path.read_text(errors="replace")
    except OSError as e:
        raise UsageError(f"import-lava: {path}: {e.strerror}") from None


def find_logs(source, device):
    """(Log, name) of every log under SOURCE; name is the file's stem or the run-local directory's."""
    if source.is_file():
        return [(Log(source, read_text(source), None, device), source.stem)]
    if not source.is_dir():
        raise UsageError(f"import-lava: '{source}': no such file or directory")
    found = []
    for log in sorted(source.rglob(RUN_LOCAL_LOG)):
        job = log.parent / RUN_LOCAL_JOB
        job_text = read_text(job) if job.is_file() else None
        found.append((Log(log, read_text(log), job_text, RUN_LOCAL_DEVICE), log.parent.name))
    for log in sorted(source.rglob("*.log")):
        if log.name != RUN_LOCAL_LOG:
            found.append((Log(log, read_text(log), None, device), log.stem))
    return found


def load_manifest(path):
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise UsageError(f"import-lava: {path}: not JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND or not isinstance(doc.get("jobs"), list):
        raise UsageError(f"import-lava: {path}: not a manifest of matrix.py --lava-jobs")
    return doc


def match(log, name, entries, job_texts):
    """The manifest entry LOG is the log of, or None."""
    if log.job_text is not None:
        same = [e for e in entries if job_texts.get(e["job"]) == log.job_text]
        if same:
            return same[0]
    by_name = [e for e in entries if Path(e["job"]).stem == name]
    if by_name:
        return by_name[0]
    if log.cmdline is not None:
        shown = [e for e in entries if e["guest_options"] == log.cmdline
                 and (log.smp is None or e["smp"] == log.smp)]
        if len(shown) == 1:
            return shown[0]
    return None


def assign(logs, manifest, jobs_dir):
    """{job file name: Log}; UsageError for a log of no job, or two logs of one."""
    entries = manifest["jobs"]
    job_texts = {}
    if jobs_dir is not None:
        for e in entries:
            path = jobs_dir / e["job"]
            if path.is_file():
                job_texts[e["job"]] = read_text(path)
    assigned = {}
    for log, name in logs:
        entry = match(log, name, entries, job_texts)
        if entry is None:
            raise UsageError(f"import-lava: {log.path}: matches no job of the manifest (not its "
                             "job.yaml, not named after a job, and no guest command line "
                             f"{'and vCPU count ' if log.cmdline else ''}of one)")
        other = assigned.get(entry["job"])
        if other is not None:
            raise UsageError(f"import-lava: {log.path} and {other.path} are both logs of "
                             f"{entry['job']}; give one")
        assigned[entry["job"]] = log
    return assigned


def joined(values):
    """One value, or 'several: a; b' when the workers differ."""
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else "several: " + "; ".join(distinct)


def import_env(opts, logs, guest_revision):
    hosts = [log.host() for log in logs]
    return {
        "qemu_version": joined(h["qemu_version"] for h in hosts),
        "host_cpu_model": "as the guest saw it: " + joined(h["guest_cpu"] for h in hosts),
        "host_cpus_online": NOT_IN_LOG, "host_cpus_online_list": NOT_IN_LOG, "host_smt": NOT_IN_LOG,
        "host_kernel": NOT_IN_LOG, "host_scheduler": NOT_IN_LOG, "host_slice": NOT_IN_LOG,
        "host_cgroup": "not used",
        "vcpu_pinning": "none: a LAVA worker's QEMU is not pinned (the config's cpuset names it only)",
        "guest_revision": guest_revision,
        "slice_ns": opts.slice_ns, "slice_source": "default: a LAVA worker's scheduler is not in its log",
        "lava_devices": list(dict.fromkeys(h["lava_device"] for h in hosts)),
        "guest_tsc": joined(h["guest_tsc"] for h in hosts),
    }


def write_run_files(run, log):
    run.log.write_text("".join(line + "\n" for line in log.console))
    notes = [f"{PROG}: imported from {log.path}"] + [f"lava: {m}" for m in log.errors()]
    if log.run.exit_status is None:
        notes.append(f"{PROG}: {log.run.why_no_exit()}")
    run.err.write_text("".join(line + "\n" for line in notes))


def import_runs(out, sources, manifest_path, device, command):
    """Build OUT from the logs in SOURCES; the Bench stored. UsageError for bad input."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"import-lava -o '{out}': exists and is not an empty directory")
    if manifest_path is None:
        manifest_path = next((s / MANIFEST for s in sources if (s / MANIFEST).is_file()), None)
    if manifest_path is None:
        raise UsageError("import-lava: no manifest.json among the SOURCEs; give the --lava-jobs "
                         "directory as a SOURCE or --manifest FILE")
    manifest = load_manifest(manifest_path)
    logs = [found for s in sources for found in find_logs(s, device or UNKNOWN_DEVICE)]
    if not logs:
        raise UsageError(f"import-lava: no LAVA log in {', '.join(map(str, sources))}")
    assigned = assign(logs, manifest, manifest_path.parent)
    try:
        opts = options_from_json(manifest["options"], out, plot=False, quiet=True)
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"import-lava: {manifest_path}: incomplete options ({e})") from None
    (out / "logs").mkdir(parents=True, exist_ok=True)
    runs = plan_runs(opts, out / "logs", plan_variants(opts.shapes, opts.peer, opts.peer_lock))
    by_job = {run.name + JOB_SUFFIX: run for run in runs}
    accel = "kvm" if opts.accel == "kvm" else "tcg"     # a job's auto is TCG (tools/lava/job.py)
    ends = []
    for job, log in assigned.items():
        run = by_job[job]
        write_run_files(run, log)
        run.status, run.accel = log.run.status(), accel
        times = log.times()
        if times:
            run.seconds = (times[1] - times[0]).total_seconds()
            ends.append(times[1])
    explain_failures(runs)
    env = import_env(opts, assigned.values(), manifest.get("guest_revision", NOT_IN_LOG))
    records = make_records(opts, env, runs)
    hosts = {run.name: assigned[job].host() for job, run in by_job.items() if job in assigned}
    for record in records:
        host = hosts[Path(record["log"]).stem]
        record["qemu_version"], record["host_cpu_model"] = host["qemu_version"], host["guest_cpu"]
        record["env"] = {**{k: env.get(k) for k in HOST_ENV_KEYS}, **host, "accel": accel}
    date = max(ends).isoformat(timespec="seconds") if ends else manifest.get("date", "")
    bench = Bench(opts, env, command, date, None, runs, records)
    save(bench)
    return bench


def build_parser():
    p = Parser(prog="tools/bench/matrix.py import-lava",
               description="Turn the LAVA job logs of a matrix.py --lava-jobs directory back\n"
                           "into a run directory (matrix.json, results.jsonl, the reports).",
               epilog="SOURCE: the --lava-jobs directory (manifest.json, and logs put in it),\n"
                      "a tools/lava/run-local.sh --output-dir, or a log file (lavacli jobs logs\n"
                      "--raw ID > NAME.log, NAME the job's file name without .yaml).\n"
                      "exit status: 0 imported, 2 bad input. docs/lava.md has the details.")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("-o", "--out", required=True, metavar="OUT",
                   help="the run directory to write, new or empty")
    p.add_argument("--manifest", metavar="FILE", help="manifest.json of the jobs (default: the "
                                                      "one in a SOURCE directory)")
    p.add_argument("--device", metavar="NAME", help="the LAVA device that ran the logs given "
                                                    "as files (their logs do not say)")
    p.add_argument("--no-plot", action="store_true", help="no gnuplot plots")
    return p


def parse(argv):
    a = build_parser().parse_args(argv)
    for name, value in (("-o", a.out), ("--manifest", a.manifest), ("--device", a.device)):
        if value == "":
            raise UsageError(f"import-lava {name}: an empty value")
    return a


def command_line(argv):
    return ["tools/bench/matrix.py", "import-lava", *argv]


def describe(bench):
    """One line for the person who imported."""
    started = [r for r in bench.runs if r.status is not None]
    return (f"imported {len(started)} of {len(bench.runs)} job(s) into {bench.opts.out} "
            f"({len(bench.records)} record(s)); " + shlex.join(["tools/bench/matrix.py", "report",
                                                               str(bench.opts.out)])
            + " rebuilds its reports")


def main(argv):
    """The import-lava subcommand: status 0 imported (whatever the runs' outcome), 2 bad input."""
    try:
        a = parse(argv)
        bench = import_runs(Path(a.out).resolve(), [Path(s).resolve() for s in a.sources],
                            Path(a.manifest).resolve() if a.manifest else None, a.device,
                            command_line(argv))
    except UsageError as e:
        die_usage(str(e))
    png_terminal = None if a.no_plot else gnuplot_png_terminal()
    if not a.no_plot and png_terminal is None:
        report.warn_no_gnuplot()
    summary, written = report.rebuild(bench.opts.out, not a.no_plot, png_terminal)
    out = bench.opts.out
    report.print_outcome(summary, [out / "results.jsonl", out / "matrix.json", *written, out / "logs"])
    warn(describe(bench))
    return EXIT_OK
