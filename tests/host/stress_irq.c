/* SPDX-License-Identifier: MIT */
/*
 * stress_irq.c - locks taken from "interrupt" context on the same CPU.
 *
 * On the host, a signal handler is the faithful model of an interrupt: it
 * runs on the same thread, so lock_cpu_id() is the same CPU, at any
 * instruction, and must finish before the interrupted code continues.
 *
 * Three levels, each with its own lock (a lock hierarchy, so no deadlock):
 *   level 0: thread context loops on lock 0
 *   level 1: SIGUSR1 handler takes lock 1 (SIGUSR2 may interrupt it)
 *   level 2: SIGUSR2 handler takes lock 2 (all other signals blocked)
 * An interrupter thread keeps signalling the workers.  A thread queued on
 * lock 0 (node 0) is interrupted by a handler that queues on lock 1
 * (node 1), and so on: this exercises the per-CPU node count bookkeeping
 * (lock_use_node2/3) and, for mcs, its node busy flags.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "lock.h"
#include "qnode.h"
#include "stress_irq.h"

#define IRQ_LEVELS STRESS_IRQ_LEVELS
#define IRQ_NOBODY 0U
#define IRQ_MAX_THREADS 4U
/* Interrupter pause between rounds of signals (ns). */
#define IRQ_PERIOD_NS 20000L
/*
 * Workers stop after `iters` thread-level acquisitions or after
 * IRQ_RUN_NS, whichever comes first: with fair locks, preempted waiters
 * and an interrupt storm, progress can be slow, and the test must stay
 * bounded.  They do at least IRQ_MIN_RUN_NS so that interrupts happen.
 */
#define IRQ_RUN_NS 400000000ULL
#define IRQ_MIN_RUN_NS 100000000ULL
/* Polls of the workers' queue state per round (aimed interrupts). */
#define IRQ_AIM_POLLS 16U

struct irq_level {
	lock_storage_t lock LOCK_CACHE_ALIGNED;
	unsigned int owner LOCK_CACHE_ALIGNED;  /* relaxed atomics */
	uint64_t counter;                        /* plain: under the lock */
	uint64_t acquisitions LOCK_CACHE_ALIGNED;/* atomic, outside the lock */
	uint64_t violations;                     /* atomic */
};

static struct irq_level irq_levels[IRQ_LEVELS];
static const struct lock_type *irq_type;
static unsigned int irq_done, irq_stop;
static __thread unsigned int irq_self; /* worker id (1..n), 0 elsewhere */

static void irq_critical(struct irq_level *lv)
{
	uint64_t c;

	if (__atomic_load_n(&lv->owner, __ATOMIC_RELAXED) != IRQ_NOBODY)
		__atomic_fetch_add(&lv->violations, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&lv->owner, irq_self, __ATOMIC_RELAXED);
	c = *(volatile uint64_t *)&lv->counter;
	lock_cpu_relax();
	*(volatile uint64_t *)&lv->counter = c + 1;
	if (__atomic_load_n(&lv->owner, __ATOMIC_RELAXED) != irq_self)
		__atomic_fetch_add(&lv->violations, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&lv->owner, IRQ_NOBODY, __ATOMIC_RELAXED);
}

static void irq_take(unsigned int level)
{
	struct irq_level *lv = &irq_levels[level];

	irq_type->lock(&lv->lock);
	irq_critical(lv);
	irq_type->unlock(&lv->lock);
	__atomic_fetch_add(&lv->acquisitions, 1, __ATOMIC_RELAXED);
}

static void irq_handler(int sig)
{
	if (!irq_self)
		return; /* not a worker (should not happen) */
	irq_take(sig == SIGUSR1 ? 1 : 2);
}

struct irq_worker {
	pthread_t tid;
	unsigned int id;
	unsigned int iters;
};

static void *irq_worker_fn(void *arg)
{
	struct irq_worker *w = arg;
	uint64_t t0 = lock_now_ns();

	host_cpu_bind(w->id);
	irq_self = w->id;
	for (unsigned int i = 0;; i++) {
		uint64_t ran = lock_now_ns() - t0;

		if (ran >= IRQ_RUN_NS || (i >= w->iters && ran >= IRQ_MIN_RUN_NS))
			break;
		irq_take(0);
	}
	__atomic_fetch_add(&irq_done, 1, __ATOMIC_SEQ_CST);
	/* Stay alive (and interruptible) until the interrupter has stopped. */
	while (!__atomic_load_n(&irq_stop, __ATOMIC_SEQ_CST))
		lock_cpu_relax();
	return NULL;
}

bool stress_irq_run(const struct lock_type *type, unsigned int nthreads,
		    unsigned int iters, struct stress_irq_result *res)
{
	struct irq_worker w[IRQ_MAX_THREADS];
	struct sigaction sa1, sa2;
	struct timespec period = { 0, IRQ_PERIOD_NS };
	bool ok = true;

	if (nthreads > IRQ_MAX_THREADS)
		nthreads = IRQ_MAX_THREADS;
	memset(irq_levels, 0, sizeof(irq_levels));
	irq_type = type;
	irq_done = irq_stop = 0;
	for (unsigned int l = 0; l < IRQ_LEVELS; l++)
		type->init(&irq_levels[l].lock);

	memset(&sa1, 0, sizeof(sa1));
	sa1.sa_handler = irq_handler;
	sa1.sa_flags = SA_RESTART;
	sigemptyset(&sa1.sa_mask);               /* level 2 may nest in level 1 */
	sa2 = sa1;
	sigaddset(&sa2.sa_mask, SIGUSR1);        /* nothing nests in level 2 */
	sigaction(SIGUSR1, &sa1, NULL);
	sigaction(SIGUSR2, &sa2, NULL);

	for (unsigned int i = 0; i < nthreads; i++) {
		w[i].id = i + 1;
		w[i].iters = iters;
		pthread_create(&w[i].tid, NULL, irq_worker_fn, &w[i]);
	}
	/*
	 * This thread is the interrupter.  Besides a periodic signal to
	 * everyone, it aims: a worker whose node count is non-zero is queued
	 * in a qspinlock slow path right now, the interesting moment.
	 * (Relaxed peek at another CPU's count: just a hint.)
	 */
	for (unsigned int round = 0;
	     __atomic_load_n(&irq_done, __ATOMIC_SEQ_CST) < nthreads; round++) {
		bool aimed[IRQ_MAX_THREADS] = { false };

		/* At most one aimed signal per worker per round: no storm. */
		for (unsigned int p = 0; p < IRQ_AIM_POLLS; p++)
			for (unsigned int i = 0; i < nthreads; i++)
				if (!aimed[i] &&
				    __atomic_load_n(&lock_qnodes[w[i].id][0].count,
						    __ATOMIC_RELAXED)) {
					pthread_kill(w[i].tid, (p & 1U) ? SIGUSR2 : SIGUSR1);
					aimed[i] = true;
				}
		for (unsigned int i = 0; i < nthreads; i++) {
			pthread_kill(w[i].tid, SIGUSR1);
			if (round & 1U)
				pthread_kill(w[i].tid, SIGUSR2);
		}
		nanosleep(&period, NULL);
	}
	__atomic_store_n(&irq_stop, 1, __ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);

	for (unsigned int l = 0; l < IRQ_LEVELS; l++) {
		struct irq_level *lv = &irq_levels[l];

		res->acquisitions[l] = lv->acquisitions;
		if (lv->violations || lv->counter != lv->acquisitions ||
		    type->is_locked(&lv->lock))
			ok = false;
		res->violations[l] = lv->violations;
		res->counter[l] = lv->counter;
	}
	return ok;
}
