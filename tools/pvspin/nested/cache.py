# SPDX-License-Identifier: MIT
# cache.py: the L1 bed prepared once per machine: kernel, modules, busybox, QEMU, base initramfs.
"""prepare(opts) -> Prepared: under an flock of the cache's 'lock' file,
resolve the kernel and busybox packages (apt-cache, answers kept per
state of apt's lists), download them (apt-get download), unpack the
kernel and the modules the bed loads with their dependencies, extract an
uncompressed vmlinux that QEMU boots through its PVH note, and build the
base initramfs (busybox, modules, the host's QEMU with its libraries,
accelerator modules and firmware). Layout: docs/nested.md "Cache layout"."""
import fcntl
import glob
import gzip
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import cpio
from .options import DEFAULT_KERNEL_META
from .report import BedFailure, log

CACHE_FORMAT = 3               # bump when the base initramfs layout changes
BUSYBOX_PACKAGE = "busybox-static"
# L1 modules, each group loaded with its dependencies, in this order.
MODULE_GROUPS = (("channel", ("virtio_pci", "virtio_console")),   # the host channels
                 ("kvm", ("kvm-amd",)))
L1_MODULE_DIR = "lib/pvspin-modules"
L1_FIRMWARE_DIR = "/usr/share/qemu"
# Firmware for L2, searched in this order; the first file of a name wins,
# as in QEMU's own search path.
FIRMWARE_SOURCES = ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu")
FIRMWARE_GLOBS = ("*.bin", "*.rom", "*.aml")
QEMU_MODULE_DIR = "/usr/lib/x86_64-linux-gnu/qemu"
QEMU_MODULE_GLOB = "accel-*.so"  # TCG inside L1, for comparisons
L2_QEMU_PATH = "usr/bin/qemu-system-x86_64"
APT_LISTS_GLOB = "/var/lib/apt/lists/*Packages*"
# Compressed kernels: magic, and how to decompress from there (Python's
# own for xz and gzip; zstd when the tool is there).
VMLINUZ_MAGICS = (("xz", b"\xfd7zXZ\x00"), ("gzip", b"\x1f\x8b\x08"), ("zstd", b"\x28\xb5\x2f\xfd"))
PVH_NOTE_RE = re.compile(r"Xen .*\(0x00000012\)")   # XEN_ELFNOTE_PHYS32_ENTRY
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


def cache_root(env=os.environ):
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or "/tmp", ".cache")
    return Path(base) / "pvspin" / "nested"


def key(text):
    """TEXT made safe for a file name (each other byte becomes '_')."""
    return re.sub(rb"[^A-Za-z0-9._+-]", b"_", text.encode("utf-8", "surrogateescape")).decode()


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


def module_depends(ko):
    """The module names KO depends on (its modinfo 'depends=' string)."""
    data = Path(ko).read_bytes()
    for m in re.finditer(rb"[\x20-\x7e\t]{4,}", data):
        if m.group().startswith(b"depends="):
            return [d for d in m.group()[len(b"depends="):].decode().split(",") if d]
    return []


class Cache:
    def __init__(self, opts, root=None):
        self.o = opts
        self.root = Path(root) if root else cache_root()

    # --- apt --------------------------------------------------------------

    def ensure_apt_lists(self):
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

    def resolve_kernel_package(self, requested):
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

    def resolve_versions(self):
        """(package, kernel version, busybox version). apt-cache takes ~0.8 s
        a call, so the answer is kept per state of apt's lists."""
        requested = self.o.l1_kernel
        memo_dir = self.root / "resolved"
        memo = memo_dir / f"{key(requested or 'default')}_{apt_lists_stamp()}"
        if memo.is_file() and memo.stat().st_size:
            fields = memo.read_text().split(maxsplit=2)
            if len(fields) == 3 and fields[2].strip():
                return fields[0], fields[1], fields[2].strip()
        self.ensure_apt_lists()
        answer = self.resolve_kernel_package(requested)
        memo_dir.mkdir(parents=True, exist_ok=True)
        memo = memo_dir / f"{key(requested or 'default')}_{apt_lists_stamp()}"
        tmp = memo.with_name(memo.name + ".tmp")
        tmp.write_text(" ".join(answer) + "\n")
        tmp.replace(memo)
        return answer

    # --- QEMU -------------------------------------------------------------

    @staticmethod
    def qemu_version(binary):
        try:
            r = _run([binary, "--version"], capture_output=True, text=True)
        except OSError:
            return ""
        first = (r.stdout.splitlines() or [""])[0]
        return first.removeprefix("QEMU emulator version ")

    def resolve_qemu(self):
        """(host QEMU version, L0 QEMU, L0 QEMU version)."""
        host = self.o.host_qemu
        if not shutil.which(host):
            raise BedFailure(f"{host} not found on the host")
        version = self.qemu_version(shutil.which(host))
        if not version:
            raise BedFailure(f"cannot read the version of {host}")
        l0, l0_version = self.o.l0_qemu or host, version
        if self.o.l0_qemu:
            l0_version = self.qemu_version(self.o.l0_qemu)
            if not l0_version:
                raise BedFailure(f"cannot read the version of --l0-qemu {l0} ({l0} --version)")
        return version, l0, l0_version

    # --- packages ---------------------------------------------------------

    def fetch_deb(self, pkg, version):
        """The cached .deb of PKG=VERSION (downloaded once)."""
        d = self.root / "debs"
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

    @staticmethod
    def _deb_tar(deb, tar_args, what, **kw):
        """Run tar TAR_ARGS on the file system tarfile of DEB."""
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

    def unpack_kernel(self, pkg, version):
        """vmlinuz, its release, and the bed's modules with their
        dependencies and load order per group, in kernels/PKG_VERSION."""
        kdir = self.root / "kernels" / key(f"{pkg}_{version}")
        if all((kdir / p).is_file() and (kdir / p).stat().st_size
               for p in ("vmlinuz", "modules/order.kvm", "modules/order.channel")):
            return kdir
        deb = self.fetch_deb(pkg, version)
        log(f"unpacking {pkg}")
        tmp = Path(tempfile.mkdtemp(prefix=".unpack.", dir=self.root))
        try:
            listing = self._deb_tar(deb, ["-t"], "cannot read", capture_output=True,
                                    text=True).stdout.splitlines()
            vmlinuz = next((p for p in listing if p.startswith("./boot/vmlinuz-")), None)
            if not vmlinuz:
                raise BedFailure(f"no vmlinuz in {pkg}")
            release = vmlinuz[len("./boot/vmlinuz-"):]
            # Resolve the modules' dependencies by reading each extracted .ko.
            ko_path, seen = {}, set()
            todo = [n for _, names in MODULE_GROUPS for n in names]
            while todo:
                wanted = []
                for name in todo:
                    name = name.replace("-", "_")
                    if name in seen:
                        continue
                    seen.add(name)
                    pat = re.compile(r"/kernel/.*/" + name.replace("_", "[-_]") + r"\.ko$")
                    path = next((p for p in listing if pat.search(p)), None)
                    if not path:
                        raise BedFailure(f"module {name} not found in {pkg}")
                    ko_path[name] = path
                    wanted.append(path)
                if not wanted:
                    break
                self._deb_tar(deb, ["-x", "-C", str(tmp)] + wanted, "cannot extract modules from")
                todo = [d for path in wanted for d in module_depends(tmp / path)]
            out = tmp / "out"
            (out / "modules").mkdir(parents=True)
            placed, every = set(), []

            def place(n, order):
                # load order: dependencies first
                if n in placed:
                    return
                placed.add(n)
                for d in module_depends(tmp / ko_path[n]):
                    place(d.replace("-", "_"), order)
                order.append(n)

            for group, names in MODULE_GROUPS:
                order = []
                for name in names:
                    place(name.replace("-", "_"), order)
                (out / "modules" / f"order.{group}").write_text("".join(f"{n}\n" for n in order))
                every += order
            self._deb_tar(deb, ["-x", "-C", str(tmp), f"./boot/vmlinuz-{release}"],
                          "cannot extract vmlinuz from")
            (tmp / "boot" / f"vmlinuz-{release}").replace(out / "vmlinuz")
            (out / "release").write_text(release + "\n")
            for name in every:
                shutil.copyfile(tmp / ko_path[name], out / "modules" / f"{name}.ko")
            kdir.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(kdir, ignore_errors=True)
            out.replace(kdir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"L1 kernel {release}, modules: {' '.join(every)}")
        return kdir

    @staticmethod
    def has_pvh_note(elf):
        if not shutil.which("readelf"):
            return False
        r = _run(["readelf", "-n", str(elf)], capture_output=True, text=True, errors="replace")
        return bool(PVH_NOTE_RE.search(r.stdout))

    @staticmethod
    def decompress(kind, data):
        """DATA (from a magic on) decompressed, or None."""
        try:
            if kind == "xz":
                return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
            if kind == "gzip":
                return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
            if shutil.which("zstd"):
                return _run(["zstd", "-dc"], input=data, capture_output=True).stdout
        except (lzma.LZMAError, zlib.error, gzip.BadGzipFile, EOFError):
            return None
        return None

    def extract_vmlinux(self, kdir):
        """The uncompressed kernel ELF out of vmlinuz, once. QEMU boots it
        through its PVH note, which saves L1 the decompression under TCG
        (2-3 s of each L1 boot). vmlinux.none records that it cannot be had."""
        out, none = kdir / "vmlinux", kdir / "vmlinux.none"
        if (out.is_file() and out.stat().st_size) or none.exists():
            return
        data = (kdir / "vmlinuz").read_bytes()
        for kind, magic in VMLINUZ_MAGICS:
            off = data.find(magic)
            if off < 0:
                continue
            elf = self.decompress(kind, data[off:])
            if not elf or elf[:4] != b"\x7fELF":
                continue
            fd, tmp = tempfile.mkstemp(prefix=".vmlinux.", dir=kdir)
            with os.fdopen(fd, "wb") as f:
                f.write(elf)
            if self.has_pvh_note(tmp):
                os.chmod(tmp, 0o644)
                os.replace(tmp, out)
                log(f"L1 kernel: uncompressed vmlinux with a PVH note ({kind})")
                return
            os.unlink(tmp)
        none.touch()
        log("L1 kernel: no PVH vmlinux could be extracted; booting vmlinuz")

    # --- the base initramfs -----------------------------------------------

    @staticmethod
    def copy_with_path(src, root):
        """SRC (dereferenced) to ROOT/SRC."""
        dest = Path(str(root) + str(src))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)

    def stage_qemu(self, root):
        qemu = shutil.which(self.o.host_qemu)
        self.copy_with_path(qemu, root)
        if qemu != "/" + L2_QEMU_PATH:
            (root / L2_QEMU_PATH).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(qemu, root / L2_QEMU_PATH)
        # ldd prints "name => /path (addr)" and "/path/ld.so (addr)"
        r = _run(["ldd", qemu], capture_output=True, text=True)
        if r.returncode != 0:
            raise BedFailure(f"ldd {qemu} failed: {r.stderr.strip()}")
        for lib in sorted(set(re.findall(r"/[^ \t\n]*", r.stdout))):
            self.copy_with_path(lib, root)
        for mod in sorted(glob.glob(os.path.join(QEMU_MODULE_DIR, QEMU_MODULE_GLOB))):
            self.copy_with_path(mod, root)
        fwdir = Path(str(root) + L1_FIRMWARE_DIR)
        fwdir.mkdir(parents=True, exist_ok=True)
        for src in FIRMWARE_SOURCES:
            for pattern in FIRMWARE_GLOBS:
                for f in sorted(glob.glob(os.path.join(src, pattern))):
                    if not (fwdir / os.path.basename(f)).exists():
                        shutil.copy(f, fwdir)
        if not (fwdir / "bios-256k.bin").exists():
            log("warning: no bios-256k.bin (install seabios): L2 q35/pc without -bios will fail")

    def stage_busybox(self, root, version):
        deb = self.fetch_deb(BUSYBOX_PACKAGE, version)
        tmp = Path(tempfile.mkdtemp(prefix=".bb.", dir=self.root))
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

    def build_base_initrd(self, prep_key, kdir, busybox_version):
        base = self.root / "base" / f"{key(prep_key)}.cpio"
        if base.is_file() and base.stat().st_size:
            return base
        log("building the base initramfs")
        base.parent.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=".root.", dir=self.root))
        try:
            for d in ("proc", "sys", "dev", "tmp", "run", "job", L1_MODULE_DIR):
                (root / d).mkdir(parents=True, exist_ok=True)
            self.stage_busybox(root, busybox_version)
            self.stage_qemu(root)
            for f in sorted((kdir / "modules").iterdir()):
                shutil.copy(f, root / L1_MODULE_DIR)
            # Uncompressed: unpacking it under TCG is ~1 s faster than gunzip.
            tmp = base.with_name(base.name + ".tmp")
            with open(tmp, "wb") as out:
                cpio.write_tree(root, out)
            tmp.replace(base)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return base

    # --- all of it --------------------------------------------------------

    def prepare(self):
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            raise BedFailure(f"cannot create the cache {self.root}") from None
        try:
            lock = open(self.root / "lock", "w")
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            raise BedFailure(f"cannot lock {self.root}/lock") from None
        with lock:
            # Leftovers of an interrupted preparation (nobody else holds the lock).
            for pattern in LEFTOVER_GLOBS:
                for p in glob.glob(str(self.root / pattern)):
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)
            pkg, kver, bbver = self.resolve_versions()
            qver, l0, l0ver = self.resolve_qemu()
            kdir = self.unpack_kernel(pkg, kver)
            self.extract_vmlinux(kdir)
            vmlinux = kdir / "vmlinux"
            boot = vmlinux if vmlinux.is_file() and vmlinux.stat().st_size else kdir / "vmlinuz"
            base = self.build_base_initrd(f"{pkg}_{kver}+qemu_{qver}+bb_{bbver}+v{CACHE_FORMAT}", kdir, bbver)
        return Prepared(pkg, kver, bbver, qver, l0, l0ver, kdir, boot, base)
