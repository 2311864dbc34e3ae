# SPDX-License-Identifier: MIT
# debug.py: what tests/cases.cfg's debug group cannot say as a table: a QEMU stand-in, a real gdb session, a port in use.
import os
import shutil
import socket
import time
from pathlib import Path

from runner.registry import case

# A QEMU stand-in that prints two whole KTAP documents (a restart that went
# unreported) and the second one's passing EXIT line.
FAKE_QEMU = '''#!/bin/sh
case "$*" in *-version* | *help*) exec {real} "$@" ;; esac
doc='KTAP version 1\\n1..1\\nok 1 smp\\n# summary: 1 passed, 0 failed, 0 skipped in 6 ms\\n'
printf "$doc$doc"'EXIT: STATUS=0\\n'
exit 1
'''
STUB_WAIT_S = 10      # for run-qemu.sh to say its gdbstub listens
GDB_LIMIT_S = 120


def free_port():
    """A TCP port free now (the kernel picks it; closed again at once)."""
    with socket.socket() as s:
        s.bind(('', 0))
        return s.getsockname()[1]


@case('two-documents')
def two_documents(ctx):
    """run-qemu.sh reads a log of two KTAP documents as a crash, not as the
    second document's verdict."""
    fake = ctx.logs / 'fake-qemu'
    fake.mkdir(parents=True, exist_ok=True)
    real = shutil.which('qemu-system-x86_64')
    ctx.require(real, 'qemu-system-x86_64 is not installed')
    (fake / 'qemu-system-x86_64').write_text(FAKE_QEMU.format(real=real))
    os.chmod(fake / 'qemu-system-x86_64', 0o755)
    ctx.run_qemu(['--accel', 'tcg', '--smp', '2'], ['test=smp'], timeout=60,
                 env={'PATH': f'{fake}:{os.environ["PATH"]}'})
    ctx.expect_status(3)
    ctx.grep('the guest printed 2 KTAP documents')


@case('gdb-session')
def gdb_session(ctx):
    """gdb attaches to run-qemu.sh --gdb, breaks in kmain with rip there,
    detaches; the run then passes."""
    ctx.require(shutil.which('gdb'), 'gdb is not installed (tools/deps.sh test installs it)')
    port = free_port()
    gdb_out = ctx.logs / f'{ctx.case.name}.gdb'
    with open(ctx.log, 'wb') as so, open(ctx.err, 'wb') as se:
        qemu = ctx.spawn([ctx.top / 'run-qemu.sh', '--smp', '2', '--gdb', str(port), '--timeout', '120',
                          '--', 'test=smp'], stdout=so, stderr=se)
        try:
            deadline = time.monotonic() + STUB_WAIT_S
            while time.monotonic() < deadline and not ctx.has(f'gdbstub on port {port}', [ctx.err]):
                time.sleep(0.1)
            with open(gdb_out, 'wb') as g:
                gdb = ctx.spawn(['gdb', '-batch', '-nx', '-ex', 'set architecture i386:x86-64',
                                 '-ex', f'symbol-file {ctx.top}/build/pvspin64.elf',
                                 '-ex', f'target remote localhost:{port}', '-ex', 'hbreak kmain',
                                 '-ex', 'continue',
                                 '-ex', 'printf "rip-is-kmain=%d\\n", $rip == (unsigned long)&kmain',
                                 '-ex', 'delete', '-ex', 'detach'], stdout=g, stderr=g)
                gdb.wait(GDB_LIMIT_S)
                ctx.reap(gdb)
            ctx.status = qemu.wait(GDB_LIMIT_S + 60)
        finally:
            ctx.reap(qemu)
    ctx.require('rip-is-kmain=1' in ctx.text(gdb_out),
                f'gdb did not stop in kmain with rip at kmain (gdb log: {gdb_out})')
    ctx.expect_status(0)
    ctx.grep(f'target remote localhost:{port}')
    ctx.ktap(results=['smp=ok'])


@case('gdb-port-busy')
def gdb_port_busy(ctx):
    """--gdb on a port another program listens on: status 2, naming it."""
    with socket.socket() as holder:
        holder.bind(('', 0))
        holder.listen()
        port = holder.getsockname()[1]
        ctx.run_qemu(['--gdb', str(port)], ['test=smp'])
    ctx.expect_status(2)
    ctx.grep(f'--gdb {port}: that port is in use')
