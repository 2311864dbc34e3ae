# SPDX-License-Identifier: MIT
# watchers.py: what the host watches while L1 runs: files' new lines, progress, readiness, stalls, output.
"""Small pieces, each fed by l1.L1Run's loop (or a test) with lines and
the seconds since L1's start, so none of them reads a clock or sleeps:

    FileLines      the new complete lines of a file that grows (console, control log)
    Progress       control lines as progress on stderr (ready, start, status, log)
    ReadyWatch     L1 not ready (KVM loaded) at its ready limit: its boot stalled
    StallWatch     a soft-lockup report of an L1 CPU stuck past the stall limit, once L1 is ready
    DumpTimer      read L1's CPUs' registers a little before the whole limit
    OutputCopier   the L2 output FIFO copied byte for byte to stdout (a thread)
"""
import errno
import os
import re
import threading

# Linux kernel/watchdog.c's report of a CPU that has not scheduled.
SOFT_LOCKUP_RE = re.compile(r"soft lockup - CPU#([0-9]+) stuck for ([0-9]+)s!")
COPY_CHUNK = 65536


def fmt_s(seconds):
    """Seconds with two decimals, cut (not rounded), as every progress line gives them."""
    cs = int(seconds * 100 + 1e-6)
    return f"{cs // 100}.{cs % 100:02d}"


def cs_to_s(cs):
    cs = int(cs)
    return f"{cs // 100}.{cs % 100:02d}"


class FileLines:
    """The lines appended to PATH since the last call (the file may not exist yet)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""

    def _read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return b""
        self.offset += len(data)
        return data

    @staticmethod
    def _text(b):
        return b.decode("utf-8", "surrogateescape")

    def poll(self):
        """New complete lines, without their newline."""
        data = self.partial + self._read()
        *lines, self.partial = data.split(b"\n")
        return [self._text(line) for line in lines]

    def finish(self):
        """The rest, a last line without its newline included."""
        lines = self.poll()
        if self.partial:
            lines.append(self._text(self.partial))
            self.partial = b""
        return lines


class Progress:
    """Control lines as progress lines (through LOG)."""

    def __init__(self, log):
        self.log = log

    def feed(self, line, elapsed_s):
        line = line.rstrip("\r")
        if line.startswith("ready "):
            self.log(f"L1 ready (KVM loaded) after {fmt_s(elapsed_s)} s "
                     f"(L1 uptime {cs_to_s(line.split()[1])} s)")
        elif line.startswith("start "):
            self.log(f"run {line[len('start '):]} started")
        elif line.startswith("status "):
            f = line.split()
            if len(f) >= 4:
                self.log(f"run {f[1]}: status {f[2]} after {cs_to_s(f[3])} s")
        elif line.startswith("log "):
            self.log(f"L1: {line[len('log '):]}")


class ReadyWatch:
    """Once LIMIT_S have passed and L1 has not said ready, ON_STALL() (once)."""

    def __init__(self, limit_s, is_ready, on_stall):
        self.limit_s = limit_s
        self.is_ready = is_ready
        self.on_stall = on_stall
        self.done = False
        self.fired = False

    def poll(self, elapsed_s):
        if self.done or elapsed_s < self.limit_s:
            return
        self.done = True
        if not self.is_ready():
            self.fired = True
            self.on_stall()


class StallWatch:
    """At the first console line reporting a CPU stuck LIMIT_S or more while
    L1 is ready, ON_STALL(line) (once). Before ready a stall is ReadyWatch's."""

    def __init__(self, limit_s, is_ready, on_stall):
        self.limit_s = limit_s
        self.is_ready = is_ready
        self.on_stall = on_stall
        self.fired = False

    def feed(self, line):
        if self.fired:
            return
        line = line.rstrip("\r")
        m = SOFT_LOCKUP_RE.search(line)
        if not m or int(m.group(2)) < self.limit_s or not self.is_ready():
            return
        self.fired = True
        self.on_stall(line)


class DumpTimer:
    """FIRE() once AT_S seconds have passed (never when AT_S <= 0)."""

    def __init__(self, at_s, fire):
        self.at_s = at_s
        self.fire = fire
        self.done = at_s <= 0

    def poll(self, elapsed_s):
        if not self.done and elapsed_s >= self.at_s:
            self.done = True
            self.fire()


class OutputCopier:
    """Copies what L1's output port writes into the FIFO at PATH to OUT_FD
    as it comes. A FIFO, not QEMU's stdio chardev: that one reports 'closed'
    at EOF of its stdin (/dev/null), and a virtio-serial port whose host side
    is closed blocks the guest's writes. When OUT_FD's reader is gone the
    copier keeps draining the FIFO, so L1 is never blocked."""

    def __init__(self, path, out_fd=1):
        self.path = path
        self.out_fd = out_fd
        self.copied = 0
        os.mkfifo(path)
        self.thread = threading.Thread(target=self._copy, name="nested-output", daemon=True)
        self.thread.start()

    def _copy(self):
        fd = os.open(self.path, os.O_RDONLY)     # waits for a writer (QEMU, or stop())
        out_ok = True
        try:
            while True:
                data = os.read(fd, COPY_CHUNK)
                if not data:
                    return
                while out_ok and data:
                    try:
                        n = os.write(self.out_fd, data)
                    except OSError as e:
                        if e.errno == errno.EINTR:
                            continue
                        out_ok = False
                        break
                    self.copied += n
                    data = data[n:]
        finally:
            os.close(fd)

    def stop(self):
        """Once the writer is gone: let the copier see EOF (also when QEMU
        never opened the FIFO) and wait until it has copied everything."""
        fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
        self.thread.join()
