#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# run.py: runs the Linux peer under QEMU and turns its console into pvspin's KTAP output.
"""The Linux peer's runner, behind `run-qemu.sh --guest linux`.

usage: run.py cmdline --smp N [-- OPTIONS...]
           the kernel command line for the guest options; bad options print
           a one-result KTAP document and exit 2
       run.py run --smp N --timeout S [--log FILE] [--grace S] [--options 'k=v ...']
                  -- QEMU COMMAND...
           run QEMU (its -append already holds `cmdline`'s output), print the
           KTAP document as the console comes, exit with the verdict
       run.py translate (--smp N [--options 'k=v ...'] | --plans P) [--status-file F]
                        [--timeout S] LOG
           the same document(s) from a recorded console; LOG may hold several
           runs, each starting at a "# l1: {json}" line (the nested bed), P
           their options, one run a line ("SMP k=v ..."), and F the bed's
           per-run QEMU statuses, one a line; --verdicts V writes each
           run's verdict, one a line
       run.py end-pattern | end-grace
           the ERE (grep -E -e) of console lines after which the verdict is
           known; the seconds QEMU then gets to exit before it is stopped
       run.py lpj -- QEMU COMMAND...
           boot the peer on 1 vCPU (QEMU COMMAND's -smp is replaced) until
           it prints the BSP's loops_per_jiffy, stop it, print the number;
           cached per host boot and command (docs/peer.md "The kernel")
       cmdline, run and translate take --lpj N: the kernel's lpj= (0: none)

Output (docs/output.md, "Linux peer"): KTAP version 1 with a plan of one
result, "# linux:" diagnostics, every console line as "# console: ...",
"# result: {json}" with "guest":"linux", "ok 1 torture:linux-<lock>" or
"not ok 1 ... # reason", and "EXIT: STATUS=n". Exit status: pvspin's
(tools/pvspin/status.py): 0 pass, 1 failure (a violation, no rate),
2 bad input, 3 crash, 4 lockup, 124 timeout, 125 QEMU could not run.
"""
import argparse
import hashlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))
from pvspin import runner, status  # noqa: E402
import build  # noqa: E402
import options  # noqa: E402
from console import DECIDED_ERE, Console  # noqa: E402
from vmm import console_lines  # noqa: E402

PROG = "run.py"
GRACE_S = 5          # after the verdict is known, QEMU gets this long to exit by itself
KILL_AFTER_S = 5     # SIGTERM to SIGKILL


class Doc:
    """One KTAP document, written as the run goes."""

    def __init__(self, out, plan, env=None):
        self.out, self.plan, self.env = out, plan, env
        self.console = Console(plan)

    def emit(self, line):
        self.out.write(line + "\n")
        self.out.flush()

    def begin(self):
        o = self.plan.options
        self.emit("KTAP version 1")
        self.emit("1..1")
        self.emit("# linux: " + " ".join(f"{k}={v}" for k, v in o.items()))
        self.emit(f"# linux: kernel command line: {self.plan.kernel_cmdline()}")
        for note in self.plan.notes:
            self.emit(f"# linux: {note}")

    def feed(self, raw):
        line = raw.rstrip("\r\n")
        self.emit(f"# console: {line}")
        self.console.feed(line)

    def end(self, vmm_status, timeout_s=None):
        v = self.console.finish(vmm_status, timeout_s)
        r = v.result
        if self.env is not None:
            r = {"env": self.env, **r}
        self.emit(f"# linux: lock_impl={r['lock_impl']} ({r['lock_impl_from']})")
        if r["throughput_per_s"] is not None:
            self.emit(f"# linux: {r['acquisitions']} acquisitions in {r['duration_ns'] / 1e9:.3f} s "
                      f"= {r['throughput_per_s']:.0f}/s (per writer at the end: "
                      f"{r['per_cpu_min']}..{r['per_cpu_max']}), {r['long_holds']} long holds")
        self.emit("# result: " + json.dumps(r, separators=(",", ":")))
        name = self.plan.result_name
        if v.ok:
            self.emit(f"ok 1 {name}")
        elif v.directive:
            self.emit(f"not ok 1 {name} # {v.directive} {v.reason}")
        else:
            self.emit(f"not ok 1 {name} # {v.reason}")
        # The verdict line, as pvspin prints it; a timeout has none (the
        # guest gave no verdict), as for pvspin.
        if v.status != status.TIMEOUT:
            self.emit(f"EXIT: STATUS={v.status}")
        return v.status


def bad_options_doc(out, message):
    out.write("KTAP version 1\n1..1\n")
    out.write(f"not ok 1 cmdline # {message}\n")
    out.write("# summary: bad guest command line, nothing was run\n")
    out.write(f"EXIT: STATUS={status.BAD_INPUT}\n")
    out.flush()


def plan_or_exit(opts_words, smp, out=sys.stdout, lpj=0):
    try:
        return options.parse(opts_words, smp, lpj)
    except options.BadOption as e:
        bad_options_doc(out, str(e))
        sys.exit(status.BAD_INPUT)


class Tee:
    def __init__(self, *files):
        self.files = [f for f in files if f]

    def write(self, s):
        for f in self.files:
            f.write(s)

    def flush(self):
        for f in self.files:
            f.flush()


def stop(proc):
    """SIGTERM QEMU, SIGKILL it if it lingers; its status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


LPJ_RE = re.compile(r"Calibrating delay .*\(lpj=(\d+)\)")
LPJ_TIMEOUT_S = 60          # the line comes in well under a second on an idle host
LPJ_SILENT_S = 20           # a QEMU that printed nothing this long boots no Linux


def cmd_lpj(a):
    """The BSP's loops_per_jiffy, from a 1-vCPU boot (cached)."""
    cmd = list(a.qemu)
    if "-smp" in cmd:
        cmd[cmd.index("-smp") + 1] = "1"
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    key = hashlib.sha256("\0".join([boot_id, *cmd]).encode()).hexdigest()[:16]
    cache = build.cache_root(None) / "lpj"
    hit = cache / key
    if hit.exists():
        known = hit.read_text().strip()
        if known == "0":
            print(f"{PROG}: no lpj: this image printed none before (cached in {hit})", file=sys.stderr)
            return status.GUEST_CRASH
        print(known)
        return status.PASS
    try:
        # In our process group: a Ctrl-C reaches it as it reaches us.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except OSError as e:
        print(f"{PROG}: cannot start {cmd[0]}: {e}", file=sys.stderr)
        return status.NO_VMM
    found = None
    start = time.monotonic()
    try:
        for _, line in console_lines(proc, LPJ_TIMEOUT_S, LPJ_SILENT_S):
            m = LPJ_RE.search(line)
            if m:
                found = m.group(1)
                break
    finally:
        proc.kill()
        proc.wait()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = hit.with_name(hit.name + f".{os.getpid()}")
    tmp.write_text((found or "0") + "\n")
    tmp.replace(hit)            # whole, for a reader at the same time
    if found is None:
        print(f"{PROG}: the 1-vCPU boot printed no 'Calibrating delay ... (lpj=N)' line "
              f"within {int(time.monotonic() - start)} s", file=sys.stderr)
        return status.GUEST_CRASH
    print(found)
    return status.PASS


class Interrupted(Exception):
    """A signal ended the run: finish the document, stop QEMU, exit 128 + N."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def on_signal(signum, _frame):
    # Once: a second signal while QEMU is being stopped must not re-enter.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


def cmd_run(a):
    plan = plan_or_exit(a.options.split(), a.smp, lpj=a.lpj)
    try:
        log = open(a.log, "w") if a.log else None
    except OSError as e:
        print(f"{PROG}: --log {a.log}: {e.strerror}", file=sys.stderr)
        return status.BAD_INPUT
    out = Tee(sys.stdout, log)
    doc = Doc(out, plan)
    doc.begin()
    # Ctrl-C or a caller's TERM on our group reaches QEMU too; make sure it
    # is gone before we are, and the document holds its plan.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    proc = None
    try:
        proc = subprocess.Popen(a.qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        return watch(a, plan, doc, proc, log)
    except OSError as e:
        print(f"{PROG}: cannot start {a.qemu[0]}: {e}", file=sys.stderr)
        doc.emit(f"not ok 1 {plan.result_name} # ERROR not run: cannot start {a.qemu[0]}: {e.strerror}")
        return status.NO_VMM
    except Interrupted as e:
        if proc is not None:
            stop(proc)
        doc.emit(f"not ok 1 {plan.result_name} # ERROR interrupted by signal {e.signum}")
        return 128 + e.signum


def watch(a, plan, doc, proc, log):
    """Read QEMU's console into DOC until the verdict (or the timeout); the status."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    start = time.monotonic()
    deadline = start + a.timeout
    decided_at = None
    timed_out = False
    stopped_after_verdict = False
    buf, errs = b"", []
    open_fds = 2
    while open_fds:
        now = time.monotonic()
        limit = deadline if decided_at is None else min(deadline, decided_at + a.grace)
        if now >= limit:
            timed_out = decided_at is None
            stopped_after_verdict = not timed_out
            stop(proc)
            rest = proc.stdout.read()     # what QEMU wrote before it went
            buf += rest or b""
            for line in buf.split(b"\n")[:-1]:
                doc.feed(line.decode("utf-8", "replace"))
            buf = buf.split(b"\n")[-1]
            break
        for key, _ in sel.select(timeout=min(1.0, limit - now)):
            chunk = os.read(key.fileobj.fileno(), 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_fds -= 1
                continue
            if key.data == "err":
                errs.append(chunk)
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                doc.feed(line.decode("utf-8", "replace"))
            if decided_at is None and doc.console.decided:
                decided_at = time.monotonic()
    if buf:
        doc.feed(buf.decode("utf-8", "replace"))
    qemu_status = proc.wait() if not timed_out else status.TIMEOUT
    err = b"".join(errs).decode("utf-8", "replace")
    for line in err.splitlines():
        if "Number of hotpluggable cpus" not in line and "Number of SMP cpus requested" not in line:
            print(line, file=sys.stderr)
    if stopped_after_verdict and not doc.console.powered_down:
        print(f"{PROG}: QEMU had not exited {a.grace} s after the verdict was on the console: stopped",
              file=sys.stderr)
    if not timed_out and doc.console.lines == 0 and qemu_status != 0:
        print(f"{PROG}: QEMU could not run the guest (status {qemu_status})", file=sys.stderr)
        doc.emit(f"not ok 1 {plan.result_name} # ERROR not run: QEMU could not run the guest "
                 f"(status {qemu_status})")
        return status.NO_VMM
    st = doc.end(qemu_status, a.timeout)
    if timed_out:
        print(f"{PROG}: timeout after {a.timeout}s", file=sys.stderr)
    if log:
        log.close()
    return st


def cmd_translate(a):
    if a.plans:
        plans = []
        for line in Path(a.plans).read_text().splitlines():
            smp, _, opts = line.partition(" ")
            plans.append(plan_or_exit(opts.split(), int(smp), lpj=a.lpj))
    elif a.smp is None:
        print(f"{PROG}: translate needs --smp or --plans", file=sys.stderr)
        return status.BAD_INPUT
    else:
        plans = [plan_or_exit(a.options.split(), a.smp, lpj=a.lpj)]
    text = sys.stdin.read() if a.log == "-" else Path(a.log).read_text(errors="replace")
    statuses = []
    if a.status_file:
        statuses = [int(x) for x in Path(a.status_file).read_text().split()]
    # A stream of the nested bed is cut into its runs (pvspin.runner); else
    # it is one recorded console.
    runs = runner.split_nested(text) or [runner.NestedRun(None, text.splitlines(), "")]
    if a.plans and len(plans) != len(runs) or statuses and len(statuses) != len(runs):
        print(f"{PROG}: {len(runs)} runs in {a.log}, {len(plans)} plans, {len(statuses)} statuses: "
              "they must agree", file=sys.stderr)
        return status.NO_VMM
    worst = status.PASS
    verdicts = []
    for i, run in enumerate(runs):
        env = {"accel": "nested", "l1": run.l1} if run.l1_line else None
        plan = plans[i] if a.plans else plans[0]
        doc = Doc(sys.stdout, plan, env)
        if run.l1_line:
            doc.emit(runner.L1_PREFIX + json.dumps(run.l1, separators=(",", ":"))
                     if run.l1 is not None else run.l1_line)
        doc.begin()
        for line in run.lines:
            doc.feed(line)
        vmm = statuses[i] if i < len(statuses) else 0
        if doc.console.lines == 0 and vmm not in (0, status.TIMEOUT):
            doc.emit(f"not ok 1 {plan.result_name} # ERROR not run: QEMU could not run the guest "
                     f"(status {vmm})")
            st = status.NO_VMM
        else:
            st = doc.end(vmm, a.timeout)
        verdicts.append(st)
        if worst == status.PASS:
            worst = st
    if a.verdicts:
        Path(a.verdicts).write_text("".join(f"{v}\n" for v in verdicts))
    return worst


def main(argv):
    try:
        return dispatch(argv)
    except (OSError, ValueError) as e:
        # Not a verdict on the guest: this tool could not do its part.
        print(f"{PROG}: {e}", file=sys.stderr)
        return status.NO_VMM


def dispatch(argv):
    ap = argparse.ArgumentParser(prog=PROG)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cmdline")
    c.add_argument("--smp", type=int, required=True)
    c.add_argument("--lpj", type=int, default=0)
    c.add_argument("opts", nargs="*")
    r = sub.add_parser("run")
    r.add_argument("--smp", type=int, required=True)
    r.add_argument("--timeout", type=float, required=True)
    r.add_argument("--grace", type=float, default=GRACE_S)
    r.add_argument("--log")
    r.add_argument("--options", default="")
    r.add_argument("--lpj", type=int, default=0)
    r.add_argument("qemu", nargs="+")
    t = sub.add_parser("translate")
    t.add_argument("--smp", type=int)
    t.add_argument("--options", default="")
    t.add_argument("--plans")
    t.add_argument("--lpj", type=int, default=0)
    t.add_argument("--status-file")
    t.add_argument("--verdicts", help="write each run's status, one a line")
    t.add_argument("--timeout", type=float)
    t.add_argument("log")
    sub.add_parser("end-pattern")
    sub.add_parser("end-grace")
    q = sub.add_parser("lpj")
    q.add_argument("qemu", nargs="+")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return status.BAD_INPUT if e.code else 0
    if a.cmd == "cmdline":
        plan = plan_or_exit(a.opts, a.smp, lpj=a.lpj)
        print(plan.kernel_cmdline())
        return status.PASS
    if a.cmd == "end-pattern":
        print(DECIDED_ERE)
        return status.PASS
    if a.cmd == "end-grace":
        print(int(GRACE_S))
        return status.PASS
    if a.cmd == "lpj":
        return cmd_lpj(a)
    if a.cmd == "run":
        return cmd_run(a)
    return cmd_translate(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
