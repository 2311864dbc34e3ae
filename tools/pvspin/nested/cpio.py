# SPDX-License-Identifier: MIT
# cpio.py: newc ("070701") archives of a directory tree, as Linux's initramfs unpacks them.
"""write_tree(root, out) archives every path under ROOT (not ROOT itself)
in byte order of their names relative to ROOT, owned by 0:0, as
'find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0' does (cpio
drops find's './'): a directory always comes before what it holds. Regular files get nlink 1
(the kernel would otherwise pair them up as hard links by inode)."""
import os
import stat

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
BLOCK = 512                    # cpio pads the whole archive to its block size


def _pad4(n):
    return (4 - n % 4) % 4


def _header(ino, mode, nlink, mtime, size, name):
    fields = (ino, mode, 0, 0, nlink, mtime, size, 0, 0, 0, 0, len(name) + 1, 0)
    return MAGIC + b"".join(b"%08X" % f for f in fields)


def _entry(out, ino, mode, nlink, mtime, name, data=b"", path=None, size=None):
    name_b = name.encode("utf-8", "surrogateescape")
    size = len(data) if size is None else size
    head = _header(ino, mode, nlink, mtime, size, name_b) + name_b + b"\0"
    out.write(head + b"\0" * _pad4(len(head)))
    written = len(head) + _pad4(len(head))
    if path is not None:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
    else:
        out.write(data)
    out.write(b"\0" * _pad4(size))
    return written + size + _pad4(size)


def tree_names(root):
    """The names under ROOT, relative to it, in byte order."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for n in dirnames + filenames:
            names.append(n if rel == "." else os.path.join(rel, n))
    return sorted(names, key=lambda s: s.encode("utf-8", "surrogateescape"))


def write_tree(root, out):
    """Archive ROOT's contents into the binary stream OUT."""
    total = 0
    ino = 0
    for name in tree_names(root):
        path = os.path.join(root, name)
        st = os.lstat(path)
        ino += 1
        mtime = int(st.st_mtime)
        if stat.S_ISLNK(st.st_mode):
            total += _entry(out, ino, st.st_mode, 1, mtime, name,
                            data=os.readlink(path).encode("utf-8", "surrogateescape"))
        elif stat.S_ISDIR(st.st_mode):
            total += _entry(out, ino, st.st_mode, st.st_nlink, mtime, name)
        elif stat.S_ISREG(st.st_mode):
            total += _entry(out, ino, st.st_mode, 1, mtime, name, path=path, size=st.st_size)
        else:
            raise ValueError(f"{path}: not a file, directory or symlink")
    total += _entry(out, 0, 0, 1, 0, TRAILER)
    out.write(b"\0" * ((BLOCK - total % BLOCK) % BLOCK))


def read_names(data):
    """(name, mode, size, data) of each member of a newc archive, trailer excluded."""
    members, off = [], 0
    while True:
        if data[off:off + 6] != MAGIC:
            raise ValueError(f"no newc header at offset {off}")
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        start = off + 110
        name = data[start:start + namesize - 1].decode("utf-8", "surrogateescape")
        off = start + namesize
        off += _pad4(off)
        if name == TRAILER:
            return members
        members.append((name, mode, size, data[off:off + size]))
        off += size + _pad4(size)
