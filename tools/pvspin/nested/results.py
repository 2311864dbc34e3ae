# SPDX-License-Identifier: MIT
# results.py: what L1 reported (control lines), the run statuses and env, diagnostics, bed failures.
"""After L1's QEMU has ended: control_lines() reads what L1 said (early
lines from its console, then the control log), collect() writes the
status and env files and the diagnostics, and raises BedFailure with the
reason when L1 did not finish every run; Diag prints and keeps L1's logs."""
import re
import shutil
import signal
from pathlib import Path

from .. import status
from . import monitor
from .control import control_lines, parse_control, read_lines
from .l1 import DUMP_BEFORE_S, STATUS_KILLED
from .report import RUNS_DONE, BedFailure, log, raw, say

# Lines of L1's console that say why its kernel died (the first of each kind).
L1_DEATH_RE = re.compile(r"Kernel panic|BUG:|Oops|general protection fault|double fault|"
                         r"watchdog: BUG|rcu: INFO|Call Trace|RIP:")
L1_DEATH_CHARS = 160
L1_LOG_TAIL = 60               # console lines shown on a bed failure
L1_QEMU_LOG_TAIL = 30          # lines of L1 QEMU's own -d log shown
STALLED_BOOT_CONSOLE_TAIL = 10
STALL_REPORT_CHARS = 200
DIAG_RE = re.compile(r"^diag ([0-9]+) (qemu|dmesg|trace) (.*)$", re.S)
DIAG_SUFFIX = {"qemu": "qemu.log", "dmesg": "l1-dmesg", "trace": "l1-trace"}
# The files this bed writes into --diag-dir, removed there before a call.
DIAG_DIR_GLOBS = ("run-*.qemu.log", "run-*.l1-dmesg", "run-*.l1-trace", "l1-console.log",
                  "l1-qemu.log", "l1-dmesg", "l1-cpus.txt", "l1-boot-*")


def l1_end(work, l1_status):
    """What ended L1, one phrase: QEMU's status, a signal, the panic text."""
    if l1_status == 0:
        what = ("L1 QEMU exited 0: L1 powered off, or reset (a triple fault or panic=-1 reboot "
                "under -no-reboot)")
    elif l1_status == 1:
        what = "L1 QEMU exited 1 (QEMU itself failed; its stderr above)"
    elif l1_status == status.TIMEOUT:
        what = "L1 QEMU killed at the limit (SIGTERM)"
    elif l1_status == STATUS_KILLED:
        what = "L1 QEMU killed at the limit (SIGKILL)"
    elif l1_status > 128:
        try:
            name = signal.Signals(l1_status - 128).name
        except ValueError:
            name = "SIG?"
        what = f"L1 QEMU killed by signal {l1_status - 128} ({name})"
    else:
        what = f"L1 QEMU exited {l1_status}"
    panic = next((line for line in read_lines(Path(work) / "console.log") if L1_DEATH_RE.search(line)), "")
    if panic:
        what += f"; L1 kernel: {panic[:L1_DEATH_CHARS]}"
    if any("Triple fault" in line for line in read_lines(Path(work) / "l1-qemu.log")):
        what += "; L1 QEMU logged a triple fault"
    return what


class Diag:
    """L1's logs on stderr and in --diag-dir."""

    def __init__(self, work, diag_dir):
        self.work = Path(work)
        self.dir = Path(diag_dir) if diag_dir else None

    def prepare_dir(self):
        """Create --diag-dir; remove what an earlier call left there (only
        the files this bed writes)."""
        if not self.dir:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            raise BedFailure(f"cannot create --diag-dir {self.dir}") from None
        for pattern in DIAG_DIR_GLOBS:
            for p in self.dir.glob(pattern):
                if p.is_file() or p.is_symlink():
                    p.unlink()

    def console_tail(self, n, base=None):
        for line in read_lines((base or self.work) / "console.log")[-n:]:
            raw(f"  L1 console: {line}")

    def cpus_summary(self, when=None, base=None):
        when = when or f"{DUMP_BEFORE_S} s before the limit"
        path = (base or self.work) / "l1-cpus.txt"
        if not path.is_file() or not path.stat().st_size:
            return
        raw(f"  L1 CPUs {when} (monitor 'info registers -a'):")
        for line in monitor.summary(path.read_text(encoding="latin-1")):
            raw(line)

    def copy_stripped(self, src, dest):
        if src.is_file():
            dest.write_bytes(src.read_bytes().replace(b"\r", b""))

    def copy(self, src, dest, nonempty=False):
        if src.is_file() and (not nonempty or src.stat().st_size):
            shutil.copyfile(src, dest)

    def l1_log_dump(self, when=None):
        """On a bed failure: L1's console, the dmesg L1 sent, L1 QEMU's own
        log and where L1's CPUs were (WHEN those were read) on stderr; all
        of it in --diag-dir."""
        w = self.work
        self.console_tail(L1_LOG_TAIL)
        for line in read_lines(w / "diag" / "run-0.l1-dmesg", strip_cr=False)[-L1_LOG_TAIL:]:
            raw(f"  L1 dmesg: {line}")
        for line in read_lines(w / "l1-qemu.log", strip_cr=False)[-L1_QEMU_LOG_TAIL:]:
            raw(f"  L1 qemu -d: {line}")
        self.cpus_summary(when)
        if not self.dir:
            return
        self.copy(w / "l1-cpus.txt", self.dir / "l1-cpus.txt", nonempty=True)
        self.copy_stripped(w / "console.log", self.dir / "l1-console.log")
        self.copy(w / "l1-qemu.log", self.dir / "l1-qemu.log")
        self.copy(w / "diag" / "run-0.l1-dmesg", self.dir / "l1-dmesg")
        log(f"L1 logs kept in {self.dir}")

    def split(self, lines):
        """The 'diag I KIND TEXT' control lines into WORK/diag/run-I.KIND
        files; those of runs (I > 0) are copied to --diag-dir."""
        d = self.work / "diag"
        d.mkdir(exist_ok=True)
        files = {}
        for line in lines:
            m = DIAG_RE.match(line)
            if not m:
                continue
            name = f"run-{m.group(1)}.{DIAG_SUFFIX[m.group(2)]}"
            files.setdefault(name, []).append(m.group(3).removesuffix("\r"))
        for name, texts in files.items():
            (d / name).write_text("".join(t + "\n" for t in texts), encoding="utf-8", errors="surrogateescape")
        if not self.dir:
            return
        for f in sorted(d.glob("run-*")):
            if f.name.startswith("run-0."):
                continue
            shutil.copyfile(f, self.dir / f.name)
            log(f"kept {f.name} in {self.dir}")

    def keep_stalled_boot(self, boot):
        """A stalled boot's logs to WORK/boot-BOOT/ and, in --diag-dir, as l1-boot-BOOT.*."""
        w = self.work
        bdir = w / f"boot-{boot}"
        bdir.mkdir(exist_ok=True)
        for name in ("console.log", "l1-qemu.log", "l1-cpus.txt", "ctl.log", "qemu.err"):
            if (w / name).exists():
                (w / name).replace(bdir / name)
        if self.dir:
            self.copy_stripped(bdir / "console.log", self.dir / f"l1-boot-{boot}.console.log")
            self.copy(bdir / "l1-qemu.log", self.dir / f"l1-boot-{boot}.qemu.log")
            self.copy(bdir / "l1-cpus.txt", self.dir / f"l1-boot-{boot}.cpus.txt")
            say(f"boot {boot}'s logs kept in {self.dir} as l1-boot-{boot}.*")
        return bdir


def stall_report(work):
    """The soft-lockup line that ended L1, without its timestamp."""
    text = (Path(work) / "l1-stalled").read_bytes().decode("utf-8", "surrogateescape").replace("\r", "")
    first = text.split("\n", 1)[0]
    return re.sub(r"^\[[^]]*\] *", "", first)[:STALL_REPORT_CHARS]


def collect(work, o, njobs, l1_status, timeout_used):
    """Check what L1 reported; write the status and env files and the
    diagnostics; BedFailure unless every run ended and L1 said done."""
    work = Path(work)
    lines = control_lines(work)
    ready, done, env, statuses, reason = parse_control(lines)
    if o.env_file and env:
        Path(o.env_file).write_text(env + "\n", encoding="utf-8", errors="surrogateescape")
    if o.status_file:
        Path(o.status_file).write_text("".join(s + "\n" for s in statuses))
    diag = Diag(work, o.diag_dir)
    diag.split(lines)
    n = len(statuses)
    stalled = work / "l1-stalled"
    if stalled.is_file() and stalled.stat().st_size:
        diag.l1_log_dump("when L1's watchdog reported it")
        raise BedFailure(f"L1 stalled {RUNS_DONE.format(done=n, total=njobs)}: its watchdog reports a CPU stuck for "
                         f"{o.stall_limit_s} s or more (--l1-stall-limit): {stall_report(work)}")
    if reason:
        diag.l1_log_dump()
        raise BedFailure(reason)
    if l1_status in (status.TIMEOUT, STATUS_KILLED):
        diag.l1_log_dump()
        if ready:
            raise BedFailure(f"L1 run exceeded the limit of {timeout_used} s {RUNS_DONE.format(done=n, total=njobs)} "
                             f"({l1_end(work, l1_status)})")
        raise BedFailure(f"L1 boot timed out: KVM not ready within {timeout_used} s")
    if not done:
        diag.l1_log_dump()
        for line in read_lines(work / "qemu.err", strip_cr=False):
            raw(f"  L1 qemu: {line}")
        if not ready:
            raise BedFailure(f"L1 stopped before KVM was ready ({l1_end(work, l1_status)})")
        raise BedFailure(f"L1 stopped {RUNS_DONE.format(done=n, total=njobs)} ({l1_end(work, l1_status)})")
    if n != njobs:
        raise BedFailure(f"L1 reported {n} statuses for {njobs} runs")
