# SPDX-License-Identifier: MIT
# qmp.py: a minimal QMP client, used to pin vCPU threads before a VM starts.
"""QMP over a unix socket, just enough for --pin-vcpus.

Qmp(path, proc) connects (waiting while run-qemu.sh starts QEMU paused),
negotiates capabilities, and runs commands; failures raise QmpError.
start_pinned() pins every VM's vCPU threads, then resumes them together.
"""
import json
import os
import socket
import time

QMP_CONNECT_TIMEOUT_S = 60      # run-qemu.sh checks tools and builds first
QMP_REPLY_TIMEOUT_S = 10
QMP_POLL_S = 0.05


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client over a unix socket."""

    def __init__(self, path, proc):
        deadline = time.monotonic() + QMP_CONNECT_TIMEOUT_S
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if proc.poll() is not None:
                    raise QmpError(f"run-qemu.sh exited (status {proc.returncode}) "
                                   "before QEMU's QMP socket appeared") from None
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket after {QMP_CONNECT_TIMEOUT_S} s") from None
                time.sleep(QMP_POLL_S)
        sock.settimeout(QMP_REPLY_TIMEOUT_S)
        self.sock = sock
        self.file = sock.makefile("rwb")
        if "QMP" not in self._read():
            raise QmpError("no QMP greeting")
        self.command("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QmpError("QEMU closed the QMP connection")
        return json.loads(line)

    def command(self, name):
        self.file.write(json.dumps({"execute": name}).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "error" in reply:
                raise QmpError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def close(self):
        self.file.close()
        self.sock.close()


def pin_vcpu_threads(qmp, config, vm):
    """vCPU i of VM v runs on CPU ((v-1)*vcpus + i) mod n of the cpuset."""
    vcpus = sorted(qmp.command("query-cpus-fast"), key=lambda c: c["cpu-index"])
    offset = (vm - 1) * config.vcpus
    for cpu in vcpus:
        host_cpu = config.cpus[(offset + cpu["cpu-index"]) % len(config.cpus)]
        os.sched_setaffinity(cpu["thread-id"], {host_cpu})


def start_pinned(runs, procs, sockets):
    """Pin every VM's vCPU threads, then start them all together."""
    clients = []
    try:
        for run, proc, sock in zip(runs, procs, sockets):
            qmp = Qmp(sock, proc)
            clients.append(qmp)
            pin_vcpu_threads(qmp, run.config, run.vm)
        for qmp in clients:
            qmp.command("cont")
    finally:
        for qmp in clients:
            qmp.close()
