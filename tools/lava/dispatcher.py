#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# dispatcher.py: LAVA's dispatcher (lava-run) on this host, from Debian's packages unpacked into the cache.
"""Debian's lava-dispatcher package, installed, brings ~146 packages: a new
systemd, kernel headers, bpfcc, libguestfs and an enabled lava-worker
service. lava-run needs none of that to run a job on the stock qemu device
type. So the three packages that hold its code (DISPATCHER_PACKAGES) are
unpacked (apt-get download, dpkg-deb -x) into the cache, and the Python
modules they import are Debian packages like every other dependency
(tools/deps.txt, purpose lava). guestfs (libguestfs) is imported at start
but used only to build disk images, which a tmpfs kernel boot never does:
shim/guestfs.py stands in for it and fails if it is ever called.

Where lava-dispatcher is installed (/usr/bin/lava-run), that one runs.

    tools/lava/dispatcher.py install        unpack the packages into the cache
    tools/lava/dispatcher.py validate JOB   lava_common's strict schema check
    tools/lava/dispatcher.py templates      lava-server's device-type directory

Everything here runs under Debian's python3 (PYTHON), whose packages the
modules are.
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON = "/usr/bin/python3"
SYSTEM_LAVA_RUN = Path("/usr/bin/lava-run")
DISPATCHER_PACKAGES = ("lava-common", "lava-dispatcher", "lava-dispatcher-host")
TEMPLATES_PACKAGE = "lava-server"
TEMPLATES_DIR = "usr/share/lava-server/device-types"
SITE = "usr/lib/python3/dist-packages"
HERE = Path(__file__).resolve().parent
SHIM = HERE / "shim"
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from pvspin import status         # noqa: E402


class NoDispatcher(RuntimeError):
    """The dispatcher could not be installed or run here (status 125)."""


def cache_root(env=os.environ):
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or "/tmp", ".cache")
    return Path(base) / "pvspin" / "lava"


def _version(package):
    """The version apt would fetch, e.g. 2023.01-2."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", package],
                         capture_output=True, text=True)
    m = re.search(r"^Version: (\S+)$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise NoDispatcher(f"apt-cache knows no package {package} (apt-get update?)")
    return m.group(1)


def _unpacked(packages, name):
    """The cache directory holding PACKAGES unpacked (dpkg-deb -x), made
    once under a lock; keyed by the first package's version."""
    root = cache_root() / f"{name}-{_version(packages[0])}"
    if (root / ".complete").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").exists():
            return root
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            # apt-get download writes into the current directory.
            got = subprocess.run(["apt-get", "download", *packages], cwd=tmp,
                                 capture_output=True, text=True)
            debs = sorted(Path(tmp).glob("*.deb"))
            if got.returncode != 0 or len(debs) != len(packages):
                raise NoDispatcher(f"apt-get download {' '.join(packages)} failed: "
                                   f"{got.stderr.strip()[-500:]}")
            tree = Path(tmp) / "root"
            for deb in debs:
                x = subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)],
                                   capture_output=True, text=True)
                if x.returncode != 0:
                    raise NoDispatcher(f"dpkg-deb -x {deb.name}: {x.stderr.strip()}")
            (tree / ".complete").write_text(" ".join(d.name for d in debs) + "\n")
            shutil.rmtree(root, ignore_errors=True)
            os.rename(tree, root)
    return root


def install():
    """The unpacked dispatcher's directory (unpacked on first use)."""
    return _unpacked(DISPATCHER_PACKAGES, "dispatcher")


def templates():
    """lava-server's device-type templates (unpacked on first use)."""
    return _unpacked((TEMPLATES_PACKAGE,), "server") / TEMPLATES_DIR


def command():
    """(argv prefix that runs lava-run, environment) on this host."""
    env = dict(os.environ)
    if SYSTEM_LAVA_RUN.exists():
        return [str(SYSTEM_LAVA_RUN)], env
    root = install()
    env["PYTHONPATH"] = os.pathsep.join([str(root / SITE), str(SHIM)])
    return [PYTHON, str(root / "usr/bin/lava-run")], env


def python():
    """(argv prefix of a python3 that imports lava_common, environment)."""
    env = dict(os.environ)
    if not SYSTEM_LAVA_RUN.exists():
        env["PYTHONPATH"] = os.pathsep.join([str(install() / SITE), str(SHIM)])
    return [PYTHON], env


_VALIDATE = """
import sys, yaml
from lava_common.schemas import validate
from voluptuous import Invalid
try:
    validate(yaml.safe_load(sys.stdin), strict=True)
except Invalid as e:
    print(e)
    sys.exit(1)
"""


def validate(job_text):
    """None when JOB_TEXT (YAML) passes lava_common's strict schema, else
    the schema's complaint."""
    argv, env = python()
    out = subprocess.run(argv + ["-c", _VALIDATE], input=job_text, env=env,
                         capture_output=True, text=True)
    if out.returncode == 0:
        return None
    return (out.stdout + out.stderr).strip() or f"status {out.returncode}"


def main(argv):
    try:
        if argv == ["install"]:
            print(install())
            return 0
        if argv == ["templates"]:
            print(templates())
            return 0
        if len(argv) == 2 and argv[0] == "validate":
            problem = validate(Path(argv[1]).read_text())
            print(problem or "valid")
            return 1 if problem else 0
    except NoDispatcher as e:
        print(f"dispatcher.py: {e}", file=sys.stderr)
        return status.NO_VMM
    except OSError as e:
        print(f"dispatcher.py: {e}", file=sys.stderr)
        return status.BAD_INPUT
    print("usage: tools/lava/dispatcher.py install | templates | validate JOB", file=sys.stderr)
    return status.BAD_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
