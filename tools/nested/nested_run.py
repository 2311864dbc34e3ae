#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# nested_run.py: the nested KVM bed's program (pvspin.nested.main); tools/nested/nested-run.sh runs it.
"""Run pvspin guests (L2) under a real KVM that itself runs inside QEMU's
TCG (L1: a Debian kernel with kvm-amd on TCG's "-cpu max", an AMD CPU with
SVM and NPT). docs/nested.md; --help."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pvspin.nested.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
