# SPDX-License-Identifier: MIT
# xen.py: the Xen hypervisor for run-qemu.sh --accel xen, fetched from Debian once per machine and cached.
"""ensure(root) -> Hypervisor(elf, package, version): under an flock of the
cache's 'lock' file, the gunzipped Multiboot ELF of Debian's Xen hypervisor
package, made once per machine from `apt-get download` (the nested bed's
apt helpers) and kept under ${XDG_CACHE_HOME:-~/.cache}/pvspin/xen (or
PVSPIN_XEN_CACHE). The entry in use is named by the 'current' file; a
complete entry is used without asking apt, so a cached machine boots Xen
offline. XenUnavailable says why Xen cannot start (run-qemu.sh: status 125).
Layout and options: docs/xen.md "Cache"."""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import status
from .nested import apt, cachedir, report
from .nested.cachedir import cache_root, key
from .nested.report import BedFailure

PACKAGE = "xen-hypervisor-4.17-amd64"   # Debian 12's Xen; PVSPIN_XEN_PACKAGE names another
ELF_NAME = "xen.elf"
VERSION_NAME = "version"
PROG = "xen.py"
# Leftovers of an interrupted fetch (apt.fetch_deb's download, unpack()'s
# directory), removed under the lock.
LEFTOVER_GLOBS = (".unpack.*", "debs/.dl.*")


class XenUnavailable(Exception):
    """Xen cannot start here: the message is the cause."""


@dataclass
class Hypervisor:
    elf: Path
    package: str
    version: str


def default_root(env=os.environ):
    if env.get("PVSPIN_XEN_CACHE"):
        return Path(env["PVSPIN_XEN_CACHE"])
    return cache_root(env).parent / "xen"


def entry_ok(d):
    """D holds a whole entry: an ELF and its recorded version."""
    elf, ver = d / ELF_NAME, d / VERSION_NAME
    try:
        with open(elf, "rb") as f:
            magic = f.read(4)
        return magic == b"\x7fELF" and elf.stat().st_size > 4096 and ver.read_text().strip() != ""
    except OSError:
        return False


def cached(root, package):
    """The current entry for PACKAGE, or None (missing or incomplete)."""
    try:
        name = (root / "current" / key(package)).read_text().strip()
    except OSError:
        return None
    d = root / name
    if not name or not entry_ok(d):
        return None
    return Hypervisor(d / ELF_NAME, package, (d / VERSION_NAME).read_text().strip())


def unpack(root, package, version, deb):
    """The entry for PACKAGE=VERSION: /boot/xen-*.gz of DEB, gunzipped."""
    d = root / key(f"{package}_{version}")
    if entry_ok(d):
        return d
    tmp = Path(tempfile.mkdtemp(prefix=".unpack.", dir=root))
    try:
        apt.deb_tar(deb, ["-x", "-C", str(tmp), "--wildcards", "./boot/xen-*.gz"],
                    "no Xen image (./boot/xen-*.gz) in", stderr=subprocess.DEVNULL)
        images = sorted(tmp.glob("boot/xen-*.gz"))
        if not images:
            raise XenUnavailable(f"no ./boot/xen-*.gz in {deb}")
        try:
            with gzip.open(images[0], "rb") as src, open(tmp / ELF_NAME, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError) as e:
            raise XenUnavailable(f"cannot gunzip {images[0].name} from {deb}: {e}") from None
        (tmp / VERSION_NAME).write_text(version + "\n")
        shutil.rmtree(tmp / "boot")
        if not entry_ok(tmp):
            raise XenUnavailable(f"{images[0].name} from {deb} is not an ELF image")
        os.chmod(tmp, 0o755)
        shutil.rmtree(d, ignore_errors=True)
        tmp.rename(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return d


def fetch(root, package):
    version = apt.apt_version(package)
    if not version:
        raise XenUnavailable(f"package {package} not known to apt-cache (run apt-get update; "
                             "Debian 12's archive has it)")
    deb = apt.fetch_deb(root, package, version)
    d = unpack(root, package, version, deb)
    cur = root / "current"
    cur.mkdir(exist_ok=True)
    tmp = cur / f".{key(package)}.tmp"
    tmp.write_text(d.name + "\n")
    tmp.replace(cur / key(package))
    return Hypervisor(d / ELF_NAME, package, version)


def ensure(root=None, package=None):
    root = Path(root) if root else default_root()
    package = package or os.environ.get("PVSPIN_XEN_PACKAGE") or PACKAGE
    try:
        root.mkdir(parents=True, exist_ok=True)
        held = cachedir.lock(root)
    except OSError as e:
        raise XenUnavailable(f"cannot use the cache {root}: {e.strerror}") from None
    with held:
        cachedir.remove_leftovers(root, LEFTOVER_GLOBS)
        hv = cached(root, package)
        if hv:
            return hv
        report.PROG = PROG      # the apt helpers' messages name this tool
        try:
            return fetch(root, package)
        except BedFailure as e:
            raise XenUnavailable(str(e)) from None
        except OSError as e:
            raise XenUnavailable(f"cache {root}: {e}") from None


def main(argv):
    """xen.py [--cache DIR]: print 'ELF<TAB>PACKAGE<TAB>VERSION' of the cached Xen."""
    root = None
    if argv[:1] == ["--cache"] and len(argv) == 2:
        root = argv[1]
    elif argv:
        sys.stderr.write(f"{PROG}: usage: {PROG} [--cache DIR]\n")
        return status.BAD_INPUT
    try:
        hv = ensure(root)
    except XenUnavailable as e:
        sys.stderr.write(f"{PROG}: Xen cannot start: {e}\n")
        return status.NO_VMM
    print(f"{hv.elf}\t{hv.package}\t{hv.version}")
    return status.PASS
