# SPDX-License-Identifier: MIT
# lavajobs.py: the matrix written as LAVA jobs (matrix.py --lava-jobs DIR), one per boot, with a manifest.
"""The matrix as a fleet: one LAVA job per configuration and repetition.

write_jobs(opts, command) writes DIR/NAME.yaml for every boot the matrix
would make (NAME is the run's log name, e.g. 4@0-1-rep1-vm1), each built by
tools/lava/job.py's build_job() with the guest options the runner would
give, and DIR/manifest.json naming what each job is (config, locks, rep,
guest options) with the matrix's options and the guest's revision, which import-lava needs to turn
the jobs' logs back into a run directory (importlava.py).

refusal(opts) says why a matrix cannot be written as jobs, or '': the
stock qemu device type starts QEMU itself, so nothing that acts on the QEMU
process from the host can be carried (the interference modes' cgroups and
QMP, --pin-vcpus), a device runs one job at a time (no VMs sharing a
cpuset), and a job carries no cpuset, so two configs that differ only in
theirs would be the same job. The cpuset stays in the config's label, so
that a lab's set compares with a local one; in the lab the vCPUs run on
the worker's CPUs, unpinned.
"""
import json

from lava import job as lava_job

from .cli import Options
from .common import UsageError
from .env import guest_revision
from .runs import guest_cmdline, plan_runs, run_timeout
from .store import options_json
from .variants import LINUX, plan_variants, variant_locks

MANIFEST = "manifest.json"
MANIFEST_KIND = "pvspin matrix as LAVA jobs"
FORMAT = 1
JOB_SUFFIX = ".yaml"
NOT_DIALLED = ("a lab device cannot be dialled from a job: the stock qemu device type starts "
               "QEMU itself, and the job reaches neither the worker's cgroups nor QEMU's "
               "QMP socket (docs/lava.md)")


def refusal(opts: Options):
    """Why OPTS cannot be written as LAVA jobs, or ''."""
    with_mode = next((c for c in opts.configs if c.interference), None)
    if with_mode:
        return (f"--lava-jobs with config {with_mode.label}: --quota, --stall and --hog act on "
                f"the vCPU threads through the host's cgroups and QMP; {NOT_DIALLED}")
    if opts.pin_vcpus:
        return f"--lava-jobs with --pin-vcpus: pinning the vCPU threads needs QMP; {NOT_DIALLED}"
    shared = next((c for c in opts.configs if c.vms > 1), None)
    if shared:
        return (f"--lava-jobs with config {shared.label}: {shared.vms} VMs at once on one cpuset; "
                "a lab device runs one job's QEMU at a time, and jobs on other devices run on "
                "other hosts")
    if opts.peer:
        return f"--lava-jobs with --peer: {lava_job.REFUSED['guest']}"
    if not opts.default_out:
        return "--lava-jobs with --out: nothing runs, so there is no run directory; the jobs go to DIR"
    seen = {}
    for c in opts.configs:
        other = seen.setdefault(c.vcpus, c)
        if other is not c:
            return (f"--lava-jobs with configs {other.label} and {c.label}: a job carries no "
                    "cpuset (the worker's QEMU is not pinned), so both would be the same job")
    return ""


def job_options(opts, run):
    """tools/lava/job.py's Options for one boot of the matrix."""
    return lava_job.Options(smp=run.config.vcpus, accel=opts.accel,
                            hypervisor_bit=opts.hypervisor_bit, timeout=run_timeout(opts, run),
                            guest_args=guest_cmdline(opts, run), image_url=opts.lava_image_url,
                            job_name=f"pvspin matrix {run.what}")


def check_dir(path):
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"--lava-jobs '{path}': exists and is not an empty directory; "
                         "accepted: a new or empty directory")


def plan(opts):
    """[(Run, job dict)] for every boot, in the matrix's order; UsageError for a refusal."""
    why = refusal(opts)
    if why:
        raise UsageError(why)
    runs = plan_runs(opts, opts.lava_jobs, plan_variants(opts.shapes, opts.peer, opts.peer_lock))
    planned = []
    for run in runs:
        if run.variant.guest == LINUX:      # refused above; stated for the reader
            continue
        try:
            planned.append((run, lava_job.build_job(job_options(opts, run))))
        except lava_job.BadJob as e:
            raise UsageError(f"--lava-jobs: {e}") from None
    return planned


def manifest_entry(opts, run, job):
    return {"job": run.name + JOB_SUFFIX, "job_name": job["job_name"], "config": run.config.label,
            "locks": variant_locks(opts, run.variant), "rep": run.rep, "vm": run.vm,
            "variant": run.variant.to_json(), "smp": run.config.vcpus,
            "guest_options": guest_cmdline(opts, run)}


def write_jobs(opts, command, date):
    """Write every job and the manifest; the paths written. UsageError for bad input."""
    check_dir(opts.lava_jobs)
    planned = plan(opts)
    opts.lava_jobs.mkdir(parents=True, exist_ok=True)
    written = []
    for run, job in planned:
        path = opts.lava_jobs / (run.name + JOB_SUFFIX)
        path.write_text(lava_job.to_yaml(job))
        written.append(path)
    doc = {"format": FORMAT, "kind": MANIFEST_KIND, "date": date, "command": command,
           "options": options_json(opts), "guest_revision": guest_revision(),
           "jobs": [manifest_entry(opts, r, j) for r, j in planned]}
    (opts.lava_jobs / MANIFEST).write_text(json.dumps(doc, indent=1) + "\n")
    return written + [opts.lava_jobs / MANIFEST]
