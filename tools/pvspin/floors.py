# SPDX-License-Identifier: MIT
# floors.py: the minimal Multiboot guests (QEMU's floor and the SMP floor): their sources and how they are assembled.
"""tests/nested/tiny.asm (prints a few lines, exits at once: the nested bed's
stand-in guest and make bench-boot's floor) and tools/bench/floor_smp.asm
(every AP to long mode, then exits: make bench-boot's SMP floor). Both
include tests/nested/mb_guest.inc."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INCLUDE_DIR = REPO / "tests" / "nested"
TINY = REPO / "tests" / "nested" / "tiny.asm"
SMP_FLOOR = REPO / "tools" / "bench" / "floor_smp.asm"
# make bench-boot's unit floors: tiny.asm with more of one thing a boot pays
# for. Guest name, tiny.asm's define, how many, the unit's name in the
# results, the part of the boot's split where the extra falls (tiny.asm runs
# its blocks and bytes after its first line; the image is loaded before
# any), and what the count counts.
UNITS = (("floor+blocks", "EXTRA_BLOCKS", 4000, "block", "run", "code blocks"),
         ("floor+bytes", "EXTRA_BYTES", 4000, "byte", "run", "bytes of output"),
         ("floor+image", "EXTRA_IMAGE_KB", 768, "image_kib", "start", "KiB of image"))
UNIT_NAMES = tuple(u[3] for u in UNITS)


def _mb_magic():
    m = re.search(r"^MB_MAGIC\s+equ\s+(0x[0-9A-Fa-f]+)", (INCLUDE_DIR / "mb_guest.inc").read_text(), re.M)
    return int(m.group(1), 16)


MB_MAGIC = _mb_magic()          # the Multiboot v1 header's, as mb_guest.inc states it


def assemble(src, out, defines=None):
    """Assemble SRC into the flat image OUT, with DEFINES ({name: value},
    nasm -D: tiny.asm's EXTRA_BLOCKS, EXTRA_BYTES, EXTRA_IMAGE_KB)
    (subprocess.CalledProcessError if nasm fails, FileNotFoundError if it
    is missing)."""
    d = [f"-D{k}={v}" for k, v in sorted((defines or {}).items())]
    subprocess.run(["nasm", "-f", "bin", f"-I{INCLUDE_DIR}/", *d, "-o", str(out), str(src)], check=True)
    return Path(out)
