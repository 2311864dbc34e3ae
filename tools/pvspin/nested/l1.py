# SPDX-License-Identifier: MIT
# l1.py: one boot of L1: its QEMU under TCG with console, output and control channels, and the watchers.
"""L1Run(...).run() boots L1 once and returns when its QEMU has ended:
status.TIMEOUT when the limit stopped it with SIGTERM, status.KILLED when
it needed SIGKILL, 128+N for another signal, else QEMU's own. Meanwhile the
watchers (watchers.py) read the console and the control log; a boot that
stalled before KVM was ready leaves WORK/stalled, a soft-lockup report
past the stall limit WORK/l1-stalled (its line), both after the CPUs'
registers were read into WORK/l1-cpus.txt."""
import signal
import time
from pathlib import Path

from .. import procs, status
from . import monitor
from .jobcpio import CTL_PORT_NAME, OUT_PORT_NAME
from .report import log
from .control import control_lines, l1_ready
from .watchers import DumpTimer, FileLines, OutputCopier, Progress, ReadyWatch, StallWatch, fmt_s

L1_KERNEL_CMDLINE = "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"
L1_BOOT_PARAM = "pvspin.l1_boot"   # added to it: which boot of this call L1 is
KILL_GRACE_S = 5               # SIGTERM to SIGKILL for the L1 QEMU at the limit
DUMP_BEFORE_S = 8              # L1's CPU registers are read this long before the limit
POLL_S = 0.2                   # how often the watchers look
STATUS_KILLED = status.KILLED
# Files of one boot in the work directory.
WORK_FILES = ("ctl.log", "console.log", "l1-qemu.log", "qemu.err", "qmp.sock", "out.fifo",
              "stalled", "l1-stalled", "l1-cpus.txt")


def l1_command(o, prep, work, boot):
    w = Path(work)
    return [
        prep.l0_qemu, "-M", "q35", "-accel", o.l0_accel, "-cpu", "max",
        "-smp", str(o.smp), "-m", str(o.mem_mb),
        "-kernel", str(prep.boot_kernel), "-initrd", str(w / "initrd"),
        "-append", f"{L1_KERNEL_CMDLINE} {L1_BOOT_PARAM}={boot}",
        "-nodefaults", "-no-reboot", "-display", "none",
        "-qmp", f"unix:{w / 'qmp.sock'},server=on,wait=off",
        "-chardev", f"file,id=l1con,path={w / 'console.log'}", "-serial", "chardev:l1con",
        "-d", "guest_errors,cpu_reset", "-D", str(w / "l1-qemu.log"),
        "-device", "virtio-serial-pci,id=vser",
        "-chardev", f"file,id=l2out,path={w / 'out.fifo'}",
        "-device", f"virtserialport,bus=vser.0,chardev=l2out,name={OUT_PORT_NAME}",
        "-chardev", f"file,id=l1ctl,path={w / 'ctl.log'}",
        "-device", f"virtserialport,bus=vser.0,chardev=l1ctl,name={CTL_PORT_NAME}",
    ]


class L1Run:
    """One boot of L1, limited to TIMEOUT_S seconds; READY_LIMIT_S arms the
    ReadyWatch when it is less than that."""

    def __init__(self, o, prep, work, boot, timeout_s, ready_limit_s, clock=time.monotonic):
        self.o, self.prep, self.work = o, prep, Path(work)
        self.boot, self.timeout_s, self.ready_limit_s = boot, timeout_s, ready_limit_s
        self.clock = clock
        self.proc = None

    def is_ready(self):
        return l1_ready(control_lines(self.work))

    def dump_cpus(self):
        monitor.dump_cpus(self.work / "qmp.sock", self.work / "l1-cpus.txt", self.proc)

    def terminate(self):
        if self.proc and self.proc.poll() is None:
            self.proc.signal(signal.SIGTERM)

    def _on_not_ready(self):
        self.dump_cpus()
        (self.work / "stalled").touch()
        self.terminate()

    def _on_soft_lockup(self, line):
        self.dump_cpus()
        (self.work / "l1-stalled").write_text(line + "\n", encoding="utf-8", errors="surrogateescape")
        self.terminate()

    def stop(self):
        """Stop L1's QEMU (interrupted): SIGTERM, SIGKILL after the grace."""
        if self.proc and self.proc.poll() is None:
            self.proc.stop(KILL_GRACE_S)

    def run(self):
        w, o = self.work, self.o
        t0 = self.clock()
        for name in WORK_FILES:
            (w / name).unlink(missing_ok=True)
        (w / "ctl.log").touch()
        copier = OutputCopier(str(w / "out.fifo"))
        log(f"booting L1 ({self.prep.package} {self.prep.kernel_version}, {o.smp} CPUs, {o.mem_mb} MB; "
            f"boot {self.boot} of at most {o.boots}; KVM ready within {self.ready_limit_s} s; "
            f"limit {self.timeout_s} s)")
        progress = Progress(log)
        ctl, console = FileLines(w / "ctl.log"), FileLines(w / "console.log")
        stall = StallWatch(o.stall_limit_s, self.is_ready, self._on_soft_lockup)
        timers = [DumpTimer(self.timeout_s - DUMP_BEFORE_S, self.dump_cpus)]
        if self.ready_limit_s < self.timeout_s:
            timers.append(ReadyWatch(self.ready_limit_s, self.is_ready, self._on_not_ready))
        with open(w / "qemu.err", "wb") as err:
            self.proc = procs.Group(l1_command(o, self.prep, w, self.boot), stdout=err, stderr=err)
        limit_hit, rc = None, None
        try:
            while rc is None:
                elapsed = self.clock() - t0
                for line in ctl.poll():
                    progress.feed(line, elapsed)
                for line in console.poll():
                    stall.feed(line)
                for t in timers:
                    t.poll(elapsed)
                if limit_hit is None and elapsed >= self.timeout_s:
                    limit_hit = elapsed
                    self.terminate()
                elif limit_hit is not None and elapsed - limit_hit >= KILL_GRACE_S:
                    self.proc.signal(signal.SIGKILL)
                    limit_hit = float("inf")
                rc = self.proc.wait_for(POLL_S)
        finally:
            self.stop()
            copier.stop()
            elapsed = self.clock() - t0
            for line in ctl.finish():
                progress.feed(line, elapsed)
            for line in console.finish():
                stall.feed(line)
        if limit_hit == float("inf"):
            rc = STATUS_KILLED
        elif limit_hit is not None:
            rc = status.TIMEOUT
        elif rc < 0:
            rc = 128 - rc
        log(f"L1 exited after {fmt_s(self.clock() - t0)} s")
        return rc
