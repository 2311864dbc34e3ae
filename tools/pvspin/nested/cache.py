# SPDX-License-Identifier: MIT
# cache.py: the L1 bed prepared once per machine, under the cache's lock: packages, kernel, base initramfs.
"""prepare(opts) -> Prepared: under an flock of the cache's 'lock' file
(concurrent callers wait instead of corrupting it), resolve the packages
(apt.py), unpack the kernel and its modules (kernel.py) and build the base
initramfs (base.py). Layout: docs/nested.md "Cache layout"."""
from dataclasses import dataclass
from pathlib import Path

from . import apt, base, cachedir, kernel
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


def prepare(o, root=None):
    root = Path(root) if root else cachedir.cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise BedFailure(f"cannot create the cache {root}") from None
    try:
        held = cachedir.lock(root)
    except OSError:
        raise BedFailure(f"cannot lock {root}/lock") from None
    with held:
        cachedir.remove_leftovers(root, LEFTOVER_GLOBS)
        pkg, kver, bbver = apt.resolve_versions(root, o.l1_kernel)
        qver, l0, l0ver = base.resolve_qemu(o)
        kdir = kernel.unpack(root, pkg, kver)
        kernel.extract_vmlinux(kdir)
        initrd = base.build(root, f"{pkg}_{kver}+qemu_{qver}+bb_{bbver}+v{CACHE_FORMAT}", kdir, bbver, o.host_qemu)
    return Prepared(pkg, kver, bbver, qver, l0, l0ver, kdir, kernel.boot_kernel(kdir), initrd)
