# SPDX-License-Identifier: MIT
# vmm.py: reading a running QEMU's console line by line, with deadlines.
"""console_lines(proc, timeout_s, silent_s): the lines PROC writes to its
stdout, decoded, each with the seconds since the call, until PROC closes it,
TIMEOUT_S pass, or SILENT_S pass without a byte (a QEMU that boots nothing);
a read never waits more than a second past a deadline. The caller stops
PROC."""
import os
import selectors
import time


def console_lines(proc, timeout_s, silent_s=None):
    start = time.monotonic()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf, heard = b"", False
    while True:
        waited = time.monotonic() - start
        if waited > timeout_s or (silent_s is not None and not heard and waited > silent_s):
            return
        if not sel.select(timeout=1.0):
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            if buf:
                yield time.monotonic() - start, buf.decode("utf-8", "replace")
            return
        heard = True
        *lines, buf = (buf + chunk).split(b"\n")
        now = time.monotonic() - start
        for line in lines:
            yield now, line.decode("utf-8", "replace").rstrip("\r")
