# SPDX-License-Identifier: MIT
# monitor.py: where L1's CPUs are: 'info registers -a' through L1 QEMU's QMP, and its summary.
"""dump_cpus(sock, dest) asks L1's QEMU for every CPU's registers (HMP's
'info registers -a' through QMP's human-monitor-command) into DEST.
A vCPU that runs L2 shows L2's registers (TCG keeps the current mode's
state): an L2 address there means L1's CPU never got back from L2.
summary(text) is one line per CPU: RIP, CPL, HLT, and whether RIP is in
L1's kernel (Debian ships its symbols only in the -dbg package: addr2line
on linux-image-*-dbg's vmlinux names it)."""
import re

from .. import qmp

DUMP_READ_S = 4                # how long the monitor's answer may take
REGISTERS_CMD = "info registers -a"
KERNEL_RIP_PREFIX = "ffffffff"


def dump_cpus(sock, dest, proc):
    """Every L1 CPU's registers into DEST; False when the monitor did not answer."""
    try:
        client = qmp.Qmp(str(sock), proc, connect_timeout=DUMP_READ_S, reply_timeout=DUMP_READ_S)
    except (qmp.QmpError, OSError, ValueError):
        return False
    try:
        text = client.hmp(REGISTERS_CMD)
    except (qmp.QmpError, OSError, ValueError):
        return False
    finally:
        try:
            client.close()
        except OSError:
            pass
    with open(dest, "w", encoding="latin-1") as f:
        f.write(text.replace("\r", ""))
    return True


def summary(text):
    """'  L1 CPU#N RIP=... CPL=c HLT=h: where' for each CPU of a dump."""
    out, cpu = [], ""
    for line in text.splitlines():
        fields = line.split()
        if re.match(r"^CPU#[0-9]+", line):
            cpu = fields[0]
        elif line.startswith("RIP="):
            rip = fields[0][4:]
            cpl = next((f for f in fields[1:] if f.startswith("CPL=")), "?")
            hlt = next((f for f in fields[1:] if f.startswith("HLT=")), "?")
            where = ("in L1's kernel" if rip.startswith(KERNEL_RIP_PREFIX) else
                     "not L1's kernel: L2 code (L1 never got back from L2), or L1 user space")
            out.append(f"  L1 {cpu} RIP={rip} {cpl} {hlt}: {where}")
    return out
