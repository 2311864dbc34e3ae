/* SPDX-License-Identifier: MIT */
/* nesting.c - the nesting suite: qspinlock's four per-CPU queue nodes, and the fallback when all
 * four are in use, shown step by step on real interrupts.
 *
 *   CPU 1 (holder) takes locks L0..L4 and keeps them.
 *   CPUs 3..7 (penders) each wait on one lock in the pending position, so
 *   the next waiter of that lock must queue.
 *   CPU 2 (nester) queues on L0 in thread context (node 0). CPU 0 sees it
 *   in L0's tail and sends CPU 2 an IPI of level 1, whose handler queues on
 *   L1 (node 1); then levels 2 and 3 the same way (nodes 2 and 3); the
 *   level-4 handler finds every node in use and spins on trylock instead.
 *   Then the holder lets go and everything unwinds.
 * pvqspinlock runs the same steps with halting held off (see below).
 *
 * Each level's vector is in a higher priority class than the one below, so
 * the LAPIC delivers it while the lower handler waits with interrupts on.
 * Every wait of CPU 0 is bounded: a step that does not happen is a failure
 * naming the step, never a hang. */
#include "kernel/apic.h"
#include "kernel/ktap.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/trap.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lock/lock.h"
#include "lock/lock_events.h"
#include "lock/pv_ops.h"
#include "lock/qnode.h"
#include "suite.h"

#define LEVELS          5               /* thread context + 4 interrupt levels */
#define HOLDER_CPU      1
#define NESTER_CPU      2
#define FIRST_PENDER    3
#define CPUS_NEEDED     (FIRST_PENDER + LEVELS)
#define STEP_TIMEOUT_NS 5000000000ul    /* 5 s per step, even under TCG */
#define NO_NODE_SPIN_NS 2000000ul       /* let the level-4 handler spin a while */
#define NAME_MAX        64

_Static_assert(LEVELS == LOCK_QNODES_PER_CPU + 1, "one level more than there are nodes");

static const uint8_t level_vector[LEVELS] = { 0, VEC_TIMER, VEC_NEST2, VEC_NEST3, VEC_NEST4 };

static struct {
	const struct lock_type *type;
	lock_storage_t lock[LEVELS] __attribute__((aligned(CACHE_LINE)));
	uint32_t held;                  /* atomic: the holder has every lock */
	uint32_t release;               /* atomic: holder, let go */
	uint32_t entered[LEVELS];       /* atomic: the nester is about to lock level k */
	uint32_t acquired[LEVELS];      /* atomic: ... and got it */
} n;

/* The qspinlock word (the first 32 bits of both queued lock types). */
static uint32_t word_of(unsigned int k)
{
	return __atomic_load_n((uint32_t *)&n.lock[k], __ATOMIC_RELAXED);
}

static void holder(void *arg)
{
	(void)arg;
	for (unsigned int k = 0; k < LEVELS; k++)
		n.type->lock(&n.lock[k]);
	__atomic_store_n(&n.held, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&n.release, __ATOMIC_ACQUIRE))
		cpu_pause();
	for (unsigned int k = 0; k < LEVELS; k++)
		n.type->unlock(&n.lock[k]);
}

static void pender(void *arg)
{
	unsigned int k = (unsigned int)(uintptr_t)arg;
	n.type->lock(&n.lock[k]);
	n.type->unlock(&n.lock[k]);
}

static void take_level(unsigned int k)
{
	__atomic_store_n(&n.entered[k], 1, __ATOMIC_RELEASE);
	n.type->lock(&n.lock[k]);
	__atomic_store_n(&n.acquired[k], 1, __ATOMIC_RELEASE);
	n.type->unlock(&n.lock[k]);
}

/* Level k's handler on the nester: interrupts on while it waits, so level
 * k + 1 can come in. */
static void level_handler(struct trap_frame *f)
{
	for (unsigned int k = 1; k < LEVELS; k++)
		if (f->vector == level_vector[k]) {
			sti();
			take_level(k);
			cli();
			return;
		}
}

static void nester(void *arg)
{
	(void)arg;
	take_level(0);
}

/* Wait until cond(k) holds; false after STEP_TIMEOUT_NS. */
static bool wait_for(bool (*cond)(unsigned int), unsigned int k)
{
	uint64_t end = time_ns() + STEP_TIMEOUT_NS;
	while (!cond(k))
		if (time_ns() > end)
			return false;
		else
			cpu_pause();
	return true;
}

static bool is_held(unsigned int k) { (void)k; return __atomic_load_n(&n.held, __ATOMIC_ACQUIRE); }
static bool is_pending(unsigned int k) { return word_of(k) & Q_PENDING_MASK; }
static bool nester_queued(unsigned int k)
{
	return (word_of(k) & Q_TAIL_MASK) == q_encode_tail(NESTER_CPU, k);
}
static bool nester_entered(unsigned int k) { return __atomic_load_n(&n.entered[k], __ATOMIC_ACQUIRE); }
static bool nester_done(unsigned int k) { (void)k; return __atomic_load_n(&n.acquired[0], __ATOMIC_ACQUIRE); }
static bool no_node_counted(unsigned int k)
{
	(void)k;
	return __atomic_load_n(&lock_event_cpus[NESTER_CPU].count[LOCK_EV_lock_no_node],
			       __ATOMIC_RELAXED) != 0;
}

static uint64_t nester_event(enum lock_event e)
{
	return __atomic_load_n(&lock_event_cpus[NESTER_CPU].count[e], __ATOMIC_RELAXED);
}

static const char *run_steps(void)
{
	smp_call(HOLDER_CPU, holder, 0);
	if (!wait_for(is_held, 0))
		return "the holder did not get the five locks";
	for (unsigned int k = 0; k < LEVELS; k++) {
		smp_call(FIRST_PENDER + k, pender, (void *)(uintptr_t)k);
		if (!wait_for(is_pending, k))
			return "a pender did not take the pending position";
	}
	smp_call(NESTER_CPU, nester, 0);
	if (!wait_for(nester_queued, 0))
		return "thread context did not queue on L0 with node 0";
	for (unsigned int k = 1; k < LEVELS; k++) {
		apic_send_ipi(percpu_of(NESTER_CPU)->apic_id, level_vector[k]);
		if (k < LOCK_QNODES_PER_CPU && !wait_for(nester_queued, k))
			return "an interrupt handler did not queue with the next node";
	}
	if (!wait_for(nester_entered, LEVELS - 1) || !wait_for(no_node_counted, 0))
		return "the level-4 handler did not take the no-node fallback";
	delay_ns(NO_NODE_SPIN_NS);
	__atomic_store_n(&n.release, 1, __ATOMIC_RELEASE);
	if (!wait_for(nester_done, 0))
		return "the nested acquisitions did not unwind";
	smp_wait(NESTER_CPU, SMP_NO_LIMIT);
	smp_wait(HOLDER_CPU, SMP_NO_LIMIT);
	for (unsigned int k = 0; k < LEVELS; k++)
		smp_wait(FIRST_PENDER + k, SMP_NO_LIMIT);
	return 0;
}

static void nesting_one(const char *lock_name)
{
	char name[NAME_MAX];
	snprintf(name, sizeof(name), "nesting:%s", lock_name);
	ktap_set_current(name);
	memset(&n, 0, sizeof(n));
	n.type = lock_type_find(lock_name);
	for (unsigned int k = 0; k < LEVELS; k++)
		n.type->init(&n.lock[k]);
	for (unsigned int k = 1; k < LEVELS; k++)
		trap_set_handler(level_vector[k], level_handler);
	lock_events_reset();
	/* pvqspinlock: no halting during the steps. A queue head that spins
	 * keeps the pending bit set, which is what makes later waiters queue
	 * rather than spin in the unfair trylock (lock/pvqspinlock_hooks.h). */
	uint32_t threshold = pv_lock_spin_threshold();
	pv_lock_set_spin_threshold(UINT32_MAX);
	const char *err = run_steps();
	pv_lock_set_spin_threshold(threshold);
	if (err) {
		ktap_fail(name, "%s", err);
		return;
	}
	uint64_t node2 = nester_event(LOCK_EV_lock_use_node2);
	uint64_t node3 = nester_event(LOCK_EV_lock_use_node3);
	uint64_t node4 = nester_event(LOCK_EV_lock_use_node4);
	uint64_t no_node = nester_event(LOCK_EV_lock_no_node);
	bool all = true;
	for (unsigned int k = 0; k < LEVELS; k++)
		all = all && n.acquired[k];
	struct json j;
	json_begin(&j);
	json_str(&j, "test", "nesting");
	json_str(&j, "lock", lock_name);
	json_u64(&j, "lock_use_node2", node2);
	json_u64(&j, "lock_use_node3", node3);
	json_u64(&j, "lock_use_node4", node4);
	json_u64(&j, "lock_no_node", no_node);
	json_bool(&j, "all_acquired", all);
	json_end(&j);
	ktap_result_json(&j);
	if (node2 != 1 || node3 != 1 || node4 != 1 || no_node != 1 || !all)
		ktap_fail(name, "node2=%lu node3=%lu node4=%lu no_node=%lu all_acquired=%d, expected 1 1 1 1 1",
			  node2, node3, node4, no_node, all);
	else
		ktap_ok(name);
}

static unsigned int nesting_nr_results(void) { return 2; }

static void nesting_run(void)
{
	static const char *const locks[] = { "qspinlock", "pvqspinlock" };
	for (unsigned int i = 0; i < 2; i++) {
		char name[NAME_MAX];
		snprintf(name, sizeof(name), "nesting:%s", locks[i]);
		if (smp.online < CPUS_NEEDED)
			ktap_skip(name, "needs %u CPUs, %u online", CPUS_NEEDED, smp.online);
		else
			nesting_one(locks[i]);
	}
}

const struct suite suite_nesting = {
	.name = "nesting",
	.summary = "one CPU queued on five locks at once: thread context and four interrupt levels",
	.groups = SUITE_IN_ALL,   /* not default: needs 8 CPUs; the default run has 4 */
	.nr_results = nesting_nr_results,
	.run = nesting_run,
};
