# SPDX-License-Identifier: MIT
# xen_stall.py: what Xen's CPUs were doing when a run under --accel xen went silent (QMP on the L0 QEMU).
"""A run under --accel xen that stops printing is either pvspin's fault or
below it. The L0 QEMU's 'info registers -a' tells them apart: Xen runs in
the upper half of the address space and pvspin, identity-mapped, never
does, so a CPU whose RIP is up there and whose HLT flag is set is one of
Xen's physical CPUs idle in Xen. When every CPU is, in every sample,
Xen holds no work for any of dom0's vCPUs although the run has not ended:
a wakeup lost below the guest (docs/notes/nested-failures-below-the-guest.md,
"Xen's CPUs all idle"). A vCPU of pvspin's spinning, or running at all,
shows as a CPU at a low RIP without HLT.

sample(sock, proc) takes SAMPLES such dumps SAMPLE_GAP_S apart;
all_idle_in_xen(samples) says whether each shows every CPU halted in Xen.
"""
import re
import time

from .qmp import Qmp, QmpError

XEN_TEXT_MIN = 0xffff800000000000       # x86-64 Xen's half of the address space
SAMPLES = 3
SAMPLE_GAP_S = 2
CPU_RE = re.compile(r"^CPU#(\d+)\r?$", re.M)
RIP_RE = re.compile(r"^RIP=([0-9a-f]{16}) .* HLT=([01])\r?$", re.M)


def cpus(dump):
    """[(rip, halted)] per CPU of one 'info registers -a' dump, in order."""
    return [(int(rip, 16), hlt == "1") for rip, hlt in RIP_RE.findall(dump)]


def all_idle_in_xen(samples):
    """True if every sample shows at least one CPU, each of them halted
    in Xen, and as many CPUs as the 'CPU#' headers say."""
    if not samples:
        return False
    for dump in samples:
        states = cpus(dump)
        if not states or len(states) != len(CPU_RE.findall(dump)):
            return False
        if not all(halted and rip >= XEN_TEXT_MIN for rip, halted in states):
            return False
    return True


def sample(sock, proc, samples=SAMPLES, gap_s=SAMPLE_GAP_S):
    """SAMPLES dumps of every CPU's registers, or the QMP error as the
    only element when QEMU could not be asked."""
    try:
        q = Qmp(sock, proc, connect_timeout=5)
    except QmpError as e:
        return [f"QMP: {e}"]
    try:
        out = []
        for i in range(samples):
            if i:
                time.sleep(gap_s)
            out.append(q.hmp("info registers -a"))
        return out
    except (QmpError, OSError) as e:
        return out + [f"QMP: {e}"]
    finally:
        q.close()
