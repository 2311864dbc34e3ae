/* SPDX-License-Identifier: MIT */
/*
 * stress.c - multi-thread torture of every lock type.
 *
 * N threads each take the lock `iters` times (every STRESS_TRY_EVERY-th
 * time via a trylock loop).  Inside the critical section a thread checks
 * that nobody else is recorded as owner, records itself, increments a
 * shared counter NON-atomically (load, pause, store), and checks again
 * that it is still the owner.  At the end the counter must equal the total
 * number of acquisitions.  Under ThreadSanitizer the plain counter also
 * lets TSan check the locks' happens-before edges.
 *
 * "broken" must FAIL this test: that proves the test can fail.
 *
 * usage: stress [-s] [filter]   -s: short run (for sanitizer builds)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "host_pv_ops.h"
#include "lock.h"
#include "lock_events.h"
#include "lock_percpu.h"
#include "qnode.h"
#include "stress_irq.h"

#define STRESS_ITERS 200000U
#define STRESS_ITERS_SHORT 20000U
/* Oversubscribed runs are slower per handoff for the FIFO locks. */
#define STRESS_OVERSUB_DIVISOR 10U
#define STRESS_TRY_EVERY 8U
#define STRESS_NOBODY 0U      /* owner value: free (thread ids start at 1) */
#define STRESS_MAX_THREADS 8U
/*
 * On a loaded machine a short run can fit in one scheduler slice, so the
 * threads never overlap.  Checks that need real overlap (broken is caught,
 * PV waiters halt) retry until they see it or this budget runs out.
 */
#define STRESS_RETRY_BUDGET_NS (20ULL * HOST_NS_PER_SEC)
/*
 * One run stops early after this long (fair locks convoy badly when the
 * machine is overloaded and waiters get preempted); the count check uses
 * the acquisitions actually made.  Checked every STRESS_CLOCK_EVERY.
 */
#define STRESS_RUN_LIMIT_NS (8ULL * HOST_NS_PER_SEC)
#define STRESS_CLOCK_EVERY 256U
/* PV threshold that makes waiters halt often on the host. */
#define STRESS_PV_THRESHOLD 16U
/* PV run: critical section well above the spin threshold, so waiters halt. */
#define STRESS_PV_CS_PAUSES 64U
#define STRESS_PV_ITERS_DIVISOR 4U
/* Pauses outside the critical section: (i * 7) % this, so others get in. */
#define STRESS_OUTSIDE_SPREAD 16U
#define STRESS_OUTSIDE_STRIDE 7U

static unsigned int stress_iters = STRESS_ITERS;

struct stress_shared {
	lock_storage_t lock LOCK_CACHE_ALIGNED;
	const struct lock_type *type;
	unsigned int iters;
	unsigned int nthreads;
	unsigned int started;
	unsigned int cs_pauses;   /* extra pauses inside the critical section */
	unsigned int owner LOCK_CACHE_ALIGNED; /* relaxed atomics */
	uint64_t counter;                       /* plain: protected by the lock */
	uint64_t violations LOCK_CACHE_ALIGNED; /* atomic */
};

struct stress_thread {
	struct stress_shared *sh;
	unsigned int id;  /* 1..nthreads, also the CPU id */
	pthread_t tid;
	uint64_t done;    /* acquisitions made */
};

static void stress_critical_section(struct stress_shared *sh, unsigned int me)
{
	uint64_t c;

	if (__atomic_load_n(&sh->owner, __ATOMIC_RELAXED) != STRESS_NOBODY)
		__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->owner, me, __ATOMIC_RELAXED);

	c = *(volatile uint64_t *)&sh->counter;
	for (unsigned int p = 0; p <= sh->cs_pauses; p++)
		lock_cpu_relax();
	*(volatile uint64_t *)&sh->counter = c + 1;

	if (__atomic_load_n(&sh->owner, __ATOMIC_RELAXED) != me)
		__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->owner, STRESS_NOBODY, __ATOMIC_RELAXED);
}

static void *stress_thread_fn(void *arg)
{
	struct stress_thread *t = arg;
	struct stress_shared *sh = t->sh;
	const struct lock_type *type = sh->type;

	host_cpu_bind(t->id);
	/* Start together so that the threads actually contend. */
	__atomic_fetch_add(&sh->started, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->started, __ATOMIC_SEQ_CST) < sh->nthreads)
		lock_cpu_relax();

	uint64_t t0 = lock_now_ns();
	unsigned int i;

	for (i = 0; i < sh->iters; i++) {
		if (i % STRESS_CLOCK_EVERY == 0 && lock_now_ns() - t0 > STRESS_RUN_LIMIT_NS)
			break;
		if (i % STRESS_TRY_EVERY == 0) {
			while (!type->trylock(&sh->lock))
				lock_cpu_relax();
		} else {
			type->lock(&sh->lock);
		}
		stress_critical_section(sh, t->id);
		type->unlock(&sh->lock);
		for (unsigned int p = (i * STRESS_OUTSIDE_STRIDE) % STRESS_OUTSIDE_SPREAD;
		     p; p--)
			lock_cpu_relax();
	}
	t->done = i;
	return NULL;
}

/* Returns true if the lock behaved (no violation, exact count). */
static bool stress_run_cs(const struct lock_type *type, unsigned int nthreads,
			  unsigned int iters, unsigned int cs_pauses, bool quiet)
{
	static struct stress_shared sh;
	struct stress_thread th[STRESS_MAX_THREADS];
	uint64_t expected = 0;
	bool ok;

	sh.type = type;
	sh.iters = iters;
	sh.nthreads = nthreads;
	sh.started = 0;
	sh.cs_pauses = cs_pauses;
	sh.owner = STRESS_NOBODY;
	sh.counter = 0;
	sh.violations = 0;
	type->init(&sh.lock);

	for (unsigned int i = 0; i < nthreads; i++) {
		th[i].sh = &sh;
		th[i].id = i + 1;
		pthread_create(&th[i].tid, NULL, stress_thread_fn, &th[i]);
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(th[i].tid, NULL);
		expected += th[i].done;
	}

	ok = sh.violations == 0 && sh.counter == expected && !type->is_locked(&sh.lock);
	if (!ok || !quiet)
		printf("    %-12s %u threads x %u: counter %llu/%llu, %llu owner violations\n",
		       type->name, nthreads, iters, (unsigned long long)sh.counter,
		       (unsigned long long)expected, (unsigned long long)sh.violations);
	return ok;
}

static bool stress_run(const struct lock_type *type, unsigned int nthreads,
		       unsigned int iters, bool quiet)
{
	return stress_run_cs(type, nthreads, iters, 0, quiet);
}

static void print_events(void)
{
	struct lock_event_totals ev;

	lock_events_sum(&ev);
	printf("    events:");
	for (unsigned int e = 0; e < LOCK_EVENT_NR; e++)
		if (ev.count[e])
			printf(" %s=%llu", lock_event_names[e],
			       (unsigned long long)ev.count[e]);
	printf("\n");
}

static void stress_all(unsigned int nthreads, unsigned int iters)
{
	host_pv_stats_reset();
	lock_events_reset();
	for (const struct lock_type *const *t = lock_types; *t; t++)
		CHECK(stress_run(*t, nthreads, iters, true));
	CHECK_EQ(host_pv_timeouts(), 0);
	print_events();
}

static void test_stress_2_threads(void)
{
	stress_all(2, stress_iters);
}

static void test_stress_4_threads_oversubscribed(void)
{
	stress_all(4, stress_iters / STRESS_OVERSUB_DIVISOR);
}

/* pvqspinlock and pvqspinlock_adaptive with real futex halting and a low threshold. */
static void test_stress_pv_futex(void)
{
	struct lock_event_totals ev;
	uint64_t t0 = lock_now_ns();
	unsigned int runs = 0;

	lock_events_reset();
	host_pv_stats_reset();
	pv_lock_set_ops(&host_pv_ops_futex);
	pv_lock_set_spin_threshold(STRESS_PV_THRESHOLD);
	do {
		for (unsigned int t = 0; t < 2; t++) {
			const struct lock_type *type =
				t ? &lock_type_pvqspinlock_adaptive : &lock_type_pvqspinlock;

			CHECK(stress_run_cs(type, 2, stress_iters / STRESS_PV_ITERS_DIVISOR,
					    STRESS_PV_CS_PAUSES, true));
			CHECK(stress_run_cs(type, 4, stress_iters / STRESS_PV_ITERS_DIVISOR,
					    STRESS_PV_CS_PAUSES, true));
		}
		runs++;
		lock_events_sum(&ev);
	} while ((!ev.count[LOCK_EV_pv_wait_head] || !ev.count[LOCK_EV_pv_kick_unlock]) &&
		 lock_now_ns() - t0 < STRESS_RETRY_BUDGET_NS);
	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
	CHECK_EQ(host_pv_timeouts(), 0);

	print_events();
	printf("    %u round(s); futex sleeps=%llu wakes=%llu\n", runs,
	       (unsigned long long)host_pv_sleeps(),
	       (unsigned long long)host_pv_wakes());
	CHECK(ev.count[LOCK_EV_pv_wait_head] > 0);
	CHECK(ev.count[LOCK_EV_pv_kick_unlock] > 0);
}

/* The stress must catch the deliberately broken lock. */
static void test_stress_catches_broken(void)
{
	uint64_t t0 = lock_now_ns();
	unsigned int attempts = 0;
	bool caught = false;

	/* A race needs overlap; retry until caught or out of budget. */
	while (!caught && lock_now_ns() - t0 < STRESS_RETRY_BUDGET_NS) {
		caught = !stress_run(&lock_type_broken, 2, stress_iters, true);
		attempts++;
	}
	CHECK(caught);
	printf("    broken lock %s after %u run(s)\n",
	       caught ? "caught, as it must be" : "NOT caught", attempts);
}

/*
 * Locks taken from signal handlers ("interrupts") while the same thread is
 * queued on or holding another lock.  For the queued locks, require that
 * nested node use (lock_use_node2) was actually seen at least once.
 */
#define STRESS_IRQ_ITERS_DIVISOR 10U
#define STRESS_IRQ_THREADS 3U

static bool stress_irq_one(const struct lock_type *t)
{
	struct stress_irq_result r;
	struct lock_event_totals ev;
	bool ok;

	lock_events_reset();
	ok = stress_irq_run(t, STRESS_IRQ_THREADS, stress_iters / STRESS_IRQ_ITERS_DIVISOR, &r);
	lock_events_sum(&ev);
	printf("    %-12s irq levels: %llu/%llu/%llu acquisitions, %llu violations, "
	       "use_node2=%llu use_node3=%llu\n", t->name,
	       (unsigned long long)r.acquisitions[0], (unsigned long long)r.acquisitions[1],
	       (unsigned long long)r.acquisitions[2],
	       (unsigned long long)(r.violations[0] + r.violations[1] + r.violations[2]),
	       (unsigned long long)ev.count[LOCK_EV_lock_use_node2],
	       (unsigned long long)ev.count[LOCK_EV_lock_use_node3]);
	for (unsigned int cpu = 0; cpu < lock_percpu_nr(); cpu++)
		if (lock_qnodes[cpu][0].count)
			ok = false;   /* a node leaked */
	return ok;
}

/*
 * Correctness with locks taken from signal handlers ("interrupts") at
 * random points, including while the thread is queued.  Whether nesting
 * hits a queued moment is luck here; the deterministic version is the unit
 * test test_irq_nested_queueing.
 */
static void test_stress_irq_nesting(void)
{
	host_pv_stats_reset();
	for (const struct lock_type *const *t = lock_types; *t; t++)
		CHECK(stress_irq_one(*t));
	pv_lock_set_ops(&host_pv_ops_futex);
	pv_lock_set_spin_threshold(STRESS_PV_THRESHOLD);
	CHECK(stress_irq_one(&lock_type_pvqspinlock));
	CHECK(stress_irq_one(&lock_type_pvqspinlock_adaptive));
	pv_lock_set_spin_threshold(PV_SPIN_THRESHOLD);
	pv_lock_set_ops(NULL);
	CHECK_EQ(host_pv_timeouts(), 0);
}

static const struct test_case stress_tests[] = {
	TEST_CASE(test_stress_2_threads),
	TEST_CASE(test_stress_4_threads_oversubscribed),
	TEST_CASE(test_stress_pv_futex),
	TEST_CASE(test_stress_catches_broken),
	TEST_CASE(test_stress_irq_nesting),
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-s") == 0) {
		stress_iters = STRESS_ITERS_SHORT;
		argc--;
		argv++;
	}
	host_lock_percpu_place();
	printf("stress tests, LOCK_NR_CPUS=%u, %u iterations/thread\n",
	       LOCK_NR_CPUS, stress_iters);
	return test_main(stress_tests, ARRAY_SIZE(stress_tests), argc, argv);
}
