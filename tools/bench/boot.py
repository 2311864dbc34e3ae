#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# boot.py: make bench-boot: pvspin's whole-process boot time beside QEMU's floor, with where the time goes.
"""make bench-boot: how long pvspin takes from QEMU's start to its exit,
beside QEMU's floor (a guest that prints a line and exits at once), the
SMP floor (a guest that takes every AP to long mode, then exits: the
least that starting the APs costs a guest) and, with --kut FILE (or KUT=FILE),
kvm-unit-tests' smptest, interleaved per vCPU count on the same QEMU options
(TCG, q35 + qboot, as run-qemu.sh). Above 1 vCPU, pvspin boots a second
time with max_cpus=1: its boot CPU's whole path with no AP started, which
splits pvspin - floor into its boot CPU's share and its APs'.

The targets (TARGET_* below: a difference up to some vCPUs, a ratio
above) are each judged on the Hodges-Lehmann estimate of pvspin - floor
(or pvspin / floor) and its 95% Mann-Whitney interval
(tools/pvspin/stats.py): met when the whole interval is within the
target, missed when none of it is, else not decided; too few repetitions
(stats.min_per_side) give no interval and no verdict.

usage: tools/bench/boot.py [--reps N] [--smp LIST] [--out DIR] [--kut FILE]

Every boot is timed from the host: the QEMU process's spawn, each serial
line as it arrives (the pipe read every 0.5 ms, not waited on: a reader
woken by each byte slows QEMU's writes), and the process's end. A boot's
time splits into
  start    spawn -> the first serial byte (QEMU, firmware, image load, and
           the guest up to its first line)
  run      first byte -> the last result line (pvspin: its boot phases and
           test=smp; the floors and kut: their whole run)
  exit     the last result line -> the process's end (the guest's exit
           path, QEMU's teardown)
and pvspin's own boot_phases_us (guest clock) is shown beside them, and
the host CPU time the QEMU process used (user + system, all its threads):
on a host shared with other work the wall times spread widely, the CPU
time much less, so it shows what a change saved.

Unit costs, measured in the same interleaving: the floor with more code
blocks, more bytes of serial output and more image (tools/pvspin/floors.py
UNITS) give what one block, one byte and one KiB of image cost on this
host today (its shift against the floor and its 95% interval, in run for
the blocks and the bytes, in start for the image, over the count; the
image's at the run's fewest vCPUs for every count). One untimed boot of
pvspin and of the floor under -d in_asm counts the blocks each
translates; pvspin's bytes and image size over the floor's, times those
costs, are the part of pvspin - floor they explain; the rest is
everything else (the guest's waits, device I/O, its APs).
Repetitions: --reps N (default DEFAULT_REPS_* below).
Writes DIR/results.md (tables, the machine named) and DIR/results.jsonl (one object per vCPU
count, its fields in docs/bench.md; DIR defaults to build/bench-boot).
Status: 0 done, 1 a guest failed, 2 bad input.
"""
import argparse
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import facts, floors, hostinfo, procs, runner, stats, status  # noqa: E402

PROG = "bench/boot.py"
RUN_QEMU = REPO / "run-qemu.sh"
# What make bench-boot aims at: pvspin at most the floor + TARGET_DIFF_MS up
# to TARGET_DIFF_MAX_VCPUS, at most TARGET_RATIO times the floor above.
TARGET_DIFF_MS, TARGET_DIFF_MAX_VCPUS, TARGET_RATIO = 10.0, 8, 1.1
BSP_ONLY = "pvspin-bsp"                 # pvspin with max_cpus=1: no AP started
# Default repetitions. Up to TARGET_DIFF_MAX_VCPUS a boot takes a fraction
# of a second and the target is ms, finer than the spread of whole-process
# times (QEMU's own start): 31 boots gave 95% intervals 7-10 ms wide, 61
# about 5. Above, a boot takes a quarter of a second to seconds, and
# MANY_VCPUS and up several seconds each, eight guests a repetition.
DEFAULT_REPS_FEW, DEFAULT_REPS, DEFAULT_REPS_MANY, MANY_VCPUS = 61, 21, 4, 255
DEFAULT_SMP = "1,8,64,255"
GUEST_TIMEOUT_S = 300
# The serial pipe is read every POLL_S, never by waiting on it: QEMU writes
# the serial port one byte per write(), and a reader blocked on the pipe is
# woken for each byte, on the other CPU, which slows QEMU's writes: a cost
# of the observer, not of the guest, paid in proportion to what the guest
# prints. Times on the stream are to POLL_S.
POLL_S = 0.0005
DEBUG_EXIT_PASS = status.debug_exit(status.PASS)
SMP_FLOOR_LINE = re.compile(rb"^ok 1 floor-smp aps=(\d+)$", re.M)
RESULT_LINE = re.compile(rb"^(?:not )?ok \d+")
PHASES = re.compile(rb'"boot_phases_us":\{[^}]*"total":(\d+)')
SMP_RESULT = re.compile(rb'^# result: (\{"test":"smp",.*\})\r?$', re.M)
PT_LOAD = 1                     # ELF program header type: a loadable segment


class UsageError(Exception):
    pass


def qemu_argv(vcpus):
    """run-qemu.sh's QEMU command line for q35 + qboot under TCG (its
    --dry-run), without its timeout and its image, for every guest; and
    -no-reboot, so a guest that resets ends instead of booting again."""
    argv = [str(RUN_QEMU), "--dry-run", "--accel", "tcg", "--machine", "q35", "--firmware", "qboot",
            "--smp", str(vcpus), "--", "test=smp"]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"{PROG}: {' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    words = runner.dry_run_command(p.stdout)
    return words[:words.index("-kernel")] + ["-no-reboot"]


def guest_args(name, images, kut):
    """QEMU's arguments for guest NAME; IMAGES maps the floors' names to
    their images."""
    if name == "pvspin":
        return ["-kernel", str(REPO / "build" / "pvspin.elf"), "-append", "test=smp"]
    if name == BSP_ONLY:
        return ["-kernel", str(REPO / "build" / "pvspin.elf"), "-append", "test=smp max_cpus=1"]
    if name == "kut":
        return ["-kernel", str(kut)]
    return ["-kernel", str(images[name])]


def loaded_kib(path):
    """KiB the Multiboot loader copies into guest RAM: an ELF32's PT_LOAD
    span (memory sizes, .bss included), or a floor's a.out-kludge span,
    load_addr to bss_end_addr."""
    data = Path(path).read_bytes()
    if data[:4] == b"\x7fELF":
        phoff, = struct.unpack_from("<I", data, 28)
        phentsize, phnum = struct.unpack_from("<HH", data, 42)
        spans = [struct.unpack_from("<IIIIII", data, phoff + i * phentsize) for i in range(phnum)]
        loads = [(paddr, paddr + memsz) for typ, _off, _va, paddr, _fsz, memsz in spans if typ == PT_LOAD]
        return (max(e for _, e in loads) - min(b for b, _ in loads)) / 1024
    # mb_guest.inc's MB_HEADER opens the floors' flat images.
    magic, _flags, _check, _hdr, load, _end, bss_end, _entry = struct.unpack_from("<8I", data, 0)
    if magic != floors.MB_MAGIC:
        raise ValueError(f"{path}: neither an ELF nor a floor image (MB_HEADER first)")
    return (bss_end - load) / 1024


def count_blocks(argv):
    """Code blocks TCG translates in one boot (-d in_asm), or None if the
    boot failed."""
    with tempfile.NamedTemporaryFile(prefix="bench-boot-in_asm-") as log:
        child = procs.Group(argv + ["-d", "in_asm", "-D", log.name], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        if child.wait(GUEST_TIMEOUT_S) != DEBUG_EXIT_PASS:
            return None
        with open(log.name, "rb") as f:
            return sum(1 for line in f if line.startswith(b"IN:"))


def default_reps(n):
    """Repetitions at N vCPUs when --reps is not given."""
    if n <= TARGET_DIFF_MAX_VCPUS:
        return DEFAULT_REPS_FEW
    return DEFAULT_REPS_MANY if n >= MANY_VCPUS else DEFAULT_REPS


def children_cpu_ms():
    """CPU time (user + system) of every child reaped so far, in ms."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def timed_boot(argv):
    """Boot once; {start_ms, run_ms, exit_ms, total_ms, cpu_ms, guest_boot_ms, status, tail, out}.
    cpu_ms is the QEMU process's own: boots run one at a time, and it is the
    only child reaped in between."""
    cpu0 = children_cpu_ms()
    t0 = time.monotonic_ns()
    child = procs.Group(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fd = child.proc.stdout.fileno()
    os.set_blocking(fd, False)
    first = last_result = None
    buf = b""
    out = bytearray()
    deadline = time.monotonic() + GUEST_TIMEOUT_S
    while True:
        if time.monotonic() > deadline:
            child.stop()
            return {"status": status.TIMEOUT, "tail": out[-400:].decode(errors="replace"), "out": bytes(out)}
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(POLL_S)
            continue
        now = time.monotonic_ns()
        if not chunk:
            break
        if first is None:
            first = now
        out += chunk
        buf += chunk
        *lines, buf = buf.split(b"\n")
        if any(RESULT_LINE.match(line) for line in lines):
            last_result = now
    code = child.proc.wait()
    t_end = time.monotonic_ns()
    child.proc.stderr.read()
    first = first or t_end
    last_result = last_result or first
    phases = PHASES.search(out)
    ms = lambda a, b: (b - a) / 1e6   # noqa: E731
    return {"status": code, "start_ms": ms(t0, first), "run_ms": ms(first, last_result),
            "exit_ms": ms(last_result, t_end), "total_ms": ms(t0, t_end),
            "cpu_ms": children_cpu_ms() - cpu0,
            "guest_boot_ms": int(phases.group(1)) / 1000 if phases else None,
            "tail": out[-400:].decode(errors="replace"), "out": bytes(out)}


def failed(guest, n, r):
    """Why a boot does not count, or None: its exit status, or an SMP floor
    that did not bring all n - 1 APs."""
    if r["status"] != DEBUG_EXIT_PASS:
        return f"status {r['status']}"
    if guest == "smp-floor":
        m = SMP_FLOOR_LINE.search(r["out"])
        if not m or int(m.group(1)) != n - 1:
            return f"its line does not say aps={n - 1}"
    if guest == BSP_ONLY:
        smp = [json.loads(m.group(1)) for m in SMP_RESULT.finditer(r["out"])]
        if not smp or (smp[0].get("cpus_online"), smp[0].get("cpus_left_out")) != (1, n - 1):
            return f"its smp result does not say 1 CPU online and {n - 1} left out"
    return None


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=None, help="repetitions per vCPU count")
    p.add_argument("--smp", default=DEFAULT_SMP, help=f"vCPU counts (default {DEFAULT_SMP})")
    p.add_argument("--out", default=str(REPO / "build" / "bench-boot"), help="output directory")
    p.add_argument("--kut", default=os.environ.get("KUT") or None, help="kvm-unit-tests' x86/smptest.flat")
    try:
        a = p.parse_args(argv)
    except SystemExit as e:
        raise SystemExit(status.BAD_INPUT if e.code else 0)
    if a.reps is not None and a.reps < 1:
        raise UsageError(f"--reps {a.reps}: a number of repetitions, at least 1")
    counts = []
    for word in re.split(r"[ ,]+", a.smp.strip()):
        if not re.fullmatch(r"[1-9][0-9]*", word or "") or int(word) > facts.TCG_MAX_VCPUS:
            raise UsageError(f"--smp: {word!r} is not a vCPU count 1..{facts.TCG_MAX_VCPUS} "
                             f"(TCG stops at {facts.TCG_MAX_VCPUS})")
        counts.append(int(word))
    a.counts = counts
    if a.kut and not os.access(a.kut, os.R_OK):
        raise UsageError(f"--kut {a.kut!r}: no such readable file (kvm-unit-tests' x86/smptest.flat)")
    return a


def main(argv):
    try:
        a = parse_args(argv)
    except UsageError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return status.BAD_INPUT
    if subprocess.run(["make", "-s", "all"], cwd=REPO, stdout=subprocess.DEVNULL).returncode:
        print(f"{PROG}: the build failed", file=sys.stderr)
        return status.TEST_FAILURE
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    images = {"floor": floors.assemble(floors.TINY, out / "tiny.elf"),
              "smp-floor": floors.assemble(floors.SMP_FLOOR, out / "floor_smp.elf")}
    for name, define, count, *_ in floors.UNITS:
        images[name] = floors.assemble(floors.TINY, out / f"tiny-{define.lower()}.elf", {define: count})
    kib = {"pvspin": loaded_kib(REPO / "build" / "pvspin.elf"), "floor": loaded_kib(images["floor"])}
    guests = ["floor", "smp-floor", "pvspin", BSP_ONLY] + [u[0] for u in floors.UNITS] + (["kut"] if a.kut else [])
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    host = hostinfo.describe()
    measured = []
    for n in a.counts:
        reps = a.reps or default_reps(n)
        here = [g for g in guests if n > 1 or g != BSP_ONLY]
        runs = {g: [] for g in here}
        qemu = qemu_argv(n)
        for i in range(reps):
            for g in here:            # interleaved: floor, smp-floor, pvspin, ..., floor, ...
                r = timed_boot(qemu + guest_args(g, images, a.kut))
                why = failed(g, n, r)
                if why:
                    print(f"\n{PROG}: {g} at {n} vCPUs failed ({why}); its output ends:\n"
                          f"{r['tail']}", file=sys.stderr)
                    return status.TEST_FAILURE
                runs[g].append(r)
            print(f"\rbench-boot: {n} vCPUs, run {i + 1}/{reps} ", end="", file=sys.stderr, flush=True)
        blocks = {g: count_blocks(qemu + guest_args(g, images, a.kut)) for g in ("floor", "pvspin")}
        if None in blocks.values():
            print(f"\n{PROG}: a boot under -d in_asm at {n} vCPUs failed", file=sys.stderr)
            return status.TEST_FAILURE
        measured.append((n, reps, runs, blocks))
    print(file=sys.stderr)
    # The image is loaded before any vCPU runs, and QEMU's start, where its
    # cost falls, spreads by 100s of ms at 64 vCPUs and seconds at 255:
    # every count takes the image's cost from the run's fewest vCPUs.
    costs = {n: unit_costs(runs) for n, _, runs, _ in measured}
    fewest = min(costs)
    for c in costs.values():
        c["image_kib"] = costs[fewest]["image_kib"]
    records = [record(n, reps, runs, host, when, blocks, kib, costs[n], fewest) for n, reps, runs, blocks in measured]
    write(out, records, host, when, guests, a)
    return status.PASS


def summary_of(values):
    s = stats.summary([v for v in values if v is not None])
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in s.as_dict().items()} if s else None


def unit_costs(runs):
    """What one unit costs, in us, keyed by unit: each unit floor against the
    floor in the part of the split where its extra falls (interval(): the
    shift, lo and hi of its 95% interval, None when too few), over its
    count."""
    costs = {}
    for g, _, count, unit, part, _ in floors.UNITS:
        i = interval([r[part + "_ms"] for r in runs["floor"]], [r[part + "_ms"] for r in runs[g]])
        costs[unit] = {k: None if i[k] is None else round(i[k] * 1000 / count, 3) for k in ("estimate", "lo", "hi")}
    return costs


def accounting(total, runs, blocks, kib, costs):
    """What each unit costs (unit_costs(): the estimate, and its interval
    apart), what pvspin has over the floor in each, and the ms of
    pvspin - floor each explains at its estimated cost."""
    unit_us = {unit: c["estimate"] for unit, c in costs.items()}
    out_bytes = {g: stats.summary([len(r["out"]) for r in runs[g]]).median for g in ("pvspin", "floor")}
    over = {"block": blocks["pvspin"] - blocks["floor"],
            "byte": round(out_bytes["pvspin"] - out_bytes["floor"]),
            "image_kib": round(kib["pvspin"] - kib["floor"], 1)}
    explained = {unit: round(unit_us[unit] * over[unit] / 1000, 2) for unit in floors.UNIT_NAMES}
    explained["total"] = round(sum(explained.values()), 2)
    return {"unit_us": unit_us, "unit_us_interval": {unit: {"lo": c["lo"], "hi": c["hi"]} for unit, c in costs.items()},
            "pvspin_over_floor": over, "explained_ms": explained,
            "unexplained_ms": round(total["pvspin"]["median"] - total["floor"]["median"] - explained["total"], 2)}


def totals(runs, guest):
    return [r["total_ms"] for r in runs[guest]]


def interval(base, new, ratio=False):
    """NEW - BASE (or NEW / BASE): {estimate, lo, hi, coverage}, the
    interval's ends None when the repetitions are too few for one."""
    try:
        if ratio:
            r = stats.ratio_interval(base, new)
            est, lo, hi, cov = r.ratio, r.lo, r.hi, r.coverage
        else:
            s = stats.shift_interval(base, new)
            est, lo, hi, cov = s.shift, s.lo, s.hi, s.coverage
    except stats.TooFew:
        est = stats.median(new) / stats.median(base) if ratio else stats.median(new) - stats.median(base)
        return {"estimate": round(est, 3), "lo": None, "hi": None, "coverage": None}
    return {"estimate": round(est, 3), "lo": round(lo, 3), "hi": round(hi, 3), "coverage": round(cov, 4)}


def target(n, runs):
    """This count's target and its verdict on pvspin against the floor."""
    ratio = n > TARGET_DIFF_MAX_VCPUS
    t = interval(totals(runs, "floor"), totals(runs, "pvspin"), ratio)
    t.update({"kind": "ratio" if ratio else "diff_ms", "limit": TARGET_RATIO if ratio else TARGET_DIFF_MS})
    t["verdict"] = stats.TOO_FEW if t["lo"] is None else stats.at_most(t["lo"], t["hi"], t["limit"])
    return t


def shares(runs):
    """pvspin - floor in parts, each an interval: its boot CPU's (pvspin
    max_cpus=1 - floor), its APs' (pvspin - pvspin max_cpus=1), and what
    starting the APs costs any guest (SMP floor - floor)."""
    return {"bsp": interval(totals(runs, "floor"), totals(runs, BSP_ONLY)),
            "aps": interval(totals(runs, BSP_ONLY), totals(runs, "pvspin")),
            "qemu_aps": interval(totals(runs, "floor"), totals(runs, "smp-floor"))}


def record(n, reps, runs, host, when, blocks, kib, costs, image_from):
    """One vCPU count: each guest's whole-process time, pvspin's difference
    and ratio to the floor and its difference to the SMP floor, every
    guest's breakdown, and pvspin - floor accounted in unit costs."""
    total = {g: summary_of(r["total_ms"] for r in rs) for g, rs in runs.items()}
    rec = {"vcpus": n, "runs": reps, "pvspin_ms": total["pvspin"], "floor_ms": total["floor"],
           "smp_floor_ms": total["smp-floor"],
           "diff_ms": round(total["pvspin"]["median"] - total["floor"]["median"], 2),
           "ratio": round(total["pvspin"]["median"] / total["floor"]["median"], 3),
           "diff_smp_floor_ms": round(total["pvspin"]["median"] - total["smp-floor"]["median"], 2),
           "pvspin_guest_boot_ms": summary_of(r["guest_boot_ms"] for r in runs["pvspin"]),
           "breakdown_ms": {g: {part: summary_of(r[part + "_ms"] for r in rs) for part in ("start", "run", "exit", "cpu")}
                            for g, rs in runs.items()},
           "machine": host, "date": when}
    rec.update(accounting(total, runs, blocks, kib, costs))
    rec["target"] = target(n, runs)
    if BSP_ONLY in runs:
        rec["pvspin_bsp_ms"] = total[BSP_ONLY]
        rec["shares_ms"] = shares(runs)
    rec["image_kib_from_vcpus"] = image_from
    rec["unit_floor_ms"] = {unit: total[g] for g, _, _, unit, *_ in floors.UNITS}
    if "kut" in total:
        rec["kut_ms"] = total["kut"]
    return rec


def write(out, records, host, when, guests, a):
    with open(out / "results.jsonl", "w") as f:
        for rec in records:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    lines = [f"# make bench-boot, {when}", "", f"Machine: {host}.",
             "Whole QEMU process, TCG, q35 + qboot, interleaved in one run; median [min-max] in ms.",
             "floor: tests/nested/tiny.asm (prints a line, exits at once); smp floor: "
             "tools/bench/floor_smp.asm (every AP to long mode, then exits); pvspin: test=smp; "
             f"{BSP_ONLY}: test=smp max_cpus=1 (no AP started; above 1 vCPU)."
             + (" kut: kvm-unit-tests smptest.flat." if a.kut else ""), "",
             f"Targets: pvspin at most the floor + {TARGET_DIFF_MS:g} ms up to {TARGET_DIFF_MAX_VCPUS} vCPUs, "
             f"at most {TARGET_RATIO:g}x the floor above. pvspin against the floor: the Hodges-Lehmann estimate "
             "and its 95% Mann-Whitney interval over the boots of each; met when the whole interval is within "
             "the target, missed when none of it is, else not decided.", "",
             "| vCPUs | runs | target | pvspin against the floor [95% interval] | verdict |", "|---|---|---|---|---|"]
    for r in records:
        t = r["target"]
        ratio = t["kind"] == "ratio"
        show = (lambda v: f"{v:.2f}x") if ratio else (lambda v: f"{v:+.1f} ms")  # noqa: E731
        within = f"{show(t['estimate'])} [{show(t['lo'])} to {show(t['hi'])}]" if t["lo"] is not None \
            else f"{show(t['estimate'])} (no interval)"
        limit = f"<= {t['limit']:g}x" if ratio else f"<= +{t['limit']:g} ms"
        lines.append(f"| {r['vcpus']} | {r['runs']} | {limit} | {within} | {t['verdict']} |")
    lines += ["", "| vCPUs | runs | pvspin | floor | pvspin - floor | pvspin / floor | smp floor "
              "| pvspin - smp floor |" + (" kut smptest |" if a.kut else ""),
              "|---|---|---|---|---|---|---|---|" + ("---|" if a.kut else "")]
    for r in records:
        row = (f"| {r['vcpus']} | {r['runs']} | {fmt(r['pvspin_ms'])} | {fmt(r['floor_ms'])} "
               f"| {r['diff_ms']:+.0f} | {r['ratio']:.2f}x | {fmt(r['smp_floor_ms'])} "
               f"| {r['diff_smp_floor_ms']:+.0f} |")
        if a.kut:
            row += f" {fmt(r['kut_ms'])} |"
        lines.append(row)
    lines += ["", "Where the time goes (host clock, median [min-max] in ms). start: the spawn of QEMU to the "
              "first serial byte; run: the first byte to the last result line; exit: the last result line "
              "to the process's end; guest boot: pvspin's boot_phases_us total (guest clock, inside start "
              "and run); host CPU: user + system time of the QEMU process, all threads.", "",
              "| vCPUs | guest | start | run | exit | guest boot | host CPU |", "|---|---|---|---|---|---|---|"]
    for r in records:
        for g in (g for g in guests if g in r["breakdown_ms"]):
            b = r["breakdown_ms"][g]
            gb = fmt(r["pvspin_guest_boot_ms"]) if g == "pvspin" else "-"
            lines.append(f"| {r['vcpus']} | {g} | {fmt(b['start'])} | {fmt(b['run'])} | {fmt(b['exit'])} | {gb} "
                         f"| {fmt(b['cpu'])} |")
    unit_counts = ", ".join(f"{count:,} {what}" for _, _, count, _, _, what in floors.UNITS)
    lines += ["", "Unit costs on this host, this run (each unit floor against the floor, in run for "
              "blocks and bytes and in start for the image, over its "
              f"count: {unit_counts}; the estimate [95% interval]), pvspin's blocks (-d in_asm), "
              "serial bytes and image KiB over the floor's, and the ms of pvspin - floor they explain. "
              "The image's cost "
              f"is the one at {records[0]['image_kib_from_vcpus'] if records else '-'} vCPU(s) for every count: "
              "it is paid before any vCPU runs, and QEMU's start spreads more with more vCPUs.", "",
              "| vCPUs | us per block | us per byte | us per image KiB | pvspin over the floor: blocks, bytes, "
              "KiB | explained: blocks + bytes + image | pvspin - floor | rest |",
              "|---|---|---|---|---|---|---|---|"]
    for r in records:
        o, e = r["pvspin_over_floor"], r["explained_ms"]
        lines.append(f"| {r['vcpus']} | {unit_cost(r, 'block')} | {unit_cost(r, 'byte')} | {unit_cost(r, 'image_kib')} "
                     f"| {o['block']:,}, {o['byte']:,}, {o['image_kib']:,.0f} "
                     f"| {terms(e)} = {e['total']:.1f} "
                     f"| {r['diff_ms']:+.0f} | {r['unexplained_ms']:+.1f} |")
    shared = [r for r in records if "shares_ms" in r]
    if shared:
        lines += ["", f"pvspin - floor in parts (ms, estimate [95% interval]): its boot CPU's ({BSP_ONLY} - floor: "
                  "the whole boot with no AP started), its APs' (pvspin - "
                  f"{BSP_ONLY}: starting them, their work in test=smp, stopping them), and what starting the APs "
                  "costs any guest here (smp floor - floor).", "",
                  "| vCPUs | pvspin - floor | boot CPU | APs | starting APs, any guest |", "|---|---|---|---|---|"]
        for r in shared:
            s = r["shares_ms"]
            lines.append(f"| {r['vcpus']} | {r['diff_ms']:+.0f} | {span_ms(s['bsp'])} | {span_ms(s['aps'])} "
                         f"| {span_ms(s['qemu_aps'])} |")
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    print(text, end="")
    print(f"{PROG}: wrote {out / 'results.md'} and {out / 'results.jsonl'}", file=sys.stderr)


def unit_cost(record, unit):
    """'4.65 [4.10 to 5.21]': a unit's cost in us and its 95% interval, or
    the cost alone when there is no interval."""
    i = record["unit_us_interval"][unit]
    cost = f"{record['unit_us'][unit]:.2f}"
    return cost if i["lo"] is None else f"{cost} [{i['lo']:.2f} to {i['hi']:.2f}]"


def terms(explained):
    """'4.1 + 2.6 - 1.0': the explained ms of each unit, in UNITS' order."""
    text = " + ".join(f"{explained[u]:.1f}" for u in floors.UNIT_NAMES)
    return text.replace("+ -", "- ")


def span_ms(i):
    """'+4.1 [+2.0 to +6.3]', or '+4.1' when there is no interval."""
    if i["lo"] is None:
        return f"{i['estimate']:+.1f}"
    return f"{i['estimate']:+.1f} [{i['lo']:+.1f} to {i['hi']:+.1f}]"


def fmt(s):
    """'median [min-max]' in whole ms, '-' when not measured."""
    return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]" if s else "-"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
