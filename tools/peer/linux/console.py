# SPDX-License-Identifier: MIT
# console.py: reads a Linux peer's console (locktorture) into one pvspin result and a verdict.
"""A Linux console, read line by line, becomes a pvspin result.

Console.feed(line) takes one line (printk's "[  secs.usecs] " prefix and
all); Console.decided says when the verdict is known (the end of the test,
a crash, a lockup, a bad torture type), so the caller may stop the VMM;
Console.finish(vmm_status) returns the Verdict.

What is read, and from where (Linux 6.12):
- kernel/locking/locktorture.c: "<type>-torture:--- Start of test", the
  stats lines "Writes:  Total: N  Max/Min: a/b [???]  Fail: F [!!!]" (F is
  1 when any writer saw the lock already held; ??? marks max/2 > min), the
  shutdown line, "--- End of test: SUCCESS|FAILURE|LOCK_HOTPLUG".
- arch/x86/kernel/kvm.c kvm_spinlock_init(): "kvm-guest: PV spinlocks
  enabled" or why they are disabled; paravirt.c native_pv_lock_init(): with
  CPUID's hypervisor bit set and no PV lock, virt_spin_lock() (a
  test-and-set lock) takes over from qspinlock. The peer's init prints the
  CPUID facts ("pvspin-peer: cpuid ..."), so the lock is read, not assumed.
- tools/peer/linux/init.c: "pvspin-peer: cpuid ...", then it loads
  torture.ko and locktorture.ko once the kernel has booted (so the test
  shares no time with the boot), or says "pvspin-peer: ... failed" and
  powers off.
- The rate: stats lines are cumulative. The window runs from the first
  periodic stats line at or after start + warm-up to the first one at least
  duration_ms later (else the last before the shutdown; with one periodic
  line only, the final one printed after every writer stopped); the ends
  are the stats thread's own reads, timed by printk (the stats thread
  sleeps in jiffies, so its interval is not used).
"""
import re
from dataclasses import dataclass, field

from pvspin import status

TS_RE = re.compile(r"^\[\s*(\d+)\.(\d{1,9})\] (.*)$")
CPUID_RE = re.compile(r"^pvspin-peer: cpuid hypervisor=([01]) signature=(\S+) "
                      r"leaf40000001\.eax=(0x[0-9a-f]+) pv_unhalt=([01])")
VERSION_RE = re.compile(r"^Linux version (\S+)")
CPUS_RE = re.compile(r"^smp: Brought up \d+ nodes?, (\d+) CPUs?")
START_RE = re.compile(r"^(\w+)-torture:--- Start of test(?: \[debug\])?: (.*)$")
STATS_RE = re.compile(r"^(Writes|Reads ):\s+Total: (\d+)\s+Max/Min: (-?\d+)/(-?\d+)\s*(\?\?\?)?\s+"
                      r"Fail: (\d+)\s*(!!!)?")
SHUTDOWN_RE = re.compile(r"^\w+-torture: torture_shutdown task shutting down system")
END_RE = re.compile(r"^(\w+)-torture:--- End of test: (SUCCESS|FAILURE|LOCK_HOTPLUG)")
BAD_TYPE_RE = re.compile(r"^lock-torture: invalid torture type: \"([^\"]*)\"")
KVM_PVLOCK_RE = re.compile(r"^kvm-guest: PV spinlocks (enabled|disabled.*)$")
# Crash and lockup reports, as POSIX EREs (grep -E reads them too: see
# DECIDED_ERE), each matched at the start of a line's text (after printk's
# timestamp) unless listed as ANYWHERE. Lockups are read first, so a
# "watchdog: BUG: soft lockup" is a lockup, not a "BUG: ".
LOCKUP_ERES = (
    "watchdog: BUG: soft lockup", "rcu: INFO: [a-z_]+ (self-)?detected (expedited )?stalls?",
    "INFO: task .* blocked for more than",
)
LOCKUP_ANYWHERE_ERES = ("Watchdog detected hard LOCKUP",)
CRASH_ERES = (
    "Kernel panic - not syncing", "Oops:", "BUG: ", "general protection fault", "kernel BUG at",
)
LOCKUP_RES = [re.compile("^" + e) for e in LOCKUP_ERES] + [re.compile(e) for e in LOCKUP_ANYWHERE_ERES]
CRASH_RES = [re.compile("^" + e) for e in CRASH_ERES]
POWER_DOWN_ERE = "reboot: Power down"
POWER_DOWN_RE = re.compile("^" + POWER_DOWN_ERE)
INIT_FAIL_ERE = "pvspin-peer: .* failed: error "
INIT_FAIL_RE = re.compile(r"^pvspin-peer: (.*) failed: error (-?\d+)")
BAD_TYPE_ERE = "lock-torture: invalid torture type"
END_ERE = "-torture:--- End of test: "

LOCK_IMPLS = ("pvqspinlock", "qspinlock", "virt_spin_lock")
# A reset Linux did not ask for and did not report: a triple fault, or a
# failure below the guest (tests read this to tell it from Linux's verdicts).
MACHINE_RESET_REASON = ("the machine reset: QEMU exited before the end of the test without "
                        "Linux powering off or reporting a crash")

# The lines after which the verdict is known, as one POSIX ERE for watchers
# that cannot run this module (the nested bed's L1 init, `grep -E -e`): made
# of the patterns above, so the two cannot disagree (a test feeds both one
# sample line of each).
DECIDED_ERE = ("^(\\[ *[0-9.]+\\] )?(" + "|".join(
    LOCKUP_ERES + CRASH_ERES + (POWER_DOWN_ERE, INIT_FAIL_ERE, BAD_TYPE_ERE)) + ")|"
    + "|".join(LOCKUP_ANYWHERE_ERES + (END_ERE,)))


@dataclass
class Stats:
    t_ns: int
    kind: str          # "Writes" or "Reads"
    total: int
    max: int
    min: int
    imbalance: bool    # locktorture's ??? (max/2 > min)
    fail: int


@dataclass
class Verdict:
    status: int
    ok: bool
    reason: str                 # for a not ok line
    directive: str = ""         # "" or "TIMEOUT"
    result: dict = field(default_factory=dict)


def lock_impl(cpuid, kvm_line):
    """(impl, why) from the init's CPUID line and kvm_spinlock_init()'s line."""
    if kvm_line is not None:
        if kvm_line == "enabled":
            return "pvqspinlock", "kvm-guest: PV spinlocks enabled"
        if "no host support" in kvm_line:
            return "virt_spin_lock", f"kvm-guest: PV spinlocks {kvm_line} (hypervisor bit set)"
        return "qspinlock", f"kvm-guest: PV spinlocks {kvm_line}"
    if cpuid is None:
        return None, "the peer's init printed no CPUID line"
    if cpuid["hypervisor"]:
        return "virt_spin_lock", (f"CPUID hypervisor bit set ({cpuid['signature']}) "
                                  "and no KVM PV spinlocks: virt_spin_lock()")
    return "qspinlock", "CPUID hypervisor bit clear: native qspinlock"


def printk_split(line):
    """(t_ns, text) of a console line: printk's "[ secs.frac] " read and
    removed; t_ns is None for a line without it."""
    m = TS_RE.match(line)
    if not m:
        return None, line
    return int(m.group(1)) * 1_000_000_000 + int(m.group(2).ljust(9, "0")), m.group(3)


class Console:
    def __init__(self, plan):
        self.plan = plan
        self.lines = 0
        self.kernel = None
        self.cpuid = None
        self.kvm_line = None
        self.cpus_up = None
        self.start_ns = None
        self.start_params = None
        self.writes = []          # periodic and final Stats of writers
        self.reads = []
        self.shutdown_ns = None
        self.end = None           # SUCCESS | FAILURE | LOCK_HOTPLUG
        self.bad_type = None
        self.init_failed = None
        self.crash = None
        self.lockup = None
        self.powered_down = False
        self.boots = 0            # "Linux version" lines: a second is a machine reset
        self.long_holds = 0
        self.last_ns = 0

    @property
    def decided(self):
        return bool(self.end or self.crash or self.lockup or self.bad_type or self.init_failed
                    or self.powered_down or self.boots > 1)

    def feed(self, raw):
        self.lines += 1
        t_ns, text = printk_split(raw.rstrip("\r\n"))
        if t_ns is None:
            t_ns = self.last_ns
        self.last_ns = max(self.last_ns, t_ns)
        self._event(t_ns, text.strip())

    def _event(self, t_ns, text):
        if (m := CPUID_RE.match(text)):
            self.cpuid = {"hypervisor": m.group(1) == "1", "signature": m.group(2),
                          "leaf_40000001_eax": m.group(3), "pv_unhalt": m.group(4) == "1"}
        elif (m := VERSION_RE.match(text)):
            self.boots += 1
            self.kernel = self.kernel or m.group(1)
        elif (m := KVM_PVLOCK_RE.match(text)):
            self.kvm_line = m.group(1)
        elif (m := CPUS_RE.match(text)):
            self.cpus_up = int(m.group(1))
        elif (m := START_RE.match(text)):
            self.start_ns, self.start_params = t_ns, dict(
                kv.split("=", 1) for kv in m.group(2).split() if "=" in kv)
        elif (m := STATS_RE.match(text)):
            s = Stats(t_ns, m.group(1).strip(), int(m.group(2)), int(m.group(3)),
                      int(m.group(4)), bool(m.group(5)), int(m.group(6)))
            (self.writes if s.kind == "Writes" else self.reads).append(s)
        elif SHUTDOWN_RE.match(text):
            self.shutdown_ns = t_ns
        elif (m := END_RE.match(text)):
            self.end = m.group(2)
        elif (m := BAD_TYPE_RE.match(text)):
            self.bad_type = m.group(1)
        elif (m := INIT_FAIL_RE.match(text)):
            self.init_failed = text
        elif "_write_delay: delay = " in text:
            self.long_holds += 1
        elif POWER_DOWN_RE.match(text):
            self.powered_down = True
        elif any(r.search(text) for r in LOCKUP_RES):
            self.lockup = self.lockup or text
        elif any(r.search(text) for r in CRASH_RES):
            self.crash = self.crash or text

    # -- the measured window ------------------------------------------------
    def periodic(self, stats):
        """Stats lines printed by the stats thread while the test ran."""
        return [s for s in stats if self.shutdown_ns is None or s.t_ns < self.shutdown_ns]

    def final(self, stats):
        """The stats line printed after the shutdown stopped every writer, or None."""
        after = [s for s in stats if self.shutdown_ns is not None and s.t_ns >= self.shutdown_ns]
        return after[0] if after else None

    def window(self, stats):
        """(first, last) stats lines bounding the measured window, or None."""
        if self.start_ns is None:
            return None
        warm_end = self.start_ns + self.plan.options["warmup_ms"] * 1_000_000
        inside = [s for s in self.periodic(stats) if s.t_ns >= warm_end]
        # With many writers per host CPU the stats thread's jiffy sleeps
        # stretch and one periodic line may come before the shutdown: then
        # the line printed once every writer has stopped closes the window
        # (its count is final, so the window's rate is a lower bound).
        if len(inside) == 1 and self.final(stats) is not None:
            return inside[0], self.final(stats)
        if len(inside) < 2:
            return None
        # The first line that closes a window of at least duration_ms, else
        # the last one (the stats thread fell behind the shutdown's timer).
        want = inside[0].t_ns + self.plan.options["duration_ms"] * 1_000_000
        last = next((s for s in inside[1:] if s.t_ns >= want), inside[-1])
        return inside[0], last

    def result(self):
        impl, why = lock_impl(self.cpuid, self.kvm_line)
        o = self.plan.options
        r = {
            "test": "torture", "guest": "linux", "lock": o["lock"], "shape": "locktorture",
            "lock_impl": impl, "lock_impl_from": why, "kernel": self.kernel,
            "cpus": self.plan.writers, "vcpus": self.plan.smp, "vcpus_online": self.cpus_up,
            "seed": o["seed"], "long_hold_ms": o["long_hold_ms"], "long_holds": self.long_holds,
            "lpj": self.plan.lpj or None,
            "warmup_ns": None, "duration_ns": None, "acquisitions": None,
            "throughput_per_s": None, "acquisitions_total": None,
            "per_cpu_min": None, "per_cpu_max": None, "imbalance": None, "window_end": None,
            "fairness": None, "violations": None, "stats_lines": len(self.writes),
            "cpuid": self.cpuid, "end_of_test": self.end,
        }
        final = self.writes[-1] if self.writes else None
        if final:
            r.update(acquisitions_total=final.total, per_cpu_min=final.min,
                     per_cpu_max=final.max, imbalance=final.imbalance,
                     violations=max(s.fail for s in self.writes))
        w = self.window(self.writes)
        if w:
            first, last = w
            dur = last.t_ns - first.t_ns
            r.update(warmup_ns=first.t_ns - self.start_ns, duration_ns=dur,
                     window_end="final" if last.t_ns >= (self.shutdown_ns or last.t_ns + 1) else "periodic",
                     acquisitions=last.total - first.total,
                     throughput_per_s=round((last.total - first.total) * 1e9 / dur, 1) if dur else None)
        if self.reads:
            fr = self.reads[-1]
            r["reads"] = {"acquisitions_total": fr.total, "per_cpu_min": fr.min,
                          "per_cpu_max": fr.max, "imbalance": fr.imbalance,
                          "violations": max(s.fail for s in self.reads)}
        return r

    # -- the verdict --------------------------------------------------------
    def finish(self, vmm_status, timeout_s=None):
        r = self.result()
        o = self.plan.options

        def verdict(st, reason, directive=""):
            return Verdict(st, st == status.PASS, reason, directive, r)

        if self.boots > 1:
            return verdict(status.GUEST_CRASH, "the machine reset: Linux booted again "
                           f"({self.boots} 'Linux version' lines); nothing after the first boot counts")
        if self.bad_type is not None:
            return verdict(status.BAD_INPUT, f"locktorture: invalid torture type '{self.bad_type}' "
                           "(this kernel was built without it)")
        if self.crash:
            return verdict(status.GUEST_CRASH, f"crash: {self.crash}")
        if self.init_failed:
            return verdict(status.GUEST_CRASH, f"the peer's init: {self.init_failed}")
        if self.lockup:
            return verdict(status.LOCKUP, f"lockup: {self.lockup}")
        if r["violations"] or self.end == "FAILURE" or any(s.fail for s in self.reads):
            return verdict(status.TEST_FAILURE, "locktorture: Fail: 1 (a writer found the lock "
                           f"already held){'; End of test: FAILURE' if self.end == 'FAILURE' else ''}")
        if self.end is None:
            if vmm_status == status.TIMEOUT:
                return verdict(status.TIMEOUT, f"no end of test within {timeout_s} s", "TIMEOUT")
            if vmm_status == 0 and not self.powered_down and self.lines:
                # QEMU runs Linux with -no-reboot: a reset ends it with 0.
                return verdict(status.GUEST_CRASH, MACHINE_RESET_REASON)
            if self.start_ns is None:
                return verdict(status.GUEST_CRASH, "locktorture never started "
                               f"(QEMU status {vmm_status}, {self.lines} console lines)")
            return verdict(status.GUEST_CRASH, f"the guest stopped before the end of the test "
                           f"(QEMU status {vmm_status})")
        if self.end == "LOCK_HOTPLUG":
            return verdict(status.TEST_FAILURE, "locktorture: End of test: LOCK_HOTPLUG")
        if r["lock_impl"] is None:
            return verdict(status.TEST_FAILURE, f"which lock Linux ran is unknown: {r['lock_impl_from']}")
        if o["pv"] == "kvm" and r["lock_impl"] != "pvqspinlock":
            return verdict(status.BAD_INPUT, f"pv=kvm: Linux ran {r['lock_impl']} "
                           f"({r['lock_impl_from']})")
        if r["throughput_per_s"] is None:
            return verdict(status.TEST_FAILURE, f"no rate: {len(self.periodic(self.writes))} "
                           "periodic stats lines, and a window needs two after the warm-up")
        if self.plan.smp and self.cpus_up is not None and self.cpus_up != self.plan.smp:
            return verdict(status.TEST_FAILURE, f"{self.cpus_up} of {self.plan.smp} CPUs online")
        return verdict(status.PASS, "")
