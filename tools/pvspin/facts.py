# SPDX-License-Identifier: MIT
# facts.py: the facts every host tool shares (vCPU limits, CPU lists, lock and PV backend names), and tools/facts.sh.
"""Facts the host tools share, each stated here once or read from the guest
source that states it:

    TCG_MAX_VCPUS, KVM_MAX_VCPUS   QEMU 7.2's vCPU limits (TCG, q35)
    CPULIST_RE                     a host CPU list (0, 0-1, 0,2-3): one ERE,
                                   for Python's re and bash's =~ alike
    parse_cpulist(text)            '0-1,4' -> (0, 1, 4); ValueError if bad
    format_cpulist(cpus)           (0, 1, 4) -> '0-1,4'
    LOCKS                          the guest's lock names, in its order
                                   (lock/: the lock_types[] registry)
    HIDDEN_LOCKS                   looked up by name, never in "all" (broken)
    PV_CHOICES                     the guest's pv= values (pv_choice_name()'s table)
    XEN_SCHEDS                     Xen's schedulers (its sched=, run-qemu.sh
                                   --xen-sched), the default first
    XEN_PVH_MAX_VCPUS              a PVH domain's vCPU limit under Xen
                                   (Xen's HVM_MAX_VCPUS)

`python3 tools/pvspin/facts.py --sh` prints tools/facts.sh, the same facts
and the exit statuses (status.py) as shell assignments for run-qemu.sh and
the nested bed; tests/pvspin_unit.py checks the committed file is its
output byte for byte.
"""
import re
import sys
from pathlib import Path

if __package__:
    from . import status
else:                                   # run as a script: tools/ is the path's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pvspin import status

REPO = Path(__file__).resolve().parents[2]
LOCK_DIR = REPO / "lock"
KERNEL_DIR = REPO / "kernel"
FACTS_SH = REPO / "tools" / "facts.sh"
GENERATOR = "tools/pvspin/facts.py --sh"

TCG_MAX_VCPUS = 255     # QEMU 7.2's TCG has no x2APIC
KVM_MAX_VCPUS = 288     # QEMU 7.2's q35 limit

# The schedulers Debian's Xen 4.17 is built with, its default (credit2) first.
XEN_SCHEDS = ("credit2", "credit", "rtds", "null")
# A PVH domain's vCPU limit (Xen's HVM_MAX_VCPUS): pvspin's --smp under --accel xen.
XEN_PVH_MAX_VCPUS = 128

CPULIST_RE = r"^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$"
_CPULIST = re.compile(CPULIST_RE)


def parse_cpulist(text):
    """'0-1,4' -> (0, 1, 4), sorted, without repeats; ValueError naming what
    is accepted for anything else (a range that runs backwards too)."""
    if not isinstance(text, str) or not _CPULIST.fullmatch(text):
        raise ValueError(f"'{text}' is not a CPU list; accepted: CPU numbers "
                         "and ranges such as 0, 0-1, 0,2-3")
    cpus = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        low, high = int(low), int(high or low)
        if high < low:
            raise ValueError(f"'{text}': the range {part} runs backwards")
        cpus.update(range(low, high + 1))
    return tuple(sorted(cpus))


def format_cpulist(cpus):
    """(0, 1, 4) -> '0-1,4' (CPUS sorted)."""
    cpus = sorted(cpus)
    parts, start = [], None
    for i, cpu in enumerate(cpus):
        if start is None:
            start = cpu
        if i + 1 == len(cpus) or cpus[i + 1] != cpu + 1:
            parts.append(str(start) if start == cpu else f"{start}-{cpu}")
            start = None
    return ",".join(parts)


def _sources(directory):
    return sorted(p for p in directory.rglob("*") if p.suffix in (".c", ".h") and p.is_file())


def _registry(array):
    """The lock names in the lock/ array ARRAY (its '&lock_type_NAME' items)."""
    for path in _sources(LOCK_DIR):
        m = re.search(rf"\b{array}\[\]\s*=\s*\{{(.*?)\}};", path.read_text(errors="replace"), re.S)
        if m:
            names = re.findall(r"&\s*lock_type_(\w+)", m.group(1))
            if names:
                return tuple(names)
    raise RuntimeError(f"{LOCK_DIR}: no '{array}[] = {{ &lock_type_NAME, ... }}' registry")


def _pv_choices():
    """The guest's pv= values: the name table pv_choice_name() reads, in order."""
    for path in _sources(KERNEL_DIR):
        text = path.read_text(errors="replace")
        fn = re.search(r"\bpv_choice_name\s*\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
        if not fn:
            continue
        for table in re.findall(r"\b(\w+)\s*\[\s*\w+\s*\]", fn.group(1)):
            m = re.search(rf"\b{table}\s*\[\s*\w*\s*\]\s*=\s*\{{(.*?)\}};", text, re.S)
            names = re.findall(r'"([^"]*)"', m.group(1)) if m else []
            if names:
                return tuple(names)
    raise RuntimeError(f"{KERNEL_DIR}: no pv_choice_name() reading a table of pv= names")


LOCKS = _registry("lock_types")
HIDDEN_LOCKS = _registry("lock_types_hidden")
PV_CHOICES = _pv_choices()

# The shell's names of the exit statuses (run-qemu.sh's, and the nested bed's).
SHELL_STATUSES = (("ST_PASS", status.PASS), ("ST_FAIL", status.TEST_FAILURE),
                  ("ST_BAD_INPUT", status.BAD_INPUT), ("ST_CRASH", status.GUEST_CRASH),
                  ("ST_LOCKUP", status.LOCKUP), ("ST_TIMEOUT", status.TIMEOUT),
                  ("ST_NO_QEMU", status.NO_VMM), ("ST_KILLED", status.KILLED))


def shell():
    """tools/facts.sh: POSIX sh assignments (bash and busybox sh source it)."""
    lines = ["# SPDX-License-Identifier: MIT",
             "# facts.sh: the host tools' shared facts for shell scripts (source it).",
             f"# Generated by {GENERATOR} from tools/pvspin/ and the guest source; do not edit.",
             "",
             "# Exit statuses (kernel/exit.h, and the host's own: timeout, QEMU could not run;",
             "# ST_KILLED: a child that needed SIGKILL at its limit, read as a timeout)."]
    lines += [f"{name}={value}" for name, value in SHELL_STATUSES]
    lines += ["", "# vCPU limits of QEMU 7.2: TCG (no x2APIC), q35.",
              f"TCG_MAX_VCPUS={TCG_MAX_VCPUS}", f"KVM_MAX_VCPUS={KVM_MAX_VCPUS}",
              "", "# A host CPU list (0, 0-1, 0,2-3), an ERE: [[ $pin =~ $CPULIST_RE ]].",
              f"CPULIST_RE='{CPULIST_RE}'",
              "", "# The guest's locks (lock/ registry), in order; HIDDEN_LOCKS are never in \"all\".",
              f"LOCKS='{' '.join(LOCKS)}'", f"HIDDEN_LOCKS='{' '.join(HIDDEN_LOCKS)}'",
              "", "# Xen's schedulers (its sched=, run-qemu.sh --xen-sched), the default first.",
              f"XEN_SCHEDS='{' '.join(XEN_SCHEDS)}'",
              "# A PVH domain's vCPU limit under Xen (Xen's HVM_MAX_VCPUS).",
              f"XEN_PVH_MAX_VCPUS={XEN_PVH_MAX_VCPUS}"]
    return "\n".join(lines) + "\n"


USAGE = "usage: tools/pvspin/facts.py --sh   (prints tools/facts.sh)"


def main(argv):
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return status.PASS
    if argv != ["--sh"]:
        print(f"facts.py: {' '.join(argv) or 'no option'}: accepted: --sh", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return status.BAD_INPUT
    sys.stdout.write(shell())
    return status.PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
