# SPDX-License-Identifier: MIT
# apt.py: the L1 kernel and busybox packages: versions from apt-cache, .debs from apt-get download.
"""resolve_versions(root, requested) -> (package, kernel version, busybox
version), kept per state of apt's lists; fetch_deb(root, pkg, version)
-> the cached .deb; deb_tar() runs tar on a .deb's file system."""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .cachedir import key
from .options import DEFAULT_KERNEL_META
from .report import BedFailure, log

BUSYBOX_PACKAGE = "busybox-static"
APT_LISTS_GLOB = "/var/lib/apt/lists/*Packages*"


def _run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, **kw)


def apt_version(pkg):
    """The candidate version apt knows of, '' when none (apt's lists missing
    or PKG unknown: callers say which)."""
    r = _run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("Version: "):
            return line[len("Version: "):]
    return ""


def apt_lists_stamp():
    """Changes whenever apt's package lists change (empty lists, as in a
    fresh container image, are a state like any other)."""
    text = ""
    for path in sorted(glob.glob(APT_LISTS_GLOB)):
        try:
            st = os.stat(path)
        except OSError:
            continue
        text += f"{path} {st.st_size} {int(st.st_mtime)}\n"
    return hashlib.md5(text.encode()).hexdigest()[:16]


def ensure_lists():
    if apt_version(BUSYBOX_PACKAGE):
        return
    log("apt lists missing; running apt-get update")
    r = _run(["apt-get", "update", "-qq"], stdout=2)
    if r.returncode != 0:
        raise BedFailure(f"apt-get update failed (needed to find {BUSYBOX_PACKAGE} and the L1 kernel)")
    # apt-get update exits 0 when every download failed (offline): say so
    # here, not later as an unknown package.
    if not apt_version(BUSYBOX_PACKAGE):
        raise BedFailure(f"apt-get update left apt without {BUSYBOX_PACKAGE} (offline? its messages are "
                         "above); the bed needs it and the L1 kernel from Debian's archive")


def resolve_kernel_package(requested):
    pkg = requested
    if not pkg:
        r = _run(["apt-cache", "depends", DEFAULT_KERNEL_META], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            m = re.fullmatch(r" *Depends: (linux-image-\S*)", line)
            if m:
                pkg = m.group(1)
                break
        if not pkg:
            raise BedFailure(f"cannot resolve the kernel package that {DEFAULT_KERNEL_META} "
                             "depends on (apt-cache depends)")
    kver = apt_version(pkg)
    if not kver:
        raise BedFailure(f"kernel package {pkg} not known to apt-cache")
    bbver = apt_version(BUSYBOX_PACKAGE)
    if not bbver:
        raise BedFailure(f"{BUSYBOX_PACKAGE} not known to apt-cache")
    return pkg, kver, bbver


def resolve_versions(root, requested):
    """(package, kernel version, busybox version). apt-cache takes ~0.8 s a
    call, so the answer is kept per state of apt's lists."""
    memo_dir = Path(root) / "resolved"
    memo = memo_dir / f"{key(requested or 'default')}_{apt_lists_stamp()}"
    if memo.is_file() and memo.stat().st_size:
        fields = memo.read_text().split(maxsplit=2)
        if len(fields) == 3 and fields[2].strip():
            return fields[0], fields[1], fields[2].strip()
    ensure_lists()
    answer = resolve_kernel_package(requested)
    memo_dir.mkdir(parents=True, exist_ok=True)
    memo = memo_dir / f"{key(requested or 'default')}_{apt_lists_stamp()}"
    tmp = memo.with_name(memo.name + ".tmp")
    tmp.write_text(" ".join(answer) + "\n")
    tmp.replace(memo)
    return answer


def fetch_deb(root, pkg, version):
    """The cached .deb of PKG=VERSION (downloaded once)."""
    d = Path(root) / "debs"
    deb = d / f"{key(f'{pkg}_{version}')}.deb"
    if deb.is_file() and deb.stat().st_size:
        return deb
    d.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dl.", dir=d))
    try:
        log(f"downloading {pkg}={version}")
        with open(tmp / "log", "w") as lf:
            r = _run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=tmp, stdout=lf, stderr=lf)
        debs = sorted(tmp.glob("*.deb"))
        if r.returncode != 0 or not debs:
            sys.stderr.write((tmp / "log").read_text(errors="replace"))
            raise BedFailure(f"download of {pkg}={version} failed (apt-get download)")
        debs[0].replace(deb)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return deb


def deb_tar(deb, tar_args, what, **kw):
    """tar TAR_ARGS on the file system tarfile of DEB; BedFailure 'WHAT DEB'."""
    dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        r = subprocess.run(["tar"] + tar_args, stdin=dpkg.stdout, **kw)
    finally:
        dpkg.stdout.close()
        dpkg_status = dpkg.wait()
    if r.returncode != 0 or dpkg_status != 0:
        raise BedFailure(f"{what} {deb}")
    return r
