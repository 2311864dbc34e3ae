#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fetch.py: print the cached Xen hypervisor (ELF, package, version), fetching it once per machine (tools/pvspin/xen.py).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pvspin import xen  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(xen.main(sys.argv[1:]))
