# SPDX-License-Identifier: MIT
# qmp.py: a minimal QMP client over a unix socket (commands, HMP, vCPU threads).
"""QMP over a unix socket, just enough to find the vCPU threads.

Qmp(path, proc) connects (waiting while run-qemu.sh starts QEMU paused),
negotiates capabilities, and runs commands; failures raise QmpError.
connect_all() connects to every VM of a step; vcpu_threads() lists a VM's
vCPU thread ids (runs.py pins and measures them, then sends 'cont').
"""
import json
import socket
import time

QMP_CONNECT_TIMEOUT_S = 60      # run-qemu.sh checks tools and builds first
QMP_REPLY_TIMEOUT_S = 10
QMP_POLL_S = 0.05


class QmpError(Exception):
    pass


class Qmp:
    """A minimal QMP client over a unix socket."""

    def __init__(self, path, proc, connect_timeout=QMP_CONNECT_TIMEOUT_S,
                 reply_timeout=QMP_REPLY_TIMEOUT_S):
        deadline = time.monotonic() + connect_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if proc.poll() is not None:
                    raise QmpError(f"the QEMU process exited (status {proc.returncode}) "
                                   "before QEMU's QMP socket appeared") from None
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket after {connect_timeout} s") from None
                time.sleep(QMP_POLL_S)
        sock.settimeout(reply_timeout)
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

    def command(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = self._read()
            if "error" in reply:
                raise QmpError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            if "return" in reply:
                return reply["return"]

    def hmp(self, line):
        """A human monitor command's text (e.g. 'info registers -a')."""
        return self.command("human-monitor-command", **{"command-line": line})

    def close(self):
        self.file.close()
        self.sock.close()


def vcpu_threads(qmp):
    """The host thread id of every vCPU, in vCPU index order."""
    return [c["thread-id"] for c in sorted(qmp.command("query-cpus-fast"), key=lambda c: c["cpu-index"])]


def connect_all(procs, sockets):
    """A QMP client per paused VM; on an error the ones made are closed."""
    clients = []
    try:
        for proc, sock in zip(procs, sockets):
            clients.append(Qmp(sock, proc))
    except BaseException:
        close_all(clients)
        raise
    return clients


def close_all(clients):
    for qmp in clients:
        qmp.close()
