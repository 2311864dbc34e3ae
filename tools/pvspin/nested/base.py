# SPDX-License-Identifier: MIT
# base.py: L1's base initramfs (busybox, the modules, the host's QEMU with its libraries and firmware) and QEMU's versions.
"""build(root, prep_key, kdir, busybox_version, host_qemu) -> the cached
base/KEY.cpio, made once per kernel, QEMU and busybox version and
CACHE_FORMAT; resolve_qemu(opts) -> the host's and L0's QEMU versions."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .. import hostinfo
from . import cpio
from .apt import BUSYBOX_PACKAGE, fetch_deb
from .cachedir import key
from .report import BedFailure, log

L1_MODULE_DIR = "lib/pvspin-modules"
L1_FIRMWARE_DIR = "/usr/share/qemu"
# Firmware for L2, searched in this order; the first file of a name wins,
# as in QEMU's own search path.
FIRMWARE_SOURCES = ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu")
FIRMWARE_GLOBS = ("*.bin", "*.rom", "*.aml")
QEMU_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/qemu"
QEMU_MODULE_GLOB = "accel-*.so"  # TCG inside L1, for comparisons
L2_QEMU_PATH = "usr/bin/qemu-system-x86_64"
BASE_DIRS = ("proc", "sys", "dev", "tmp", "run", "job", L1_MODULE_DIR)


def _run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, **kw)


def qemu_version(binary):
    """BINARY's version ('7.2.22 (Debian ...)'), or '' when it cannot say."""
    line = hostinfo.qemu_version(binary)
    return "" if line == hostinfo.UNKNOWN else line.removeprefix("QEMU emulator version ")


def resolve_qemu(o):
    """(host QEMU version, L0 QEMU, L0 QEMU version)."""
    host = o.host_qemu
    if not shutil.which(host):
        raise BedFailure(f"{host} not found on the host")
    version = qemu_version(shutil.which(host))
    if not version:
        raise BedFailure(f"cannot read the version of {host}")
    l0, l0_version = o.l0_qemu or host, version
    if o.l0_qemu:
        l0_version = qemu_version(o.l0_qemu)
        if not l0_version:
            raise BedFailure(f"cannot read the version of --l0-qemu {l0} ({l0} --version)")
    return version, l0, l0_version


def copy_with_path(src, root):
    """SRC (dereferenced) to ROOT/SRC."""
    dest = Path(str(root) + str(src))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)


def stage_qemu(root, host_qemu):
    qemu = shutil.which(host_qemu)
    copy_with_path(qemu, root)
    if qemu != "/" + L2_QEMU_PATH:
        (root / L2_QEMU_PATH).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(qemu, root / L2_QEMU_PATH)
    # ldd prints "name => /path (addr)" and "/path/ld.so (addr)"
    r = _run(["ldd", qemu], capture_output=True, text=True)
    if r.returncode != 0:
        raise BedFailure(f"ldd {qemu} failed: {r.stderr.strip()}")
    for lib in sorted(set(re.findall(r"/[^ \t\n]*", r.stdout))):
        copy_with_path(lib, root)
    for mod in sorted(glob.glob(os.path.join(QEMU_MODULE_DIR, QEMU_MODULE_GLOB))):
        copy_with_path(mod, root)
    fwdir = Path(str(root) + L1_FIRMWARE_DIR)
    fwdir.mkdir(parents=True, exist_ok=True)
    for src in FIRMWARE_SOURCES:
        for pattern in FIRMWARE_GLOBS:
            for f in sorted(glob.glob(os.path.join(src, pattern))):
                if not (fwdir / os.path.basename(f)).exists():
                    shutil.copy(f, fwdir)
    if not (fwdir / "bios-256k.bin").exists():
        log("warning: no bios-256k.bin (install seabios): L2 q35/pc without -bios will fail")


def stage_busybox(cache, root, version):
    deb = fetch_deb(cache, BUSYBOX_PACKAGE, version)
    tmp = Path(tempfile.mkdtemp(prefix=".bb.", dir=cache))
    try:
        if _run(["dpkg-deb", "-x", str(deb), str(tmp)]).returncode != 0:
            raise BedFailure(f"cannot unpack {deb}")
        for d in ("bin", "sbin", "usr/bin", "usr/sbin"):
            (root / d).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "bin" / "busybox", root / "bin" / "busybox")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    applets = _run([str(root / "bin" / "busybox"), "--list"], capture_output=True, text=True).stdout.split()
    for applet in applets:
        if applet == "busybox":
            continue
        link = root / "bin" / applet
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("busybox")


def build(cache, prep_key, kdir, busybox_version, host_qemu):
    cache = Path(cache)
    out_path = cache / "base" / f"{key(prep_key)}.cpio"
    if out_path.is_file() and out_path.stat().st_size:
        return out_path
    log("building the base initramfs")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=".root.", dir=cache))
    try:
        for d in BASE_DIRS:
            (root / d).mkdir(parents=True, exist_ok=True)
        stage_busybox(cache, root, busybox_version)
        stage_qemu(root, host_qemu)
        for f in sorted((kdir / "modules").iterdir()):
            shutil.copy(f, root / L1_MODULE_DIR)
        # Uncompressed: unpacking it under TCG is ~1 s faster than gunzip.
        tmp = out_path.with_name(out_path.name + ".tmp")
        with open(tmp, "wb") as out:
            cpio.write_tree(root, out)
        tmp.replace(out_path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out_path
