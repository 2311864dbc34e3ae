# SPDX-License-Identifier: MIT
# cachedir.py: where the nested bed's cache lives, how its entries are named, its lock and leftovers.
"""${XDG_CACHE_HOME:-$HOME/.cache}/pvspin/nested; every entry named by
key() of what it was made from (package, version, QEMU and busybox
versions). lock(root) holds a cache (this one, or xen.py's) for one
preparation at a time; remove_leftovers() then clears what an interrupted
one left. Layout: docs/nested.md "Cache layout"."""
import fcntl
import glob
import os
import re
import shutil
from pathlib import Path


def cache_root(env=os.environ):
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or "/tmp", ".cache")
    return Path(base) / "pvspin" / "nested"


def key(text):
    """TEXT made safe for a file name (each other byte becomes '_')."""
    return re.sub(rb"[^A-Za-z0-9._+-]", b"_", text.encode("utf-8", "surrogateescape")).decode()


def lock(root):
    """ROOT's 'lock' file, open and held (flock, exclusive; concurrent
    callers wait); closing it lets go. OSError when it cannot be."""
    f = open(Path(root) / "lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX)
    except OSError:
        f.close()
        raise
    return f


def remove_leftovers(root, patterns):
    """What an interrupted preparation left under ROOT: every match of the
    glob PATTERNS (call it holding lock(root): nobody else is at work)."""
    for pattern in patterns:
        for p in glob.glob(str(Path(root) / pattern)):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
