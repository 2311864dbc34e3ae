#include "apic.h"
#include "console.h"
#include "exit.h"
#include "fmt.h"
#include "ktap.h"
#include "kvm_hypercall.h"
#include "percpu.h"
#include "time.h"
#include "trap.h"
#include "watchdog.h"
#include "x86.h"

#define NS_PER_MS 1000000ul

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
} wd;

static const char *const state_names[] = { "running", "halted", "in hypercall" };

/* The TSCs of different vCPUs may differ by a little (seen under nested
 * KVM), so a time stamp taken on another CPU can be just after `now`. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return (int64_t)(now - then) > 0 ? now - then : 0;
}

static uint64_t ago_ms(uint64_t now, uint64_t then)
{
	return then && then < now ? (now - then) / NS_PER_MS : 0;
}

static void report(unsigned int stuck, uint64_t now)
{
	console_force_unlock();
	kprintf("# LOCKUP: CPU %u made no progress for %lu ms (watchdog_ms=%lu)\n", stuck,
		since(now, wd.changed_ns[stuck]) / NS_PER_MS, wd.timeout_ns / NS_PER_MS);
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		struct percpu *p = percpu_of(c);
		uint32_t st = __atomic_load_n(&p->wd_state, __ATOMIC_ACQUIRE);
		kprintf("# LOCKUP: cpu %u apic %u %s for %lu ms%s%s, progress %lu, halts %lu, "
			"kicks sent %lu (last to cpu %u, %lu ms ago), received %lu (last %lu ms ago)\n",
			c, p->apic_id, state_names[st], ago_ms(now, p->wd_state_since_ns),
			st == CPU_IN_HYPERCALL && p->wd_hypercall == KVM_HC_KICK_CPU ?
				" (KVM_HC_KICK_CPU did not return)" : "",
			since(now, wd.changed_ns[c]) > wd.timeout_ns ? " STUCK" : "",
			p->wd_progress, p->halts, p->kicks_sent, p->last_kick_target,
			ago_ms(now, p->last_kick_sent_ns),
			p->kicks_received,
			ago_ms(now, p->last_kick_received_ns));
	}
	if (wd.describe)
		wd.describe();
	char reason[96];
	snprintf(reason, sizeof(reason), "lockup: CPU %u made no progress for %lu ms", stuck,
		 since(now, wd.changed_ns[stuck]) / NS_PER_MS);
	ktap_abort_current(reason);
	guest_exit(EXIT_LOCKUP);
}

static void check(void)
{
	uint32_t expected = 0;
	/* ACQUIRE: one CPU at a time updates the seen/changed arrays. */
	if (!__atomic_compare_exchange_n(&wd.checking, &expected, 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	uint64_t now = time_ns();
	for (unsigned int c = 0; c < wd.ncpus; c++) {
		uint64_t prog = __atomic_load_n(&percpu_of(c)->wd_progress, __ATOMIC_RELAXED);
		if (prog != wd.seen[c]) {
			wd.seen[c] = prog;
			wd.changed_ns[c] = now;
		} else if (since(now, wd.changed_ns[c]) > wd.timeout_ns &&
			   !__atomic_exchange_n(&wd.reporting, 1, __ATOMIC_ACQ_REL)) {
			report(c, now);
		}
	}
	__atomic_store_n(&wd.checking, 0, __ATOMIC_RELEASE);
}

static void tick(struct trap_frame *f)
{
	(void)f;
	if (!__atomic_load_n(&wd.armed, __ATOMIC_ACQUIRE))
		return;
	check();
	if (wd.tick_hook)
		wd.tick_hook();
}

void watchdog_arm(unsigned int ncpus, uint64_t timeout_ns, void (*describe)(void))
{
	uint64_t now = time_ns();
	wd.ncpus = ncpus;
	wd.timeout_ns = timeout_ns;
	wd.describe = describe;
	for (unsigned int c = 0; c < ncpus; c++) {
		wd.seen[c] = percpu_of(c)->wd_progress;
		wd.changed_ns[c] = now;
	}
	trap_set_handler(VEC_TIMER, tick);
	/* RELEASE: the arrays are set before any tick can see armed. */
	__atomic_store_n(&wd.armed, 1, __ATOMIC_RELEASE);
}

void watchdog_disarm(void)
{
	__atomic_store_n(&wd.armed, 0, __ATOMIC_RELEASE);
	wd.tick_hook = 0;
}

void watchdog_set_tick_hook(void (*hook)(void)) { wd.tick_hook = hook; }

void watchdog_cpu_start(void)
{
	cpu_wd_set_state(CPU_RUNNING, time_ns());
	apic_timer_periodic(VEC_TIMER, WATCHDOG_TICK_NS);
}

void watchdog_cpu_stop(void)
{
	apic_timer_stop();
}
