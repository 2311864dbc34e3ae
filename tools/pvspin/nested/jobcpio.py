# SPDX-License-Identifier: MIT
# jobcpio.py: the per-call initramfs (init, image, jobs, config, kvm-anchor) appended to the base.
"""The kernel unpacks concatenated archives, so a call adds only a small
gzip'd cpio to the cached base: /init (l1-init.sh), /job/image, /job/jobs,
/job/config (sh assignments l1-init.sh reads) and /job/kvm-anchor."""
import gzip
import os
import shutil
import subprocess
from pathlib import Path

from .. import status
from . import cpio
from .base import L1_FIRMWARE_DIR
from .report import BedFailure

NESTED_DIR = Path(__file__).resolve().parents[2] / "nested"
L1_INIT_SRC = NESTED_DIR / "l1-init.sh"
ANCHOR_SRC = NESTED_DIR / "kvm-anchor.c"
# Channels from L1 to the host: virtio-serial ports (names as L1 sees them).
# Extra UARTs lost transmit interrupts under TCG now and then (their output
# stalled, lines were lost at power-off); a virtio port write is in the host
# file when it returns.
OUT_PORT_NAME = "pvspin.out"           # -> stdout
CTL_PORT_NAME = "pvspin.ctl"           # -> control log
EARLY_CTL_PREFIX = "@@pvspin-ctl "     # control lines on the console before the ports exist
ANCHOR_CFLAGS = ("-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-nostdlib",
                 "-static", "-fno-pie", "-no-pie", "-fno-stack-protector", "-mgeneral-regs-only")
JOB_GZIP_LEVEL = 1


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def config_text(o, prep):
    """/job/config: the tokens l1-init.sh is built with."""
    q = shell_quote
    lines = [
        f"L1_PACKAGE={q(prep.package)}",
        f"L1_PACKAGE_VERSION={q(prep.kernel_version)}",
        f"L0_DESC={q(f'qemu {prep.l0_qemu_version} {o.l0_accel} -cpu max')}",
        f"BREAK_MODULES={q(o.break_modules)}",
        f"BREAK_MODE={q(o.break_mode)}",
        f"ANCHOR={1 if o.anchor else 0}",
        f"GUEST_KERNEL_HALF={1 if o.guest_kernel_half else 0}",
        f"MODULE_PARAMS={q(' '.join(o.module_params))}",
        f"FIRMWARE_DIR={q(L1_FIRMWARE_DIR)}",
        f"OUT_PORT_NAME={q(OUT_PORT_NAME)}",
        f"CTL_PORT_NAME={q(CTL_PORT_NAME)}",
        f"EARLY_CTL_PREFIX={q(EARLY_CTL_PREFIX)}",
        f"END_PATTERN={q(o.end_pattern)}",
        f"END_GRACE_S={o.end_grace}",
        f"TIMEOUT_STATUS={status.TIMEOUT}",
        f"KILLED_STATUS={int(status.KILLED)}",
    ]
    return "".join(line + "\n" for line in lines)


def build_anchor(dest, env=os.environ):
    """The freestanding kvm-anchor for L1 (no C library there)."""
    cc = (env.get("CC") or "gcc").split()
    try:
        r = subprocess.run(cc + list(ANCHOR_CFLAGS) + ["-o", str(dest), str(ANCHOR_SRC)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace")
        err, ok = r.stdout + r.stderr, r.returncode == 0
    except OSError as e:
        err, ok = str(e), False
    if not ok:
        head = " ".join(err.splitlines()[:3])
        raise BedFailure(f"cannot build L1's kvm-anchor from {ANCHOR_SRC}: {head} ")


def write(work, o, prep, jobs):
    """WORK/initrd: the base initramfs, then this call's gzip'd cpio."""
    work = Path(work)
    jobroot = work / "jobroot"
    (jobroot / "job").mkdir(parents=True)
    shutil.copy(L1_INIT_SRC, jobroot / "init")
    os.chmod(jobroot / "init", 0o755)
    shutil.copy(o.image, jobroot / "job" / "image")
    if o.anchor:
        build_anchor(jobroot / "job" / "kvm-anchor")
    (jobroot / "job" / "jobs").write_text("".join(j.line() + "\n" for j in jobs),
                                          encoding="utf-8", errors="surrogateescape")
    (jobroot / "job" / "config").write_text(config_text(o, prep), encoding="utf-8", errors="surrogateescape")
    with gzip.open(work / "job.cpio.gz", "wb", compresslevel=JOB_GZIP_LEVEL) as z:
        cpio.write_tree(jobroot, z)
    with open(work / "initrd", "wb") as out:
        for part in (prep.base_initrd, work / "job.cpio.gz"):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
