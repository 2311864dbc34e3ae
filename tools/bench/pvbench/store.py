# SPDX-License-Identifier: MIT
# store.py: matrix.json and results.jsonl, the run directory's own record.
"""What a finished run leaves for its reports, and reading it back.

save(bench) writes DIR/matrix.json (options, environment, command, date,
L1, every planned VM run with its status) and DIR/results.jsonl (one record
per lock per started run). load(DIR) reads both back into a Bench, or raises
StoreError saying what is wrong. The reports are built from a loaded Bench
only, never from the logs, so rebuilding them gives the same files.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from .cli import Options
from .common import relative
from .config import Config
from .runs import Run
from .variants import DEFAULT_SHAPE, LINUX, variant_from_json

MATRIX_JSON = "matrix.json"
RESULTS_JSONL = "results.jsonl"
FORMAT = 1
# Options kept in matrix.json (configs and run_qemu are converted).
OPTION_FIELDS = ("locks", "reps", "duration_ms", "warmup_ms", "hold_ns", "think_ns", "pv",
                 "guest", "accel", "l1_smp", "pin_vcpus", "seed", "stall_mechanism", "timeout", "slice_ns",
                 "slice_source", "shapes", "peer", "peer_lock", "long_hold_ms", "hypervisor_bit",
                 "peer_timeout", "l1_params")
DEFAULT_SEED = 1                # a matrix.json written before --seed
# What a matrix.json written before the Linux peer and the shapes ran.
OPTION_DEFAULTS = {"seed": DEFAULT_SEED, "stall_mechanism": "auto", "shapes": [DEFAULT_SHAPE],
                   "peer": "", "peer_lock": "", "long_hold_ms": 0, "hypervisor_bit": "on",
                   "l1_params": []}
# The environment the summary shows (env.gather_env()).
ENV_KEYS = ("qemu_version", "host_cpu_model", "host_cpus_online", "host_kernel",
            "guest_revision", "slice_source")
RECORD_STATUSES = ("ok", "not ok", "missing")
# The numbers the statistics take from an ok record.
OK_RECORD_NUMBERS = ("throughput_per_s", "fairness", "latency_p50_ns", "latency_p99_ns",
                     "latency_p999_ns")
# The Linux peer measures no fairness (no per-writer counts) and no latency.
OK_PEER_RECORD_NUMBERS = ("throughput_per_s",)


class StoreError(Exception):
    """A run directory the reports cannot be built from."""


@dataclass
class Bench:
    """A run as the reports see it; opts.out is its directory."""
    opts: Options
    env: dict
    command: list
    date: str
    l1: dict
    runs: list
    records: list


def run_to_json(run, out):
    return {"config": run.config.label, "rep": run.rep, "vm": run.vm, "status": run.status,
            "seconds": run.seconds, "accel": run.accel, "reason": run.reason,
            "log": relative(run.log, out), "err": relative(run.err, out),
            "variant": run.variant.to_json()}


def options_json(opts):
    """matrix.json's "options": OPTION_FIELDS, the configs and run_qemu."""
    options = {name: getattr(opts, name) for name in OPTION_FIELDS}
    options["configs"] = [{"vcpus": c.vcpus, "cpus": list(c.cpus), "vms": c.vms,
                           "interference": c.interference, "sched": c.sched} for c in opts.configs]
    options["run_qemu"] = str(opts.run_qemu)
    return options


def options_from_json(doc, out, plot, quiet):
    """Options from options_json()'s object (older ones get OPTION_DEFAULTS,
    and configs without "sched" Xen's default); KeyError, TypeError or
    ValueError when it is incomplete."""
    options = dict(doc)
    configs = [Config(c["vcpus"], tuple(c["cpus"]), c["vms"], c.get("interference", ""),
                      c.get("sched", ""))
               for c in options.pop("configs")]
    for name, value in OPTION_DEFAULTS.items():
        options.setdefault(name, value)
    options.setdefault("peer_timeout", options["timeout"])
    options["l1_params"] = tuple(options["l1_params"])
    run_qemu = Path(options.pop("run_qemu"))
    return Options(**options, configs=configs, run_qemu=run_qemu, out=out,
                   default_out=False, plot=plot, quiet=quiet)


def save(bench):
    opts, out = bench.opts, bench.opts.out
    options = options_json(opts)
    doc = {"format": FORMAT, "date": bench.date, "command": bench.command, "options": options,
           "env": bench.env, "l1": bench.l1, "runs": [run_to_json(r, out) for r in bench.runs]}
    (out / MATRIX_JSON).write_text(json.dumps(doc, indent=1) + "\n")
    with open(out / RESULTS_JSONL, "w") as f:
        for record in bench.records:
            f.write(json.dumps(record) + "\n")


def read_json_file(path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file (matrix.py writes it when a run ends)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StoreError(f"{path}: cannot read it: {e}") from None
    except json.JSONDecodeError as e:
        raise StoreError(f"{path}: not JSON: {e}") from None


def load_matrix(out, plot, quiet):
    """(Options, the rest of matrix.json) from DIR/matrix.json."""
    path = out / MATRIX_JSON
    doc = read_json_file(path)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreError(f"{path}: not a matrix.json of format {FORMAT}")
    try:
        opts = options_from_json(doc["options"], out, plot, quiet)
        by_label = {c.label: c for c in opts.configs}
        runs = [Run(by_label[r["config"]], r["rep"], r["vm"], out / r["log"], out / r["err"],
                    r["status"], r["seconds"], r["accel"], r["reason"],
                    variant=variant_from_json(r.get("variant"))) for r in doc["runs"]]
        env = doc["env"]
        missing = [key for key in ENV_KEYS if key not in env]
        if missing:
            raise KeyError(f"env.{missing[0]}")
        return opts, runs, env, list(doc["command"]), str(doc["date"]), doc["l1"]
    except (KeyError, TypeError, ValueError) as e:
        raise StoreError(f"{path}: incomplete or malformed ({type(e).__name__}: {e})") from None


def check_record(record, labels):
    """Why RECORD cannot be reported, or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("config") not in labels:
        return f"config {record.get('config')!r} is not one of matrix.json's configs"
    if not isinstance(record.get("lock"), str):
        return "no lock"
    if record.get("status") not in RECORD_STATUSES:
        return f"status {record.get('status')!r}; accepted: {', '.join(RECORD_STATUSES)}"
    if record["status"] == "ok":
        needed = OK_PEER_RECORD_NUMBERS if record.get("guest") == LINUX else OK_RECORD_NUMBERS
        for key in needed:
            value = record.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"an ok record without a number in {key}"
    return None


def load_records(out, labels):
    path = out / RESULTS_JSONL
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file (matrix.py writes it when a run ends)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise StoreError(f"{path}: cannot read it: {e}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise StoreError(f"{path} line {number}: not JSON: {e}") from None
        why = check_record(record, labels)
        if why:
            raise StoreError(f"{path} line {number}: {why}")
        records.append(record)
    return records


def load(out, plot=True, quiet=False):
    """The Bench stored in directory OUT (a Path); StoreError if it cannot be."""
    if not out.is_dir():
        raise StoreError(f"'{out}': no such directory")
    opts, runs, env, command, date, l1 = load_matrix(out, plot, quiet)
    records = load_records(out, {c.label for c in opts.configs})
    return Bench(opts, env, command, date, l1, runs, records)
