# SPDX-License-Identifier: MIT
# options.py: the bed's command line, its defaults and limits, and the job file.
"""parse(argv, env) -> Options, or UsageError / a request for help;
read_jobs(opts) -> [Job]. Every default and limit of the bed is here."""
import os
import re
import shutil
from dataclasses import dataclass, field

from .. import facts
from .report import EXIT_BED, EXIT_USAGE, PROG, UsageError

DEFAULT_KERNEL_META = "linux-image-amd64"
DEFAULT_L1_SMP = 2
DEFAULT_L1_MEM_MB = 2048
L1_BOOT_ALLOWANCE_S = 120      # TCG boot of L1, module load, shutdown
# An L1 that has not loaded KVM this long after its start stalled in its boot
# (QEMU TCG below it, not the guest under test: no L2 has run yet). It is
# stopped and booted again, up to DEFAULT_L1_BOOTS boots in all.
L1_READY_BASE_S = 60
L1_READY_PER_CPU_S = 5
DEFAULT_L1_BOOTS = 2
# L1's soft-lockup watchdog (Linux kernel/watchdog.c) reports a CPU that has
# not scheduled for 20 s, and again each ~26 s that it stays stuck. One
# stuck this long after L1 is ready ends L1 (a bed failure): no run can
# finish, and the whole limit may be many minutes away.
DEFAULT_L1_STALL_LIMIT_S = 40
PER_RUN_ALLOWANCE_S = 15       # L2 QEMU start and exit, beyond its own timeout
L1_JOB_IMAGE = "/job/image"    # @IMAGE@ in a job line
IMAGE_TOKEN = "@IMAGE@"
SERIAL_COPY_TOKEN = "@SERIAL_COPY@"
BREAK_MODES = ("panic", "hang", "softlockup", "hang-first-boot")
L0_ACCELS = {"multi": "tcg", "single": "tcg,thread=single"}
HOST_QEMU_DEFAULT = "qemu-system-x86_64"

USAGE = f"""\
Usage: {PROG} [options] --image PATH JOBFILE

Boot an L1 Linux with real KVM under QEMU TCG and run each line of JOBFILE
inside it as one L2 qemu-system-x86_64 run (all in one L1 boot).

JOBFILE lines: PIN<TAB>TIMEOUT_SEC<TAB>QEMU_ARGS
  PIN        L1 CPU list for 'taskset -c', or '-' for none
  QEMU_ARGS  shell-quoted (POSIX sh); the token @IMAGE@ is the image path.
  Empty lines and lines starting with '#' are ignored.

Options:
  --image PATH          guest image (Multiboot kernel for -kernel); required
  --l1-kernel PKG       Debian kernel package for L1
                        (default: what {DEFAULT_KERNEL_META} depends on)
  --l1-smp N            L1 CPUs (default {DEFAULT_L1_SMP})
  --l1-mem MB           L1 memory (default {DEFAULT_L1_MEM_MB})
  --l1-param M.P=V      module parameter for L1's KVM, e.g. kvm.halt_poll_ns=0
                        (repeatable)
  --l0-tcg multi|single L0's TCG for L1 (default multi): multi runs each L1
                        CPU on a host thread of its own, truly in parallel;
                        single runs them all on one, in turns, which avoids
                        the races in L0's TCG (QEMU 7.2 and 10.0) that now
                        and then break an L2 vCPU when L1's CPUs run at
                        once (docs/nested.md), at the price of that
                        parallelism
  --l0-qemu PATH        QEMU binary that runs L1 (default: the host QEMU,
                        @HOST_QEMU@, which is also the QEMU copied into L1
                        for L2); the env JSON's l0 names its version
  --timeout SEC         bound for the whole call, every L1 boot included
                        (default: sum of job timeouts + {L1_BOOT_ALLOWANCE_S}
                        + {PER_RUN_ALLOWANCE_S} per job)
  --l1-ready-limit SEC  an L1 that has not loaded KVM SEC seconds after its
                        start stalled in its boot: its CPUs' registers are
                        read, it is stopped and booted again (default
                        {L1_READY_BASE_S} + {L1_READY_PER_CPU_S} per L1 CPU)
  --l1-stall-limit SEC  once L1 is ready, a soft-lockup report of an L1 CPU
                        stuck SEC seconds or more ends L1: status {EXIT_BED}
                        naming the report (default {DEFAULT_L1_STALL_LIMIT_S})
  --l1-boots N          boot L1 at most N times when boots stall (default
                        {DEFAULT_L1_BOOTS}); the env JSON's l1_boot says which
                        boot ran the jobs
  --end-pattern ERE     a job whose QEMU arguments hold @SERIAL_COPY@ ends
                        by the guest's word: once its serial output has a
                        line matching ERE (grep -E), QEMU gets --end-grace
                        seconds to exit, is then stopped, and the run's raw
                        status is 0 (the guest powered off)
  --end-grace SEC       those seconds; required with --end-pattern
  --status-file FILE    write each run's raw exit status (124: timed out)
  --env-file FILE       write the L1 description (JSON)
  --quiet               no progress on stderr (errors still)
  --prepare             only fill the cache (JOBFILE and --image not needed)
  --keep-work           keep the work directory (logs of L1) and print it
  --diag-dir DIR        keep diagnostics in DIR: per L2 run that did not pass
                        (raw status other than 1) run-I.qemu.log (the tail of
                        its QEMU's -d guest_errors,cpu_reset log) and
                        run-I.l1-dmesg (L1's kernel log then),
                        run-I.l1-trace (L1 KVM's trace of vCPU shutdowns,
                        injected faults and the emulations before them,
                        with the L1 symbol of each L1 address, unless
                        --guest-kernel-half); on a bed
                        failure l1-console.log, l1-qemu.log and l1-dmesg
  --l1-break-module M   test hook: remove module M from L1 (expect {EXIT_BED})
  --l1-break MODE       test hook: MODE panic|hang breaks L1 after KVM loads;
                        softlockup prints a soft-lockup report of CPU 1 on
                        L1's console, then hangs; hang-first-boot stalls
                        L1's first boot before it
  --guest-kernel-half   the L2 guest's own code runs in the kernel half of the
                        address space, as L1's does (a Linux guest): the
                        trace's RIPs there are the guest's and are not named
                        as L1's (without it, as for pvspin, which never runs
                        there, such a RIP is L1's code)
  --l1-no-anchor        experiment hook: no kvm-anchor in L1, so the static
                        keys KVM moves per guest are patched at every L2 boot
                        (kvm-anchor.c)
  -h, --help            this text

Output: stdout carries, per run, one '# l1: {{json}}' line then the L2 serial
output, byte-exact; diagnostics never go there (stderr, --diag-dir). Exit: 0 bed worked (statuses recorded), {EXIT_BED} bed
failure (reason on stderr), {EXIT_USAGE} bad usage.
Cache: ${{XDG_CACHE_HOME:-$HOME/.cache}}/pvspin/nested
Environment: PVSPIN_NESTED_BREAK_MODULE, PVSPIN_NESTED_BREAK,
PVSPIN_NESTED_NO_ANCHOR=1 (same as the hooks), PVSPIN_NESTED_QEMU (host QEMU
binary), PVSPIN_NESTED_L0_QEMU (same as --l0-qemu), CC (compiler for
kvm-anchor, default gcc).
"""

# options taking a value: option -> attribute of Options
VALUE_OPTIONS = {
    "--image": "image", "--l1-kernel": "l1_kernel", "--l1-smp": "l1_smp",
    "--l1-mem": "l1_mem", "--l0-tcg": "l0_tcg", "--l0-qemu": "l0_qemu",
    "--timeout": "timeout", "--l1-ready-limit": "l1_ready_limit",
    "--l1-boots": "l1_boots", "--l1-stall-limit": "l1_stall_limit",
    "--status-file": "status_file", "--end-pattern": "end_pattern",
    "--end-grace": "end_grace", "--env-file": "env_file", "--diag-dir": "diag_dir",
    "--l1-break": "break_mode",
}
PIN_RE = re.compile(facts.CPULIST_RE)
MODULE_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+=\S*$")


class HelpRequested(Exception):
    pass


@dataclass
class Job:
    pin: str
    timeout_s: int
    args: str               # @IMAGE@ already replaced

    def line(self):
        return f"{self.pin}\t{self.timeout_s}\t{self.args}"


@dataclass
class Options:
    image: str = ""
    jobfile: str = ""
    l1_kernel: str = ""
    l1_smp: str = str(DEFAULT_L1_SMP)
    l1_mem: str = str(DEFAULT_L1_MEM_MB)
    l0_tcg: str = "multi"
    l0_qemu: str = ""
    timeout: str = ""
    l1_ready_limit: str = ""
    l1_boots: str = str(DEFAULT_L1_BOOTS)
    l1_stall_limit: str = str(DEFAULT_L1_STALL_LIMIT_S)
    status_file: str = ""
    env_file: str = ""
    end_pattern: str = ""
    end_grace: str = ""
    diag_dir: str = ""
    break_mode: str = ""
    break_modules: str = ""
    module_params: list = field(default_factory=list)
    quiet: bool = False
    prepare: bool = False
    keep_work: bool = False
    anchor: bool = True
    guest_kernel_half: bool = False
    host_qemu: str = HOST_QEMU_DEFAULT
    # set by parse() once checked
    l0_accel: str = ""
    smp: int = 0
    mem_mb: int = 0
    boots: int = 0
    stall_limit_s: int = 0


def usage(env=os.environ):
    return USAGE.replace("@HOST_QEMU@", env.get("PVSPIN_NESTED_QEMU") or HOST_QEMU_DEFAULT)


def is_posint(text):
    return bool(re.fullmatch(r"[0-9]+", text)) and int(text) > 0


def pin_in_range(pin, smp):
    """Every CPU of the taskset list exists in L1 (a failed taskset in L1
    would exit 1, which reads as a pass of isa-debug-exit); a range that
    runs backwards names none."""
    try:
        return max(facts.parse_cpulist(pin)) < smp
    except ValueError:
        return False


def parse(argv, env=os.environ):
    """Options from ARGV; UsageError on bad usage, HelpRequested for -h."""
    o = Options(break_modules=env.get("PVSPIN_NESTED_BREAK_MODULE", ""),
                break_mode=env.get("PVSPIN_NESTED_BREAK", ""),
                anchor=env.get("PVSPIN_NESTED_NO_ANCHOR", "") != "1",
                l0_qemu=env.get("PVSPIN_NESTED_L0_QEMU", ""),
                host_qemu=env.get("PVSPIN_NESTED_QEMU") or HOST_QEMU_DEFAULT)
    args = list(argv)
    while args:
        a = args[0]
        if a in VALUE_OPTIONS or a in ("--l1-param", "--l1-break-module"):
            if len(args) < 2:
                raise UsageError(f"option {a} needs a value")
            value = args[1]
            del args[:2]
            if a == "--l1-param":
                o.module_params.append(value)
            elif a == "--l1-break-module":
                o.break_modules = f"{o.break_modules} {value}"
            else:
                setattr(o, VALUE_OPTIONS[a], value)
        elif a in ("--quiet", "--prepare", "--keep-work", "--l1-no-anchor", "--guest-kernel-half"):
            del args[0]
            if a == "--quiet":
                o.quiet = True
            elif a == "--prepare":
                o.prepare = True
            elif a == "--keep-work":
                o.keep_work = True
            elif a == "--guest-kernel-half":
                o.guest_kernel_half = True
            else:
                o.anchor = False
        elif a in ("-h", "--help"):
            raise HelpRequested
        elif a == "--":
            del args[0]
            break
        elif a.startswith("-"):
            raise UsageError(f"unknown option: {a}")
        else:
            break
    if o.prepare:
        if args:
            raise UsageError("--prepare takes no JOBFILE")
    else:
        if len(args) != 1:
            raise UsageError("expected exactly one JOBFILE")
        o.jobfile = args[0]
        if not o.image:
            raise UsageError("--image is required")
        if not (os.path.isfile(o.image) and os.access(o.image, os.R_OK)):
            raise UsageError(f"image not found: {o.image}")
        if not (os.path.isfile(o.jobfile) and os.access(o.jobfile, os.R_OK)):
            raise UsageError(f"job file not found: {o.jobfile}")
    if not is_posint(o.l1_smp):
        raise UsageError(f"--l1-smp must be a positive integer: {o.l1_smp}")
    if (o.end_pattern or o.end_grace) and not is_posint(o.end_grace):
        raise UsageError(f"--end-pattern goes with --end-grace, a positive integer (s): '{o.end_grace}'")
    if not o.end_pattern and o.jobfile and SERIAL_COPY_TOKEN in read_text(o.jobfile):
        raise UsageError("jobs with @SERIAL_COPY@ end by the guest's word: they need --end-pattern")
    if o.l0_tcg not in L0_ACCELS:
        raise UsageError(f"--l0-tcg must be multi or single: {o.l0_tcg}")
    o.l0_accel = L0_ACCELS[o.l0_tcg]
    if not is_posint(o.l1_mem):
        raise UsageError(f"--l1-mem must be a positive integer (MB): {o.l1_mem}")
    if o.timeout and not is_posint(o.timeout):
        raise UsageError(f"--timeout must be a positive integer (seconds): {o.timeout}")
    if o.l1_ready_limit and not is_posint(o.l1_ready_limit):
        raise UsageError(f"--l1-ready-limit must be a positive integer (seconds): {o.l1_ready_limit}")
    if not is_posint(o.l1_boots):
        raise UsageError(f"--l1-boots must be a positive integer: {o.l1_boots}")
    if not is_posint(o.l1_stall_limit):
        raise UsageError(f"--l1-stall-limit must be a positive integer (seconds): {o.l1_stall_limit}")
    if o.l0_qemu and not shutil.which(o.l0_qemu):
        raise UsageError(f"--l0-qemu: no such executable: {o.l0_qemu}")
    for p in o.module_params:
        if not MODULE_PARAM_RE.fullmatch(p):
            raise UsageError(f"--l1-param must be MODULE.PARAM=VALUE: {p}")
    if o.break_mode and o.break_mode not in BREAK_MODES:
        raise UsageError(f"--l1-break must be panic, hang, softlockup or hang-first-boot: {o.break_mode}")
    o.smp, o.mem_mb, o.boots = int(o.l1_smp), int(o.l1_mem), int(o.l1_boots)
    o.stall_limit_s = int(o.l1_stall_limit)
    return o


def read_text(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        return f.read()


def read_jobs(o):
    """The job lines of o.jobfile, checked; UsageError names the bad line."""
    jobs = []
    text = read_text(o.jobfile)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, 1):
        where = f"{o.jobfile}:{n}"
        if not line.strip() or line.startswith("#"):
            continue
        if line.count("\t") < 2:
            raise UsageError(f"{where}: expected PIN<TAB>TIMEOUT_SEC<TAB>QEMU_ARGS")
        pin, tmo, args = line.split("\t", 2)
        if pin != "-" and not PIN_RE.fullmatch(pin):
            raise UsageError(f"{where}: PIN must be '-' or a CPU list: {pin}")
        if pin != "-" and not pin_in_range(pin, o.smp):
            raise UsageError(f"{where}: PIN {pin} names CPUs that L1 lacks (--l1-smp {o.smp}: 0-{o.smp - 1})")
        if not is_posint(tmo):
            raise UsageError(f"{where}: TIMEOUT_SEC must be a positive integer: {tmo}")
        if not args.strip():
            raise UsageError(f"{where}: empty QEMU_ARGS")
        jobs.append(Job(pin, int(tmo), args.replace(IMAGE_TOKEN, L1_JOB_IMAGE)))
    return jobs
