# SPDX-License-Identifier: MIT
# runs.py: booting the VMs of the matrix through run-qemu.sh, step by step.
"""The VM runs: planning them and running them directly (tcg, kvm, auto).

plan_runs() lists every VM run (repetitions interleaved; within a config,
one step per variant: pvspin's shapes, then the Linux peer); run_direct()
boots each step's VMs together and sets every Run's status, seconds and
accel (status None: not started). --accel nested is in nested.py.
"""
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pvspin import procs, status
from pvspin.qmp import QmpError, close_all, connect_all, vcpu_threads

from .common import PROG, REPO, meaning, read_text, warn
from .config import Config, fmt_ratio
from .cgroups import REGISTRY
from .hostrun import Session
from .results import ACCEL_LINE_RE, failure_reason
from .variants import LINUX, LOCKTORTURE_SHAPE, PVSPIN_DEFAULT, Variant

ACCEL_MISMATCH = "accelerator mismatch"
WAIT_GRACE_S = 30               # after run-qemu.sh's own timeout, kill it
STOP_GRACE_S = 5


@dataclass
class Run:
    """One VM boot: a config, a repetition, a VM index (1-based)."""
    config: Config
    rep: int
    vm: int
    log: Path
    err: Path
    status: int = None          # None: not started
    seconds: float = 0.0
    accel: str = ""
    reason: str = ""            # why it failed (results.explain_failures)
    host: dict = None           # lock -> the host's measurements (hostrun.Session.measure)
    variant: Variant = PVSPIN_DEFAULT

    @property
    def what(self):
        """The step for progress lines: config, ratio, rep, and the variant unless pvspin's default."""
        tag = "" if self.variant == PVSPIN_DEFAULT else f" {self.variant.text}"
        return f"{self.config.label} ({fmt_ratio(self.config.overcommit)}){tag} rep {self.rep}"

    @property
    def name(self):
        return self.log.stem


def run_name(config, variant, rep, vm):
    tag = f"-{variant.tag}" if variant.tag else ""
    return f"{config.slug}{tag}-rep{rep}-vm{vm}"


def plan_runs(opts, logs, variants):
    """Repetitions interleaved: every config once, then every config again;
    each config's VARIANTS one after another, so the guests compared in a
    row of the summary ran minutes apart at most, on the same host state."""
    runs = []
    for rep in range(1, opts.reps + 1):
        for config in opts.configs:
            for variant in variants:
                for vm in range(1, config.vms + 1):
                    name = run_name(config, variant, rep, vm)
                    runs.append(Run(config, rep, vm, logs / f"{name}.log", logs / f"{name}.err",
                                    variant=variant))
    return runs


def guest_cmdline(opts, run):
    """The guest options of RUN's boot: pvspin's test=bench in its shape, or the peer's."""
    common = [f"duration_ms={opts.duration_ms}", f"warmup_ms={opts.warmup_ms}"]
    v = run.variant
    if v.guest == LINUX:
        return [f"lock={v.lock}", *common, f"long_hold_ms={opts.long_hold_ms}",
                f"pv={opts.pv}", f"seed={run.rep}"]
    if v.shape == LOCKTORTURE_SHAPE:
        shape = [f"shape={LOCKTORTURE_SHAPE}", f"long_hold_ms={opts.long_hold_ms}"]
    else:
        shape = [f"hold_ns={opts.hold_ns}", f"think_ns={opts.think_ns}"]
    return ["test=bench", f"lock={','.join(opts.locks)}", *common, *shape,
            f"pv={opts.pv}", f"seed={run.rep}", *opts.guest]


def run_timeout(opts, run):
    return opts.peer_timeout if run.variant.guest == LINUX else opts.timeout


def run_qemu_options(opts, run):
    return [*(["--guest", LINUX] if run.variant.guest == LINUX else []),
            "--smp", str(run.config.vcpus), "--pin", run.config.cpuset,
            "--hypervisor-bit", opts.hypervisor_bit, "--timeout", str(run_timeout(opts, run)),
            # Under Xen the cpuset is Xen's CPUs, one QEMU thread each; a
            # config without a scheduler runs run-qemu.sh's default.
            *(["--xen-cpus", str(len(run.config.cpus))] if opts.accel == "xen" else []),
            *(["--xen-sched", run.config.sched] if run.config.sched else [])]


def launch(argv, run):
    """run-qemu.sh and its QEMU, in a process group of their own (procs.Group)."""
    with open(run.log, "wb") as out, open(run.err, "wb") as err:
        return procs.Group(argv, stdout=out, stderr=err, cwd=REPO)


def stop(proc):
    """End run-qemu.sh and its QEMU, the whole group."""
    proc.stop(STOP_GRACE_S)


def note(run, message):
    """Add the runner's own message to a run's stderr log."""
    with open(run.err, "a") as f:
        f.write(f"{PROG}: {message}\n")


def wait_run(run, proc, timeout):
    code = proc.wait(timeout + WAIT_GRACE_S)
    if proc.timed_out:
        note(run, f"run-qemu.sh did not end {WAIT_GRACE_S} s after its --timeout; killed")
    return code


def vm_argv(opts, run, qmp_socket):
    """run-qemu.sh's command line for one VM: QEMU starts paused, QMP on QMP_SOCKET."""
    argv = [str(opts.run_qemu), "--accel", opts.accel, *run_qemu_options(opts, run),
            "--qemu", "-qmp", "--qemu", f"unix:{qmp_socket},server=on,wait=off", "--qemu", "-S"]
    return argv + ["--", *guest_cmdline(opts, run)]


def accel_mismatch(opts, run):
    """Why RUN's actual accelerator (run-qemu.sh's accel= line) is refused,
    or '' (also when run-qemu.sh ended before saying: its status tells why)."""
    actual = run_accel(run.err, "")
    if opts.accel == "auto" or actual in ("", opts.accel):
        return ""
    return f"{ACCEL_MISMATCH}: requested --accel {opts.accel}, but run-qemu.sh ran {actual}"


def start_group(opts, session, runs, procs, sockets, support):
    """Connect to the paused VMs, check the accelerator, pin, apply the
    interference, start them together. False when the step cannot run."""
    try:
        clients = connect_all(procs, sockets)
    except (QmpError, OSError, ValueError) as e:
        for run in runs:
            note(run, f"QMP: {e}")
        return False
    try:
        for run in runs:
            why = accel_mismatch(opts, run)
            if why:
                note(run, why)
                return False
        for run, qmp in zip(runs, clients):
            session.add_vm(run, vcpu_threads(qmp), support.get("stall_mechanism", ""))
        session.start_paused()
        for qmp in clients:
            qmp.command("cont")
        session.start_running()
        return True
    except (QmpError, OSError, ValueError) as e:
        for run in runs:
            note(run, f"setting up the vCPU threads failed: {e}")
        return False
    finally:
        close_all(clients)


def run_group(opts, runs, support):
    """The VMs of one config and rep, at the same time."""
    procs = []
    session = Session(runs[0].config, opts.seed, opts.pin_vcpus)
    with tempfile.TemporaryDirectory(prefix="pvspin-bench.") as qmp_dir:
        sockets = [os.path.join(qmp_dir, f"vm{r.vm}.qmp") for r in runs]
        try:
            t0 = time.monotonic()
            for run, sock in zip(runs, sockets):
                procs.append(launch(vm_argv(opts, run, sock), run))
            if not start_group(opts, session, runs, procs, sockets, support):
                session.stop()
                for proc in procs:
                    stop(proc)
            for run, proc in zip(runs, procs):
                code = wait_run(run, proc, run_timeout(opts, run))
                run.status = status.NO_VMM if code < 0 else code     # < 0: killed by a signal
                run.seconds = time.monotonic() - t0
                run.accel = run_accel(run.err, opts.accel)
                if accel_mismatch(opts, run):
                    run.status = status.BAD_INPUT
        finally:
            session.stop()          # thaw and ungroup before QEMU is killed
            for proc in procs:
                stop(proc)
            REGISTRY.cleanup()
        for run in runs:
            run.host = session.measure(run)


def run_accel(err_path, requested):
    """The accelerator run-qemu.sh chose (it says so on stderr)."""
    for line in read_text(err_path).splitlines():
        m = ACCEL_LINE_RE.match(line)
        if m:
            return m.group(1)
    return requested


class Progress:
    def __init__(self, total, quiet):
        self.total, self.done, self.quiet = total, 0, quiet
        self.t0 = time.monotonic()

    def step(self, what, seconds, outcome):
        self.done += 1
        if self.quiet:
            return
        left = (time.monotonic() - self.t0) / self.done * (self.total - self.done)
        print(f"[{self.done}/{self.total}] {what}: {outcome} in {seconds:.1f} s, "
              f"about {left:.0f} s left", file=sys.stderr, flush=True)


def outcome_text(runs):
    bad = [r for r in runs if r.status != status.PASS]
    if not bad:
        return "done"
    return "FAILED " + ", ".join(
        f"vm{r.vm} status {r.status} ({meaning(r.status)})" for r in bad)


def run_direct(opts, runs, support):
    groups = {}
    for run in runs:
        groups.setdefault((run.rep, run.config, run.variant), []).append(run)
    progress = Progress(len(groups), opts.quiet)
    for group in groups.values():
        run_group(opts, group, support)
        progress.step(group[0].what, max(r.seconds for r in group), outcome_text(group))
        bad_input = next((r for r in group if r.status == status.BAD_INPUT), None)
        if bad_input:
            left = sum(1 for r in runs if r.status is None)
            warn(f"run {bad_input.name} was rejected as bad input: {failure_reason(bad_input)}; "
                 f"every run would fail the same way, {left} runs not started")
            return
