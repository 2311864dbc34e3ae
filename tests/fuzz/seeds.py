#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# seeds.py - write the fuzz seed corpora from real QEMU boots: boots the guest under
# each firmware, saves its memory through QEMU's monitor (pmemsave), and cuts the
# tables out into tests/fuzz/corpus/{acpi,aml,mptable,multiboot}/ (physmem.h layout).
#   tests/fuzz/seeds.py [BOOT...]  (default all; needs the guest's ELF, PVH ELF and ISO)
import os, socket, struct, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(TOP, "tests", "fuzz", "corpus")
MEM_MB = 64
BOOTS = {  # name: run-qemu.sh options
    "q35-qboot": [], "q35-seabios": ["--firmware", "seabios"],
    "pc-qboot": ["--machine", "pc"], "pc-seabios": ["--machine", "pc", "--firmware", "seabios"],
    "microvm": ["--machine", "microvm"], "pvh": ["--boot", "pvh"], "grub-mb2": ["--iso"],
}
CMDLINE = b"test=bench lock=tas duration_ms=3000 verbose=1"
MB1, MB2, PVH = 0, 1, 2          # physmem mode bits of fuzz_multiboot.c
PVH_MAGIC = 0x336EC578


def dump(name, opts, out):
    sock = tempfile.mktemp(prefix="pvspin-mon-")
    cmd = [os.path.join(TOP, "run-qemu.sh"), "--smp", "2", "--mem", str(MEM_MB), *opts,
           "--qemu", "-monitor", "--qemu", "unix:%s,server,nowait" % sock, "--", CMDLINE.decode()]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        time.sleep(1.5)          # past the firmware, the boot loader and the guest's parse
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b"pmemsave 0 %d \"%s\"\n" % (MEM_MB << 20, out.encode()))
        for _ in range(100):
            if os.path.exists(out) and os.path.getsize(out) == MEM_MB << 20:
                break
            time.sleep(0.1)
        s.close()
    finally:
        p.kill()
        p.wait()
        if os.path.exists(sock):     # QEMU leaves its monitor socket behind
            os.unlink(sock)


def chunks(mem, pieces, flags=0):
    b = bytes([flags])
    for addr, length in pieces:
        b += struct.pack("<IH", addr, length) + mem[addr:addr + length]
    return b


def u32(mem, a):
    return struct.unpack_from("<I", mem, a)[0]


def scan(mem, sig):
    ebda = struct.unpack_from("<H", mem, 0x40E)[0] << 4
    for lo, hi in ((ebda, ebda + 1024), (0x9FC00, 0xA0000), (0xE0000, 0x100000)):
        for a in range(lo, hi, 16):
            if lo and mem[a:a + len(sig)] == sig:
                return a
    return 0


def acpi_seeds(mem, name, write):
    r = scan(mem, b"RSD PTR ")
    if not r:
        return
    rev = mem[r + 15]
    pieces = [(r, 36 if rev >= 2 else 20)]
    xsdt = struct.unpack_from("<Q", mem, r + 24)[0] if rev >= 2 else 0
    root, psize = (xsdt, 8) if xsdt else (u32(mem, r + 16), 4)
    rlen = u32(mem, root + 4)
    pieces.append((root, rlen))
    for i in range((rlen - 36) // psize):
        t = struct.unpack_from("<Q" if psize == 8 else "<I", mem, root + 36 + i * psize)[0]
        sig, tlen = mem[t:t + 4], u32(mem, t + 4)
        if sig in (b"APIC", b"HPET", b"FACP"):
            pieces.append((t, tlen))
        if sig == b"FACP":
            d = u32(mem, t + 40)
            dlen = u32(mem, d + 4)
            write("aml", name + "-dsdt", mem[d + 36:d + dlen])
            pieces.append((d, dlen))
    write("acpi", name, chunks(mem, pieces))
    write("acpi", name + "-nodsdt", chunks(mem, [p for p in pieces if mem[p[0]:p[0] + 4] != b"DSDT"]))


def mptable_seeds(mem, name, write):
    f = scan(mem, b"_MP_")
    if f and u32(mem, f + 4):
        c = u32(mem, f + 4)
        write("mptable", name, chunks(mem, [(f, 16), (c, struct.unpack_from("<H", mem, c + 4)[0])]))


def cstr(mem, a):
    return (a, mem.index(b"\0", a) - a + 1)


def multiboot_seeds(mem, name, write):
    where = mem.find(CMDLINE)
    while where >= 0:
        # Multiboot v1 (QEMU -kernel): info.cmdline (offset 16) points into a "path cmdline" string.
        start = mem.rfind(b"\0", 0, where) + 1
        for a in range(0, len(mem) - 72, 4):
            if u32(mem, a + 16) == start and u32(mem, a) & 4 and u32(mem, a) < 0x1000 and u32(mem, a + 44) < 0x1000:
                mi = [(a, 72), cstr(mem, start)]
                if u32(mem, a) & (1 << 9):
                    mi.append(cstr(mem, u32(mem, a + 64)))
                if u32(mem, a) & (1 << 6):
                    mi.append((u32(mem, a + 48), u32(mem, a + 44)))
                write("multiboot", name + "-mb1", chunks(mem, mi, MB1 << 1))
                return
        # Multiboot2 (GRUB): a cmdline tag (type 1) holding it; the info starts 8 bytes before
        # the first tag, at an 8-aligned total_size/reserved(0) pair that covers the tag.
        if u32(mem, start - 8) == 1:
            for a in range((start - 8) & ~7, max(0, start - 8 - 4096), -8):
                total = u32(mem, a)
                if u32(mem, a + 4) == 0 and a + total > start and 16 < total < 0x10000:
                    write("multiboot", name + "-mb2", chunks(mem, [(a, total)], MB2 << 1))
                    return
        where = mem.find(CMDLINE, where + 1)
    # PVH start_info: its magic, 8-aligned, with cmdline_paddr at the command line.
    for a in range(0, len(mem) - 56, 8):
        if u32(mem, a) == PVH_MAGIC:
            cl = struct.unpack_from("<Q", mem, a + 24)[0]
            mm, n = struct.unpack_from("<QI", mem, a + 40)
            pieces = [(a, 56), cstr(mem, cl)] + ([(mm, 24 * n)] if u32(mem, a + 4) >= 1 and n else [])
            write("multiboot", name + "-pvh", chunks(mem, pieces, PVH << 1))
            return


def main():
    written = 0

    def write(target, name, data):
        nonlocal written
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        written += 1
        print("%s/%s: %d bytes" % (target, name, len(data)))

    only = sys.argv[1:] or list(BOOTS)
    for name, opts in BOOTS.items():
        if name not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "mem")
            dump(name, opts, out)
            if not os.path.exists(out):
                print("%s: no memory dump" % name, file=sys.stderr)
                continue
            mem = open(out, "rb").read()
        acpi_seeds(mem, name, write)
        mptable_seeds(mem, name, write)
        multiboot_seeds(mem, name, write)
    print("%d seeds written" % written)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
