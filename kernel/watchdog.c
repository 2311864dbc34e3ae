/* SPDX-License-Identifier: MIT */
/* watchdog.c - the lockup watchdog: LAPIC timer ticks and the NMI backstop (watchdog.h). */
#include "hypercall/hyperv.h"
#include "hypercall/kvm_hypercall.h"
#include "hypercall/xen.h"
#include "kernel/drivers/ioapic.h"
#include "kernel/drivers/pit.h"
#include "lib/fmt.h"
#include "lib/x86.h"
#include "acpi.h"
#include "apic.h"
#include "backtrace.h"
#include "console.h"
#include "exit.h"
#include "ktap.h"
#include "percpu.h"
#include "time.h"
#include "trap.h"
#include "watchdog.h"

/* Return addresses printed for each stopped CPU. */
#define WD_STOP_CALLERS 4

/* A CPU without progress while the others go on is starved, not stuck,
 * until the others have made this many steps of progress per CPU since its
 * own last one. A FIFO lock's waiter gets its turn within one step per
 * CPU, however slowly an overcommitted host runs the queue; a waiter whose
 * wakeup was lost while lock stealing keeps the others going is passed by
 * more than that. */
#define WD_STARVED_STEPS_PER_CPU 4u
#define NMI_WATCHDOG_HZ 50              /* PIT period 20 ms */
#define WATCHDOG_NMI_CPU 0
_Static_assert(PIT_HZ / NMI_WATCHDOG_HZ <= PIT_RELOAD_MAX, "PIT reload is 16 bits");

static struct {
	uint32_t armed;
	unsigned int ncpus;
	uint64_t timeout_ns;
	void (*describe)(void);
	void (*tick_hook)(void);
	uint32_t checking;              /* one checker at a time */
	uint32_t reporting;
	uint64_t seen[MAX_CPUS];        /* progress at the last change */
	uint64_t changed_ns[MAX_CPUS];
	uint64_t total_at_change[MAX_CPUS]; /* everyone's progress at that change */
	uint64_t progress[MAX_CPUS];    /* read once per check */
	uint64_t total;                 /* everyone's progress at the last check */
	uint64_t total_changed_ns;      /* when any CPU last made progress */
	bool nmi_routed;                /* the PIT reaches CPU 0 as an NMI */
	uint64_t nmis;
} wd;

static const char *const state_names[] = { "running", "halted", "in hypercall" };

/* The TSCs of different vCPUs may differ by a little (nested KVM does not
 * keep them in step), so a time stamp taken on another CPU can be just
 * after `now`. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return (int64_t)(now - then) > 0 ? now - then : 0;
}

static uint64_t ago_ms(uint64_t now, uint64_t then)
{
	return then && then < now ? (now - then) / NS_PER_MS : 0;
}

/* A hypercall still in flight is named even when the CPU's state says
 * otherwise: an interrupt taken inside a hypercall that never returns (the
 * caller had interrupts on) runs handlers that may wait and halt, and those
 * overwrite the state. wd_hypercall stays set meanwhile (pv_hypercall_end(),
 * kernel/pv_account.h, gives an interrupted hypercall's number back when a
 * nested one ends). */
static const char *hypercall_note(const struct percpu *p, uint32_t st, char *buf, size_t size)
{
	uint32_t nr = p->wd_hypercall;
	if (!nr)
		return "";
	const char *name = 0;
	if (nr & WD_HYPERCALL_HYPERV)
		name = hyperv_call_name((uint16_t)(nr & ~WD_HYPERCALL_HYPERV));
	else if (nr == (WD_HYPERCALL_XEN_EVTCHN | EVTCHNOP_send))
		name = "EVTCHNOP_send";
	else if (nr == KVM_HC_KICK_CPU)
		name = "KVM_HC_KICK_CPU";
	else if (nr == KVM_HC_SCHED_YIELD)
		name = "KVM_HC_SCHED_YIELD";
	snprintf(buf, size, " (%s did not return%s)", name ? name : "a hypercall",
		 st == CPU_IN_HYPERCALL ? "" : "; an interrupt taken inside it");
	return buf;
}

/* Hyper-V hypercalls that returned a failure status: the count and the
 * last one, per CPU. */
static void report_hv_errors(void)
{
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		const struct percpu *p = percpu_of(c);
		if (!p->hv_hypercall_errors)
			continue;
		const char *name = hyperv_call_name((uint16_t)(p->hv_last_error >> 16));
		kprintf("# LOCKUP: cpu %u: %lu Hyper-V hypercall(s) failed, the last %s with status 0x%04x\n",
			c, p->hv_hypercall_errors, name ? name : "?", p->hv_last_error & HV_STATUS_MASK);
	}
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		const struct percpu *p = percpu_of(c);
		if (p->xen_hypercall_errors)
			kprintf("# LOCKUP: cpu %u: %lu Xen hypercall(s) failed, the last with %ld\n",
				c, p->xen_hypercall_errors, p->xen_last_error);
	}
}

/* Where each CPU was when the stop's NMI reached it: its RIP and the first
 * return addresses of its frame chain (run-qemu.sh names the functions).
 * Whatever a CPU's state fields say, this is where it really was. */
static void report_stopped_at(void)
{
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		const struct percpu *p = percpu_of(c);
		if (c == cpu_id()) {
			kprintf("# LOCKUP: cpu %u stopped at: reporting\n", c);
			continue;
		}
		/* ACQUIRE: pairs with the parked count's RELEASE (kernel/exit.c). */
		if (!__atomic_load_n(&p->stopped, __ATOMIC_ACQUIRE)) {
			kprintf("# LOCKUP: cpu %u stopped at: did not answer the stop NMI\n", c);
			continue;
		}
		uint64_t ret[WD_STOP_CALLERS];
		unsigned int n = backtrace_collect(p->stop_rbp, ret, WD_STOP_CALLERS);
		char callers[WD_STOP_CALLERS * 20 + 1] = "";
		size_t len = 0;
		for (unsigned int i = 0; i < n; i++)
			len += (size_t)snprintf(callers + len, sizeof(callers) - len, " 0x%016lx", ret[i]);
		kprintf("# LOCKUP: cpu %u stopped at: 0x%016lx%s%s\n", c, p->stop_rip,
			n ? " from" : "", callers);
	}
}

/* The report comes out whole and the verdict follows it: every other CPU is
 * stopped first (its NMI parks it), so none can print into the report, hold
 * the console lock or cut the report short with its own exit. */
static void report(unsigned int stuck, uint64_t now, const char *seen_by)
{
	guest_exit_begin();
	char why[96];
	uint64_t passed = wd.total - wd.total_at_change[stuck];
	if (since(now, wd.total_changed_ns) > wd.timeout_ns)
		snprintf(why, sizeof(why), "and no CPU made any for %lu ms",
			 since(now, wd.total_changed_ns) / NS_PER_MS);
	else
		snprintf(why, sizeof(why), "while the others made %lu steps (starved: over %u per CPU)",
			 passed, WD_STARVED_STEPS_PER_CPU);
	kprintf("# LOCKUP: CPU %u made no progress for %lu ms (watchdog_ms=%lu) %s, seen by %s on CPU %u\n",
		stuck, since(now, wd.changed_ns[stuck]) / NS_PER_MS, wd.timeout_ns / NS_PER_MS,
		why, seen_by, cpu_id());
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		struct percpu *p = percpu_of(c);
		uint32_t st = __atomic_load_n(&p->wd_state, __ATOMIC_ACQUIRE);
		char waiting[64] = "not waiting on a lock", hc[96];
		if (p->wd_waiting_on)
			snprintf(waiting, sizeof(waiting), "waiting on %s for %lu ms",
				 p->wd_waiting_on, ago_ms(now, p->wd_wait_since_ns));
		kprintf("# LOCKUP: cpu %u apic %u %s for %lu ms%s%s, %s, progress %lu, halts %lu, "
			"kicks sent %lu (last to cpu %u, %lu ms ago), received %lu (last %lu ms ago)\n",
			c, p->apic_id, state_names[st], ago_ms(now, p->wd_state_since_ns),
			hypercall_note(p, st, hc, sizeof(hc)),
			since(now, wd.changed_ns[c]) > wd.timeout_ns ? " STUCK" : "", waiting,
			p->wd_progress, p->halts, p->kicks_sent, p->last_kick_target,
			ago_ms(now, p->last_kick_sent_ns),
			p->kicks_received,
			ago_ms(now, p->last_kick_received_ns));
	}
	report_stopped_at();
	report_hv_errors();
	if (wd.describe)
		wd.describe();
	char reason[96];
	snprintf(reason, sizeof(reason), "lockup: CPU %u made no progress for %lu ms", stuck,
		 since(now, wd.changed_ns[stuck]) / NS_PER_MS);
	ktap_abort_current(reason, "lockup");
	guest_exit(EXIT_LOCKUP);
}

/* A CPU is locked up when it made no progress for the timeout and either
 * no CPU made any in that time (a deadlock, a lost wakeup, a hang) or the
 * others passed it by more than WD_STARVED_STEPS_PER_CPU steps each. A waiter
 * far back in a fair queue on an overcommitted host is neither: the queue
 * moves, one host time slice per turn, and its turn comes. */
static bool locked_up(unsigned int c, uint64_t now)
{
	if (since(now, wd.changed_ns[c]) <= wd.timeout_ns)
		return false;
	return since(now, wd.total_changed_ns) > wd.timeout_ns ||
	       wd.total - wd.total_at_change[c] > (uint64_t)WD_STARVED_STEPS_PER_CPU * wd.ncpus;
}

static void check(const char *seen_by)
{
	uint32_t expected = 0;
	/* ACQUIRE: one CPU at a time updates the seen/changed arrays. */
	if (!__atomic_compare_exchange_n(&wd.checking, &expected, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	uint64_t now = time_ns(), total = 0;
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		wd.progress[c] = __atomic_load_n(&percpu_of(c)->wd_progress, __ATOMIC_RELAXED);
		total += wd.progress[c];
	}
	if (total != wd.total) {
		wd.total = total;
		wd.total_changed_ns = now;
	}
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		/* A CPU that has finished its work (or not begun) is not stuck. */
		if (!__atomic_load_n(&percpu_of(c)->wd_active, __ATOMIC_RELAXED) ||
		    wd.progress[c] != wd.seen[c]) {
			wd.seen[c] = wd.progress[c];
			wd.changed_ns[c] = now;
			wd.total_at_change[c] = total;
		} else if (locked_up(c, now) &&
			   !__atomic_exchange_n(&wd.reporting, 1, __ATOMIC_ACQ_REL)) {
			report(c, now, seen_by);
		}
	}
	__atomic_store_n(&wd.checking, 0, __ATOMIC_RELEASE);
}

static void tick(struct trap_frame *f)
{
	(void)f;
	if (!__atomic_load_n(&wd.armed, __ATOMIC_ACQUIRE))
		return;
	check("the timer tick");
	if (wd.tick_hook)
		wd.tick_hook();
}

/* NMI on CPU 0: interrupts off or halted, the check still runs. */
static int nmi_tick(struct trap_frame *f)
{
	(void)f;
	if (!__atomic_load_n(&wd.nmi_routed, __ATOMIC_ACQUIRE))
		return 0;               /* not ours: the trap code reports it */
	wd.nmis++;
	if (__atomic_load_n(&wd.armed, __ATOMIC_ACQUIRE))
		check("the NMI watchdog");
	return 1;
}

static void nmi_source_start(void)
{
	static bool tried;
	/* Xen emulates no PIT for a PVH dom0 and keeps GSI 2 (the PIT's
	 * input) for itself, refusing to bind it; the local APIC timer's LVT
	 * has no NMI delivery mode. So the timer tick is the only watchdog. */
	if (xen.present) {
		if (!tried)
			kprintf("# watchdog: no NMI watchdog under Xen (no PIT for dom0, GSI 2 is Xen's): the timer tick only\n");
		tried = true;
		return;
	}
	if (!tried) {
		tried = true;
		trap_set_nmi_handler(nmi_tick);
		/* Claimed before the route exists: the PIT may still be ticking
		 * from the clock's calibration, and its first NMI can arrive the
		 * moment the I/O APIC entry is written, before the call returns,
		 * and nmi_tick() must then know it for its own. RELEASE pairs with nmi_tick()'s ACQUIRE. */
		__atomic_store_n(&wd.nmi_routed, true, __ATOMIC_RELEASE);
		bool routed = ioapic_route_nmi(acpi.pit_gsi, percpu_of(WATCHDOG_NMI_CPU)->apic_id);
		__atomic_store_n(&wd.nmi_routed, routed, __ATOMIC_RELEASE);
		if (!wd.nmi_routed)
			kprintf("# watchdog: no I/O APIC input for the PIT, no NMI watchdog\n");
	} else if (wd.nmi_routed) {
		ioapic_route_nmi(acpi.pit_gsi, percpu_of(WATCHDOG_NMI_CPU)->apic_id);
	}
	if (!wd.nmi_routed)
		return;
	pit_start_rate((uint16_t)(PIT_HZ / NMI_WATCHDOG_HZ));
}

void watchdog_arm(unsigned int ncpus, uint64_t timeout_ns, void (*describe)(void))
{
	uint64_t now = time_ns();
	wd.ncpus = ncpus;
	wd.timeout_ns = timeout_ns;
	wd.describe = describe;
	wd.total = 0;
	for (unsigned int c = 0; c < ncpus; c++)
		wd.total += wd.seen[c] = percpu_of(c)->wd_progress;
	for (unsigned int c = 0; c < ncpus; c++) {
		wd.changed_ns[c] = now;
		wd.total_at_change[c] = wd.total;
	}
	wd.total_changed_ns = now;
	trap_set_handler(VEC_TIMER, tick);
	/* RELEASE: the arrays are set before any tick can see armed. */
	__atomic_store_n(&wd.armed, 1, __ATOMIC_RELEASE);
	nmi_source_start();
}

void watchdog_disarm(void)
{
	__atomic_store_n(&wd.armed, 0, __ATOMIC_RELEASE);
	wd.tick_hook = 0;
	/* The NMI handler stays: an NMI already on its way is still ours. */
	if (wd.nmi_routed)
		ioapic_mask(acpi.pit_gsi);
}

void watchdog_set_tick_hook(void (*hook)(void)) { wd.tick_hook = hook; }

uint64_t watchdog_timeout_ns(uint64_t option_ms, unsigned int ncpus)
{
	uint64_t ms = option_ms;
	if (!ms)
		ms = WATCHDOG_AUTO_BASE_MS +
		     (ncpus > WATCHDOG_AUTO_FREE_CPUS ? ncpus - WATCHDOG_AUTO_FREE_CPUS : 0) *
		     WATCHDOG_AUTO_PER_CPU_MS;
	return ms * NS_PER_MS;
}

void watchdog_cpu_start(void)
{
	__atomic_store_n(&this_cpu()->wd_active, 1, __ATOMIC_RELAXED);
	cpu_wd_set_state(CPU_RUNNING, time_ns());
	apic_timer_periodic(VEC_TIMER, WATCHDOG_TICK_NS);
}

void watchdog_cpu_stop(void)
{
	__atomic_store_n(&this_cpu()->wd_active, 0, __ATOMIC_RELAXED);
	apic_timer_stop();
}
