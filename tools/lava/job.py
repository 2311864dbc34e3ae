#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# job.py: a LAVA job (YAML) that boots pvspin on a lab's stock qemu device type, as run-qemu.sh would boot it.
"""The job for one pvspin run, from explicit options:

    j = build_job(Options(smp=4, accel="tcg", guest_args=["test=smp"]))
    print(to_yaml(j), end="")

build_job raises BadJob (bad input, status 2) for what a job cannot
express. As a program it is what `run-qemu.sh --lava-job` runs:

    tools/lava/job.py [--smp N] [--mem MB] [--accel A] ... [-- guest options]

The job asks for nothing but LAVA's stock `qemu` device type: its context
sets `arch`, `no_kvm`, `memory` and `extra_options` (the rest of
run-qemu.sh's QEMU command line), the image is deployed to tmpfs and booted
with `-kernel`, and two test monitors turn the serial console into results
(MONITORS, docs/lava.md).
"""
import argparse
import dataclasses
import hashlib
import re
import sys
import urllib.parse
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from lava import yamlout                       # noqa: E402
from pvspin import facts, status               # noqa: E402

REPO = TOOLS.parent
RUN_QEMU = REPO / "run-qemu.sh"
BUILD = REPO / "build"
IMAGES = {"multiboot": "pvspin.elf", "pvh": "pvspin-pvh.elf"}
DEVICE_TYPE = "qemu"
JOB_NAME_MAX = 200              # lava_common's schema: job_name 1..200 characters

# Time the job grants around the guest's own run (--timeout): fetching the
# image (a file:// copy, or a download from an artifact store), starting
# QEMU, and the dispatcher's start and clean-up.
DEPLOY_S = 300
BOOT_S = 60
JOB_MARGIN_S = 60

# The results. One monitor reads the KTAP lines; the second starts where
# the first stops, at the EXIT line, and records it as the case `exit` with
# the status as its measurement. Each pattern consumes whole lines only
# (up to a newline that has arrived), so a line the dispatcher has read in
# part is never judged. `# SKIP` is a directive after the name: the
# lookahead takes the name first, then `result` is SKIP for a skip and the
# leading ok / not ok otherwise. The EXIT pattern consumes only "EXIT: ", so
# the end pattern still finds the rest of the line after it: an end that
# matched at the same place as the result would win and drop it. The lines
# the serial port sends end in \r\n, through the dispatcher's pty \r\r\n.
KTAP_MONITOR = "pvspin-ktap"
EXIT_MONITOR = "pvspin-exit"
EXIT_CASE = "exit"
MONITORS = [
    {
        "name": KTAP_MONITOR,
        "start": "KTAP version 1",
        "end": "(?=EXIT: STATUS=)",
        "pattern": (r"(?m)^(?=(?:not ok|ok) \d+ (?P<test_case_id>[^\s#]+))"
                    r"(?:(?:not ok|ok) \d+ [^\s#]+ +# (?=SKIP))?"
                    r"(?P<result>SKIP|not ok|ok)[^\r\n]*\r*\n"),
        "fixupdict": {"ok": "pass", "not ok": "fail", "SKIP": "skip"},
    },
    {
        "name": EXIT_MONITOR,
        "start": "(?=EXIT: STATUS=)",
        "end": r"STATUS=\d+\r*\n",
        "pattern": r"(?P<test_case_id>EXIT): (?=STATUS=(?P<result>(?P<measurement>\d+))\r*\n)",
        "fixupdict": {str(n): "pass" if n == status.PASS else "fail"
                      for n in (status.PASS, status.TEST_FAILURE, status.BAD_INPUT,
                                status.GUEST_CRASH, status.LOCKUP)},
    },
]


class BadJob(ValueError):
    """What a LAVA job cannot express, or a bad value: status 2."""


def _run_qemu_fact(name):
    """A readonly value run-qemu.sh states (its QEMU command line's facts)."""
    m = re.search(rf"^readonly {name}=(\S+)$", RUN_QEMU.read_text(), re.M)
    if not m:
        raise RuntimeError(f"{RUN_QEMU}: no 'readonly {name}=...'")
    return m.group(1)


HYPERV_CPU_FLAGS = _run_qemu_fact("HYPERV_CPU_FLAGS")
DEBUG_EXIT_PORT = _run_qemu_fact("DEBUG_EXIT_PORT")
TCG_TB_DEFAULT_MB = int(_run_qemu_fact("TCG_TB_DEFAULT_MB"))
TCG_TB_MB_PER_VCPU = int(_run_qemu_fact("TCG_TB_MB_PER_VCPU"))


def tcg_accel(smp):
    """run-qemu.sh's tcg_accel: multi-threaded TCG, its translation buffer at
    most TCG_TB_MB_PER_VCPU per vCPU above one (run-qemu.sh says why)."""
    mb = TCG_TB_DEFAULT_MB
    if smp > 1:
        mb = min(mb, smp * TCG_TB_MB_PER_VCPU)
    return f"tcg,thread=multi,tb-size={mb}"


@dataclasses.dataclass
class Options:
    """run-qemu.sh's options that a job carries (its names, its defaults).
    accel "auto" is TCG in a job: every qemu worker runs TCG, KVM needs a
    worker with hardware KVM, so a job asks for KVM only when told."""
    smp: int = 4
    mem: int = 256
    accel: str = "auto"             # auto|tcg|kvm
    machine: str = "q35"            # q35|pc|microvm
    firmware: str = ""              # ''|qboot|seabios (q35/pc; default qboot)
    cpu: str = ""                   # QEMU -cpu model (default max / host)
    boot: str = "multiboot"         # multiboot|pvh
    exit: str = "debug-exit"        # debug-exit|acpi
    hyperv: bool = False
    hypervisor_bit: str = "on"      # on|off
    timeout: int = 120              # seconds for the guest's run
    qemu_extra: list = dataclasses.field(default_factory=list)
    guest_args: list = dataclasses.field(default_factory=list)
    image_url: str = ""             # base URL of the images; default file:// of build/
    job_name: str = ""


def _choice(name, value, accepted):
    if value not in accepted:
        raise BadJob(f"--{name} '{value}': accepted: {', '.join(accepted)}")


def _word(what, text):
    """TEXT goes into the QEMU command line the dispatcher splits at
    whitespace and quotes (pexpect's split_command_line)."""
    if not text or re.search(r"[\s'\"\\{}]", text):
        raise BadJob(f"{what} '{text}': a LAVA job's QEMU command line takes words "
                     "without whitespace, quotes, backslashes or braces")


def check(o):
    """Raise BadJob for values run-qemu.sh would refuse, and for what a job
    cannot express."""
    if not isinstance(o.smp, int) or not 1 <= o.smp <= facts.KVM_MAX_VCPUS:
        raise BadJob(f"--smp '{o.smp}': a number of vCPUs, 1..{facts.KVM_MAX_VCPUS}")
    if not isinstance(o.mem, int) or o.mem < 64:
        raise BadJob(f"--mem '{o.mem}': megabytes, at least 64")
    if not isinstance(o.timeout, int) or o.timeout < 1:
        raise BadJob(f"--timeout '{o.timeout}': seconds, at least 1")
    if o.accel == "nested":
        raise BadJob("--accel nested: a lab's qemu device runs QEMU on its worker, not inside "
                     "an L1 KVM host (use --accel tcg, or kvm on workers with hardware KVM)")
    _choice("accel", o.accel, ("auto", "tcg", "kvm"))
    _choice("machine", o.machine, ("q35", "pc", "microvm"))
    _choice("firmware", o.firmware, ("", "qboot", "seabios"))
    if o.boot == "iso":
        raise BadJob("--boot iso: the ISO carries the guest command line in its grub.cfg, "
                     "built per run; a job boots a fixed image by URL (use --boot multiboot or pvh)")
    _choice("boot", o.boot, tuple(IMAGES))
    _choice("exit", o.exit, ("debug-exit", "acpi"))
    _choice("hypervisor-bit", o.hypervisor_bit, ("on", "off"))
    if o.machine == "microvm" and o.firmware:
        raise BadJob("--firmware: microvm has its own (qboot) firmware")
    accel = "tcg" if o.accel == "auto" else o.accel
    if accel == "tcg" and o.smp > facts.TCG_MAX_VCPUS:
        raise BadJob(f"--smp {o.smp}: too many vCPUs for TCG; QEMU 7.2's TCG has no x2APIC, "
                     f"so it stops at {facts.TCG_MAX_VCPUS} (use --accel kvm)")
    if o.smp > facts.TCG_MAX_VCPUS and o.machine != "q35":
        raise BadJob(f"--smp {o.smp}: more than {facts.TCG_MAX_VCPUS} vCPUs needs --machine q35 (x2APIC)")
    if o.hyperv and accel == "tcg":
        raise BadJob("--hyperv with TCG: Hyper-V's enlightenments are KVM's (QEMU's hv-* flags); "
                     "use --accel kvm")
    if o.cpu:
        _word("--cpu", o.cpu)
    for arg in o.qemu_extra:
        _word("--qemu", arg)
    for arg in o.guest_args:
        if not arg or re.search(r"[\s'\"\\{}]", arg):
            raise BadJob(f"guest option '{arg}': the job's -append takes words without "
                         "whitespace, quotes, backslashes or braces")
    if o.exit == "acpi" and any("acpi=off" in a for a in o.qemu_extra):
        raise BadJob("--exit acpi: the machine has no ACPI (--qemu ...acpi=off), "
                     "so the guest could not power it off")
    return accel


def qemu_options(o, accel):
    """run-qemu.sh's QEMU options for the guest (build_qemu_args), but for
    what the stock qemu device type gives itself: -m (the context's
    memory), -enable-kvm (no_kvm false) and the image (the deploy's
    image_arg). One option with its value per item."""
    args = []
    if o.machine in ("q35", "pc"):
        args.append(f"-M {o.machine}")
        if (o.firmware or "qboot") == "qboot":
            args.append("-bios qboot.rom")
    else:
        args.append("-M microvm")
    cpu = o.cpu or ("max" if accel == "tcg" else "host")
    if o.hyperv:
        cpu += "," + HYPERV_CPU_FLAGS
    if o.hypervisor_bit == "off":
        cpu += ",hypervisor=off"
    if accel == "tcg":
        args.append(f"-accel {tcg_accel(o.smp)}")
    else:
        args.append("-global kvm-pit.lost_tick_policy=discard")
    args += [f"-cpu {cpu}", f"-smp {o.smp}", "-nodefaults"]
    if o.machine == "microvm" or o.exit == "acpi":
        args.append("-no-reboot")
    args += ["-display none", "-serial stdio"]
    if o.exit != "acpi":
        args.append(f"-device isa-debug-exit,iobase={DEBUG_EXIT_PORT},iosize=4")
    args += list(o.qemu_extra)
    return args


def image_path(o):
    return BUILD / IMAGES[o.boot]


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_job(o):
    """The job (a dict) for Options O; BadJob for bad input."""
    accel = check(o)
    image = image_path(o)
    base = (o.image_url or image.parent.as_uri()).rstrip("/")
    cmdline = " ".join(o.guest_args)
    name = o.job_name or (f"pvspin {cmdline or 'default'} ({o.machine}, {accel}, "
                          f"{o.smp} vCPUs)")
    url = f"{base}/{image.name}"
    kernel = {"url": url, "image_arg": f'-kernel {{kernel}} -append "{cmdline}"'}
    # The checksum of the image the job fetches: the file a file:// URL
    # names, else this build's (the one to upload to the store).
    local = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)) if url.startswith("file://") else image
    if local.is_file():
        kernel["sha256sum"] = _sha256(local)
    return {
        "job_name": name[:JOB_NAME_MAX],
        "device_type": DEVICE_TYPE,
        "visibility": "public",
        "priority": "medium",
        "timeouts": {
            "job": {"seconds": DEPLOY_S + BOOT_S + o.timeout + JOB_MARGIN_S},
            "action": {"seconds": o.timeout},
            "connection": {"seconds": o.timeout},
        },
        "context": {
            "arch": "amd64",
            "no_kvm": accel != "kvm",
            "memory": o.mem,
            "extra_options": qemu_options(o, accel),
        },
        "metadata": {
            "pvspin.smp": str(o.smp), "pvspin.mem": str(o.mem), "pvspin.accel": accel,
            "pvspin.machine": o.machine, "pvspin.boot": o.boot, "pvspin.exit": o.exit,
            "pvspin.cmdline": cmdline, "pvspin.timeout": str(o.timeout),
        },
        "actions": [
            {"deploy": {"to": "tmpfs", "timeout": {"seconds": DEPLOY_S},
                        "images": {"kernel": kernel}}},
            {"boot": {"method": "qemu", "media": "tmpfs", "timeout": {"seconds": BOOT_S}}},
            {"test": {"timeout": {"seconds": o.timeout}, "monitors": MONITORS}},
        ],
    }


def to_yaml(job):
    head = (f"# A LAVA job for the stock '{DEVICE_TYPE}' device type, written by "
            "run-qemu.sh --lava-job (docs/lava.md).\n")
    return head + yamlout.dump(job)


# ---- command line ------------------------------------------------------
# Options of run-qemu.sh that a job cannot carry. run-qemu.sh passes each
# one that was given, so the refusal and its reason are stated here once.
REFUSED = {
    "guest": "--guest linux: the Linux peer's image is built on this host and its verdict "
             "comes from reading its console (tools/peer/linux/run.py), not from KTAP lines",
    "gdb": "--gdb: a lab's worker offers no debugger connection to the guest",
    "pin": "--pin: the worker's host CPUs are not this host's; the stock qemu device type "
           "starts QEMU itself, without taskset",
    "log": "--log: the job's log stays with the lab (lavacli jobs logs, or "
           "tools/lava/run-local.sh --output-dir here)",
    "reset-log": "--reset-log: the stock qemu device type keeps no QEMU log file",
    "dry-run": "--dry-run: --lava-job prints the job instead of running anything already",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"job.py: {message}", file=sys.stderr)
        sys.exit(status.BAD_INPUT)


def _int(text):
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    return int(text)


def parse(argv):
    p = _Parser(prog="job.py", description="Print a LAVA job that boots pvspin (docs/lava.md).")
    d = Options()
    p.add_argument("--smp", type=_int, default=d.smp)
    p.add_argument("--mem", type=_int, default=d.mem)
    p.add_argument("--accel", default=d.accel)
    p.add_argument("--machine", default=d.machine)
    p.add_argument("--firmware", default=d.firmware)
    p.add_argument("--cpu", default=d.cpu)
    p.add_argument("--boot", default=d.boot)
    p.add_argument("--exit", default=d.exit)
    p.add_argument("--hyperv", action="store_true")
    p.add_argument("--hypervisor-bit", default=d.hypervisor_bit)
    p.add_argument("--timeout", type=_int, default=d.timeout)
    p.add_argument("--qemu", action="append", default=[], metavar="ARG")
    p.add_argument("--lava-image-url", default="", metavar="BASE")
    p.add_argument("--job-name", default="")
    p.add_argument("--refuse", action="append", default=[], choices=sorted(REFUSED),
                   help="a run-qemu.sh option that was given and a job cannot carry")
    p.add_argument("guest_args", nargs="*")
    args = p.parse_args(argv)
    if args.refuse:
        raise BadJob(REFUSED[args.refuse[0]])
    if args.lava_image_url and not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", args.lava_image_url):
        raise BadJob(f"--lava-image-url '{args.lava_image_url}': a base URL such as "
                     "https://artifacts.example.org/pvspin/1234 or file:///srv/pvspin")
    return Options(smp=args.smp, mem=args.mem, accel=args.accel, machine=args.machine,
                   firmware=args.firmware, cpu=args.cpu, boot=args.boot, exit=args.exit,
                   hyperv=args.hyperv, hypervisor_bit=args.hypervisor_bit,
                   timeout=args.timeout, qemu_extra=args.qemu, guest_args=args.guest_args,
                   image_url=args.lava_image_url, job_name=args.job_name)


def main(argv):
    try:
        job = build_job(parse(argv))
    except BadJob as e:
        print(f"run-qemu.sh --lava-job: {e}", file=sys.stderr)
        return status.BAD_INPUT
    sys.stdout.write(to_yaml(job))
    return status.PASS


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
