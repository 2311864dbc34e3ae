/* SPDX-License-Identifier: MIT */
/* torture.c - the torture suite: every selected CPU takes the lock over and over; the critical
 * section checks that it is alone (owner field on entry and exit) and does
 * non-atomic read-modify-write updates of shared counters that only mutual
 * exclusion keeps exact. A second owner is a violation; a shared counter
 * below the sum of the per-CPU acquisitions is a lost update. Hold and think
 * times come from a seeded per-CPU PRNG, with an occasional long hold; with
 * shape=locktorture the loop is Linux locktorture's writer instead
 * (torture_shape.c). While it runs, each CPU's LAPIC tick (the watchdog's)
 * takes a second lock of the same type in interrupt context, so qspinlock
 * nodes 1-3 are really used. */
#include "kernel/ktap.h"
#include "kernel/options.h"
#include "kernel/pv_backend.h"
#include "kernel/pv_inject.h"
#include "kernel/smp.h"
#include "kernel/time.h"
#include "kernel/watchdog.h"
#include "lib/cmdline.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "lock/lock_events.h"
#include "options.h"
#include "suite.h"
#include "torture_state.h"

#define NAME_MAX        64

struct torture_state torture;

static void torture_one(const char *lock_name, void *ctx)
{
	(void)ctx;
	char name[NAME_MAX];
	snprintf(name, sizeof(name), "torture:%s", lock_name);
	ktap_set_current("torture");
	memset(torture.cpu, 0, (size_t)torture.cpu_room * sizeof(*torture.cpu));
	torture.type = lock_type_find(lock_name);
	torture.type->init(&torture.lock);
	memset(torture.irq, 0, sizeof(torture.irq));
	for (unsigned int k = 0; k < IRQ_LEVELS_MAX; k++)
		torture.type->init(&torture.irq[k].lock);
	torture.owner = NO_OWNER;
	torture.release_ns = 0;
	torture.counter_a = torture.counter_b = 0;
	torture.violations = 0;
	torture.stop = 0;
	/* The interrupt-context lock nests only in the queued locks, which
	 * have per-CPU nodes for it; test-and-set style locks would deadlock
	 * against their own thread context on the same CPU. */
	torture.queued = !strcmp(lock_name, "qspinlock") || !strcmp(lock_name, "pvqspinlock");
	torture.irq_levels = torture.queued ? (unsigned int)suite_opt.irq_lock : 0;
	torture.nest_self = !strcmp(lock_name, "pvqspinlock") && pv_backend_kick_is_interrupt();
	pv_counters_reset(torture.ncpus);
	pv_inject_reset();
	watchdog_arm(torture.ncpus, watchdog_timeout_ns(opt.watchdog_ms, torture.ncpus),
		     torture_describe_lock);
	torture_irq_start();
	uint64_t t0 = time_ns();
	torture.deadline_ns = t0 + suite_opt.duration_ms * NS_PER_MS;
	smp_run_on_first(torture.ncpus, torture.shape->worker, 0, SMP_NO_LIMIT);
	uint64_t ns = time_ns() - t0;
	watchdog_disarm();
	torture_irq_stop();
	torture_report(name, ns);
}

static const struct shape_ops shapes[] = {
	[TORTURE_SHAPE_DEFAULT] = { torture_default_worker, torture_default_describe,
				    torture_default_json },
	[TORTURE_SHAPE_LOCKTORTURE] = { torture_locktorture_worker, torture_locktorture_describe,
					torture_locktorture_json },
};

static unsigned int torture_nr_results(void) { return torture_nr_locks(); }

/* Room for n CPUs' counters; false (every result failed) when RAM has none. */
static bool cpu_room(unsigned int n)
{
	torture.cpu = suite_cpu_room("torture", torture.cpu, &torture.cpu_room, n, sizeof(*torture.cpu));
	return torture.cpu != 0;
}

static void torture_run(void)
{
	/* Every online CPU's handlers use their counters, not only the
	 * workers' (torture_irq.c); suite_lock_cpus has ncpus <= smp.online. */
	if (!suite_lock_cpus("torture", &torture.ncpus) || !cpu_room(smp.online))
		return;
	torture_irq_handlers_install();
	torture.shape = &shapes[suite_opt.shape];
	locktorture_prepare(&torture.lt, torture.ncpus, suite_opt.long_hold_ms);
	torture.shape->describe();
	torture_pv_table_reset();
	cmdline_list_each(torture_lock_selection(), torture_one, 0);
	torture_pv_table_print();
}

const struct suite suite_torture = {
	.name = "torture",
	.summary = "mutual exclusion and lost updates of every selected lock, on every CPU",
	.groups = SUITE_GROUPS_DEFAULT,
	.nr_results = torture_nr_results,
	.run = torture_run,
};
