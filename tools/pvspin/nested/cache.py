# SPDX-License-Identifier: MIT
# cache.py: the L1 bed prepared once per machine, under the cache's lock: packages, kernel, base initramfs.
"""prepare(opts) -> Prepared: under an flock of the cache's 'lock' file
(concurrent callers wait instead of corrupting it), resolve the packages
(apt.py), unpack the kernel and its modules (kernel.py) and build the base
initramfs (base.py). Layout: docs/nested.md "Cache layout"."""
import fcntl
import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import apt, base, kernel
from .cachedir import cache_root
from .report import BedFailure

CACHE_FORMAT = 3               # bump when the base initramfs layout changes
# Leftovers of an interrupted preparation, removed under the lock.
LEFTOVER_GLOBS = (".dl.*", "debs/.dl.*", ".unpack.*", ".bb.*", ".root.*",
                  "kernels/*/.vmlinux.*", "base/*.tmp")


@dataclass
class Prepared:
    package: str
    kernel_version: str
    busybox_version: str
    qemu_version: str
    l0_qemu: str
    l0_qemu_version: str
    kernel_dir: Path
    boot_kernel: Path          # vmlinux (PVH entry, no decompression) or vmlinuz
    base_initrd: Path


def remove_leftovers(root):
    """What an interrupted preparation left (nobody else holds the lock)."""
    for pattern in LEFTOVER_GLOBS:
        for p in glob.glob(str(root / pattern)):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)


def prepare(o, root=None):
    root = Path(root) if root else cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise BedFailure(f"cannot create the cache {root}") from None
    try:
        lock = open(root / "lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    except OSError:
        raise BedFailure(f"cannot lock {root}/lock") from None
    with lock:
        remove_leftovers(root)
        pkg, kver, bbver = apt.resolve_versions(root, o.l1_kernel)
        qver, l0, l0ver = base.resolve_qemu(o)
        kdir = kernel.unpack(root, pkg, kver)
        kernel.extract_vmlinux(kdir)
        initrd = base.build(root, f"{pkg}_{kver}+qemu_{qver}+bb_{bbver}+v{CACHE_FORMAT}", kdir, bbver, o.host_qemu)
    return Prepared(pkg, kver, bbver, qver, l0, l0ver, kdir, kernel.boot_kernel(kdir), initrd)
