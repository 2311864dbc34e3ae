#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# record_fixtures.py: records the Linux peer's consoles that tests/peer/run.py reads (fixtures/).
"""Boot the peer in each recorded shape and keep its raw console.

usage: tests/peer/record_fixtures.py

Each fixture is one QEMU run (TCG, 4 vCPUs) of the cached peer with the
kernel command line run.py would give plus what the case needs: a pass
with and without CPUID's hypervisor bit, lock_busted, a panic (a missing
init), a console cut by a 3-second timeout, too few stats lines for a
window, an unknown torture type. Run it again when the peer's kernel or
init changes what it prints.
"""
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIX = HERE / "fixtures"

# name: (run-qemu.sh options, guest options, extra kernel words, host timeout)
CASES = {
    "pass-tcg-virt_spin_lock": ([], ["duration_ms=5000"], [], 120),
    "pass-tcg-qspinlock": (["--hypervisor-bit", "off"], ["duration_ms=1000"], [], 120),
    "lock_busted-fail": ([], ["lock=lock_busted", "duration_ms=1000"], [], 120),
    "panic-no-init": ([], [], ["rdinit=/missing", "init=/missing"], 60),
    "timeout-cut": ([], ["duration_ms=60000"], [], 3),
    "few-stats": ([], [], ["locktorture.stat_interval=5"], 60),
    "bad-type": ([], [], ["locktorture.torture_type=no_such_lock"], 60),
}


def main():
    FIX.mkdir(exist_ok=True)
    for name, (opts, guest, extra, timeout) in CASES.items():
        dry = subprocess.run([str(REPO / "run-qemu.sh"), "--dry-run", "--guest", "linux", "--accel", "tcg",
                              "--smp", "4", *opts, "--", *guest], capture_output=True, text=True, check=True)
        words = shlex.split(dry.stdout.strip().splitlines()[-1])
        qemu = words[words.index("--") + 1:]
        i = qemu.index("-append") + 1
        qemu[i] = " ".join([w for w in qemu[i].split()
                            if not any(w.startswith(e.split("=")[0] + "=") for e in extra)] + extra)
        try:
            out = subprocess.run(qemu, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout).stdout
        except subprocess.TimeoutExpired as e:
            out = e.stdout or b""
        (FIX / f"{name}.console").write_bytes(out)
        print(f"{name}: {len(out.splitlines())} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
