#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# run_local.py: run a LAVA job on this host with lava-run and the in-tree qemu device; its results as KTAP, pvspin's status.
"""tools/lava/run-local.sh [--output-dir DIR] JOB

The job is checked against lava_common's strict schema, the stock qemu
device is rendered for its context (device.py), and lava-run runs it as
root with no server (local-dispatcher.yaml). Its log goes to
DIR/lava-run.log; the results are printed as KTAP (results.py) and the
exit status is pvspin's: 0 all passed, 1 a failure, 3/4 carried by the
`exit` case, 124 a timeout, 2 bad input (the job, the options), 125 the
dispatcher could not run. Without --output-dir the files go to a temporary
directory, kept (and named on stderr) when the job did not pass.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lava import device, dispatcher, results   # noqa: E402
from pvspin import procs, status               # noqa: E402

LOCAL_DISPATCHER = HERE / "local-dispatcher.yaml"
# lava-run keeps a job's downloads under this directory, per job id.
DISPATCHER_TMP = Path("/var/lib/lava/dispatcher/tmp")
# Beyond the job's own timeout: lava-run's start and its clean-up.
GRACE_S = 60
UNITS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


class BadInput(ValueError):
    pass


def say(text):
    print(f"run-local.sh: {text}", file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BadInput(message)


def parse(argv):
    p = _Parser(prog="tools/lava/run-local.sh",
                description="Run a LAVA job with the local dispatcher; print its results as KTAP.")
    p.add_argument("--output-dir", metavar="DIR",
                   help="keep lava-run's log (lava-run.log), the device and the job here")
    p.add_argument("job", metavar="JOB")
    args = p.parse_args(argv)
    if args.output_dir is not None and not args.output_dir:
        raise BadInput("--output-dir needs a directory")
    return args


def load_job(path):
    import yaml
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror}")
    try:
        job = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise BadInput(f"{path}: not YAML: {e}")
    if not isinstance(job, dict):
        raise BadInput(f"{path}: not a LAVA job (a YAML mapping)")
    problem = dispatcher.validate(text)
    if problem:
        raise BadInput(f"{path}: lava_common's schema refuses it: {problem}")
    if job.get("device_type") != "qemu":
        raise BadInput(f"{path}: device_type '{job.get('device_type')}': "
                       "this host runs jobs for the stock qemu type only")
    return text, job


def job_seconds(job):
    t = job["timeouts"]["job"]
    return sum(UNITS[k] * v for k, v in t.items() if k in UNITS)


def stop_leftovers(job_id):
    """QEMU started by lava-run lives in a session of its own (pexpect's
    pty): stop any that still runs this job's image after lava-run ended."""
    mark = str(DISPATCHER_TMP / str(job_id)) + "/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if mark in cmdline and "qemu-system" in cmdline:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                say(f"stopped QEMU {proc.name} left by job {job_id}")
            except ProcessLookupError:
                pass


class Stopped(Exception):
    """A signal (SIGINT, SIGTERM) ended the run; its exit status is 128 + the signal."""
    def __init__(self, signum):
        super().__init__(signum)
        self.status = 128 + signum


def _stopped(signum, frame):
    raise Stopped(signum)


def run(args):
    text, job = load_job(args.job)
    try:
        dev = device.for_job(device.load(), job.get("context") or {})
    except device.BadDevice as e:
        raise BadInput(f"{args.job}: {e}")
    if os.geteuid() != 0:
        say("lava-run runs jobs as root only (its downloads go to /var/lib/lava)")
        return status.NO_VMM
    out = Path(args.output_dir) if args.output_dir else Path(tempfile.mkdtemp(prefix="pvspin-lava."))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BadInput(f"--output-dir {out}: {e.strerror}")
    import yaml
    (out / "job.yaml").write_text(text)
    (out / "device.yaml").write_text(yaml.safe_dump(dev, sort_keys=False))
    argv, env = dispatcher.command()
    job_id = os.getpid()
    argv += ["--job-id", str(job_id), "--output-dir", str(out / "output"),
             "--device", str(out / "device.yaml"), "--dispatcher", str(LOCAL_DISPATCHER),
             str(out / "job.yaml")]
    log = out / "lava-run.log"
    say(f"lava-run job {job_id}: {job.get('job_name', '')} (log: {log})")
    child = None
    try:
        with open(log, "w") as f:
            child = procs.Group(argv, stdout=f, stderr=f, env=env)
            code = child.wait(job_seconds(job) + GRACE_S)
    except (Stopped, KeyboardInterrupt):
        if args.output_dir is None:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        if child:
            child.stop()
        stop_leftovers(job_id)
    run_ = results.read(log.read_text(errors="replace"))
    sys.stdout.write(run_.ktap())
    st = run_.status()
    if code == status.TIMEOUT and child.timed_out and run_.exit_status is None:
        say(f"lava-run still ran after the job's timeout and {GRACE_S} s; stopped")
        st = status.TIMEOUT
    elif st == status.NO_VMM:
        tail = [r["msg"] for r in results.records(log.read_text(errors="replace"))
                if r["lvl"] in ("error", "exception") and isinstance(r["msg"], str)]
        say(f"the job never ran the guest (lava-run status {code})"
            + (f": {tail[-1]}" if tail else ""))
    if args.output_dir is None:
        if st == status.PASS:
            shutil.rmtree(out, ignore_errors=True)
        else:
            say(f"kept lava-run's log: {log}")
    return st


def main(argv):
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    try:
        return run(parse(argv))
    except BadInput as e:
        say(str(e))
        return status.BAD_INPUT
    except dispatcher.NoDispatcher as e:
        say(str(e))
        return status.NO_VMM
    except Stopped as e:
        say(f"stopped by signal {e.status - 128}")
        return e.status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
