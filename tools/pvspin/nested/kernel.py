# SPDX-License-Identifier: MIT
# kernel.py: the L1 kernel from its Debian package: vmlinuz, an uncompressed vmlinux, the modules the bed loads.
"""unpack(root, pkg, version) -> kernels/PKG_VERSION/ with vmlinuz,
release, and modules/*.ko with their load order per group (each module's
dependencies first, read from its modinfo 'depends='); extract_vmlinux()
adds the uncompressed vmlinux QEMU boots through its PVH note;
boot_kernel() is the one to boot."""
import lzma
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

from .apt import deb_tar, fetch_deb
from .cachedir import key
from .report import BedFailure, log

# L1 modules, each group loaded with its dependencies, in this order.
MODULE_GROUPS = (("channel", ("virtio_pci", "virtio_console")),   # the host channels
                 ("kvm", ("kvm-amd",)))
# Compressed kernels: magic, and how to decompress from there (Python's
# own for xz and gzip; zstd when the tool is there).
VMLINUZ_MAGICS = (("xz", b"\xfd7zXZ\x00"), ("gzip", b"\x1f\x8b\x08"), ("zstd", b"\x28\xb5\x2f\xfd"))
PVH_NOTE_RE = re.compile(r"Xen .*\(0x00000012\)")   # XEN_ELFNOTE_PHYS32_ENTRY


def module_depends(ko):
    """The module names KO depends on (its modinfo 'depends=' string)."""
    data = Path(ko).read_bytes()
    for m in re.finditer(rb"[\x20-\x7e\t]{4,}", data):
        if m.group().startswith(b"depends="):
            return [d for d in m.group()[len(b"depends="):].decode().split(",") if d]
    return []


def _nonempty(p):
    return p.is_file() and p.stat().st_size > 0


def unpack(root, pkg, version):
    """vmlinuz, its release, and the bed's modules with their dependencies
    and load order per group, in ROOT/kernels/PKG_VERSION (made once)."""
    root = Path(root)
    kdir = root / "kernels" / key(f"{pkg}_{version}")
    if all(_nonempty(kdir / p) for p in ("vmlinuz", "modules/order.kvm", "modules/order.channel")):
        return kdir
    deb = fetch_deb(root, pkg, version)
    log(f"unpacking {pkg}")
    tmp = Path(tempfile.mkdtemp(prefix=".unpack.", dir=root))
    try:
        listing = deb_tar(deb, ["-t"], "cannot read", capture_output=True, text=True).stdout.splitlines()
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
            deb_tar(deb, ["-x", "-C", str(tmp)] + wanted, "cannot extract modules from")
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
        deb_tar(deb, ["-x", "-C", str(tmp), f"./boot/vmlinuz-{release}"], "cannot extract vmlinuz from")
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


def has_pvh_note(elf):
    if not shutil.which("readelf"):
        return False
    r = subprocess.run(["readelf", "-n", str(elf)], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace")
    return bool(PVH_NOTE_RE.search(r.stdout))


def decompress(kind, data):
    """DATA (from a magic on) decompressed up to the end of its stream, or None."""
    try:
        if kind == "xz":
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
        if kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
        if shutil.which("zstd"):
            return subprocess.run(["zstd", "-dc"], input=data, capture_output=True).stdout
    except (lzma.LZMAError, zlib.error, EOFError):
        return None
    return None


def extract_vmlinux(kdir):
    """The uncompressed kernel ELF out of vmlinuz, once. QEMU boots it
    through its PVH note, which saves L1 the decompression under TCG (2-3 s
    of each L1 boot). vmlinux.none records that it cannot be had."""
    out, none = kdir / "vmlinux", kdir / "vmlinux.none"
    if _nonempty(out) or none.exists():
        return
    data = (kdir / "vmlinuz").read_bytes()
    for kind, magic in VMLINUZ_MAGICS:
        off = data.find(magic)
        if off < 0:
            continue
        elf = decompress(kind, data[off:])
        if not elf or elf[:4] != b"\x7fELF":
            continue
        fd, tmp = tempfile.mkstemp(prefix=".vmlinux.", dir=kdir)
        with os.fdopen(fd, "wb") as f:
            f.write(elf)
        if has_pvh_note(tmp):
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
            log(f"L1 kernel: uncompressed vmlinux with a PVH note ({kind})")
            return
        os.unlink(tmp)
    none.touch()
    log("L1 kernel: no PVH vmlinux could be extracted; booting vmlinuz")


def boot_kernel(kdir):
    """vmlinux (PVH entry, no decompression) when there is one, else vmlinuz."""
    return kdir / "vmlinux" if _nonempty(kdir / "vmlinux") else kdir / "vmlinuz"
