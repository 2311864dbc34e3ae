# SPDX-License-Identifier: MIT
# merge.py: result sets from several hosts or kernels in one report, the set as a dimension (matrix.py merge).
"""matrix.py merge -o OUT [--label DIR=NAME | --label NAME]... DIR...

Each DIR is a run directory (a run's --out, or import-lava's); each is one
set, named by its label (`--label DIR=NAME`, or one `--label NAME` per DIR
in order; default the directory's name) and described by its host (CPU
model, or the LAVA devices), kernel, QEMU and guest revision.

OUT gets every record of every set, each naming its set (`set`,
`set_host`, `set_kernel`): results.jsonl and results.csv; merge.json (the
sets and the command); merged.md: the sets described, then per lock one
table, a row per configuration and a column per set (median throughput
[min-max], ok/total). Status 0 written, 2 bad input.
"""
import csv
import json
import shlex
import sys
from pathlib import Path

from pvspin.stats import median

from .cli import Parser
from .common import EXIT_OK, UsageError, die_usage
from .results import CSV_FIELDS
from .stats import build_cells, fmt_rate, ordered_configs
from .store import RESULTS_JSONL, StoreError, load
from .summary import md_table
from .variants import all_series

MERGE_JSON = "merge.json"
MERGED_MD = "merged.md"
FORMAT = 1
SET_FIELDS = ("set", "set_host", "set_kernel")


def parse_labels(items, dirs):
    """{dir: label}: DIR=NAME items, or one NAME per DIR in order, or the directories' names."""
    plain = [i for i in items if "=" not in i]
    named = [i for i in items if "=" in i]
    if plain and named:
        raise UsageError("merge --label: give either DIR=NAME items or one NAME per DIR, not both")
    if plain and len(plain) != len(dirs):
        raise UsageError(f"merge --label: {len(plain)} NAME(s) for {len(dirs)} DIR(s); give one per "
                         "DIR, in order, or DIR=NAME")
    labels = {d: (plain[i] if plain else d.name) for i, d in enumerate(dirs)}
    for item in named:
        text, name = item.rsplit("=", 1)
        path = Path(text).resolve()
        if path not in labels:
            raise UsageError(f"merge --label '{item}': {text} is not one of the DIRs")
        labels[path] = name
    for name in labels.values():
        if not name.strip() or any(ch in name for ch in "|\n"):
            raise UsageError(f"merge --label '{name}': accepted: a non-empty name without '|' or a newline")
    seen = {}
    for d, name in labels.items():
        if name in seen:
            raise UsageError(f"merge: {seen[name]} and {d} would both be set '{name}'; name them "
                             "with --label")
        seen[name] = d
    return labels


def set_host(bench):
    env = bench.env
    devices = env.get("lava_devices")
    host = str(env.get("host_cpu_model"))
    return f"LAVA {', '.join(devices)}; {host}" if devices else host


def describe_set(label, bench):
    env = bench.env
    return {"label": label, "dir": str(bench.opts.out), "host": set_host(bench),
            "kernel": str(env.get("host_kernel")), "qemu": str(env.get("qemu_version")),
            "guest": str(env.get("guest_revision")), "date": bench.date,
            "accel": sorted({r["accel"] for r in bench.records if r.get("accel")}),
            "records": len(bench.records)}


def merged_records(sets):
    out = []
    for desc, bench in sets:
        for record in bench.records:
            out.append({**record, "set": desc["label"], "set_host": desc["host"],
                        "set_kernel": desc["kernel"]})
    return out


def cell_text(cell):
    if cell is None:
        return "-"
    if not cell.tput:
        return f"- ({cell.ok}/{cell.total})"
    return (f"{fmt_rate(median(cell.tput))} [{fmt_rate(min(cell.tput))}-{fmt_rate(max(cell.tput))}]"
            f" ({cell.ok}/{cell.total})")


def merged_text(sets, command):
    lines = ["# pvspin benchmark sets merged", "", f"- command: `{shlex.join(command)}`", "",
             "## Sets", ""]
    lines += md_table(("set", "host", "kernel", "QEMU", "guest", "date", "records"),
                      [(d["label"], d["host"], d["kernel"], d["qemu"], d["guest"], d["date"],
                        d["records"]) for d, _ in sets])
    lines += ["", "## Throughput per lock", "",
              "Median acquisitions/s of the ok results [min-max] (ok/total) per set; "
              "`-`: the set has no such run.", ""]
    cells = [build_cells(bench.records) for _, bench in sets]
    configs = {}
    series = []
    for _, bench in sets:
        for c in bench.opts.configs:
            configs.setdefault(c.label, c)
        series += all_series(bench.opts)
    series = list(dict.fromkeys(series + [s for cs in cells for _, s in cs]))
    ordered = [c.label for c in ordered_configs(list(configs.values()))]
    for s in series:
        rows = [[label] + [cell_text(cs.get((label, s))) for cs in cells] for label in ordered
                if any((label, s) in cs for cs in cells)]
        if rows:
            lines += [f"### {s}", ""]
            lines += md_table(["config"] + [d["label"] for d, _ in sets], rows)
            lines.append("")
    return "\n".join(lines)


def write_merge(out, sets, command):
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"merge -o '{out}': exists and is not an empty directory")
    out.mkdir(parents=True, exist_ok=True)
    records = merged_records(sets)
    with open(out / RESULTS_JSONL, "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=SET_FIELDS + CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    doc = {"format": FORMAT, "command": command, "sets": [d for d, _ in sets]}
    (out / MERGE_JSON).write_text(json.dumps(doc, indent=1) + "\n")
    text = merged_text(sets, command)
    (out / MERGED_MD).write_text(text)
    return text, [out / name for name in (MERGED_MD, RESULTS_JSONL, "results.csv", MERGE_JSON)]


def build_parser():
    p = Parser(prog="tools/bench/matrix.py merge",
               description="Merge run directories from several hosts or kernels into one\n"
                           "report, the set (label, host, kernel) as a dimension.",
               epilog="exit status: 0 written, 2 bad input. docs/bench.md \"Merging and comparing\".")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run directories, one set each")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output directory, new or empty")
    p.add_argument("--label", action="append", default=[], metavar="DIR=NAME|NAME",
                   help="a set's name (default: its directory's name)")
    return p


def main(argv):
    a = build_parser().parse_args(argv)
    try:
        if not a.out:
            raise UsageError("merge -o: an empty value")
        dirs = [Path(d).resolve() for d in a.dirs]
        if len(set(dirs)) != len(dirs):
            raise UsageError("merge: a DIR given twice")
        labels = parse_labels(a.label, dirs)
        sets = []
        for d in dirs:
            bench = load(d, plot=False, quiet=True)
            sets.append((describe_set(labels[d], bench), bench))
        text, written = write_merge(Path(a.out).resolve(), sets,
                                    ["tools/bench/matrix.py", "merge", *argv])
    except (UsageError, StoreError) as e:
        die_usage(f"merge: {e}")
    sys.stdout.write(text)
    print("written:")
    for path in written:
        print(f"  {path}")
    return EXIT_OK
