# SPDX-License-Identifier: MIT
# floors.py: the minimal Multiboot guests (QEMU's floor and the SMP floor): their sources and how they are assembled.
"""tests/nested/tiny.asm (prints a few lines, exits at once: the nested bed's
stand-in guest and make bench-boot's floor) and tools/bench/floor_smp.asm
(every AP to long mode, then exits: make bench-boot's SMP floor). Both
include tests/nested/mb_guest.inc."""
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INCLUDE_DIR = REPO / "tests" / "nested"
TINY = REPO / "tests" / "nested" / "tiny.asm"
SMP_FLOOR = REPO / "tools" / "bench" / "floor_smp.asm"


def assemble(src, out):
    """Assemble SRC into the flat image OUT (subprocess.CalledProcessError
    if nasm fails, FileNotFoundError if it is missing)."""
    subprocess.run(["nasm", "-f", "bin", f"-I{INCLUDE_DIR}/", "-o", str(out), str(src)], check=True)
    return Path(out)
