#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# build.py: builds the Linux peer (Linux with locktorture as modules its init loads) from Debian's linux-source, cached.
"""Build the Linux peer's bzImage once per machine and print its path.

usage: build.py [--source PKG] [--cache DIR] [--jobs N] [--quiet] [--print-key | --cached]

The source is Debian's newest reachable linux-source-X.Y package (or PKG,
also from $PVSPIN_PEER_SOURCE); its locktorture must have the long_hold
parameter (Linux 6.6 and later), so the 100 ms holds can be turned off.
The kernel is `make tinyconfig` + peer.config, built at nice 19 in two
passes: the kernel and its modules (torture.ko, locktorture.ko), then the
kernel again with the initramfs that holds them and the init (init.c),
which loads them once the kernel has booted. The result is kept in DIR (default ~/.cache/pvspin/
linux-peer, or $PVSPIN_CACHE/linux-peer) under a key made of the package
version, peer.config, init.c, initramfs.list and BUILD_FORMAT, so a change
to any of them builds anew and an unchanged one never does.

--print-key prints the key and exits; --cached exits 0 when the image for
the key is there, 1 otherwise (nothing is fetched or built).
Exit status: 0 built or cached (path on stdout), 2 bad usage or a missing
tool that cannot be installed, 125 the source cannot be had or the build
failed (the log's tail on stderr, the whole log kept in the cache).
"""
import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tools"))
from pvspin import status  # noqa: E402

PROG = "build.py"
BUILD_FORMAT = 2          # bump when the steps below change what is built
FRAGMENT = HERE / "peer.config"
INIT_SRC = HERE / "init.c"
INITRAMFS_LIST = HERE / "initramfs.list"
SOURCE_RE = re.compile(r"^linux-source-(\d+)\.(\d+)$")
LONG_HOLD_PARAM = "torture_param(int, long_hold,"
LOCKTORTURE = "kernel/locking/locktorture.c"
INIT_CFLAGS = ["-static", "-nostdlib", "-ffreestanding", "-fno-pic", "-no-pie", "-Os",
               "-std=c11", "-Wall", "-Wextra", "-Werror", "-fno-stack-protector",
               "-fno-asynchronous-unwind-tables", "-s"]
PROGRESS_EVERY_S = 20


class Fail(Exception):
    """The peer cannot be built: status 125 with this text."""


def say(msg, quiet=False):
    if not quiet:
        print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def cache_root(arg):
    if arg:
        return Path(arg)
    base = os.environ.get("PVSPIN_CACHE") or str(Path.home() / ".cache" / "pvspin")
    return Path(base) / "linux-peer"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def apt_candidate(pkg):
    out = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True).stdout
    m = re.search(r"Candidate: (\S+)", out)
    return m.group(1) if m and m.group(1) != "(none)" else None


def choose_source(forced):
    """(package, version) of the source to build."""
    def candidates():
        out = subprocess.run(["apt-cache", "search", "--names-only", "^linux-source-[0-9]"],
                             capture_output=True, text=True).stdout
        names = [line.split()[0] for line in out.splitlines() if line.split()]
        return sorted((n for n in names if SOURCE_RE.match(n)),
                      key=lambda n: tuple(int(x) for x in SOURCE_RE.match(n).groups()), reverse=True)

    names = [forced] if forced else candidates()
    if not names and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        names = candidates()
    if not names:
        raise Fail("no linux-source-X.Y package is known to apt (run apt-get update)")
    for name in names:
        version = apt_candidate(name)
        if version is None and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
            version = apt_candidate(name)
        if version:
            return name, version
    raise Fail(f"no installable candidate for {', '.join(names)}")


def key_of(pkg, version):
    h = hashlib.sha256()
    for part in (pkg, version, str(BUILD_FORMAT)):
        h.update(part.encode() + b"\0")
    for f in (FRAGMENT, INIT_SRC, INITRAMFS_LIST):
        h.update(f.read_bytes() + b"\0")
    return f"{version.split('-')[0]}-{h.hexdigest()[:12]}"


def fetch_source(root, pkg, version, quiet):
    """The unpacked source tree, fetched and unpacked once."""
    src = root / "src" / f"{pkg}_{version}"
    if (src / ".unpacked").exists():
        return src / "linux"
    debs = root / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pattern = f"{pkg}_{version.replace(':', '%3a')}_*.deb"
    deb = next(debs.glob(pattern), None)
    if deb is None:
        say(f"fetching {pkg} {version} (about 150 MB)", quiet)
        r = subprocess.run(["apt-get", "download", f"{pkg}={version}"], cwd=debs,
                           capture_output=True, text=True)
        deb = next(debs.glob(pattern), None)
        if r.returncode or deb is None:
            raise Fail(f"apt-get download {pkg}={version} failed: {r.stderr.strip()[-400:]}")
    say(f"unpacking {deb.name}", quiet)
    if src.exists():
        shutil.rmtree(src)
    tmp = src.with_name(src.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "deb").mkdir(parents=True)
    run(["dpkg-deb", "-x", str(deb), str(tmp / "deb")])
    tarball = next((tmp / "deb" / "usr" / "src").glob("linux-source-*.tar.*"), None)
    if tarball is None:
        raise Fail(f"{deb.name} holds no linux-source tarball")
    (tmp / "linux").mkdir()
    run(["tar", "-C", str(tmp / "linux"), "--strip-components=1", "-xf", str(tarball)])
    shutil.rmtree(tmp / "deb")
    tmp.rename(src)
    (src / ".unpacked").touch()
    return src / "linux"


def check_source(tree, pkg):
    lt = tree / LOCKTORTURE
    if not lt.exists():
        raise Fail(f"{pkg}: no {LOCKTORTURE}")
    if LONG_HOLD_PARAM not in lt.read_text():
        raise Fail(f"{pkg}: its locktorture has no long_hold parameter (Linux 6.6 and later have it); "
                   "pick a newer source with --source")


def fragment_options():
    """CONFIG_X=value pairs of peer.config."""
    pairs = {}
    for line in FRAGMENT.read_text().splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line.strip())
        if m:
            pairs[m.group(1)] = m.group(2)
    return pairs


def configure(tree, out, initramfs):
    make = ["make", "-s", "-C", str(tree), f"O={out}", "ARCH=x86_64"]
    run(make + ["tinyconfig"], stdout=subprocess.DEVNULL)
    frag = out / "peer.config"
    frag.write_text(FRAGMENT.read_text() + f'CONFIG_INITRAMFS_SOURCE="{initramfs}"\n')
    run([str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(out),
         str(out / ".config"), str(frag)], stdout=subprocess.DEVNULL, cwd=tree)
    run(make + ["olddefconfig"], stdout=subprocess.DEVNULL)
    have = dict(re.findall(r"^(CONFIG_\w+)=(.*)$", (out / ".config").read_text(), re.M))
    lost = [f"{k}={v} (got {have.get(k, 'unset')})" for k, v in fragment_options().items()
            if have.get(k) != v]
    if lost:
        raise Fail("peer.config options that Kconfig did not keep: " + "; ".join(lost))


def compile_kernel(tree, out, jobs, targets, quiet):
    log_path = out / "build.log"
    cmd = ["nice", "-n", "19", "make", "-C", str(tree), f"O={out}", "ARCH=x86_64",
           f"-j{jobs}", *targets]
    t0 = time.monotonic()
    compiled = 0
    last = t0
    with open(log_path, "a") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in p.stdout:
            log.write(line)
            if line.lstrip().startswith("CC "):
                compiled += 1
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                say(f"  {int(now - t0)} s: {compiled} files compiled", quiet)
                last = now
        rc = p.wait()
    if rc:
        tail = log_path.read_text().splitlines()[-30:]
        raise Fail("the kernel build failed (log: %s):\n%s" % (log_path, "\n".join(tail)))
    return time.monotonic() - t0, compiled


def build(args):
    root = cache_root(args.cache)
    pkg, version = choose_source(args.source)
    key = key_of(pkg, version)
    if args.print_key:
        print(key)
        return 0
    done = root / key
    image = done / "bzImage"
    if args.cached:
        return 0 if image.exists() else 1
    if image.exists():
        print(image)
        return 0
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # one build at a time; the next finds it cached
        if image.exists():
            print(image)
            return 0
        tree = fetch_source(root, pkg, version, args.quiet)
        check_source(tree, pkg)
        out = root / f"build-{key}"
        out.mkdir(parents=True, exist_ok=True)
        init = out / "peer-init"   # not "init": the kernel has an init/ folder in O=
        run(["gcc", *INIT_CFLAGS, "-o", str(init), str(INIT_SRC)])
        # The first pass builds the modules the initramfs is to hold, so its
        # list leaves them out; the second relinks the kernel with them.
        initramfs = out / "initramfs.list"
        full = INITRAMFS_LIST.read_text().replace("@INIT@", str(init)).replace("@MODULES@", str(out))
        initramfs.write_text("".join(line for line in full.splitlines(keepends=True)
                                     if str(out) + "/kernel/" not in line))
        configure(tree, out, initramfs)
        say(f"building Linux {version} ({pkg}) for the peer: nice 19, -j{args.jobs} "
            "(a few minutes idle, about 12 on two busy cores)", args.quiet)
        seconds, files = compile_kernel(tree, out, args.jobs, ["bzImage", "modules"], args.quiet)
        initramfs.write_text(full)
        more_seconds, more_files = compile_kernel(tree, out, args.jobs, ["bzImage"], args.quiet)
        seconds, files = seconds + more_seconds, files + more_files
        tmp = root / f"{key}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        shutil.copy(out / "arch/x86/boot/bzImage", tmp / "bzImage")
        shutil.copy(out / ".config", tmp / "config")
        (tmp / "manifest.json").write_text(json.dumps({
            "source_package": pkg, "source_version": version, "key": key,
            "build_format": BUILD_FORMAT, "build_seconds": round(seconds, 1),
            "files_compiled": files, "jobs": args.jobs,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, indent=1) + "\n")
        tmp.rename(done)
        shutil.rmtree(out, ignore_errors=True)
        say(f"built in {seconds:.0f} s: {image}", args.quiet)
    print(image)
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", help="linux-source-X.Y package to build")
    ap.add_argument("--cache", help="cache directory")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--print-key", action="store_true")
    ap.add_argument("--cached", action="store_true")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return status.BAD_INPUT if e.code else 0
    args.source = args.source or os.environ.get("PVSPIN_PEER_SOURCE")
    if args.source and not SOURCE_RE.match(args.source):
        print(f"{PROG}: --source or PVSPIN_PEER_SOURCE '{args.source}': a package named "
              "linux-source-X.Y", file=sys.stderr)
        return status.BAD_INPUT
    # The tools the build needs are tools/deps.sh's "peer" list: it installs
    # them as root, else says which apt-get line would.
    if subprocess.run([str(REPO / "tools" / "deps.sh"), "peer"]).returncode:
        return status.BAD_INPUT
    if args.jobs < 1:
        print(f"{PROG}: --jobs {args.jobs}: at least 1", file=sys.stderr)
        return status.BAD_INPUT
    try:
        return build(args)
    except Fail as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return status.NO_VMM
    except subprocess.CalledProcessError as e:
        print(f"{PROG}: {' '.join(map(str, e.cmd))} failed with status {e.returncode}", file=sys.stderr)
        return status.NO_VMM
    except OSError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return status.NO_VMM


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
