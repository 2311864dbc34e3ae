# SPDX-License-Identifier: MIT
# cachedir.py: where the nested bed's cache lives and how its entries are named.
"""${XDG_CACHE_HOME:-$HOME/.cache}/pvspin/nested; every entry named by
key() of what it was made from (package, version, QEMU and busybox
versions). Layout: docs/nested.md "Cache layout"."""
import os
import re
from pathlib import Path


def cache_root(env=os.environ):
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or "/tmp", ".cache")
    return Path(base) / "pvspin" / "nested"


def key(text):
    """TEXT made safe for a file name (each other byte becomes '_')."""
    return re.sub(rb"[^A-Za-z0-9._+-]", b"_", text.encode("utf-8", "surrogateescape")).decode()
