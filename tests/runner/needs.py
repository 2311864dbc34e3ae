# SPDX-License-Identifier: MIT
# needs.py: what a case needs of the host (tests/cases.cfg "needs ="), and why it is skipped without it.
"""Each need: a test of the host, and the skip reason when the test fails.
A case naming a need that is not here fails (the matrix never loses a
case to a typo)."""
import os
import shutil
import subprocess


def _kvm_opens(env):
    return os.access('/dev/kvm', os.R_OK | os.W_OK)


def _hardware_kvm(env):
    return os.path.isdir('/sys/module/kvm_intel') or os.path.isdir('/sys/module/kvm_amd')


def _root_cgroup_v1(env):
    return (os.geteuid() == 0 and os.access('/sys/fs/cgroup/cpu/cpu.cfs_quota_us', os.W_OK)
            and os.access('/sys/fs/cgroup/freezer/tasks', os.W_OK))


def _cgroup_v2(env):
    return os.geteuid() == 0 and os.access('/sys/fs/cgroup/unified/cgroup.procs', os.W_OK)


def _other_uid(env):
    return os.geteuid() == 0 and shutil.which('setpriv') is not None


def _peer_tools(env):
    return env.once('peer-tools', lambda: subprocess.run(
        [str(env.top / 'tools' / 'deps.sh'), 'peer'], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0)


def _xen(env):
    """Xen's hypervisor is in the cache, or can be fetched now (then it is)."""
    return env.once('xen', lambda: subprocess.run(
        ['python3', str(env.top / 'tools' / 'xen' / 'fetch.py')], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0)


NEEDS = {
    'kvm': (_kvm_opens, 'no usable /dev/kvm'),
    'hardware-kvm': (_hardware_kvm, 'no hardware KVM (kvm_intel/kvm_amd not loaded)'),
    'emulating-kvm': (lambda env: not _hardware_kvm(env), 'hardware KVM here returns from hypercalls'),
    'nested': (lambda env: not env.no_nested, 'nested KVM is skipped (--no-nested or PVSPIN_SKIP_NESTED)'),
    'root-cgroup-v1': (_root_cgroup_v1, 'needs root and writable cgroup v1 cpu and freezer hierarchies'),
    'cgroup-v2': (_cgroup_v2, 'no writable cgroup v2 at /sys/fs/cgroup/unified (or not root)'),
    'other-uid': (_other_uid, 'needs root and setpriv to run as another user'),
    'peer-tools': (_peer_tools, 'the Linux peer cannot be built here (tools/deps.sh peer fails)'),
    'xen': (_xen, "Xen's hypervisor is not cached and cannot be fetched (tools/xen/fetch.py fails)"),
}


def unmet(env, names):
    """(skip reason or None, unknown need or None) for a case's needs."""
    for name in names:
        if name not in NEEDS:
            return None, name
        test, why = NEEDS[name]
        if not test(env):
            return why, None
    return None, None
