#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# matrix.py: the overcommit benchmark runner's entry point (make bench).
"""Overcommit benchmark matrix for pvspin's test=bench (make bench).

Boots the guest at several vCPU counts on several host cpusets, optionally
several VMs at once on the same cpuset, repeats every configuration, and
writes per-lock results (JSON lines and CSV), a Markdown summary that checks
the overcommit goals, and gnuplot plots; `matrix.py report DIR` rebuilds
those reports from a finished run's directory. `--lava-jobs DIR` writes the
matrix as LAVA jobs instead and `matrix.py import-lava` reads their logs
back into a run directory (docs/lava.md); `matrix.py merge` and `matrix.py
compare` put several run directories in one report or judge one against
another. The code is the package pvbench beside this file; docs/bench.md
describes it all.
"""
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from pvbench.main import main  # noqa: E402  (after the path is set)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
