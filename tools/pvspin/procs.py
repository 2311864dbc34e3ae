# SPDX-License-Identifier: MIT
# procs.py: child processes in their own process group, stopped as a whole.
"""A child and everything it starts (run-qemu.sh and its QEMU, the nested
bed and its L1) run in a session of their own, so one signal to the group
reaches them all; stop() sends SIGTERM, then SIGKILL after a grace.

    child = Group(argv, stdout=f, stderr=g, cwd=REPO)
    status = child.wait(timeout)      # status.TIMEOUT once it is stopped
    status = child.wait_for(0.2)      # None while it runs on
    child.signal(signal.SIGTERM)      # to the whole group, not waiting
    child.stop()                      # idempotent; safe after it ended
"""
import os
import signal
import subprocess

from . import status

STOP_GRACE_S = 10       # from SIGTERM to SIGKILL


class Group:
    """A child process leading its own process group."""

    def __init__(self, argv, *, stdout=None, stderr=None, cwd=None, env=None, text=False):
        self.proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                     cwd=cwd, env=env, text=text, start_new_session=True)
        self.pid = self.proc.pid
        self.timed_out = False      # wait() stopped it at its timeout

    def poll(self):
        return self.proc.poll()

    @property
    def returncode(self):
        return self.proc.returncode

    def wait(self, timeout=None):
        """The child's status; after TIMEOUT seconds the group is stopped and
        the status is status.TIMEOUT. Ctrl-C stops the group, then propagates."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.stop()
            return status.TIMEOUT
        except KeyboardInterrupt:
            self.stop()
            raise

    def wait_for(self, seconds):
        """The child's status if it ends within SECONDS, else None (it runs on)."""
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        """SIG to the whole group, unless it is gone already."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace=STOP_GRACE_S):
        """SIGTERM to the whole group, SIGKILL if the leader lingers past GRACE
        seconds; the group's members are signalled even if the leader ended."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=grace)
                if sig == signal.SIGTERM:
                    # the leader is gone; members that ignored TERM still get KILL
                    try:
                        os.killpg(self.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.poll() is None:
            self.proc.wait()


def run(argv, timeout=None, **kw):
    """Run ARGV in its own group to completion (stopped at TIMEOUT); its status."""
    return Group(argv, **kw).wait(timeout)
